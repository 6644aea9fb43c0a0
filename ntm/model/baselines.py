"""Recurrent baselines behind the NTM's interface: inputs [B,T,in] -> logits [B,T,out].

The paper's LSTM is a stack of 3 layers (docs/tasks.md section 5); GRU and plain RNN
are the other cells people compare against, at the LSTM's sizes. BiLSTM reads
the whole input in both directions before each output: an upper bound for a
recurrent network on tasks whose targets are never later inputs.
"""

from __future__ import annotations

import torch
from torch import nn

from ntm.config import ModelConfig

_CELLS = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN, "bilstm": nn.LSTM}


class RecurrentBaseline(nn.Module):
    def __init__(self, input_width: int, output_width: int, config: ModelConfig):
        super().__init__()
        if config.hidden_size < 1 or config.layers < 1:
            raise ValueError("baseline hidden_size and layers must be at least 1")
        self.config = config
        self.input_width, self.output_width = input_width, output_width
        bidirectional = config.name == "bilstm"
        self.rnn = _CELLS[config.name](input_width, config.hidden_size, config.layers, batch_first=True,
                                       bidirectional=bidirectional)
        self.output = nn.Linear(config.hidden_size * (2 if bidirectional else 1), output_width)

    def forward(self, inputs: torch.Tensor, memory_size: int | None = None, trace: bool = False,
                lengths: torch.Tensor | None = None) -> torch.Tensor:
        """memory_size, trace and lengths exist for the shared interface; a baseline
        has no memory to size or trace, and runs its padding like any input."""
        if trace:
            raise ValueError(f"a {self.config.name} baseline has no memory to trace; only NTM models do")
        hidden, _ = self.rnn(inputs)  # [B, T, hidden] (bilstm: [B, T, 2 * hidden])
        return self.output(hidden)
