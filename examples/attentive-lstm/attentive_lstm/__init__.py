"""An LSTM that attends over its own past hidden states: a classic "memory
without a memory" baseline, and an example of a model brought to ntm from
outside (docs/models.md).

At step t the LSTM's hidden state h_t asks, by dot product, which of the
states h_1..h_t it resembles, and the output reads h_t beside their weighted
sum. Nothing is written anywhere: the states themselves are the memory.
"""

from __future__ import annotations

import math

import torch
from torch import nn


class AttentiveLSTM(nn.Module):
    """An LSTM that attends over its own past hidden states."""

    def __init__(self, input_width: int, output_width: int, hidden_size: int = 100, layers: int = 1):
        super().__init__()
        self.lstm = nn.LSTM(input_width, hidden_size, layers, batch_first=True)
        self.query = nn.Linear(hidden_size, hidden_size)
        self.output = nn.Linear(2 * hidden_size, output_width)

    def forward(self, inputs: torch.Tensor, trace: bool = False):
        """inputs [B, T, in] -> logits [B, T, out]; with trace=True also the
        attention over past steps, {"attention": [B, T, T]} (query step, key step)."""
        hidden, _ = self.lstm(inputs)  # [B, T, H]
        scores = self.query(hidden) @ hidden.transpose(1, 2) / math.sqrt(hidden.shape[-1])  # [B, T, T]
        future = torch.ones(scores.shape[-2:], dtype=torch.bool, device=inputs.device).triu(1)
        weights = scores.masked_fill(future, float("-inf")).softmax(dim=-1)  # a step sees itself and the past
        logits = self.output(torch.cat([hidden, weights @ hidden], dim=-1))
        return (logits, {"attention": weights}) if trace else logits
