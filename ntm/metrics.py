"""The paper's measures (docs/tasks.md section 3), per sequence and averaged over a batch."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def per_sequence_cost_bits(logits: torch.Tensor, targets: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Binary cross-entropy in bits summed over scored steps and channels: [B].

    Computed from logits, never from probabilities, so a confident wrong
    output costs a large finite amount instead of log(0).
    """
    nats = F.binary_cross_entropy_with_logits(logits, targets, reduction="none")  # [B, T, out]
    return (nats.sum(-1) * mask).sum(-1) / math.log(2.0)


def per_sequence_bit_errors(logits: torch.Tensor, targets: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Scored output bits wrong after thresholding sigmoid(logits) at 0.5: [B]."""
    wrong = (logits > 0) != (targets > 0.5)
    return (wrong.sum(-1) * mask).sum(-1).float()


def training_loss(logits: torch.Tensor, targets: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy per scored output bit: the gradient scale does not grow with length."""
    nats = F.binary_cross_entropy_with_logits(logits, targets, reduction="none").sum(-1)
    scored_bits = mask.sum() * targets.shape[-1]
    return (nats * mask).sum() / scored_bits.clamp_min(1)


def summarise(logits: torch.Tensor, targets: torch.Tensor, mask: torch.Tensor) -> dict[str, float]:
    """cost_bits, bit_errors and seq_accuracy averaged over the batch."""
    cost = per_sequence_cost_bits(logits, targets, mask)
    errors = per_sequence_bit_errors(logits, targets, mask)
    return {
        "cost_bits": cost.mean().item(),
        "bit_errors": errors.mean().item(),
        "seq_accuracy": (errors == 0).float().mean().item(),
    }


SOLVED_BIT_ERRORS = 0.1  # Collier & Beel's convergence test: < 0.1 bit errors per sequence
