"""Adding a task takes one task class and one registry line: a toy task,
registered here the way `tasks/__init__.py`'s registry line does it, trains,
evaluates, draws and is reported with no other change to the package."""

import dataclasses

import numpy as np
import pytest
from typer.testing import CliRunner

import tasks
from tasks.base import Task, random_bits


@dataclasses.dataclass
class ReverseTask(Task, name="reverse", input_width=3, output_width=2, size_names=("length",)):
    """Read L random 2-bit vectors and a delimiter, then write them back in reverse.

        inputs   1 0 . | . .        targets  . . . 0 1
                 0 0 . | . .                 . . . 1 0
        ch 2     . . 1 | . .        mask     . . . x x
    """

    generalisation_sizes = ({"length": 3}, {"length": 6})
    size_axis_label = "vectors reversed"
    phase_channels = (2,)  # the delimiter

    min_length: int = 1
    max_length: int = 3

    def training_range(self):
        return {"length": (self.min_length, self.max_length)}

    def size_label(self, size):
        return f"{size['length']} vectors"

    def generate(self, rng, n, length):
        data = random_bits(rng, (n, length, 2))
        inputs = np.zeros((n, 2 * length + 1, 3), np.float32)
        targets = np.zeros((n, 2 * length + 1, 2), np.float32)
        mask = np.zeros((n, 2 * length + 1), bool)
        inputs[:, :length, :2] = data
        inputs[:, length, 2] = 1.0
        targets[:, length + 1:] = data[:, ::-1]
        mask[:, length + 1:] = True
        return inputs, targets, mask

    def memory_needed(self, length):
        return length


@pytest.fixture
def registered(monkeypatch):
    monkeypatch.setitem(tasks._REGISTRY, "reverse", ReverseTask)  # the registry line


def invoke(*args):
    from ntm.cli import app

    return CliRunner().invoke(app, [str(a) for a in args])


def test_a_registered_task_is_listed_and_built():
    tasks.register(ReverseTask)
    try:
        assert "reverse" in tasks.names()
        assert tasks.get("reverse", max_length=5).largest_trained_size() == {"length": 5}
    finally:
        del tasks._REGISTRY["reverse"]


def test_registering_another_class_under_a_taken_name_is_refused():
    class Copy(ReverseTask, name="copy"):
        pass

    with pytest.raises(ValueError, match="already registered"):
        tasks.register(Copy)


def test_a_toy_task_trains_evaluates_draws_and_is_reported(registered, tmp_path):
    run_dir = tmp_path / "checkpoints" / "reverse-ntm"
    tiny = ["--set", "model.hidden_size=8", "--set", "model.memory_size=8", "--set", "model.memory_width=4",
            "--set", "train.log_every=2", "--set", "train.validate_every=4", "--set", "train.validation_samples=8",
            "--set", "train.threads=1"]
    trained = invoke("train", "reverse", "--steps", 4, "--batch-size", 4, "--out", run_dir, *tiny)
    assert trained.exit_code == 0, trained.output
    assert (run_dir / "best.safetensors").is_file()

    evaluated = invoke("eval", run_dir, "--samples", 4, "--json")
    assert evaluated.exit_code == 0, evaluated.output
    assert '"length": 6' in evaluated.output  # the task's own generalisation sizes

    picture = tmp_path / "reverse.png"
    drawn = invoke("viz", run_dir, "--out", picture)
    assert drawn.exit_code == 0, drawn.output
    assert picture.stat().st_size > 0

    reported = invoke("results", "--checkpoints", tmp_path / "checkpoints", "--samples", 2, "--out", tmp_path)
    assert reported.exit_code == 0, reported.output
    section = (tmp_path / "RESULTS.md").read_text().split("## reverse\n", 1)[1]
    assert "| reverse-ntm (memory N=8) |" in section and "3 vectors *trained*" in section and "not in the paper" in section
    assert (tmp_path / "docs" / "results" / "reverse-attention.png").is_file()
