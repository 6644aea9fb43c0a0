"""`ntm viz` and `ntm plot curves|generalisation`: the picture commands.
Thin like the rest of the CLI: the figures are built in `ntm.report.attention`
and `ntm.report.plots`, which a notebook can call directly.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import List, Optional

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from ntm.cli.app import app, console, friendly_errors
from ntm.cli.options import SIZE_HELP, THREADS_FOR_EVALUATION_HELP, parse_ints, parse_size_fields, set_threads


@app.command()
@friendly_errors
def viz(
    checkpoint: Optional[Path] = typer.Argument(None, help="Run directory or .safetensors file of an NTM, or of a model that returns its weightings (default: the shipped checkpoints/copy-ntm)."),
    length: Optional[int] = typer.Option(None, "--length", "-l", help="The task's first size (default: the largest trained on)."),
    size: List[str] = typer.Option([], "--size", help=SIZE_HELP + " Fields not given take the largest trained on."),
    seed: int = typer.Option(0, help="Seed of the sequence drawn."),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="Figure file; .png, .svg or .pdf by its extension (default TASK-MODEL-SIZE.png)."),
    animate: Optional[Path] = typer.Option(None, "--animate", help="Also write a GIF of the memory contents and head positions step by step, e.g. --animate copy.gif (the DNC's adds usage, read modes and the link matrix)."),
    fps: int = typer.Option(4, "--fps", help="Frames (time steps) per second of the --animate GIF."),
    memory_size: Optional[int] = typer.Option(None, "--memory-size", help="Memory locations N (default: as trained); raise it for sequences longer than the memory."),
    full_memory: bool = typer.Option(False, "--full-memory", help="Draw every memory location instead of only those the heads used."),
    link_step: Optional[int] = typer.Option(None, "--link-step", help="The step whose DNC temporal link matrix L is drawn (default: the last before the first scored output, copy's delimiter: every input written and nothing read yet, so the links hold the chain the forward reads walk)."),
    weights: str = typer.Option("best", help="best (by validation, default) or last weights of a run directory."),
):
    """Draw what a model attends to on one sequence: an NTM's weightings, erase/add and read vectors (the paper's copy figure), a DNC's usage, weightings, read modes and link matrix, or any model's named weightings."""
    from ntm.evaluation import DEFAULT_CHECKPOINT, load_model, memory_warning
    from ntm.report.plots import figure_format, save_figure
    from ntm.report.animation import animation_of
    from ntm.report.attention import figure_of, trace_episode

    if checkpoint is None:
        checkpoint = DEFAULT_CHECKPOINT
        if not checkpoint.exists():
            raise ValueError("no checkpoint given and the shipped checkpoints/copy-ntm is not there; "
                             "train one with `ntm train copy --out runs/copy` and run `ntm viz runs/copy`")
    checks = (("--length", length), ("--memory-size", memory_size), ("--fps", fps))
    for option, value in checks:
        if value is not None and value < 1:
            raise ValueError(f"{option} must be a positive integer, got {value}")
    if out is not None:
        figure_format(out)  # a wrong extension fails before the model runs
    if animate is not None and animate.suffix.lower() != ".gif":
        raise ValueError(f"--animate writes a GIF; name the file *.gif, not {animate.name}")
    loaded = load_model(checkpoint, weights)
    if memory_size is not None and not loaded.config.model.has_memory:
        raise ValueError(f"--memory-size sets a model's memory; a {loaded.config.model.name} has none")
    size = {**loaded.task.largest_trained_size(), **parse_size_fields(loaded.task, size)}
    if length is not None:
        size[loaded.task.size_names[0]] = length
    episode = trace_episode(loaded, size, seed=seed, memory_size=memory_size)
    warning = memory_warning(loaded, episode.size, memory_size)
    if warning:
        console.print(f"[yellow]warning:[/yellow] {warning}", highlight=False)
    if out is None:
        model = episode.model.replace(":", "-").replace(".", "-")  # a model named package.module:Name
        out = Path(f"{episode.task}-{model}-{'-'.join(f'{k}{v}' for k, v in episode.size.items())}.png")
    save_figure(figure_of(episode, crop=not full_memory, link_step=link_step), out)
    console.print(f"wrote {out}", highlight=False)
    if animate is not None:
        animation_of(episode, animate, fps=fps, crop=not full_memory)
        console.print(f"wrote {animate} ({episode.steps} steps)", highlight=False)

plot_app = typer.Typer(no_args_is_help=True, help="Learning curves of runs, and generalisation of trained models to larger sizes.")
app.add_typer(plot_app, name="plot")

@plot_app.command("curves")
@friendly_errors
def curves(
    run_dirs: List[Path] = typer.Argument(..., help="Run directories made by `ntm train`; runs that differ only in the seed are drawn as a median with the range shaded."),
    out: Path = typer.Option(Path("curves.png"), "--out", "-o", help="Figure file; .png, .svg or .pdf by its extension."),
    validation: bool = typer.Option(False, "--validation", help="Plot the fixed validation set instead of the training batches."),
    log_x: bool = typer.Option(False, "--log-x", help="Sequences seen on a logarithmic axis, for runs of very different lengths."),
):
    """Cost (bits) and bit errors per sequence against sequences seen, with the paper's levels."""
    from ntm.report.plots import figure_format, has_points, learning_curves_figure, save_figure

    figure_format(out)
    points = "validation points" if validation else "learning-curve points"
    drawable = []
    for run_dir in run_dirs:
        if has_points(run_dir, validation):
            drawable.append(run_dir)
        else:
            console.print(f"[yellow]warning:[/yellow] {run_dir} has no {points} yet; left out", highlight=False, soft_wrap=True)
    if not drawable:
        console.print(f"[yellow]warning:[/yellow] no run has {points} yet, so {out} was not written; "
                      "try again once training has logged a step", highlight=False, soft_wrap=True)
        return
    save_figure(learning_curves_figure(drawable, validation=validation, log_x=log_x), out)
    console.print(f"wrote {out}", highlight=False)

