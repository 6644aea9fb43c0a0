"""`ntm train`: build the run's config from the options, train, and draw the progress."""

from __future__ import annotations

import os
from pathlib import Path
from typing import List, Optional

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

import tasks
from ntm.checkpoint import load_config
from ntm.cli.app import _check_device, _set_positive, app, console, friendly_errors
from ntm.config import MODEL_NAMES, apply_overrides, default_config
from ntm.metrics import SOLVED_BIT_ERRORS


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
    from ntm.training.loop import TrainingInterrupted
    from ntm.training.loop import train as run_training

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
