"""Recurrent baselines (docs/tasks.md section 4) behind the NTM's interface:
inputs [B, T, in] -> logits [B, T, out], chosen by name through `build_model`.
"""

import pytest
import torch
from conftest import assert_batch_matches_each_sample
from torch import nn

from ntm.model.baselines import RecurrentBaseline
from ntm.model.padding import ROWS_PER_GROUP
from ntm.config import ModelConfig, default_config
from ntm.model.registry import names as model_names
from ntm.model.registry import build_model

BASELINES = ["lstm", "gru", "rnn", "bilstm"]
IN, OUT = 4, 3


def small_baseline(name, **fields):
    torch.manual_seed(0)
    sizes = dict(name=name, hidden_size=8, layers=2)
    sizes.update(fields)
    return build_model(ModelConfig(**sizes), IN, OUT)


def inputs(batch=3, steps=5):
    return torch.randn(batch, steps, IN, generator=torch.Generator().manual_seed(1))


@pytest.mark.parametrize("name, cell", [("lstm", nn.LSTM), ("gru", nn.GRU), ("rnn", nn.RNN)])
def test_build_model_picks_the_named_cell(name, cell):
    model = small_baseline(name)
    assert isinstance(model, RecurrentBaseline)
    assert type(model.rnn) is cell


@pytest.mark.parametrize("name", BASELINES)
def test_output_has_shape_batch_steps_output_width(name):
    assert small_baseline(name)(inputs(batch=3, steps=5)).shape == (3, 5, OUT)


@pytest.mark.parametrize("name", BASELINES)
@pytest.mark.parametrize("layers", [1, 3])
def test_stacking_depth_and_width_come_from_the_config(name, layers):
    model = small_baseline(name, layers=layers, hidden_size=6)
    assert model.rnn.num_layers == layers
    assert model.rnn.hidden_size == 6
    directions = 2 if name == "bilstm" else 1
    assert model.output.in_features == 6 * directions and model.output.out_features == OUT


def test_bilstm_reads_both_directions_so_its_first_output_sees_the_last_input():
    model, x = small_baseline("bilstm"), inputs(batch=1, steps=6)
    changed = x.clone()
    changed[:, -1] += 1.0
    assert model.rnn.bidirectional
    assert not torch.allclose(model(x)[:, 0], model(changed)[:, 0])


def test_lstm_is_causal_so_its_first_output_ignores_the_last_input():
    model, x = small_baseline("lstm"), inputs(batch=1, steps=6)
    changed = x.clone()
    changed[:, -1] += 1.0
    assert torch.equal(model(x)[:, 0], model(changed)[:, 0])


def test_bilstm_is_refused_where_targets_are_later_inputs():
    config = default_config("dynamic-ngrams", "bilstm")
    with pytest.raises(ValueError, match="bilstm cannot be trained on dynamic-ngrams.*later inputs"):
        config.validate()


@pytest.mark.parametrize("task", ["copy", "repeat-copy", "associative-recall", "priority-sort"])
def test_bilstm_is_allowed_where_no_target_is_a_later_input(task):
    assert default_config(task, "bilstm").validate().model.name == "bilstm"


@pytest.mark.parametrize("name", BASELINES)
def test_trace_raises_a_value_error_because_a_baseline_has_no_memory(name):
    with pytest.raises(ValueError, match="only NTM models"):
        small_baseline(name)(inputs(), trace=True)


@pytest.mark.parametrize("name", BASELINES)
def test_memory_size_is_accepted_and_ignored(name):
    model, x = small_baseline(name), inputs()
    assert torch.equal(model(x, memory_size=500), model(x))


@pytest.mark.parametrize("name", BASELINES)
def test_a_batch_gives_the_same_outputs_as_each_sample_alone(name):
    assert_batch_matches_each_sample(small_baseline(name), inputs(batch=3))


@pytest.mark.parametrize("name", BASELINES)
def test_every_parameter_gets_a_finite_gradient(name):
    model = small_baseline(name)
    model(inputs()).sum().backward()
    for key, parameter in model.named_parameters():
        assert parameter.grad is not None and torch.isfinite(parameter.grad).all(), key


@pytest.mark.parametrize("name", BASELINES)
def test_baselines_have_no_memory(name):
    assert not ModelConfig(name=name).has_memory


@pytest.mark.parametrize("name", ["ntm", "ntm-ff"])
def test_ntms_have_memory(name):
    assert ModelConfig(name=name).has_memory


