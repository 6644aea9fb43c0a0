"""A run's milestones, decided at each validation: the best weights, a
curriculum stage passed, the solve, the consolidation (ntm.training.solve)
and a relapse after the solve.

The loop calls `after_validation` with the running validation's figures and
the solve check's verdict, where one ran (`check_due`), and goes back to
the best weights where `relapsed` says so.
"""

from __future__ import annotations

import math
from pathlib import Path

import torch

from ntm import checkpoint as ckpt
from ntm.metrics import SOLVED_BIT_ERRORS
from ntm.training.distributed import World
from ntm.training.solve import CONSOLIDATING_CHECKS, Verdict
from ntm.training.state import Progress

# A solved run whose validation climbs past this many times the solve's bit
# errors per sequence has relapsed: it goes back to its best weights.
RELAPSE_FACTOR = 10


def check_due(validation: dict, progress: Progress, train_cfg) -> bool:
    """Whether the solve check runs at this validation: where the running
    validation passes (a candidate solve) or, once solved, at every one until
    consolidated. Runs that solve by the mean alone never run it."""
    if train_cfg.solved_by != "check" or progress.consolidated_at is not None:
        return False
    return progress.solved_at is not None or validation["bit_errors"] < SOLVED_BIT_ERRORS


def check_figures(verdict: Verdict) -> dict:
    """The solve check's figures as they go into the curve beside the validation's."""
    return {"check_worst_bit_errors": verdict.worst()[1], "check_least_seq_accuracy": verdict.least_right()}


def after_validation(result, model, progress: Progress, run_dir: Path, emit, world: World,
                     stage: int = 0, final_stage: int = 0, advance_below: float = SOLVED_BIT_ERRORS,
                     verdict: Verdict | None = None, by_mean: bool = False) -> set[str]:
    """Keep the best weights, and note the passing of a curriculum stage
    (the next stage's best then starts afresh), the first solve of the task
    and its consolidation. The news, of "solved" and "consolidated", whose
    events the caller sends once the lr is set. `by_mean`: solved by the
    running validation's mean alone (`train.solved_by="mean"`)."""
    if progress.best_by == "bit_errors":
        score = result["bit_errors"] + 1e-6 * result["cost_bits"]  # bit errors first, cost breaks ties
    else:
        score = result[progress.best_by]
    if verdict is not None:  # checks in a row whose figures count as consolidated
        progress.consolidating_checks = progress.consolidating_checks + 1 if verdict.consolidated else 0
    consolidated = (verdict is not None and progress.consolidated_at is None
                    and progress.consolidating_checks >= CONSOLIDATING_CHECKS)
    if score < progress.best_validation or consolidated:
        # Consolidated weights passed the larger check: they are the best
        # whatever the small set says, and a later better score still replaces them.
        progress.best_validation = min(score, progress.best_validation)
        if world.is_main:
            info = {"step": progress.step, "sequences": progress.sequences, "validation": result}
            ckpt.save_checkpoint(run_dir / ckpt.BEST_FILE, model, info=info)
    in_curriculum = stage < final_stage
    emit("validate", {"step": progress.step, **result, **({"stage": stage} if in_curriculum else {}),
                      **({"check": verdict.summary()} if verdict is not None else {})})
    moment = {"step": progress.step, "sequences": progress.sequences, "seconds": round(progress.seconds, 3)}
    news = set()
    if in_curriculum:
        if result["bit_errors"] < advance_below:
            progress.stages_passed_at.append(moment)
            progress.best_validation = math.inf
            emit("stage_passed", {"stage": stage, "stages": final_stage, **moment})
        return news
    solved = verdict.solved if verdict is not None else by_mean and result["bit_errors"] < SOLVED_BIT_ERRORS
    if solved and progress.solved_at is None:
        progress.solved_at = moment
        news.add("solved")
    if consolidated:
        progress.consolidated_at = moment
        news.add("consolidated")
    return news


def relapsed(validation: dict, progress: Progress, stage: int, final_stage: int, train_cfg) -> bool:
    """Whether a run solved by the check has fallen back; runs solved by the
    mean (trained before the check) keep going as they did."""
    return (train_cfg.solved_by == "check" and stage == final_stage and progress.solved_at is not None
            and progress.consolidated_at is None
            and progress.solved_at["step"] < progress.step and progress.best_by == "bit_errors"
            and validation["bit_errors"] > RELAPSE_FACTOR * SOLVED_BIT_ERRORS)


def back_to_best(run_dir: Path, model, optimizer, progress: Progress, emit) -> None:
    """After a relapse: the best weights, with the optimiser's momentum dropped.

    A solved LSTM-controller NTM now and then falls back to chance within a
    few hundred steps, even at a tenth of the lr (checkpoints/README.md,
    "Default recipes"). The momentum carries the fall on, so it goes; the
    running mean of squared gradients stays, as a fresh one (zero) would
    make the first steps ten times their size. The data stream stays the step's own."""
    ckpt.Checkpoint(run_dir / ckpt.BEST_FILE).load_model(model)
    for state in optimizer.state.values():
        for key in ("momentum_buffer", "exp_avg"):  # RMSProp's, Adam's
            if key in state and torch.is_tensor(state[key]):
                state[key].zero_()
    progress.relapses += 1
    progress.consolidating_checks = 0
    emit("relapse", {"step": progress.step, "sequences": progress.sequences, "relapses": progress.relapses})


def stopped(progress: Progress, train_cfg) -> bool:
    """Whether the run has reached the point its config stops it at before its budget."""
    return ((train_cfg.stop_when_solved and progress.solved_at is not None)
            or (train_cfg.stop_when_consolidated and progress.consolidated_at is not None))
