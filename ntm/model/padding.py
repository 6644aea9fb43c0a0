"""Skipping the padding of a mixed-length batch, for models whose output at a
step depends on no later step: the one-way recurrent baselines and the causal
Transformer.

The batch runs as groups of similar length, each only as far as its longest
sample. The steps skipped are padding: never scored, and no earlier step
depends on them, so the scored outputs and every gradient are those of the
padded batch. torch's packed sequences skip all of it, but ran slower than
the padded batch on CPU (BENCHMARKS.md, "Skipping padding").
"""

from __future__ import annotations

from typing import Callable

import torch
from torch.nn import functional as F

# Groups smaller than this lose more to thin matrix products than they save in padding.
ROWS_PER_GROUP = 16


def saves_steps(inputs: torch.Tensor, lengths: torch.Tensor | None) -> bool:
    """Whether `inputs` [B, T, ...] is a batch that running by length would shorten:
    at least two groups, and a sample shorter than T."""
    return lengths is not None and inputs.shape[0] // ROWS_PER_GROUP > 1 and int(lengths.min()) < inputs.shape[1]


def run_by_length(run: Callable[[torch.Tensor], torch.Tensor], inputs: torch.Tensor,
                  lengths: torch.Tensor) -> torch.Tensor:
    """run(inputs [b, t, in]) -> [b, t, out], over groups of samples of similar
    length, each cut after its longest sample; the steps cut come back zero."""
    lengths = lengths.cpu()
    order = torch.argsort(lengths, stable=True)
    steps = inputs.shape[1]
    pieces = []
    for group in order.chunk(inputs.shape[0] // ROWS_PER_GROUP):
        longest = int(lengths[group].max())
        out = run(inputs[group.to(inputs.device), :longest])
        pieces.append(F.pad(out, (0, 0, 0, steps - longest)))
    return torch.cat(pieces)[torch.argsort(order).to(inputs.device)]
