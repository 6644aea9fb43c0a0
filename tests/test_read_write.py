"""Reading and writing memory, eqs. (2)-(4), and the head activations that turn
the controller's raw outputs into addressing parameters (Graves et al. 2014,
section 3; ntm/model/addressing.py), against the loop references of
tests/addressing_reference.py. Shapes: memory [B, N, M], weightings [B, H, N],
erase and add vectors [B, H, M].
"""

import math

import numpy as np
import pytest
import torch

from ntm.model import addressing

from addressing_reference import ref_softmax, ref_read, ref_write, t, random_weighting, one_hot


# ---------------------------------------------------------------------------
# read, eq. (2)


def test_read_hand_computed():
    memory = t([[[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]])
    weights = t([[[0.5, 0.5, 0.0], [0.0, 0.0, 1.0]]])  # two heads
    np.testing.assert_allclose(addressing.read(memory, weights).numpy(), [[[2.0, 3.0], [5.0, 6.0]]])


def test_read_matches_the_loop_reference():
    rng = np.random.default_rng(14)
    memory, weights = rng.normal(size=(2, 6, 4)), random_weighting(rng, 2, 3, 6)
    got = addressing.read(t(memory), t(weights))
    assert got.shape == (2, 3, 4)
    np.testing.assert_allclose(got.numpy(), ref_read(memory, weights), rtol=1e-12)


# ---------------------------------------------------------------------------
# write, eqs. (3)-(4)


def test_write_with_full_erase_and_a_one_hot_weighting_replaces_exactly_that_row():
    memory = t(np.random.default_rng(15).normal(size=(1, 5, 3)))
    add = t([[[7.0, 8.0, 9.0]]])
    got = addressing.write(memory, one_hot(5, 2), t(np.ones((1, 1, 3))), add)
    expected = memory.clone()
    expected[0, 2] = add[0, 0]
    torch.testing.assert_close(got, expected)


def test_write_with_zero_erase_and_zero_add_leaves_memory_unchanged():
    rng = np.random.default_rng(16)
    memory, weights = t(rng.normal(size=(2, 5, 3))), t(random_weighting(rng, 2, 1, 5))
    nothing = torch.zeros(2, 1, 3, dtype=torch.float64)
    got = addressing.write(memory, weights, erase=nothing, add=nothing)
    torch.testing.assert_close(got, memory)


def test_write_hand_computed_partial_erase_and_add():
    memory = t([[[1.0, 1.0], [2.0, 2.0]]])
    weights = t([[[0.5, 0.0]]])
    erase = t([[[1.0, 0.0]]])
    add = t([[[4.0, 2.0]]])
    # row 0: [1 * (1 - 0.5), 1 * 1] + 0.5 * [4, 2] = [2.5, 2]; row 1 untouched.
    np.testing.assert_allclose(addressing.write(memory, weights, erase, add).numpy(), [[[2.5, 2.0], [2.0, 2.0]]])


def test_write_of_several_heads_multiplies_erases_and_sums_adds():
    rng = np.random.default_rng(17)
    B, H, N, M = 2, 3, 5, 4
    memory, weights = rng.normal(size=(B, N, M)), random_weighting(rng, B, H, N)
    erase, add = rng.uniform(size=(B, H, M)), rng.normal(size=(B, H, M))
    got = addressing.write(t(memory), t(weights), t(erase), t(add))
    assert got.shape == (B, N, M)
    np.testing.assert_allclose(got.numpy(), ref_write(memory, weights, erase, add), rtol=1e-12)


def test_two_heads_fully_erasing_the_same_row_add_both_their_vectors():
    memory = t(np.full((1, 3, 2), 5.0))
    weights = torch.cat([one_hot(3, 1), one_hot(3, 1)], dim=1)  # [1, 2, 3]
    add = t([[[1.0, 2.0], [10.0, 20.0]]])
    got = addressing.write(memory, weights, t(np.ones((1, 2, 2))), add)
    np.testing.assert_allclose(got.numpy(), [[[5.0, 5.0], [11.0, 22.0], [5.0, 5.0]]])


def test_write_of_several_heads_does_not_depend_on_their_order():
    rng = np.random.default_rng(18)
    memory, weights = t(rng.normal(size=(1, 4, 3))), t(random_weighting(rng, 1, 3, 4))
    erase, add = t(rng.uniform(size=(1, 3, 3))), t(rng.normal(size=(1, 3, 3)))
    order = [2, 0, 1]
    torch.testing.assert_close(
        addressing.write(memory, weights, erase, add),
        addressing.write(memory, weights[:, order], erase[:, order], add[:, order]),
    )


# ---------------------------------------------------------------------------
# head_activations: raw controller outputs [B, H, M + 6] -> addressing parameters


def test_head_activations_split_and_activate_a_hand_computed_example():
    M = 2
    raw = t([[[3.0, -4.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]]])  # key, beta, g, s(-1), s(0), s(+1), gamma
    params = addressing.head_activations(raw, M)
    np.testing.assert_allclose(params["keys"].numpy(), [[[3.0, -4.0]]])
    np.testing.assert_allclose(params["strengths"].numpy(), [[[math.log(2.0)]]])
    np.testing.assert_allclose(params["gates"].numpy(), [[[0.5]]])
    np.testing.assert_allclose(params["shifts"].numpy(), [[[1 / 3, 1 / 3, 1 / 3]]])
    np.testing.assert_allclose(params["gammas"].numpy(), [[[1.0 + math.log(2.0)]]])


def test_head_activations_shapes_and_ranges():
    B, H, M = 3, 2, 5
    generator = torch.Generator().manual_seed(19)
    raw = torch.randn(B, H, M + addressing.ADDRESS_PARAMETERS_EXTRA, generator=generator) * 5
    params = addressing.head_activations(raw, M)
    assert set(params) == {"keys", "strengths", "gates", "shifts", "gammas"}
    assert params["keys"].shape == (B, H, M)
    for name in ("strengths", "gates", "gammas"):
        assert params[name].shape == (B, H, 1)
    assert params["shifts"].shape == (B, H, 3)
    assert (params["strengths"] >= 0).all()
    assert ((params["gates"] > 0) & (params["gates"] < 1)).all()
    assert (params["gammas"] >= 1).all()
    torch.testing.assert_close(params["shifts"].sum(-1), torch.ones(B, H))


def test_head_activations_match_the_papers_formulas():
    M = 3
    raw = np.random.default_rng(20).normal(size=(2, 2, M + 6)) * 4
    params = addressing.head_activations(t(raw), M)
    softplus = lambda x: np.log1p(np.exp(x))  # noqa: E731
    np.testing.assert_allclose(params["keys"].numpy(), raw[..., :M])
    np.testing.assert_allclose(params["strengths"].numpy(), softplus(raw[..., M : M + 1]), rtol=1e-10)
    np.testing.assert_allclose(params["gates"].numpy(), 1 / (1 + np.exp(-raw[..., M + 1 : M + 2])), rtol=1e-10)
    np.testing.assert_allclose(params["shifts"].numpy(), ref_softmax(raw[..., M + 2 : M + 5]), rtol=1e-10)
    np.testing.assert_allclose(params["gammas"].numpy(), 1 + softplus(raw[..., M + 5 :]), rtol=1e-10)


def test_head_activations_are_finite_at_the_clip():
    raw = torch.tensor([[[20.0] * 3 + [20.0, -20.0, 20.0, -20.0, 20.0, 20.0]]])  # float32, M = 3
    params = addressing.head_activations(raw, 3)
    for value in params.values():
        assert torch.isfinite(value).all()
    assert params["strengths"].item() == pytest.approx(20.0)
    assert params["gammas"].item() == pytest.approx(21.0)
