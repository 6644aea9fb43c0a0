"""`ntm train`: build the run's config from the options, train, and draw the progress."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

import tasks
from ntm.checks import check_batch_size
from ntm import checkpoint as ckpt
from ntm.checkpoint import load_config
from ntm.cli.app import app, console, friendly_errors
from ntm.cli.flags import fields_from_flags, option_name
from ntm.cli.options import MODEL_HELP, check_device, check_training_threads, positive
from ntm.cli.train_progress import TrainingProgress
from ntm.config_files import read_config_file
from ntm.overrides import build_run_config
from ntm.training.distributed import World
from ntm.training.resume import ResumeRefused

THREADS_HELP = ("Torch CPU threads (default 1). Keep 1 on a machine that runs anything else: two threads on two "
                "busy cores run many times slower than one (BENCHMARKS.md, threads). More may help a large model "
                "or batch on an idle machine; 0 takes one per core.")


def _help() -> str:
    """The command's help, with each task's default model and recipe as the code has them."""
    from ntm.config import default_config
    from ntm.recipes import DEFAULT_MODELS, default_model

    lines = []
    for name in tasks.names():
        model = default_model(name)
        t = default_config(name, model).train
        memory = (f", a memory of {t.memory_size}-{t.memory_size_max} locations drawn per batch" if t.memory_size_max
                  else f", a memory of {t.memory_size} locations" if t.memory_size else "")
        lines.append(f"- {name}: {model}, batch {t.batch_size}, {t.optimizer} at lr {t.lr:g}{memory}, "
                     f"at most {t.steps * t.batch_size:,} sequences")
    exceptions = ", ".join(f"{model} on {task}" for task, model in DEFAULT_MODELS.items())
    return ("Train a model on a task; checkpoints, config and learning curve go to the run directory.\n\n"
            "With no options a model trains with its recipe for the task (`ntm config TASK --model MODEL` prints "
            f"it, ntm/recipes.py says why). The default model is the paper's NTM with an LSTM controller, except "
            f"{exceptions}, where the feedforward controller makes far fewer errors inside the training range "
            "(checkpoints/README.md, \"Default recipes\"). With no --model:\n\n" + "\n".join(lines) + "\n\n"
            "A task with one right answer stops once consolidated: solved (under 0.1 bit errors per sequence in "
            "every band of the training range and at its maximum, on a fixed set), then trained on at the lower lr "
            "until every sequence of the check is right at two checks in a row. The shipped models were "
            "trained with these recipes; checkpoints/README.md says where one differs.")


@app.command(help=_help())
@friendly_errors
def train(
    task: Optional[str] = typer.Argument(None, help=f"Task to learn: {', '.join(tasks.names())}. Not needed with --resume or --config."),
    model: Optional[str] = typer.Option(None, "--model", "-m", help=MODEL_HELP),
    steps: Optional[int] = typer.Option(None, help="Optimiser steps to train for (sequences = steps x batch size). With --resume, the new total."),
    batch_size: Optional[int] = typer.Option(None, "--batch-size", "-b", help="Sequences per step (default: the recipe's for the task, see above)."),
    lr: Optional[float] = typer.Option(None, help="Learning rate (default: per model, see `ntm config`)."),
    seed: Optional[int] = typer.Option(None, help="Seed of the initial weights and the training data (default 0)."),
    threads: Optional[int] = typer.Option(None, "--threads", help=THREADS_HELP),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="Run directory (default runs/TASK-MODEL-sSEED)."),
    resume: bool = typer.Option(False, "--resume", help="Continue the run in --out from its last checkpoint. "
                                "The task, model, --seed and --set task./model. options cannot change; others (--steps, --lr...) can, and the change is recorded in the curve."),
    config_file: Optional[Path] = typer.Option(None, "--config", help="Start from a config file, as `ntm config` prints it (JSON or TOML) or a run's config.json; options and --set apply on top."),
    device: Optional[str] = typer.Option(None, help="cpu (default) or cuda."),
    checkpoint_every: Optional[int] = typer.Option(None, "--checkpoint-every", help="Steps between resumable checkpoints (default 500)."),
    until_solved: bool = typer.Option(False, "--until-solved", help="Stop at the solve, without consolidating: every band of the training range and its maximum under 0.1 bit errors per sequence."),
    path: Optional[str] = typer.Option(None, "--path", help="NTM execution path: fused (default: one C++ call per sequence, built on first use), compiled (torch.compile per step) or reference. Same function on each."),
    init_from: Optional[Path] = typer.Option(None, "--init-from", help="Start from the best weights of this run directory (or a .safetensors file) instead of fresh ones: fine-tuning. The model must match it (--config RUN/config.json takes its config); the optimiser starts afresh."),
    no_curriculum: bool = typer.Option(False, "--no-curriculum", help="Train on the full task from the first step, dropping the curriculum or warm-up that --config brings: for fine-tuning (--init-from) a run that had one, whose first stage would otherwise retrain the weights on the easier task."),
    tensorboard: bool = typer.Option(False, "--tensorboard", help="Also log to RUN/tensorboard/ (costs, bit errors, gradient norm, lr, attention); needs pip install 'ntm\\[tensorboard]'."),
    set_: List[str] = typer.Option([], "--set", help="Any other config field as section.field=value, e.g. model.memory_size=256, train.clip_grad_norm=10, task.max_length=30. Repeatable."),
):
    """Train a model on a task; checkpoints, config and learning curve go to the run directory."""
    from ntm.report.attention import attention_of
    from ntm.training.loop import TrainingInterrupted
    from ntm.training.loop import train as run_training

    for option, value in (("--steps", steps), ("--batch-size", batch_size), ("--checkpoint-every", checkpoint_every)):
        if value is not None:
            positive(option, value)
    if batch_size is not None:
        check_batch_size(batch_size, "--batch-size")
    if lr is not None and not lr > 0:
        raise ValueError(f"--lr must be positive, got {lr}")
    check_training_threads(threads)
    flags = {"--steps": steps, "--batch-size": batch_size, "--lr": lr, "--seed": seed, "--threads": threads,
             "--checkpoint-every": checkpoint_every, "--device": check_device(device) if device else None,
             "--until-solved": until_solved or None, "--path": path,
             "--init-from": str(init_from) if init_from is not None else None}
    if no_curriculum and (resume or any(a.startswith(("curriculum.", "warmup.")) for a in set_)):
        raise ValueError("--no-curriculum starts a new run on the full task; it cannot go with --resume "
                         "(a run keeps its curriculum) or with --set curriculum./warmup. options")
    fields = fields_from_flags(flags, set_)
    if resume and out is not None and task is not None and not ckpt.holds_run(out):
        # A kill during start-up leaves a run directory with nothing to resume;
        # a job scheduler requeues the same command, which then starts afresh.
        console.print(f"{out} holds no run to resume yet: starting it afresh", highlight=False)
        resume = False
    try:
        if resume:
            config = _resumed_config(out, task, model, config_file, set_, fields)
        else:
            base = read_config_file(config_file) if config_file is not None else None
            if base is not None and model is not None and model != base.model.name:
                base = _with_model(base, model)
                console.print(f"training {model} with the recipe of {config_file}: its task and training "
                              f"settings, and {model}'s own sizes", highlight=False, soft_wrap=True)
            config = build_run_config(task, model, set_, fields, base=base)
            if no_curriculum:
                config.curriculum = {}
        run_dir = out or Path("runs") / f"{config.task}-{config.model.name}-s{config.train.seed}"

        reporting = World.reports_here()  # under torchrun only rank 0 reports; the others train silently
        result = None
        try:
            with TrainingProgress(console, config, enabled=reporting) as progress:
                result = run_training(config, run_dir, resume=resume, on_event=progress.event,
                                      tensorboard=tensorboard, attention_figure=attention_of if tensorboard else None)
            if reporting:
                _summary(result, config)
        except KeyboardInterrupt:
            if result is None:
                raise
            # Ctrl-C after training returned, while the summary is drawn: the run
            # is saved, so it ends as a Ctrl-C during training does.
            raise TrainingInterrupted.saved_at(result.step, result.run_dir) from None
    except ResumeRefused as refused:
        raise refused.naming(option_name) from None
    except TrainingInterrupted as stop:
        _stopped(stop, World.reports_here())


def _stopped(stop, reporting: bool) -> None:
    if reporting:
        console.print(f"[yellow]{stop}[/yellow]", highlight=False)
    raise typer.Exit(130) from None


def _with_model(base, model: str):
    """`base` with `model` and that model's defaults on its task; the rest of the recipe stays."""
    from ntm.config import default_config

    defaults = default_config(base.task, model)
    base.model = defaults.model
    if not defaults.model.has_memory:
        base.train.memory_size = base.train.memory_size_max = 0  # a memory size has nothing to size
    return base


