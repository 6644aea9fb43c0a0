"""The Differentiable Neural Computer (Graves et al. 2016, "Hybrid computing
using a neural network with dynamic external memory"), with the three
changes of Csordás & Schmidhuber (2019) as options.

An LSTM controller sees the input and the last step's read vectors and emits
the interface vector xi_t; one write head and R read heads then act on an
N x W memory through content lookup, dynamic allocation (usage and the free
list) and the temporal link matrix (`dnc_memory.py`, one function per
equation of the paper's Methods). This is the reference path:
`inputs [B,T,in] -> logits [B,T,out]`, one step at a time; the fused path
(`fused_dnc.py`) computes the same in one C++ call.

The controller is the suite's LSTM stack (`controller.py`): the paper's
also feeds the input to every layer; here the upper layers see only the
layer below. As in the paper, the output and the interface read every
layer's hidden state, not only the top one's.
"""

from __future__ import annotations

import dataclasses
from typing import NamedTuple

import torch
from torch import nn

from ntm.config import EXECUTION_PATHS, ModelConfig
from ntm.model import dnc_memory, fused_dnc
from ntm.model.controller import LSTMController

READ_MODES = ("backward", "content", "forward")  # the order of pi^i_t's three entries


@dataclasses.dataclass
class DNCOptions:
    """Csordás & Schmidhuber's three changes, each off in the paper's DNC."""

    masked_lookup: bool = False  # content lookup compares only the part of a word a learned mask keeps: keys apart from values
    deallocation_wipe: bool = False  # what the free gates release is also erased, so content lookup no longer finds it
    link_sharpness: bool = False  # a learned exponent sharpens the forward and backward weightings, which blur along the links


class DNCState(NamedTuple):
    """Everything step t needs from step t-1."""

    memory: torch.Tensor  # M [B, N, W]
    controller: tuple[torch.Tensor, ...]  # LSTM (h, c) per layer
    reads: torch.Tensor  # r^i [B, R, W]
    read_weightings: torch.Tensor  # w^{r,i} [B, R, N]
    write_weighting: torch.Tensor  # w^w [B, N]
    usage: torch.Tensor  # u [B, N]
    precedence: torch.Tensor  # p [B, N]
    link: torch.Tensor  # L [B, N, N]


class Interface(NamedTuple):
    """The interface vector xi_t, split and through its activations (Methods, "Interface parameters")."""

    read_keys: torch.Tensor  # k^{r,i} [B, R, W]
    read_strengths: torch.Tensor  # beta^{r,i} = oneplus [B, R, 1]
    write_key: torch.Tensor  # k^w [B, 1, W]
    write_strength: torch.Tensor  # beta^w = oneplus [B, 1, 1]
    erase: torch.Tensor  # e = sigmoid [B, W]
    write_vector: torch.Tensor  # v [B, W]
    free_gates: torch.Tensor  # f^i = sigmoid [B, R, 1]
    allocation_gate: torch.Tensor  # g^a = sigmoid [B, 1]
    write_gate: torch.Tensor  # g^w = sigmoid [B, 1]
    read_modes: torch.Tensor  # pi^i = softmax over READ_MODES [B, R, 3]
    read_masks: torch.Tensor | None = None  # masked_lookup: s^{r,i} = sigmoid [B, R, W]
    write_mask: torch.Tensor | None = None  # masked_lookup: s^w = sigmoid [B, 1, W]
    forward_sharpness: torch.Tensor | None = None  # link_sharpness: s^i_f = oneplus [B, R, 1]
    backward_sharpness: torch.Tensor | None = None  # link_sharpness: s^i_b = oneplus [B, R, 1]


def interface_layout(read_heads: int, width: int, options: DNCOptions) -> list[tuple[str, int]]:
    """(field, how many numbers) in the order they lie in xi_t: the paper's, then the changes' own."""
    R, W = read_heads, width
    layout = [("read_keys", R * W), ("read_strengths", R), ("write_key", W), ("write_strength", 1), ("erase", W),
              ("write_vector", W), ("free_gates", R), ("allocation_gate", 1), ("write_gate", 1),
              ("read_modes", 3 * R)]
    if options.masked_lookup:
        layout += [("read_masks", R * W), ("write_mask", W)]
    if options.link_sharpness:
        layout += [("forward_sharpness", R), ("backward_sharpness", R)]
    return layout