def test_sizes_below_one_are_rejected():
    with pytest.raises(ValueError, match="at least 1"):
        build_model(ModelConfig(name="lstm", hidden_size=0), IN, OUT)


def test_build_model_rejects_an_unknown_name_listing_the_valid_ones():
    with pytest.raises(ValueError, match="hopfield") as error:
        build_model(ModelConfig(name="hopfield"), IN, OUT)
    for name in model_names():
        assert name in str(error.value)


def test_default_config_rejects_an_unknown_model_listing_the_valid_ones():
    with pytest.raises(ValueError, match="hopfield") as error:
        default_config("copy", "hopfield")
    for name in model_names():
        assert name in str(error.value)


@pytest.mark.parametrize("name", ["gru", "rnn", "bilstm"])
def test_gru_rnn_and_bilstm_defaults_take_the_lstm_baselines_sizes(name):
    lstm, other = default_config("copy", "lstm").model, default_config("copy", name).model
    assert (other.hidden_size, other.layers) == (lstm.hidden_size, lstm.layers) == (256, 3)


def mixed_length_batch(batch=40, steps=9, seed=2):
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(batch, steps, IN, generator=generator, dtype=torch.float64)
    lengths = torch.randint(1, steps + 1, (batch,), generator=generator)
    lengths[0] = steps  # one sample runs the whole batch
    scored = torch.arange(steps) < lengths[:, None]  # [B, T]
    return x, lengths, scored


@pytest.mark.parametrize("name", ["lstm", "gru", "rnn"])
def test_one_way_baselines_skip_padding_without_changing_scored_outputs_or_gradients(name):
    model = small_baseline(name).double()
    x, lengths, scored = mixed_length_batch()
    assert x.shape[0] // ROWS_PER_GROUP > 1  # large enough to be run in groups

    def outputs_and_gradients(lengths_given):
        model.zero_grad()
        out = model(x, lengths=lengths_given)
        (out * scored[..., None]).pow(2).sum().backward()
        return out, [p.grad.clone() for p in model.parameters()]

    padded, padded_grads = outputs_and_gradients(None)
    grouped, grouped_grads = outputs_and_gradients(lengths)
    assert torch.allclose(padded[scored], grouped[scored], atol=1e-12)
    for a, b in zip(padded_grads, grouped_grads):
        assert torch.allclose(a, b, atol=1e-10)


def test_one_way_baselines_run_fewer_steps_than_the_padded_batch():
    model = small_baseline("lstm").double()
    x, lengths, _ = mixed_length_batch()
    shapes = []
    model.rnn.register_forward_hook(lambda module, args, output: shapes.append(args[0].shape))
    model(x, lengths=lengths)
    rows_times_steps = sum(shape[0] * shape[1] for shape in shapes)
    assert sum(shape[0] for shape in shapes) == x.shape[0]
    assert int(lengths.sum()) <= rows_times_steps < x.shape[0] * x.shape[1]


def test_bilstm_runs_its_padding_because_its_backward_direction_reads_it():
    model = small_baseline("bilstm").double()
    x, lengths, scored = mixed_length_batch()
    assert torch.equal(model(x, lengths=lengths), model(x))


@pytest.mark.parametrize("name", ["lstm", "bilstm"])
def test_forget_bias_shifts_only_the_forget_gates_bias_in_every_layer(name):
    plain = small_baseline(name)
    biased = small_baseline(name, options={"forget_bias": 1.0})
    hidden = plain.config.hidden_size
    for (key, before), (_, after) in zip(plain.rnn.named_parameters(), biased.rnn.named_parameters()):
        shift = after - before
        if key.startswith("bias_ih"):  # torch's gate order: input, forget, cell, output
            assert torch.allclose(shift[hidden:2 * hidden], torch.ones(hidden))
            assert torch.equal(torch.cat([shift[:hidden], shift[2 * hidden:]]), torch.zeros(3 * hidden))
        else:
            assert torch.equal(shift, torch.zeros_like(shift)), key


@pytest.mark.parametrize("name", ["gru", "rnn"])
def test_forget_bias_is_refused_by_cells_without_a_forget_gate(name):
    with pytest.raises(ValueError, match="no forget gate"):
        small_baseline(name, options={"forget_bias": 1.0})


def test_an_unknown_baseline_option_is_named_with_the_known_ones():
    with pytest.raises(ValueError, match="forget_bias"):
        small_baseline("lstm", options={"forget_gate_bias": 1.0})
