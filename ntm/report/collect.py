"""Evaluating the shipped runs for RESULTS.md: `collect` measures each run
directory under `checkpoints/` (one per task and model, e.g.
`checkpoints/copy-ntm`) on fixed-seed sets at the sizes it trained on, at its
task's generalisation sizes and beyond its memory, and reads its training
budget from `curve.jsonl`.

    >>> from ntm.report.collect import collect
    >>> entries = collect("checkpoints", samples=500)
"""

from __future__ import annotations

import json
import statistics
from pathlib import Path
from typing import Callable

import torch

import tasks

from ntm import checkpoint as ckpt
from ntm.config import ModelConfig
from ntm.model import registry
from ntm.devices import check_device
from ntm.evaluation import evaluate_size, generalisation_sizes, load_model, memory_warning, result_size
from ntm.metrics import SOLVED_BIT_ERRORS
from ntm.training.solve import CONSOLIDATED_ACCURACY, CONSOLIDATING_CHECKS
from ntm.paper import paper_key
from ntm.platform_info import machine_description
from ntm.report.targets import beyond_memory_sizes, check_targets, headline, paper_figures, result_at, trained_sizes

# Optional, in a run directory: one line saying where the run was trained
# (e.g. "1x NVIDIA H100 80GB, torch 2.5, CUDA 12.4"), for runs trained on
# another machine. A "machine" entry in curve.jsonl or the checkpoint's info
# is read too.
MACHINE_FILE = ckpt.MACHINE_FILE  # written by ntm.train
NOT_RECORDED = "not recorded"
# checkpoints/seeds/NAME-sSEED: other seeds of the shipped run NAME, trained
# the same way, reported beside it (median, how many solved) but not shipped
# as models of their own.
SEEDS_DIR = "seeds"
# A seed there may keep, in place of its weights, what `ntm eval RUN --json`
# printed for its best weights at the task's generalisation sizes: where the
# seeds of a large model would not fit the repository's size limit, the
# others keep their config, curve and this evaluation, and their Makefile
# rule trains the weights again.
SEED_RECORD = "eval.json"

# (done, total, what is being evaluated), called before and after every evaluation.
ProgressCallback = Callable[[int, int, str], None]


def shipped_runs(checkpoints_dir: Path | str) -> list[Path]:
    """The run directories under `checkpoints_dir`, in task then model order."""
    root = Path(checkpoints_dir)
    if not root.is_dir():
        raise ValueError(f"{root} is not a directory; give --checkpoints the folder holding TASK-MODEL run directories")
    runs = [path for path in root.iterdir() if (path / ckpt.CONFIG_FILE).is_file()]
    configs = {path: ckpt.load_config(path) for path in runs}

    def order(path):
        config = configs[path]
        task_rank = tasks.names().index(config.task) if config.task in tasks.names() else len(tasks.names())
        models = registry.names()
        model_rank = models.index(config.model.name) if config.model.name in models else len(models)
        return task_rank, model_rank, path.name

    return sorted(runs, key=order)


def seed_runs(checkpoints_dir: Path | str, name: str) -> list[Path]:
    """checkpoints/seeds/NAME-sSEED run directories, in seed order."""
    found = []
    for path in (Path(checkpoints_dir) / SEEDS_DIR).glob(f"{name}-s*"):
        suffix = path.name[len(name) + 2:]
        if suffix.isdigit() and (path / ckpt.CONFIG_FILE).is_file():
            found.append((int(suffix), path))
    return [path for _, path in sorted(found)]


def sizes_to_evaluate(task_name: str, trained_memory: int | None) -> list[tuple[dict[str, int], int | None]]:
    """(size, memory size or None for as trained): training sizes, then the
    generalisation sizes, then beyond the memory (NTMs only)."""
    plan, seen = [], set()
    for size in trained_sizes(task_name) + generalisation_sizes(task_name):
        if paper_key(size) not in seen:
            seen.add(paper_key(size))
            plan.append((size, None))
    if trained_memory is not None:
        task = tasks.get(task_name)
        for size in beyond_memory_sizes(task_name):
            needed = task.memory_needed(**task.check_size(**size))
            plan.append((size, max(trained_memory, 1 << (needed - 1).bit_length())))
    return plan


