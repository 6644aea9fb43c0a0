"""Learning curves and generalisation plots (what `ntm plot` draws), and saving figures.

Every figure is a `matplotlib.figure.Figure` built without pyplot, so nothing
needs a display and nothing leaks from one call to the next; `save_figure`
writes PNG, SVG or PDF by the file's extension. The attention figure and the
memory animation of `ntm viz` live beside this module, in `attention.py`,
`weightings.py` (other models' weightings) and `animation.py`.

    >>> from ntm.report import plots
    >>> fig = plots.learning_curves_figure(["runs/copy-ntm-s0", "runs/copy-ntm-s1", "runs/copy-lstm-s0"])
    >>> plots.save_figure(fig, "curves.png")
"""

from __future__ import annotations

import dataclasses
import textwrap
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import EngFormatter, MaxNLocator

import tasks

from ntm import checkpoint as ckpt
from ntm.config import FIELDS_THAT_DO_NOT_CHANGE_LEARNING, RunConfig, default_config, flatten_config
from ntm.metrics import SOLVED_BIT_ERRORS
from ntm.model import external, registry
from ntm.paper import PAPER
from ntm.report.collect import training_budget

FORMATS = ("png", "svg", "pdf")
DPI = 150  # PNG resolution: sharp on a slide, a few hundred kB

_REFERENCE_DASHES = (":", "--", "-.")  # tells apart the paper's levels drawn on one axes
# Runs that differ only in these are repeats of one setup, drawn as one median.
_NOT_THE_SETUP = FIELDS_THAT_DO_NOT_CHANGE_LEARNING | {"train.seed"}
_NTM_ONLY = {"model.read_heads", "model.write_heads", "model.memory_size", "model.memory_width", "model.memory_init",
             "model.learned_memory", "model.clip"}  # fields a baseline's config carries but does not use


def save_figure(fig: Figure, path: Path | str, dpi: int = DPI) -> Path:
    """Write `fig` as PNG, SVG or PDF, chosen by the file's extension."""
    path = Path(path)
    fmt = figure_format(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format=fmt, dpi=dpi)
    return path


def figure_format(path: Path | str) -> str:
    """png, svg or pdf from a file name; a clear error for anything else."""
    suffix = Path(path).suffix.lower().lstrip(".")
    if suffix not in FORMATS:
        raise ValueError(f"cannot tell the image format of {str(path)!r}: the file name must end in .png, .svg or .pdf")
    return suffix


# --- learning curves -------------------------------------------------------


@dataclasses.dataclass
class Run:
    """A run directory's config and learning curve. A run started from another
    run's weights (`train.init_from`) carries that run's curve in front of its
    own, its own shifted by the sequences the source had seen, so that the
    axis counts every sequence its weights were trained on."""

    path: Path
    config: RunConfig
    curve: list[dict]  # curve.jsonl, one dict per logged step (the source runs' first)
    continued_at: list[float] = dataclasses.field(default_factory=list)  # sequences where each run took over
    stage_ends: list[dict] = dataclasses.field(default_factory=list)  # curriculum stage ends, within each run


def load_run(run_dir: Path | str, _seen: tuple = ()) -> Run:
    run_dir = Path(run_dir)
    config = ckpt.load_config(run_dir)
    if not (run_dir / ckpt.CURVE_FILE).is_file():
        raise ckpt.CheckpointError(f"{run_dir} has no {ckpt.CURVE_FILE} yet; has training logged a step?")
    curve = ckpt.read_curve(run_dir)
    ends = ckpt.stage_ends(curve)
    source = _source_run(run_dir, config, (*_seen, run_dir.resolve()))
    if source is None or not source.curve or not curve:
        return Run(run_dir, config, curve, [], ends)

    def later(point: dict) -> dict:
        return {**point, "sequences": point["sequences"] + offset}

    offset = source.curve[-1]["sequences"]
    return Run(run_dir, config, source.curve + [later(p) for p in curve], source.continued_at + [offset],
               source.stage_ends + [later(p) for p in ends])