@plot_app.command("generalisation")
@friendly_errors
def generalisation(
    checkpoints: List[Path] = typer.Argument(..., help="Run directories or .safetensors files (one line each), or JSON files saved from `ntm eval --json`."),
    lengths: Optional[str] = typer.Option(None, "--lengths", help="Sizes, comma separated, e.g. 10,20,50,100 (default: the paper's test sizes for the task)."),
    samples: int = typer.Option(100, "--samples", "-n", help="Sequences per size in the fixed-seed evaluation set."),
    memory_size: Optional[int] = typer.Option(None, "--memory-size", help="NTM memory locations N at evaluation (default: as trained)."),
    seed: int = typer.Option(0, help="Seed of the evaluation set."),
    weights: str = typer.Option("best", help="best (by validation, default) or last weights of run directories."),
    out: Path = typer.Option(Path("generalisation.png"), "--out", "-o", help="Figure file; .png, .svg or .pdf by its extension."),
    scale: str = typer.Option("symlog", "--scale", help="Y axes: symlog (default; logarithmic, linear near 0, so near-zero errors are told apart), linear or log."),
    threads: Optional[int] = typer.Option(None, "--threads", help=THREADS_FOR_EVALUATION_HELP),
):
    """Cost and bit errors against size, one line per model, the training range shaded."""
    from ntm import checkpoint as ckpt
    from ntm.evaluation import evaluate_checkpoint, generalisation_sizes
    from ntm.report.plots import SCALES, figure_format, generalisation_figure, save_figure, training_range

    figure_format(out)
    if scale not in SCALES:
        raise ValueError(f"--scale must be one of {', '.join(SCALES)}, got {scale!r}")
    if samples < 1:
        raise ValueError(f"--samples must be a positive integer, got {samples}")
    set_threads(threads)
    saved = [path for path in checkpoints if path.suffix.lower() == ".json"]
    configs = {path: ckpt.load_config(ckpt.resolve_weights(path, weights)[0])
               for path in checkpoints if path not in saved}
    task_names = {config.task for config in configs.values()}
    if len(task_names) > 1:
        raise ValueError(f"compare models on one task at a time; got {', '.join(sorted(task_names))}")
    values = parse_ints("--lengths", lengths) if lengths is not None else None

    reports = []
    with Progress(TextColumn("evaluating {task.description}"), BarColumn(), TimeElapsedColumn(),
                  console=console, transient=True) as progress:
        for path in checkpoints:
            if path in saved:
                reports.append(_read_report(path))
                continue
            task_name = configs[path].task
            if values is None:
                sizes = generalisation_sizes(task_name)
            else:
                sizes = [{_primary(task_name): v} for v in values]
            bar = progress.add_task(str(path), total=len(sizes))
            reports.append(evaluate_checkpoint(
                path, sizes, samples=samples, seed=seed, memory_size=memory_size, which=weights,
                on_size=lambda result, bar=bar: progress.advance(bar)))
    for report in reports:
        for warning in report.get("warnings", []):
            console.print(f"[yellow]warning:[/yellow] {warning}", highlight=False)
    training = training_range(next(iter(configs.values()))) if configs else _training_from_reports(reports)
    save_figure(generalisation_figure(reports, training, scale=scale), out)
    console.print(f"wrote {out}", highlight=False)


def _primary(task_name: str) -> str:
    import tasks

    return tasks.get(task_name).size_names[0]


def _read_report(path: Path) -> dict:
    try:
        report = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as error:
        raise ValueError(f"{path} is not a readable JSON report from `ntm eval --json` ({error})") from None
    if not isinstance(report, dict) or not {"task", "model", "checkpoint", "results"} <= set(report):
        raise ValueError(f"{path} is not a report from `ntm eval --json` (it needs task, model, checkpoint, results)")
    return report


def _training_from_reports(reports: list[dict]):
    """The training range from the run directory a saved report names, if it is still there."""
    from ntm import checkpoint as ckpt
    from ntm.report.plots import training_range

    path = Path(reports[0]["checkpoint"])
    try:
        return training_range(ckpt.load_config(path.parent if path.suffix else path))
    except (ckpt.CheckpointError, ValueError):
        return None
