"""Adding a model takes one registry entry: a toy model, registered here the
way `ntm/model/registry.py`'s entries are written, trains, evaluates and is
reported with no other change to the package."""

import pytest
import torch
from torch import nn
from typer.testing import CliRunner

from ntm.config import ModelConfig, default_config
from ntm.model import registry


class LastInputsModel(nn.Module):
    """A linear read-out of the input and a decaying sum of past inputs: the
    least a model needs to be one here (inputs [B,T,in] -> logits [B,T,out])."""

    def __init__(self, input_width: int, output_width: int, config: ModelConfig):
        super().__init__()
        self.config = config
        self.decay = nn.Parameter(torch.tensor(0.5))
        self.output = nn.Linear(2 * input_width, output_width)

    def forward(self, inputs, memory_size=None, trace=False, lengths=None):
        summary, states = torch.zeros_like(inputs[:, 0]), []
        for x in inputs.unbind(1):
            summary = torch.sigmoid(self.decay) * summary + x
            states.append(summary)
        return self.output(torch.cat([inputs, torch.stack(states, 1)], dim=2))


ENTRY = registry.ModelEntry("last-inputs", LastInputsModel, "a decaying sum of the inputs", lr=1e-2,
                            sizes=lambda task: {"hidden_size": 7})


@pytest.fixture
def registered():
    registry.register(ENTRY)
    yield ENTRY
    registry.unregister(ENTRY.name)


def invoke(*args):
    from ntm.cli import app

    return CliRunner().invoke(app, [str(a) for a in args])


def test_an_entry_gives_the_models_defaults(registered):
    config = default_config("copy", "last-inputs")
    assert (config.model.name, config.model.hidden_size, config.train.lr) == ("last-inputs", 7, 1e-2)
    assert not config.model.has_memory
    assert "last-inputs" in registry.names()


def test_ntm_models_lists_a_registered_model(registered):
    listed = invoke("models")
    assert listed.exit_code == 0, listed.output
    assert "last-inputs" in listed.output and "decaying" in listed.output
    assert "ntm-ff" in listed.output


def test_registering_another_entry_under_a_taken_name_is_refused():
    with pytest.raises(ValueError, match="already registered"):
        registry.register(registry.ModelEntry("lstm", LastInputsModel, "another lstm"))


def test_an_entry_must_offer_the_reference_path():
    with pytest.raises(ValueError, match="paths must include reference"):
        registry.register(registry.ModelEntry("odd", LastInputsModel, "odd", paths=("fused",)))


def test_a_bidirectional_entry_is_refused_where_targets_are_later_inputs(registered):
    both_ways = registry.ModelEntry("both-ways", LastInputsModel, "reads both ways", bidirectional=True)
    assert both_ways.refusal("dynamic-ngrams") and "later inputs" in both_ways.refusal("dynamic-ngrams")
    assert both_ways.refusal("copy") is None


def test_a_toy_model_trains_evaluates_and_is_reported(registered, tmp_path):
    run_dir = tmp_path / "checkpoints" / "copy-last-inputs"
    tiny = ["--set", "train.log_every=2", "--set", "train.validate_every=4", "--set", "train.validation_samples=8",
            "--set", "task.max_length=3"]
    trained = invoke("train", "copy", "--model", "last-inputs", "--steps", 4, "--batch-size", 4, "--out", run_dir, *tiny)
    assert trained.exit_code == 0, trained.output
    assert (run_dir / "best.safetensors").is_file()

    evaluated = invoke("eval", run_dir, "--length", 5, "--samples", 4, "--json")
    assert evaluated.exit_code == 0, evaluated.output
    assert '"model": "last-inputs"' in evaluated.output and '"memory_size": null' in evaluated.output

    refused = invoke("eval", run_dir, "--length", 5, "--memory-size", 256)
    assert refused.exit_code == 2 and "a last-inputs has none" in refused.output

    reported = invoke("results", "--checkpoints", tmp_path / "checkpoints", "--samples", 2, "--out", tmp_path)
    assert reported.exit_code == 0, reported.output
    section = (tmp_path / "RESULTS.md").read_text().split("## copy\n", 1)[1]
    assert "| copy-last-inputs |" in section
