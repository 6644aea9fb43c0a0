"""`ntm viz` for any model that returns its attention: named weightings over time.

A model from outside the package (docs/models.md) shows what it attends to by
returning `(logits, {name: weighting})` when called with `trace=True`, each
weighting [B, T, ..., K]: at every step, a distribution over K positions
(memory locations, past steps). Each is drawn as the NTM's weightings are,
time across, positions down, on the fixed 0–1 scale, with the delimiter marked.
A name that ends in K names in brackets names the rows:
`read modes (backward, content, forward)` with K = 3.

Two names are matrices at every step, not rows over time (the DNC traces both):
`memory` [B, T, N, W], the contents after each step's write, which the
animation draws, and `link matrix` [B, T, N, N], the DNC's temporal links L_t,
drawn at one step. With either, the panels over K = N positions are memory
locations, cropped to the ones in use as the NTM's are.
"""

from __future__ import annotations

import dataclasses
import re

import numpy as np
import torch
from matplotlib.cm import ScalarMappable
from matplotlib.colors import Normalize
from matplotlib.figure import Figure

from ntm.report.attention import (DATA_CMAP, DELIMITER_COLOUR, WEIGHT_CMAP, Episode, _cmap, _mark_hidden_rows,
                                  _row_ticks, describe_crop, no_link_matrix, used_locations)

MEMORY, LINK = "memory", "link matrix"  # trace names of matrices, drawn whole at a step
LINK_STEP_COLOUR = "white"  # the frame round the step whose link matrix is drawn
_NAMED_ROWS = re.compile(r"^(?P<title>.*\S)\s*\((?P<rows>[^()]+)\)$")  # `read modes (backward, content, forward)`


@dataclasses.dataclass
class Weightings:
    """One sequence through a model, with its named weightings. Time first."""

    episode: Episode  # the task's side: inputs, targets, outputs, mask (no NTM arrays)
    weightings: dict[str, np.ndarray]  # panel title -> [T, K]
    row_names: dict[str, tuple[str, ...]] = dataclasses.field(default_factory=dict)  # panel title -> its K rows'
    memory: np.ndarray | None = None  # [T, N, W] after each step's write
    link: np.ndarray | None = None  # L_t [T, N, N]: L_t[i, j], how far location i was written right after j

    task = property(lambda self: self.episode.task)
    model = property(lambda self: self.episode.model)
    size = property(lambda self: self.episode.size)
    steps = property(lambda self: self.episode.steps)

    @classmethod
    def of(cls, episode: Episode, traces: dict) -> "Weightings":
        """The first sample's weightings; one [B, T, H, K] trace gives H panels."""
        first = {}
        for name, weighting in traces.items():
            values = torch.as_tensor(weighting)[0].float().cpu().numpy()  # [T, ..., K]
            if values.ndim < 2 or values.shape[0] != episode.steps:
                raise ValueError(f"trace {name!r} has shape {tuple(weighting.shape)}; expected [B, T, ..., K] "
                                 f"with T = {episode.steps} steps (docs/models.md)")
            first[name] = values
        memory, link = first.pop(MEMORY, None), first.pop(LINK, None)
        _check_matrices(memory, link)
        panels, row_names = {}, {}
        for name, values in first.items():
            rows = values.reshape(values.shape[0], -1, values.shape[-1])  # [T, heads, K]
            title, names = _title_and_row_names(name, rows.shape[-1])
            for head in range(rows.shape[1]):
                panel = title if rows.shape[1] == 1 else f"{title} · head {head + 1}"
                panels[panel] = rows[:, head]
                if names:
                    row_names[panel] = names
        if not panels:
            raise ValueError("the model returned no weightings to draw")
        return cls(episode, panels, row_names, memory, link)

    @property
    def locations(self) -> int | None:
        """N, where the model traced a memory or link matrix; None otherwise."""
        matrix = self.memory if self.memory is not None else self.link
        return None if matrix is None else matrix.shape[1]

    def is_location_panel(self, title: str) -> bool:
        """Whether the panel `title` is a weighting over the memory's locations."""
        return title in self.weightings and self.weightings[title].shape[1] == self.locations

    def shown_locations(self, crop: bool = True) -> np.ndarray | None:
        """The memory rows the pictures show: those the location panels used (all with crop=False)."""
        if self.locations is None:
            return None
        panels = [values for title, values in self.weightings.items() if self.is_location_panel(title)]
        return used_locations(np.stack(panels, axis=1)) if crop and panels else np.arange(self.locations)

    def link_step(self, step: int | None = None) -> int | None:
        """The step whose link matrix is drawn: `step`, or by default the last
        before the first scored output (copy's delimiter), when every input
        has been written and the links hold the order the reads will follow."""
        T = self.steps
        if self.link is None:
            if step is not None:
                raise no_link_matrix(self.model, step)
            return None
        if step is None:
            scored = np.flatnonzero(self.episode.mask)
            return int(scored[0]) - 1 if len(scored) and scored[0] > 0 else T - 1
        if not 0 <= step < T:
            raise ValueError(f"there is no step {step} to draw the link matrix at: the sequence drawn has steps "
                             f"0–{T - 1}")
        return step