def _source_run(run_dir: Path, config: RunConfig, seen: tuple) -> Run | None:
    """The run whose weights this one started from, or None: none named, or
    one that is not there (its curve is then drawn alone) or loops back."""
    if not config.train.init_from:
        return None
    try:
        source_dir = ckpt.init_source_dir(run_dir, config.train.init_from)
    except ckpt.CheckpointError:
        return None
    if source_dir.resolve() in seen or not (source_dir / ckpt.CURVE_FILE).is_file():
        return None
    return load_run(source_dir, seen)


def has_points(run_dir: Path | str, validation: bool = False) -> bool:
    """Whether a run has logged a learning-curve point yet (a validation, with
    `validation`); a run directory without one draws nothing."""
    ckpt.load_config(Path(run_dir))  # not a run directory at all is an error, not an empty curve
    metric = ("val_" if validation else "") + "cost_bits"
    return any(metric in point for point in ckpt.read_curve(Path(run_dir)))


def learning_curves_figure(run_dirs: list[Path | str], validation: bool = False, log_x: bool = False) -> Figure:
    """Cost (bits) and bit errors per sequence against sequences seen, one row per task.

    Runs that differ only in their seed are drawn as the median with the range
    shaded; the paper's levels (`ntm.paper`) are drawn on the cost axes.
    `validation` plots the fixed validation set instead of the training batches;
    `log_x` puts sequences seen on a logarithmic axis, so a short run stays
    readable beside one a hundred times longer.
    """
    if not run_dirs:
        raise ValueError("give at least one run directory")
    runs = [load_run(path) for path in run_dirs]
    prefix = "val_" if validation else ""
    task_names = list(dict.fromkeys(run.config.task for run in runs))
    fig = Figure(figsize=(13, 3.6 * len(task_names) + 0.4), layout="constrained")
    axes = fig.subplots(len(task_names), 2, squeeze=False)
    source = "validation set" if validation else "training batches (mean between log points)"
    fig.suptitle(f"Learning curves · {source}", fontsize=12)
    for row, task_name in enumerate(task_names):
        cost_ax, error_ax = axes[row]
        groups = _group_by_setup([run for run in runs if run.config.task == task_name])
        for colour, (label, members) in enumerate(groups.items()):
            for ax, metric in ((cost_ax, "cost_bits"), (error_ax, "bit_errors")):
                _draw_runs(ax, members, prefix + metric, f"C{colour}", label)
                for run in members:
                    _mark_stage_ends(ax, run, f"C{colour}")
                    _mark_continuations(ax, run, f"C{colour}")
            for run in members:
                _mark_solve(error_ax, run, f"C{colour}")
        levels = PAPER[task_name].levels if task_name in PAPER else ()
        for i, (text, low, high) in enumerate(levels):
            _reference(cost_ax, low, high, text, _REFERENCE_DASHES[i % len(_REFERENCE_DASHES)])
        cost_ax.set_ylabel("cost per sequence (bits)")
        error_ax.set_ylabel("bit errors per sequence")
        error_ax.set_ylim(bottom=0)
        for ax in (cost_ax, error_ax):
            ax.set_title(task_name, loc="left", fontsize=11, fontweight="bold")
            ax.set_xlabel("sequences seen" + (" (log scale)" if log_x else ""))
            if log_x:
                ax.set_xscale("log")
            else:
                ax.xaxis.set_major_locator(MaxNLocator(integer=True))
            ax.xaxis.set_major_formatter(EngFormatter(sep=""))
            ax.grid(alpha=0.25)
        error_ax.legend(*cost_ax.get_legend_handles_labels(), fontsize=8, loc="upper left", bbox_to_anchor=(1.02, 1.0))
    return fig


