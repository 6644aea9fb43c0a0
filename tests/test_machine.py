"""The NTM (docs/tasks.md section 4): inputs [B, T, in] -> logits [B, T, out], with an
LSTM controller ("ntm") or a feedforward one ("ntm-ff"), built by name through
`ntm.model.registry.build_model`. Small sizes keep every test well under a second.
"""

import dataclasses

import pytest
import torch
from conftest import assert_batch_matches_each_sample
import torch.nn.functional as F

from ntm.config import ModelConfig, default_config
from ntm.model.ntm import NTM, NTMState, Trace
from ntm.model.registry import build_model, count_parameters

IN, OUT = 4, 3
B, T = 3, 5
NTM_NAMES = ["ntm", "ntm-ff"]


def small_config(name="ntm", **fields) -> ModelConfig:
    sizes = dict(name=name, hidden_size=12, layers=1, memory_size=8, memory_width=5)
    sizes.update(fields)
    return ModelConfig(**sizes)


def small_model(name="ntm", seed=0, **fields) -> NTM:
    torch.manual_seed(seed)
    return build_model(small_config(name, **fields), IN, OUT)


def inputs(batch=B, steps=T, seed=1, scale=1.0) -> torch.Tensor:
    return torch.randn(batch, steps, IN, generator=torch.Generator().manual_seed(seed)) * scale


@pytest.fixture
def float64_default():
    """Build tensors in float64 for numerical gradient checks, then restore."""
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(previous)


# ---------------------------------------------------------------------------
# Interface


@pytest.mark.parametrize("name", NTM_NAMES)
def test_build_model_returns_an_ntm(name):
    assert isinstance(small_model(name), NTM)


@pytest.mark.parametrize("name", NTM_NAMES)
def test_output_has_shape_batch_steps_output_width(name):
    assert small_model(name)(inputs()).shape == (B, T, OUT)


@pytest.mark.parametrize("name", NTM_NAMES)
def test_a_batch_gives_the_same_outputs_as_each_sample_alone(name):
    assert_batch_matches_each_sample(small_model(name), inputs(batch=4))


@pytest.mark.parametrize("name", NTM_NAMES)
def test_outputs_are_causal_a_later_input_does_not_change_earlier_outputs(name):
    model, x = small_model(name), inputs()
    changed = x.clone()
    changed[:, 3] += 1.0
    torch.testing.assert_close(model(x)[:, :3], model(changed)[:, :3])


def test_sizes_below_one_are_rejected():
    with pytest.raises(ValueError, match="at least 1"):
        build_model(small_config(read_heads=0), IN, OUT)


# ---------------------------------------------------------------------------
# The recurrent state


def test_initial_state_shapes_with_an_lstm_controller():
    model = small_model("ntm", layers=2, read_heads=2, write_heads=3)
    state = model.initial_state(B)
    assert isinstance(state, NTMState)
    assert state.memory.shape == (B, 8, 5)
    assert len(state.controller) == 4  # (h, c) for each of 2 layers
    assert all(tensor.shape == (B, 12) for tensor in state.controller)
    assert state.reads.shape == (B, 2, 5)
    assert state.read_weights.shape == (B, 2, 8)
    assert state.write_weights.shape == (B, 3, 8)


def test_initial_state_of_a_feedforward_controller_is_empty():
    assert small_model("ntm-ff").initial_state(B).controller == ()


def test_initial_state_takes_a_memory_size():
    state = small_model().initial_state(2, memory_size=13)
    assert state.memory.shape == (2, 13, 5)
    assert state.read_weights.shape == (2, 1, 13)
    assert state.write_weights.shape == (2, 1, 13)


def test_memory_starts_at_a_small_constant_not_zero():
    memory = small_model().initial_state(2).memory
    assert (memory == ModelConfig().memory_init).all()
    assert ModelConfig().memory_init > 0


def test_a_learned_memory_is_a_trained_parameter_with_distinct_rows():
    model = small_model(learned_memory=True)
    memory = model.initial_state(2).memory
    assert memory.shape == (2, 8, 5) and memory.requires_grad
    assert torch.equal(memory[0], model.learned_memory) and len(set(memory[0, :, 0].tolist())) == 8
    model(inputs()).sum().backward()
    assert model.learned_memory.grad is not None and model.learned_memory.grad.abs().sum() > 0
    assert torch.equal(model.initial_memory(11)[8:], model.learned_memory[:3].detach())


