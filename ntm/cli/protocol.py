"""`ntm protocol MODEL`: a model on every task, over seeds, beside the shipped models."""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Optional

import typer

import tasks
from ntm.cli.app import app, console, friendly_errors
from ntm.cli.options import positive


@app.command("protocol")
@friendly_errors
def protocol(
    model: str = typer.Argument(..., help="The model: a built-in name, package.module:Name, or an installed entry point's name (`ntm models`)."),
    seeds: int = typer.Option(3, "--seeds", help="Seeds per task."),
    budget: float = typer.Option(1.0, "--budget", help="Sequences per run, as a fraction of what the shipped NTM of the task trained on (0.1 for a quick look)."),
    task_list: Optional[str] = typer.Option(None, "--tasks", help=f"Tasks, comma separated (default all: {', '.join(tasks.names())})."),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="Folder of the runs and the report (default runs/protocol-MODEL); rerun the same command to resume."),
    parallel: int = typer.Option(2, "--parallel", help="Runs at a time, each on one thread: 2 on a 2-core machine."),
    samples: int = typer.Option(500, "--samples", "-n", help="Sequences per size in the fixed-seed evaluation sets."),
    address: Optional[str] = typer.Option(None, "--address", help="Train the runs on Ray instead (pip install 'ntm\\[cluster]'): local, auto, HOST:6379 or ray://HOST:10001, as for `ntm sweep`."),
    checkpoints: Path = typer.Option(Path("checkpoints"), "--checkpoints", help="The shipped runs to compare with, and whose budgets to train at."),
):
    """Train MODEL on each task at the shipped NTMs' budgets over several seeds, evaluate every run
    on the paper's sizes with the fixed seed, and write PROTOCOL.md, protocol.json and figures beside
    the shipped models. A killed protocol resumes where it stopped."""
    from ntm.experiments.protocol import plan_protocol, run_protocol

    positive("--seeds", seeds)
    positive("--parallel", parallel)
    positive("--samples", samples)
    names = [name.strip() for name in task_list.split(",") if name.strip()] if task_list else None
    plan = plan_protocol(model, seeds=seeds, budget=budget, task_names=names, out_dir=out,
                         checkpoints=checkpoints, samples=samples)

    def show(kind: str, data: dict) -> None:
        if kind == "start":
            console.print(f"protocol of {plan.model}: {data['runs']} runs ({data['done']} done already), "
                          f"{data['sequences']:,} sequences in all, {parallel} at a time; runs in {plan.out_dir}",
                          highlight=False, soft_wrap=True)
        elif kind == "training":
            console.print(f"training {data['task']} seed {data['seed']}: {data['sequences']:,} sequences "
                          f"(its log: {data['run_dir']}/protocol.log)", highlight=False, soft_wrap=True)
        elif kind == "run":
            eta = "unknown" if data["eta_s"] is None else str(datetime.timedelta(seconds=round(data["eta_s"])))
            console.print(f"finished {data['task']} seed {data['seed']}: {data['finished']} of {data['runs']} runs "
                          f"done, ETA of the protocol {eta}", highlight=False, soft_wrap=True)
        elif kind == "evaluate":
            console.print(f"evaluating the shipped {data['what']}", highlight=False)
        elif kind == "report":
            console.print(f"wrote {data['path']}", highlight=False)

    try:
        run_protocol(plan, parallel=parallel, on_event=show, address=address)
    except KeyboardInterrupt:
        console.print(f"[yellow]stopped; every run kept its last checkpoint. Resume with the same command "
                      f"(ntm protocol {model} ... --out {plan.out_dir})[/yellow]", highlight=False, soft_wrap=True)
        raise typer.Exit(130) from None
