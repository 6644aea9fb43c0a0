"""The Neural Turing Machine: controller, heads and memory wired for one step,
then unrolled over a sequence (Graves et al. 2014, figure 1).

This is the reference path: it reads like the paper, one equation per
function in `addressing.py`. `inputs [B,T,in] -> logits [B,T,out]`.
The same function runs on one of three execution paths (`NTM.use_path`):
"reference" (this file, step by step), "compiled" (each step through
torch.compile) and "fused" (the whole sequence in one C++ call, `fused.py`).
"""

from __future__ import annotations

import dataclasses
import math
from typing import NamedTuple

import torch
from torch import nn

from ntm.model import addressing, fused
from ntm.config import EXECUTION_PATHS, ModelConfig
from ntm.model.controller import FeedforwardController, LSTMController


class NTMState(NamedTuple):
    memory: torch.Tensor  # [B, N, M]
    controller: tuple[torch.Tensor, ...]  # LSTM (h, c) per layer; empty for feedforward
    reads: torch.Tensor  # [B, R, M] read vectors of the last step
    read_weights: torch.Tensor  # [B, R, N]
    write_weights: torch.Tensor  # [B, W, N]


@dataclasses.dataclass
class Trace:
    """What the heads did at every step, for pictures. Index [sample, step, head, ...]."""

    read_weights: torch.Tensor  # [B, T, R, N]
    write_weights: torch.Tensor  # [B, T, W, N]
    erase: torch.Tensor  # [B, T, W, M]
    add: torch.Tensor  # [B, T, W, M]
    reads: torch.Tensor  # [B, T, R, M]
    memory: torch.Tensor  # [B, T, N, M] after each step's write