def test_heads_start_focused_on_location_zero_and_read_the_initial_memory():
    state = small_model(read_heads=2).initial_state(2)
    expected = torch.zeros(2, 2, 8)
    expected[..., 0] = 1.0
    torch.testing.assert_close(state.read_weights, expected)
    torch.testing.assert_close(state.reads, torch.full((2, 2, 5), ModelConfig().memory_init))


# ---------------------------------------------------------------------------
# Memory size is a run-time setting


@pytest.mark.parametrize("name", NTM_NAMES)
def test_memory_size_can_be_changed_at_call_time_with_the_same_weights(name):
    model = small_model(name)
    weights = {key: value.clone() for key, value in model.state_dict().items()}
    logits, trace = model(inputs(), memory_size=20, trace=True)
    assert logits.shape == (B, T, OUT)
    assert trace.memory.shape == (B, T, 20, 5)
    assert trace.read_weights.shape == (B, T, 1, 20)
    assert torch.isfinite(logits).all()
    for key, value in model.state_dict().items():
        assert torch.equal(value, weights[key])


def test_memory_size_none_means_the_configured_size():
    model, x = small_model(), inputs()
    torch.testing.assert_close(model(x), model(x, memory_size=8), rtol=0, atol=0)


# ---------------------------------------------------------------------------
# The trace, for pictures


@pytest.mark.parametrize("name", NTM_NAMES)
def test_trace_has_the_documented_shapes(name):
    model = small_model(name, read_heads=2, write_heads=3)
    logits, trace = model(inputs(), trace=True)
    assert isinstance(trace, Trace)
    assert logits.shape == (B, T, OUT)
    assert trace.read_weights.shape == (B, T, 2, 8)
    assert trace.write_weights.shape == (B, T, 3, 8)
    assert trace.erase.shape == (B, T, 3, 5)
    assert trace.add.shape == (B, T, 3, 5)
    assert trace.reads.shape == (B, T, 2, 5)
    assert trace.memory.shape == (B, T, 8, 5)


@pytest.mark.parametrize("name", NTM_NAMES)
def test_trace_weightings_are_non_negative_and_sum_to_one_per_sample_step_and_head(name):
    _, trace = small_model(name, read_heads=2, write_heads=2)(inputs(), trace=True)
    for weights in (trace.read_weights, trace.write_weights):
        assert (weights >= 0).all()
        torch.testing.assert_close(weights.sum(-1), torch.ones(B, T, 2))


def test_trace_erase_vectors_lie_between_zero_and_one():
    _, trace = small_model()(inputs(), trace=True)
    assert ((trace.erase >= 0) & (trace.erase <= 1)).all()


def test_trace_reads_are_the_read_weightings_applied_to_that_steps_memory():
    _, trace = small_model(read_heads=2)(inputs(), trace=True)
    torch.testing.assert_close(trace.reads, trace.read_weights @ trace.memory)


@pytest.mark.parametrize("name", NTM_NAMES)
def test_trace_false_gives_identical_logits(name):
    model, x = small_model(name), inputs()
    traced, _ = model(x, trace=True)
    assert torch.equal(model(x), traced)


def test_trace_holds_no_graph():
    x = inputs().requires_grad_()
    _, trace = small_model()(x, trace=True)
    assert not any(field.requires_grad for field in dataclasses.astuple(trace))


# ---------------------------------------------------------------------------
# Gradients