def _group_by_setup(runs: list[Run]) -> dict[str, list[Run]]:
    """{label: runs}: runs of one setup (everything but the seed) share a label,
    which names the model and whatever the setup changed from its defaults."""
    groups: dict[str, list[Run]] = {}
    for run in runs:
        config = _with_option_defaults(dataclasses.asdict(run.config))
        defaults = _with_option_defaults(dataclasses.asdict(default_config(run.config.task, run.config.model.name)))
        ignored = _NOT_THE_SETUP if run.config.model.has_memory else _NOT_THE_SETUP | _NTM_ONLY
        changed = {k: v for k, v in flatten_config(config).items()
                   if k not in ignored and flatten_config(defaults).get(k) != v}
        setup = textwrap.fill(", ".join(f"{_setting_name(k)}={v}" for k, v in sorted(changed.items())), 60)
        groups.setdefault((run.config.model.name, setup), []).append(run)
    labels = {}
    for (model, setup), members in groups.items():
        which = f"median of {len(members)} seeds, range shaded" if len(members) > 1 else members[0].path.name
        labels[f"{model} · {which}" + (f"\n{setup}" if setup else "")] = members
    return labels


def _with_option_defaults(config: dict) -> dict:
    """A config dict whose model options name every option of the model,
    a missing one at its class default: a run without an option then differs
    from a recipe that sets it."""
    entry = registry.get(config["model"]["name"]) if config["model"]["name"] in registry.names() else None
    if entry is None or entry.model_class is None:
        return config
    options = {**external.options_of(entry.model_class), **config["model"]["options"]}
    return {**config, "model": {**config["model"], "options": options}}


def _setting_name(key: str) -> str:
    """A flattened config key as a legend shows it: the field, and for the
    curriculum's task options that they are the curriculum's."""
    section, field = key.split(".", 1)
    return f"curriculum {field}" if section == "curriculum" else field.removeprefix("options.")


def _mark_stage_ends(ax, run: Run, colour: str) -> None:
    """A dotted vertical line where each curriculum stage of a run ended: the
    curve before it is of an easier task."""
    for point in run.stage_ends:
        ax.axvline(point["sequences"], color=colour, linestyle=":", linewidth=1.0)
        ax.annotate(f"stage {point['stage'] + 1} ends", (point["sequences"], 1.0), xycoords=("data", "axes fraction"),
                    xytext=(3, -12), textcoords="offset points", fontsize=7, color=colour)


def _mark_continuations(ax, run: Run, colour: str) -> None:
    """A dashed vertical line where a run took over from the run whose
    weights it started from (`--init-from`): the curve before it is that run's."""
    for sequences in run.continued_at:
        ax.axvline(sequences, color=colour, linestyle="--", linewidth=1.0)
        ax.annotate("--init-from", (sequences, 1.0), xycoords=("data", "axes fraction"),
                    xytext=(3, -24), textcoords="offset points", fontsize=7, color=colour)


def _mark_solve(ax, run: Run, colour: str) -> None:
    """The solve check (ntm.training.solve) on the bit-error axis: its worst
    part at each check as a triangle, and a solid vertical line where the run
    was consolidated."""
    checks = [(p["sequences"], p["val_check_worst_bit_errors"]) for p in run.curve if "val_check_worst_bit_errors" in p]
    if checks:
        ax.scatter(*zip(*checks), marker="v", s=14, color=colour, zorder=3)
    consolidated = training_budget(run.curve)["consolidated_at"]
    if consolidated:
        ax.axvline(consolidated["sequences"], color=colour, linewidth=1.0)
        ax.annotate("consolidated", (consolidated["sequences"], 1.0), xycoords=("data", "axes fraction"),
                    xytext=(3, -36), textcoords="offset points", fontsize=7, color=colour)


def _series(run: Run, metric: str) -> tuple[np.ndarray, np.ndarray]:
    points = [(p["sequences"], p[metric]) for p in run.curve if metric in p]
    if not points:
        return np.empty(0), np.empty(0)
    x, y = np.array(points, dtype=float).T
    return x, y


