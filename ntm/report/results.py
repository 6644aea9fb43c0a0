"""RESULTS.md: every shipped checkpoint measured against the paper, with its pictures.

`collect` evaluates each run directory under `checkpoints/` (one per task and
model, e.g. `checkpoints/copy-ntm`) on fixed-seed sets at the sizes it trained
on and at the generalisation sizes of docs/tasks.md section 6, and reads its training
budget from `curve.jsonl`. `write_report` turns that into RESULTS.md: per task
a table beside the paper's figures, one sentence per target (docs/tasks.md section 6), and the
learning-curve, generalisation and attention pictures drawn into
`docs/results/`. `ntm results` is the two in a row.

    >>> from ntm import results
    >>> entries = results.collect("checkpoints", samples=500)
    >>> results.write_report(entries)  # ./RESULTS.md and ./docs/results/*.png
"""

from __future__ import annotations

import os
import statistics
from pathlib import Path
from typing import Callable

import torch

import tasks

from ntm import checkpoint as ckpt
from ntm.training import loop as training
from ntm.platform_info import machine_description
from ntm.config import MODEL_NAMES
from ntm.evaluation import evaluate_size, generalisation_sizes, load_model, memory_warning
from ntm.metrics import SOLVED_BIT_ERRORS
from ntm.model.registry import has_memory
from ntm.report.plots import generalisation_figure, learning_curves_figure, save_figure, training_range
from ntm.report.attention import attention_figure, trace_episode

REPORT_FILE = "RESULTS.md"
# Optional, in a run directory: one line saying where the run was trained
# (e.g. "1x NVIDIA H100 80GB, torch 2.5, CUDA 12.4"), for runs trained on
# another machine. A "machine" entry in curve.jsonl or the checkpoint's info
# is read too.
MACHINE_FILE = training.MACHINE_FILE  # written by ntm.train
NOT_RECORDED = "not recorded"

# The training side of docs/tasks.md section 6's targets: copy must be solved at every
# length it trained on (1-20); the other tasks at their largest training size.
TRAINING_SIZES: dict[str, list[dict[str, int]]] = {
    "copy": [{"length": n} for n in range(1, 21)],
    "repeat-copy": [{"length": 10, "repeats": 10}],
    "associative-recall": [{"items": 6}],
    "dynamic-ngrams": [{"length": 200}],
    "priority-sort": [{"length": 20, "outputs": 16}],
}
# Beyond the paper's memory of 128 locations: evaluated with a memory large
# enough to hold the episode (docs/tasks.md section 4: N is a run-time setting).
BEYOND_MEMORY: dict[str, list[dict[str, int]]] = {"copy": [{"length": 200}]}

# The one figure per task that the seeds of a model are compared on: the
# size and measure of docs/tasks.md section 6's main target.
HEADLINE: dict[str, tuple[dict[str, int], str]] = {
    "copy": ({"length": 100}, "bit_errors"),
    "repeat-copy": ({"length": 20, "repeats": 10}, "bit_errors"),
    "associative-recall": ({"items": 12}, "cost_bits"),
    "dynamic-ngrams": ({"length": 200}, "cost_bits"),
    "priority-sort": ({"length": 20, "outputs": 16}, "cost_bits"),
}
# checkpoints/seeds/NAME-sSEED: other seeds of the shipped run NAME, trained
# the same way, reported beside it (median, how many solved) but not shipped
# as models of their own.
SEEDS_DIR = "seeds"

# The paper's figures (docs/tasks.md section 6, cost per sequence in bits unless said
# otherwise), per task, model and size; "training" is the learning curve's
# level, shown on the training-size row. docs/tasks.md gives one "paper's NTM" column,
# used here for both controllers, except in associative recall where it tells
# NTM-LSTM (ntm) and NTM-FF (ntm-ff) apart.
_COPY_NTM = {"training": "≈0 bits by ≈100k sequences", "length=100": "copied (after training on ≤20)",
             "length=120": "a few errors (memory of 128 wraps)"}
_REPEAT_NTM = {"training": "≈0 by ≈50k sequences", "length=20,repeats=10": "generalises",
               "length=10,repeats=20": "copies, but mis-places the end marker after the 11th repeat"}
