"""NTM controllers: the network that sees the input and the last reads.

Both map [B, in] and a state to an output [B, hidden] and a new state, so the
machine can use either. The state is a tuple of tensors (empty for the
feedforward controller) so it fits in the NTM's NamedTuple state.
"""

from __future__ import annotations

import torch
from torch import nn


class LSTMController(nn.Module):
    """A stack of LSTM cells; the top layer's hidden state is the output."""

    def __init__(self, input_size: int, hidden_size: int, layers: int = 1):
        super().__init__()
        sizes = [input_size] + [hidden_size] * (layers - 1)
        self.cells = nn.ModuleList(nn.LSTMCell(size, hidden_size) for size in sizes)
        self.hidden_size = hidden_size

    def initial_state(self, batch_size: int, device=None, dtype=None) -> tuple[torch.Tensor, ...]:
        zeros = torch.zeros(batch_size, self.hidden_size, device=device, dtype=dtype)
        # (h, c) per layer, flattened: h0, c0, h1, c1, ...
        return tuple(zeros for _ in range(2 * len(self.cells)))

    def forward(self, x: torch.Tensor, state: tuple[torch.Tensor, ...]):
        new_state = []
        for layer, cell in enumerate(self.cells):
            h, c = cell(x, (state[2 * layer], state[2 * layer + 1]))
            new_state += [h, c]
            x = h
        return x, tuple(new_state)


class FeedforwardController(nn.Module):
    """Layers of tanh units with no recurrence: all memory goes through the NTM's memory (NTM-FF)."""

    def __init__(self, input_size: int, hidden_size: int, layers: int = 1):
        super().__init__()
        sizes = [input_size] + [hidden_size] * layers
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:]))
        self.hidden_size = hidden_size

    def initial_state(self, batch_size: int, device=None, dtype=None) -> tuple[torch.Tensor, ...]:
        return ()

    def forward(self, x: torch.Tensor, state: tuple[torch.Tensor, ...]):
        for layer in self.layers:
            x = torch.tanh(layer(x))
        return x, state
