"""train.memory_size: an NTM trained and validated with fewer memory
locations than the model keeps for evaluation; train.memory_size_max: a
memory size drawn per training batch."""

import copy
import json

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

import tasks
from ntm import checkpoint as ckpt
from ntm.cli import app
from conftest import without_recipe
from ntm.config import default_config
from ntm.overrides import apply_overrides
from ntm.training import loop
from ntm.training.loop import train


def run(config, out):
    train(config, out)
    weights = ckpt.Checkpoint(out / ckpt.LAST_FILE).model_state
    points = [json.loads(line) for line in (out / "curve.jsonl").read_text().splitlines()]
    validations = [point["val_bit_errors"] for point in points if "val_bit_errors" in point]
    return weights, validations


def record_memory_sizes(monkeypatch):
    """Lists that fill, as training runs, with each step's and each validation's memory size."""
    trained_with, validated_with = [], []
    optimiser_step, validate = loop._optimiser_step, loop.validate

    def recording_step(model, optimizer, batch, memory_size, *rest):
        trained_with.append(memory_size)
        return optimiser_step(model, optimizer, batch, memory_size, *rest)

    def recording_validate(model, batches, memory_size=None):
        validated_with.append(memory_size)
        return validate(model, batches, memory_size)

    monkeypatch.setattr(loop, "_optimiser_step", recording_step)
    monkeypatch.setattr(loop, "validate", recording_validate)
    return trained_with, validated_with


def test_training_with_a_smaller_memory_learns_what_that_model_would_and_keeps_its_own(tmp_path, tiny_copy_config):
    tiny_copy_config.train.path = "reference"
    small = copy.deepcopy(tiny_copy_config)
    small.model.memory_size = 5
    large_trained_small = copy.deepcopy(tiny_copy_config)
    large_trained_small.model.memory_size = 16
    large_trained_small.train.memory_size = 5
    large = copy.deepcopy(large_trained_small)
    large.train.memory_size = 0

    weights_small, validations_small = run(small, tmp_path / "small")
    weights_both, validations_both = run(large_trained_small, tmp_path / "both")
    weights_large, _ = run(large, tmp_path / "large")
    # The same updates and validations as a 5-location model: a constant
    # initial memory has no weights of its own, so only N differs.
    assert validations_small and validations_both == validations_small
    for name, tensor in weights_small.items():
        assert torch.equal(weights_both[name], tensor), name
    assert any(not torch.equal(weights_large[name], t) for name, t in weights_small.items())
    # ...while the run's model keeps its 16 locations for evaluation.
    assert ckpt.load_config(tmp_path / "both").model.memory_size == 16


def test_a_memory_size_range_draws_each_batch_its_own_size_and_validates_at_the_low_end(tmp_path, tiny_copy_config,
                                                                                      monkeypatch):
    tiny_copy_config.train.path = "reference"
    tiny_copy_config.model.memory_size = 16
    tiny_copy_config.train.memory_size = 5
    tiny_copy_config.train.memory_size_max = 9
    trained_with, validated_with = record_memory_sizes(monkeypatch)
    first, _ = run(tiny_copy_config, tmp_path / "first")
    assert len(trained_with) == tiny_copy_config.train.steps
    assert set(trained_with) <= set(range(5, 10)) and len(set(trained_with)) > 2  # per batch, inside the range
    assert set(validated_with) == {5}
    # The sizes come from each step's own generator: the same run draws the
    # same sizes and ends with the same weights.
    drawn, trained_with[:] = list(trained_with), []
    second, _ = run(tiny_copy_config, tmp_path / "second")
    assert trained_with == drawn
    for name, tensor in first.items():
        assert torch.equal(second[name], tensor), name


