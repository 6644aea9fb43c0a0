"""`ntm eval`: a trained model on fixed-seed sets of exact sizes, as a table or JSON."""

from __future__ import annotations

import json
from pathlib import Path
from typing import List, Optional

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

import tasks
from ntm.checks import check_batch_size
from ntm.checkpoint import load_config, resolve_weights
from ntm.cli.app import app, console, friendly_errors
from ntm.cli.options import (LENGTH_HELP, SIZE_HELP, THREADS_FOR_EVALUATION_HELP, check_device, parse_ints,
                             parse_size_fields, positive, set_threads)


@app.command("eval")
@friendly_errors
def eval_(
    checkpoint: Optional[Path] = typer.Argument(None, help="Run directory or .safetensors file (default: the shipped checkpoints/copy-ntm)."),
    length: Optional[int] = typer.Option(None, "--length", "-l", help=LENGTH_HELP),
    lengths: Optional[str] = typer.Option(None, "--lengths", help="Several values of the task's first size, comma separated, e.g. 10,20,50,100."),
    size: List[str] = typer.Option([], "--size", help=SIZE_HELP + " Fields not given take training-typical values."),
    samples: int = typer.Option(500, "--samples", "-n", help="Sequences per size in the fixed-seed evaluation set."),
    memory_size: Optional[int] = typer.Option(None, "--memory-size", help="Memory locations N at evaluation, for a model with a memory (default: as trained); raise it for sequences longer than the memory."),
    seed: int = typer.Option(0, help="Seed of the evaluation set."),
    batch_size: int = typer.Option(100, "--batch-size", help="Sequences evaluated at once."),
    weights: str = typer.Option("best", help="best (by validation, default) or last weights of a run directory."),
    device: str = typer.Option("cpu", help="cpu or cuda."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object instead of a table."),
    threads: Optional[int] = typer.Option(None, "--threads", help=THREADS_FOR_EVALUATION_HELP),
    path: str = typer.Option("fused", "--path", help="Execution path, where the model offers it: fused (default), compiled or reference. Same function on each."),
):
    """Evaluate a trained model on fixed-seed sets of exact sizes, e.g. far longer than it was trained on."""
    from ntm.evaluation import DEFAULT_CHECKPOINT, evaluate_checkpoint

    if checkpoint is None:
        checkpoint = DEFAULT_CHECKPOINT
        if not checkpoint.exists():
            raise ValueError(
                "no checkpoint given and the shipped checkpoints/copy-ntm is not there; "
                "train one with `ntm train copy --out runs/copy` and run `ntm eval runs/copy`"
            )
    positive("--samples", samples)
    set_threads(threads)
    check_batch_size(batch_size, "--batch-size")
    run_dir, _ = resolve_weights(checkpoint, weights)
    config = load_config(run_dir)
    if memory_size is not None and not config.model.has_memory:
        raise ValueError(f"--memory-size sets a model's memory; a {config.model.name} has none")
    sizes = _sizes_asked(tasks.get(config.task, **config.task_options), length, lengths, size)

    with Progress(TextColumn("evaluating {task.description}"), BarColumn(), TimeElapsedColumn(),
                  console=console, transient=True, disable=as_json) as progress:
        bar = progress.add_task(str(checkpoint), total=len(sizes))
        report = evaluate_checkpoint(checkpoint, sizes, samples=samples, seed=seed, memory_size=memory_size,
                                     batch_size=batch_size, device=check_device(device), which=weights,
                                     execution_path=path,
                                     on_size=lambda result: progress.advance(bar))
    if as_json:
        print(json.dumps(report, indent=2))
        return
    for warning in report["warnings"]:
        console.print(f"[yellow]warning:[/yellow] {warning}", highlight=False)
    print_eval_report(report, Console())


def _sizes_asked(task: tasks.Task, length: Optional[int], lengths: Optional[str],
                 size: list[str]) -> list[dict[str, int]]:
    """The sizes --length/--lengths and --size ask for; the task's generalisation sizes if none."""
    if length is not None and lengths is not None:
        raise ValueError("give --length or --lengths, not both")
    if length is not None:
        positive("--length", length)
    extra = parse_size_fields(task, size)
    natural = task.size_names[0]
    if natural in extra:
        if length is not None or lengths is not None:
            raise ValueError(f"--size {natural}= and --length/--lengths name the same size; give one of them")
        return [extra]
    if lengths is not None:
        values = parse_ints("--lengths", lengths)
    elif length is not None:
        values = [length]
    else:
        return [{**dict(size), **extra} for size in task.generalisation_sizes]
    return [{task.size_names[0]: value, **extra} for value in values]


def print_eval_report(report: dict, out: Console) -> None:
    """The report as a table whose title (task, model, memory) is short enough
    for one line of a narrow terminal, then the weights file evaluated on a
    line of its own, unbroken so it can be copied."""
    checkpoint = Path(report["checkpoint"])
    if checkpoint.is_relative_to(Path.cwd()):
        checkpoint = checkpoint.relative_to(Path.cwd())
    out.print(eval_table(report))
    out.print(f"weights: {checkpoint}", highlight=False, soft_wrap=True)


def eval_table(report: dict) -> Table:
    """One row per size. The sample count goes in the title and the optimal
    predictor's cost is headed "optimum", so the table fits 80 columns
    without cutting a header."""
    results = report["results"]
    title = f"{report['task']} · {report['model']}"
    if report.get("memory_size"):
        title += f" · memory {report['memory_size']}"
    title += f" · {results[0]['samples']:,} sequences per size"
    table = Table(title=title)
    measures = ("length", "samples", "cost_bits", "bit_errors", "seq_accuracy", "optimal_cost_bits")
    extra = [k for k in results[0] if k not in measures]
    # "length" in the report is the task's first size, which not every task calls a length.
    size_name = tasks.get(report["task"]).size_names[0] if report["task"] in tasks.names() else "length"
    has_optimal = results[0].get("optimal_cost_bits") is not None
    headers = [size_name, *extra, "cost_bits", "bit_errors", "seq_accuracy", *(("optimum", "excess") if has_optimal else ())]
    for column in headers:
        table.add_column(column, justify="right", min_width=len(column))
    for r in results:
        row = [str(r["length"]), *(str(r[k]) for k in extra),
               f"{r['cost_bits']:.3f}", f"{r['bit_errors']:.3f}", f"{r['seq_accuracy']:.3f}"]
        if has_optimal:
            row += [f"{r['optimal_cost_bits']:.3f}", f"{r['cost_bits'] - r['optimal_cost_bits']:+.3f}"]
        table.add_row(*row)
    return table
