"""The Transformer baseline: causal whatever its positional encoding, its
attention drawn as weights over past steps, and a learned encoding refusing
positions it never trained on."""

import pytest
import torch

import tasks
from ntm.config import default_config
from ntm.model.registry import build_model, count_parameters
from ntm.model.transformer import POSITIONALS, Transformer, TransformerOptions


def tiny(positional: str, **options) -> Transformer:
    torch.manual_seed(0)
    return Transformer(9, 8, TransformerOptions(width=16, layers=2, heads=2, positional=positional, **options))


@pytest.mark.parametrize("positional", POSITIONALS)
def test_an_output_never_depends_on_a_later_input(positional):
    model = tiny(positional).eval()
    inputs = torch.rand(2, 12, 9)
    changed = inputs.clone()
    changed[:, 7:] = torch.rand(2, 5, 9)
    before, after = model(inputs), model(changed)
    assert before.shape == (2, 12, 8)
    torch.testing.assert_close(before[:, :7], after[:, :7])
    assert not torch.allclose(before[:, 7:], after[:, 7:])


@pytest.mark.parametrize("positional, tells_positions", [("sinusoidal", True), ("rope", True), ("alibi", True),
                                                       ("none", False)])
def test_only_a_positional_encoding_tells_equal_steps_apart(positional, tells_positions):
    model = tiny(positional).eval()
    repeated = torch.rand(1, 1, 9).expand(1, 6, 9)  # the same input at every step: only its position differs
    _, traces = model(repeated, trace=True)
    last = traces["layer 1"][0, 5, 0]  # the last step's first head, over keys 0..5
    uniform = torch.full((6,), 1 / 6)
    assert torch.allclose(last, uniform, atol=1e-6) is not tells_positions


def test_the_trace_is_each_heads_weights_over_past_steps():
    model = tiny("rope").eval()
    logits, traces = model(torch.rand(3, 10, 9), trace=True)
    assert set(traces) == {"layer 1", "layer 2"}
    weights = traces["layer 1"]  # [B, T (query), H, T (key)]
    assert weights.shape == (3, 10, 2, 10)
    torch.testing.assert_close(weights.sum(-1), torch.ones(3, 10, 2))
    future = torch.ones(10, 10, dtype=torch.bool).triu(1)
    assert weights.permute(0, 2, 1, 3)[..., future].abs().max() == 0


def test_a_learned_encoding_refuses_steps_past_those_it_trained_on():
    model = tiny("learned")
    model(torch.rand(2, 20, 9)).sum().backward()  # training sees 20 steps
    model.eval()
    assert model(torch.rand(1, 20, 9)).shape == (1, 20, 8)
    with pytest.raises(ValueError, match="trained on 20 of them and cannot be evaluated at 21 steps"):
        model(torch.rand(1, 21, 9))


@pytest.mark.parametrize("positional", ["sinusoidal", "rope", "alibi", "none", "randomised"])
def test_the_other_encodings_evaluate_at_any_length(positional):
    model = tiny(positional)
    model(torch.rand(2, 10, 9))
    assert model.eval()(torch.rand(1, 300, 9)).shape == (1, 300, 8)


def test_randomised_positions_are_ordered_and_drawn_from_the_long_range_while_training():
    model = tiny("randomised", max_positions=500)
    drawn = model.positions(4, 30, "cpu")
    assert drawn.shape == (4, 30) and (drawn.diff(dim=1) > 0).all() and drawn.max() < 500
    assert drawn.max() > 30  # not the first 30 positions
    assert torch.equal(model.eval().positions(4, 30, "cpu"), torch.arange(30).unsqueeze(0))


@pytest.mark.parametrize("options", [TransformerOptions(width=24, layers=3, heads=2),
                                     TransformerOptions(width=16, layers=1, positional="learned", max_positions=50)])
def test_the_parameter_count_without_building_is_the_built_models(options):
    assert Transformer.parameter_count(9, 8, options) == count_parameters(Transformer(9, 8, options))