@pytest.mark.parametrize("name", NTM_NAMES)
def test_gradients_match_finite_differences_in_float64(name, float64_default):
    torch.manual_seed(0)
    config = ModelConfig(name=name, hidden_size=4, memory_size=4, memory_width=3, read_heads=1, write_heads=1)
    model = build_model(config, 2, 2).double()
    x = torch.randn(2, 3, 2, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(model, (x,), eps=1e-6, atol=1e-5, rtol=1e-3)


@pytest.mark.parametrize("name", NTM_NAMES)
def test_a_model_converted_to_float64_runs_in_float64(name):
    # `model.double()` must be enough: the initial state follows the parameters' dtype.
    model = small_model(name).double()
    logits = model(inputs().double())
    assert logits.dtype == torch.float64


@pytest.mark.parametrize("name", NTM_NAMES)
def test_every_parameter_gets_a_finite_gradient(name):
    model = small_model(name, read_heads=2, write_heads=2)
    model(inputs()).sum().backward()
    for key, parameter in model.named_parameters():
        assert parameter.grad is not None, key
        assert torch.isfinite(parameter.grad).all(), key


# ---------------------------------------------------------------------------
# Numerics at the extremes (docs/tasks.md section 4: clip controller outputs at +-20)


def _loss(logits):
    targets = (torch.arange(logits.numel()).reshape(logits.shape) % 2).float()
    return F.binary_cross_entropy_with_logits(logits, targets)


@pytest.mark.parametrize("name", NTM_NAMES)
def test_huge_inputs_give_finite_outputs_and_gradients(name):
    model = small_model(name)
    x = inputs(scale=1e4).requires_grad_()
    logits = model(x)
    assert torch.isfinite(logits).all()
    _loss(logits).backward()
    assert torch.isfinite(x.grad).all()
    for key, parameter in model.named_parameters():
        assert torch.isfinite(parameter.grad).all(), key


@pytest.mark.parametrize("name", NTM_NAMES)
def test_huge_weights_are_clipped_to_finite_outputs_and_gradients(name):
    model = small_model(name)
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.mul_(100.0)
    logits, trace = model(inputs(scale=10.0), trace=True)
    # The add vectors are raw controller outputs: the clip at +-20 is what bounds them.
    assert trace.add.abs().max().item() == pytest.approx(model.config.clip)
    assert torch.isfinite(logits).all()
    assert torch.isfinite(trace.memory).all() and torch.isfinite(trace.read_weights).all()
    _loss(model(inputs(scale=10.0))).backward()
    for key, parameter in model.named_parameters():
        assert torch.isfinite(parameter.grad).all(), key


# ---------------------------------------------------------------------------
# Several heads


@pytest.mark.parametrize("name", NTM_NAMES)
def test_several_read_and_write_heads_run_and_train(name):
    model = small_model(name, read_heads=3, write_heads=2)
    logits, trace = model(inputs(), trace=True)
    assert logits.shape == (B, T, OUT)
    assert trace.read_weights.shape[2] == 3 and trace.write_weights.shape[2] == 2
    _loss(logits).backward()
    assert torch.isfinite(model.head_parameters.weight.grad).all()


def test_each_read_head_feeds_the_output():
    model = small_model(read_heads=3)
    assert model.output.in_features == 12 + 3 * 5  # controller output and the R read vectors


def test_a_two_layer_controller_is_built_from_the_config():
    assert len(small_model("ntm", layers=2).controller.cells) == 2
    assert len(small_model("ntm-ff", layers=2).controller.layers) == 2


# ---------------------------------------------------------------------------
# Parameter counts, pinned exactly; the paper's figures (docs/tasks.md section 5) in comments


def test_default_copy_ntm_has_62660_parameters():
    # The paper reports 67,561 for its copy NTM; its bookkeeping (initial
    # state, biases) is not published, so ours is pinned on its own count.
    model = build_model(default_config("copy", "ntm").model, 9, 8)
    lstm = 4 * 100 * (9 + 20 + 100) + 2 * 4 * 100  # input, previous read vector and state; two biases
    heads = (20 + 1 + 1 + 3 + 1) + (20 + 1 + 1 + 3 + 1 + 20 + 20)  # read: k, beta, g, s, gamma; write adds e, a
    output = (100 + 20) * 8 + 8
    assert count_parameters(model) == lstm + heads * 100 + heads + output == 62_660


def test_default_copy_lstm_has_1328136_parameters():
    # The paper reports 1,352,969 for its 3 x 256 copy LSTM.
    model = build_model(default_config("copy", "lstm").model, 9, 8)
    layers = 4 * 256 * (9 + 256) + 2 * 4 * 256 * (256 + 256) + 3 * 2 * 4 * 256  # weights, then two biases a layer
    assert count_parameters(model) == layers + 256 * 8 + 8 == 1_328_136
