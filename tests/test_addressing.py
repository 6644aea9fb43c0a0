"""NTM addressing (Graves et al. 2014, section 3.3; docs/tasks.md section 4), one stage at a time.

Each stage is checked against a tiny loop-based NumPy reference written
straight from the paper's equations (tests/addressing_reference.py), on small
hand-checkable examples, and on the nasty cases public implementations got
wrong: a zero key, an all-zero memory, a one-hot weighting shifted across the
wrap-around, an all-zero weighting given to sharpen, a very large gamma.
Reading, writing and the head activations are in tests/test_read_write.py.
Shapes: memory [B, N, M], keys [B, H, M], weightings [B, H, N], per-head
scalars [B, H, 1].
"""

import math

import numpy as np
import pytest
import torch

from ntm.model import addressing

from addressing_reference import (
    ref_cosine,
    ref_content,
    ref_shift,
    ref_sharpen,
    t,
    random_weighting,
    assert_finite,
    one_hot,
    shift_distribution,
)


# ---------------------------------------------------------------------------
# cosine_similarity, eq. (6)


def test_cosine_similarity_of_a_hand_computed_example():
    keys = t([[[1.0, 0.0]]])  # [1, 1, 2]
    memory = t([[[1.0, 0.0], [0.0, 1.0], [-2.0, 0.0], [3.0, 3.0]]])  # [1, 4, 2]
    expected = [[[1.0, 0.0, -1.0, 1.0 / math.sqrt(2.0)]]]
    np.testing.assert_allclose(addressing.cosine_similarity(keys, memory).numpy(), expected, atol=1e-7)


def test_cosine_similarity_matches_the_loop_reference():
    rng = np.random.default_rng(0)
    keys, memory = rng.normal(size=(2, 3, 5)), rng.normal(size=(2, 7, 5))
    got = addressing.cosine_similarity(t(keys), t(memory))
    assert got.shape == (2, 3, 7)
    np.testing.assert_allclose(got.numpy(), ref_cosine(keys, memory), rtol=1e-10)


def test_cosine_similarity_of_a_zero_key_is_zero_not_nan():
    keys = torch.zeros(1, 1, 4, dtype=torch.float64)
    memory = t(np.random.default_rng(1).normal(size=(1, 6, 4)))
    assert (addressing.cosine_similarity(keys, memory) == 0).all()


# ---------------------------------------------------------------------------
# content_weights, eq. (5)


def test_content_weights_match_the_loop_reference():
    rng = np.random.default_rng(2)
    keys, memory = rng.normal(size=(2, 3, 5)), rng.normal(size=(2, 7, 5))
    strengths = rng.uniform(0.0, 10.0, size=(2, 3, 1))
    got = addressing.content_weights(t(keys), t(strengths), t(memory))
    np.testing.assert_allclose(got.numpy(), ref_content(keys, strengths, memory), rtol=1e-10)


def test_content_weights_with_zero_strength_are_uniform():
    rng = np.random.default_rng(3)
    keys, memory = t(rng.normal(size=(1, 1, 4))), t(rng.normal(size=(1, 5, 4)))
    got = addressing.content_weights(keys, t([[[0.0]]]), memory)
    np.testing.assert_allclose(got.numpy(), np.full((1, 1, 5), 0.2))


def test_content_weights_focus_on_the_matching_row_as_strength_grows():
    memory = t([[[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]]])
    keys = t([[[0.0, 2.0]]])  # same direction as row 1
    got = addressing.content_weights(keys, t([[[100.0]]]), memory)
    assert got[0, 0].argmax() == 1
    assert got[0, 0, 1] > 1.0 - 1e-12


