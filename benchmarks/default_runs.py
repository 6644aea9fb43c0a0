"""The default command on each task against the shipped model.

Runs `ntm train TASK --seed S --threads T` (nothing else) for each task and
seed, evaluates each run and the shipped model of the task's default model
(`checkpoints/TASK-MODEL`, MODEL as `ntm.recipes.default_model`) on the same
fixed sets (500 sequences per size), and writes a Markdown table and the
figures as JSON. A run already finished in --out is read back, a run cut
short is resumed, so the command can be rerun until it is whole.

    python benchmarks/default_runs.py --tasks copy --seeds 3 --threads 2 --out runs/defaults
    python benchmarks/default_runs.py --tasks repeat-copy,associative-recall --parallel 2 --threads 1

Wall-clock is the run's own training time from its curve: compare it only
between runs that had the machine alike (`--parallel 2 --threads 1` shares
two cores between two runs).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ntm import checkpoint as ckpt  # noqa: E402
from ntm.evaluation import evaluate_size, load_model  # noqa: E402
from ntm.recipes import default_model  # noqa: E402
from ntm.report.collect import run_budget  # noqa: E402

# What each task is judged on: (label, sizes, measure, how the sizes combine).
# Copy: the worst length of 1-20 and length 100; the others their training maximum.
MEASURES = {
    "copy": [("worst bit errors at lengths 1-20", [{"length": n} for n in range(1, 21)], "bit_errors", max),
             ("least fraction right at lengths 1-20", [{"length": n} for n in range(1, 21)], "seq_accuracy", min),
             ("bit errors at length 100", [{"length": 100}], "bit_errors", max)],
    "repeat-copy": [("bit errors at 10 x 10", [{"length": 10, "repeats": 10}], "bit_errors", max)],
    "associative-recall": [("cost at 6 items (bits)", [{"items": 6}], "cost_bits", max)],
    "dynamic-ngrams": [("cost over the optimum at 200 bits", [{"length": 200}], "excess", max)],
    "priority-sort": [("cost at 20 -> 16 (bits)", [{"length": 20, "outputs": 16}], "cost_bits", max)],
}


def train(task: str, seed: int, threads: int, out: Path) -> Path:
    run = out / f"{task}-s{seed}"
    command = [sys.executable, "-m", "ntm", "train", task, "--seed", str(seed), "--threads", str(threads),
               "--out", str(run)]
    if ckpt.holds_run(run):
        command.append("--resume")  # finished runs return at once
    with open(out / f"{task}-s{seed}.log", "a") as log:
        subprocess.run(command, check=True, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
    return run


def figures(run: Path, task: str) -> dict:
    loaded = load_model(run)
    values = {}
    for label, sizes, measure, combine in MEASURES[task]:
        results = []
        for size in sizes:
            result = evaluate_size(loaded.model, loaded.task, size)
            if measure == "excess":
                result["excess"] = result["cost_bits"] - result["optimal_cost_bits"]
            results.append(result[measure])
        values[label] = combine(results)
    return values


def budget(run: Path) -> dict:
    spent = run_budget(run)
    return {"sequences": spent["sequences"], "seconds": spent["seconds"],
            "solved_at": spent["solved_at"], "consolidated_at": spent["consolidated_at"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", default=",".join(MEASURES))
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--parallel", type=int, default=1, help="runs at once (give each --threads 1)")
    parser.add_argument("--out", type=Path, default=Path("runs/defaults"))
    args = parser.parse_args()
    chosen = [name.strip() for name in args.tasks.split(",") if name.strip()]
    unknown = set(chosen) - set(MEASURES)
    if unknown:
        parser.error(f"unknown task(s) {', '.join(sorted(unknown))}; choose among {', '.join(MEASURES)}")
    args.out.mkdir(parents=True, exist_ok=True)
    jobs = [(task, seed) for task in chosen for seed in range(args.seeds)]
    with ThreadPoolExecutor(args.parallel) as pool:
        runs = list(pool.map(lambda job: train(*job, args.threads, args.out), jobs))
    report = {}
    for (task, seed), run in zip(jobs, runs):
        entry = report.setdefault(task, {"seeds": [], "shipped": None})
        entry["seeds"].append({"seed": seed, **budget(run), **figures(run, task)})
    for task, entry in report.items():
        shipped = ROOT / "checkpoints" / f"{task}-{default_model(task)}"
        if (shipped / ckpt.CONFIG_FILE).exists():
            entry["shipped"] = {**budget(shipped), **figures(shipped, task)}
    (args.out / "defaults.json").write_text(json.dumps(report, indent=2) + "\n")
    print(markdown(report))


def markdown(report: dict) -> str:
    lines = ["| task | measure | default command: median (seeds 0 / 1 / 2) | shipped | default: sequences, "
             "training time (medians) | shipped: sequences, training time |", "|---|---|---|---|---|---|"]
    for task, entry in report.items():
        seeds, shipped = entry["seeds"], entry["shipped"]
        spent = (f"{statistics.median(s['sequences'] for s in seeds):,.0f}, "
                 f"{statistics.median(s['seconds'] for s in seeds):,.0f} s")
        shipped_spent = f"{shipped['sequences']:,}, {shipped['seconds']:,.0f} s" if shipped else "—"
        for label, *_ in MEASURES[task]:
            each = [seed[label] for seed in seeds]
            figure = f"{shipped[label]:.3f}" if shipped else "—"
            lines.append(f"| {task} | {label} | {statistics.median(each):.3f} ({' / '.join(f'{v:.3f}' for v in each)}) "
                         f"| {figure} | {spent} | {shipped_spent} |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