def _resumed_config(out, task, model, config_file, set_, fields):
    """The run's saved config with this resume's options; what may not change is refused."""
    if out is None:
        raise ValueError("--resume needs the run directory: ntm train --resume --out DIR")
    if config_file is not None:
        raise ValueError("--config starts a new run; --resume continues the run in --out with its own config")
    saved = load_config(out)
    if task is not None and task != saved.task:
        raise ResumeRefused(out, [("task", saved.task, task)])
    if model is not None and model != saved.model.name:
        raise ResumeRefused(out, [("model.name", saved.model.name, model)])
    return build_run_config(None, None, set_, fields, base=saved)


def _summary(result, config) -> None:
    if result.already_done and result.step < config.train.steps:
        why, field = (("solved", "stop_when_solved") if config.train.stop_when_solved and result.solved_at
                      else ("consolidated", "stop_when_consolidated"))
        console.print(f"{result.run_dir} stopped once {why}, at step {result.step:,}; nothing to train. "
                      f"Add --set train.{field}=false to train on to step {config.train.steps:,}.",
                      highlight=False, soft_wrap=True)
        return
    if result.already_done:
        console.print(f"{result.run_dir} is already at step {result.step:,}, which --steps {config.train.steps:,} "
                      f"does not pass; nothing to train. Give --steps above {result.step:,} to train further.",
                      highlight=False, soft_wrap=True)
        return
    v = result.validation
    console.print(
        f"done: {result.step} steps, {result.sequences:,} sequences in {result.seconds:.0f} s; "
        f"validation cost {v['cost_bits']:.3f} bits, bit errors {v['bit_errors']:.3f} per sequence",
        highlight=False, soft_wrap=True,
    )
    if result.solved_at:
        s = result.solved_at
        console.print(f"solved after {s['sequences']:,} sequences, {s['seconds']:.0f} s", highlight=False)
    if result.consolidated_at:
        s = result.consolidated_at
        console.print(f"consolidated after {s['sequences']:,} sequences, {s['seconds']:.0f} s", highlight=False)
    elif result.solved_at and config.train.stop_when_consolidated and config.train.solved_by == "check":
        console.print("[yellow]solved but not consolidated within the budget: some sequences of the training "
                      "range still fail; continue with --resume and more --steps[/yellow]", highlight=False)
    if len(result.stages_passed_at) < len(config.curriculum_stages()):
        console.print("[yellow]the curriculum is not passed yet, so the figures above are of a model that has not "
                      "seen the full task; continue with --resume and more --steps[/yellow]", highlight=False)
    if result.skipped_steps:
        console.print(f"[yellow]{result.skipped_steps} steps skipped for non-finite loss or gradients[/yellow]")
    console.print(f"run directory: {result.run_dir}   evaluate with: ntm eval {result.run_dir}", highlight=False,
                  soft_wrap=True)
