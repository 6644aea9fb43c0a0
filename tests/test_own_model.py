"""Bring your own model: a torch module from outside the package, named three
ways (a built-in name, `package.module:Name`, an installed entry point), with
its own options, trained and evaluated like the built-in ones; and a run
directory naming anything but a model refused before it is called."""

import json
import shutil
import sys
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from ntm.config import default_config
from ntm.model import external, registry

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "attentive-lstm"
REFERENCE = "attentive_lstm:AttentiveLSTM"
TINY = ["--steps", 3, "--batch-size", 2, "--set", "train.validation_samples=4", "--set", "train.validate_every=3",
        "--set", "task.max_length=3"]


@pytest.fixture
def on_path(monkeypatch):
    """The example's folder on the Python path, as a script's or notebook's folder is."""
    monkeypatch.syspath_prepend(str(EXAMPLE))
    yield
    for name in [name for name in registry.names() if "attentive" in name]:
        registry.unregister(name)
    sys.modules.pop("attentive_lstm", None)


@pytest.fixture
def installed(tmp_path, monkeypatch, on_path):
    """A distribution whose metadata names the example in the `ntm.models`
    group, as `pip install examples/attentive-lstm` leaves it."""
    info = tmp_path / "site" / "attentive_lstm-0.1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: attentive-lstm\nVersion: 0.1.0\n")
    (info / "entry_points.txt").write_text(f"[ntm.models]\nattentive-lstm = {REFERENCE}\n")
    monkeypatch.syspath_prepend(str(tmp_path / "site"))


def invoke(*args):
    from ntm.cli import app

    return CliRunner().invoke(app, [str(a) for a in args])


def test_a_module_on_the_path_is_named_package_module_name(on_path, tmp_path):
    result = invoke("train", "copy", "--model", REFERENCE, *TINY, "--set", "model.hidden_size=8",
                    "--out", tmp_path / "run")
    assert result.exit_code == 0, result.output
    saved = json.loads((tmp_path / "run" / "config.json").read_text())
    assert saved["model"]["name"] == REFERENCE and saved["model"]["options"] == {"hidden_size": 8}
    evaluated = invoke("eval", tmp_path / "run", "--length", 4, "--samples", 2, "--json")
    assert evaluated.exit_code == 0, evaluated.output
    assert json.loads(evaluated.output)["model"] == REFERENCE


def test_an_installed_entry_point_is_named_by_its_name_and_listed(installed, tmp_path):
    assert "attentive-lstm" in registry.names()
    listed = invoke("models")
    assert "attentive-lstm" in listed.output
    result = invoke("train", "copy", "--model", "attentive-lstm", *TINY, "--set", "model.hidden_size=8",
                    "--out", tmp_path / "run")
    assert result.exit_code == 0, result.output
    assert invoke("eval", tmp_path / "run", "--length", 4, "--samples", 2).exit_code == 0


def test_a_class_from_a_notebook_trains_through_the_python_api(on_path, tmp_path):
    from attentive_lstm import AttentiveLSTM

    import ntm

    config = default_config("copy", AttentiveLSTM)
    config.model.options = {"hidden_size": 6}
    config.task_options["max_length"] = 3
    config.train.steps, config.train.batch_size, config.train.validation_samples = 2, 2, 4
    result = ntm.train(config, tmp_path / "run")
    assert result.step == 2
    assert config.model.name == "attentive_lstm:AttentiveLSTM"


def test_a_factory_from_a_notebook_trains_too(tmp_path):
    def tiny_lstm(input_width, output_width):
        return torch.nn.Sequential(torch.nn.Linear(input_width, output_width))

    import ntm

    config = default_config("copy", tiny_lstm)
    config.task_options["max_length"] = 3
    config.train.steps, config.train.batch_size, config.train.validation_samples = 2, 2, 4
    assert ntm.train(config, tmp_path / "run").step == 2
    registry.unregister(config.model.name)


def test_an_unknown_option_gets_a_did_you_mean_not_a_type_error(on_path, tmp_path):
    result = invoke("train", "copy", "--model", REFERENCE, *TINY, "--set", "model.hiden_size=8",
                    "--out", tmp_path / "run")
    assert result.exit_code == 2
    message = " ".join(result.output.split())
    assert "has no option 'hiden_size'; did you mean hidden_size?" in message and "layers" in message
    assert "TypeError" not in message and not (tmp_path / "run").exists()


def test_a_mistyped_option_value_names_the_type(on_path, tmp_path):
    result = invoke("train", "copy", "--model", REFERENCE, *TINY, "--set", "model.layers=two", "--out", tmp_path / "r")
    assert result.exit_code == 2 and "must be of type int" in result.output


def test_a_missing_package_is_named(tmp_path):
    result = invoke("train", "copy", "--model", "no_such_package.models:Thing", *TINY, "--out", tmp_path / "run")
    assert result.exit_code == 2 and "needs the package no_such_package" in " ".join(result.output.split())


def test_a_model_overrides_the_model_of_a_config_file(tmp_path):
    base = tmp_path / "base"
    assert invoke("train", "copy", "--model", "lstm", *TINY, "--set", "train.optimizer=rmsprop", "--out", base).exit_code == 0
    result = invoke("train", "--config", base / "config.json", "--model", "gru", "--steps", 2, "--out", tmp_path / "gru")
    assert result.exit_code == 0, result.output
    saved = json.loads((tmp_path / "gru" / "config.json").read_text())
    assert saved["model"]["name"] == "gru" and saved["train"]["optimizer"] == "rmsprop"


@pytest.mark.parametrize("name", ["os:system", "json:dumps", "pathlib:Path"])
def test_a_run_naming_anything_but_a_model_is_refused_without_calling_it(tmp_path, name, monkeypatch):
    run = tmp_path / "run"
    assert invoke("train", "copy", "--model", "lstm", *TINY, "--out", run).exit_code == 0
    marker = tmp_path / "marker"
    saved = json.loads((run / "config.json").read_text())
    saved["model"]["name"] = name
    saved["model"]["options"] = {"command": f"touch {marker}"}
    (run / "config.json").write_text(json.dumps(saved))
    monkeypatch.chdir(tmp_path)
    for command in (["eval", run, "--length", 3, "--samples", 2], ["train", "--resume", "--out", run, "--steps", 6],
                    ["viz", run]):
        result = invoke(*command)
        assert result.exit_code == 2, (command, result.output)
        assert "not a model" in " ".join(result.output.split())
    assert not marker.exists()


def test_a_class_that_is_no_module_is_refused():
    with pytest.raises(ValueError, match="does not derive from torch.nn.Module"):
        external.entry_for("x", dict)


def test_viz_draws_an_own_models_traces(on_path, tmp_path):
    run = tmp_path / "run"
    assert invoke("train", "copy", "--model", REFERENCE, *TINY, "--set", "model.hidden_size=8", "--out", run).exit_code == 0
    picture = tmp_path / "attention.png"
    drawn = invoke("viz", run, "--length", 5, "--out", picture)
    assert drawn.exit_code == 0, drawn.output
    assert picture.stat().st_size > 10_000


def test_a_model_class_saying_it_reads_both_ways_is_refused_where_targets_are_later_inputs():
    class BothWays(torch.nn.Module):
        """Reads its whole input, both ways."""

        bidirectional = True

        def forward(self, inputs):
            return inputs

    entry = external.entry_for("both-ways", BothWays)
    assert "later inputs" in entry.refusal("dynamic-ngrams") and entry.refusal("copy") is None
    assert not entry.has_memory