def _check_matrices(memory: np.ndarray | None, link: np.ndarray | None) -> None:
    if memory is not None and memory.ndim != 3:
        raise ValueError(f"trace {MEMORY!r} must be [B, T, N, W]; got [B, {', '.join(map(str, memory.shape))}]")
    if link is not None and (link.ndim != 3 or link.shape[1] != link.shape[2]):
        raise ValueError(f"trace {LINK!r} must be [B, T, N, N]; got [B, {', '.join(map(str, link.shape))}]")
    if memory is not None and link is not None and memory.shape[1] != link.shape[1]:
        raise ValueError(f"traces {MEMORY!r} and {LINK!r} disagree on N: {memory.shape[1]} and {link.shape[1]}")


def _title_and_row_names(name: str, k: int) -> tuple[str, tuple[str, ...] | None]:
    """`read modes (backward, content, forward)` with k = 3 -> the title and the three rows' names."""
    match = _NAMED_ROWS.match(name)
    names = tuple(part.strip() for part in match["rows"].split(",")) if match else ()
    return (match["title"], names) if len(names) == k else (name, None)


def weightings_figure(traced: Weightings, crop: bool = True, link_step: int | None = None) -> Figure:
    """Inputs, targets and outputs across the top, then one panel per weighting,
    and where the model traced one, its link matrix at `link_step`."""
    e, T = traced.episode, traced.episode.steps
    rows, n = traced.shown_locations(crop), traced.locations
    step = traced.link_step(link_step)
    panels = _panels(traced, rows)
    # Named rows get two units each, so their names fit; others one, up to 48 so a whole memory never swamps the rest.
    heights = [float(np.clip(values.shape[1] * (2 if title in traced.row_names else 1), 4, 48))
               for title, values, _, _ in panels]
    links = [] if step is None else [50]  # about 3 inches: a square the eye can follow a chain across
    inches = 1.6 + 0.9 * (len(panels) + len(links)) + 0.04 * (sum(heights) + sum(links))
    fig = Figure(figsize=(float(np.clip(2 + 0.12 * T, 8, 24)), inches), layout="constrained")
    ratios = [*heights, *links, max(sum(heights) * 0.04, 1.5)]
    grid = fig.add_gridspec(len(ratios), 1, height_ratios=ratios)
    first, cropped = None, False
    for i, (title, values, cmap, ylabel) in enumerate(panels):
        ax = fig.add_subplot(grid[i], sharex=first)
        first = first or ax
        ax.imshow(values.T, cmap=_cmap(cmap), norm=Normalize(0, 1), aspect="auto", interpolation="nearest",
                  extent=(-0.5, T - 0.5, values.shape[1] - 0.5, -0.5))
        ax.set_title(title, loc="left", fontsize=9, pad=3)
        ax.set_ylabel(ylabel, fontsize=8)
        ax.tick_params(labelsize=7, labelbottom=i == len(panels) - 1)
        if title in traced.row_names:
            ax.set_yticks(range(values.shape[1]), traced.row_names[title])
        else:  # memory rows by their true location numbers
            _row_ticks(ax, rows if ylabel == "location" else np.arange(values.shape[1]))
        for t in e.phase_steps():
            ax.axvline(t, color=DELIMITER_COLOUR, linestyle="--", linewidth=1.1)
            if ylabel == "key step":  # weights over past steps: the delimiter's key too
                ax.axhline(t, color=DELIMITER_COLOUR, linestyle="--", linewidth=1.1)
        if ylabel == "location":
            _mark_hidden_rows(ax, rows, n)
            if not cropped:
                ax.set_title(describe_crop(rows, n) + " shown", loc="right", fontsize=8, color="0.35", pad=3)
                cropped = True
            if step is not None:  # the step the link matrix below is drawn at
                ax.axvspan(step - 0.5, step + 0.5, fill=False, edgecolor=LINK_STEP_COLOUR, linewidth=1.6)
    first.xaxis.get_major_locator().set_params(integer=True)
    ax.set_xlabel("time step", fontsize=9)
    if step is not None:
        _link_panel(fig, grid[-2], traced, rows, step)
    bar = fig.colorbar(ScalarMappable(Normalize(0, 1), _cmap(WEIGHT_CMAP)), cax=fig.add_subplot(grid[-1]),
                       orientation="horizontal")
    frame = f"; {LINK_STEP_COLOUR} frame: the link matrix's step" if step is not None else ""
    bar.set_label(f"weighting (fixed 0–1 scale); dashed line: delimiter{frame}", fontsize=8)
    size = " · ".join(f"{k} {v}" for k, v in e.size.items())
    fig.suptitle(f"{e.task} · {e.model} · {size}\n{e.source}", fontsize=10)
    return fig