def test_a_zero_key_gives_uniform_content_weights_and_finite_gradients():
    keys = torch.zeros(2, 1, 4, dtype=torch.float64, requires_grad=True)
    memory = t(np.random.default_rng(4).normal(size=(2, 6, 4))).requires_grad_()
    strengths = t(np.full((2, 1, 1), 5.0)).requires_grad_()
    weights = addressing.content_weights(keys, strengths, memory)
    np.testing.assert_allclose(weights.detach().numpy(), np.full((2, 1, 6), 1 / 6))
    (weights * torch.arange(6.0, dtype=torch.float64)).sum().backward()
    assert_finite(keys.grad, memory.grad, strengths.grad)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_an_all_zero_memory_gives_uniform_content_weights_and_finite_gradients(dtype):
    keys = torch.randn(2, 3, 4, dtype=dtype, generator=torch.Generator().manual_seed(0)).requires_grad_()
    memory = torch.zeros(2, 6, 4, dtype=dtype, requires_grad=True)
    strengths = torch.full((2, 3, 1), 20.0, dtype=dtype, requires_grad=True)
    weights = addressing.content_weights(keys, strengths, memory)
    assert not torch.isnan(weights).any()
    torch.testing.assert_close(weights.detach(), torch.full((2, 3, 6), 1 / 6, dtype=dtype))
    (weights * torch.arange(6.0, dtype=dtype)).sum().backward()
    assert_finite(keys.grad, memory.grad, strengths.grad)


# ---------------------------------------------------------------------------
# interpolate, eq. (7)


def test_interpolate_hand_computed():
    content = t([[[1.0, 0.0, 0.0]]])
    previous = t([[[0.0, 0.0, 1.0]]])
    got = addressing.interpolate(content, previous, t([[[0.25]]]))
    np.testing.assert_allclose(got.numpy(), [[[0.25, 0.0, 0.75]]])


def test_interpolate_gate_one_takes_content_and_gate_zero_keeps_previous():
    rng = np.random.default_rng(5)
    content, previous = t(random_weighting(rng, 2, 1, 5)), t(random_weighting(rng, 2, 1, 5))
    gates = t([[[1.0]], [[0.0]]])  # per sample
    got = addressing.interpolate(content, previous, gates)
    torch.testing.assert_close(got[0], content[0])
    torch.testing.assert_close(got[1], previous[1])


# ---------------------------------------------------------------------------
# shift, eq. (8)


def test_shift_hand_computed():
    weights = t([[[0.0, 1.0, 0.0, 0.0, 0.0]]])
    shifts = t([[[0.2, 0.5, 0.3]]])  # s(-1), s(0), s(+1)
    got = addressing.shift(weights, shifts)
    np.testing.assert_allclose(got.numpy(), [[[0.2, 0.5, 0.3, 0.0, 0.0]]])


def test_shift_matches_the_loop_reference():
    rng = np.random.default_rng(6)
    weights, shifts = random_weighting(rng, 3, 2, 7), random_weighting(rng, 3, 2, 3)
    got = addressing.shift(t(weights), t(shifts))
    np.testing.assert_allclose(got.numpy(), ref_shift(weights, shifts), rtol=1e-12)


def test_shift_keeps_a_weighting_summing_to_one():
    rng = np.random.default_rng(7)
    got = addressing.shift(t(random_weighting(rng, 4, 3, 9)), t(random_weighting(rng, 4, 3, 3)))
    np.testing.assert_allclose(got.sum(-1).numpy(), np.ones((4, 3)))


def test_shift_minus_one_moves_location_zero_across_the_wrap_to_the_last():
    got = addressing.shift(one_hot(8, 0), shift_distribution(-1))
    torch.testing.assert_close(got, one_hot(8, 7))


def test_shift_plus_one_moves_the_last_location_across_the_wrap_to_zero():
    got = addressing.shift(one_hot(8, 7), shift_distribution(+1))
    torch.testing.assert_close(got, one_hot(8, 0))


def test_shift_plus_one_moves_location_zero_to_one_and_minus_one_moves_it_back():
    moved = addressing.shift(one_hot(8, 0), shift_distribution(+1))
    torch.testing.assert_close(moved, one_hot(8, 1))
    torch.testing.assert_close(addressing.shift(moved, shift_distribution(-1)), one_hot(8, 0))