_NGRAMS_NTM = {"training": "≈133.5–134 bits (optimum ≈133.1)"}
_SORT_NTM = {"training": "≈18–20 bits at 1M sequences"}
PAPER_RESULTS: dict[str, dict[str, dict[str, str]]] = {
    "copy": {  # docs/tasks.md §6, copy
        "ntm": _COPY_NTM,
        "ntm-ff": _COPY_NTM,
        "lstm": {"training": "≈0.5 bits after 600k–1M sequences",
                 **{f"length={n}": "fails past length 20" for n in (30, 50, 100, 120)}},
    },
    "repeat-copy": {  # docs/tasks.md §6, repeat copy
        "ntm": _REPEAT_NTM,
        "ntm-ff": _REPEAT_NTM,
        "lstm": {"training": "≈0 by ≈150k sequences", "length=20,repeats=10": "fails",
                 "length=10,repeats=20": "fails"},
    },
    "associative-recall": {  # docs/tasks.md §6, associative recall
        "ntm": {"training": "≈0", "items=10": "≈1.8 bits", "items=15": "≈4.8 bits", "items=20": "≈7.0 bits"},
        "ntm-ff": {"training": "≈0 within ≈30k episodes", "items=12": "nearly perfect", "items=15": "< 1 bit"},
        "lstm": {"training": "≈0.5 after 1M episodes",
                 **{f"items={n}": "≈36–40 bits (at 10+ items)" for n in (10, 12, 15, 20)}},
    },
    "dynamic-ngrams": {  # docs/tasks.md §6, dynamic N-grams
        "ntm": _NGRAMS_NTM,
        "ntm-ff": _NGRAMS_NTM,
        "lstm": {"training": "≈136 bits (optimum ≈133.1)"},
    },
    "priority-sort": {  # docs/tasks.md §6, priority sort
        "ntm": _SORT_NTM,
        "ntm-ff": _SORT_NTM,
        "lstm": {"training": "≈58 bits"},
    },
}

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
        return task_rank, MODEL_NAMES.index(config.model.name), path.name

    return sorted(runs, key=order)


def sizes_to_evaluate(task_name: str, trained_memory: int | None) -> list[tuple[dict[str, int], int | None]]:
    """(size, memory size or None for as trained): training sizes, then docs/tasks.md section 6's, then beyond the memory."""
    plan, seen = [], set()
    for size in TRAINING_SIZES[task_name] + generalisation_sizes(task_name):
        if size_key(size) not in seen:
            seen.add(size_key(size))
            plan.append((size, None))
    if trained_memory is not None:
        task = tasks.get(task_name)
        for size in BEYOND_MEMORY.get(task_name, []):
            needed = task.memory_needed(**task.check_size(**size))
            plan.append((size, max(trained_memory, 1 << (needed - 1).bit_length())))
    return plan


def collect(checkpoints_dir: Path | str = "checkpoints", samples: int = 500, seed: int = 0,
            device: str = "cpu", on_progress: ProgressCallback | None = None) -> list[dict]:
    """Evaluate every shipped run; one dict per run (see `_evaluate_run` for its keys)."""
    if samples < 1:
        raise ValueError(f"samples must be a positive integer, got {samples}")
    _check_device(device)
    runs = shipped_runs(checkpoints_dir)
    plans = {}
    for run_dir in runs:
        config = ckpt.load_config(run_dir)
        plans[run_dir] = sizes_to_evaluate(config.task, config.model.memory_size if has_memory(config.model) else None)
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
        entry = _evaluate_run(run_dir, plans[run_dir], evaluation, device, advance)
        entry["seeds"] = _seed_results(entry, seeds[run_dir], evaluation, device, advance)
        entries.append(entry)
    return entries


def seed_runs(checkpoints_dir: Path | str, name: str) -> list[Path]:
    """checkpoints/seeds/NAME-sSEED run directories, in seed order."""
    found = []
    for path in (Path(checkpoints_dir) / SEEDS_DIR).glob(f"{name}-s*"):
        suffix = path.name[len(name) + 2:]
        if suffix.isdigit() and (path / ckpt.CONFIG_FILE).is_file():
            found.append((int(suffix), path))
    return [path for _, path in sorted(found)]


