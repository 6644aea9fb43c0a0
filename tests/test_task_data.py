"""Task data is random: fair data bits, and new data for a new seed.

Without these an all-zero generator would pass every copy, repeat-copy and
priority-sort test, whose targets are built from whatever the inputs hold.
Channel layouts as in docs/tasks.md section 2."""

import math

import numpy as np
import pytest

import tasks

BITS = 10_000  # about; each task draws whole sequences of one size to reach it
SIGMAS = 5  # a fair generator fails the bound about once in 1.7 million runs


def within_bound(values, mean, variance):
    """|mean(values) - mean| within SIGMAS standard errors of the mean of
    len(values) independent draws of that variance."""
    values = np.asarray(values, np.float64).ravel()
    return abs(values.mean() - mean) <= SIGMAS * math.sqrt(variance / values.size)


def fair_bits(values):
    return within_bound(values, 0.5, 0.25)


def data_bits(name, batch):
    """The random data bits of a batch's inputs and of its scored targets: [inputs' bits], [targets' bits]."""
    inputs, targets, mask = batch.inputs.numpy(), batch.targets.numpy(), batch.mask.numpy()
    if name == "copy":
        length = (inputs.shape[1] - 1) // 2
        return inputs[:, :length, :8], targets[mask][:, :8]
    if name == "repeat-copy":
        length = int(np.argmax(inputs[0, :, 8]))  # the delimiter follows the data steps
        # The first repeat only: later ones repeat the same bits, and the end marker's step has none.
        return inputs[:, :length, :8], targets[:, length + 1 : 2 * length + 1, :8]
    if name == "associative-recall":
        listing = inputs[:, : int(np.argmax(inputs[0, :, 7]))]  # up to the first query delimiter
        items = listing.reshape(len(inputs), -1, 4, 8)[:, :, 1:, :6]  # each item: a delimiter step, 3 vectors
        return items, targets[mask]
    if name == "priority-sort":
        length = int(np.argmax(inputs[0, :, 9]))
        return inputs[:, :length, :8], targets[mask]
    raise KeyError(name)


SIZES = {  # one size per task, and how many sequences give about BITS data bits
    "copy": ({"length": 20}, BITS // (20 * 8)),
    "repeat-copy": ({"length": 10, "repeats": 2}, BITS // (10 * 8)),
    "associative-recall": ({"items": 6}, BITS // (6 * 3 * 6)),
    "priority-sort": ({"length": 20, "outputs": 16}, BITS // (20 * 8)),
}


@pytest.mark.parametrize("name", SIZES)
def test_data_bits_are_fair_coin_flips(name):
    size, sequences = SIZES[name]
    inputs, targets = data_bits(name, tasks.get(name).sample(sequences, rng=0, **size))
    assert inputs.size >= 0.98 * BITS
    assert fair_bits(inputs), f"input data bits average {inputs.mean():.4f}"
    assert fair_bits(targets), f"target bits average {targets.mean():.4f}"


def test_dynamic_ngrams_bits_are_fair_on_average():
    batch = tasks.get("dynamic-ngrams").sample(BITS // 5, rng=0)
    bits = batch.targets.numpy()[:, :, 0]  # [B, 200]
    assert fair_bits(bits[:, :5]), "the first five bits are fair coin flips"
    # Later bits follow each sequence's own table, so they are not independent
    # within a sequence; the sequences are, and by the symmetry of Beta(1/2, 1/2)
    # each has mean 1/2. The standard error comes from the spread of their means.
    per_sequence = bits.mean(axis=1)
    assert within_bound(per_sequence, 0.5, per_sequence.var(ddof=1))
    assert per_sequence.std() > 0.1  # each sequence is biased its own way: its table is random


def test_priority_sort_priorities_are_uniform_in_minus_one_to_one():
    batch = tasks.get("priority-sort").sample(500, rng=0)
    priorities = batch.inputs.numpy()[:, :20, 8]
    assert priorities.min() >= -1 and priorities.max() <= 1
    assert within_bound(priorities, 0.0, 1 / 3)  # the variance of U(-1, 1)
    assert within_bound(priorities > 0, 0.5, 0.25)


@pytest.mark.parametrize("name", tasks.names())
def test_two_seeds_give_different_data_and_sequences_differ_within_a_batch(name):
    task = tasks.get(name)
    size = task.largest_trained_size()  # one size, so only the data can differ
    first, second = task.sample(16, rng=0, **size), task.sample(16, rng=1, **size)
    assert first.inputs.shape == second.inputs.shape
    assert not np.array_equal(first.inputs.numpy(), second.inputs.numpy())
    assert not np.array_equal(first.targets.numpy(), second.targets.numpy())
    rows = {first.inputs[b].numpy().tobytes() for b in range(16)}
    assert len(rows) == 16