def test_bad_options_are_refused_by_name():
    with pytest.raises(ValueError, match="positional must be one of"):
        tiny("wavelets")
    with pytest.raises(ValueError, match="must split into 3 heads"):
        Transformer(9, 8, TransformerOptions(width=16, heads=3))


@pytest.mark.parametrize("task_name", ["copy", "priority-sort"])
def test_its_default_size_is_near_the_papers_lstm(task_name):
    task = tasks.get(task_name)
    transformer = count_parameters(build_model(default_config(task_name, "transformer").model,
                                               task.input_width, task.output_width))
    lstm = count_parameters(build_model(default_config(task_name, "lstm").model, task.input_width, task.output_width))
    assert abs(transformer - lstm) / lstm < 0.15


def test_each_config_owns_its_options():
    from ntm.overrides import apply_overrides

    first = apply_overrides(default_config("copy", "transformer"), ["model.positional=none"])
    second = apply_overrides(default_config("copy", "transformer"), ["model.positional=alibi"])
    assert (first.model.options["positional"], second.model.options["positional"]) == ("none", "alibi")
    assert default_config("copy", "transformer").model.options["positional"] == "rope"  # the measured choice


def test_it_trains_and_viz_draws_each_layer_and_head(tmp_path):
    from typer.testing import CliRunner

    from ntm.cli import app

    run = tmp_path / "run"
    trained = CliRunner().invoke(app, ["train", "copy", "--model", "transformer", "--steps", "3", "--batch-size", "2",
                                       "--set", "model.width=16", "--set", "model.positional=alibi",
                                       "--set", "train.validation_samples=4", "--set", "task.max_length=3",
                                       "--out", str(run)])
    assert trained.exit_code == 0, trained.output
    unknown = CliRunner().invoke(app, ["train", "copy", "--model", "transformer", "--set", "model.positonal=rope",
                                       "--out", str(tmp_path / "other")])
    assert unknown.exit_code == 2 and "did you mean positional" in unknown.output
    picture = tmp_path / "attention.png"
    drawn = CliRunner().invoke(app, ["viz", str(run), "--length", "5", "--out", str(picture)])
    assert drawn.exit_code == 0, drawn.output
    assert picture.stat().st_size > 10_000


@pytest.mark.parametrize("positional", POSITIONALS)
def test_skipping_padding_leaves_the_scored_outputs_and_every_gradient_alone(positional):
    model = tiny(positional).double()
    if positional == "randomised":
        model.eval()  # while training its positions are drawn afresh each call
    generator = torch.Generator().manual_seed(3)
    batch, steps = 40, 12
    inputs = torch.rand(batch, steps, 9, generator=generator, dtype=torch.float64)
    lengths = torch.randint(1, steps + 1, (batch,), generator=generator)
    lengths[0] = steps
    scored = (torch.arange(steps) < lengths[:, None]).unsqueeze(-1)

    def outputs_and_gradients(lengths_given):
        model.zero_grad()
        out = model(inputs, lengths=lengths_given)
        (out * scored).pow(2).sum().backward()
        return out * scored, [p.grad.clone() for p in model.parameters() if p.grad is not None]

    padded, padded_grads = outputs_and_gradients(None)
    grouped, grouped_grads = outputs_and_gradients(lengths)
    torch.testing.assert_close(grouped, padded)
    assert len(grouped_grads) == len(padded_grads)
    for a, b in zip(grouped_grads, padded_grads):
        torch.testing.assert_close(a, b)


def test_skipping_padding_runs_fewer_steps_than_the_padded_batch():
    model = tiny("rope")
    shapes = []
    model.blocks[0].register_forward_hook(lambda module, args, output: shapes.append(args[0].shape))
    lengths = torch.tensor([12] + [3] * 39)
    model(torch.rand(40, 12, 9), lengths=lengths)
    assert sum(shape[0] for shape in shapes) == 40
    assert sum(shape[0] * shape[1] for shape in shapes) < 40 * 12