def split_interface(xi: torch.Tensor, read_heads: int, width: int, options: DNCOptions) -> Interface:
    """xi_t [B, len] -> its fields, each through its activation."""
    B, R, W = xi.shape[0], read_heads, width
    layout = interface_layout(R, W, options)
    raw = dict(zip([name for name, _ in layout], xi.split([size for _, size in layout], dim=1)))
    masked, sharpened = options.masked_lookup, options.link_sharpness
    return Interface(
        read_keys=raw["read_keys"].view(B, R, W),
        read_strengths=dnc_memory.oneplus(raw["read_strengths"]).view(B, R, 1),
        write_key=raw["write_key"].view(B, 1, W),
        write_strength=dnc_memory.oneplus(raw["write_strength"]).view(B, 1, 1),
        erase=torch.sigmoid(raw["erase"]),
        write_vector=raw["write_vector"],
        free_gates=torch.sigmoid(raw["free_gates"]).view(B, R, 1),
        allocation_gate=torch.sigmoid(raw["allocation_gate"]),
        write_gate=torch.sigmoid(raw["write_gate"]),
        read_modes=torch.softmax(raw["read_modes"].view(B, R, 3), dim=-1),
        read_masks=torch.sigmoid(raw["read_masks"]).view(B, R, W) if masked else None,
        write_mask=torch.sigmoid(raw["write_mask"]).view(B, 1, W) if masked else None,
        forward_sharpness=dnc_memory.oneplus(raw["forward_sharpness"]).view(B, R, 1) if sharpened else None,
        backward_sharpness=dnc_memory.oneplus(raw["backward_sharpness"]).view(B, R, 1) if sharpened else None,
    )


def access(state: DNCState, xi: Interface, deallocation_wipe: bool = False) -> DNCState:
    """One step of memory access, in the paper's order: free and allocate,
    write, link, then read the memory just written. Returns the new state,
    its controller field unchanged."""
    psi = dnc_memory.retention(xi.free_gates, state.read_weightings)
    usage = dnc_memory.usage(state.usage, state.write_weighting, psi)
    allocation = dnc_memory.allocation_weighting(usage)
    write_content = dnc_memory.content_weighting(state.memory, xi.write_key, xi.write_strength, xi.write_mask)
    write_weighting = dnc_memory.write_weighting(allocation, write_content.squeeze(1), xi.allocation_gate,
                                                 xi.write_gate)
    memory = dnc_memory.write(state.memory, write_weighting, xi.erase, xi.write_vector,
                              psi if deallocation_wipe else None)

    link = dnc_memory.link(state.link, write_weighting, state.precedence)
    precedence = dnc_memory.precedence(state.precedence, write_weighting)
    forward = dnc_memory.forward_weighting(link, state.read_weightings)
    backward = dnc_memory.backward_weighting(link, state.read_weightings)
    if xi.forward_sharpness is not None:
        forward = dnc_memory.sharpen_link_distribution(forward, xi.forward_sharpness)
        backward = dnc_memory.sharpen_link_distribution(backward, xi.backward_sharpness)

    read_content = dnc_memory.content_weighting(memory, xi.read_keys, xi.read_strengths, xi.read_masks)
    read_weightings = dnc_memory.read_weighting(backward, read_content, forward, xi.read_modes)
    reads = dnc_memory.read(memory, read_weightings)
    return DNCState(memory, state.controller, reads, read_weightings, write_weighting, usage, precedence, link)


