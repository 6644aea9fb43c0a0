"""Associative-recall layout (docs/tasks.md section 2): K items of 3 vectors, each after
an item delimiter; a query item between two query delimiters; the answer is
the item that followed the query, on the last 3 steps."""

import numpy as np
import pytest

from tasks.associative_recall import AssociativeRecallTask

K = 4
STEPS = 4 * K + 8  # 24
QUERY = 4 * K  # step of the first query delimiter


def _episode(items=K, n=64, seed=0):
    return AssociativeRecallTask().sample(n, np.random.default_rng(seed), items=items)


def _decode(inputs):
    """Items [n, K, 3, 6] and query [n, 3, 6] read back from the inputs."""
    n = inputs.shape[0]
    items = inputs[:, :QUERY].reshape(n, K, 4, 8)[:, :, 1:, :6]
    query = inputs[:, QUERY + 1 : QUERY + 4, :6]
    return items, query


def _query_positions(inputs):
    """Index of the listed item equal to each episode's query (first match)."""
    items, query = _decode(inputs)
    matches = (items == query[:, None]).all(axis=(2, 3))  # [n, K]
    assert matches.any(axis=1).all()
    return matches.argmax(axis=1)


def test_episode_has_4K_plus_8_steps():
    batch = _episode()
    assert batch.inputs.shape == (64, STEPS, 8)
    assert batch.targets.shape == (64, STEPS, 6)
    assert batch.mask.shape == (64, STEPS)


def test_item_delimiters_open_each_item():
    x = _episode().inputs.numpy()
    starts = np.arange(0, QUERY, 4)
    assert (x[:, starts, 6] == 1).all() and (x[:, starts, :6] == 0).all()
    others = np.setdiff1d(np.arange(STEPS), starts)
    assert (x[:, others, 6] == 0).all()


def test_query_sits_between_two_query_delimiters_then_3_blank_steps():
    x = _episode().inputs.numpy()
    delimiters = [QUERY, QUERY + 4]
    assert (x[:, delimiters, 7] == 1).all() and (x[:, delimiters, :7] == 0).all()
    others = np.setdiff1d(np.arange(STEPS), delimiters)
    assert (x[:, others, 7] == 0).all()
    assert (x[:, -3:] == 0).all()


def test_target_is_the_item_following_the_query_item():
    batch = _episode()
    x, y = batch.inputs.numpy(), batch.targets.numpy()
    items, _ = _decode(x)
    position = _query_positions(x)
    np.testing.assert_array_equal(y[:, -3:], items[np.arange(len(x)), position + 1])
    assert (y[:, :-3] == 0).all()


def test_query_is_drawn_among_all_but_the_last_item():
    x = _episode(n=400).inputs.numpy()
    assert set(_query_positions(x)) == set(range(K - 1))


def test_mask_is_true_exactly_on_the_last_3_steps():
    mask = _episode().mask.numpy()
    expected = np.array([False] * (STEPS - 3) + [True] * 3)
    assert (mask == expected).all()


def test_item_length_sets_the_episode_layout():
    batch = AssociativeRecallTask(item_length=2).sample(3, 0, items=5)
    assert batch.steps == 5 * 3 + 2 * 2 + 2
    assert batch.mask.sum(dim=1).tolist() == [2, 2, 2]


def test_fewer_than_two_items_is_an_error():
    with pytest.raises(ValueError, match="at least 2"):
        AssociativeRecallTask().sample(2, 0, items=1)


def test_memory_needed_counts_item_and_delimiter_steps():
    assert AssociativeRecallTask().memory_needed(items=6) == 24


@pytest.mark.parametrize(
    "fields, message",
    [
        (dict(min_items=1), "min_items"),
        (dict(min_items=7), "max_items"),
        (dict(item_length=0), "item_length"),
        (dict(width=8), "width"),
    ],
)
def test_invalid_fields_are_rejected_with_a_message_naming_them(fields, message):
    with pytest.raises(ValueError, match=message):
        AssociativeRecallTask(**fields)
