"""Loop-based NumPy references for the NTM addressing tests, one per equation
of the paper (Graves et al. 2014, section 3.3), and the small helpers those
tests share. Written straight from the equations, loop by loop, so they can
be checked by eye against the paper; shapes as in tests/test_addressing.py.
"""

import numpy as np
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
