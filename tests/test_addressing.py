"""NTM addressing (Graves et al. 2014, section 3.3; docs/tasks.md section 4), one stage at a time.

Each stage is checked against a tiny loop-based NumPy reference written
straight from the paper's equations, on small hand-checkable examples, and on
the nasty cases public implementations got wrong: a zero key, an all-zero
memory, a one-hot weighting shifted across the wrap-around, an all-zero
weighting given to sharpen, a very large gamma. Shapes: memory [B, N, M],
keys [B, H, M], weightings [B, H, N], per-head scalars [B, H, 1].
"""

import math

import numpy as np
import pytest
import torch

from ntm.model import addressing

# ---------------------------------------------------------------------------
# Loop-based NumPy references, one per equation of the paper.


def ref_cosine(keys, memory, eps=addressing.COSINE_EPS):
    """Eq. (6). keys [B,H,M], memory [B,N,M] -> [B,H,N]."""
    B, H, _ = keys.shape
    N = memory.shape[1]
    out = np.zeros((B, H, N))
    for b in range(B):
        for h in range(H):
            for i in range(N):
                k, row = keys[b, h], memory[b, i]
                out[b, h, i] = np.dot(k, row) / (np.linalg.norm(k) * np.linalg.norm(row) + eps)
    return out


def ref_softmax(x):
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def ref_content(keys, strengths, memory):
    """Eq. (5). strengths [B,H,1]."""
    return ref_softmax(strengths * ref_cosine(keys, memory))


def ref_shift(weights, shifts):
    """Eq. (8): location j's weight moves to j + k (mod N) with probability s(k), k in -1, 0, +1."""
    B, H, N = weights.shape
    out = np.zeros_like(weights)
    for b in range(B):
        for h in range(H):
            for j in range(N):
                for index, k in enumerate((-1, 0, 1)):
                    out[b, h, (j + k) % N] += weights[b, h, j] * shifts[b, h, index]
    return out


def ref_sharpen(weights, gamma):
    """Eq. (9), literally: w^gamma / sum_j w(j)^gamma."""
    powered = weights**gamma
    return powered / powered.sum(axis=-1, keepdims=True)


def ref_read(memory, weights):
    """Eq. (2). -> [B,H,M]."""
    B, H, N = weights.shape
    M = memory.shape[-1]
    out = np.zeros((B, H, M))
    for b in range(B):
        for h in range(H):
            for i in range(N):
                out[b, h] += weights[b, h, i] * memory[b, i]
    return out


def ref_write(memory, weights, erase, add):
    """Eqs. (3)-(4) for H heads: every head's erase, then every head's add."""
    B, H, N = weights.shape
    out = memory.copy()
    for b in range(B):
        for h in range(H):
            for i in range(N):
                out[b, i] = out[b, i] * (1.0 - weights[b, h, i] * erase[b, h])
        for h in range(H):
            for i in range(N):
                out[b, i] = out[b, i] + weights[b, h, i] * add[b, h]
    return out


def t(array):
    return torch.tensor(np.asarray(array), dtype=torch.float64)


def random_weighting(rng, *shape):
    return ref_softmax(rng.normal(size=shape) * 2.0)


def assert_finite(*tensors):
    for tensor in tensors:
        assert tensor is not None, "no gradient reached this tensor"
        assert torch.isfinite(tensor).all(), tensor


def one_hot(n, location, shape=(1, 1)):
    w = torch.zeros(*shape, n, dtype=torch.float64)
    w[..., location] = 1.0
    return w


def shift_distribution(offset, shape=(1, 1)):
    """A shift of exactly `offset` in {-1, 0, +1}, as [..., 3] = s(-1), s(0), s(+1)."""
    s = torch.zeros(*shape, 3, dtype=torch.float64)
    s[..., offset + 1] = 1.0
    return s


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
