"""train.memory_size: an NTM trained and validated with fewer memory
locations than the model keeps for evaluation."""

import copy
import json

import pytest
import torch
from typer.testing import CliRunner

from ntm import checkpoint as ckpt
from ntm.cli import app
from ntm.config import apply_overrides, default_config
from ntm.training.loop import train


def run(config, out):
    train(config, out)
    weights = ckpt.Checkpoint(out / ckpt.LAST_FILE).model_state
    points = [json.loads(line) for line in (out / "curve.jsonl").read_text().splitlines()]
    validations = [point["val_bit_errors"] for point in points if "val_bit_errors" in point]
    return weights, validations


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


@pytest.mark.parametrize("overrides, message", [
    (["train.memory_size=-1"], "train.memory_size must be 0"),
    (["model.name=lstm", "train.memory_size=32"], "lstm has none"),
])
def test_a_training_memory_no_model_could_use_is_refused(overrides, message):
    with pytest.raises(ValueError, match=message):
        apply_overrides(default_config("copy"), overrides).validate()


def test_the_start_line_says_the_memory_is_smaller_while_training(tmp_path):
    result = CliRunner().invoke(app, [
        "train", "copy", "--steps", "2", "--out", str(tmp_path / "run"), "--set", "model.hidden_size=8",
        "--set", "model.memory_width=4", "--set", "train.validation_samples=4", "--set", "task.max_length=3",
        "--set", "train.memory_size=6"])
    assert result.exit_code == 0, result.output
    start = next(line for line in result.output.splitlines() if line.startswith("training "))
    assert "a memory of 6 locations while training" in " ".join(start.split())
