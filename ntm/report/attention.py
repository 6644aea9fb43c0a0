"""What an NTM's heads did on one sequence: the figure and animation of `ntm viz`.

`trace_episode` runs one sequence through a trained NTM and keeps everything
the pictures need as NumPy arrays. `attention_figure` draws it in the layout
of the paper's copy figure (Graves et al. 2014, figure 6): inputs, targets and
outputs on top, then for every write head its weighting, erase and add
vectors, and for every read head its weighting and read vector, all on one
time axis with the delimiter marked. The GIF of the memory step by step is
`ntm.report.animation`'s.

    >>> from ntm.evaluation import load_model
    >>> from ntm.report.plots import save_figure
    >>> episode = trace_episode(load_model("runs/copy"), {"length": 20})
    >>> save_figure(attention_figure(episode), "copy.png")
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import torch
from matplotlib import colormaps
from matplotlib.cm import ScalarMappable
from matplotlib.colors import Normalize
from matplotlib.figure import Figure

from ntm.evaluation import LoadedModel

USED_WEIGHT = 0.01  # a location counts as used once a head puts this much weight on it
DATA_CMAP = "Greys"  # bits, output probabilities and erase vectors, 0 (white) to 1 (black)
WEIGHT_CMAP = "viridis"  # weightings, always on the fixed 0-1 scale
VECTOR_CMAP = "RdBu_r"  # add vectors, read vectors and memory: signed, centred on 0
UNSCORED = "#dfe6ee"  # targets and outputs on steps that are not scored
BELOW_ZERO, ABOVE_ONE = "#2b83ba", "#d7191c"  # inputs that are not bits: repeat counts, priorities
DELIMITER_COLOUR = "#ff5a36"
CROP_COLOUR = "#d01c8b"  # the edge of a memory panel where unused locations are left out



@dataclasses.dataclass
class Episode:
    """One sequence through an NTM. Arrays are NumPy with time first."""

    task: str
    model: str
    phase_channels: tuple[int, ...]  # the task's delimiter channels (Task.phase_channels)
    size: dict[str, int]
    source: str  # which checkpoint, for the figure's title
    inputs: np.ndarray  # [T, in]
    targets: np.ndarray  # [T, out]
    mask: np.ndarray  # [T] bool, true on scored steps
    outputs: np.ndarray  # [T, out] sigmoid of the logits
    read_weights: np.ndarray  # [T, R, N]
    write_weights: np.ndarray  # [T, W, N]
    erase: np.ndarray  # [T, W, M]
    add: np.ndarray  # [T, W, M]
    reads: np.ndarray  # [T, R, M]
    memory: np.ndarray  # [T, N, M] after each step's write

    @property
    def steps(self) -> int:
        return self.inputs.shape[0]

    def phase_steps(self) -> list[int]:
        """The steps that mark a change of phase: the delimiter, or associative
        recall's query delimiters; for a task without delimiter channels, the
        step before the first scored one."""
        if self.phase_channels:
            return [int(t) for t in np.flatnonzero((self.inputs[:, list(self.phase_channels)] != 0).any(1))]
        scored = np.flatnonzero(self.mask)
        return [int(scored[0]) - 1] if len(scored) and scored[0] > 0 else []


def shown_path(path: Path) -> str:
    """`path` relative to the working directory, or to the project's folder
    (the shipped checkpoints), so a title shows no user's home directory."""
    path = Path(path).resolve()
    for root in (Path.cwd(), Path(__file__).resolve().parents[2]):
        if path.is_relative_to(root):
            return str(path.relative_to(root))
    return str(path)


def attention_of(loaded: LoadedModel) -> Figure:
    """The figure `ntm viz` draws, on a sequence of the largest training size."""
    return figure_of(trace_episode(loaded))


def figure_of(traced, crop: bool = True, link_step: int | None = None) -> Figure:
    """The picture of a traced sequence: the NTM's figure, or a model's named
    weightings, with its link matrix at `link_step` where it traced one."""
    from ntm.report.weightings import Weightings, weightings_figure

    if isinstance(traced, Weightings):
        return weightings_figure(traced, crop=crop, link_step=link_step)
    if link_step is not None:
        raise no_link_matrix(traced.model, link_step)
    return attention_figure(traced, crop=crop)


