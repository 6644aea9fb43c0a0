"""Copy task layout (docs/tasks.md section 2): L data steps, a delimiter, L output steps."""

import numpy as np
import pytest

from tasks.copy import CopyTask


def _episode(length=5, n=4, seed=0):
    return CopyTask().sample(n, np.random.default_rng(seed), length=length)


def test_episode_has_2L_plus_1_steps():
    batch = _episode(length=5)
    assert batch.inputs.shape == (4, 11, 9)
    assert batch.targets.shape == (4, 11, 8)
    assert batch.mask.shape == (4, 11)


def test_data_comes_first_then_one_delimiter_then_blanks():
    x = _episode(length=5).inputs.numpy()
    assert set(np.unique(x[:, :5, :8])) <= {0.0, 1.0}
    assert (x[:, :5, 8] == 0).all()
    assert (x[:, 5, :8] == 0).all() and (x[:, 5, 8] == 1).all()
    assert (x[:, 6:] == 0).all()


def test_target_is_the_input_sequence_on_the_last_L_steps():
    batch = _episode(length=5)
    x, y = batch.inputs.numpy(), batch.targets.numpy()
    np.testing.assert_array_equal(y[:, 6:], x[:, :5, :8])
    assert (y[:, :6] == 0).all()


def test_mask_is_true_exactly_on_the_output_steps():
    mask = _episode(length=5).mask.numpy()
    expected = np.array([False] * 6 + [True] * 5)
    assert (mask == expected).all()


def test_memory_needed_is_the_length():
    assert CopyTask().memory_needed(length=37) == 37


@pytest.mark.parametrize(
    "fields, message",
    [
        (dict(min_length=0), "min_length"),
        (dict(min_length=30, max_length=20), "max_length"),
        (dict(width=6), "width"),
    ],
)
def test_invalid_fields_are_rejected_with_a_message_naming_them(fields, message):
    with pytest.raises(ValueError, match=message):
        CopyTask(**fields)
