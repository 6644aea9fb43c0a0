"""The fused path: the reference NTM over a whole sequence in one C++ call.

`forward(model, inputs, lengths, memory_size)` computes what `NTM.forward`
computes on the reference path, in one call to the extension in `csrc/`
(`fused_ntm.cpp` lists its parts) with a hand-written backward pass through
time, wrapped in a `torch.autograd.Function` so `loss.backward()` works
unchanged. Samples are sorted by length inside the call, so steps past a
sample's end cost nothing; the logits there are zero.

The extension is compiled on first use and cached under
~/.cache/ntm/extensions (or $NTM_EXTENSIONS_DIR). It is built for this CPU
(-march=native); NTM_FUSED_MARCH names another target, e.g. x86-64-v3 (AVX2)
or x86-64 (no vector extensions), to build and test the code another CPU
would run. Where it cannot be built, `load()` returns None after one line
saying why, and the caller falls back to another path. Once it loads, glibc
keeps freed memory in the process (`ntm.model.heap`). Its matrix products are
its own AVX-512 code (`csrc/small_products.h`) where the build targets
AVX-512, the BLAS elsewhere; NTM_FUSED_PRODUCTS=blas or =own in the
environment chooses (`set_products` on the loaded module).
`tests/test_fused_path.py` holds it to the reference path's outputs and
gradients in float64.
"""

from __future__ import annotations

import hashlib
import logging
import os
import platform
from pathlib import Path

import torch

from ntm.model.addressing import ADDRESS_PARAMETERS_EXTRA
from ntm.model.controller import FeedforwardController, LSTMController
from ntm.model.heap import keep_freed_memory
from ntm.platform_info import cpu_name

SOURCE = Path(__file__).with_name("csrc") / "fused_ntm.cpp"
log = logging.getLogger("ntm")

_extensions: dict[str, object] = {}  # source name: the built extension, or None once its build failed


def build_flags() -> list[str]:
    """The compiler's flags: the host's CPU, or $NTM_FUSED_MARCH's target.

    No -ffast-math: it would change results and NaN handling. The loops over
    memory locations are short, so full-width vectors and unrolling pay
    (BENCHMARKS.md, "Full-width vectors, and the write backward in registers").
    """
    march = os.environ.get("NTM_FUSED_MARCH", "native")
    flags = ["-O3", f"-march={march}", "-funroll-loops", "-fopenmp"]
    if platform.machine().lower() in ("x86_64", "amd64"):  # an x86 option: other compilers' targets refuse it
        flags.insert(2, "-mprefer-vector-width=512")
    return flags


def cache_dir() -> Path:
    return Path(os.environ.get("NTM_EXTENSIONS_DIR", Path.home() / ".cache" / "ntm" / "extensions"))


def _build(source: Path):
    """Compile (or load the cached build of) the extension of `source`. Its
    name hashes the sources (csrc/), flags, torch version and CPU, so a
    changed source, target or machine never loads a stale or foreign binary."""
    from torch.utils.cpp_extension import load as load_cpp

    flags = build_flags()
    sources = [path.read_text() for path in sorted(source.parent.iterdir()) if path.suffix in (".cpp", ".h")]
    key = "|".join([source.name, *sources, " ".join(flags), torch.__version__, platform.machine(), cpu_name()])
    name = source.stem + "_" + hashlib.sha256(key.encode()).hexdigest()[:12]
    build_dir = cache_dir() / name
    build_dir.mkdir(parents=True, exist_ok=True)
    if not (build_dir / f"{name}.so").exists():  # a first run would otherwise sit silent while it compiles
        log.warning("ntm: building the fused kernel %s for this CPU, once (about 20 s); later runs load it from %s",
                    source.stem, build_dir)
    return load_cpp(name=name, sources=[str(source)], extra_cflags=flags, extra_ldflags=["-fopenmp"],
                    build_directory=str(build_dir), verbose=False)


def load(fallback: str = "reference", source: Path = SOURCE):
    """The compiled extension of `source` (the NTM's by default), or None if
    it cannot be built: then one line on the log says why and that the
    `fallback` path is used instead."""
    if source.name not in _extensions:
        try:
            _extensions[source.name] = _build(source)
        except Exception as error:  # no compiler, no headers, a failed build: all mean "use another path"
            reason = (str(error).strip().splitlines() or [type(error).__name__])[0].split(":")[0]
            log.warning("ntm: the fused path could not be built (%s); using the %s path instead", reason, fallback)
            _extensions[source.name] = None
        if _extensions[source.name] is not None:
            keep_freed_memory()  # the per-call buffers would otherwise be faulted in afresh each step
            products = os.environ.get("NTM_FUSED_PRODUCTS")
            if products and source == SOURCE:
                try:
                    _extensions[source.name].set_products(products)
                except RuntimeError as error:
                    raise ValueError(f"NTM_FUSED_PRODUCTS={products}: {str(error).splitlines()[0]}") from None
    return _extensions[source.name]