def no_link_matrix(model: str, step: int) -> ValueError:
    """The refusal of a link matrix at `step` for a model that traces none."""
    return ValueError(f"{model} traces no link matrix to draw at step {step}; the DNC does "
                      "(--model dnc or dnc-mds)")


@torch.no_grad()
def trace_episode(loaded: LoadedModel, size: dict[str, int] | None = None, seed: int = 0,
                  memory_size: int | None = None):
    """Draw one sequence of `size` (default: the largest trained on) with `seed`
    and trace the model on it: an `Episode` for an NTM, or for a model that
    returns named weightings, a `ntm.report.weightings.Weightings`."""
    config = loaded.config
    size = loaded.task.check_size(**size) if size else loaded.task.largest_trained_size()
    batch = loaded.task.sample(1, np.random.default_rng(seed), **size)
    device = next(loaded.model.parameters()).device
    logits, trace = loaded.model(batch.inputs.to(device), memory_size=memory_size, trace=True)
    info = loaded.info.get("progress", loaded.info)  # last.safetensors keeps counters under "progress"
    source = shown_path(loaded.checkpoint)
    if "step" in info:
        source += f" (step {info['step']:,}, {info['sequences']:,} sequences)"

    def first(tensor):
        return tensor[0].float().cpu().numpy()

    nothing = np.zeros((batch.steps, 0, 0), np.float32)
    episode = Episode(
        task=config.task, model=config.model.name, phase_channels=tuple(loaded.task.phase_channels),
        size=size, source=source,
        inputs=first(batch.inputs), targets=first(batch.targets), mask=batch.mask[0].numpy(),
        outputs=first(torch.sigmoid(logits)), read_weights=nothing, write_weights=nothing,
        erase=nothing, add=nothing, reads=nothing, memory=nothing)
    if isinstance(trace, dict):
        from ntm.report.weightings import Weightings

        return Weightings.of(episode, trace)
    return dataclasses.replace(
        episode, read_weights=first(trace.read_weights), write_weights=first(trace.write_weights),
        erase=first(trace.erase), add=first(trace.add), reads=first(trace.reads), memory=first(trace.memory))


def used_locations(weights: np.ndarray, margin: int = 1) -> np.ndarray:
    """The shortest run of locations, going round the memory, that holds every
    weight above USED_WEIGHT, widened by `margin` each side: [..., N] -> indices.

    Heads that move backwards from location 0 wrap round to N - 1, so the run
    may cross the end of the memory: e.g. [126, 127, 0, 1, 2].
    """
    n = weights.shape[-1]
    used = np.flatnonzero((weights.reshape(-1, n) > USED_WEIGHT).any(0))
    if len(used) == 0:
        return np.arange(n)
    gaps = np.diff(np.append(used, used[0] + n))  # distance to the next used location, circularly
    widest = int(np.argmax(gaps))
    start = used[(widest + 1) % len(used)] - margin
    span = n - gaps[widest] + 1 + 2 * margin
    if span >= n:
        return np.arange(n)
    return (start + np.arange(span)) % n


def describe_crop(rows: np.ndarray, n: int) -> str:
    """`locations 0–24 of 128` (or `126–127, 0–22`), the crop stated on the figures."""
    if len(rows) == n:
        return f"all {n} locations"
    breaks = np.flatnonzero(np.diff(rows) != 1) + 1
    runs = np.split(rows, breaks)
    return "locations " + ", ".join(f"{r[0]}–{r[-1]}" if len(r) > 1 else f"{r[0]}" for r in runs) + f" of {n}"