def collect(checkpoints_dir: Path | str = "checkpoints", samples: int = 500, seed: int = 0,
            device: str = "cpu", on_progress: ProgressCallback | None = None) -> list[dict]:
    """Evaluate every shipped run; one dict per run (see `evaluate_run` for its keys)."""
    if samples < 1:
        raise ValueError(f"samples must be a positive integer, got {samples}")
    check_device(device)
    runs = shipped_runs(checkpoints_dir)
    plans = {}
    for run_dir in runs:
        config = ckpt.load_config(run_dir)
        memory = config.model.memory_size if config.model.has_memory else None
        plans[run_dir] = sizes_to_evaluate(config.task, memory)
    seeds = {run_dir: seed_runs(checkpoints_dir, run_dir.name) for run_dir in runs}
    total = sum(len(plan) + len(seeds[run_dir]) for run_dir, plan in plans.items())
    done = 0
    report = on_progress or (lambda done, total, what: None)
    report(0, total, "")

    def advance(what: str) -> None:
        nonlocal done
        done += 1
        report(done, total, what)

    evaluation = {"samples": samples, "seed": seed, "device": device, "machine": _machine(device)}
    entries = []
    for run_dir in runs:
        entry = evaluate_run(run_dir, plans[run_dir], evaluation, device, advance)
        entry["seeds"] = _seed_results(entry, seeds[run_dir], evaluation, device, advance)
        entries.append(entry)
    return entries


def evaluate_run(run_dir: Path, plan, evaluation: dict, device: str, advance: Callable[[str], None]) -> dict:
    """name, run_dir, task, model, checkpoint, memory_size, trained_memory_size
    and trained_memory_size_max (None for baselines), budget, evaluation,
    results (evaluate_size's dicts plus size, memory_size, trained,
    memory_wraps), targets and paper."""
    loaded = load_model(run_dir, "best", device)
    config, task = loaded.config, loaded.task
    trained_range = task.training_range()
    results = []
    for size, memory_size in plan:
        result = evaluate_size(loaded.model, task, size, evaluation["samples"], evaluation["seed"],
                               batch_size=100, memory_size=memory_size, device=device)
        result["size"] = task.check_size(**size)
        result["memory_size"] = memory_size
        result["trained"] = all(low <= result["size"].get(name, low) <= high
                                for name, (low, high) in trained_range.items())
        result["memory_wraps"] = memory_warning(loaded, size, memory_size) is not None
        results.append(result)
        advance(f"{run_dir.name} {task.size_label(result['size'])}")
    curve = ckpt.read_curve(run_dir)
    return {
        "name": run_dir.name,
        "run_dir": str(run_dir),
        "task": config.task,
        "model": config.model.name,
        "checkpoint": str(loaded.checkpoint),
        "memory_size": config.model.memory_size if config.model.has_memory else None,
        # train.memory_size, where the run trained with fewer locations than it keeps
        "trained_memory_size": config.training_memory_floor if config.model.has_memory else None,
        # train.memory_size_max, where each training batch drew its memory size up to it
        "trained_memory_size_max": (config.train.memory_size_max or None) if config.model.has_memory else None,
        "budget": {**run_budget(run_dir), "machine": recorded_machine(run_dir, loaded.info, curve)},
        "evaluation": evaluation,
        "results": results,
        "targets": check_targets(config.task, results),
        "paper": paper_figures(config.task, config.model.name),
    }


