"""The task contract shared by all five tasks (docs/tasks.md section 1)."""

import numpy as np
import pytest
import torch

import tasks

NAMES = ["copy", "repeat-copy", "associative-recall", "dynamic-ngrams", "priority-sort"]

# Training sizes each task should draw with its paper defaults.
TRAINING_SIZES = {
    "copy": {"length": set(range(1, 21))},
    "repeat-copy": {"length": set(range(1, 11)), "repeats": set(range(1, 11))},
    "associative-recall": {"items": set(range(2, 7))},
    "dynamic-ngrams": {"length": {200}},
    "priority-sort": {"length": {20}, "outputs": {16}},
}

VARIABLE_SIZE = ["copy", "repeat-copy", "associative-recall"]


def test_names_lists_the_five_tasks_in_the_papers_order():
    assert tasks.names() == NAMES


@pytest.mark.parametrize("name", NAMES)
def test_get_returns_a_task_with_that_name(name):
    task = tasks.get(name)
    assert isinstance(task, tasks.Task)
    assert task.name == name


def test_get_applies_overrides_to_the_training_distribution():
    task = tasks.get("copy", max_length=30)
    assert task.max_length == 30
    lengths = task.draw_sizes(np.random.default_rng(0), 2000)["length"]
    assert lengths.max() == 30


def test_unknown_task_error_lists_the_valid_names():
    with pytest.raises(ValueError, match="unknown task 'kopy'") as error:
        tasks.get("kopy")
    for name in NAMES:
        assert name in str(error.value)


def test_unknown_option_error_lists_the_valid_options():
    with pytest.raises(ValueError, match="no option max_items") as error:
        tasks.get("copy", max_items=3)
    assert "max_length" in str(error.value) and "min_length" in str(error.value)


def test_invalid_option_value_is_a_value_error():
    with pytest.raises(ValueError, match="max_length"):
        tasks.get("copy", min_length=5, max_length=2)


def test_unknown_size_argument_is_an_error_naming_the_valid_ones():
    with pytest.raises(ValueError, match="length"):
        tasks.get("copy").sample(2, 0, items=3)


@pytest.mark.parametrize("name", NAMES)
def test_batch_has_the_contracts_dtypes_and_widths(name):
    task = tasks.get(name)
    batch = task.sample(6, 0)
    assert batch.inputs.dtype == torch.float32
    assert batch.targets.dtype == torch.float32
    assert batch.mask.dtype == torch.bool
    steps = batch.inputs.shape[1]
    assert batch.inputs.shape == (6, steps, task.input_width)
    assert batch.targets.shape == (6, steps, task.output_width)
    assert batch.mask.shape == (6, steps)


@pytest.mark.parametrize("name", NAMES)
def test_same_seed_gives_the_same_batch_bit_for_bit(name):
    task = tasks.get(name)
    for size in ({}, {task.size_names[0]: 7}):
        first = task.sample(16, np.random.default_rng(3), **size)
        second = task.sample(16, 3, **size)
        for a, b in zip((first.inputs, first.targets, first.mask), (second.inputs, second.targets, second.mask)):
            assert torch.equal(a, b)


@pytest.mark.parametrize("name", NAMES)
def test_different_seeds_give_different_batches(name):
    task = tasks.get(name)
    assert not torch.equal(task.sample(16, 1).inputs, task.sample(16, 2).inputs)


@pytest.mark.parametrize("name", NAMES)
def test_every_training_size_in_the_range_is_drawn(name):
    task = tasks.get(name)
    sizes = task.draw_sizes(np.random.default_rng(0), 2000)
    assert set(sizes) == set(task.size_names)
    for key, expected in TRAINING_SIZES[name].items():
        assert set(sizes[key].tolist()) == expected


@pytest.mark.parametrize("name", VARIABLE_SIZE)
def test_mixed_size_batches_pad_at_the_end_with_unscored_zero_steps(name):
    # Every task scores up to its last step, so a sequence ends at its last
    # masked step; whatever follows is padding.
    batch = tasks.get(name).sample(64, 0)
    x, y, mask = batch.inputs.numpy(), batch.targets.numpy(), batch.mask.numpy()
    ends = batch.steps - np.argmax(mask[:, ::-1], axis=1)  # [B], one past the last scored step
    assert len(set(ends)) > 1
    for row, end in enumerate(ends):
        assert not mask[row, end:].any()
        assert (x[row, end:] == 0).all() and (y[row, end:] == 0).all()
        assert (x[row, :end] != 0).any()


@pytest.mark.parametrize("name", NAMES)
def test_memory_needed_is_positive_at_the_training_sizes(name):
    task = tasks.get(name)
    sizes = task.draw_sizes(np.random.default_rng(0), 1)
    assert task.memory_needed(**{k: int(v[0]) for k, v in sizes.items()}) >= 1
