"""Repeat-copy layout (docs/tasks.md section 2): L data steps, a delimiter carrying the
normalised repeat count, then R*L + 1 output steps ending in an end marker."""

import math

import numpy as np
import pytest

from tasks.repeat_copy import RepeatCopyTask

L, R = 3, 4
STEPS = L + 1 + R * L + 1  # 17


def _episode(length=L, repeats=R, task=None, n=4, seed=0):
    task = task or RepeatCopyTask()
    return task.sample(n, np.random.default_rng(seed), length=length, repeats=repeats)


def test_episode_has_L_plus_1_plus_RL_plus_1_steps():
    batch = _episode()
    assert batch.inputs.shape == (4, STEPS, 10)
    assert batch.targets.shape == (4, STEPS, 9)
    assert batch.mask.shape == (4, STEPS)


def test_delimiter_step_carries_the_normalised_repeat_count():
    x = _episode().inputs.numpy()
    assert (x[:, L, 8] == 1).all()
    np.testing.assert_allclose(x[:, L, 9], (R - 5.5) / math.sqrt(8.25), rtol=1e-6)
    assert (x[:, L, :8] == 0).all()


def test_count_and_delimiter_channels_are_zero_off_the_delimiter_step():
    x = _episode().inputs.numpy()
    off = np.arange(STEPS) != L
    assert (x[:, off, 8:] == 0).all()
    assert (x[:, L + 1 :] == 0).all()


def test_normalised_count_has_mean_0_and_variance_1_over_the_training_range():
    task = RepeatCopyTask()
    values = np.array([task.normalised_repeats(r) for r in range(1, 11)])
    assert values.mean() == pytest.approx(0.0, abs=1e-12)
    assert values.std() == pytest.approx(1.0)


def test_count_beyond_the_training_range_uses_training_statistics():
    x = _episode(length=2, repeats=20).inputs.numpy()
    np.testing.assert_allclose(x[:, 2, 9], (20 - 5.5) / math.sqrt(8.25), rtol=1e-6)


def test_count_statistics_follow_an_overridden_training_range():
    task = RepeatCopyTask(min_repeats=1, max_repeats=20)
    assert task.normalised_repeats(10.5) == 0.0
    assert task.normalised_repeats(20) == pytest.approx(9.5 / math.sqrt((20**2 - 1) / 12))


def test_target_is_the_sequence_repeated_R_times():
    batch = _episode()
    x, y = batch.inputs.numpy(), batch.targets.numpy()
    data = x[:, :L, :8]
    for r in range(R):
        start = L + 1 + r * L
        np.testing.assert_array_equal(y[:, start : start + L, :8], data)
    assert (y[:, : L + 1] == 0).all()


def test_end_marker_is_on_the_last_step_only():
    y = _episode().targets.numpy()
    assert (y[:, -1, 8] == 1).all()
    assert (y[:, :-1, 8] == 0).all()
    assert (y[:, -1, :8] == 0).all()


def test_mask_is_true_exactly_on_the_RL_plus_1_output_steps():
    mask = _episode().mask.numpy()
    expected = np.array([False] * (L + 1) + [True] * (R * L + 1))
    assert (mask == expected).all()


def test_giving_only_length_uses_the_training_maximum_repeats():
    assert RepeatCopyTask().complete_size(length=20) == {"length": 20, "repeats": 10}
    batch = RepeatCopyTask().sample(2, 0, length=20)
    assert batch.steps == 20 + 1 + 10 * 20 + 1


def test_giving_only_repeats_uses_the_training_maximum_length():
    assert RepeatCopyTask(max_length=7).complete_size(repeats=20) == {"length": 7, "repeats": 20}


def test_memory_needed_is_the_length():
    assert RepeatCopyTask().memory_needed(length=20, repeats=10) == 20


@pytest.mark.parametrize(
    "fields, message",
    [
        (dict(min_length=0), "min_length"),
        (dict(min_length=11), "max_length"),
        (dict(min_repeats=0), "min_repeats"),
        (dict(min_repeats=5, max_repeats=4), "max_repeats"),
        (dict(width=4), "width"),
    ],
)
def test_invalid_fields_are_rejected_with_a_message_naming_them(fields, message):
    with pytest.raises(ValueError, match=message):
        RepeatCopyTask(**fields)
