"""`ntm results`: evaluate the shipped checkpoints and write RESULTS.md.
Thin like the rest of the CLI: the evaluations and the report live in
`ntm.report.collect` and `ntm.report.markdown`, which a notebook can call directly.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from ntm.cli.app import app, console, friendly_errors
from ntm.cli.options import THREADS_FOR_EVALUATION_HELP, set_threads


@app.command()
@friendly_errors
def results(
    checkpoints: Path = typer.Option(Path("checkpoints"), "--checkpoints", help="Folder of shipped runs: one run directory per task and model, named TASK-MODEL (e.g. copy-ntm), as `ntm train` writes them."),
    samples: int = typer.Option(500, "--samples", "-n", help="Sequences per size in each fixed-seed evaluation set."),
    out: Path = typer.Option(Path("."), "--out", "-o", help="Folder for RESULTS.md; its pictures go to docs/results/ inside it."),
    seed: int = typer.Option(0, help="Seed of the evaluation sets and of the sequence the attention pictures show; fixed so the report can be regenerated exactly."),
    device: str = typer.Option("cpu", help="cpu or cuda."),
    threads: Optional[int] = typer.Option(None, "--threads", help=THREADS_FOR_EVALUATION_HELP),
):
    """Evaluate every shipped checkpoint at its training and generalisation sizes and write RESULTS.md with the paper's figures beside ours and the pictures."""
    from ntm.report.collect import collect
    from ntm.report.markdown import write_report

    if samples < 1:
        raise ValueError(f"--samples must be a positive integer, got {samples}")
    set_threads(threads)
    command = f"ntm results --checkpoints {checkpoints} --samples {samples} --out {out}"
    if seed != 0:
        command += f" --seed {seed}"
    if device != "cpu":
        command += f" --device {device}"

    with Progress(TextColumn("evaluating"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.description}"),
                  TimeElapsedColumn(), TimeRemainingColumn(), console=console, transient=True) as progress:
        bar = progress.add_task("", total=None)

        def advance(done: int, total: int, what: str) -> None:
            progress.update(bar, completed=done, total=total, description=what)

        entries = collect(checkpoints, samples=samples, seed=seed, device=device, on_progress=advance)
    console.print("drawing the pictures...", highlight=False)
    path = write_report(entries, out_dir=out, command=command)
    for entry in entries:
        for target in entry["targets"]:
            mark = "[green]met[/green]" if target["met"] else "[red]not met[/red]"
            console.print(f"{entry['name']}: {target['target']}: {mark} ({target['measured']})", highlight=False)
    console.print(f"wrote {path}", highlight=False)