def available(fallback: str = "reference") -> bool:
    return load(fallback) is not None


def controller_is_lstm(model) -> bool:
    """True for the LSTM controller, False for the feedforward one (NTM-FF)."""
    if isinstance(model.controller, LSTMController):
        return True
    if isinstance(model.controller, FeedforwardController):
        return False
    raise TypeError(f"the fused path runs the LSTM and feedforward controllers, not {type(model.controller).__name__}")


def expected_parameters(model) -> list[tuple[str, tuple[int, ...]]]:
    """(name, shape) of each parameter in the order the kernel takes them
    (csrc/weights.h), from the model's config and widths."""
    cfg = model.config
    R, W, M, H = cfg.read_heads, cfg.write_heads, cfg.memory_width, cfg.hidden_size
    lstm = controller_is_lstm(model)
    expected = []
    for layer in range(cfg.layers):
        inputs = model.input_width + R * M if layer == 0 else H
        if lstm:
            prefix = f"controller.cells.{layer}."
            expected += [(prefix + "weight_ih", (4 * H, inputs)), (prefix + "weight_hh", (4 * H, H)),
                         (prefix + "bias_ih", (4 * H,)), (prefix + "bias_hh", (4 * H,))]
        else:
            prefix = f"controller.layers.{layer}."
            expected += [(prefix + "weight", (H, inputs)), (prefix + "bias", (H,))]
    projection = (R + W) * (M + ADDRESS_PARAMETERS_EXTRA) + 2 * W * M  # every head's addressing, erase and add
    expected += [("head_parameters.weight", (projection, H)), ("head_parameters.bias", (projection,)),
                 ("output.weight", (model.output_width, H + R * M)), ("output.bias", (model.output_width,))]
    return expected


def kernel_parameters(model, expected: list[tuple[str, tuple[int, ...]]] | None = None) -> list[torch.Tensor]:
    """The model's parameters by name in the kernel's order (`expected`, the
    NTM's by default), each checked to exist with its expected shape, so a
    module laid out otherwise is refused instead of being computed with the
    wrong weights."""
    present = dict(model.named_parameters())
    params = []
    for name, shape in expected_parameters(model) if expected is None else expected:
        if name not in present:
            raise ValueError(f"the fused path needs the parameter {name!r}, which this model lacks; "
                             f"use the reference path for it (use_path('reference'))")
        if tuple(present[name].shape) != shape:
            raise ValueError(f"the fused path expects {name} of shape {list(shape)}, "
                             f"not {list(present[name].shape)}; use the reference path for this model")
        params.append(present[name])
    return params


def forward(model, inputs: torch.Tensor, lengths: torch.Tensor | None = None,
            memory_size: int | None = None) -> torch.Tensor:
    """inputs [B, T, in] -> logits [B, T, out] of `model` (an NTM), zero past each length."""
    extension = load()
    if extension is None:
        raise RuntimeError("the fused NTM extension could not be built; see the log line above for why")
    cfg = model.config
    params = kernel_parameters(model)
    inputs = inputs.to(params[0].dtype)
    if lengths is None:
        lengths = torch.full((inputs.shape[0],), inputs.shape[1], dtype=torch.long)
    lengths = lengths.to(device="cpu", dtype=torch.long).clamp(0, inputs.shape[1])
    memory = model.initial_memory(memory_size)
    meta = (controller_is_lstm(model), cfg.layers, cfg.read_heads, cfg.write_heads, memory.shape[0],
            cfg.memory_width, float(cfg.clip))
    needs_grad = torch.is_grad_enabled() and (inputs.requires_grad or memory.requires_grad
                                              or any(p.requires_grad for p in params))
    if not needs_grad:
        with torch.no_grad():
            return extension.forward(inputs, lengths, params, *meta, memory, False)[0]
    return _FusedNTM.apply(inputs, lengths, meta, memory, *params)


class _FusedNTM(torch.autograd.Function):
    @staticmethod
    def forward(ctx, inputs, lengths, meta, memory, *params):
        logits, *saved = load().forward(inputs, lengths, list(params), *meta, memory, True)
        ctx.meta, ctx.params, ctx.n_saved = meta, len(params), len(saved)
        ctx.save_for_backward(inputs, lengths, memory, *params, *saved)
        return logits

    @staticmethod
    def backward(ctx, grad_logits):
        inputs, lengths, memory, *rest = ctx.saved_tensors
        params, saved = rest[: ctx.params], rest[ctx.params :]
        input_grad = ctx.needs_input_grad[0]
        grads = load().backward(grad_logits, inputs, lengths, params, saved, *ctx.meta, memory, input_grad)
        grad_inputs = grads.pop() if input_grad else None
        grad_memory = grads.pop()
        return (grad_inputs, None, None, grad_memory if ctx.needs_input_grad[3] else None, *grads)
