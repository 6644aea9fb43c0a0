"""Sweeps: every combination of models x seeds x `--set` values, each trained
as an independent Ray task in its own run directory, then summarised.

    plan = plan_sweep("copy", ["ntm", "lstm"], seeds=3,
                      axes=parse_axes(["train.lr=1e-3,3e-4"]), out_dir="runs/sweep-copy")
    summary = run_sweep(plan)              # a local Ray, started on demand
    summary["groups"][0]["bit_errors"]     # {"median": ..., "min": ..., "max": ...}

A run's directory is OUT/<task>-<model>-<key=value...>-s<seed>, naming the
`--set` keys that take more than one value; it holds what `ntm train` writes
plus `result.json`. Running the same sweep again skips runs that finished,
resumes those with a checkpoint and starts the rest, so an interrupted sweep
is finished by repeating its command. Ray is an optional extra
(`pip install 'ntm[cluster]'`), imported only when a run has to be trained.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import logging
import re
import statistics
import time
from pathlib import Path
from typing import Callable

import tasks

from ntm import checkpoint as ckpt
from ntm.config import FIELDS_THAT_DO_NOT_CHANGE_LEARNING, RunConfig, default_config, flatten_config
from ntm.model import registry
from ntm.overrides import apply_overrides

RESULT_FILE = "result.json"  # a finished run's TrainResult, written beside its checkpoints
SUMMARY_FILE = "summary.json"
RAY_MISSING = "Ray is not installed: pip install 'ntm[cluster]'"


@dataclasses.dataclass
class PlannedRun:
    name: str  # the run directory's name, e.g. copy-ntm-train.lr=1e-3-s0
    model: str
    seed: int
    values: dict[str, str]  # this run's values of the swept --set keys, as typed
    config: RunConfig
    run_dir: Path


@dataclasses.dataclass
class SweepPlan:
    task: str
    out_dir: Path
    models: list[str]
    seeds: list[int]
    axes: dict[str, list[str]]  # --set keys with several values: the grid beside models and seeds
    fixed: dict[str, str]  # --set keys with one value: the same in every run
    runs: list[PlannedRun]


def parse_axes(assignments: list[str]) -> dict[str, list[str]]:
    """`["train.lr=1e-3,3e-4", "model.memory_size=64"]` ->
    `{"train.lr": ["1e-3", "3e-4"], "model.memory_size": ["64"]}`."""
    axes: dict[str, list[str]] = {}
    for assignment in assignments:
        key, sep, raw = assignment.partition("=")
        key = key.strip()
        if not sep or "." not in key:
            raise ValueError(f"--set expects section.field=v1,v2,... (e.g. train.lr=1e-3,3e-4), got {assignment!r}")
        if key in axes:
            raise ValueError(f"--set {key} is given twice; list all its values in one: {key}=v1,v2")
        values = [value.strip() for value in raw.split(",")]
        if "" in values:
            raise ValueError(f"--set {assignment!r} has an empty value; separate values with single commas")
        if len(set(values)) < len(values):
            raise ValueError(f"--set {assignment!r} repeats a value")
        axes[key] = values
    for key, controlled_by in (("model.name", "--models"), ("train.seed", "--seeds")):
        if key in axes:
            raise ValueError(f"{key} is set by {controlled_by}, not --set")
    return axes


def plan_sweep(task: str, models: list[str], seeds: int, axes: dict[str, list[str]] | None = None,
               out_dir: Path | str | None = None, steps: int | None = None) -> SweepPlan:
    """Every combination as a validated RunConfig with its run directory.
    Nothing is written; a run directory left with other settings is refused."""
    axes = dict(axes or {})
    if not models:
        raise ValueError(f"name at least one model: {', '.join(registry.names())}")
    for model in models:
        registry.get(model)  # an unknown model fails here, with the list of models
    if len(set(models)) < len(models):
        raise ValueError(f"a model is named twice in {','.join(models)}")
    if seeds < 1:
        raise ValueError(f"--seeds must be a positive integer, got {seeds}")
    if steps is not None and steps < 1:
        raise ValueError(f"--steps must be a positive integer, got {steps}")
    out_dir = Path(out_dir) if out_dir is not None else Path("runs") / f"sweep-{task}"
    swept = {key: values for key, values in axes.items() if len(values) > 1}
    fixed = {key: values[0] for key, values in axes.items() if len(values) == 1}

    runs = []
    for model in models:
        for combination in itertools.product(*swept.values()):
            values = dict(zip(swept, combination))
            for seed in range(seeds):
                config = default_config(task, model)
                config.train.seed = seed
                if steps is not None:
                    config.train.steps = steps
                apply_overrides(config, [f"{key}={value}" for key, value in {**fixed, **values}.items()])
                config.validate()
                tasks.get(task, **config.task_options)  # wrong task options fail here, not in every worker
                name = run_name(task, model, values, seed)
                runs.append(PlannedRun(name, model, seed, values, config, out_dir / name))
    names = [run.name for run in runs]
    if len(set(names)) < len(names):
        raise ValueError("two runs would share a directory: make the --set values differ in letters, digits or . _ + -")
    for run in runs:
        _check_same_run(run)
    return SweepPlan(task, out_dir, list(models), list(range(seeds)), swept, fixed, runs)


def run_name(task: str, model: str, values: dict[str, str], seed: int) -> str:
    """`copy-ntm-s0`, or `copy-ntm-train.lr=1e-3-s0` with swept values."""
    parts = [task, model, *(f"{key}={_safe(value)}" for key, value in values.items()), f"s{seed}"]
    return "-".join(parts)


def _safe(value: str) -> str:
    return re.sub(r"[^A-Za-z0-9._+-]", "_", value)


def run_sweep(plan: SweepPlan, address: str | None = None, num_cpus: int | None = None,
              on_result: Callable[[dict], None] | None = None) -> dict:
    """Train every run of `plan` not yet finished on Ray, summarise, write
    OUT/summary.json and return the summary. `address` names an existing Ray
    cluster ("auto", "HOST:6379", "ray://HOST:10001"); without it a local Ray
    is started with `num_cpus` (default: all) and stopped afterwards. A Ray
    already initialised in this process is used as it is. `on_result(record)`
    is called as each run is found finished or ends."""
    started = time.perf_counter()
    emit = on_result or (lambda record: None)
    records, to_train = {}, []
    for run in plan.runs:
        earlier = finished_result(run)
        if earlier is None:
            to_train.append(run)
            continue
        records[run.name] = _record(run, "reused", earlier)
        emit(records[run.name])
    if to_train:
        for record in train_on_ray(to_train, address, num_cpus, emit):
            records[record["name"]] = record
    ordered = [records[run.name] for run in plan.runs]
    summary = {
        "task": plan.task,
        "out_dir": str(plan.out_dir),
        "models": plan.models,
        "seeds": plan.seeds,
        "axes": plan.axes,
        "fixed": plan.fixed,
        "seconds": round(time.perf_counter() - started, 3),
        **{status: sum(r["status"] == status for r in ordered) for status in ("trained", "reused", "failed")},
        "groups": summarise_groups(ordered),
        "runs": ordered,
    }
    plan.out_dir.mkdir(parents=True, exist_ok=True)
    ckpt.atomic_write_bytes(plan.out_dir / SUMMARY_FILE, (json.dumps(summary, indent=2) + "\n").encode())
    return summary


def finished_result(run: PlannedRun) -> dict | None:
    """The stored result of a run that reached its steps (or stopped solved), else None."""
    path = run.run_dir / RESULT_FILE
    if not path.is_file():
        return None
    try:
        result = json.loads(path.read_text())
    except json.JSONDecodeError:
        return None  # cut short by a crash: train the run again (it resumes)
    train_cfg = run.config.train
    if result["step"] >= train_cfg.steps or (train_cfg.stop_when_solved and result["solved_at"] is not None):
        return result
    return None


def _check_same_run(run: PlannedRun) -> None:
    """Refuse to resume a run directory trained with other settings."""
    if not (run.run_dir / ckpt.CONFIG_FILE).is_file():
        return
    saved = flatten_config(dataclasses.asdict(ckpt.load_config(run.run_dir)))
    wanted = flatten_config(dataclasses.asdict(run.config))
    differ = sorted(key for key in saved.keys() | wanted.keys()
                    if key not in FIELDS_THAT_DO_NOT_CHANGE_LEARNING and saved.get(key) != wanted.get(key))
    if differ:
        changes = ", ".join(f"{key} {saved.get(key)!r} -> {wanted.get(key)!r}" for key in differ)
        raise ValueError(f"{run.run_dir} holds a run with other settings ({changes}); "
                         "choose another --out or remove that directory")


def train_run(config: dict, run_dir: str) -> dict:
    """One run, as a Ray task (or directly): train or resume it, store and
    return its result. `config` is `dataclasses.asdict(RunConfig)`."""
    import torch

    from ntm.training.loop import train

    config = RunConfig.from_dict(config)
    run_dir = Path(run_dir)
    # Ray gives each task as many CPUs as it uses threads; more would oversubscribe the node.
    torch.set_num_threads(config.train.threads or 1)
    resume = (run_dir / ckpt.LAST_FILE).exists() or (run_dir / ckpt.CONFIG_FILE).exists()
    start = {}

    def note_start(kind: str, data: dict) -> None:
        if kind == "start":
            start["step"] = data["step"]  # 0 for a new run, the checkpoint's step for a resumed one

    result = train(config, run_dir, resume=resume, on_event=note_start)
    stored = {
        "step": result.step,
        "sequences": result.sequences,
        "seconds": round(result.seconds, 3),
        "validation": result.validation,
        "solved_at": result.solved_at,
        "skipped_steps": result.skipped_steps,
        "resumed_from_step": start.get("step") or None,
    }
    ckpt.atomic_write_bytes(run_dir / RESULT_FILE, (json.dumps(stored, indent=2) + "\n").encode())
    return stored


def train_on_ray(runs: list[PlannedRun], address, num_cpus, emit):
    """Train `runs` as Ray tasks, one CPU per thread; yield each run's record as it ends."""
    ray = _import_ray()
    started_here = not ray.is_initialized()
    if started_here:
        # Workers' output would go to this process's stdout, which --json keeps for the summary.
        if address:
            ray.init(address=address, log_to_driver=False, logging_level=logging.WARNING)
        else:
            ray.init(num_cpus=num_cpus, include_dashboard=False, log_to_driver=False, logging_level=logging.ERROR)
    try:
        remote = ray.remote(train_run)
        pending = {}
        for run in runs:
            train_cfg = run.config.train
            options = {"num_cpus": train_cfg.threads or 1,
                       "num_gpus": 1 if train_cfg.device.startswith("cuda") else 0}
            # Absolute, so a worker whose working directory differs writes to the same place.
            ref = remote.options(**options).remote(dataclasses.asdict(run.config), str(run.run_dir.resolve()))
            pending[ref] = run
        while pending:
            done, _ = ray.wait(list(pending), num_returns=1)
            for ref in done:
                run = pending.pop(ref)
                try:
                    record = _record(run, "trained", ray.get(ref))
                except ray.exceptions.RayError as error:
                    record = _record(run, "failed", error=_describe(error))
                emit(record)
                yield record
    finally:
        if started_here:
            ray.shutdown()


