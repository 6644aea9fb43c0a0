"""The `ntm` command line. Thin: it parses options, calls a library function
and renders the result. The only module that imports typer and rich."""

from __future__ import annotations

import functools
import json
import os
import sys
import traceback
from pathlib import Path
from typing import List, Optional

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

import tasks

from .config import MODEL_NAMES, apply_overrides, default_config
from .checkpoint import load_config, resolve_weights
from .metrics import SOLVED_BIT_ERRORS

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Neural Turing Machines and recurrent baselines on the algorithmic tasks of Graves et al. (2014).",
)
console = Console(stderr=True)
_state = {"debug": False}


@app.callback()
def main(debug: bool = typer.Option(False, "--debug", help="Show the full Python traceback when a command fails.")):
    _state["debug"] = debug


def friendly_errors(command):
    """Turn expected failures into one line on stderr and exit status 2."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except typer.Exit:
            raise
        except Exception as error:  # noqa: BLE001 - every failure becomes one readable line
            if _state["debug"]:
                traceback.print_exc()
            message = str(error) or type(error).__name__
            console.print(f"[red]error:[/red] {message}", highlight=False, soft_wrap=True)
            if not _state["debug"]:
                console.print("(run with `ntm --debug ...` for the traceback)", style="dim", highlight=False)
            raise typer.Exit(2) from None

    return wrapper


@app.command()
@friendly_errors
def train(
    task: Optional[str] = typer.Argument(None, help=f"Task to learn: {', '.join(tasks.names())}. Not needed with --resume."),
    model: str = typer.Option("ntm", "--model", "-m", help=f"Model: {', '.join(MODEL_NAMES)}."),
    steps: Optional[int] = typer.Option(None, help="Optimiser steps to train for (sequences = steps x batch size). With --resume, the new total."),
    batch_size: Optional[int] = typer.Option(None, "--batch-size", "-b", help="Sequences per step (default 32)."),
    lr: Optional[float] = typer.Option(None, help="Learning rate (default: per model, see `ntm config`)."),
    seed: Optional[int] = typer.Option(None, help="Seed of the initial weights and the training data (default 0)."),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="Run directory (default runs/TASK-MODEL-sSEED)."),
    resume: bool = typer.Option(False, "--resume", help="Continue the run in --out from its last checkpoint."),
    device: Optional[str] = typer.Option(None, help="cpu (default) or cuda."),
    checkpoint_every: Optional[int] = typer.Option(None, "--checkpoint-every", help="Steps between resumable checkpoints (default 500)."),
    until_solved: bool = typer.Option(False, "--until-solved", help="Stop as soon as validation bit errors fall below 0.1 per sequence."),
    fast: bool = typer.Option(False, "--fast", help="NTM: compile each step with torch.compile (same function, about 3x faster after a one-off compile of about a minute)."),
    set_: List[str] = typer.Option([], "--set", help="Any other config field as section.field=value, e.g. model.memory_size=256, train.clip_grad_norm=10, task.max_length=30. Repeatable."),
):
    """Train a model on a task; checkpoints, config and learning curve go to the run directory."""
    from .train import TrainingInterrupted
    from .train import train as run_training

    if resume:
        if out is None:
            raise ValueError("--resume needs the run directory: ntm train --resume --out DIR")
        config = load_config(out)
        if task is not None and task != config.task:
            raise ValueError(f"{out} is a {config.task} run, not {task}")
    else:
        if task is None:
            raise ValueError(f"name a task to train: {', '.join(tasks.names())}")
        tasks.get(task)  # fails early with the list of tasks
        config = default_config(task, model)
    _set_positive(config.train, "steps", steps)
    _set_positive(config.train, "batch_size", batch_size)
    _set_positive(config.train, "checkpoint_every", checkpoint_every)
    if lr is not None:
        if not lr > 0:
            raise ValueError(f"--lr must be positive, got {lr}")
        config.train.lr = lr
    if seed is not None:
        config.train.seed = seed
    if device is not None:
        config.train.device = _check_device(device)
    if until_solved:
        config.train.stop_when_solved = True
    if fast:
        config.train.fast = True
    apply_overrides(config, set_)
    tasks.get(config.task, **config.task_options)  # validate task options before touching disk
    run_dir = out or Path("runs") / f"{config.task}-{config.model.name}-s{config.train.seed}"

    # Under torchrun only rank 0 reports; the other ranks train silently.
    reporting = os.environ.get("RANK", "0") == "0"
    with _TrainingProgress(config, enabled=reporting) as progress:
        try:
            result = run_training(config, run_dir, resume=resume, on_event=progress.event)
        except TrainingInterrupted as stop:
            progress.stop()
            if reporting:
                console.print(f"[yellow]{stop}[/yellow]", highlight=False)
            raise typer.Exit(130) from None
    if not reporting:
        return
    v = result.validation
    console.print(
        f"done: {result.step} steps, {result.sequences:,} sequences in {result.seconds:.0f} s; "
        f"validation cost {v['cost_bits']:.3f} bits, bit errors {v['bit_errors']:.3f} per sequence",
        highlight=False,
    )
    if result.solved_at:
        s = result.solved_at
        console.print(f"solved (bit errors < 0.1) after {s['sequences']:,} sequences, {s['seconds']:.0f} s", highlight=False)
    if config.warmup_options and result.warmup_solved_at is None:
        console.print("[yellow]the warm-up stage is not solved yet, so the figures above are of a model that has not "
                      "seen the full task; continue with --resume and more --steps[/yellow]", highlight=False)
    if result.skipped_steps:
        console.print(f"[yellow]{result.skipped_steps} steps skipped for non-finite loss or gradients[/yellow]")
    console.print(f"run directory: {result.run_dir}   evaluate with: ntm eval {result.run_dir}", highlight=False)


class _TrainingProgress:
    """A rich progress bar fed by the training loop's events."""

    def __init__(self, config, enabled: bool = True):
        self.batch_size = config.train.batch_size
        self.lr_after_solve = config.train.lr * config.train.lr_after_solve
        self.progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            TextColumn("{task.fields[sequences]:>10,} seq"),
            TextColumn("cost {task.fields[cost]:>7.3f}"),
            TextColumn("bit err {task.fields[errors]:>7.3f}"),
            TextColumn("val {task.fields[val]}"),
            TextColumn("{task.fields[rate]:>6.0f} seq/s"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=console,
            transient=False,
            disable=not enabled,
        )
        # Without a terminal (nohup, CI logs) the bar cannot redraw: print a line per validation instead.
        self.plain = enabled and not console.is_terminal
        self.bar = None
        self.start_seconds = None

    def __enter__(self):
        self.progress.__enter__()
        return self

    def __exit__(self, *exc):
        self.progress.__exit__(*exc)

    def stop(self):
        self.progress.stop()

    def event(self, kind: str, data: dict) -> None:
        if kind == "start":
            self.bar = self.progress.add_task("train", total=data["steps"], completed=data["step"],
                                              sequences=data["step"] * self.batch_size, cost=float("nan"),
                                              errors=float("nan"), val="-", rate=0.0)
        elif kind == "log" and "cost_bits" in data:
            if self.start_seconds is None:
                self.start_seconds = (data["seconds"], data["sequences"])
            seconds0, sequences0 = self.start_seconds
            elapsed = max(data["seconds"] - seconds0, 1e-9)
            rate = (data["sequences"] - sequences0) / elapsed if data["sequences"] > sequences0 else 0.0
            self.progress.update(self.bar, completed=data["step"], sequences=data["sequences"],
                                 cost=data["cost_bits"], errors=data["bit_errors"], rate=rate)
        elif kind == "validate":
            self.progress.update(self.bar, completed=data["step"], val=f"{data['bit_errors']:.3f}")
            if self.plain:
                stage = " (warm-up)" if data.get("warmup") else ""
                self.progress.console.print(
                    f"step {data['step']}: validation{stage} cost {data['cost_bits']:.3f} bits, "
                    f"bit errors {data['bit_errors']:.3f} per sequence", highlight=False)
        elif kind == "warmup_solved":
            self.progress.console.print(
                f"warm-up solved at step {data['step']} ({data['sequences']:,} sequences): "
                f"training on the full task from here on", highlight=False)
        elif kind == "solved":
            self.progress.console.print(
                f"solved at step {data['step']} ({data['sequences']:,} sequences): validation bit errors "
                f"below {SOLVED_BIT_ERRORS} per sequence; the learning rate is now {self.lr_after_solve:g}", highlight=False)
        elif kind == "rollback":
            self.progress.console.print(
                f"[yellow]non-finite steps in a row at step {data['from_step']}: rolled back to the checkpoint of step {data['step']}[/yellow]"
            )


