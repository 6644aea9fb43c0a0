"""`ntm viz` for any model that returns its attention: named weightings over time.

A model from outside the package (docs/models.md) shows what it attends to by
returning `(logits, {name: weighting})` when called with `trace=True`, each
weighting [B, T, ..., K]: at every step, a distribution over K positions
(memory locations, past steps). Each is drawn as the NTM's weightings are,
time across, positions down, on the fixed 0–1 scale, with the delimiter marked.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import torch
from matplotlib.cm import ScalarMappable
from matplotlib.colors import Normalize
from matplotlib.figure import Figure

from ntm.report.attention import DATA_CMAP, DELIMITER_COLOUR, WEIGHT_CMAP, Episode, _cmap


@dataclasses.dataclass
class Weightings:
    """One sequence through a model, with its named weightings. Time first."""

    episode: Episode  # the task's side: inputs, targets, outputs, mask (no NTM arrays)
    weightings: dict[str, np.ndarray]  # panel title -> [T, K]

    task = property(lambda self: self.episode.task)
    model = property(lambda self: self.episode.model)
    size = property(lambda self: self.episode.size)
    steps = property(lambda self: self.episode.steps)

    @classmethod
    def of(cls, episode: Episode, traces: dict) -> "Weightings":
        """The first sample's weightings; one [B, T, H, K] trace gives H panels."""
        panels = {}
        for name, weighting in traces.items():
            first = torch.as_tensor(weighting)[0].float().cpu().numpy()  # [T, ..., K]
            if first.ndim < 2 or first.shape[0] != episode.steps:
                raise ValueError(f"trace {name!r} has shape {tuple(weighting.shape)}; expected [B, T, ..., K] "
                                 f"with T = {episode.steps} steps (docs/models.md)")
            rows = first.reshape(first.shape[0], -1, first.shape[-1])  # [T, heads, K]
            for head in range(rows.shape[1]):
                panels[name if rows.shape[1] == 1 else f"{name} · {head + 1}"] = rows[:, head]
        if not panels:
            raise ValueError("the model returned no weightings to draw")
        return cls(episode, panels)


def weightings_figure(traced: Weightings) -> Figure:
    """Inputs, targets and outputs across the top, then one panel per weighting."""
    e, T = traced.episode, traced.episode.steps
    scored = np.where(e.mask[:, None], 1.0, np.nan)
    panels = [("inputs", e.inputs, DATA_CMAP, "channel"), ("targets", e.targets * scored, DATA_CMAP, "channel"),
              ("outputs σ(logits)", e.outputs * scored, DATA_CMAP, "channel")]
    panels += [(name, values, WEIGHT_CMAP, "position" if values.shape[1] != T else "key step")
               for name, values in traced.weightings.items()]
    heights = [max(values.shape[1], 3) for _, values, _, _ in panels]
    fig = Figure(figsize=(float(np.clip(2 + 0.12 * T, 8, 24)), 1.6 + 0.9 * len(panels) + 0.04 * sum(heights)),
                 layout="constrained")
    grid = fig.add_gridspec(len(panels) + 1, 1, height_ratios=[*heights, max(sum(heights) * 0.04, 1.5)])
    first = None
    for i, (title, values, cmap, ylabel) in enumerate(panels):
        ax = fig.add_subplot(grid[i], sharex=first)
        first = first or ax
        ax.imshow(values.T, cmap=_cmap(cmap), norm=Normalize(0, 1), aspect="auto", interpolation="nearest",
                  extent=(-0.5, T - 0.5, values.shape[1] - 0.5, -0.5))
        ax.set_title(title, loc="left", fontsize=9, pad=3)
        ax.set_ylabel(ylabel, fontsize=8)
        ax.tick_params(labelsize=7, labelbottom=i == len(panels) - 1)
        for t in e.phase_steps():
            ax.axvline(t, color=DELIMITER_COLOUR, linestyle="--", linewidth=1.1)
            if ylabel == "key step":  # weights over past steps: the delimiter's key too
                ax.axhline(t, color=DELIMITER_COLOUR, linestyle="--", linewidth=1.1)
    first.xaxis.get_major_locator().set_params(integer=True)
    ax.set_xlabel("time step", fontsize=9)
    bar = fig.colorbar(ScalarMappable(Normalize(0, 1), _cmap(WEIGHT_CMAP)), cax=fig.add_subplot(grid[-1]),
                       orientation="horizontal")
    bar.set_label("weighting (fixed 0–1 scale); dashed line: delimiter", fontsize=8)
    size = " · ".join(f"{k} {v}" for k, v in e.size.items())
    fig.suptitle(f"{e.task} · {e.model} · {size}\n{e.source}", fontsize=10)
    return fig