def test_shift_has_no_cross_talk_between_batch_elements():
    # Every sample focused on location 3; each sample shifts its own way.
    weights = one_hot(6, 3, shape=(3, 1))
    shifts = torch.cat([shift_distribution(-1), shift_distribution(0), shift_distribution(+1)], dim=0)  # [3, 1, 3]
    got = addressing.shift(weights, shifts)
    torch.testing.assert_close(got[0], one_hot(6, 2)[0])
    torch.testing.assert_close(got[1], one_hot(6, 3)[0])
    torch.testing.assert_close(got[2], one_hot(6, 4)[0])


def test_shift_of_each_sample_equals_shifting_it_alone():
    rng = np.random.default_rng(8)
    weights, shifts = t(random_weighting(rng, 4, 2, 5)), t(random_weighting(rng, 4, 2, 3))
    together = addressing.shift(weights, shifts)
    for b in range(4):
        torch.testing.assert_close(together[b : b + 1], addressing.shift(weights[b : b + 1], shifts[b : b + 1]))


def test_shift_gradients_are_finite_across_the_wrap():
    weights = one_hot(5, 0).requires_grad_()
    shifts = t([[[0.6, 0.3, 0.1]]]).requires_grad_()
    (addressing.shift(weights, shifts) * torch.arange(5.0, dtype=torch.float64)).sum().backward()
    assert_finite(weights.grad, shifts.grad)
    # d(sum_i i w~(i))/d s(-1) = the location that w(0) lands on: N - 1 = 4.
    assert shifts.grad[0, 0, 0].item() == pytest.approx(4.0)


# ---------------------------------------------------------------------------
# sharpen, eq. (9)


def test_sharpen_hand_computed():
    got = addressing.sharpen(t([[[0.5, 0.25, 0.25]]]), t([[[2.0]]]))
    # 0.25, 0.0625, 0.0625 over their sum 0.375
    np.testing.assert_allclose(got.numpy(), [[[2 / 3, 1 / 6, 1 / 6]]], rtol=1e-10)


def test_sharpen_matches_the_loop_reference():
    rng = np.random.default_rng(9)
    weights, gammas = random_weighting(rng, 3, 2, 7), rng.uniform(1.0, 5.0, size=(3, 2, 1))
    got = addressing.sharpen(t(weights), t(gammas))
    # SHARPEN_EPS moves the smallest weights by a relative 1e-8 at most.
    np.testing.assert_allclose(got.numpy(), ref_sharpen(weights, gammas), rtol=1e-6)


def test_sharpen_with_gamma_one_leaves_a_weighting_unchanged():
    weights = t(random_weighting(np.random.default_rng(10), 2, 1, 6))
    torch.testing.assert_close(addressing.sharpen(weights, torch.ones(2, 1, 1, dtype=torch.float64)), weights)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_sharpen_of_an_all_zero_weighting_is_uniform_not_nan(dtype):
    weights = torch.zeros(2, 1, 8, dtype=dtype, requires_grad=True)
    gammas = torch.full((2, 1, 1), 3.0, dtype=dtype, requires_grad=True)
    got = addressing.sharpen(weights, gammas)
    assert not torch.isnan(got).any()
    torch.testing.assert_close(got.sum(-1), torch.ones(2, 1, dtype=dtype))
    torch.testing.assert_close(got, torch.full((2, 1, 8), 1 / 8, dtype=dtype))
    (got * torch.arange(8.0, dtype=dtype)).sum().backward()
    assert_finite(weights.grad, gammas.grad)


def test_sharpen_with_very_large_gamma_over_128_locations_stays_normalised():
    generator = torch.Generator().manual_seed(11)
    weights = torch.softmax(torch.randn(4, 2, 128, generator=generator), dim=-1).requires_grad_()  # float32
    gammas = torch.full((4, 2, 1), 21.0, requires_grad=True)  # 1 + softplus(20), the clipped maximum
    got = addressing.sharpen(weights, gammas)
    assert torch.isfinite(got).all()
    torch.testing.assert_close(got.sum(-1), torch.ones(4, 2))
    assert torch.equal(got.argmax(-1), weights.argmax(-1))
    (got * torch.arange(128.0)).sum().backward()
    assert_finite(weights.grad, gammas.grad)


