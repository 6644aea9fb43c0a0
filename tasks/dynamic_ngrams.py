"""Dynamic N-grams (Graves et al. 2014, section 4.4): predict the next bit of a
sequence drawn from a 6-gram model that is itself drawn afresh per sequence.

Each sequence gets a table of 32 probabilities, one per 5-bit context, each
Beta(1/2, 1/2). Bits b1..b5 are fair coin flips; each later bit is 1 with the
table's probability for the five bits before it. The input at step t is
b(t-1) (0 at step 1) and the target is b(t); every step is scored:

    inputs   0 1 0 0 1 1 1 ...
    targets  1 0 0 1 1 1 0 ...
    mask     x x x x x x x ...

The best any predictor can do is the Bayesian estimator in
`optimal_cost_bits`, about 133.1 bits per 200-bit sequence.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import torch

from .base import Task


@dataclasses.dataclass
class DynamicNGramsTask(Task, name="dynamic-ngrams", input_width=1, output_width=1, size_names=("length",)):
    generalisation_sizes = ({"length": 200}, {"length": 1000})
    size_axis_label = "sequence length (bits)"
    best_by = "cost_bits"  # targets are coin flips: bit errors stay near 48 whatever the model
    targets_are_later_inputs = True  # the target at step t is the input at t + 1

    length: int = 200  # paper: 200-bit sequences for training
    order: int = 6  # paper: 6-grams, i.e. a bit depends on the 5 before it
    beta: float = 0.5  # paper: table entries ~ Beta(1/2, 1/2)

    def __post_init__(self):
        if self.length < 1:
            raise ValueError(f"dynamic-ngrams: length must be at least 1, got {self.length}")
        if self.order < 1:
            raise ValueError(
                f"dynamic-ngrams: order must be at least 1 (a 1-gram has no context), got {self.order}"
            )
        if not self.beta > 0:
            raise ValueError(f"dynamic-ngrams: beta must be positive (Beta(beta, beta) prior), got {self.beta}")

    @property
    def contexts(self) -> int:
        """Number of contexts (2**(order-1)), one table entry each."""
        return 2 ** (self.order - 1)

    def training_range(self):
        return {"length": (self.length, self.length)}

    def size_label(self, size):
        return f"{size['length']} bits"

    def draw_sizes(self, rng, n):
        return {"length": np.full(n, self.length)}

    def generate(self, rng, n, length):
        table = rng.beta(self.beta, self.beta, size=(n, self.contexts))  # [n, contexts]
        uniform = rng.random((n, length))  # [n, length]
        bits = np.zeros((n, length), np.int64)
        rows = np.arange(n)
        context = np.zeros(n, np.int64)  # the previous order-1 bits, newest in the lowest place
        for t in range(length):
            p_one = 0.5 if t < self.order - 1 else table[rows, context]
            bits[:, t] = uniform[:, t] < p_one
            context = self._next_context(context, bits[:, t])

        inputs = np.zeros((n, length, 1), np.float32)
        inputs[:, 1:, 0] = bits[:, :-1]
        targets = bits[:, :, None].astype(np.float32)
        mask = np.ones((n, length), bool)
        return inputs, targets, mask

    def optimal_cost_bits(self, targets, mask=None) -> np.ndarray:
        """Cost in bits per sequence of the optimal Bayesian predictor (docs/tasks.md section 2).

        P(1 | context c) = (N1 + beta) / (N1 + N0 + 2 beta), with N1, N0 the ones
        and zeros seen after c so far in this sequence; 1/2 for the first
        order-1 bits. `targets` is [B, T, 1] or [B, T] (NumPy or torch);
        `mask` [B, T], if given, leaves out the false steps (end padding).
        Returns a float64 array [B].
        """
        bits = _numpy(targets)
        if bits.ndim == 3:
            bits = bits[..., 0]
        bits = (bits > 0.5).astype(np.int64)  # [B, T]
        scored = np.ones(bits.shape, bool) if mask is None else _numpy(mask).astype(bool)
        if scored.shape != bits.shape:
            raise ValueError(f"mask shape {scored.shape} does not match targets' [B, T] {bits.shape}")

        batch, steps = bits.shape
        rows = np.arange(batch)
        counts = np.zeros((batch, self.contexts, 2))  # [B, contexts, (zeros, ones)]
        context = np.zeros(batch, np.int64)
        cost = np.zeros(batch)
        for t in range(steps):
            bit = bits[:, t]
            if t < self.order - 1:
                p_one = np.full(batch, 0.5)
            else:
                seen = counts[rows, context]  # [B, 2]
                p_one = (seen[:, 1] + self.beta) / (seen.sum(axis=1) + 2 * self.beta)
                counts[rows, context, bit] += 1
            p_bit = np.where(bit == 1, p_one, 1.0 - p_one)
            cost -= np.where(scored[:, t], np.log2(p_bit), 0.0)
            context = self._next_context(context, bit)
        return cost

    def _next_context(self, context: np.ndarray, bit: np.ndarray) -> np.ndarray:
        return ((context << 1) | bit) & (self.contexts - 1)

    def memory_needed(self, length):
        return self.contexts


def _numpy(array) -> np.ndarray:
    if isinstance(array, torch.Tensor):
        return array.detach().cpu().numpy()
    return np.asarray(array)
