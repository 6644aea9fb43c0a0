"""A loop-based NumPy float64 DNC, written straight from the Methods section of
Graves et al. (2016) and the three changes of Csordás & Schmidhuber (2019),
one sample and one location at a time, for tests/test_dnc.py. It shares no
code with ntm/model/dnc.py: only the two small constants of the suite's
conventions (an epsilon under the cosine's division, one before sharpening,
docs/tasks.md section 4) and the order of the fields in the interface vector.

Ties in usage: the free list is numpy's stable argsort of the usage, so
locations of equal usage are allocated lowest index first.

Shapes, one sample: memory [N, W]; a read weighting [N] per head, [R, N] for all.
"""

import numpy as np

from ntm.model.addressing import COSINE_EPS, SHARPEN_EPS


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def oneplus(x):
    return 1.0 + np.log1p(np.exp(x))


def softmax(x):
    e = np.exp(x - np.max(x))
    return e / e.sum()


def content(memory, key, strength, mask=None):
    """C(M, k, beta)[i] = exp(beta D(k, M[i])) / sum_j exp(beta D(k, M[j])), D the cosine;
    with a mask s, D(k o s, M[i] o s) (Csordás & Schmidhuber)."""
    N = memory.shape[0]
    if mask is not None:
        key, memory = key * mask, memory * mask
    scores = np.zeros(N)
    for i in range(N):
        scores[i] = strength * np.dot(key, memory[i]) / (np.linalg.norm(key) * np.linalg.norm(memory[i]) + COSINE_EPS)
    return softmax(scores)


def retention(free_gates, previous_read_weightings):
    """psi_t[n] = prod_i (1 - f^i w^{r,i}_{t-1}[n])."""
    R, N = previous_read_weightings.shape
    psi = np.ones(N)
    for n in range(N):
        for i in range(R):
            psi[n] *= 1.0 - free_gates[i] * previous_read_weightings[i, n]
    return psi


def usage(previous_usage, previous_write_weighting, psi):
    """u_t = (u_{t-1} + w^w_{t-1} - u_{t-1} o w^w_{t-1}) o psi_t."""
    u = np.zeros_like(previous_usage)
    for n in range(len(u)):
        u[n] = (previous_usage[n] + previous_write_weighting[n]
                - previous_usage[n] * previous_write_weighting[n]) * psi[n]
    return u


def allocation(u, free_list=None):
    """a_t[phi[j]] = (1 - u[phi[j]]) prod_{i<j} u[phi[i]], phi the free list."""
    phi = np.argsort(u, kind="stable") if free_list is None else free_list
    a = np.zeros_like(u)
    for j in range(len(u)):
        product = 1.0
        for i in range(j):
            product *= u[phi[i]]
        a[phi[j]] = (1.0 - u[phi[j]]) * product
    return a


def write_weighting(a, write_content, allocation_gate, write_gate):
    """w^w_t = g^w [g^a a_t + (1 - g^a) c^w_t]."""
    return np.array([write_gate * (allocation_gate * a[n] + (1.0 - allocation_gate) * write_content[n])
                     for n in range(len(a))])


def write(memory, w, erase, vector, psi=None):
    """M_t[n, k] = M_{t-1}[n, k] (1 - w[n] e[k]) + w[n] v[k]; with de-allocation
    (Csordás & Schmidhuber), M_{t-1}[n, k] is also scaled by psi_t[n]."""
    N, W = memory.shape
    out = np.zeros_like(memory)
    for n in range(N):
        for k in range(W):
            kept = memory[n, k] * (1.0 - w[n] * erase[k])
            if psi is not None:
                kept *= psi[n]
            out[n, k] = kept + w[n] * vector[k]
    return out


def link(previous_link, w, previous_precedence):
    """L_t[i,j] = (1 - w[i] - w[j]) L_{t-1}[i,j] + w[i] p_{t-1}[j]; L_t[i,i] = 0."""
    N = len(w)
    out = np.zeros((N, N))
    for i in range(N):
        for j in range(N):
            if i != j:
                out[i, j] = (1.0 - w[i] - w[j]) * previous_link[i, j] + w[i] * previous_precedence[j]
    return out


def precedence(previous_precedence, w):
    """p_t = (1 - sum_i w[i]) p_{t-1} + w."""
    total = sum(w)
    return np.array([(1.0 - total) * previous_precedence[n] + w[n] for n in range(len(w))])


def forward_backward(link_matrix, previous_read_weighting):
    """f_t[i] = sum_j L_t[i,j] w^r_{t-1}[j] and b_t[i] = sum_j L_t[j,i] w^r_{t-1}[j]."""
    N = len(previous_read_weighting)
    f, b = np.zeros(N), np.zeros(N)
    for i in range(N):
        for j in range(N):
            f[i] += link_matrix[i, j] * previous_read_weighting[j]
            b[i] += link_matrix[j, i] * previous_read_weighting[j]
    return f, b


def sharpen(d, s):
    """S(d, s)_i = d_i^s / sum_j d_j^s, after SHARPEN_EPS, so an all-zero d is uniform."""
    powered = (d + SHARPEN_EPS) ** s
    return powered / powered.sum()


def read_weighting(backward, read_content, forward, modes):
    """w^r_t = pi[1] b + pi[2] c + pi[3] f."""
    return np.array([modes[0] * backward[n] + modes[1] * read_content[n] + modes[2] * forward[n]
                     for n in range(len(backward))])


