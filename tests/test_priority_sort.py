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


def _sources(inputs, targets, length, outputs):
    """The input step each scored target vector came from: [outputs].

    Found without sorting: each target vector is matched to an unused input
    step with the same bits; among equal vectors (20 draws of 256 often
    repeat one) the highest priority is taken, which a correct target
    always allows."""
    used, sources = set(), []
    for vector in targets[length + 1 : length + 1 + outputs]:
        same = [t for t in range(length) if t not in used and (inputs[t, :8] == vector).all()]
        assert same, "a target vector that is not an unused input vector"
        sources.append(max(same, key=lambda t: inputs[t, 8]))
        used.add(sources[-1])
    return np.array(sources)


@pytest.mark.parametrize("length, outputs", [(20, 16), (40, 32)], ids=["20-to-16", "40-to-32"])
def test_target_priorities_never_increase_and_no_unselected_input_outranks_a_selected_one(length, outputs):
    batch = _episode(n=64, seed=1, length=length, outputs=outputs)
    for inputs, targets in zip(batch.inputs.numpy(), batch.targets.numpy()):
        priority = inputs[:length, 8]
        sources = _sources(inputs, targets, length, outputs)
        assert (np.diff(priority[sources]) <= 0).all(), "target priorities increase somewhere"
        unselected = np.setdiff1d(np.arange(length), sources)
        if unselected.size:
            assert priority[sources].min() >= priority[unselected].max()


def test_forty_inputs_give_thirty_two_outputs_as_an_evaluation_size_and_as_training_options():
    task = PrioritySortTask()
    assert {"length": 40, "outputs": 32} in task.generalisation_sizes
    evaluated = task.sample(4, np.random.default_rng(0), length=40)  # the evaluator gives only the length
    trained = PrioritySortTask(length=40, outputs=32).sample(4, np.random.default_rng(0))
    for batch in (evaluated, trained):
        assert batch.inputs.shape == (4, 40 + 1 + 32, 10)
        assert (batch.inputs[:, 40, 9] == 1).all()
        assert batch.mask.sum(dim=1).tolist() == [32] * 4


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
