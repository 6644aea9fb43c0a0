"""`ntm sweep`: every combination of models, seeds and `--set` values on Ray.
Thin like the rest of the CLI: planning, running and summarising live in
`ntm.experiments.sweep`, which a notebook can call directly.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import List, Optional

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from ntm.cli.app import app, console, friendly_errors

import tasks

from ntm.model import registry
from ntm.experiments.sweep import SUMMARY_FILE, parse_axes, plan_sweep, run_sweep



@app.command()
@friendly_errors
def sweep(
    task: str = typer.Argument(..., help=f"Task to learn: {', '.join(tasks.names())}."),
    models: str = typer.Option("ntm,lstm", "--models", help=f"Models to train, comma separated, from {', '.join(registry.names())}."),
    seeds: int = typer.Option(3, "--seeds", help="Seeds per combination: 0, 1, ..., N-1."),
    set_: List[str] = typer.Option([], "--set", help="A grid axis as section.field=v1,v2,..., e.g. train.lr=1e-3,3e-4; one value sets the field in every run. Repeatable: every combination is trained."),
    steps: Optional[int] = typer.Option(None, "--steps", help="Optimiser steps per run (default as for `ntm train`). Raise it and run the sweep again to train every run further."),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="Sweep directory: a run directory per combination and summary.json (default runs/sweep-TASK)."),
    address: Optional[str] = typer.Option(None, "--address", help="Ray cluster to run on: auto (this node's), HOST:6379, or ray://HOST:10001 from outside it. Default: start a local Ray on this machine's CPUs."),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON instead of a table."),
):
    """Train every combination of models x seeds x --set values as independent runs on Ray, then summarise them.

    Running the same command again skips finished runs and resumes the others from their checkpoints.
    """
    plan = plan_sweep(task, [m.strip() for m in models.split(",") if m.strip()], seeds,
                      axes=parse_axes(set_), out_dir=out, steps=steps)
    with Progress(TextColumn("[bold]sweep"), BarColumn(), MofNCompleteColumn(), TextColumn("runs"),
                  TimeElapsedColumn(), console=console, disable=as_json) as progress:
        bar = progress.add_task("sweep", total=len(plan.runs))

        def finished(record: dict) -> None:
            progress.advance(bar)
            if not as_json:
                progress.console.print(_describe_run(record), highlight=False)

        try:
            summary = run_sweep(plan, address=address, on_result=finished)
        except KeyboardInterrupt:
            progress.stop()
            console.print("[yellow]interrupted: finished runs are kept; run the same command again "
                          "to resume the others from their last checkpoints[/yellow]", highlight=False)
            raise typer.Exit(130) from None
    if as_json:
        print(json.dumps(summary, indent=2))
    else:
        _print_summary_table(summary)
        console.print(f"summary: {plan.out_dir / SUMMARY_FILE}", highlight=False)
    if summary["failed"]:
        console.print(f"[red]{summary['failed']} of {len(summary['runs'])} runs failed[/red]", highlight=False)
        raise typer.Exit(1)


def _describe_run(record: dict) -> str:
    if record["status"] == "failed":
        return f"[red]failed[/red] {record['name']}: {record['error']}"
    v = record["validation"]
    text = (f"{record['status']} {record['name']}: {record['step']} steps, cost {v['cost_bits']:.3f} bits, "
            f"bit errors {v['bit_errors']:.3f}, {record['seconds']:.1f} s")
    if record.get("resumed_from_step") and record["status"] == "trained":
        text += f" (resumed from step {record['resumed_from_step']})"
    return text


def _print_summary_table(summary: dict) -> None:
    table = Table(title=f"{summary['task']} sweep · {len(summary['runs'])} runs · {summary['out_dir']}",
                  caption="final validation cost and bit errors per sequence: median (min-max) over seeds")
    keys = list(summary["axes"])
    any_failed = any(group["failed"] for group in summary["groups"])
    columns = ["model", *keys, "solved", "cost bits", "bit errors", "median s", *(["failed"] if any_failed else [])]
    for column in columns:
        table.add_column(column, justify="left" if column == "model" else "right")
    for group in summary["groups"]:
        seconds = "-" if group["median_seconds"] is None else f"{group['median_seconds']:.1f}"
        row = [group["model"], *(group["values"][key] for key in keys), f"{group['solved']}/{group['runs']}",
               _spread(group["cost_bits"]), _spread(group["bit_errors"]), seconds]
        table.add_row(*row, *([str(group["failed"])] if any_failed else []))
    Console().print(table)


def _spread(spread: dict) -> str:
    if spread["median"] is None:
        return "-"
    if spread["min"] == spread["max"]:
        return f"{spread['median']:.3f}"
    return f"{spread['median']:.3f} ({spread['min']:.3f}-{spread['max']:.3f})"
