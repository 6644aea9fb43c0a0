"""What training reports: the learning curve, progress events and TensorBoard.

The loop hands `RunLog` each step's metrics and each validation; `RunLog`
decides which steps become curve points (every `log_every`, every validation
and the last step), writes them to curve.jsonl (the record of the run) and
reports them as events, plus a lightweight "tick" every few seconds so a
progress bar moves between log points.
"""

from __future__ import annotations

import time
from pathlib import Path

from ntm import checkpoint as ckpt

TICK_SECONDS = 2.0  # at most one "tick" event this often: enough for a live ETA, too rare to cost anything


def due(step: int, every: int, last: int) -> bool:
    return step % every == 0 or step == last


class RunLog:
    def __init__(self, run_dir: Path, train_cfg, emit, is_main: bool, board=None):
        self.train_cfg, self.emit, self.board = train_cfg, emit, board
        self.curve = ckpt.CurveWriter(run_dir) if is_main else None
        self.window = _Window()
        self.last_tick = time.perf_counter()

    def add(self, progress, metrics: dict[str, float]) -> None:
        """One step's training metrics (cost_bits, bit_errors, grad_norm...)."""
        self.window.add(metrics)
        now = time.perf_counter()
        if now - self.last_tick >= TICK_SECONDS:
            self.last_tick = now
            self.emit("tick", {"step": progress.step, "sequences": progress.sequences,
                               "seconds": round(progress.seconds, 3)})

    def point(self, progress, validation: dict[str, float] | None, stage: int | None, lr: float) -> None:
        """Write the step's curve point, if it is a log point or was validated."""
        record = None
        if due(progress.step, self.train_cfg.log_every, self.train_cfg.steps):
            record = {"step": progress.step, "sequences": progress.sequences, **self.window.mean(),
                      "seconds": round(progress.seconds, 3), "skipped_steps": progress.skipped_steps}
            self.window = _Window()
        if validation is not None:
            record = record or {"step": progress.step, "sequences": progress.sequences,
                                "seconds": round(progress.seconds, 3)}
            record.update({f"val_{k}": v for k, v in validation.items()})
        if record is None or self.curve is None:
            return
        if stage is not None:
            record["stage"] = stage  # a point of an easier curriculum stage (0 the first)
        self.curve.write(record)
        self.emit("log", record)
        if self.board is not None:
            self.board.point(record, lr)

    def close(self) -> None:
        if self.curve is not None:
            self.curve.close()
        if self.board is not None:
            self.board.close()


class _Window:
    """Running mean of the training metrics between two log points."""

    def __init__(self):
        self.sums: dict[str, float] = {}
        self.count = 0

    def add(self, values: dict[str, float]) -> None:
        for key, value in values.items():
            self.sums[key] = self.sums.get(key, 0.0) + value
        self.count += 1

    def mean(self) -> dict[str, float]:
        return {key: value / max(self.count, 1) for key, value in self.sums.items()}
