"""The paper's facts, one entry per task: what Graves et al. (2014) trained
and reported, and the targets docs/tasks.md section 6 sets from it.

A task the paper does not report needs no entry: it trains with the default
`ModelConfig` sizes and is reported without a paper column or targets.

Each entry holds:
- `model_sizes`: (hidden_size, layers, heads) of the NTM with an LSTM
  controller ("ntm") and with a feedforward one ("ntm-ff"), and
  (hidden_size, layers) of the LSTM baseline ("lstm");
- `trained_sizes`: the sizes a run must be solved at (bit errors below
  SOLVED_BIT_ERRORS) to count as trained: every training length for copy,
  the largest training size elsewhere;
- `beyond_memory`: sizes evaluated with a memory large enough to hold the
  episode (docs/tasks.md section 4: N is a run-time setting);
- `headline`: the size and measure of the main target, the one figure the
  seeds of a model are compared on;
- `targets`: a function from the results (`at(**size)` gives the result at a
  size) to the targets met or not;
- `figures`: the paper's figures per model and size ("length=100"; "training"
  is the learning curve's level). docs/tasks.md gives one "paper's NTM" column, used
  for both controllers, except in associative recall;
- `levels`: the paper's cost per sequence in bits as (label, low, high) lines
  on the learning curves; low < high where the paper's plot only gives a range.
"""

from __future__ import annotations

import dataclasses
from typing import Callable

from ntm.metrics import SOLVED_BIT_ERRORS

Size = dict[str, int]
# `at(length=100)`: the result at a size, evaluated with the trained memory.
ResultAt = Callable[..., dict]


@dataclasses.dataclass(frozen=True)
class PaperTask:
    model_sizes: dict[str, tuple[int, ...]]
    trained_sizes: tuple[Size, ...]
    headline: tuple[Size, str]
    targets: Callable[[ResultAt], list[dict]]
    figures: dict[str, dict[str, str]]
    levels: tuple[tuple[str, float, float], ...]
    beyond_memory: tuple[Size, ...] = ()


def target(text: str, met: bool, measured: str) -> dict:
    """One target as the report states it."""
    return {"target": text, "met": bool(met), "measured": measured}


def _copy_targets(at: ResultAt) -> list[dict]:
    trained = [at(length=n) for n in range(1, 21)]
    worst = max(trained, key=lambda r: (r["bit_errors"], r["cost_bits"]))
    long = at(length=100)
    return [target(f"bit errors < {SOLVED_BIT_ERRORS} per sequence at every length 1–20",
                   all(r["bit_errors"] < SOLVED_BIT_ERRORS for r in trained),
                   f"worst {worst['bit_errors']:.3f} at length {worst['length']}"),
            target("bit errors ≤ 1 per sequence at length 100", long["bit_errors"] <= 1,
                   f"{long['bit_errors']:.3f}")]


def _repeat_copy_targets(at: ResultAt) -> list[dict]:
    trained, longer = at(length=10, repeats=10), at(length=20, repeats=10)
    return [target(f"solved (bit errors < {SOLVED_BIT_ERRORS} per sequence) at length 10 × 10 repeats, "
                   "the training maximum", trained["bit_errors"] < SOLVED_BIT_ERRORS,
                   f"{trained['bit_errors']:.3f}"),
            target("bit errors ≤ 1 per sequence at length 20 × 10 repeats", longer["bit_errors"] <= 1,
                   f"{longer['bit_errors']:.3f}")]


def _associative_recall_targets(at: ResultAt) -> list[dict]:
    r = at(items=12)
    return [target("cost < 1 bit per sequence at 12 items", r["cost_bits"] < 1, f"{r['cost_bits']:.3f} bits")]


def _dynamic_ngrams_targets(at: ResultAt) -> list[dict]:
    r = at(length=200)
    excess = r["cost_bits"] - r["optimal_cost_bits"]
    return [target("cost within 1 bit of the optimal estimator at 200 bits", excess <= 1,
                   f"{r['cost_bits']:.3f} against {r['optimal_cost_bits']:.3f}, {excess:+.3f} bits")]


def _priority_sort_targets(at: ResultAt) -> list[dict]:
    r = at(length=20, outputs=16)
    return [target("cost < 18 bits per sequence at 20 inputs → 16 outputs", r["cost_bits"] < 18,
                   f"{r['cost_bits']:.3f} bits")]


_COPY_NTM = {"training": "≈0 bits by ≈100k sequences", "length=100": "copied (after training on ≤20)",
             "length=120": "a few errors (memory of 128 wraps)"}