def model_label(entry: dict) -> str:
    """The run's name, and its memory size where it is not the paper's 128
    locations, so a figure never reads as the paper's machine when it is not."""
    memory = entry.get("memory_size")
    if entry.get("trained_memory_size_max"):
        return f"{entry['name']} (memory N={memory}, trained with {trained_memory(entry)})"
    if memory is None or memory == ModelConfig.memory_size:
        return entry["name"]
    return f"{entry['name']} (memory N={memory})"


def trained_memory(entry: dict) -> str:
    """The memory size the run trained with: one size, or the range its
    batches drew theirs from."""
    low, high = entry.get("trained_memory_size"), entry.get("trained_memory_size_max")
    return f"{low}–{high}" if high else str(low)


def _seed_results(entry: dict, runs: list[Path], evaluation: dict, device: str, advance) -> list[dict]:
    """One row per seed (the shipped run and those in SEEDS_DIR): its training
    budget and its headline figure, measured like the shipped run's; none
    for a task the paper gives no headline figure."""
    if headline(entry["task"]) is None:
        return []
    size, measure = headline(entry["task"])
    shipped = result_at(entry["results"], **size)
    rows = [_seed_row(Path(entry["run_dir"]), entry["budget"], shipped[measure], shipped=True)]
    for run_dir in runs:
        if (run_dir / ckpt.BEST_FILE).is_file():
            loaded = load_model(run_dir, "best", device)
            result = evaluate_size(loaded.model, loaded.task, size, evaluation["samples"], evaluation["seed"],
                                   batch_size=100, device=device)
        else:
            result = recorded_result(run_dir, size, evaluation)
        rows.append(_seed_row(run_dir, run_budget(run_dir), result[measure], shipped=False))
        advance(f"{run_dir.name} {tasks.get(entry['task']).size_label(size)}")
    return sorted(rows, key=lambda row: row["seed"])


def recorded_result(run_dir: Path, size: dict[str, int], evaluation: dict) -> dict:
    """The result at `size` that a seed without weights keeps in SEED_RECORD,
    if it was measured as `evaluation` measures (its samples and set seed)."""
    record_file = run_dir / SEED_RECORD
    if not record_file.is_file():
        raise ValueError(f"{run_dir} holds neither {ckpt.BEST_FILE} nor {SEED_RECORD}; "
                         f"its Makefile rule trains it again")
    record = json.loads(record_file.read_text())
    wanted = result_size(tasks.get(record["task"]), size)
    found = [result for result in record["results"] if all(result.get(key) == value for key, value in wanted.items())]
    if not found or record.get("memory_size_given"):
        raise ValueError(f"{record_file} has no result at {size} with the memory it trained with; "
                         f"write it with `ntm eval {run_dir} --json > {record_file}`")
    result = found[0]
    if (result["samples"], record.get("seed")) != (evaluation["samples"], evaluation["seed"]):
        raise ValueError(f"{record_file} was measured on {result['samples']} sequences of evaluation seed "
                         f"{record.get('seed')}, this report on {evaluation['samples']} of seed "
                         f"{evaluation['seed']}; evaluate with those, or train the seed again")
    return result


def _seed_row(run_dir: Path, budget: dict, value: float, shipped: bool) -> dict:
    return {"seed": ckpt.load_config(run_dir).train.seed, "run": run_dir.name, "shipped": shipped,
            "sequences": budget["sequences"], "seconds": budget["seconds"],
            "solved_at": budget["solved_at"]["sequences"] if budget["solved_at"] else None, "headline": value}


def seed_summary(rows: list[dict]) -> dict:
    """How many seeds solved the task, the median sequences to solve among
    those, and the median headline figure over all seeds."""
    solved = [row["solved_at"] for row in rows if row["solved_at"] is not None]
    return {"seeds": len(rows), "solved": len(solved),
            "median_solved_at": statistics.median(solved) if solved else None,
            "median_headline": statistics.median(row["headline"] for row in rows)}


