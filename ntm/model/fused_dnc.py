"""The DNC's fused path: the reference DNC (`dnc.py`) over a whole sequence
in one C++ call (`csrc/fused_dnc.cpp`), with a hand-written backward pass
through time wrapped in a `torch.autograd.Function`.

It shares the NTM's build (`fused.load`, cached per source and CPU), its
LSTM controller, products and batch split. Samples are sorted by length
inside the call, so steps past a sample's end cost nothing; the logits
there are zero. `tests/test_fused_dnc.py` holds it to the reference path's
outputs and gradients in float64, with each of Csordás & Schmidhuber's
changes.
"""

from __future__ import annotations

import torch

from ntm.model import fused

SOURCE = fused.SOURCE.with_name("fused_dnc.cpp")


def load(fallback: str = "reference"):
    return fused.load(fallback, SOURCE)


def available(fallback: str = "reference") -> bool:
    return load(fallback) is not None


def expected_parameters(model) -> list[tuple[str, tuple[int, ...]]]:
    """(name, shape) of each parameter in the order the kernel takes them."""
    cfg = model.config
    R, W, H = cfg.read_heads, cfg.memory_width, cfg.hidden_size
    expected = []
    for layer in range(cfg.layers):
        inputs = model.controller_input_width if layer == 0 else H
        prefix = f"controller.cells.{layer}."
        expected += [(prefix + "weight_ih", (4 * H, inputs)), (prefix + "weight_hh", (4 * H, H)),
                     (prefix + "bias_ih", (4 * H,)), (prefix + "bias_hh", (4 * H,))]
    expected += [("interface.weight", (model.interface_size, H * cfg.layers)),
                 ("interface.bias", (model.interface_size,)),
                 ("output.weight", (model.output_width, H * cfg.layers + R * W)),
                 ("output.bias", (model.output_width,))]
    return expected


def kernel_parameters(model) -> list[torch.Tensor]:
    return fused.kernel_parameters(model, expected_parameters(model))


def forward(model, inputs: torch.Tensor, lengths: torch.Tensor | None = None,
            memory_size: int | None = None) -> torch.Tensor:
    """inputs [B, T, in] -> logits [B, T, out] of `model` (a DNC), zero past each length."""
    extension = load()
    if extension is None:
        raise RuntimeError("the fused DNC extension could not be built; see the log line above for why")
    cfg, options = model.config, model.options
    params = kernel_parameters(model)
    inputs = inputs.to(params[0].dtype)
    if lengths is None:
        lengths = torch.full((inputs.shape[0],), inputs.shape[1], dtype=torch.long)
    lengths = lengths.to(device="cpu", dtype=torch.long).clamp(0, inputs.shape[1])
    n = cfg.memory_size if memory_size is None else memory_size
    if n < 1:
        raise ValueError(f"memory_size must be a positive integer, got {n}")
    memory = torch.full((n, cfg.memory_width), cfg.memory_init, dtype=params[0].dtype)
    meta = (cfg.layers, cfg.read_heads, n, cfg.memory_width, options.masked_lookup, options.deallocation_wipe,
            options.link_sharpness, float(cfg.clip))
    needs_grad = torch.is_grad_enabled() and (inputs.requires_grad or any(p.requires_grad for p in params))
    if not needs_grad:
        with torch.no_grad():
            return extension.forward(inputs, lengths, params, *meta, memory, False)[0]
    return _FusedDNC.apply(inputs, lengths, meta, memory, *params)


class _FusedDNC(torch.autograd.Function):
    @staticmethod
    def forward(ctx, inputs, lengths, meta, memory, *params):
        logits, counts, *saved = load().forward(inputs, lengths, list(params), *meta, memory, True)
        ctx.meta, ctx.params = meta, len(params)
        ctx.save_for_backward(inputs, lengths, memory, counts, *params, *saved)
        return logits

    @staticmethod
    def backward(ctx, grad_logits):
        inputs, lengths, memory, counts, *rest = ctx.saved_tensors
        params, saved = rest[: ctx.params], rest[ctx.params :]
        input_grad = ctx.needs_input_grad[0]
        grads = load().backward(grad_logits, inputs, lengths, params, saved, counts, *ctx.meta, memory, input_grad)
        grad_inputs = grads.pop() if input_grad else None
        return (grad_inputs, None, None, None, *grads)
