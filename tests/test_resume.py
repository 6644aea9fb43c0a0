"""`ntm train --resume`: a resume that cannot work changes nothing in the run
directory; what may change is applied and recorded in the curve."""

import json
import shutil

import pytest
from typer.testing import CliRunner

from ntm import checkpoint as ckpt
from ntm.cli import app
from ntm.report.plots import learning_curves_figure
from ntm.report.collect import training_budget
from conftest import NO_RECIPE

runner = CliRunner()
TINY = ["--set", "model.hidden_size=16", "--set", "model.memory_size=8", "--set", "model.memory_width=6",
        "--set", "train.validation_samples=8", "--set", "train.validate_every=2", "--set", "train.log_every=2",
        "--set", "task.max_length=3", "--batch-size", "4", "--checkpoint-every", "2"] + NO_RECIPE


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


def snapshot(run_dir):
    """Every file of the run directory, byte for byte (the lock file aside)."""
    return {path.name: path.read_bytes() for path in sorted(run_dir.iterdir()) if path.name != ".lock"}


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    run = tmp_path_factory.mktemp("resume") / "run"
    result = invoke("train", "copy", "--steps", 4, "--out", run, *TINY)
    assert result.exit_code == 0, result.output
    return run


@pytest.fixture
def run(trained, tmp_path):
    copy = tmp_path / "run"
    shutil.copytree(trained, copy)
    return copy


@pytest.mark.parametrize("args, option", [
    (["--set", "model.hidden_size=50"], "--set model.hidden_size"),
    (["--set", "model.memory_size=16"], "--set model.memory_size"),
    (["--model", "lstm"], "--model"),
    (["--seed", "5", "--lr", "1"], "--seed"),
    (["--set", "task.max_length=5"], "--set task.max_length"),
    (["--set", "curriculum.max_length=1"], "--set curriculum.max_length"),
    (["--set", "train.optimizer=rmsprop"], "--set train.optimizer"),
    (["--set", "train.validation_samples=16"], "--set train.validation_samples"),
    (["--init-from", "elsewhere"], "--init-from"),
])
def test_an_option_that_cannot_change_is_refused_and_the_run_is_untouched(run, args, option):
    before = snapshot(run)
    result = invoke("train", "--resume", "--out", run, "--steps", 6, *args)
    assert result.exit_code == 2
    assert f"{option} cannot change when resuming" in " ".join(result.output.split())
    assert snapshot(run) == before
    assert invoke("train", "--resume", "--out", run, "--steps", 6).exit_code == 0
    assert ckpt.read_curve(run)[-1]["step"] == 6
    assert invoke("eval", run, "--length", 2, "--samples", 2).exit_code == 0


def test_resuming_with_another_task_is_refused(run):
    before = snapshot(run)
    result = invoke("train", "repeat-copy", "--resume", "--out", run, "--steps", 6)
    assert result.exit_code == 2 and "the task cannot change when resuming" in " ".join(result.output.split())
    assert snapshot(run) == before


def test_a_checkpoint_that_does_not_fit_the_config_changes_nothing(run):
    # A config.json edited by hand: the checkpoint is checked against the model before anything is written.
    saved = json.loads((run / "config.json").read_text())
    saved["model"]["hidden_size"] = 50
    (run / "config.json").write_text(json.dumps(saved))
    before = snapshot(run)
    result = invoke("train", "--resume", "--out", run, "--steps", 6)
    assert result.exit_code == 2 and "does not fit this model" in result.output
    assert snapshot(run) == before


def test_a_change_that_is_allowed_is_applied_and_recorded_in_the_curve(run):
    result = invoke("train", "--resume", "--out", run, "--steps", 6, "--lr", "1e-3", "--set", "train.log_every=1")
    assert result.exit_code == 0, result.output
    config = ckpt.load_config(run)
    assert config.train.lr == 1e-3 and config.train.steps == 6
    lines = [json.loads(line) for line in (run / "curve.jsonl").read_text().splitlines()]
    change = {"step": 4, "config_change": {"train.log_every": [2, 1], "train.lr": [1e-4, 1e-3]}}
    assert lines[2] == change  # after the points of steps 2 and 4; the new total of steps is not a change of history
    assert [p["step"] for p in lines if "config_change" not in p] == [2, 4, 5, 6]
    # Readers of the curve see its points only, unless they ask for the changes.
    assert [p["step"] for p in ckpt.read_curve(run)] == [2, 4, 5, 6]
    assert change in ckpt.read_curve(run, config_changes=True)
    assert training_budget(ckpt.read_curve(run))["steps"] == 6
    learning_curves_figure([run])


def test_a_recorded_change_survives_a_second_resume_from_the_same_checkpoint(run):
    assert invoke("train", "--resume", "--out", run, "--steps", 6, "--lr", "1e-3", "--checkpoint-every", 4).exit_code == 0
    assert invoke("train", "--resume", "--out", run, "--steps", 8).exit_code == 0
    changes = [p for p in ckpt.read_curve(run, config_changes=True) if "config_change" in p]
    assert changes == [{"step": 4, "config_change": {"train.checkpoint_every": [2, 4], "train.lr": [1e-4, 1e-3]}}]


@pytest.mark.parametrize("steps", [2, 4])
def test_steps_not_past_the_run_say_where_it_is_and_touch_nothing(run, steps):
    before = snapshot(run)
    result = invoke("train", "--resume", "--out", run, "--steps", steps)
    assert result.exit_code == 0, result.output
    assert "already at step 4" in result.output and "done:" not in result.output
    assert snapshot(run) == before


def test_a_resume_before_the_first_checkpoint_says_it_starts_again(run):
    # What SIGKILL before the first checkpoint leaves: a config and a curve, no last.safetensors.
    (run / "last.safetensors").unlink()
    result = invoke("train", "--resume", "--out", run, "--steps", 4)
    assert result.exit_code == 0, result.output
    assert "has no checkpoint yet" in result.output and "training again from step 0" in result.output
    assert [p["step"] for p in ckpt.read_curve(run)] == [2, 4]


def test_a_failed_resume_from_python_changes_nothing(run):
    from ntm.training.loop import train
    from ntm.training.resume import ResumeRefused

    config = ckpt.load_config(run)
    config.train.seed, config.train.lr = 5, 1.0
    before = snapshot(run)
    with pytest.raises(ResumeRefused, match="train.seed cannot change"):
        train(config, run, resume=True)
    assert snapshot(run) == before
