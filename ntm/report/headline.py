"""The headline table: one row per task, the shipped models' main figure
beside the paper's. `ntm results` writes it into RESULTS.md's neighbour
README.md, between the two marker lines, so the README follows the report.
"""

from __future__ import annotations

from pathlib import Path

import tasks

from ntm import checkpoint as ckpt
from ntm.model import registry
from ntm.paper import paper_key
from ntm.report.collect import model_label
from ntm.report.targets import headline, paper_figures, result_at, trained_sizes

START_MARK = "<!-- headline table: written by `ntm results` -->"
END_MARK = "<!-- end of headline table -->"


def headline_table(entries: list[dict]) -> list[str]:
    """Markdown rows: per task with a headline, the best shipped NTM, the
    shipped LSTM, and the paper's NTM at the headline size."""
    lines = ["| task, size: measure | best NTM | LSTM | paper's NTM |", "|---|---|---|---|"]
    for task_name in tasks.names():
        members = [entry for entry in entries if entry["task"] == task_name]
        if headline(task_name) is None or not members:
            continue
        size, measure = headline(task_name)
        figures = {entry["name"]: result_at(entry["results"], **size)[measure] for entry in members}
        ntms = [entry for entry in members if _has_memory(entry["model"])]
        best = min(ntms, key=lambda entry: figures[entry["name"]], default=None)
        lstm = next((entry for entry in members if entry["model"] == "lstm"), None)
        label = f"{task_name}, {tasks.get(task_name).size_label(size)}: {measure}"
        cells = [label,
                 f"{_figure(best, size, measure)} ({model_label(best)})" if best else "—",
                 _figure(lstm, size, measure) if lstm else "—",
                 _paper_figure(task_name, size)]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def update_readme(readme: Path, entries: list[dict]) -> bool:
    """Replace the table between the marker lines of `readme`; False (and
    nothing written) where the file or its markers are missing."""
    if not readme.is_file():
        return False
    text = readme.read_text()
    start, end = text.find(START_MARK), text.find(END_MARK)
    if start < 0 or end < start:
        return False
    table = "\n".join([START_MARK, *headline_table(entries), END_MARK])
    ckpt.atomic_write_bytes(readme, (text[:start] + table + text[end + len(END_MARK):]).encode())
    return True


def _has_memory(model: str) -> bool:
    return model in registry.names() and registry.get(model).has_memory


def _figure(entry: dict, size: dict, measure: str) -> str:
    result = result_at(entry["results"], **size)
    text = f"{result[measure]:.3f}"
    if measure == "cost_bits" and result.get("optimal_cost_bits") is not None:
        text += f" (optimum {result['optimal_cost_bits']:.3f})"
    return text


def _paper_figure(task_name: str, size: dict) -> str:
    """The paper's NTM (or NTM-FF) figure at `size`, or its training figure
    where `size` is the training size."""
    trained = size in trained_sizes(task_name)
    for model in ("ntm", "ntm-ff"):  # the paper's two NTMs, as ntm.paper names them
        figures = paper_figures(task_name, model)
        figure = figures.get(paper_key(size)) or (figures.get("training") if trained else None)
        if figure:
            return figure if model == "ntm" else f"{figure} (NTM-FF)"
    return "—"
