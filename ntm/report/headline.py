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


def headline_table(entries: list[dict], models: list[str] | None = None) -> list[str]:
    """Markdown rows: per task with a headline, one column per model in
    `models` (default: those shipped for at least half the tasks, in registry
    order) and the paper's NTM at the headline size."""
    models = models or default_columns(entries)
    lines = ["| task, size: measure | " + " | ".join(models) + " | paper's NTM |", "|---" * (len(models) + 2) + "|"]
    for task_name in tasks.names():
        members = [entry for entry in entries if entry["task"] == task_name]
        if headline(task_name) is None or not members:
            continue
        size, measure = headline(task_name)
        label = f"{task_name}, {tasks.get(task_name).size_label(size)}: {measure}"
        cells = [label]
        for model in models:
            entry, variant = _entry_for(model, members, models)
            cells.append(_figure(entry, size, measure) + _memory_note(entry) + variant if entry else "—")
        cells.append(_paper_figure(task_name, size))
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def default_columns(entries: list[dict]) -> list[str]:
    """The models shipped for at least half of the tasks that have a headline, in registry order."""
    headlined = {entry["task"] for entry in entries if headline(entry["task"]) is not None}
    counts = {}
    for entry in entries:
        if entry["task"] in headlined:
            counts[entry["model"]] = counts.get(entry["model"], 0) + 1
    order = registry.names()
    chosen = [model for model, count in counts.items() if 2 * count >= len(headlined)]
    return sorted(chosen, key=lambda model: order.index(model) if model in order else len(order))


def _entry_for(model: str, members: list[dict], columns: list[str]) -> tuple[dict | None, str]:
    """The task's entry of `model`; where it has none, that of a variant
    named `model-...` with no column of its own (the repeat-copy DNC is
    dnc-mds), and a note naming it, so the model's column is not empty."""
    entry = next((entry for entry in members if entry["model"] == model), None)
    if entry is not None:
        return entry, ""
    variants = [entry for entry in members if entry["model"].startswith(f"{model}-") and entry["model"] not in columns]
    return (variants[0], f" ({variants[0]['model']})") if variants else (None, "")


def _memory_note(entry: dict) -> str:
    """" (memory N=512)" where the run's memory is not the paper's 128 locations."""
    label = model_label(entry)
    return f" {label[len(entry['name']):].strip()}" if label != entry["name"] else ""


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
