"""The GIFs of `ntm viz --animate`: the memory and where the heads are, one frame a step.

Every frame has the inputs and the outputs so far across the top, a cursor
on the step shown. Below them, `animate_episode` draws an NTM's memory
between its write and read weightings as bars; `animate_weightings` draws a
model that traces its memory (the DNC, `ntm.report.weightings`): the memory,
each of its weightings over locations as a column (usage, write weighting,
each read head's), its read modes and its temporal link matrix L_t.

    >>> from ntm.evaluation import load_model
    >>> from ntm.report.attention import trace_episode
    >>> animation_of(trace_episode(load_model("runs/copy"), {"length": 20}), "copy.gif")
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.cm import ScalarMappable
from matplotlib.colors import Normalize
from matplotlib.figure import Figure

from ntm.report.attention import (DATA_CMAP, DELIMITER_COLOUR, VECTOR_CMAP, WEIGHT_CMAP, Episode, _cmap, _row_ticks,
                                  _symmetric_limit, describe_crop, used_locations)
from ntm.report.weightings import Weightings


def animation_of(traced, path: Path | str, fps: int = 4, crop: bool = True) -> Path:
    """The GIF of a traced sequence: an NTM's, or that of a model that traced its memory."""
    if not isinstance(traced, Weightings):
        return animate_episode(traced, path, fps=fps, crop=crop)
    if traced.memory is None:
        raise ValueError(f"the animation draws a memory step by step; {traced.model} traces none, only the "
                         "weightings drawn in the figure")
    return animate_weightings(traced, path, fps=fps, crop=crop)


def animate_episode(episode: Episode, path: Path | str, fps: int = 4, dpi: int = 80, crop: bool = True) -> Path:
    """An NTM's GIF: the memory between the write and read heads' weightings;
    the last frame is held for a second."""
    path = _check_gif(path, fps)
    e = episode
    T, n = e.steps, e.memory.shape[1]
    rows = used_locations(np.concatenate([e.read_weights, e.write_weights], axis=1)) if crop else np.arange(n)
    W, R = e.write_weights.shape[1], e.read_weights.shape[1]
    fig = Figure(figsize=(9, 3.8 + 0.05 * len(rows)), dpi=dpi, layout="constrained")
    several = max(W, R) > 1
    grid = fig.add_gridspec(4, 3, width_ratios=[1, 3, 1], height_ratios=[
        e.inputs.shape[1], e.outputs.shape[1], max(len(rows) * 1.2, 30), 3.5 if several else 1.2])
    strips, show_step = _sequence_strips(fig, grid, e)
    memory_image, write_bars, read_bars = _memory_and_heads(fig, grid, e, rows, several)
    title = fig.suptitle(_frame_title(e, T - 1), fontsize=10)  # the longest text, for the layout

    def draw(t: int):
        show_step(t)
        memory_image.set_data(e.memory[t, rows])
        for bars, weights in ((write_bars, e.write_weights[t]), (read_bars, e.read_weights[t])):
            for head, head_bars in enumerate(bars):
                for b, w in zip(head_bars, weights[head, rows]):
                    b.set_width(w)
        title.set_text(_frame_title(e, t))

    moving = [*strips, memory_image, title, *(b for head in write_bars + read_bars for b in head)]
    _save_gif(path, _blitted_frames(fig, moving, draw, T), fps)
    return path