@app.command("eval")
@friendly_errors
def eval_(
    checkpoint: Optional[Path] = typer.Argument(None, help="Run directory or .safetensors file (default: the shipped checkpoints/copy-ntm)."),
    length: Optional[int] = typer.Option(None, "--length", "-l", help="Evaluate at this size: copy/repeat-copy length, associative-recall items, N-gram bits, priority-sort inputs."),
    lengths: Optional[str] = typer.Option(None, "--lengths", help="Several sizes, comma separated, e.g. 10,20,50,100."),
    repeats: Optional[int] = typer.Option(None, "--repeats", help="Repeat copy: the repeat count (default: the training maximum)."),
    samples: int = typer.Option(500, "--samples", "-n", help="Sequences per size in the fixed-seed evaluation set."),
    memory_size: Optional[int] = typer.Option(None, "--memory-size", help="NTM memory locations N at evaluation (default: as trained); raise it for sequences longer than the memory."),
    seed: int = typer.Option(0, help="Seed of the evaluation set."),
    batch_size: int = typer.Option(100, "--batch-size", help="Sequences evaluated at once."),
    weights: str = typer.Option("best", help="best (by validation, default) or last weights of a run directory."),
    device: str = typer.Option("cpu", help="cpu or cuda."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object instead of a table."),
    fast: bool = typer.Option(False, "--fast", help="NTM: compile each step with torch.compile; pays off for large evaluations."),
):
    """Evaluate a trained model on fixed-seed sets of exact sizes, e.g. far longer than it was trained on."""
    from .evaluate import DEFAULT_CHECKPOINT, evaluate_checkpoint, generalisation_sizes

    if checkpoint is None:
        checkpoint = DEFAULT_CHECKPOINT
        if not checkpoint.exists():
            raise ValueError(
                "no checkpoint given and the shipped checkpoints/copy-ntm is not there; "
                "train one with `ntm train copy --out runs/copy` and run `ntm eval runs/copy`"
            )
    _positive("--samples", samples)
    _positive("--batch-size", batch_size)
    if weights not in ("best", "last"):
        raise ValueError(f"--weights must be best or last, got {weights!r}")
    run_dir, _ = resolve_weights(checkpoint, weights)
    config = load_config(run_dir)
    task = tasks.get(config.task, **config.task_options)
    if length is not None and lengths is not None:
        raise ValueError("give --length or --lengths, not both")
    if lengths is not None:
        values = [_parse_int("--lengths", item) for item in lengths.split(",") if item.strip()]
    elif length is not None:
        values = [length]
    else:
        values = None
    for value in values or []:
        _positive("--length", value)
    if repeats is not None:
        _positive("--repeats", repeats)
        if "repeats" not in task.size_names:
            raise ValueError(f"--repeats applies to repeat-copy, not {config.task}")
    primary = task.size_names[0]
    if values is None:
        sizes = generalisation_sizes(config.task)
        if repeats is not None:
            sizes = [{**s, "repeats": repeats} for s in sizes]
    else:
        sizes = [{primary: v, **({"repeats": repeats} if repeats is not None else {})} for v in values]

    with Progress(TextColumn("evaluating {task.description}"), BarColumn(), TimeElapsedColumn(),
                  console=console, transient=True, disable=as_json) as progress:
        bar = progress.add_task(str(checkpoint), total=len(sizes))
        report = evaluate_checkpoint(checkpoint, sizes, samples=samples, seed=seed, memory_size=memory_size,
                                     batch_size=batch_size, device=_check_device(device), which=weights, fast=fast,
                                     on_size=lambda result: progress.advance(bar))
    if as_json:
        print(json.dumps(report, indent=2))
        return
    for warning in report["warnings"]:
        console.print(f"[yellow]warning:[/yellow] {warning}", highlight=False)
    _print_eval_table(report)


def _print_eval_table(report: dict) -> None:
    checkpoint = Path(report["checkpoint"])
    if checkpoint.is_relative_to(Path.cwd()):
        checkpoint = checkpoint.relative_to(Path.cwd())
    title = f"{report['task']} · {report['model']} · {checkpoint}"
    if report.get("memory_size"):
        title += f" · memory {report['memory_size']}"
    table = Table(title=title)
    results = report["results"]
    extra = [k for k in results[0] if k not in ("length", "samples", "cost_bits", "bit_errors", "seq_accuracy", "optimal_cost_bits")]
    for column in ["length", *extra, "samples", "cost_bits", "bit_errors", "seq_accuracy"]:
        table.add_column(column, justify="right")
    has_optimal = "optimal_cost_bits" in results[0]
    if has_optimal:
        table.add_column("optimal_cost_bits", justify="right")
        table.add_column("excess", justify="right")
    for r in results:
        row = [str(r["length"]), *(str(r[k]) for k in extra), str(r["samples"]),
               f"{r['cost_bits']:.3f}", f"{r['bit_errors']:.3f}", f"{r['seq_accuracy']:.3f}"]
        if has_optimal:
            row += [f"{r['optimal_cost_bits']:.3f}", f"{r['cost_bits'] - r['optimal_cost_bits']:+.3f}"]
        table.add_row(*row)
    Console().print(table)


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
    from . import bench as benchmarks

    if time_to_solve:
        _positive("--seeds", seeds)
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
    sizes = [_parse_int("--batch-sizes", item) for item in batch_sizes.split(",") if item.strip()]
    for size in sizes:
        _positive("--batch-sizes", size)
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


@app.command("config")
@friendly_errors
def show_config(
    task: str = typer.Argument(..., help=f"Task: {', '.join(tasks.names())}."),
    model: str = typer.Option("ntm", "--model", "-m", help=f"Model: {', '.join(MODEL_NAMES)}."),
    set_: List[str] = typer.Option([], "--set", help="Overrides as section.field=value, as for `ntm train`."),
):
    """Print the configuration `ntm train TASK` would use, as JSON."""
    tasks.get(task)
    config = apply_overrides(default_config(task, model), set_)
    print(config.to_json())


def _set_positive(section, field: str, value: Optional[int]) -> None:
    if value is None:
        return
    _positive("--" + field.replace("_", "-"), value)
    setattr(section, field, value)


def _positive(option: str, value: int) -> None:
    if value < 1:
        raise ValueError(f"{option} must be a positive integer, got {value}")


def _parse_int(option: str, text: str) -> int:
    try:
        return int(text.strip())
    except ValueError:
        raise ValueError(f"{option} takes whole numbers separated by commas, got {text.strip()!r}") from None


def _check_device(device: str) -> str:
    import torch

    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError("--device cuda was asked for but torch sees no CUDA GPU here; use --device cpu")
    if not (device == "cpu" or device.startswith("cuda") or device == "mps"):
        raise ValueError(f"--device must be cpu or cuda, got {device!r}")
    return device


from . import results_cli, sweep_cli, viz_cli  # noqa: E402 - they register onto `app` and need friendly_errors above

results_cli.register(app, console, friendly_errors)
sweep_cli.register(app, console, friendly_errors)
viz_cli.register(app, console, friendly_errors)


def run() -> None:
    """Console-script entry point."""
    app(prog_name="ntm")


if __name__ == "__main__":
    sys.exit(run())
