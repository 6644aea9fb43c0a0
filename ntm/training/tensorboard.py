"""TensorBoard logging beside the learning curve (`ntm train --tensorboard`).

curve.jsonl stays the record of a run; this mirrors its points into
RUN/tensorboard/ for those who watch runs there: training and validation cost
and bit errors, gradient norm and learning rate at each curve point, and for
a model with a memory a figure of its attention at each validation, drawn by
the function the caller passes (`ntm train --tensorboard` passes `ntm viz`'s).
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np

TENSORBOARD_DIR = "tensorboard"
MISSING = "--tensorboard needs the tensorboard package: pip install tensorboard (what the ntm extra of that name installs)"


class TensorBoard:
    """Writes RUN/tensorboard/ from the first point on, so a refused run leaves no trace."""

    def __init__(self, run_dir: Path, attention_figure: Callable | None = None):
        """`attention_figure(loaded_model)`, if given, returns a matplotlib Figure."""
        self.attention_figure = attention_figure
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:
            raise ImportError(MISSING) from None
        self.run_dir, self._writer_class, self._writer = Path(run_dir), SummaryWriter, None

    @property
    def writer(self):
        if self._writer is None:
            self._writer = self._writer_class(log_dir=str(self.run_dir / TENSORBOARD_DIR))
        return self._writer

    def point(self, record: dict, lr: float) -> None:
        step = record["step"]
        for key, value in record.items():
            if key.startswith("val_"):
                self.writer.add_scalar(f"validation/{key[4:]}", value, step)
            elif key in ("cost_bits", "bit_errors", "grad_norm"):
                self.writer.add_scalar(f"train/{key}", value, step)
        self.writer.add_scalar("train/lr", lr, step)
        self.writer.flush()

    def attention(self, model, config, task, progress) -> None:
        """The figure of `attention_figure` for the model now (models with a memory only)."""
        from matplotlib.backends.backend_agg import FigureCanvasAgg

        from ntm.evaluation import LoadedModel

        if self.attention_figure is None or not config.model.has_memory:
            return
        loaded = LoadedModel(model=model, config=config, task=task, checkpoint=self.run_dir,
                             info={"step": progress.step, "sequences": progress.sequences})
        figure = self.attention_figure(loaded)
        canvas = FigureCanvasAgg(figure)
        canvas.draw()
        image = np.asarray(canvas.buffer_rgba())[..., :3]  # [H, W, 3]
        self.writer.add_image("attention", image, progress.step, dataformats="HWC")
        self.writer.flush()

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
