"""`ntm bench`: throughput of the execution paths, or the time to solve copy."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.table import Table

from ntm.cli.app import app, console, friendly_errors
from ntm.cli.options import check_training_threads, parse_ints, positive
from ntm.checks import check_batch_size


@app.command()
@friendly_errors
def bench(
    batch_sizes: str = typer.Option("1,8,32,128", "--batch-sizes", help="Copy training batch sizes to time, comma separated."),
    seconds: float = typer.Option(10.0, help="Seconds of timed work per measurement (after warm-up and compilation)."),
    paths: str = typer.Option("reference,compiled,fused", help="Which execution paths to time, comma separated: reference, compiled, fused."),
    sort_batch_size: int = typer.Option(32, "--sort-batch-size", help="Batch of the priority-sort NTM and NTM-FF timings; 0 skips them."),
    time_to_solve: bool = typer.Option(False, "--time-to-solve", help="Instead: train copy with the defaults until solved (every band of lengths 1-20 and length 20 under 0.1 bit errors per sequence), for each seed, then as long again, and report seconds, sequences, the worst validation after the solve and when it was consolidated."),
    seeds: int = typer.Option(3, help="With --time-to-solve: how many seeds (0, 1, ...); seeds already measured in --out are read back."),
    seed: Optional[int] = typer.Option(None, help="With --time-to-solve: measure only this seed (run one per core, then summarise with --seeds)."),
    out: Path = typer.Option(Path("runs/bench-solve"), "--out", help="With --time-to-solve: where the runs go."),
    batch_size: Optional[int] = typer.Option(None, "--batch-size", help="With --time-to-solve: the training batch (default: ntm train's); validation still comes every 1,600 sequences."),
    threads: Optional[int] = typer.Option(None, "--threads", help="With --time-to-solve: torch threads of each training (default: ntm train's, 1; 0 takes one per core)."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object instead of tables."),
):
    """Time training (copy; priority sort's NTM and NTM-FF) and evaluation with the paper's sizes, on each execution path."""
    from ntm.experiments import bench as benchmarks

    if time_to_solve:
        positive("--seeds", seeds)
        def report(kind, data):
            if kind == "validate" and not as_json:
                check = data.get("check")
                check = (f"; solve check: worst {check['worst_bit_errors']:.3f} ({check['worst_part']}), "
                         f"at least {check['least_seq_accuracy']:.1%} right in each part" if check else "")
                console.print(f"step {data['step']}: validation bit errors {data['bit_errors']:.3f}{check}",
                              highlight=False)

        if seed is not None and seed < 0:
            raise ValueError(f"--seed must be 0 or more, got {seed}")
        if batch_size is not None:
            check_batch_size(batch_size, "--batch-size")
        check_training_threads(threads)
        chosen_seeds = [seed] if seed is not None else range(seeds)
        summary = benchmarks.time_to_solve(chosen_seeds, out_dir=out, batch_size=batch_size, threads=threads,
                                           on_event=report)
        if as_json:
            print(json.dumps(summary, indent=2))
        else:
            batches = sorted({r.get("batch_size", 32) for r in summary["runs"]})  # older records: batch 32
            table = Table(title=f"copy, default settings, batch {', '.join(map(str, batches))}, time to solve · "
                                f"{summary['machine']}")
            for column in ("seed", "solved", "seconds", "sequences", "worst bit errors after solve",
                           "consolidated at (sequences)"):
                table.add_column(column, justify="right")
            for r in summary["runs"]:
                consolidated = r.get("consolidated_at")
                table.add_row(str(r["seed"]), str(r["solved"]), f"{r.get('seconds', float('nan')):.0f}",
                              f"{r.get('sequences', 0):,}", f"{r.get('worst_bit_errors_after_solve', float('nan')):.3f}",
                              f"{consolidated['sequences']:,}" if consolidated else "—")
            Console().print(table)
            if summary["solved"]:
                Console().print(f"median: {summary['median_seconds']:.0f} s, {summary['median_sequences']:,.0f} sequences; "
                                f"{summary['solved']}/{summary['seeds']} seeds solved", highlight=False)
        return
    sizes = parse_ints("--batch-sizes", batch_sizes)
    chosen = tuple(p.strip() for p in paths.split(",") if p.strip())
    if not chosen or set(chosen) - set(benchmarks.PATHS):
        raise ValueError(f"--paths takes any of {', '.join(benchmarks.PATHS)}, got {paths!r}")

    def show(kind, result):
        if not as_json:
            what = f"{result['task']} {result['model']} batch {result['batch_size']}" if "task" in result else f"eval length {result['length']}"
            console.print(f"{result['path']:>9}  {what}: {result['seq_per_s']:,.0f} seq/s", highlight=False)

    if sort_batch_size < 0:
        raise ValueError(f"--sort-batch-size must be 0 (skip) or more, got {sort_batch_size}")
    report = benchmarks.throughput(sizes, chosen, seconds, sort_batch_size or None, on_result=show)
    if as_json:
        print(json.dumps(report, indent=2))
        return
    if "fused_products" in report:
        console.print(f"the fused path's matrix products: {report['fused_products']} (NTM_FUSED_PRODUCTS chooses)",
                      highlight=False)
    for label, ratios in report["speedups"].items():
        over = label.replace("_over_", " over ") if "_over_" in label else f"{label} over reference"
        Console().print(f"{over}: " + ", ".join(f"{k} {v:.2f}x" for k, v in ratios.items()), highlight=False)
