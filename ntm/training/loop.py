"""Training: the loop, read top to bottom in `_train_locked`.

`train(config, run_dir)` is the whole of `ntm train`; the CLI only builds the
config and draws the progress from the events this function reports. Beside
the loop: the optimiser step and the validation decisions (here), the task and
its curriculum stages (`curriculum`), what a resume may change (`resume`), the
counters a checkpoint carries (`state`), and the curve, progress events and
TensorBoard (`runlog`, `tensorboard`); the run directory's files belong to
`ntm.checkpoint`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import os
import signal
import threading
import time
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from ntm import checkpoint as ckpt
from ntm.config import RunConfig
from ntm.devices import check_device
from ntm.evaluation import evaluate_batches
from ntm.metrics import summarise, training_loss
from ntm.model.registry import build_model, count_parameters, use_path
from ntm.training.distributed import World
from ntm.training.resume import resume_changes
from ntm.training.runlock import RunLock
from ntm.training.runlog import RunLog, due
from ntm.training import milestones
from ntm.training.memory_sizes import draw_training_memory_size, validation_memory_size
from ntm.training.solve import SolveCheck
from ntm.training.state import Progress, restore, rollback, save
from ntm.training.tensorboard import TensorBoard
from ntm.training.curriculum import Curriculum

# After this many non-finite steps in a row the run goes back to its last checkpoint.
MAX_BAD_STEPS_IN_A_ROW = 10


class TrainingInterrupted(Exception):
    """Ctrl-C: a checkpoint was saved; the message says how to resume."""

    @classmethod
    def saved_at(cls, step: int, run_dir: Path) -> "TrainingInterrupted":
        return cls(f"interrupted at step {step}; checkpoint saved. Resume with: ntm train --resume --out {run_dir}")


@dataclasses.dataclass
class TrainResult:
    run_dir: Path
    step: int
    sequences: int
    seconds: float
    validation: dict[str, float]  # cost_bits, bit_errors, seq_accuracy on the fixed set
    solved_at: dict | None  # step, sequences, seconds when the solve check first passed (ntm.training.solve)
    skipped_steps: int
    stages_passed_at: list = dataclasses.field(default_factory=list)  # when each curriculum stage was passed
    already_done: bool = False  # resumed at or past its steps: nothing trained or written (validation is of its last weights)
    consolidated_at: dict | None = None  # when the solve check first counted it consolidated


def build_optimizer(config: RunConfig, model: torch.nn.Module) -> torch.optim.Optimizer:
    name, lr = config.train.optimizer, config.train.lr
    if name == "adam":
        # One fused kernel for every parameter: a few times faster than the
        # per-tensor update at batch 1 (BENCHMARKS.md). Same algorithm, float noise apart.
        try:
            return torch.optim.Adam(model.parameters(), lr=lr, fused=True)
        except (RuntimeError, ValueError):  # a device or dtype the fused kernel does not support
            return torch.optim.Adam(model.parameters(), lr=lr)
    if name == "rmsprop":
        return torch.optim.RMSprop(model.parameters(), lr=lr, momentum=0.9)
    raise ValueError(f"unknown optimizer {name!r}; choose adam or rmsprop")


def draw_training_batch(task, train_cfg, rng: np.random.Generator):
    """Sizes drawn per sequence (padded), or one size for the whole batch."""
    if train_cfg.same_size_batches:
        size = {name: int(values[0]) for name, values in task.draw_sizes(rng, 1).items()}
        return task.sample(train_cfg.batch_size, rng, **size)
    return task.sample(train_cfg.batch_size, rng)


def validate(model, batches, memory_size=None) -> dict[str, float]:
    return evaluate_batches(model, batches, memory_size=memory_size)


def train(
    config: RunConfig,
    run_dir: Path | str,
    resume: bool = False,
    on_event: Callable[[str, dict], None] | None = None,
    tensorboard: bool = False,
    attention_figure: Callable | None = None,
) -> TrainResult:
    """Train (or resume) the run in `run_dir`. `on_event(kind, data)` receives
    "start" (what trains, where, and from which step), "compiling" (while the
    compiled path compiles), "tick" (every few seconds: step, sequences, seconds),
    "log" (each curve point), "validate", "stage_passed" (as each curriculum
    stage ends), "solved" (once, at the first solving validation of the full
    task, with the lr from then on), "checkpoint" and "rollback" events.
    `tensorboard` mirrors the curve into RUN/tensorboard/ (needs the
    tensorboard package), with `attention_figure(loaded_model)` drawn at each
    validation where given (`ntm.report.attention.attention_of`).

    A resume may change only what does not change what the run learns
    (`ntm.training.resume`), and changes nothing in `run_dir` until its
    checkpoint has loaded into the configured model. Resuming a run already
    at `config.train.steps` returns at once with `already_done`.

    Under torchrun every rank calls this; rank 0 alone locks the directory,
    writes files and reports events.
    """
    config.validate()
    run_dir = Path(run_dir)
    device = torch.device(check_device(config.train.device))  # before the run directory is made
    world = World.from_environment(device)
    try:
        return _train_in(config, run_dir, resume, on_event, tensorboard, attention_figure, world, device)
    finally:
        world.close()


def _train_in(config: RunConfig, run_dir: Path, resume: bool, on_event, tensorboard: bool, attention_figure,
              world: World, device) -> TrainResult:
    if world.size > 1:
        device = world.device  # under torchrun each rank takes the GPU of its LOCAL_RANK
    if not world.is_main:
        return _train_locked(config, run_dir, resume, lambda kind, data: None, world, device, None, _StopRequests())
    board = TensorBoard(run_dir, attention_figure) if tensorboard else None  # before anything is written: refused if not installed
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
        if not os.access(run_dir, os.W_OK):
            raise PermissionError(13, "not writable")
    except OSError as error:
        raise ckpt.CheckpointError(f"cannot write the run directory {run_dir} ({error.strerror}); choose another --out") from None
    with RunLock(run_dir), _StopRequests().installed() as stop:
        result = _train_locked(config, run_dir, resume, on_event or (lambda kind, data: None), world, device, board,
                               stop)
        if stop.requested:  # after the last step, during the final checkpoint or validation: stop as any Ctrl-C does
            raise TrainingInterrupted.saved_at(result.step, run_dir)
        return result


class _ForcedInterrupt(KeyboardInterrupt):
    """A second Ctrl-C or SIGTERM: stop at once, mid-step, without saving."""


class _StopRequests:
    """Ctrl-C and SIGTERM (what schedulers and `kill` send) ask the loop to
    stop at the next step boundary, where the weights, optimiser and counters
    agree, so the checkpoint saved there resumes bit-identical. Stopping
    mid-step could save an update counted but not applied. A second signal
    stops at once and keeps the last checkpoint."""

    def __init__(self):
        self.requested = False

    @contextlib.contextmanager
    def installed(self):
        if threading.current_thread() is not threading.main_thread():
            yield self  # signals reach only the main thread; a KeyboardInterrupt there is raised as it comes
            return

        def ask_to_stop(signum, frame):
            if self.requested:
                raise _ForcedInterrupt
            self.requested = True

        previous = {number: signal.signal(number, ask_to_stop) for number in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield self
        finally:
            for number, handler in previous.items():
                signal.signal(number, handler)


def _train_locked(config: RunConfig, run_dir: Path, resume: bool, emit, world: World, device, board,
                  stop: _StopRequests) -> TrainResult:
    train_cfg, last_path = config.train, run_dir / ckpt.LAST_FILE
    if train_cfg.threads > 0:
        torch.set_num_threads(train_cfg.threads)
    changes = _check_run_directory(config, run_dir, resume, world)
    curriculum = Curriculum(config, device)
    check = SolveCheck(curriculum.task, train_cfg, device)
    memory = validation_memory_size(train_cfg)
    model, optimizer, path = _model_and_optimizer(config, curriculum.task, device)
    progress, resumed = Progress(best_by=curriculum.task.best_by), resume and last_path.exists()
    if resumed:
        progress = _resume_progress(last_path, model, optimizer, device, curriculum.task, train_cfg)
        if progress.step >= train_cfg.steps or milestones.stopped(progress, train_cfg):  # nothing to train
            final_validation = validate(model, curriculum.validation_set(curriculum.final_stage), memory)
            return _result(run_dir, progress, final_validation, already_done=True)
    if world.is_main:
        ckpt.prepare_run(run_dir, config, progress.step if resumed else None, changes if resumed else {})
    emit("start", _start_report(config, run_dir, model, progress, world, path, resume and not resumed,
                                curriculum.task))

    def save_last():
        if world.is_main:
            save(last_path, model, optimizer, progress)
            emit("checkpoint", {"step": progress.step})

    log = RunLog(run_dir, train_cfg, emit, world.is_main, board)
    bad_in_a_row, started = 0, time.perf_counter() - progress.seconds
    if path == "compiled":
        emit("compiling", {})
    try:
        while progress.step < train_cfg.steps:
            if not world.all_agree(not stop.requested):  # every rank stops at the same step
                raise KeyboardInterrupt
            stage = curriculum.stage(progress)
            # Each step's data comes from its own seed, so a resumed run draws
            # exactly what the interrupted one would have, on every rank.
            rng = np.random.default_rng([train_cfg.seed, world.rank, progress.rollbacks, progress.step])
            batch = draw_training_batch(curriculum.training_task(stage), train_cfg, rng).to(device)
            batch_memory = draw_training_memory_size(config, rng)
            metrics = _optimiser_step(model, optimizer, batch, batch_memory, train_cfg, progress, world)
            if metrics is None:  # skipped: non-finite loss or gradients
                bad_in_a_row += 1
                if bad_in_a_row >= MAX_BAD_STEPS_IN_A_ROW and last_path.exists():
                    progress, bad_in_a_row = rollback(last_path, model, optimizer, device, progress, emit), 0
                continue
            bad_in_a_row = 0
            progress.seconds = time.perf_counter() - started
            log.add(progress, metrics)
            _set_learning_rate(optimizer, train_cfg, progress)
            validation = None
            if due(progress.step, train_cfg.validate_every, train_cfg.steps):
                validation = _validate(model, optimizer, curriculum, check, stage, progress, config, memory,
                                       run_dir, emit, world, board)
            log.point(progress, validation, stage if stage < curriculum.final_stage else None,
                      optimizer.param_groups[0]["lr"])
            if progress.step % train_cfg.checkpoint_every == 0:
                save_last()
            if milestones.stopped(progress, train_cfg):
                break
    except _ForcedInterrupt:
        raise TrainingInterrupted(
            f"stopped mid-step at step {progress.step}; the last checkpoint stands. "
            f"Resume with: ntm train --resume --out {run_dir}") from None
    except KeyboardInterrupt:
        save_last()
        raise TrainingInterrupted.saved_at(progress.step, run_dir) from None
    finally:
        log.close()
    progress.seconds = time.perf_counter() - started
    save_last()
    return _result(run_dir, progress, validate(model, curriculum.validation_set(curriculum.final_stage), memory))


def _validate(model, optimizer, curriculum: Curriculum, check: SolveCheck, stage: int, progress: Progress,
              config: RunConfig, memory: int | None, run_dir: Path, emit, world: World, board) -> dict:
    """The running validation, the solve check where due, and what they decide (ntm.training.milestones).

    Every rank validates the same weights on the same set, so all reach the
    same decisions (e.g. stop when solved) without talking."""
    train_cfg = config.train
    validation = validate(model, curriculum.validation_set(stage), memory)
    verdict = None
    if stage == curriculum.final_stage and milestones.check_due(validation, progress, train_cfg):
        verdict = check(model, None, milestones.SOLVED_BIT_ERRORS)  # at the model's own memory, as evaluated
        validation = {**validation, **milestones.check_figures(verdict)}
    news = milestones.after_validation(validation, model, progress, run_dir, emit, world, stage,
                                       curriculum.final_stage, train_cfg.advance_below, verdict,
                                       by_mean=train_cfg.solved_by == "mean")
    _set_learning_rate(optimizer, train_cfg, progress)  # a solve here drops the lr from the next step
    if "solved" in news:
        emit("solved", {**progress.solved_at, "lr": optimizer.param_groups[0]["lr"]})
    if "consolidated" in news:
        emit("consolidated", dict(progress.consolidated_at))
    if board is not None:
        board.attention(model, config, curriculum.task, progress)
    if milestones.relapsed(validation, progress, stage, curriculum.final_stage, train_cfg):
        milestones.back_to_best(run_dir, model, optimizer, progress, emit)
    return validation


def _model_and_optimizer(config: RunConfig, task, device):
    """The freshly seeded model (or `init_from`'s weights) on its execution
    path, its optimiser, and the path in use."""
    torch.manual_seed(config.train.seed)
    model = build_model(config.model, task.input_width, task.output_width)
    if config.train.init_from:
        _, weights = ckpt.resolve_weights(Path(config.train.init_from))
        ckpt.Checkpoint(weights).load_model(model)
    model = model.to(device)
    # Validation runs the same path, except "compiled", which compiles only
    # the training step: a second compilation would cost more than it saves.
    path = use_path(model, config.train.path, inference=False)
    return model, build_optimizer(config, model), path


def _check_run_directory(config: RunConfig, run_dir: Path, resume: bool, world: World) -> dict[str, list]:
    """Refuse a new run over an old one, and a resume that changes what the
    run learns; the changes a resume may make. Writes nothing."""
    refusal, changes = None, {}
    if world.is_main:
        if not resume and ckpt.holds_run(run_dir):
            refusal = ckpt.CheckpointError(
                f"{run_dir} already holds a run; continue it with --resume or choose another --out")
        elif resume and (run_dir / ckpt.CONFIG_FILE).exists():
            try:
                changes = resume_changes(run_dir, ckpt.load_config(run_dir), config)
            except ckpt.CheckpointError as error:
                refusal = error
    # Every rank waits here for rank 0's verdict, and all stop if it refused.
    if not world.all_agree(refusal is None):
        raise refusal or ckpt.CheckpointError(f"rank 0 refused the run directory {run_dir}; see its message")
    return changes


def _resume_progress(last_path: Path, model, optimizer, device, task, train_cfg) -> Progress:
    """Load the checkpoint into the model and optimiser; its counters."""
    progress = restore(last_path, model, optimizer, device)
    if progress.best_by != task.best_by:
        # Saved when the task kept its best by another figure: the old
        # best score is on another scale, so the best starts afresh.
        progress.best_by, progress.best_validation = task.best_by, math.inf
    _set_learning_rate(optimizer, train_cfg, progress)
    return progress


def _start_report(config: RunConfig, run_dir: Path, model, progress, world: World, path: str,
                  no_checkpoint: bool, task) -> dict:
    """What the "start" event says: what trains, how, where, and from which step."""
    return {"task": config.task, "model": config.model.name, "parameters": count_parameters(model),
            "run_dir": str(run_dir), "step": progress.step, "sequences": progress.sequences,
            "seconds": round(progress.seconds, 3), "steps": config.train.steps,
            "batch_size": config.train.batch_size * world.size, "threads": torch.get_num_threads(),
            "device": str(next(model.parameters()).device), "path": path,
            "no_checkpoint": no_checkpoint, "init_from": config.train.init_from,
            "memory_size": config.train.memory_size,
            "validation_memory_size": validation_memory_size(config.train) or config.model.memory_size,
            "stop_when_solved": config.train.stop_when_solved,
            "stop_when_consolidated": config.train.stop_when_consolidated, "solved_by": config.train.solved_by,
            "maximum": task.size_label(task.largest_trained_size()),
            "training_range": "{} {}-{}".format(task.size_names[0], *task.training_range()[task.size_names[0]]),
            "solved": progress.solved_at is not None, "consolidated": progress.consolidated_at is not None,
            "memory_size_range": ([config.training_memory_floor, config.train.memory_size_max]
                                  if config.train.memory_size_max else None)}


def _optimiser_step(model, optimizer, batch, memory_size: int | None, train_cfg, progress: Progress,
                    world: World) -> dict | None:
    """One step: loss, backward, clipping and the update. Returns the step's
    metrics, or None when the loss or gradients were not finite: then the
    update is skipped, so NaN never reaches the weights, and counted."""
    model.train()
    logits = model(batch.inputs, lengths=batch.lengths, memory_size=memory_size)
    loss = training_loss(logits, batch.targets, batch.mask)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    world.average_gradients(model.parameters())
    if train_cfg.clip_grad_value > 0:
        torch.nn.utils.clip_grad_value_(model.parameters(), train_cfg.clip_grad_value)
    threshold = _clip_threshold(train_cfg, progress)
    grad_norm = torch.nn.utils.clip_grad_norm_(model.parameters(), threshold)
    progress.step += 1
    progress.sequences += batch.batch_size * world.size
    if not world.all_agree(bool(torch.isfinite(loss) and torch.isfinite(grad_norm))):
        progress.skipped_steps += 1
        return None
    norm = grad_norm.item()
    if train_cfg.spike_clip > 0:
        _track_grad_norm(progress, min(norm, threshold))
    optimizer.step()
    return {**summarise(logits.detach(), batch.targets, batch.mask), "grad_norm": norm}


def _result(run_dir: Path, progress: Progress, validation: dict, already_done: bool = False) -> TrainResult:
    return TrainResult(run_dir, progress.step, progress.sequences, progress.seconds, validation,
                       progress.solved_at, progress.skipped_steps, list(progress.stages_passed_at), already_done,
                       progress.consolidated_at)


SPIKE_WARMUP_STEPS = 100  # steps before spike_clip starts, while the running mean settles
SPIKE_MEAN_DECAY = 0.99  # the running mean covers roughly the last hundred steps


def _clip_threshold(train_cfg, progress: Progress) -> float:
    """The global-norm bound of this step: the fixed one, tightened by
    spike_clip times the running mean of recent norms once that is known.

    NTM training shows rare gradients ten to a hundred times their usual
    size; under Adam one of them moves the weights about thirty normal steps
    in one direction, which can undo a solved task. Bounding them relative to
    the recent scale keeps ordinary steps untouched."""
    bound = train_cfg.clip_grad_norm
    if train_cfg.spike_clip > 0 and progress.grad_norm_mean is not None and progress.step >= SPIKE_WARMUP_STEPS:
        bound = min(bound, train_cfg.spike_clip * progress.grad_norm_mean)
    return bound


def _track_grad_norm(progress: Progress, clipped_norm: float) -> None:
    if progress.grad_norm_mean is None:
        progress.grad_norm_mean = clipped_norm
    else:
        progress.grad_norm_mean = SPIKE_MEAN_DECAY * progress.grad_norm_mean + (1 - SPIKE_MEAN_DECAY) * clipped_norm


def learning_rate(train_cfg, progress: Progress) -> float:
    """The configured lr, times lr_after_solve once the task is solved, and
    with lr_decay="cosine" falling from there to 0 at the last step.

    A solved NTM gets gradients near zero, which Adam rescales to full-size
    steps; at the training lr those noisy steps walk the weights off the
    solution now and then, and a small fraction of it keeps the model solved
    (BENCHMARKS.md, time to solve).

    "cosine_from_start" decays the configured lr from step 0, whatever the
    solve: for tasks that have none (dynamic N-grams, whose cost only nears
    the optimum) and for fine-tuning from trained weights (`init_from`)."""
    if train_cfg.lr_decay == "cosine_from_start":
        return train_cfg.lr * _half_cosine(progress.step, 0, train_cfg.steps)
    if progress.solved_at is None:
        return train_cfg.lr
    lr = train_cfg.lr * train_cfg.lr_after_solve
    if train_cfg.lr_decay == "cosine":
        lr *= _half_cosine(progress.step, progress.solved_at["step"], train_cfg.steps)
    return lr


def _half_cosine(step: int, start: int, end: int) -> float:
    """1 at `start`, falling along a half cosine to 0 at `end` (and staying there)."""
    done = min(max(step - start, 0) / max(end - start, 1), 1.0)
    return 0.5 * (1.0 + math.cos(math.pi * done))


def _set_learning_rate(optimizer, train_cfg, progress: Progress) -> None:
    lr = learning_rate(train_cfg, progress)
    for group in optimizer.param_groups:
        group["lr"] = lr