class NTM(nn.Module):
    def __init__(self, input_width: int, output_width: int, config: ModelConfig, feedforward: bool = False):
        super().__init__()
        self.config = config
        self.input_width, self.output_width = input_width, output_width
        R, W, M = config.read_heads, config.write_heads, config.memory_width
        if min(R, W, M, config.hidden_size, config.layers, config.memory_size) < 1:
            raise ValueError("NTM sizes (heads, memory, hidden_size, layers) must all be at least 1")
        controller_cls = FeedforwardController if feedforward else LSTMController
        self.controller = controller_cls(input_width + R * M, config.hidden_size, config.layers)
        per_head = M + addressing.ADDRESS_PARAMETERS_EXTRA
        # One projection for every head parameter: addressing for all R + W
        # heads, then erase and add vectors for the W write heads.
        self.head_parameters = nn.Linear(config.hidden_size, (R + W) * per_head + 2 * W * M)
        self.output = nn.Linear(config.hidden_size + R * M, output_width)
        if config.learned_memory:
            # Distinct rows let a head find a location by content before
            # anything was written there, e.g. at an address computed from a
            # priority; a constant memory offers only shifts from location 0.
            bound = 1.0 / math.sqrt(config.memory_size + M)
            self.learned_memory = nn.Parameter(torch.empty(config.memory_size, M).uniform_(-bound, bound))
        # Compiled versions of `step`, keyed by grad mode (True: training), set
        # by `compile_steps`; a mode without an entry runs the reference path.
        self._compiled_steps: dict[bool, object] = {}
        self.path = "reference"  # set by use_path

    def use_path(self, path: str, inference: bool = True) -> str:
        """Choose the execution path, one of EXECUTION_PATHS; returns the one in use.

        "fused" falls back to "reference", after one line on the log, where
        its extension cannot be built. `inference` matters to "compiled"
        only: False compiles the training step alone (see compile_steps).
        """
        if path not in EXECUTION_PATHS:
            raise ValueError(f"unknown execution path {path!r}; choose one of {', '.join(EXECUTION_PATHS)}")
        self._compiled_steps = {}
        if path == "fused" and not fused.available(fallback="reference"):
            path = "reference"
        if path == "compiled":
            self.compile_steps(training=True, inference=inference)
        self.path = path
        return path

    def compile_steps(self, training: bool = True, inference: bool = False) -> "NTM":
        """Run each time step through torch.compile: the same function, with the
        addressing and memory updates fused into a few generated kernels.

        Each mode compiles on first use (tens of seconds, cached on disk by
        torch afterwards), so training enables only the mode it needs:
        its validation passes then run the reference path instead of paying
        for a second compilation.
        """
        self._compiled_steps = {}
        if training:
            self._compiled_steps[True] = torch.compile(self.step, dynamic=None)
        if inference:
            self._compiled_steps[False] = torch.compile(self.step, dynamic=None)
        return self

    def initial_memory(self, memory_size: int | None = None, device=None) -> torch.Tensor:
        """The memory every sequence starts from, [N, M]: a small constant, or
        with `learned_memory` the learned rows (repeated in order when N is
        raised at evaluation, cut when it is lowered)."""
        cfg = self.config
        n = cfg.memory_size if memory_size is None else memory_size
        if n < 1:
            raise ValueError(f"memory_size must be a positive integer, got {n}")
        dtype = self.output.weight.dtype  # follow .double() / .half() of the model
        if not cfg.learned_memory:
            return torch.full((n, cfg.memory_width), cfg.memory_init, device=device, dtype=dtype)
        rows = torch.arange(n, device=self.learned_memory.device) % self.learned_memory.shape[0]
        return self.learned_memory[rows].to(device=device)

    def initial_state(self, batch_size: int, memory_size: int | None = None, device=None) -> NTMState:
        """The initial memory (`initial_memory`); every head starts focused on location 0."""
        cfg = self.config
        memory = self.initial_memory(memory_size, device).expand(batch_size, -1, -1)
        n, dtype = memory.shape[1], memory.dtype
        focus = torch.zeros(batch_size, 1, n, device=device, dtype=dtype)
        focus[:, :, 0] = 1.0
        read_weights = focus.expand(-1, cfg.read_heads, -1).contiguous()
        write_weights = focus.expand(-1, cfg.write_heads, -1).contiguous()
        return NTMState(
            memory=memory,
            controller=self.controller.initial_state(batch_size, device, dtype),
            reads=addressing.read(memory, read_weights),
            read_weights=read_weights,
            write_weights=write_weights,
        )

    def step(self, x: torch.Tensor, state: NTMState) -> tuple[torch.Tensor, NTMState, dict]:
        """One time step: x [B, in] -> logits [B, out], the new state, and what the heads emitted."""
        cfg = self.config
        R, W, M = cfg.read_heads, cfg.write_heads, cfg.memory_width
        batch = x.shape[0]
        hidden, controller_state = self.controller(torch.cat([x, state.reads.flatten(1)], dim=1), state.controller)
        raw = self.head_parameters(hidden).clamp(-cfg.clip, cfg.clip)
        per_head = M + addressing.ADDRESS_PARAMETERS_EXTRA
        addressing_raw = raw[:, : (R + W) * per_head].view(batch, R + W, per_head)
        erase_add = raw[:, (R + W) * per_head :].view(batch, W, 2 * M)
        read_params = addressing.head_activations(addressing_raw[:, :R], M)
        write_params = addressing.head_activations(addressing_raw[:, R:], M)
        erase = torch.sigmoid(erase_add[..., :M])
        add = erase_add[..., M:]

        # Write first, then read, so the reads this step see this step's write.
        write_weights = addressing.address(state.memory, state.write_weights, **write_params)
        memory = addressing.write(state.memory, write_weights, erase, add)
        read_weights = addressing.address(memory, state.read_weights, **read_params)
        reads = addressing.read(memory, read_weights)

        logits = self.output(torch.cat([hidden, reads.flatten(1)], dim=1))
        new_state = NTMState(memory, controller_state, reads, read_weights, write_weights)
        return logits, new_state, {"erase": erase, "add": add}

    def forward(self, inputs: torch.Tensor, memory_size: int | None = None, trace: bool = False,
                lengths: torch.Tensor | None = None):
        """inputs [B, T, in] -> logits [B, T, out]; with trace=True also a `Trace`.

        lengths [B] (optional) are the samples' real lengths: the fused path
        skips the steps past them and leaves their logits at zero; the
        others compute those steps as if they were input.
        """
        if self.path == "fused" and not trace and inputs.device.type == "cpu":
            return fused.forward(self, inputs, lengths, memory_size)
        state = self.initial_state(inputs.shape[0], memory_size, inputs.device)
        step = self._compiled_steps.get(torch.is_grad_enabled(), self.step)
        # Time-major and contiguous, so every step's input has the same strides
        # whatever T is (a compiled step would otherwise recompile per length).
        per_step = inputs.transpose(0, 1).contiguous()  # [T, B, in]
        outputs, steps = [], []
        for x in per_step:
            logits, state, emitted = step(x, state)
            outputs.append(logits)
            if trace:
                steps.append((state, emitted))
        logits = torch.stack(outputs, dim=1)
        if not trace:
            return logits
        return logits, _stack_trace(steps)


def _stack_trace(steps: list[tuple[NTMState, dict]]) -> Trace:
    def stack(get):
        return torch.stack([get(state, emitted).detach() for state, emitted in steps], dim=1)

    return Trace(
        read_weights=stack(lambda s, e: s.read_weights),
        write_weights=stack(lambda s, e: s.write_weights),
        erase=stack(lambda s, e: e["erase"]),
        add=stack(lambda s, e: e["add"]),
        reads=stack(lambda s, e: s.reads),
        memory=stack(lambda s, e: s.memory),
    )
