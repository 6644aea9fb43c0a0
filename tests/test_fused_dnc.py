"""The DNC's fused path (one C++ call per sequence, ntm/model/fused_dnc.py)
computes the reference DNC (ntm/model/dnc.py): outputs, every parameter's
gradient and the inputs' gradient agree in float64, with each of Csordás &
Schmidhuber's changes, several layers and read heads, ragged lengths, the
batch split across threads and another memory size at evaluation.

The extension is compiled on first use (about 40 s on 2 cores) and cached.
"""

import logging
import os
import shutil

import pytest
import torch

from ntm.config import ModelConfig
from ntm.model import fused, fused_dnc
from ntm.model.dnc import DNC, DNCOptions

TOLERANCE = dict(rtol=1e-9, atol=1e-12)  # float64: the two paths differ only in summation order
CHANGES = [DNCOptions(), DNCOptions(masked_lookup=True), DNCOptions(deallocation_wipe=True),
           DNCOptions(link_sharpness=True), DNCOptions(True, True, True)]


@pytest.fixture(autouse=True)
def _needs_extension():
    if fused_dnc.available():
        return
    if shutil.which(os.environ.get("CXX", "c++")) is None:
        pytest.skip("no C++ compiler here, so no fused extension")
    pytest.fail("a C++ compiler is installed but the fused DNC did not build (see the log line for why)")


def dnc_pair(options: DNCOptions, layers=1, read_heads=1, memory_size=7, seed=0, inputs=5, outputs=3):
    """The same float64 weights on the reference and the fused path."""
    config = ModelConfig(name="dnc", hidden_size=6, layers=layers, read_heads=read_heads, write_heads=1,
                         memory_size=memory_size, memory_width=4)
    torch.manual_seed(seed)
    reference = DNC(inputs, outputs, config, options).double()
    on_fused = DNC(inputs, outputs, config, options).double()
    on_fused.load_state_dict(reference.state_dict())
    assert on_fused.use_path("fused") == "fused"
    return reference, on_fused


def run(model, inputs, weights, **forward):
    """Logits, every parameter's gradient and the inputs' of sum(logits * weights)."""
    model.zero_grad(set_to_none=True)
    x = inputs.clone().requires_grad_(True)
    logits = model(x, **forward)
    (logits * weights).sum().backward()
    return logits.detach(), {name: p.grad.clone() for name, p in model.named_parameters()}, x.grad


def assert_paths_agree(reference, on_fused, inputs, lengths=None, **forward):
    B, T = inputs.shape[:2]
    steps = torch.arange(T)[None, :] < (lengths if lengths is not None else torch.full((B,), T))[:, None]
    torch.manual_seed(1)
    weights = torch.randn(B, T, reference.output_width, dtype=torch.float64) * steps[..., None]
    ref_logits, ref_grads, ref_x = run(reference, inputs, weights, **forward)
    logits, grads, x = run(on_fused, inputs, weights, lengths=lengths, **forward)
    torch.testing.assert_close(logits, ref_logits * steps[..., None], **TOLERANCE)
    for name, grad in ref_grads.items():
        assert grad.abs().max() > 0, f"{name} gets no gradient on the reference path: the test would prove nothing"
        torch.testing.assert_close(grads[name], grad, **TOLERANCE, msg=lambda m, name=name: f"{name}: {m}")
    torch.testing.assert_close(x * steps[..., None], ref_x * steps[..., None], **TOLERANCE)


@pytest.mark.parametrize("options", CHANGES, ids=["plain", "masked", "wipe", "sharpness", "all"])
def test_fused_dnc_computes_the_reference_outputs_and_gradients(options):
    reference, on_fused = dnc_pair(options)
    assert_paths_agree(reference, on_fused, torch.randn(3, 9, 5, dtype=torch.float64))


def test_two_layers_and_three_read_heads_with_every_change():
    reference, on_fused = dnc_pair(DNCOptions(True, True, True), layers=2, read_heads=3)
    assert_paths_agree(reference, on_fused, torch.randn(3, 8, 5, dtype=torch.float64))


def test_ragged_lengths_match_the_reference_on_their_real_steps_and_are_zero_after():
    reference, on_fused = dnc_pair(DNCOptions(deallocation_wipe=True), read_heads=2)
    lengths = torch.tensor([3, 8, 1, 6])
    assert_paths_agree(reference, on_fused, torch.randn(4, 8, 5, dtype=torch.float64), lengths)
    logits = on_fused(torch.randn(4, 8, 5, dtype=torch.float64), lengths=lengths)
    assert logits[2, 1:].abs().max() == 0 and logits[0, 3:].abs().max() == 0


def test_a_larger_memory_at_evaluation_matches_the_reference():
    reference, on_fused = dnc_pair(DNCOptions(), memory_size=5)
    assert_paths_agree(reference, on_fused, torch.randn(2, 7, 5, dtype=torch.float64), memory_size=11)


def test_the_batch_split_across_threads_gives_the_one_thread_result():
    reference, on_fused = dnc_pair(DNCOptions(link_sharpness=True))
    inputs = torch.randn(8, 6, 5, dtype=torch.float64)
    lengths = torch.tensor([6, 2, 5, 6, 1, 3, 4, 6])
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        assert_paths_agree(reference, on_fused, inputs, lengths)
    finally:
        torch.set_num_threads(threads)


def test_float32_runs_and_stays_close_to_float64():
    reference, on_fused = dnc_pair(DNCOptions(True, True, True), read_heads=2)
    inputs = torch.randn(4, 10, 5, dtype=torch.float64)
    expected = reference(inputs)
    assert torch.allclose(on_fused.float()(inputs.float()).double(), expected, atol=1e-4)


def test_without_a_compiler_one_line_says_so_and_the_reference_path_runs(monkeypatch, caplog):
    def no_compiler(source):
        raise RuntimeError("Error building extension 'fused_dnc': c++: command not found")

    monkeypatch.setattr(fused, "_build", no_compiler)
    monkeypatch.setattr(fused, "_extensions", {})
    config = ModelConfig(name="dnc", hidden_size=6, write_heads=1, memory_size=7, memory_width=4)
    model = DNC(5, 3, config)
    with caplog.at_level(logging.WARNING, logger="ntm"):
        assert model.use_path("fused") == "reference"
    assert len(caplog.records) == 1 and "could not be built" in caplog.text
    assert model(torch.randn(2, 3, 5)).shape == (2, 3, 3)


def test_a_module_laid_out_otherwise_is_refused_by_name():
    _, on_fused = dnc_pair(DNCOptions())
    on_fused.interface = torch.nn.Linear(6, 3).double()
    with pytest.raises(ValueError, match="interface.weight"):
        on_fused(torch.randn(2, 3, 5, dtype=torch.float64))