_REPEAT_NTM = {"training": "≈0 by ≈50k sequences", "length=20,repeats=10": "generalises",
               "length=10,repeats=20": "copies, but mis-places the end marker after the 11th repeat"}
_NGRAMS_NTM = {"training": "≈133.5–134 bits (optimum ≈133.1)"}
_SORT_NTM = {"training": "≈18–20 bits at 1M sequences"}

PAPER: dict[str, PaperTask] = {
    "copy": PaperTask(
        model_sizes={"ntm": (100, 1, 1), "ntm-ff": (100, 1, 1), "lstm": (256, 3)},
        trained_sizes=tuple({"length": n} for n in range(1, 21)),
        beyond_memory=({"length": 200},),
        headline=({"length": 100}, "bit_errors"),
        targets=_copy_targets,
        figures={"ntm": _COPY_NTM, "ntm-ff": _COPY_NTM,
                 "lstm": {"training": "≈0.5 bits after 600k–1M sequences",
                          **{f"length={n}": "fails past length 20" for n in (30, 50, 100, 120)}}},
        levels=(("paper NTM ≈0", 0.0, 0.0), ("paper LSTM ≈0.5", 0.5, 0.5)),
    ),
    "repeat-copy": PaperTask(
        model_sizes={"ntm": (100, 1, 1), "ntm-ff": (100, 1, 1), "lstm": (512, 3)},
        trained_sizes=({"length": 10, "repeats": 10},),
        headline=({"length": 20, "repeats": 10}, "bit_errors"),
        targets=_repeat_copy_targets,
        figures={"ntm": _REPEAT_NTM, "ntm-ff": _REPEAT_NTM,
                 "lstm": {"training": "≈0 by ≈150k sequences", "length=20,repeats=10": "fails",
                          "length=10,repeats=20": "fails"}},
        levels=(("paper NTM and LSTM ≈0", 0.0, 0.0),),
    ),
    "associative-recall": PaperTask(
        model_sizes={"ntm": (100, 1, 1), "ntm-ff": (256, 1, 4), "lstm": (256, 3)},
        trained_sizes=({"items": 6},),
        headline=({"items": 12}, "cost_bits"),
        targets=_associative_recall_targets,
        figures={"ntm": {"training": "≈0", "items=10": "≈1.8 bits", "items=15": "≈4.8 bits", "items=20": "≈7.0 bits"},
                 "ntm-ff": {"training": "≈0 within ≈30k episodes", "items=12": "nearly perfect", "items=15": "< 1 bit"},
                 "lstm": {"training": "≈0.5 after 1M episodes",
                          **{f"items={n}": "≈36–40 bits (at 10+ items)" for n in (10, 12, 15, 20)}}},
        levels=(("paper NTM ≈0", 0.0, 0.0), ("paper LSTM ≈0.5", 0.5, 0.5)),
    ),
    "dynamic-ngrams": PaperTask(
        model_sizes={"ntm": (100, 1, 1), "ntm-ff": (100, 1, 1), "lstm": (128, 3)},
        trained_sizes=({"length": 200},),
        headline=({"length": 200}, "cost_bits"),
        targets=_dynamic_ngrams_targets,
        figures={"ntm": _NGRAMS_NTM, "ntm-ff": _NGRAMS_NTM, "lstm": {"training": "≈136 bits (optimum ≈133.1)"}},
        levels=(("Bayes optimum 133.1", 133.1, 133.1), ("paper NTM ≈133.5–134", 133.5, 134.0),
                ("paper LSTM ≈136", 136.0, 136.0)),
    ),
    "priority-sort": PaperTask(
        model_sizes={"ntm": (100, 2, 5), "ntm-ff": (512, 1, 8), "lstm": (128, 3)},
        trained_sizes=({"length": 20, "outputs": 16},),
        headline=({"length": 20, "outputs": 16}, "cost_bits"),
        targets=_priority_sort_targets,
        figures={"ntm": _SORT_NTM, "ntm-ff": _SORT_NTM, "lstm": {"training": "≈58 bits"}},
        levels=(("paper NTM ≈18–20", 18.0, 20.0), ("paper LSTM ≈58", 58.0, 58.0)),
    ),
}


# The tasks `ntm bench` times: the paper's first, and its largest machine (an
# LSTM controller of 2 x 100 units with 5 heads each way).
BENCH_TASK = "copy"
MANY_HEADS_TASK = "priority-sort"


def paper_key(size: Size) -> str:
    """"length=20,repeats=10": the key of a size in a `figures` table."""
    return ",".join(f"{k}={v}" for k, v in size.items())