def _panels(traced: Weightings, rows: np.ndarray | None) -> list[tuple[str, np.ndarray, str, str]]:
    """(title, [T, rows shown], colour map, y label) for each panel, top to bottom."""
    e, T = traced.episode, traced.episode.steps
    scored = np.where(e.mask[:, None], 1.0, np.nan)
    panels = [("inputs", e.inputs, DATA_CMAP, "channel"), ("targets", e.targets * scored, DATA_CMAP, "channel"),
              ("outputs σ(logits)", e.outputs * scored, DATA_CMAP, "channel")]
    for title, values in traced.weightings.items():
        if traced.is_location_panel(title):
            panels.append((title, values[:, rows], WEIGHT_CMAP, "location"))
        elif title in traced.row_names:
            panels.append((title, values, WEIGHT_CMAP, ""))
        else:
            panels.append((title, values, WEIGHT_CMAP, "key step" if values.shape[1] == T else "position"))
    return panels


def _link_panel(fig: Figure, cell, traced: Weightings, rows: np.ndarray, step: int) -> None:
    """L_t at `step` as a heatmap over the locations shown, with how to read it beside it."""
    width = fig.get_figwidth()
    link_cell, text_cell = cell.subgridspec(1, 2, width_ratios=[3.3, width - 3.3])  # inches: about square
    ax = fig.add_subplot(link_cell)
    ax.imshow(traced.link[step][np.ix_(rows, rows)], cmap=_cmap(WEIGHT_CMAP), norm=Normalize(0, 1),
              interpolation="nearest", aspect="auto")
    ax.set_title(f"link matrix L at step {step}", loc="left", fontsize=9, pad=3)
    _row_ticks(ax, rows)
    _row_ticks(ax, rows, axis="x")
    ax.tick_params(labelsize=7)
    ax.set_ylabel("location i (written next)", fontsize=8)
    ax.set_xlabel("location j (written before)", fontsize=8)
    _mark_hidden_rows(ax, rows, traced.locations)
    note = fig.add_subplot(text_cell)
    note.axis("off")
    note.text(0, 0.5, f"The temporal links after step {step}'s write (framed in {LINK_STEP_COLOUR} above).\n"
              "L[i, j]: how far location i was written right after location j.\n\n"
              "A read head in forward mode moves from the location j it read\n"
              "to the locations i in column j: f = L w; in backward mode, from\n"
              "row i to the locations j in it. Writes in the order 3, 4, 5\n"
              "give L[4, 3] and L[5, 4]: a chain the forward walk follows.",
              transform=note.transAxes, va="center", fontsize=8, linespacing=1.4)