def attention_figure(episode: Episode, crop: bool = True) -> Figure:
    """The paper's copy figure for any task: inputs, targets and outputs across
    the top, then one column per head of weightings and vectors over time."""
    e = episode
    T, n = e.steps, e.memory.shape[1]
    W, R = e.write_weights.shape[1], e.read_weights.shape[1]
    heads = max(W, R)
    rows = used_locations(np.concatenate([e.read_weights, e.write_weights], axis=1)) if crop else np.arange(n)
    crop_text = describe_crop(rows, n) + " shown"
    scored = np.where(e.mask[:, None], 1.0, np.nan)
    top = [("inputs", e.inputs), ("targets", e.targets * scored), ("outputs σ(logits)", e.outputs * scored)]
    # (title, kind, y label, one [T, rows] array per head)
    per_head = [("write weighting", "weight", "location", [e.write_weights[:, h, rows] for h in range(W)]),
                ("erase vector", "data", "element", [e.erase[:, h] for h in range(W)]),
                ("add vector", "vector", "element", [e.add[:, h] for h in range(W)]),
                ("read weighting", "weight", "location", [e.read_weights[:, h, rows] for h in range(R)]),
                ("read vector", "vector", "element", [e.reads[:, h] for h in range(R)])]

    heights = ([_panel_height(values.shape[1], "data") for _, values in top]
               + [_panel_height(arrays[0].shape[1], kind) for _, kind, _, arrays in per_head])
    panels = len(top) + len(per_head)
    width = float(np.clip(1.2 + heads * (0.6 + 0.1 * T), 9, 30))  # inches: about 0.1 per time step and head
    fig = Figure(figsize=(width, 1.5 + 0.42 * panels + 0.055 * sum(heights)), layout="constrained")
    grid = fig.add_gridspec(panels + 1, heads, height_ratios=[*heights, 12])
    limit = _symmetric_limit(e.add, e.reads)
    norms = {"data": Normalize(0, 1), "weight": Normalize(0, 1), "vector": Normalize(-limit, limit)}
    cmaps = {"data": _cmap(DATA_CMAP), "weight": _cmap(WEIGHT_CMAP), "vector": _cmap(VECTOR_CMAP)}
    outside = (e.inputs < 0).any() or (e.inputs > 1).any()
    phases = e.phase_steps()
    first = None

    def heatmap(cell, values, kind, title, ylabel):
        nonlocal first
        ax = fig.add_subplot(cell, sharex=first)
        first = first or ax
        ax.imshow(values.T, cmap=cmaps[kind], norm=norms[kind], aspect="auto", interpolation="nearest",
                  extent=(-0.5, T - 0.5, values.shape[1] - 0.5, -0.5))
        ax.set_title(title, loc="left", fontsize=9, pad=3)
        ax.set_ylabel(ylabel, fontsize=8)
        ax.tick_params(labelsize=7, labelbottom=False)
        _row_ticks(ax, np.arange(values.shape[1]))
        for t in phases:
            ax.axvline(t, color=DELIMITER_COLOUR, linestyle="--", linewidth=1.1)
        return ax

    for i, (title, values) in enumerate(top):
        if title == "inputs" and outside:
            title += " · blue: below 0, red: above 1 (inputs that are not bits)"
        ax = heatmap(grid[i, :], values, "data", title, "channel")
        note = {0: "dashed line: delimiter" if phases else "",
                1: "" if e.mask.all() else "blue-grey: steps not scored"}.get(i)
        if note:
            ax.set_title(note, loc="right", fontsize=8, color=DELIMITER_COLOUR if i == 0 else "0.35", pad=3)
    # The lowest panel of each head's column gets the time axis (a column may lack read panels).
    bottom = {h: i for i, (_, _, _, arrays) in enumerate(per_head, start=len(top)) for h in range(len(arrays))}
    for i, (title, kind, ylabel, arrays) in enumerate(per_head, start=len(top)):
        for h, values in enumerate(arrays):
            ax = heatmap(grid[i, h], values, kind, title + (f" · head {h + 1}" if heads > 1 else ""),
                         ylabel if h == 0 else "")
            if kind == "weight":
                _row_ticks(ax, rows)
                _mark_hidden_rows(ax, rows, n)
                if h == heads - 1:
                    ax.set_title(crop_text, loc="right", fontsize=8, color="0.35", pad=3)
            if i == bottom[h]:
                ax.tick_params(labelbottom=True)
                ax.set_xlabel("time step", fontsize=9)
    first.xaxis.get_major_locator().set_params(integer=True)

    _colour_bars(fig, grid[-1, :], norms, cmaps, outside)
    size = " · ".join(f"{k} {v}" for k, v in e.size.items())
    fig.suptitle(f"{e.task} · {e.model} · {size}\n{e.source}", fontsize=10)
    return fig


