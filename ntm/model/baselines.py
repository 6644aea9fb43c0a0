"""Recurrent baselines behind the NTM's interface: inputs [B,T,in] -> logits [B,T,out].

The paper's LSTM is a stack of 3 layers (docs/tasks.md section 5); GRU and plain RNN
are the other cells people compare against, at the LSTM's sizes. BiLSTM reads
the whole input in both directions before each output: an upper bound for a
recurrent network on tasks whose targets are never later inputs.
"""

from __future__ import annotations

import dataclasses

import torch
from torch import nn

from ntm.config import ModelConfig
from ntm.model.padding import run_by_length, saves_steps

CELLS = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}


@dataclasses.dataclass(frozen=True)
class RecurrentOptions:
    # Added to the LSTM's forget-gate bias at initialisation, in every layer
    # (and direction). 1 starts each cell remembering rather than forgetting
    # (Gers et al. 2000; Jozefowicz et al. 2015); 0 keeps torch's init.
    forget_bias: float = 0.0


class RecurrentBaseline(nn.Module):
    Options = RecurrentOptions

    def __init__(self, input_width: int, output_width: int, config: ModelConfig, cell: str = "lstm",
                 bidirectional: bool = False, options: RecurrentOptions = RecurrentOptions()):
        super().__init__()
        if config.hidden_size < 1 or config.layers < 1:
            raise ValueError("baseline hidden_size and layers must be at least 1")
        if cell not in CELLS:
            raise ValueError(f"cell must be one of {', '.join(CELLS)}, got {cell!r}")
        if options.forget_bias and cell != "lstm":
            raise ValueError(f"forget_bias is an LSTM option: a {cell} cell has no forget gate")
        self.config = config
        self.input_width, self.output_width = input_width, output_width
        self.rnn = CELLS[cell](input_width, config.hidden_size, config.layers, batch_first=True,
                                       bidirectional=bidirectional)
        self.output = nn.Linear(config.hidden_size * (2 if bidirectional else 1), output_width)
        if options.forget_bias:
            self._add_forget_bias(options.forget_bias)

    @torch.no_grad()
    def _add_forget_bias(self, value: float) -> None:
        """torch orders an LSTM's gates input, forget, cell, output, so the
        forget gate's bias is the second quarter of bias_ih (bias_hh adds to
        it; one of the two is enough)."""
        hidden = self.config.hidden_size
        for name, bias in self.rnn.named_parameters():
            if name.startswith("bias_ih"):
                bias[hidden:2 * hidden] += value

    def forward(self, inputs: torch.Tensor, memory_size: int | None = None, trace: bool = False,
                lengths: torch.Tensor | None = None) -> torch.Tensor:
        """memory_size and trace exist for the shared interface: a baseline has no
        memory to size or trace. lengths, where given, let a one-way network skip
        most of a mixed-length batch's padding (ntm.model.padding)."""
        if trace:
            raise ValueError(f"a {self.config.name} baseline has no memory to trace; only NTM models do")
        if not self.rnn.bidirectional and saves_steps(inputs, lengths):
            # BiLSTM runs its padding: its backward direction reads it, so
            # skipping it would change the function its runs learnt.
            return self.output(run_by_length(lambda x: self.rnn(x)[0], inputs, lengths))
        hidden, _ = self.rnn(inputs)  # [B, T, hidden] (bilstm: [B, T, 2 * hidden])
        return self.output(hidden)