class DNC(nn.Module):
    """The DNC with an LSTM controller; see the module docstring."""

    Options = DNCOptions

    def __init__(self, input_width: int, output_width: int, config: ModelConfig, options: DNCOptions | None = None):
        super().__init__()
        self.config, self.options = config, options or DNCOptions()
        R, W = config.read_heads, config.memory_width
        if min(R, W, config.hidden_size, config.layers, config.memory_size) < 1:
            raise ValueError("DNC sizes (read_heads, memory, hidden_size, layers) must all be at least 1")
        if config.write_heads != 1:
            raise ValueError(f"the DNC has one write head; model.write_heads must be 1, got {config.write_heads}")
        if config.learned_memory:
            raise ValueError("the DNC starts from a constant memory (model.memory_init); model.learned_memory "
                             "is the NTM's")
        self.input_width, self.output_width = input_width, output_width
        self.controller_input_width = input_width + R * W  # [x_t; r^1_{t-1}; ...; r^R_{t-1}]
        self.controller = LSTMController(self.controller_input_width, config.hidden_size, config.layers)
        controller_output = config.hidden_size * config.layers  # [h^1_t; ...; h^L_t]
        self.interface_size = sum(size for _, size in interface_layout(R, W, self.options))
        self.interface = nn.Linear(controller_output, self.interface_size)  # W_xi
        # y_t = W_y [h^1_t; ...; h^L_t] + W_r [r^1_t; ...; r^R_t], as one matrix.
        self.output = nn.Linear(controller_output + R * W, output_width)
        self.path = "reference"  # set by use_path

    def use_path(self, path: str, inference: bool = True) -> str:
        """Choose the execution path; returns the one in use. "fused" runs the
        whole sequence in one C++ call (`fused_dnc.py`) and falls back to
        "reference", after one line on the log, where its extension cannot be
        built; the DNC has no "compiled" path of its own and runs the
        reference one there."""
        if path not in EXECUTION_PATHS:
            raise ValueError(f"unknown execution path {path!r}; choose one of {', '.join(EXECUTION_PATHS)}")
        if path == "fused" and not fused_dnc.available(fallback="reference"):
            path = "reference"
        self.path = "fused" if path == "fused" else "reference"
        return self.path

    def initial_state(self, batch_size: int, memory_size: int | None = None, device=None) -> DNCState:
        """M_0 a small constant (as the NTM's); reads, weightings, usage,
        precedence and links all zero: nothing read, written or used yet."""
        cfg = self.config
        n = cfg.memory_size if memory_size is None else memory_size
        if n < 1:
            raise ValueError(f"memory_size must be a positive integer, got {n}")
        dtype = self.output.weight.dtype  # follow .double() of the model
        R, W = cfg.read_heads, cfg.memory_width

        def zeros(*shape):
            return torch.zeros(batch_size, *shape, device=device, dtype=dtype)

        return DNCState(
            memory=torch.full((batch_size, n, W), cfg.memory_init, device=device, dtype=dtype),
            controller=self.controller.initial_state(batch_size, device, dtype),
            reads=zeros(R, W), read_weightings=zeros(R, n), write_weighting=zeros(n),
            usage=zeros(n), precedence=zeros(n), link=zeros(n, n),
        )

    def step(self, x: torch.Tensor, state: DNCState) -> tuple[torch.Tensor, DNCState, dict]:
        """One time step: x [B, in] -> logits [B, out], the new state, and what pictures need."""
        cfg = self.config
        _, controller_state = self.controller(torch.cat([x, state.reads.flatten(1)], dim=1), state.controller)
        hidden = torch.cat(controller_state[0::2], dim=1)  # every layer's h
        raw = self.interface(hidden).clamp(-cfg.clip, cfg.clip)
        xi = split_interface(raw, cfg.read_heads, cfg.memory_width, self.options)
        new_state = access(state._replace(controller=controller_state), xi, self.options.deallocation_wipe)
        logits = self.output(torch.cat([hidden, new_state.reads.flatten(1)], dim=1))
        return logits, new_state, {"read_modes": xi.read_modes}

    def forward(self, inputs: torch.Tensor, memory_size: int | None = None, trace: bool = False,
                lengths: torch.Tensor | None = None):
        """inputs [B, T, in] -> logits [B, T, out]; with trace=True also what
        `ntm viz` draws, {name: [B, T, ...]} (`_stack_trace`).

        lengths [B] (optional) are the samples' real lengths: the fused path
        skips the steps past them and leaves their logits at zero; the
        reference path computes those steps as if they were input (each step
        depends only on the steps before it, so the real steps' outputs are
        the same).
        """
        if self.path == "fused" and not trace and inputs.device.type == "cpu":
            return fused_dnc.forward(self, inputs, lengths, memory_size)
        state = self.initial_state(inputs.shape[0], memory_size, inputs.device)
        outputs, steps = [], []
        for x in inputs.unbind(1):
            logits, state, emitted = self.step(x, state)
            outputs.append(logits)
            if trace:
                steps.append((state, emitted))
        logits = torch.stack(outputs, dim=1)
        return (logits, _stack_trace(steps)) if trace else logits


def _stack_trace(steps: list[tuple[DNCState, dict]]) -> dict[str, torch.Tensor]:
    """What `ntm viz` draws, every step's, time second: how used each location
    was, what the write head and read heads attended to, how each read head
    mixed its modes, and the link matrix and memory after the step's write.
    The order is the figure's, top to bottom."""
    def stack(get):
        return torch.stack([get(state, emitted).detach() for state, emitted in steps], dim=1)

    return {
        "usage": stack(lambda s, e: s.usage),  # [B, T, N]
        "write weighting": stack(lambda s, e: s.write_weighting.unsqueeze(1)),  # [B, T, 1, N]
        "read weightings": stack(lambda s, e: s.read_weightings),  # [B, T, R, N]
        f"read modes ({', '.join(READ_MODES)})": stack(lambda s, e: e["read_modes"]),  # [B, T, R, 3]
        # Only traced sequences keep these: [T, N, N] is 2 MB a sequence at N = 128 and T = 41.
        "link matrix": stack(lambda s, e: s.link),  # L_t [B, T, N, N]
        "memory": stack(lambda s, e: s.memory),  # M_t [B, T, N, W]
    }
