"""NTM addressing (Graves et al. 2014, section 3.3), one function per equation.

All functions are batched over leading dimensions and never loop in Python:
weights have shape [..., N], memory [B, N, M], keys [B, H, M] for H heads.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

# Cosine similarity divides by |k||M_i|; an all-zero key or memory row would
# give 0/0 without it (docs/tasks.md section 4).
COSINE_EPS = 1e-8
# Sharpening raises weights to the power gamma; adding this before the power
# keeps log(w) finite in the gradient with respect to gamma and turns an
# all-zero weighting into a uniform one instead of 0/0.
SHARPEN_EPS = 1e-12


def cosine_similarity(keys: torch.Tensor, memory: torch.Tensor) -> torch.Tensor:
    """K[k, M_i] = k . M_i / (|k| |M_i|), eq. (6).  keys [B,H,M], memory [B,N,M] -> [B,H,N]."""
    dots = torch.einsum("bhm,bnm->bhn", keys, memory)
    norms = keys.norm(dim=-1, keepdim=True) * memory.norm(dim=-1).unsqueeze(1)
    return dots / (norms + COSINE_EPS)


def content_weights(keys: torch.Tensor, strengths: torch.Tensor, memory: torch.Tensor) -> torch.Tensor:
    """w^c = softmax(beta K[k, M_i]), eq. (5).  strengths [B,H,1] -> [B,H,N]."""
    return torch.softmax(strengths * cosine_similarity(keys, memory), dim=-1)


def interpolate(content: torch.Tensor, previous: torch.Tensor, gate: torch.Tensor) -> torch.Tensor:
    """w^g = g w^c + (1 - g) w_{t-1}, eq. (7).  gate [B,H,1]."""
    return gate * content + (1.0 - gate) * previous


def shift(weights: torch.Tensor, shifts: torch.Tensor) -> torch.Tensor:
    """Circular convolution, eq. (8), with shifts over {-1, 0, +1}.

    shifts [..., 3] holds s(-1), s(0), s(+1). w~(i) = sum_j w(j) s(i - j), so
    location i receives s(+1) from i-1, s(0) from i and s(-1) from i+1.
    torch.roll moves every sample by the same offset, so samples never mix;
    only the (per-sample) shift weights differ.
    """
    from_previous = torch.roll(weights, shifts=1, dims=-1)  # value at i is w(i-1)
    from_next = torch.roll(weights, shifts=-1, dims=-1)  # value at i is w(i+1)
    return shifts[..., 2:3] * from_previous + shifts[..., 1:2] * weights + shifts[..., 0:1] * from_next


def sharpen(weights: torch.Tensor, gamma: torch.Tensor) -> torch.Tensor:
    """w = w~^gamma / sum_j w~(j)^gamma, eq. (9).  gamma [..., 1] >= 1.

    Dividing by the largest weight first is exact (the ratio is scale free)
    and keeps the largest term at 1, so the sum never underflows to zero even
    for gamma around 20 over 128 locations.
    """
    weights = weights + SHARPEN_EPS
    weights = weights / weights.amax(dim=-1, keepdim=True)
    powered = weights**gamma
    return powered / powered.sum(dim=-1, keepdim=True)


def address(
    memory: torch.Tensor,
    previous: torch.Tensor,
    keys: torch.Tensor,
    strengths: torch.Tensor,
    gates: torch.Tensor,
    shifts: torch.Tensor,
    gammas: torch.Tensor,
) -> torch.Tensor:
    """The whole pipeline of figure 2: content, interpolation, shift, sharpening."""
    weights = content_weights(keys, strengths, memory)
    weights = interpolate(weights, previous, gates)
    weights = shift(weights, shifts)
    return sharpen(weights, gammas)


def read(memory: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """r = sum_i w(i) M_i, eq. (2).  weights [B,H,N], memory [B,N,M] -> [B,H,M]."""
    return torch.bmm(weights, memory)


def write(memory: torch.Tensor, weights: torch.Tensor, erase: torch.Tensor, add: torch.Tensor) -> torch.Tensor:
    """Erase then add, eqs. (3)-(4), for H write heads at once.

    weights [B,H,N], erase and add [B,H,M]. The erases of several heads
    multiply and their adds sum, so the order of heads does not matter.
    """
    keep = torch.prod(1.0 - weights.unsqueeze(-1) * erase.unsqueeze(-2), dim=1)  # [B,N,M]
    return memory * keep + torch.bmm(weights.transpose(1, 2), add)


def head_activations(raw: torch.Tensor, memory_width: int) -> dict[str, torch.Tensor]:
    """Split one head's raw controller outputs [B,H,M+6] into addressing
    parameters with the paper's activations: key as is, beta = softplus,
    g = sigmoid, shift = softmax over 3, gamma = 1 + softplus."""
    m = memory_width
    return {
        "keys": raw[..., :m],
        "strengths": F.softplus(raw[..., m : m + 1]),
        "gates": torch.sigmoid(raw[..., m + 1 : m + 2]),
        "shifts": torch.softmax(raw[..., m + 2 : m + 5], dim=-1),
        "gammas": 1.0 + F.softplus(raw[..., m + 5 : m + 6]),
    }


ADDRESS_PARAMETERS_EXTRA = 6  # beta, g, 3 shift weights, gamma beside the key