def animate_weightings(traced: Weightings, path: Path | str, fps: int = 4, dpi: int = 80, crop: bool = True) -> Path:
    """The GIF of a model that traced its memory: at every step the memory,
    the weightings over its locations side by side, the read modes and the
    link matrix, rows aligned by location; the last frame is held for a second."""
    path = _check_gif(path, fps)
    e, T, n = traced.episode, traced.steps, traced.locations
    rows = traced.shown_locations(crop)
    columns = [title for title in traced.weightings if traced.is_location_panel(title)]
    width = traced.memory.shape[2]
    fig = Figure(figsize=(10, 5.4 + 0.04 * len(rows)), dpi=dpi, layout="constrained")
    grid = fig.add_gridspec(4, 3, width_ratios=[max(width, 10), len(columns) + 2, np.clip(len(rows), 10, 40)],
                            height_ratios=[e.inputs.shape[1], e.outputs.shape[1], max(len(rows) * 1.2, 30), 12 + 2 * len(traced.row_names)])
    strips, show_step = _sequence_strips(fig, grid, e)
    weight = {"cmap": _cmap(WEIGHT_CMAP), "norm": Normalize(0, 1), "aspect": "auto", "interpolation": "nearest"}
    limit = _symmetric_limit(traced.memory[:, rows])
    memory_ax = fig.add_subplot(grid[2, 0])
    memory_image = memory_ax.imshow(traced.memory[0, rows], cmap=_cmap(VECTOR_CMAP), vmin=-limit, vmax=limit,
                                    aspect="auto", interpolation="nearest")
    _label(memory_ax, f"memory · {describe_crop(rows, n)}", "element", "location")
    memory_ax.xaxis.get_major_locator().set_params(integer=True)
    _row_ticks(memory_ax, rows)
    weightings_ax = fig.add_subplot(grid[2, 1], sharey=memory_ax)
    stacked = np.stack([traced.weightings[title][:, rows] for title in columns], axis=-1)  # [T, rows, columns]
    weightings_image = weightings_ax.imshow(stacked[0], **weight)
    _label(weightings_ax, "at this step", "", "")
    weightings_ax.set_xticks(range(len(columns)), [title.replace(" · head ", " ") for title in columns], rotation=90)
    link_ax = fig.add_subplot(grid[2, 2], sharey=memory_ax)
    link_image = link_ax.imshow(traced.link[0][np.ix_(rows, rows)], **weight) if traced.link is not None else None
    _label(link_ax, "link matrix L[i, j]: i written right after j", "location j", "")
    _row_ticks(link_ax, rows, axis="x")
    weightings_ax.tick_params(labelleft=False)
    link_ax.tick_params(labelleft=False)
    bottom = grid[3, :].subgridspec(1, 3, width_ratios=[2, 1.3, 2])  # the modes' names need room
    modes_image, modes = _read_modes(fig, bottom[1], traced, weight)
    _colour_bar(fig, bottom[0], memory_image, "memory")
    _colour_bar(fig, bottom[2], ScalarMappable(weight["norm"], weight["cmap"]), "weighting, link (0–1)")
    title = fig.suptitle(_frame_title(e, T - 1), fontsize=10)

    def draw(t: int):
        show_step(t)
        memory_image.set_data(traced.memory[t, rows])
        weightings_image.set_data(stacked[t])
        if link_image is not None:
            link_image.set_data(traced.link[t][np.ix_(rows, rows)])
        if modes_image is not None:
            modes_image.set_data(modes[t])
        title.set_text(_frame_title(e, t))

    images = [memory_image, weightings_image, link_image, modes_image]
    moving = [*strips, *(image for image in images if image is not None), title]
    _save_gif(path, _blitted_frames(fig, moving, draw, T), fps)
    return path


def _read_modes(fig: Figure, cell, traced: Weightings, style: dict):
    """The panels with named rows (the DNC's read modes, one per read head) at a step:
    heads down, modes across. Returns the image and its values [T, heads, modes], or Nones."""
    named = list(traced.row_names)
    if not named:
        fig.add_subplot(cell).axis("off")
        return None, None
    names = traced.row_names[named[0]]
    heads = [title for title in named if traced.row_names[title] == names]
    modes = np.stack([traced.weightings[title] for title in heads], axis=1)  # [T, heads, modes]
    ax = fig.add_subplot(cell)
    image = ax.imshow(modes[0], **style)
    ax.set_xticks(range(len(names)), names)
    ax.set_yticks(range(len(heads)), [title.rpartition(" · ")[2] for title in heads] if len(heads) > 1 else [""])
    ax.tick_params(labelsize=7)
    ax.set_title(heads[0].partition(" · ")[0], fontsize=9, pad=2)
    return image, modes


def _label(ax, title: str, xlabel: str, ylabel: str) -> None:
    ax.set_title(title, fontsize=9, pad=2)
    ax.set_xlabel(xlabel, fontsize=8)
    ax.set_ylabel(ylabel, fontsize=8)
    ax.tick_params(labelsize=7)


def _colour_bar(fig: Figure, cell, mappable, label: str) -> None:
    """A thin horizontal scale at the top of `cell`."""
    bar = fig.colorbar(mappable, cax=fig.add_subplot(cell.subgridspec(2, 1)[0]), orientation="horizontal")
    bar.set_label(label, fontsize=8)
    bar.ax.tick_params(labelsize=7)


def _check_gif(path: Path | str, fps: int) -> Path:
    path = Path(path)
    if path.suffix.lower() != ".gif":
        raise ValueError(f"the animation is written as a GIF; name the file *.gif, not {path.name}")
    if fps < 1:
        raise ValueError(f"frames per second must be at least 1, got {fps}")
    return path


def _sequence_strips(fig: Figure, grid, e: Episode):
    """The top two rows of a frame: the inputs, and the scored outputs as far
    as the step shown, each with a cursor on that step. Returns the artists
    that move and `show_step(t)`, which moves them to step t."""
    T, phases = e.steps, e.phase_steps()
    outputs = e.outputs * np.where(e.mask[:, None], 1.0, np.nan)
    axes, images, cursors, lines = [], [], [], []
    for i, (title, values) in enumerate((("inputs", e.inputs), ("outputs σ(logits), scored steps", outputs))):
        ax = fig.add_subplot(grid[i, :])
        images.append(ax.imshow(values.T, cmap=_cmap(DATA_CMAP), vmin=0, vmax=1, aspect="auto",
                                interpolation="nearest", extent=(-0.5, T - 0.5, values.shape[1] - 0.5, -0.5)))
        ax.set_title(title, loc="left", fontsize=9, pad=2)
        ax.set_yticks([])
        ax.tick_params(labelsize=7, labelbottom=i == 1)
        lines.append([ax.axvline(t, color=DELIMITER_COLOUR, linestyle="--", linewidth=1) for t in phases])
        cursors.append(ax.axvspan(-0.5, 0.5, facecolor="none", edgecolor="C1", linewidth=2))
        axes.append(ax)
    axes[1].set_xlabel("time step", fontsize=8)

    def show_step(t: int):
        for cursor in cursors:
            cursor.set_x(t - 0.5)
        images[1].set_data(np.where(np.arange(T)[:, None] <= t, outputs, np.nan).T)

    # Redrawn in this order: the outputs grow, so their delimiter lines go on top again.
    return [images[1], *lines[1], *cursors], show_step


