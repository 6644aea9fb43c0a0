"""The whole comparison for one model: every task, several seeds, the shipped
models beside it (`ntm protocol MODEL`).

Each task trains at the budget the shipped NTM of that task got (its
sequences, times `budget`), with the model's own defaults otherwise; every
run is a run directory under `out_dir`, so a killed protocol resumes where it
stopped. Runs go one after another with one thread each, `parallel` at a time
in child processes. Each finished run is evaluated like `ntm results`
evaluates the shipped runs (its training sizes, the task's generalisation
sizes, beyond its memory), with the fixed evaluation seed; the figures are
kept beside its weights, so a resumed protocol evaluates nothing twice. The
shipped runs of the same tasks are evaluated the same way.

    >>> from ntm.experiments.protocol import plan_protocol, run_protocol
    >>> plan = plan_protocol("attentive-lstm", budget=0.1, seeds=3)
    >>> report = run_protocol(plan)
"""

from __future__ import annotations

import concurrent.futures
import ctypes
import dataclasses
import json
import math
import os
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable

import tasks

from ntm import checkpoint as ckpt
from ntm.config import RunConfig, default_config
from ntm.report.collect import evaluate_run, run_budget, shipped_runs, sizes_to_evaluate
from ntm.report.protocol import write_protocol_report
from ntm.report.targets import headline, result_at

PAPER_BUDGET = 1_000_000  # sequences, where no NTM of the task is shipped
EVALUATION_FILE = "evaluation.json"  # a finished run's figures, beside its weights
SHIPPED_DIR = "shipped"  # out_dir/shipped/NAME.json: the shipped runs' figures


@dataclasses.dataclass
class ProtocolRun:
    task: str
    seed: int
    sequences: int
    config: RunConfig
    run_dir: Path

    @property
    def done(self) -> bool:
        return (self.run_dir / EVALUATION_FILE).is_file()


@dataclasses.dataclass
class ProtocolPlan:
    model: str
    runs: list[ProtocolRun]
    out_dir: Path
    checkpoints: Path
    samples: int = 500
    seed: int = 0  # of the evaluation sets

    @property
    def sequences(self) -> int:
        return sum(run.sequences for run in self.runs)