def test_sharpen_with_very_large_gamma_on_a_near_uniform_weighting_does_not_underflow():
    # Every w^21 is about (1/128)^21 ~ 1e-44, below float32's range.
    weights = torch.full((1, 1, 128), 1 / 128)
    weights[0, 0, 17] += 1e-3
    weights = weights / weights.sum(-1, keepdim=True)
    got = addressing.sharpen(weights, torch.full((1, 1, 1), 21.0))
    assert torch.isfinite(got).all()
    assert got.sum().item() == pytest.approx(1.0, abs=1e-5)
    assert got.argmax().item() == 17


def test_sharpen_with_very_large_gamma_over_a_memory_enlarged_for_evaluation_does_not_underflow():
    # N is raised at evaluation time (docs/tasks.md section 4); (1/1024)^21 ~ 1e-63 is zero in float32.
    weights = torch.full((2, 1, 1024), 1 / 1024)
    weights[0, 0, 5] *= 1.01
    weights[1, 0, 1000] *= 1.01
    got = addressing.sharpen(weights, torch.full((2, 1, 1), 21.0))
    assert torch.isfinite(got).all()
    torch.testing.assert_close(got.sum(-1), torch.ones(2, 1))
    assert got[0].argmax().item() == 5 and got[1].argmax().item() == 1000


# ---------------------------------------------------------------------------
# address: the whole pipeline of figure 2


def test_address_matches_the_loop_references_composed():
    rng = np.random.default_rng(12)
    B, H, N, M = 2, 3, 6, 4
    memory, keys = rng.normal(size=(B, N, M)), rng.normal(size=(B, H, M))
    previous = random_weighting(rng, B, H, N)
    strengths = rng.uniform(0.0, 10.0, size=(B, H, 1))
    gates = rng.uniform(0.0, 1.0, size=(B, H, 1))
    shifts = random_weighting(rng, B, H, 3)
    gammas = rng.uniform(1.0, 4.0, size=(B, H, 1))
    expected = ref_content(keys, strengths, memory)
    expected = gates * expected + (1 - gates) * previous
    expected = ref_sharpen(ref_shift(expected, shifts), gammas)
    got = addressing.address(t(memory), t(previous), t(keys), t(strengths), t(gates), t(shifts), t(gammas))
    assert got.shape == (B, H, N)
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-6)


def test_address_with_gate_zero_moves_the_previous_focus_by_the_shift():
    # Pure location-based addressing: the head steps one location per call.
    memory = t(np.random.default_rng(13).normal(size=(1, 5, 3)))
    got = addressing.address(
        memory,
        previous=one_hot(5, 4),
        keys=t(np.ones((1, 1, 3))),
        strengths=t([[[1.0]]]),
        gates=t([[[0.0]]]),
        shifts=shift_distribution(+1),
        gammas=t([[[1.0]]]),
    )
    torch.testing.assert_close(got, one_hot(5, 0), atol=1e-10, rtol=0)


def test_address_of_an_all_zero_memory_with_a_zero_key_has_finite_gradients():
    memory = torch.zeros(2, 8, 4, requires_grad=True)
    keys = torch.zeros(2, 1, 4, requires_grad=True)
    previous = torch.zeros(2, 1, 8)
    previous[:, :, 0] = 1.0
    strengths = torch.full((2, 1, 1), 20.0, requires_grad=True)
    gates = torch.full((2, 1, 1), 0.5, requires_grad=True)
    shifts = torch.tensor([[[1.0, 0.0, 0.0]], [[0.0, 0.0, 1.0]]], requires_grad=True)
    gammas = torch.full((2, 1, 1), 21.0, requires_grad=True)
    got = addressing.address(memory, previous, keys, strengths, gates, shifts, gammas)
    assert torch.isfinite(got).all()
    torch.testing.assert_close(got.sum(-1), torch.ones(2, 1))
    (got * torch.arange(8.0)).sum().backward()
    assert_finite(memory.grad, keys.grad, strengths.grad, gates.grad, shifts.grad, gammas.grad)