def _seed_results(entry: dict, runs: list[Path], evaluation: dict, device: str, advance) -> list[dict]:
    """One row per seed (the shipped run and those in SEEDS_DIR): its training
    budget and its headline figure, measured like the shipped run's."""
    size, measure = HEADLINE[entry["task"]]
    shipped = _result_at(entry["results"], **size)
    rows = [_seed_row(Path(entry["run_dir"]), entry["budget"], shipped[measure], shipped=True)]
    for run_dir in runs:
        loaded = load_model(run_dir, "best", device)
        result = evaluate_size(loaded.model, loaded.task, size, evaluation["samples"], evaluation["seed"],
                               batch_size=100, device=device)
        rows.append(_seed_row(run_dir, training_budget(ckpt.read_curve(run_dir)), result[measure], shipped=False))
        advance(f"{run_dir.name} {size_label(entry['task'], size)}")
    return sorted(rows, key=lambda row: row["seed"])


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


def _evaluate_run(run_dir: Path, plan, evaluation: dict, device: str, advance: Callable[[str], None]) -> dict:
    """name, run_dir, task, model, checkpoint, memory_size (None for baselines),
    budget, evaluation, results (evaluate_size's dicts plus size, memory_size,
    trained, memory_wraps), targets and paper."""
    loaded = load_model(run_dir, "best", device)
    config = loaded.config
    trained_range = training_range(config)
    results = []
    for size, memory_size in plan:
        result = evaluate_size(loaded.model, loaded.task, size, evaluation["samples"], evaluation["seed"],
                               batch_size=100, memory_size=memory_size, device=device)
        result["size"] = loaded.task.check_size(**size)
        result["memory_size"] = memory_size
        result["trained"] = all(low <= result["size"].get(name, low) <= high
                                for name, (low, high) in trained_range.items())
        result["memory_wraps"] = memory_warning(loaded, size, memory_size) is not None
        results.append(result)
        advance(f"{run_dir.name} {size_label(config.task, result['size'])}")
    curve = ckpt.read_curve(run_dir)
    return {
        "name": run_dir.name,
        "run_dir": str(run_dir),
        "task": config.task,
        "model": config.model.name,
        "checkpoint": str(loaded.checkpoint),
        "memory_size": config.model.memory_size if has_memory(config.model) else None,
        "budget": {**training_budget(curve), "machine": recorded_machine(run_dir, loaded.info, curve)},
        "evaluation": evaluation,
        "results": results,
        "targets": check_targets(config.task, results),
        "paper": PAPER_RESULTS.get(config.task, {}).get(config.model.name, {}),
    }