def _draw_runs(ax, runs: list[Run], metric: str, colour: str, label: str) -> None:
    series = [s for s in (_series(run, metric) for run in runs) if len(s[0])]
    if not series:
        return
    if len(series) == 1:
        ax.plot(*series[0], color=colour, label=label, linewidth=1.4)
        return
    # Each run interpolated onto the union of logged points it covers; the
    # median and range are over the runs that reached a point.
    grid = np.unique(np.concatenate([x for x, _ in series]))
    values = np.full((len(series), len(grid)), np.nan)
    for i, (x, y) in enumerate(series):
        inside = (grid >= x[0]) & (grid <= x[-1])
        values[i, inside] = np.interp(grid[inside], x, y)
    ax.fill_between(grid, np.nanmin(values, 0), np.nanmax(values, 0), color=colour, alpha=0.2, linewidth=0)
    ax.plot(grid, np.nanmedian(values, 0), color=colour, label=label, linewidth=1.4)


def _reference(ax, low: float, high: float, text: str, dashes: str) -> None:
    """A paper level as a grey line (a band where it is a range), named in the legend."""
    if high > low:
        ax.axhspan(low, high, color="0.5", alpha=0.18, linewidth=0)
    ax.axhline((low + high) / 2, color="0.3", linestyle=dashes, linewidth=1.2, label=text)


# --- generalisation ----------------------------------------------------------


def training_range(config: RunConfig) -> dict[str, tuple[int, int]]:
    """The smallest and largest value of each size argument a run trained on,
    e.g. {"length": (1, 10), "repeats": (1, 10)} for repeat copy."""
    return tasks.get(config.task, **config.task_options).training_range()


SCALES = ("symlog", "linear", "log")
# Below this the symlog axis is linear, so 0 can be drawn; above it, each
# decade takes the same height, so 0.01 and 0.5 bit errors are told apart
# from each other and from 100.
SYMLOG_LINEAR_BELOW = 0.01


def generalisation_figure(reports: list[dict], training: dict[str, tuple[int, int]] | None = None,
                          scale: str = "symlog") -> Figure:
    """Cost and bit errors per sequence against size, one line per report of
    `ntm.evaluation.evaluate_checkpoint`; the sizes inside `training` (see
    `training_range`) shaded. `scale` is the y axes': symlog (the default:
    logarithmic, but linear near 0 so a perfect model's zeros are drawn),
    linear, or log (zeros drawn at the bottom edge)."""
    if not reports:
        raise ValueError("give at least one evaluation report")
    if scale not in SCALES:
        raise ValueError(f"the scale must be one of {', '.join(SCALES)}, got {scale!r}")
    task_names = {report["task"] for report in reports}
    if len(task_names) > 1:
        raise ValueError(f"a generalisation plot compares models on one task; got {', '.join(sorted(task_names))}")
    task_name = task_names.pop()
    positions, xlabel, tick_labels = _size_axis(task_name, reports)
    fig = Figure(figsize=(11, 4.2), layout="constrained")
    cost_ax, error_ax = fig.subplots(1, 2)
    fig.suptitle(f"Generalisation · {task_name}", fontsize=12)
    for colour, report in enumerate(reports):
        results = sorted(report["results"], key=lambda r: positions[_result_size(r)])
        xs = [positions[_result_size(r)] for r in results]
        label = f"{report['model']} · {_run_name(report['checkpoint'])}"
        for ax, metric in ((cost_ax, "cost_bits"), (error_ax, "bit_errors")):
            ax.plot(xs, [r[metric] for r in results], "o-", color=f"C{colour}", label=label,
                    linewidth=1.6, markersize=4)
    optimal = sorted((positions[_result_size(r)], r["optimal_cost_bits"])
                     for r in reports[0]["results"] if r.get("optimal_cost_bits") is not None)
    if optimal:
        cost_ax.plot(*zip(*optimal), color="0.3", linestyle="--", linewidth=1.2, label="Bayes-optimal predictor")
    error_ax.axhline(SOLVED_BIT_ERRORS, color="0.3", linestyle=":", linewidth=1.2)
    error_ax.annotate(f"solved below {SOLVED_BIT_ERRORS}", xy=(0.0, SOLVED_BIT_ERRORS),
                      xycoords=("axes fraction", "data"), xytext=(4, 3), textcoords="offset points",
                      fontsize=8, color="0.3")
    for ax in (cost_ax, error_ax):
        if training:
            _shade_training(ax, training, positions, categorical=bool(tick_labels))
        ax.set_xlabel(xlabel)
        _set_scale(ax, scale)
        ax.grid(alpha=0.25)
        if tick_labels:
            ax.set_xticks(list(positions.values()), tick_labels)
    cost_ax.set_ylabel("cost per sequence (bits)")
    error_ax.set_ylabel("bit errors per sequence")
    cost_ax.legend(fontsize=8, loc="upper left")
    return fig


