"""The DNC's memory access (Graves et al. 2016, Methods), one function per
equation, with the three changes of Csordás & Schmidhuber (2019) beside the
equations they change.

All functions are batched and never loop in Python. Shapes: memory [B, N, W];
read weightings [B, R, N] for R read heads; the one write head's weighting,
usage, precedence and retention [B, N]; the temporal link matrix [B, N, N].
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ntm.model import addressing


def oneplus(x: torch.Tensor) -> torch.Tensor:
    """oneplus(x) = 1 + log(1 + e^x): the key strengths and sharpness exponents, in [1, inf)."""
    return 1.0 + F.softplus(x)


def content_weighting(memory: torch.Tensor, keys: torch.Tensor, strengths: torch.Tensor,
                      mask: torch.Tensor | None = None) -> torch.Tensor:
    """C(M, k, beta)[i] = exp(beta D(k, M[i,.])) / sum_j exp(beta D(k, M[j,.])),
    D the cosine similarity (Methods, content-based addressing): the NTM's eqs. (5)-(6).

    With a mask s in [0,1]^W (Csordás & Schmidhuber, masked content-based
    addressing): D(k o s, M[i,.] o s), so that a head compares only the part
    of each word it masks in, the key, and not the value stored beside it.
    keys [B,H,W], strengths [B,H,1], mask [B,H,W] -> [B,H,N].
    """
    if mask is None:
        return addressing.content_weights(keys, strengths, memory)
    masked_memory = memory.unsqueeze(1) * mask.unsqueeze(2)  # [B, H, N, W]: each head masks the words its own way
    masked_keys = keys * mask
    dots = torch.einsum("bhw,bhnw->bhn", masked_keys, masked_memory)
    norms = masked_keys.norm(dim=-1, keepdim=True) * masked_memory.norm(dim=-1)
    return torch.softmax(strengths * dots / (norms + addressing.COSINE_EPS), dim=-1)


def retention(free_gates: torch.Tensor, previous_read_weightings: torch.Tensor) -> torch.Tensor:
    """psi_t = prod_i (1 - f^i_t w^{r,i}_{t-1}): how much of each location the
    read heads keep, a free gate f^i releasing what head i read last step.
    free_gates [B,R,1], previous_read_weightings [B,R,N] -> [B,N]."""
    return torch.prod(1.0 - free_gates * previous_read_weightings, dim=1)


def usage(previous_usage: torch.Tensor, previous_write_weighting: torch.Tensor,
          retention_vector: torch.Tensor) -> torch.Tensor:
    """u_t = (u_{t-1} + w^w_{t-1} - u_{t-1} o w^w_{t-1}) o psi_t: written
    locations become used, freed ones unused. All [B,N]."""
    u, w = previous_usage, previous_write_weighting
    return (u + w - u * w) * retention_vector


def free_list(usage_vector: torch.Tensor) -> torch.Tensor:
    """phi_t: the locations in ascending order of usage, [B,N] indices. The sort
    is stable, so locations of equal usage (a fresh memory: all of them) are
    taken lowest index first, the same on every run and device."""
    return torch.sort(usage_vector, dim=-1, stable=True).indices


def allocation_weighting(usage_vector: torch.Tensor, order: torch.Tensor | None = None) -> torch.Tensor:
    """a_t[phi_t[j]] = (1 - u_t[phi_t[j]]) prod_{i<j} u_t[phi_t[i]]: the least
    used location gets most of the weight, and a used location only what the
    freer ones leave. usage_vector [B,N] -> [B,N].

    `order` is phi_t (free_list by default). The gradient flows through the
    usage values, not the sort: as in the paper, the discontinuities where
    the sort order changes are ignored.
    """
    order = free_list(usage_vector) if order is None else order
    sorted_usage = usage_vector.gather(-1, order)  # u_t[phi_t[j]]
    # prod_{i<j}: the product of all usages sorted before j, 1 for j = 1
    before = torch.cumprod(torch.cat([torch.ones_like(sorted_usage[..., :1]), sorted_usage[..., :-1]], dim=-1), dim=-1)
    sorted_allocation = (1.0 - sorted_usage) * before
    return torch.zeros_like(usage_vector).scatter(-1, order, sorted_allocation)


def write_weighting(allocation: torch.Tensor, write_content: torch.Tensor, allocation_gate: torch.Tensor,
                    write_gate: torch.Tensor) -> torch.Tensor:
    """w^w_t = g^w_t [g^a_t a_t + (1 - g^a_t) c^w_t]: the allocation gate picks
    fresh locations or ones found by content; the write gate may write nowhere.
    allocation and write_content [B,N], gates [B,1] -> [B,N]."""
    return write_gate * (allocation_gate * allocation + (1.0 - allocation_gate) * write_content)


def write(memory: torch.Tensor, weighting: torch.Tensor, erase: torch.Tensor, write_vector: torch.Tensor,
          retention_vector: torch.Tensor | None = None) -> torch.Tensor:
    """M_t = M_{t-1} o (E - w^w_t e_t^T) + w^w_t v_t^T: erase, then add.

    With `retention_vector` psi_t (Csordás & Schmidhuber, de-allocation):
    M_t = M_{t-1} o (psi_t 1^T) o (E - w^w_t e_t^T) + w^w_t v_t^T, so what the
    free gates release is also wiped, and no longer found by content lookup.
    memory [B,N,W], weighting [B,N], erase and write_vector [B,W].
    """
    kept = memory * (1.0 - weighting.unsqueeze(-1) * erase.unsqueeze(-2))
    if retention_vector is not None:
        kept = kept * retention_vector.unsqueeze(-1)
    return kept + weighting.unsqueeze(-1) * write_vector.unsqueeze(-2)


def precedence(previous_precedence: torch.Tensor, weighting: torch.Tensor) -> torch.Tensor:
    """p_t = (1 - sum_i w^w_t[i]) p_{t-1} + w^w_t, p_0 = 0: how much each
    location was the last one written. All [B,N]."""
    return (1.0 - weighting.sum(dim=-1, keepdim=True)) * previous_precedence + weighting


def link(previous_link: torch.Tensor, weighting: torch.Tensor, previous_precedence: torch.Tensor) -> torch.Tensor:
    """L_t[i,j] = (1 - w^w_t[i] - w^w_t[j]) L_{t-1}[i,j] + w^w_t[i] p_{t-1}[j],
    L_t[i,i] = 0, L_0 = 0: the degree to which location i was written after
    location j. previous_link [B,N,N], weighting and previous_precedence [B,N]."""
    w_i, w_j = weighting.unsqueeze(-1), weighting.unsqueeze(-2)
    updated = (1.0 - w_i - w_j) * previous_link + w_i * previous_precedence.unsqueeze(-2)
    # A location is never written after itself.
    return updated * (1.0 - torch.eye(weighting.shape[-1], dtype=weighting.dtype, device=weighting.device))


def forward_weighting(link_matrix: torch.Tensor, previous_read_weightings: torch.Tensor) -> torch.Tensor:
    """f^i_t = L_t w^{r,i}_{t-1}: the locations written just after those read.
    link_matrix [B,N,N], previous_read_weightings [B,R,N] -> [B,R,N]."""
    return torch.einsum("bij,bhj->bhi", link_matrix, previous_read_weightings)


def backward_weighting(link_matrix: torch.Tensor, previous_read_weightings: torch.Tensor) -> torch.Tensor:
    """b^i_t = L_t^T w^{r,i}_{t-1}: the locations written just before those read."""
    return torch.einsum("bji,bhj->bhi", link_matrix, previous_read_weightings)


def sharpen_link_distribution(distribution: torch.Tensor, sharpness: torch.Tensor) -> torch.Tensor:
    """S(d, s)_i = d_i^s / sum_j d_j^s with s = oneplus(.) >= 1 (Csordás &
    Schmidhuber, sharpness enhancement): the forward and backward weightings
    blur with every step along the links, and this undoes it. The NTM's
    sharpening, eq. (9), is the same function: a weighting with no links yet
    (all zero) becomes uniform. distribution [B,R,N], sharpness [B,R,1]."""
    return addressing.sharpen(distribution, sharpness)


def read_weighting(backward: torch.Tensor, content: torch.Tensor, forward: torch.Tensor,
                   read_modes: torch.Tensor) -> torch.Tensor:
    """w^{r,i}_t = pi^i_t[1] b^i_t + pi^i_t[2] c^{r,i}_t + pi^i_t[3] f^i_t: each
    read head mixes going back, looking up by content and going forward.
    backward, content, forward [B,R,N], read_modes [B,R,3] -> [B,R,N]."""
    return read_modes[..., 0:1] * backward + read_modes[..., 1:2] * content + read_modes[..., 2:3] * forward


def read(memory: torch.Tensor, read_weightings: torch.Tensor) -> torch.Tensor:
    """r^i_t = M_t^T w^{r,i}_t. memory [B,N,W], read_weightings [B,R,N] -> [B,R,W]."""
    return addressing.read(memory, read_weightings)