def test_a_memory_size_range_leaves_the_training_data_as_it_was(tiny_copy_config):
    ranged = copy.deepcopy(tiny_copy_config)
    ranged.train.memory_size_max = ranged.model.memory_size + 8
    task = tasks.get(ranged.task, **ranged.task_options)
    plain_rng, ranged_rng = (np.random.default_rng([0, 0, 0, 3]) for _ in range(2))
    plain_batch = loop.draw_training_batch(task, tiny_copy_config.train, plain_rng)
    ranged_batch = loop.draw_training_batch(task, ranged.train, ranged_rng)
    assert torch.equal(plain_batch.inputs, ranged_batch.inputs)
    assert loop.draw_training_memory_size(tiny_copy_config, plain_rng) is None
    assert ranged.model.memory_size <= loop.draw_training_memory_size(ranged, ranged_rng) <= ranged.model.memory_size + 8


@pytest.mark.parametrize("overrides, message", [
    (["train.memory_size=-1"], "train.memory_size must be 0"),
    (["model.name=lstm", "train.memory_size=32"], "lstm has none"),
    (["model.name=lstm", "train.memory_size_max=32"], "lstm has none"),
    (["train.validation_memory_size=-1"], "train.validation_memory_size must be 0"),
    (["model.name=lstm", "train.validation_memory_size=32"], "lstm has none"),
    (["train.memory_size_max=100"], "at least the training memory size 128"),
    (["train.memory_size=64", "train.memory_size_max=32"], "at least the training memory size 64"),
])
def test_a_training_memory_no_model_could_use_is_refused(overrides, message):
    with pytest.raises(ValueError, match=message):
        apply_overrides(without_recipe("copy"), overrides).validate()


def test_the_start_line_says_the_memory_is_smaller_while_training(tmp_path):
    result = CliRunner().invoke(app, [
        "train", "copy", "--steps", "2", "--out", str(tmp_path / "run"), "--set", "model.hidden_size=8",
        "--set", "model.memory_width=4", "--set", "train.validation_samples=4", "--set", "task.max_length=3",
        "--set", "train.memory_size=6", "--set", "train.memory_size_max=0"])
    assert result.exit_code == 0, result.output
    start = next(line for line in result.output.splitlines() if line.startswith("training "))
    assert "a memory of 6 locations while training" in " ".join(start.split())


def test_the_start_line_gives_the_range_of_memory_sizes(tmp_path):
    result = CliRunner().invoke(app, [
        "train", "copy", "--steps", "2", "--out", str(tmp_path / "run"), "--set", "model.hidden_size=8",
        "--set", "model.memory_width=4", "--set", "train.validation_samples=4", "--set", "task.max_length=3",
        "--set", "train.memory_size=6", "--set", "train.memory_size_max=12"])
    assert result.exit_code == 0, result.output
    start = next(line for line in result.output.splitlines() if line.startswith("training "))
    assert "a memory of 6-12 locations while training, drawn per batch (6 for validation" in " ".join(start.split())


def test_validation_can_run_at_another_memory_size_than_training(tmp_path, tiny_copy_config, monkeypatch):
    tiny_copy_config.train.path = "reference"
    tiny_copy_config.model.memory_size = 16
    tiny_copy_config.train.memory_size = 5
    tiny_copy_config.train.memory_size_max = 9
    tiny_copy_config.train.validation_memory_size = 12
    trained_with, validated_with = record_memory_sizes(monkeypatch)
    run(tiny_copy_config, tmp_path / "run")
    assert set(validated_with) == {12}
    assert set(trained_with) <= set(range(5, 10))


def test_the_start_line_gives_the_validation_memory_size_where_it_is_set(tmp_path):
    result = CliRunner().invoke(app, [
        "train", "copy", "--steps", "2", "--out", str(tmp_path / "run"), "--set", "model.hidden_size=8",
        "--set", "model.memory_width=4", "--set", "train.validation_samples=4", "--set", "task.max_length=3",
        "--set", "train.memory_size=6", "--set", "train.memory_size_max=12",
        "--set", "train.validation_memory_size=20"])
    assert result.exit_code == 0, result.output
    start = next(line for line in result.output.splitlines() if line.startswith("training "))
    assert "drawn per batch (20 for validation" in " ".join(start.split())
