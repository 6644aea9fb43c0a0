"""ntm/evaluation.py's figures from stub models whose logits are chosen by hand."""

import dataclasses
import math

import numpy as np
import pytest
import torch
from torch import nn

from ntm.evaluation import evaluate_batches, evaluate_size
from tasks.base import Batch, Task

LN3 = math.log(3.0)  # p(1) = 3/4: a 1 costs log2(4/3) bits, a 0 costs 2 bits
BITS_OF_A_LIKELY_ONE = math.log2(4 / 3)


class InputsAreLogits(nn.Module):
    """Returns its inputs as the logits, so a test writes the logits into the batch."""

    def __init__(self):
        super().__init__()
        self.memory_sizes = []

    def forward(self, inputs, memory_size=None, lengths=None):
        self.memory_sizes.append(memory_size)
        return inputs.clone()


class ConstantLogits(nn.Module):
    def __init__(self, value: float, width: int):
        super().__init__()
        self.value, self.width = value, width

    def forward(self, inputs, memory_size=None, lengths=None):
        return torch.full((*inputs.shape[:2], self.width), self.value)


@dataclasses.dataclass
class OnesTask(Task, name="ones", input_width=1, output_width=2, size_names=("length", "answer")):
    """`length` zero inputs, then `answer` scored steps whose targets are all ones."""

    generalisation_sizes = ()

    def complete_size(self, **size):
        size.setdefault("answer", 2)
        return size

    def generate(self, rng, n, length, answer):
        steps = length + answer
        mask = np.zeros((n, steps), bool)
        mask[:, length:] = True
        targets = np.zeros((n, steps, 2), np.float32)
        targets[:, length:] = 1.0
        return np.zeros((n, steps, 1), np.float32), targets, mask

    def optimal_cost_bits(self, targets, mask):
        return np.asarray(mask).sum(1) * 0.5  # half a bit per scored step, to see it averaged


def _batch(logits, targets, mask):
    return Batch(torch.tensor(logits, dtype=torch.float32), torch.tensor(targets, dtype=torch.float32),
                 torch.tensor(mask, dtype=torch.bool))


def test_figures_are_means_over_sequences_across_batches_of_different_sizes():
    first = _batch([[[LN3], [LN3]], [[LN3], [100.0]]],  # the second sequence ends in a padding step
                   [[[1.0], [1.0]], [[0.0], [0.0]]],
                   [[True, True], [True, False]])
    second = _batch([[[-LN3], [0.0]]], [[[0.0], [1.0]]], [[True, True]])
    figures = evaluate_batches(InputsAreLogits(), [first, second])
    # Per sequence: cost 2 x 0.415, 2 (+0 for padding), 0.415 + 1; bit errors 0, 1, 1.
    costs = [2 * BITS_OF_A_LIKELY_ONE, 2.0, BITS_OF_A_LIKELY_ONE + 1.0]
    assert figures["cost_bits"] == pytest.approx(sum(costs) / 3)
    assert figures["bit_errors"] == pytest.approx(2 / 3)
    assert figures["seq_accuracy"] == pytest.approx(1 / 3)


def test_the_memory_size_reaches_the_model_and_its_mode_is_restored():
    model = InputsAreLogits().train()
    batch = _batch([[[1.0]]], [[[1.0]]], [[True]])
    evaluate_batches(model, [batch, batch], memory_size=256)
    assert model.memory_sizes == [256, 256]
    assert model.training


def test_evaluate_size_figures_of_a_constant_guess_on_all_ones():
    task = OnesTask()
    result = evaluate_size(ConstantLogits(LN3, 2), task, {"length": 3, "answer": 4}, samples=5, batch_size=2)
    # 4 scored steps x 2 channels, each a likely 1; nothing wrong.
    assert result["cost_bits"] == pytest.approx(8 * BITS_OF_A_LIKELY_ONE)
    assert (result["bit_errors"], result["seq_accuracy"]) == (0.0, 1.0)
    assert result["optimal_cost_bits"] == pytest.approx(2.0)
    assert {k: result[k] for k in ("length", "answer", "samples")} == {"length": 3, "answer": 4, "samples": 5}


def test_evaluate_size_counts_every_scored_bit_an_even_guess_gets_wrong():
    result = evaluate_size(ConstantLogits(0.0, 2), OnesTask(), {"length": 5}, samples=3, batch_size=100)
    # The task completes the size with answer=2: 4 bits, each costing 1 bit and read as a 0.
    assert (result["cost_bits"], result["bit_errors"], result["seq_accuracy"]) == (4.0, 4.0, 0.0)
    assert result["answer"] == 2


def test_evaluate_size_builds_no_autograd_graph():
    seen = []

    class Recording(ConstantLogits):
        def forward(self, x, *args, **kwargs):
            seen.append(torch.is_inference_mode_enabled())
            return super().forward(x, *args, **kwargs)

    evaluate_size(Recording(0.0, 2), OnesTask(), {"length": 3}, samples=2, batch_size=2)
    assert seen and all(seen)  # a graph of 500 long sequences through an LSTM takes tens of GB
