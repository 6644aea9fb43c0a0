"""The paper's measures (ntm/metrics.py) on cases small enough to check by hand.

A logit of ln 3 is a probability of 3/4: a target of 1 costs log2(4/3) =
0.415 bits there and a target of 0 costs log2(4) = 2 bits. A logit of 0 is
1/2 either way: one bit, and it is read as a 0.
"""

import math

import pytest
import torch

from ntm.metrics import (SOLVED_BIT_ERRORS, per_sequence_bit_errors, per_sequence_cost_bits, summarise,
                         training_loss)

LN3 = math.log(3.0)


def _t(values, dtype=torch.float32):
    return torch.tensor(values, dtype=dtype)


def test_cost_of_an_even_guess_is_one_bit_per_scored_output_bit():
    logits = torch.zeros(2, 3, 4)  # [B, T, out]
    targets = (torch.arange(24).reshape(2, 3, 4) % 2).float()  # half ones, half zeros
    mask = _t([[True, True, True], [True, False, False]], torch.bool)
    assert per_sequence_cost_bits(logits, targets, mask).tolist() == pytest.approx([12.0, 4.0])


def test_cost_in_bits_of_a_three_to_one_guess():
    logits = _t([[[LN3], [LN3]]])  # p(1) = 3/4 at both steps
    targets = _t([[[1.0], [0.0]]])
    mask = torch.ones(1, 2, dtype=torch.bool)
    assert per_sequence_cost_bits(logits, targets, mask).item() == pytest.approx(math.log2(4 / 3) + 2.0)


def test_padding_costs_nothing_however_wrong_the_output():
    logits = _t([[[LN3], [-100.0], [100.0]]])
    targets = _t([[[1.0], [1.0], [0.0]]])
    mask = _t([[True, False, False]], torch.bool)  # two padding steps at the end
    assert per_sequence_cost_bits(logits, targets, mask).item() == pytest.approx(math.log2(4 / 3))


def test_a_confident_wrong_bit_costs_a_large_finite_amount():
    cost = per_sequence_cost_bits(_t([[[-100.0]]]), _t([[[1.0]]]), torch.ones(1, 1, dtype=torch.bool))
    assert cost.item() == pytest.approx(100 / math.log(2), rel=1e-6)


def test_bit_errors_count_wrong_bits_on_scored_steps_only():
    logits = _t([[[2.0, -2.0], [0.0, 1.0], [5.0, 5.0]],
                 [[-1.0, -1.0], [-1.0, -1.0], [0.0, 0.0]]])
    targets = _t([[[1.0, 1.0], [1.0, 1.0], [0.0, 0.0]],
                  [[0.0, 0.0], [0.0, 1.0], [1.0, 1.0]]])
    mask = _t([[True, True, False], [True, True, True]], torch.bool)
    # Sequence 0: channel 1 of step 0, and step 1's logit 0 read as a 0 against a 1; step 2 is padding.
    # Sequence 1: channel 1 of step 1, and both bits of step 2.
    assert per_sequence_bit_errors(logits, targets, mask).tolist() == [2.0, 3.0]


def test_summarise_averages_over_sequences_and_counts_perfect_ones():
    logits = _t([[[LN3], [LN3]], [[LN3], [LN3]]])
    targets = _t([[[1.0], [1.0]], [[0.0], [1.0]]])
    mask = _t([[True, True], [True, False]], torch.bool)
    figures = summarise(logits, targets, mask)
    assert figures["cost_bits"] == pytest.approx((2 * math.log2(4 / 3) + 2.0) / 2)
    assert figures["bit_errors"] == pytest.approx(0.5)
    assert figures["seq_accuracy"] == pytest.approx(0.5)


def test_training_loss_is_the_mean_per_scored_bit_in_nats():
    logits = torch.zeros(2, 3, 2)
    targets = torch.ones(2, 3, 2)
    mask = _t([[True, True, True], [True, False, False]], torch.bool)
    assert training_loss(logits, targets, mask).item() == pytest.approx(math.log(2.0))


def test_training_loss_of_a_batch_with_nothing_scored_is_zero():
    loss = training_loss(torch.zeros(1, 2, 3), torch.ones(1, 2, 3), torch.zeros(1, 2, dtype=torch.bool))
    assert loss.item() == 0.0


def test_solved_means_under_a_tenth_of_a_bit_error_per_sequence():
    assert SOLVED_BIT_ERRORS == 0.1