def _set_scale(ax, scale: str) -> None:
    """The y scale, with room above the highest point: a logarithmic axis
    gets no automatic margin, so that point would sit on the frame."""
    values = [y for line in ax.get_lines() for y in np.atleast_1d(line.get_ydata()).astype(float) if np.isfinite(y)]
    if scale == "linear":
        ax.set_ylim(bottom=0)
        return
    top = max(values, default=1.0) * 1.8
    if scale == "symlog":
        ax.set_yscale("symlog", linthresh=SYMLOG_LINEAR_BELOW, linscale=0.5)
        ax.set_ylim(0, max(top, 2 * SYMLOG_LINEAR_BELOW))
    else:
        ax.set_yscale("log", nonpositive="clip")
        positive = [y for y in values if y > 0]
        ax.set_ylim(min(positive, default=1.0) / 2, max(top, 1.0))


_MEASURES = {"samples", "cost_bits", "bit_errors", "seq_accuracy", "optimal_cost_bits"}


def _result_size(result: dict) -> tuple:
    """(("length", 20), ("repeats", 10)): the size of one result, natural size first."""
    return tuple((k, v) for k, v in result.items() if k not in _MEASURES)


def _size_axis(task_name: str, reports: list[dict]) -> tuple[dict[tuple, float], str, list[str]]:
    """x positions of the sizes, the axis label, and tick labels if categorical.

    The natural size itself when the other size arguments are fixed (copy
    lengths; repeat-copy lengths at 10 repeats), else evenly spaced
    categories such as `10×20`."""
    keys = sorted({_result_size(r) for report in reports for r in report["results"]})
    names = [name for name, _ in keys[0]]
    base = tasks.get(task_name).size_axis_label or names[0]
    extras = {key[1:] for key in keys}
    if len(extras) == 1 and len({key[0] for key in keys}) == len(keys):
        fixed = ", ".join(f"{name} {value}" for name, value in keys[0][1:])
        return {key: float(key[0][1]) for key in keys}, base + (f" ({fixed})" if fixed else ""), []
    labels = ["×".join(str(v) for _, v in key) for key in keys]
    return {key: float(i) for i, key in enumerate(keys)}, " × ".join(names), labels


def _shade_training(ax, training: dict[str, tuple[int, int]], positions: dict[tuple, float], categorical: bool) -> None:
    """Shade the training range, or mark the one size a task trains at (N-grams, priority sort)."""
    def trained(key):
        return all(training[name][0] <= value <= training[name][1] for name, value in key if name in training)

    style = {"color": "C2", "alpha": 0.12, "linewidth": 0}
    if categorical:
        for i, x in enumerate(x for key, x in positions.items() if trained(key)):
            ax.axvspan(x - 0.4, x + 0.4, **style, label=None if i else "sizes trained on")
        return
    primary = next(iter(positions))[0][0]
    if primary not in training:
        return
    low, high = training[primary]
    if low == high:
        ax.axvline(low, color="C2", alpha=0.35, linewidth=4, label=f"trained at {low}")
    else:
        ax.axvspan(low - 0.5, high + 0.5, **style, label="training range")


def _run_name(checkpoint: str) -> str:
    """`runs/copy-ntm-s0/best.safetensors` (a run's default weights) -> `copy-ntm-s0`;
    any other weights file keeps its name: `copy-ntm-s0/last.safetensors`."""
    path = Path(checkpoint)
    if path.suffix != ".safetensors":
        return path.name
    return path.parent.name if path.name == ckpt.BEST_FILE else f"{path.parent.name}/{path.name}"