def _colour_bars(fig: Figure, cell, norms: dict, cmaps: dict, outside: bool) -> None:
    """One horizontal scale per kind of panel, side by side in `cell`."""
    bars = cell.subgridspec(1, 3, wspace=0.25)
    labels = {"data": "bits, output probability, erase", "weight": "weighting (fixed 0–1 scale)",
              "vector": "add and read vectors"}
    for column, kind in enumerate(("data", "weight", "vector")):
        extend = "both" if kind == "data" and outside else "neither"
        bar = fig.colorbar(ScalarMappable(norms[kind], cmaps[kind]), cax=fig.add_subplot(bars[column]),
                           orientation="horizontal", extend=extend)
        bar.set_label(labels[kind], fontsize=8)
        bar.ax.tick_params(labelsize=7)


def _mark_hidden_rows(ax, rows: np.ndarray, n: int) -> None:
    """Where a cropped memory panel leaves locations out: the break symbol
    of a broken axis (//) at its lower corners, a dashed line along the edge,
    and how many locations are hidden. They lie below the last row shown and
    go round the memory to the first, so one edge marks them all."""
    hidden = n - len(rows)
    if hidden <= 0:
        return
    ax.axhline(len(rows) - 0.5, color=CROP_COLOUR, linestyle=(0, (3, 2)), linewidth=3, clip_on=False)
    ax.plot([0, 1], [0, 0], transform=ax.transAxes, linestyle="none", marker=[(-1, -0.6), (1, 0.6)],
            markersize=9, markeredgewidth=1.4, color="0.15", clip_on=False)
    first, last = (rows[-1] + 1) % n, (rows[0] - 1) % n
    where = f"{first}" if hidden == 1 else f"{first}–{last}"
    ax.text(0.995, 0.03, f"{hidden} location{'s' if hidden > 1 else ''} hidden ({where})", transform=ax.transAxes,
            ha="right", va="bottom", fontsize=7, color="white",
            bbox={"facecolor": CROP_COLOUR, "alpha": 0.9, "edgecolor": "none", "pad": 1.5})


def _panel_height(rows: int, kind: str) -> float:
    """Relative panel heights: memory panels taller, but never swamping the rest."""
    if kind == "weight":
        return float(np.clip(rows, 14, 48))
    return float(np.clip(0.7 * rows, 7, 14))


def _row_ticks(ax, rows: np.ndarray, axis: str = "y") -> None:
    """A few round row numbers as ticks; for cropped memory, the true location numbers."""
    step = next(s for s in (1, 2, 5, 10, 20, 25, 50, 100, 200, 500, 1000, 10**9) if len(rows) / s <= 6)
    where = [i for i, r in enumerate(rows) if r % step == 0] or [0]
    (ax.set_xticks if axis == "x" else ax.set_yticks)(where, [str(rows[i]) for i in where])


def _symmetric_limit(*arrays: np.ndarray) -> float:
    """A round colour limit covering 99% of the magnitudes (outliers saturate)."""
    values = np.abs(np.concatenate([a.ravel() for a in arrays]))
    limit = float(np.percentile(values, 99)) if values.size else 0.0
    if limit <= 0 or not np.isfinite(limit):
        return 1.0
    magnitude = 10 ** np.floor(np.log10(limit))
    return float(next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= limit))


def _cmap(name: str):
    """A colour map whose missing values (NaN: steps not scored) show as UNSCORED,
    and, for the 0-1 data map, values outside 0-1 as BELOW_ZERO and ABOVE_ONE."""
    cmap = colormaps[name].with_extremes(bad=UNSCORED)
    return cmap.with_extremes(under=BELOW_ZERO, over=ABOVE_ONE) if name == DATA_CMAP else cmap