def training_budget(curve: list[dict]) -> dict:
    """steps, sequences and seconds of the whole run (its last curve point),
    solved_at: the first validation of the full task with bit errors below
    SOLVED_BIT_ERRORS, and warmup_solved_at: the same of a warm-up stage."""
    last = curve[-1] if curve else {}

    def first_solved(warmup: bool):
        point = next((p for p in curve if bool(p.get("warmup")) == warmup
                      and p.get("val_bit_errors", float("inf")) < SOLVED_BIT_ERRORS), None)
        return {k: point[k] for k in ("step", "sequences", "seconds")} if point else None

    return {
        "steps": last.get("step"),
        "sequences": last.get("sequences"),
        "seconds": last.get("seconds"),
        "solved_at": first_solved(warmup=False),
        "warmup_solved_at": first_solved(warmup=True),
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


def check_targets(task_name: str, results: list[dict]) -> list[dict]:
    """The targets for this task (docs/tasks.md section 6): [{"target", "met", "measured"}]."""
    if task_name not in HEADLINE:
        return []
    r = _result_at(results, **HEADLINE[task_name][0])  # the size of the task's main target
    if task_name == "copy":
        trained = [_result_at(results, length=n) for n in range(1, 21)]
        worst = max(trained, key=lambda t: (t["bit_errors"], t["cost_bits"]))
        return [_target(f"bit errors < {SOLVED_BIT_ERRORS} per sequence at every length 1–20",
                        all(t["bit_errors"] < SOLVED_BIT_ERRORS for t in trained),
                        f"worst {worst['bit_errors']:.3f} at length {worst['length']}"),
                _target("bit errors ≤ 1 per sequence at length 100", r["bit_errors"] <= 1,
                        f"{r['bit_errors']:.3f}")]
    if task_name == "repeat-copy":
        trained = _result_at(results, **TRAINING_SIZES["repeat-copy"][0])
        return [_target(f"solved (bit errors < {SOLVED_BIT_ERRORS} per sequence) at length 10 × 10 repeats, "
                        "the training maximum", trained["bit_errors"] < SOLVED_BIT_ERRORS,
                        f"{trained['bit_errors']:.3f}"),
                _target("bit errors ≤ 1 per sequence at length 20 × 10 repeats", r["bit_errors"] <= 1,
                        f"{r['bit_errors']:.3f}")]
    if task_name == "associative-recall":
        return [_target("cost < 1 bit per sequence at 12 items", r["cost_bits"] < 1, f"{r['cost_bits']:.3f} bits")]
    if task_name == "dynamic-ngrams":
        excess = r["cost_bits"] - r["optimal_cost_bits"]
        return [_target("cost within 1 bit of the optimal estimator at 200 bits", excess <= 1,
                        f"{r['cost_bits']:.3f} against {r['optimal_cost_bits']:.3f}, {excess:+.3f} bits")]
    if task_name == "priority-sort":
        return [_target("cost < 18 bits per sequence at 20 inputs → 16 outputs", r["cost_bits"] < 18,
                        f"{r['cost_bits']:.3f} bits")]
    return []


def _result_at(results: list[dict], **size) -> dict:
    """The result at `size` (a subset of its size keys) with the trained memory."""
    return next(r for r in results if r["memory_size"] is None and all(r["size"][k] == v for k, v in size.items()))


def _target(target: str, met: bool, measured: str) -> dict:
    return {"target": target, "met": bool(met), "measured": measured}


def size_key(size: dict[str, int]) -> str:
    """"length=20,repeats=10": the key of a size in PAPER_RESULTS."""
    return ",".join(f"{k}={v}" for k, v in size.items())


def size_label(task_name: str, size: dict[str, int]) -> str:
    """A size as a reader says it: "length 100", "length 20 × 10 repeats", "12 items"."""
    if task_name == "repeat-copy":
        return f"length {size['length']} × {size['repeats']} repeats"
    if task_name == "associative-recall":
        return f"{size['items']} items"
    if task_name == "dynamic-ngrams":
        return f"{size['length']} bits"
    if task_name == "priority-sort":
        return f"{size['length']} inputs → {size['outputs']} outputs"
    return " × ".join(f"{k} {v}" for k, v in size.items())


def _machine(device: str) -> str:
    description = machine_description()
    if device.startswith("cuda"):
        description += f", {torch.cuda.get_device_name(torch.device(device))}"
    return description


def _check_device(device: str) -> None:
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError("device cuda was asked for but torch sees no CUDA GPU here; use cpu")
    if not (device == "cpu" or device.startswith("cuda")):
        raise ValueError(f"device must be cpu or cuda, got {device!r}")


# --- the report ----------------------------------------------------------------


def write_report(entries: list[dict], out_dir: Path | str = ".", figures_dir: Path | str = "docs/results",
                 command: str | None = None) -> Path:
    """Write RESULTS.md into `out_dir` and its pictures into `figures_dir`
    (relative to `out_dir` unless absolute); returns the report's path."""
    out_dir = Path(out_dir)
    figures = Path(figures_dir) if Path(figures_dir).is_absolute() else out_dir / figures_dir
    out_dir.mkdir(parents=True, exist_ok=True)
    evaluation = entries[0]["evaluation"] if entries else {"machine": machine_description(), "device": "cpu"}
    if command is None:
        command = _default_command(entries, out_dir)
    lines = [
        "# Results",
        "",
        f"Generated by `{command}` on {evaluation['machine']} (evaluated on {evaluation['device']}); "
        f"rerun it to regenerate this file and its pictures, do not edit them by hand.",
        "",
    ]
    if entries:
        lines += [f"Every figure is the mean over {evaluation['samples']} sequences per size, drawn with the fixed "
                  f"evaluation seed {evaluation['seed']}, from each run's best weights (by validation).", ""]
        # The checkpoints folder's own README (the shipped one has it) says how
        # each run was trained and what was tried where a target is missed.
        runs_readme = Path(entries[0]["run_dir"]).parent / "README.md"
        if runs_readme.exists():
            link = os.path.relpath(runs_readme.resolve(), out_dir.resolve())
            lines += [f"How each run was trained, and what was tried where a target is missed: [{link}]({link}).", ""]
    lines += [
        "cost_bits is the cross-entropy per sequence in bits (the paper's \"cost per sequence\"), bit_errors the "
        "wrong output bits per sequence after thresholding at 0.5, seq_accuracy the share of sequences with none "
        "(docs/tasks.md section 3). Sizes marked *trained* lie inside the training distribution; the others test "
        "generalisation (docs/tasks.md section 6). The paper's figures are those of docs/tasks.md section 6.",
        "",
    ]
    for task_name in tasks.names():
        members = [entry for entry in entries if entry["task"] == task_name]
        lines += [f"## {task_name}", ""]
        if not members:
            lines += [f"No checkpoint for {task_name} is shipped yet, so there is nothing to report.", ""]
            continue
        lines += _task_section(task_name, members, figures, out_dir)
    path = out_dir / REPORT_FILE
    ckpt.atomic_write_bytes(path, "\n".join(lines).rstrip("\n").encode() + b"\n")
    return path


def _default_command(entries: list[dict], out_dir: Path) -> str:
    if not entries:
        return f"ntm results --out {out_dir}"
    evaluation = entries[0]["evaluation"]
    parts = ["ntm results", f"--checkpoints {Path(entries[0]['run_dir']).parent}",
             f"--samples {evaluation['samples']}", f"--out {out_dir}"]
    if evaluation["seed"] != 0:
        parts.append(f"--seed {evaluation['seed']}")
    if evaluation["device"] != "cpu":
        parts.append(f"--device {evaluation['device']}")
    return " ".join(parts)


def _task_section(task_name: str, entries: list[dict], figures: Path, out_dir: Path) -> list[str]:
    header = ["model", "sequences trained", "wall-clock", "size", "cost_bits", "bit_errors", "seq_accuracy",
              "paper's figure"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for entry in entries:
        for i, (label, result, paper) in enumerate(_rows(entry)):
            budget = entry["budget"]
            first = (entry["name"], _sequences(budget), _wall_clock(budget)) if i == 0 else ("", "", "")
            cost = f"{result['cost_bits']:.3f}"
            if "optimal_cost_bits" in result:
                cost += f" (optimum {result['optimal_cost_bits']:.3f})"
            cells = [*first, label, cost, f"{result['bit_errors']:.3f}", f"{result['seq_accuracy']:.3f}", paper]
            lines.append("| " + " | ".join(cells) + " |")
    lines += ["", "Trained on: " + "; ".join(f"{e['name']}: {e['budget']['machine']}" for e in entries) + ".", ""]
    for entry in entries:
        for target in entry["targets"]:
            verdict = "meets" if target["met"] else "does not meet"
            lines.append(f"- {entry['name']} {verdict} the target {target['target']} ({target['measured']}).")
    lines.append("")
    for entry in entries:
        lines += _seed_lines(entry)
    lines += _pictures(task_name, entries, figures, out_dir)
    return lines


def _seed_lines(entry: dict) -> list[str]:
    rows = entry.get("seeds", [])
    if len(rows) < 2:
        return []
    size, measure = HEADLINE[entry["task"]]
    label = f"{measure} at {size_label(entry['task'], size)}"
    lines = [f"Seeds of {entry['name']}, trained alike:", "",
             f"| seed | sequences trained | solved at (sequences) | {label} |", "|---|---|---|---|"]
    for row in rows:
        name = f"{row['seed']} (shipped)" if row["shipped"] else str(row["seed"])
        solved = f"{row['solved_at']:,}" if row["solved_at"] is not None else "not solved"
        trained = f"{row['sequences']:,}" if row["sequences"] is not None else "not recorded"
        lines.append(f"| {name} | {trained} | {solved} | {row['headline']:.3f} |")
    summary = seed_summary(rows)
    text = f"{summary['solved']} of {summary['seeds']} seeds solved the task"
    if summary["median_solved_at"] is not None:
        text += f" (median {summary['median_solved_at']:,.0f} sequences to solve)"
    text += f"; the median {label} is {summary['median_headline']:.3f}."
    return [*lines, "", text, ""]


def _rows(entry: dict) -> list[tuple[str, dict, str]]:
    """(size label, figures, paper's figure) for one run's table rows. Copy's
    twenty training lengths become one row showing the worst of them."""
    task_name, paper, results = entry["task"], entry["paper"], entry["results"]
    shown = {size_key(s) for s in generalisation_sizes(task_name) + BEYOND_MEMORY.get(task_name, [])}
    training_keys = {size_key(s) for s in TRAINING_SIZES[task_name]}
    rows = []
    if len(training_keys) > 1:
        trained = [r for r in results if size_key(r["size"]) in training_keys and r["memory_size"] is None]
        worst = max(trained, key=lambda r: (r["bit_errors"], r["cost_bits"]))
        lengths = [r["length"] for r in trained]
        label = f"each of {min(lengths)}–{max(lengths)}, worst: {size_label(task_name, worst['size'])}"
        rows.append((label, worst, paper.get("training") or ("—" if paper else "not in the paper")))
    for r in results:
        key = size_key(r["size"])
        if key not in shown:
            continue
        label = size_label(task_name, r["size"])
        if r["trained"]:
            label += " *trained*"
        if r["memory_size"] is not None:
            label += f", memory N={r['memory_size']} (trained with {entry['memory_size']})"
        elif r["memory_wraps"]:
            label += f", beyond the memory of {entry['memory_size']}"
        figure = paper.get(key, "")
        if len(training_keys) == 1 and key in training_keys:
            figure = "; ".join(f for f in (paper.get("training", ""), figure) if f)
        rows.append((label, r, figure or ("—" if paper else "not in the paper")))
    return rows


def _sequences(budget: dict) -> str:
    if budget["sequences"] is None:
        return "not recorded"
    notes = []
    if budget.get("warmup_solved_at"):
        notes.append(f"warm-up solved at {budget['warmup_solved_at']['sequences']:,}")
    if budget["solved_at"]:
        notes.append(f"solved at {budget['solved_at']['sequences']:,}")
    return f"{budget['sequences']:,}" + (f" ({'; '.join(notes)})" if notes else "")


def _wall_clock(budget: dict) -> str:
    if budget["seconds"] is None:
        return "not recorded"
    text = _duration(budget["seconds"])
    if budget["solved_at"]:
        text += f" (solved at {_duration(budget['solved_at']['seconds'])})"
    return text


def _duration(seconds: float) -> str:
    """"45 s", "12 min", "3 h 05 min"."""
    if seconds < 60:
        return f"{seconds:.0f} s"
    minutes = round(seconds / 60)
    if minutes < 60:
        return f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60:02d} min"


def _pictures(task_name: str, entries: list[dict], figures: Path, out_dir: Path) -> list[str]:
    """Render the task's three pictures and return the lines linking them."""
    lines = []
    curves = [entry["run_dir"] for entry in entries if (Path(entry["run_dir"]) / ckpt.CURVE_FILE).is_file()]
    if curves:
        path = save_figure(learning_curves_figure(curves), figures / f"{task_name}-curves.png")
        lines += [f"![Learning curves of the shipped {task_name} runs]({_link(path, out_dir)})", ""]
    else:
        lines += ["No learning curve was shipped with these runs.", ""]

    reports = [{"task": task_name, "model": e["model"], "checkpoint": e["checkpoint"],
                "results": [_plain(r) for r in e["results"]]} for e in entries]
    training = training_range(ckpt.load_config(Path(entries[0]["run_dir"])))
    path = save_figure(generalisation_figure(reports, training), figures / f"{task_name}-generalisation.png")
    lines.append(f"![Generalisation of the shipped {task_name} models]({_link(path, out_dir)})")
    larger = sorted({r["memory_size"] for e in entries for r in e["results"] if r["memory_size"] is not None})
    if larger:
        lines.append(f"(NTM points beyond the trained memory were evaluated with N = {', '.join(map(str, larger))}.)")
    lines.append("")

    ntms = [e for e in entries if e["memory_size"] is not None]
    if ntms:
        chosen = next((e for e in ntms if e["model"] == "ntm"), ntms[0])
        loaded = load_model(chosen["run_dir"], "best")
        episode = trace_episode(loaded, seed=chosen["evaluation"]["seed"])
        path = save_figure(attention_figure(episode), figures / f"{task_name}-attention.png")
        lines += [f"![What the heads of {chosen['name']} do on one sequence]({_link(path, out_dir)})", ""]
    else:
        lines += [f"No NTM for {task_name} is shipped, so there is no attention picture.", ""]
    return lines


def _plain(result: dict) -> dict:
    """A result as `generalisation_figure` reads it: the size and the measures only."""
    return {k: v for k, v in result.items() if k not in ("size", "memory_size", "trained", "memory_wraps")}


def _link(path: Path, out_dir: Path) -> str:
    return Path(os.path.relpath(path, out_dir)).as_posix()
