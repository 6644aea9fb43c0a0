"""The protocol's report (`ntm protocol`): per task, the model's seeds beside
the shipped runs, as Markdown, JSON, and learning-curve and generalisation
figures, in the form RESULTS.md uses.
"""

from __future__ import annotations

import json
from pathlib import Path

import tasks

from ntm import checkpoint as ckpt
from ntm.paper import paper_key
from ntm.report.collect import model_label
from ntm.report.markdown import save_generalisation, sequences_cell
from ntm.report.plots import learning_curves_figure, save_figure
from ntm.report.targets import result_at

REPORT_FILE = "PROTOCOL.md"
JSON_FILE = "protocol.json"


def write_protocol_report(report: dict, out_dir: Path | str, run_dirs: dict[str, list[Path]]) -> Path:
    """PROTOCOL.md, protocol.json and the figures in `out_dir`; `run_dirs` maps
    each task to the model's run directories (for the learning curves)."""
    out_dir = Path(out_dir)
    figures = out_dir / "figures"
    lines = [f"# {report['model']} beside the shipped models", "",
             f"Every figure is the mean over {report['samples']} sequences per size, drawn with the fixed evaluation "
             f"seed {report['seed']}, from each run's best weights. The model's row is its median seed by the "
             "headline figure; *solved* counts the seeds whose validation bit errors fell below 0.1.", ""]
    for task_name, section in report["tasks"].items():
        lines += [f"## {task_name}", ""] + _table(task_name, section) + [""]
        lines += _figures(task_name, section, run_dirs.get(task_name, []), figures, out_dir)
    path = out_dir / REPORT_FILE
    ckpt.atomic_write_bytes(path, "\n".join(lines).encode() + b"\n")
    ckpt.atomic_write_bytes(out_dir / JSON_FILE, json.dumps(report, indent=1).encode())
    return path


def _columns(task_name: str, section: dict) -> tuple[str, list[dict]]:
    """The headline measure, and the sizes shown: the headline size, then the task's generalisation sizes."""
    size, measure = section["headline"] or (tasks.get(task_name).largest_trained_size(), "bit_errors")
    sizes = [dict(s) for s in tasks.get(task_name).generalisation_sizes]
    if paper_key(size) not in {paper_key(s) for s in sizes}:
        sizes.insert(0, dict(size))
    return measure, sizes


def _table(task_name: str, section: dict) -> list[str]:
    measure, sizes = _columns(task_name, section)
    task = tasks.get(task_name)
    header = ["model", "seeds solved", "sequences trained", *(f"{task.size_label(s)}" for s in sizes)]
    headline = section["headline"][0] if section["headline"] else None
    lines = [f"{measure} per sequence at each size (memory as trained)"
             + (f"; the headline size is {task.size_label(headline)}" if headline else "") + ":", "",
             "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    median = section["median_seed"]
    seed = ckpt.load_config(Path(median["run_dir"])).train.seed
    rows = [(f"**{median['model']}** (seed {seed}, the median of {section['seeds']})",
             f"{section['solved']} of {section['seeds']}", median)]
    rows += [(model_label(entry), "shipped", entry) for entry in section["shipped"]]
    for label, solved, entry in rows:
        cells = [label, solved, sequences_cell(entry["budget"])]
        for size in sizes:
            try:
                cells.append(f"{result_at(entry['results'], **size)[measure]:.3f}")
            except StopIteration:
                cells.append("—")
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def _figures(task_name: str, section: dict, run_dirs: list[Path], figures: Path, out_dir: Path) -> list[str]:
    curves = [*run_dirs, *(Path(e["run_dir"]) for e in section["shipped"])]
    curves = [path for path in curves if (path / ckpt.CURVE_FILE).is_file()]
    lines = []
    if curves:
        path = save_figure(learning_curves_figure(curves, log_x=True), figures / f"{task_name}-curves.png")
        lines += [f"![Learning curves, {task_name}]({path.relative_to(out_dir).as_posix()})", ""]
    path = save_generalisation(task_name, [section["median_seed"], *section["shipped"]],
                               figures / f"{task_name}-generalisation.png", keep=lambda r: r["memory_size"] is None)
    lines += [f"![Generalisation, {task_name}]({path.relative_to(out_dir).as_posix()})", ""]
    return lines