def _import_ray():
    try:
        import ray
    except ImportError:
        raise ImportError(RAY_MISSING) from None
    return ray


def _describe(error) -> str:
    cause = getattr(error, "cause", None)  # a RayTaskError carries the exception the run raised
    if isinstance(cause, BaseException):
        return str(cause) or type(cause).__name__
    lines = [line for line in str(error).splitlines() if line.strip()]
    return lines[-1] if lines else type(error).__name__


def _record(run: PlannedRun, status: str, result: dict | None = None, error: str | None = None) -> dict:
    record = {"name": run.name, "model": run.model, "seed": run.seed, "values": run.values,
              "run_dir": str(run.run_dir), "status": status}
    if result is not None:
        record.update(result)
    if error is not None:
        record["error"] = error
    return record


def summarise_groups(records: list[dict]) -> list[dict]:
    """Per (model, swept values): median and range of the final validation
    cost and bit errors over the seeds, how many seeds solved the task
    (bit errors < 0.1 at some validation) and the median training seconds."""
    groups: dict[tuple, list[dict]] = {}
    for record in records:
        groups.setdefault((record["model"], tuple(record["values"].items())), []).append(record)
    summary = []
    for (model, values), members in groups.items():
        done = [r for r in members if r["status"] != "failed"]
        summary.append({
            "model": model,
            "values": dict(values),
            "runs": len(members),
            "failed": len(members) - len(done),
            "solved": sum(r["solved_at"] is not None for r in done),
            "cost_bits": _spread([r["validation"]["cost_bits"] for r in done]),
            "bit_errors": _spread([r["validation"]["bit_errors"] for r in done]),
            "median_seconds": statistics.median([r["seconds"] for r in done]) if done else None,
            "run_dirs": [r["run_dir"] for r in members],
        })
    return summary


def _spread(values: list[float]) -> dict:
    if not values:
        return {"median": None, "min": None, "max": None}
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}