def training_budget(curve: list[dict]) -> dict:
    """steps, sequences and seconds of the whole run (its last curve point),
    solved_at: the first validation of the full task that passed the solve
    check (ntm.training.solve; for a run from before the check, the first
    with validation bit errors below SOLVED_BIT_ERRORS), consolidated_at:
    the second of CONSOLIDATING_CHECKS in a row with every sequence right,
    and stages_passed_at: the last point of each
    curriculum stage that the run went past."""
    last = curve[-1] if curve else {}

    def moment(point):
        return {k: point[k] for k in ("step", "sequences", "seconds")}

    solved = next((p for p in curve if p.get("stage") is None and solve_passed(p)), None)
    checked = [p for p in curve if p.get("stage") is None and "val_check_least_seq_accuracy" in p]
    passing = [solve_passed(p) and p["val_check_least_seq_accuracy"] >= CONSOLIDATED_ACCURACY for p in checked]
    consolidated = next((checked[i] for i in range(CONSOLIDATING_CHECKS - 1, len(checked))
                         if all(passing[i - CONSOLIDATING_CHECKS + 1:i + 1])), None)
    return {
        "steps": last.get("step"),
        "sequences": last.get("sequences"),
        "seconds": last.get("seconds"),
        "solved_at": moment(solved) if solved else None,
        "consolidated_at": moment(consolidated) if consolidated else None,
        "stages_passed_at": [moment(point) for point in ckpt.stage_ends(curve)],
    }


def solve_passed(point: dict) -> bool:
    """Whether a curve point counts as solved: by its solve check where it ran
    one, else (a run from before the check) by its validation's mean."""
    if "val_check_worst_bit_errors" in point:
        return point["val_check_worst_bit_errors"] < SOLVED_BIT_ERRORS
    return point.get("val_bit_errors", float("inf")) < SOLVED_BIT_ERRORS


def run_budget(run_dir: Path | str, _seen: tuple = ()) -> dict:
    """training_budget of the run, counting in the run it was fine-tuned from
    (`train.init_from`, recursively): sequences and seconds are totals, and
    fine_tuned_from holds the source's path and its sequences."""
    run_dir = Path(run_dir)
    own = training_budget(ckpt.read_curve(run_dir))
    source = ckpt.load_config(run_dir).train.init_from
    if not source or own["sequences"] is None:
        return own
    source_dir = ckpt.init_source_dir(run_dir, source)
    if source_dir.resolve() in (run_dir.resolve(), *_seen):
        raise ckpt.CheckpointError(f"{run_dir} names itself among the runs it was fine-tuned from ({source})")
    before = run_budget(source_dir, (*_seen, run_dir.resolve()))
    if before["sequences"] is None:
        return own

    def later(moment):  # a moment of this run, counted from the start of its source
        return {**moment, "sequences": moment["sequences"] + before["sequences"],
                "seconds": (moment["seconds"] or 0) + (before["seconds"] or 0)}

    return {
        **later(own),  # steps stay this run's own: they are its optimiser's
        "solved_at": before["solved_at"] or (later(own["solved_at"]) if own["solved_at"] else None),
        "consolidated_at": before["consolidated_at"] or (later(own["consolidated_at"]) if own["consolidated_at"] else None),
        "stages_passed_at": before["stages_passed_at"] + [later(m) for m in own["stages_passed_at"]],
        "fine_tuned_from": {"run": source, "sequences": before["sequences"]},
    }


def recorded_machine(run_dir: Path | str, info: dict, curve: list[dict]) -> str:
    """Where the run was trained: MACHINE_FILE, else a "machine" entry in the
    checkpoint's info or the curve, else NOT_RECORDED."""
    path = Path(run_dir) / MACHINE_FILE
    if path.is_file() and path.read_text().strip():
        return path.read_text().strip()
    for source in (info, info.get("progress", {}), *curve):
        if source.get("machine"):
            return str(source["machine"])
    return NOT_RECORDED


def _machine(device: str) -> str:
    description = machine_description()
    if device.startswith("cuda"):
        description += f", {torch.cuda.get_device_name(torch.device(device))}"
    return description
