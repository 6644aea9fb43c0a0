"""What a task's results are measured against: the sizes it must be solved at,
the paper's figures and docs/tasks.md section 6's targets, read from `ntm.paper`.

A task the paper does not report must be solved at its largest training size
and has no headline, figures or targets.
"""

from __future__ import annotations

import tasks

from ntm.paper import PAPER


def trained_sizes(task_name: str) -> list[dict[str, int]]:
    """The training sizes a run is evaluated (and must be solved) at."""
    if task_name in PAPER:
        return [dict(size) for size in PAPER[task_name].trained_sizes]
    return [tasks.get(task_name).largest_trained_size()]


def beyond_memory_sizes(task_name: str) -> list[dict[str, int]]:
    """Sizes evaluated with a memory large enough to hold the episode."""
    return [dict(size) for size in PAPER[task_name].beyond_memory] if task_name in PAPER else []


def headline(task_name: str) -> tuple[dict[str, int], str] | None:
    """(size, measure) of the task's main target, or None outside the paper."""
    return PAPER[task_name].headline if task_name in PAPER else None


def paper_figures(task_name: str, model: str) -> dict[str, str]:
    """The paper's figures for a model, keyed by `paper_key(size)` and "training"."""
    return PAPER[task_name].figures.get(model, {}) if task_name in PAPER else {}


def check_targets(task_name: str, results: list[dict]) -> list[dict]:
    """The targets for this task (docs/tasks.md section 6): [{"target", "met", "measured"}]."""
    if task_name not in PAPER:
        return []
    return PAPER[task_name].targets(lambda **size: result_at(results, **size))


def result_at(results: list[dict], **size) -> dict:
    """The result at `size` (a subset of its size keys) with the trained memory."""
    return next(r for r in results if r["memory_size"] is None and all(r["size"][k] == v for k, v in size.items()))

