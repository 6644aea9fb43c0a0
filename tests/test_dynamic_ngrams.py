"""Dynamic N-grams (docs/tasks.md section 2): bit sequences from a per-sequence 6-gram
table, the input lagging the target by one step, and the optimal Bayesian
estimator the model is measured against."""

import itertools
import math

import numpy as np
import pytest
import torch

from tasks.dynamic_ngrams import DynamicNGramsTask


def _marginal_probability(bits, order, beta):
    """Probability of a bit sequence under the task's prior, in closed form:
    1/2 per bit before the first full context, then for each context c with
    n1 ones and n0 zeros after it, the Beta-Bernoulli marginal
    B(n1 + beta, n0 + beta) / B(beta, beta)."""
    k = order - 1
    counts = {}
    for t in range(k, len(bits)):
        context = tuple(bits[t - k : t])
        ones, zeros = counts.get(context, (0, 0))
        counts[context] = (ones + bits[t], zeros + 1 - bits[t])

    def log_beta(a, b):
        return math.lgamma(a) + math.lgamma(b) - math.lgamma(a + b)

    log_p = -min(k, len(bits)) * math.log(2)
    for ones, zeros in counts.values():
        log_p += log_beta(ones + beta, zeros + beta) - log_beta(beta, beta)
    return math.exp(log_p)


def test_input_is_the_previous_target_bit_with_0_first():
    batch = DynamicNGramsTask().sample(8, 0)
    x, y = batch.inputs.numpy(), batch.targets.numpy()
    assert x.shape == y.shape == (8, 200, 1)
    assert (x[:, 0] == 0).all()
    np.testing.assert_array_equal(x[:, 1:], y[:, :-1])
    assert set(np.unique(y)) == {0.0, 1.0}


def test_every_step_is_scored():
    assert DynamicNGramsTask().sample(8, 0).mask.all()


def test_exact_length_overrides_the_training_length():
    assert DynamicNGramsTask().sample(2, 0, length=1000).steps == 1000


def test_training_sizes_are_the_fixed_length():
    sizes = DynamicNGramsTask(length=50).draw_sizes(np.random.default_rng(0), 5)
    assert sizes["length"].tolist() == [50] * 5


def test_sequences_follow_the_ngram_prior():
    # Small enough to enumerate: every 4-bit sequence under a 2-gram model.
    task = DynamicNGramsTask(length=4, order=2)
    sequences = 40_000
    y = task.sample(sequences, 0).targets.numpy()[..., 0].astype(int)
    codes = y @ (2 ** np.arange(4))
    observed = np.bincount(codes, minlength=16) / sequences
    for code, bits in enumerate(itertools.product([0, 1], repeat=4)):
        expected = _marginal_probability(list(bits)[::-1], order=2, beta=0.5)
        # The count of one sequence among independent draws is binomial:
        # within 5 standard errors of its expected share (16 such checks
        # fail by chance about once in 100,000 runs).
        standard_error = math.sqrt(expected * (1 - expected) / sequences)
        assert abs(observed[code] - expected) <= 5 * standard_error, bits


def test_estimator_cost_of_a_hand_worked_sequence():
    # Five bits before the first full context cost 1 bit each; the 6th bit's
    # context 11111 is new (P = 1/2, 1 bit); the 7th bit sees the same context
    # once followed by a 1, so P(1) = (1 + 1/2) / (1 + 1) = 3/4.
    task = DynamicNGramsTask()
    ones = np.ones((1, 7, 1))
    ending_in_zero = np.array([[1, 1, 1, 1, 1, 1, 0]])
    assert task.optimal_cost_bits(ones)[0] == pytest.approx(6 + math.log2(4 / 3))
    assert task.optimal_cost_bits(ending_in_zero)[0] == pytest.approx(6 + 2)


def test_estimator_cost_is_minus_log2_of_the_sequence_prior_probability():
    task = DynamicNGramsTask(length=60, order=3)
    y = task.sample(5, 0).targets.numpy()[..., 0].astype(int)
    expected = [-math.log2(_marginal_probability(list(row), order=3, beta=0.5)) for row in y]
    np.testing.assert_allclose(task.optimal_cost_bits(y), expected, rtol=1e-9)


def test_estimator_expected_cost_on_200_bit_sequences_is_about_133_bits():
    # Per-sequence costs spread widely (std ~36 bits), so 20k sequences are
    # needed for a standard error (~0.25 bits) well inside the 1-bit tolerance.
    task = DynamicNGramsTask()
    batch = task.sample(20_000, 0)
    assert task.optimal_cost_bits(batch.targets).mean() == pytest.approx(133.1, abs=1.0)


def test_estimator_accepts_torch_and_numpy_with_or_without_a_channel_axis():
    task = DynamicNGramsTask()
    targets = task.sample(4, 0).targets
    reference = task.optimal_cost_bits(targets)
    np.testing.assert_array_equal(task.optimal_cost_bits(targets.numpy()), reference)
    np.testing.assert_array_equal(task.optimal_cost_bits(targets[..., 0]), reference)
    assert reference.shape == (4,)


def test_estimator_leaves_out_masked_padding():
    task = DynamicNGramsTask()
    batch = task.sample(4, 0, length=30)
    padded = torch.cat([batch.targets, torch.ones(4, 10, 1)], dim=1)
    mask = torch.cat([batch.mask, torch.zeros(4, 10, dtype=torch.bool)], dim=1)
    np.testing.assert_allclose(task.optimal_cost_bits(padded, mask), task.optimal_cost_bits(batch.targets))


def test_memory_needed_is_the_number_of_contexts():
    assert DynamicNGramsTask().memory_needed(length=200) == 32


@pytest.mark.parametrize(
    "fields, message",
    [
        (dict(length=0), "length"),
        (dict(order=0), "order"),
        (dict(beta=0.0), "beta"),
    ],
)
def test_invalid_fields_are_rejected_with_a_message_naming_them(fields, message):
    with pytest.raises(ValueError, match=message):
        DynamicNGramsTask(**fields)
