"""`ntm bench`: throughput of the execution paths, or the time to solve copy."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.table import Table

from ntm.cli.app import app, console, friendly_errors
from ntm.cli.options import parse_ints, positive


@app.command()
@friendly_errors
def bench(
    batch_sizes: str = typer.Option("1,32,128", "--batch-sizes", help="Training batch sizes to time, comma separated."),
    seconds: float = typer.Option(10.0, help="Seconds of timed work per measurement (after warm-up and compilation)."),
    paths: str = typer.Option("reference,fast", help="Which paths to time: reference, fast, or both."),
    time_to_solve: bool = typer.Option(False, "--time-to-solve", help="Instead: train copy with the defaults until solved, for each seed, then as long again, and report seconds, sequences and relapses."),
    seeds: int = typer.Option(3, help="With --time-to-solve: how many seeds (0, 1, ...); seeds already measured in --out are read back."),
    seed: Optional[int] = typer.Option(None, help="With --time-to-solve: measure only this seed (run one per core, then summarise with --seeds)."),
    out: Path = typer.Option(Path("runs/bench-solve"), "--out", help="With --time-to-solve: where the runs go."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object instead of tables."),
):
    """Time training and evaluation on copy with the paper's NTM sizes (fast path against the reference)."""
    from ntm.experiments import bench as benchmarks

    if time_to_solve:
        positive("--seeds", seeds)
        def report(kind, data):
            if kind == "validate" and not as_json:
                console.print(f"step {data['step']}: validation bit errors {data['bit_errors']:.3f}", highlight=False)

        if seed is not None and seed < 0:
            raise ValueError(f"--seed must be 0 or more, got {seed}")
        chosen_seeds = [seed] if seed is not None else range(seeds)
        summary = benchmarks.time_to_solve(chosen_seeds, out_dir=out, on_event=report)
        if as_json:
            print(json.dumps(summary, indent=2))
        else:
            table = Table(title=f"copy, default settings, time to solve · {summary['machine']}")
            for column in ("seed", "solved", "seconds", "sequences", "worst bit errors after solve"):
                table.add_column(column, justify="right")
            for r in summary["runs"]:
                table.add_row(str(r["seed"]), str(r["solved"]), f"{r.get('seconds', float('nan')):.0f}",
                              f"{r.get('sequences', 0):,}", f"{r.get('worst_bit_errors_after_solve', float('nan')):.3f}")
            Console().print(table)
            if summary["solved"]:
                Console().print(f"median: {summary['median_seconds']:.0f} s, {summary['median_sequences']:,.0f} sequences; "
                                f"{summary['solved']}/{summary['seeds']} seeds solved", highlight=False)
        return
    sizes = parse_ints("--batch-sizes", batch_sizes)
    chosen = tuple(p.strip() for p in paths.split(",") if p.strip())
    if not chosen or set(chosen) - set(benchmarks.PATHS):
        raise ValueError(f"--paths takes reference and/or fast, got {paths!r}")

    def show(kind, result):
        if not as_json:
            where = f"batch {result['batch_size']}" if kind == "train" else f"length {result['length']}"
            console.print(f"{kind} {result['path']:>9} {where}: {result['seq_per_s']:,.0f} seq/s", highlight=False)

    report = benchmarks.throughput(sizes, chosen, seconds, on_result=show)
    if as_json:
        print(json.dumps(report, indent=2))
        return
    for name, value in report["speedups"].items():
        Console().print(f"speed-up {name}: {value:.2f}x", highlight=False)
