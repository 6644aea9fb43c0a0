"""Priority-sort layout (docs/tasks.md section 2): inputs with a priority each, a
delimiter, then the highest-priority inputs in descending order."""

import numpy as np
import pytest

from tasks.priority_sort import PrioritySortTask

STEPS = 20 + 1 + 16


def _episode(n=16, seed=0, **size):
    return PrioritySortTask().sample(n, np.random.default_rng(seed), **size)


def test_episode_has_length_plus_1_plus_outputs_steps():
    batch = _episode()
    assert batch.inputs.shape == (16, STEPS, 10)
    assert batch.targets.shape == (16, STEPS, 8)
    assert batch.mask.shape == (16, STEPS)


def test_priorities_are_in_minus_1_to_1_on_the_input_steps_only():
    x = _episode(n=256).inputs.numpy()
    priority = x[:, :20, 8]
    assert priority.min() >= -1 and priority.max() <= 1
    assert priority.min() < -0.9 and priority.max() > 0.9
    assert (x[:, 20:, 8] == 0).all()


def test_delimiter_follows_the_inputs_then_blank_steps():
    x = _episode().inputs.numpy()
    assert (x[:, 20, 9] == 1).all() and (x[:, 20, :9] == 0).all()
    assert (x[:, :20, 9] == 0).all()
    assert (x[:, 21:] == 0).all()


def test_targets_are_the_highest_priority_inputs_in_descending_order():
    batch = _episode()
    x, y = batch.inputs.numpy(), batch.targets.numpy()
    for inputs, targets in zip(x, y):
        ranked = inputs[:20][np.argsort(-inputs[:20, 8], kind="stable")]
        np.testing.assert_array_equal(targets[21:], ranked[:16, :8])
        assert (targets[:21] == 0).all()


def test_mask_is_true_exactly_on_the_output_steps():
    mask = _episode().mask.numpy()
    expected = np.array([False] * 21 + [True] * 16)
    assert (mask == expected).all()


def test_exact_sizes_set_inputs_and_outputs():
    batch = _episode(length=5, outputs=2)
    assert batch.steps == 5 + 1 + 2
    assert batch.mask.sum(dim=1).unique().tolist() == [2]


def test_giving_only_length_keeps_the_training_ratio_of_outputs():
    task = PrioritySortTask()
    assert task.complete_size(length=40) == {"length": 40, "outputs": 32}
    assert task.complete_size(length=3) == {"length": 3, "outputs": 2}
    assert task.complete_size(length=1) == {"length": 1, "outputs": 1}


def test_more_outputs_than_inputs_is_an_error():
    with pytest.raises(ValueError, match="outputs"):
        _episode(length=5, outputs=6)


def test_memory_needed_is_the_number_of_inputs():
    assert PrioritySortTask().memory_needed(length=20, outputs=16) == 20


@pytest.mark.parametrize(
    "fields, message",
    [
        (dict(outputs=0), "outputs"),
        (dict(length=10, outputs=16), "outputs"),
        (dict(width=6), "width"),
    ],
)
def test_invalid_fields_are_rejected_with_a_message_naming_them(fields, message):
    with pytest.raises(ValueError, match=message):
        PrioritySortTask(**fields)