def _blitted_frames(fig: Figure, moving: list, draw, steps: int) -> list:
    """One image per step. The still parts are drawn once and only the
    artists that move are redrawn over them (blitting), so a length-20 copy
    takes a second or two; `matplotlib.animation` would redraw the whole
    figure several times a frame."""
    from PIL import Image  # a dependency of matplotlib

    canvas = FigureCanvasAgg(fig)
    for artist in moving:
        artist.set_animated(True)
    canvas.draw()  # lays the figure out and draws everything that stays still
    fig.set_layout_engine("none")
    background = canvas.copy_from_bbox(fig.bbox)
    frames = []
    for t in range(steps):
        draw(t)
        canvas.restore_region(background)
        for artist in moving:
            fig.draw_artist(artist)
        frames.append(Image.fromarray(np.asarray(canvas.buffer_rgba())[..., :3].copy()))
    return frames


def _save_gif(path: Path, frames: list, fps: int) -> None:
    """The frames at `fps`, the last one held a second longer."""
    T = len(frames)
    durations = [round(1000 / fps)] * (T - 1) + [1000 + round(1000 / fps)]
    path.parent.mkdir(parents=True, exist_ok=True)
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=durations, loop=0)


def _memory_and_heads(fig: Figure, grid, e: Episode, rows: np.ndarray, several: bool):
    """The animation's middle row: write weightings, the memory, read weightings."""
    n, W, R = e.memory.shape[1], e.write_weights.shape[1], e.read_weights.shape[1]
    memory_limit = _symmetric_limit(e.memory[:, rows])
    write_ax, memory_ax, read_ax = (fig.add_subplot(grid[2, c]) for c in range(3))
    memory_image = memory_ax.imshow(e.memory[0, rows], cmap=_cmap(VECTOR_CMAP), vmin=-memory_limit, vmax=memory_limit,
                                    aspect="auto", interpolation="nearest")
    memory_ax.set_title(f"memory · {describe_crop(rows, n)}", fontsize=9, pad=2)
    memory_ax.set_xlabel("element", fontsize=8)
    memory_ax.set_yticks([])
    memory_ax.tick_params(labelsize=7)
    memory_ax.xaxis.get_major_locator().set_params(integer=True)
    bar = fig.colorbar(memory_image, cax=fig.add_subplot(grid[3, 1]), orientation="horizontal")
    bar.ax.tick_params(labelsize=7)
    positions = np.arange(len(rows))
    write_bars = _head_bars(write_ax, W, positions, "write")
    read_bars = _head_bars(read_ax, R, positions, "read")
    write_ax.invert_xaxis()  # bars grow towards the memory from both sides
    _row_ticks(write_ax, rows)
    read_ax.yaxis.tick_right()
    _row_ticks(read_ax, rows)
    if several:  # one colour per head number, in both panels
        key = fig.add_subplot(grid[3, 2])
        key.axis("off")
        key.legend(*read_ax.get_legend_handles_labels(), loc="center", ncols=2, fontsize=7, frameon=False)
    return memory_image, write_bars, read_bars


def _frame_title(e: Episode, t: int) -> str:
    phase = "output" if e.mask[t] else ("delimiter" if t in e.phase_steps() else "input")
    return f"{e.task} · {e.model} · step {t} of {e.steps - 1} · {phase} phase"


def _head_bars(ax, heads: int, positions: np.ndarray, kind: str) -> list:
    """Horizontal bars, one row per location, side by side when there are several heads."""
    height = 0.85 / heads
    bars = []
    for h in range(heads):
        offset = (h - (heads - 1) / 2) * height
        label = f"head {h + 1}" if heads > 1 else None
        bars.append(ax.barh(positions + offset, np.zeros(len(positions)), height=height,
                            color=f"C{h}" if heads > 1 else ("C3" if kind == "write" else "C0"), label=label))
    ax.set_xlim(0, 1)
    ax.set_ylim(len(positions) - 0.5, -0.5)
    ax.set_title(f"{kind} weighting", fontsize=9, pad=2)
    ax.set_xlabel("weight", fontsize=8)
    ax.tick_params(labelsize=7)
    return bars