def read(memory, w):
    """r_t = M_t^T w^r_t."""
    N, W = memory.shape
    return np.array([sum(memory[n, k] * w[n] for n in range(N)) for k in range(W)])


def split_interface(xi, R, W, masked_lookup=False, link_sharpness=False):
    """The interface vector in the paper's order, then the changes' fields, through their activations."""
    sizes = [("read_keys", R * W), ("read_strengths", R), ("write_key", W), ("write_strength", 1),
             ("erase", W), ("write_vector", W), ("free_gates", R), ("allocation_gate", 1), ("write_gate", 1),
             ("read_modes", 3 * R)]
    sizes += [("read_masks", R * W), ("write_mask", W)] if masked_lookup else []
    sizes += [("forward_sharpness", R), ("backward_sharpness", R)] if link_sharpness else []
    raw, at = {}, 0
    for name, size in sizes:
        raw[name], at = xi[at: at + size], at + size
    assert at == len(xi)
    p = {
        "read_keys": raw["read_keys"].reshape(R, W), "read_strengths": oneplus(raw["read_strengths"]),
        "write_key": raw["write_key"], "write_strength": oneplus(raw["write_strength"][0]),
        "erase": sigmoid(raw["erase"]), "write_vector": raw["write_vector"], "free_gates": sigmoid(raw["free_gates"]),
        "allocation_gate": sigmoid(raw["allocation_gate"][0]), "write_gate": sigmoid(raw["write_gate"][0]),
        "read_modes": np.array([softmax(m) for m in raw["read_modes"].reshape(R, 3)]),
    }
    if masked_lookup:
        p["read_masks"], p["write_mask"] = sigmoid(raw["read_masks"]).reshape(R, W), sigmoid(raw["write_mask"])
    if link_sharpness:
        p["forward_sharpness"] = oneplus(raw["forward_sharpness"])
        p["backward_sharpness"] = oneplus(raw["backward_sharpness"])
    return p


def memory_step(state, p, wipe=False):
    """One step of memory access in the paper's order; state holds M, u, w^w, w^r [R,N], p, L of step t-1."""
    R = state["read_weightings"].shape[0]
    masks = p.get("read_masks", [None] * R)
    psi = retention(p["free_gates"], state["read_weightings"])
    u = usage(state["usage"], state["write_weighting"], psi)
    write_content = content(state["memory"], p["write_key"], p["write_strength"], p.get("write_mask"))
    w = write_weighting(allocation(u), write_content, p["allocation_gate"], p["write_gate"])
    memory = write(state["memory"], w, p["erase"], p["write_vector"], psi if wipe else None)
    L = link(state["link"], w, state["precedence"])
    reads, read_weightings = [], []
    for i in range(R):
        f, b = forward_backward(L, state["read_weightings"][i])
        if "forward_sharpness" in p:
            f, b = sharpen(f, p["forward_sharpness"][i]), sharpen(b, p["backward_sharpness"][i])
        c = content(memory, p["read_keys"][i], p["read_strengths"][i], masks[i])
        read_weightings.append(read_weighting(b, c, f, p["read_modes"][i]))
        reads.append(read(memory, read_weightings[-1]))
    return {"memory": memory, "usage": u, "write_weighting": w, "read_weightings": np.array(read_weightings),
            "precedence": precedence(state["precedence"], w), "link": L, "reads": np.array(reads)}


def lstm_cell(x, h, c, weight_ih, weight_hh, bias_ih, bias_hh):
    """torch.nn.LSTMCell's equations: gates i, f, g, o in that order."""
    gates = weight_ih @ x + bias_ih + weight_hh @ h + bias_hh
    i, f, g, o = np.split(gates, 4)
    c = sigmoid(f) * c + sigmoid(i) * np.tanh(g)
    return sigmoid(o) * np.tanh(c), c


def dnc_forward(params, inputs, R, N, W, layers, clip, memory_init, masked_lookup=False, deallocation_wipe=False,
                link_sharpness=False):
    """inputs [T, in] of one sample -> logits [T, out]. params: the model's
    state_dict as float64 arrays (LSTM cells, interface W_xi, output W_y and W_r as one)."""
    hidden = params["controller.cells.0.weight_hh"].shape[1]
    h, c = [np.zeros(hidden) for _ in range(layers)], [np.zeros(hidden) for _ in range(layers)]
    state = {"memory": np.full((N, W), memory_init), "usage": np.zeros(N), "write_weighting": np.zeros(N),
             "read_weightings": np.zeros((R, N)), "precedence": np.zeros(N), "link": np.zeros((N, N)),
             "reads": np.zeros((R, W))}
    outputs = []
    for x in inputs:
        below = np.concatenate([x, state["reads"].reshape(-1)])
        for layer in range(layers):
            cell = {name: params[f"controller.cells.{layer}.{name}"]
                    for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")}
            h[layer], c[layer] = lstm_cell(below, h[layer], c[layer], **cell)
            below = h[layer]
        every_h = np.concatenate(h)
        xi = np.clip(params["interface.weight"] @ every_h + params["interface.bias"], -clip, clip)
        p = split_interface(xi, R, W, masked_lookup, link_sharpness)
        state = memory_step(state, p, deallocation_wipe)
        outputs.append(params["output.weight"] @ np.concatenate([every_h, state["reads"].reshape(-1)])
                       + params["output.bias"])
    return np.array(outputs)