def plan_protocol(model: str, seeds: int = 3, budget: float = 1.0, task_names: list[str] | None = None,
                  out_dir: Path | str | None = None, checkpoints: Path | str = "checkpoints",
                  samples: int = 500, seed: int = 0) -> ProtocolPlan:
    """Every (task, seed) run, validated; nothing is trained or written."""
    if seeds < 1:
        raise ValueError(f"seeds must be at least 1, got {seeds}")
    if not 0 < budget <= 10:
        raise ValueError(f"the budget is a fraction of the shipped NTMs' sequences, in (0, 10]; got {budget}")
    if samples < 1:
        raise ValueError(f"samples must be a positive integer, got {samples}")
    task_names = task_names or tasks.names()
    for name in task_names:
        tasks.get(name)  # an unknown task fails here, with the list of tasks
    out_dir = Path(out_dir or Path("runs") / f"protocol-{model.replace(':', '-')}")
    runs = []
    for task_name in task_names:
        for run_seed in range(seeds):
            config = default_config(task_name, model)
            sequences = max(config.train.batch_size, round(shipped_sequences(checkpoints, task_name) * budget))
            config.train.seed, config.train.threads = run_seed, 1
            config.train.steps = math.ceil(sequences / config.train.batch_size)
            config.train.validate_every = max(1, min(config.train.validate_every, config.train.steps // 4))
            config.train.log_every = max(1, min(config.train.log_every, config.train.steps // 20))
            config.validate()
            runs.append(ProtocolRun(task_name, run_seed, config.train.steps * config.train.batch_size, config,
                                    out_dir / f"{task_name}-s{run_seed}"))
    return ProtocolPlan(runs[0].config.model.name, runs, out_dir, Path(checkpoints), samples, seed)


def shipped_sequences(checkpoints: Path | str, task_name: str) -> int:
    """The sequences the shipped NTM of a task trained on (fine-tuning included)."""
    run_dir = Path(checkpoints) / f"{task_name}-ntm"
    if (run_dir / ckpt.CONFIG_FILE).is_file():
        return run_budget(run_dir)["sequences"] or PAPER_BUDGET
    return PAPER_BUDGET


# (kind, data): "start" {runs, done, sequences}, "training" {task, seed, sequences, run_dir} as a run
# starts, "run" {task, seed, finished, runs, eta_s} as one is trained and evaluated,
# "evaluate" {what}, and "report" {path}.
ProtocolCallback = Callable[[str, dict], None]


def run_protocol(plan: ProtocolPlan, parallel: int = 2, on_event: ProtocolCallback | None = None,
                 address: str | None = None) -> dict:
    """Train and evaluate what is not done yet, then write the report; returns
    it. With `address` ("local", "auto", "HOST:6379", "ray://HOST:10001") the
    runs train as tasks of a Ray cluster, as `ntm sweep` trains its runs."""
    emit = on_event or (lambda kind, data: None)
    plan.out_dir.mkdir(parents=True, exist_ok=True)
    pending = [run for run in plan.runs if not run.done]
    emit("start", {"runs": len(plan.runs), "done": len(plan.runs) - len(pending), "sequences": plan.sequences})
    left, started, trained = sum(run.sequences for run in pending), time.perf_counter(), 0
    runs = _trained_on_ray(pending, plan, address) if address else _trained_here(pending, plan, parallel, emit)
    for run in runs:
        trained += run.sequences
        rate = trained / max(time.perf_counter() - started, 1e-9)
        emit("run", {"task": run.task, "seed": run.seed, "finished": sum(r.done for r in plan.runs),
                     "runs": len(plan.runs), "eta_s": (left - trained) / rate if rate else None})
    shipped = _shipped_entries(plan, emit)
    report = protocol_report(plan, [json.loads((run.run_dir / EVALUATION_FILE).read_text()) for run in plan.runs],
                             shipped)
    run_dirs = {}
    for run in plan.runs:
        run_dirs.setdefault(run.task, []).append(run.run_dir)
    path = write_protocol_report(report, plan.out_dir, run_dirs)
    emit("report", {"path": str(path)})
    return report


def _trained_here(pending: list[ProtocolRun], plan: ProtocolPlan, parallel: int, emit: ProtocolCallback):
    """Each run in a child process, `parallel` at a time; yields each as it is evaluated."""
    def train(run: ProtocolRun) -> None:
        emit("training", {"task": run.task, "seed": run.seed, "sequences": run.sequences, "run_dir": str(run.run_dir)})
        _train_and_evaluate(run, plan)

    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, parallel)) as pool:
        futures = {pool.submit(train, run): run for run in pending}
        for future in concurrent.futures.as_completed(futures):
            future.result()
            yield futures[future]


def _trained_on_ray(pending: list[ProtocolRun], plan: ProtocolPlan, address: str):
    """Each run as a Ray task (`ntm.experiments.sweep`), evaluated here as it ends."""
    from ntm.experiments.sweep import PlannedRun, train_on_ray

    planned = {run.run_dir.name: run for run in pending}
    runs = [PlannedRun(name, plan.model, run.seed, {}, run.config, run.run_dir) for name, run in planned.items()]
    for record in train_on_ray(runs, None if address == "local" else address, None, lambda record: None):
        if record["status"] == "failed":
            raise RuntimeError(f"training {record['name']} failed on Ray: {record.get('error')}")
        run = planned[record["name"]]
        _write_evaluation(run, plan)
        yield run


def _train_and_evaluate(run: ProtocolRun, plan: ProtocolPlan) -> None:
    """One run in a child process (one thread), resumed where a checkpoint
    exists, then evaluated here and its figures written beside it."""
    run.run_dir.mkdir(parents=True, exist_ok=True)
    config_file = run.run_dir / "protocol-config.json"
    config_file.write_text(json.dumps(dataclasses.asdict(run.config)))
    resuming = (run.run_dir / ckpt.CONFIG_FILE).is_file()
    command = [sys.executable, "-m", "ntm", "train", "--out", str(run.run_dir)]
    command += ["--resume", "--steps", str(run.config.train.steps)] if resuming else ["--config", str(config_file)]
    log = run.run_dir / "protocol.log"
    with log.open("a") as out:
        finished = subprocess.run(command, stdout=out, stderr=subprocess.STDOUT, preexec_fn=_die_with_parent,
                                  env={**os.environ, "OMP_NUM_THREADS": "1"})
    if finished.returncode in (130, -signal.SIGINT):
        raise KeyboardInterrupt  # Ctrl-C reached the run too: it saved a checkpoint, and the protocol resumes from it
    if finished.returncode != 0:
        raise RuntimeError(f"training {run.task} seed {run.seed} failed (exit {finished.returncode}); see {log}")
    _write_evaluation(run, plan)


def _write_evaluation(run: ProtocolRun, plan: ProtocolPlan) -> None:
    """Evaluate a trained run and keep its figures beside it: what marks it done."""
    ckpt.atomic_write_bytes(run.run_dir / EVALUATION_FILE, json.dumps(_evaluate(run.run_dir, plan), indent=1).encode())


def _die_with_parent() -> None:
    """In the child, before it runs: a protocol killed outright (SIGKILL) takes
    its runs with it, so the rerun that resumes them finds no orphan training."""
    try:
        ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG, Linux only
    except (AttributeError, OSError):
        pass


def _evaluate(run_dir: Path, plan: ProtocolPlan) -> dict:
    config = ckpt.load_config(run_dir)
    memory = config.model.memory_size if config.model.has_memory else None
    evaluation = {"samples": plan.samples, "seed": plan.seed, "device": "cpu"}
    return evaluate_run(run_dir, sizes_to_evaluate(config.task, memory), evaluation, "cpu", lambda what: None)


def _shipped_entries(plan: ProtocolPlan, emit: ProtocolCallback) -> list[dict]:
    """The shipped runs of the protocol's tasks, evaluated alike (cached in out_dir/shipped/)."""
    wanted = {run.task for run in plan.runs}
    entries = []
    if not plan.checkpoints.is_dir():
        return entries
    for run_dir in shipped_runs(plan.checkpoints):
        config = ckpt.load_config(run_dir)
        if config.task not in wanted:
            continue
        cache = plan.out_dir / SHIPPED_DIR / f"{run_dir.name}-n{plan.samples}-s{plan.seed}.json"
        if not cache.is_file():
            emit("evaluate", {"what": run_dir.name})
            cache.parent.mkdir(parents=True, exist_ok=True)
            ckpt.atomic_write_bytes(cache, json.dumps(_evaluate(run_dir, plan), indent=1).encode())
        entries.append(json.loads(cache.read_text()))
    return entries


def protocol_report(plan: ProtocolPlan, runs: list[dict], shipped: list[dict]) -> dict:
    """Per task: the model's seeds (solved count, the median seed by the
    headline figure) beside each shipped run, at every evaluated size."""
    report = {"model": plan.model, "samples": plan.samples, "seed": plan.seed, "tasks": {}}
    for task_name in dict.fromkeys(run.task for run in plan.runs):
        own = [entry for entry in runs if entry["task"] == task_name]
        key = _headline_key(task_name)
        median = sorted(own, key=key)[(len(own) - 1) // 2]
        report["tasks"][task_name] = {
            "headline": headline(task_name),
            "seeds": len(own),
            "solved": sum(entry["budget"]["solved_at"] is not None for entry in own),
            "median_seed": median,
            "seed_headlines": [key(entry) for entry in own],
            "shipped": [entry for entry in shipped if entry["task"] == task_name],
        }
    return report


def _headline_key(task_name: str) -> Callable[[dict], float]:
    found = headline(task_name)
    if found is None:
        return lambda entry: statistics.mean(r["bit_errors"] for r in entry["results"] if r["trained"])
    size, measure = found
    return lambda entry: result_at(entry["results"], **size)[measure]
