"""The warm-up stage (config.warmup_options) and the figure best weights are kept by (Task.best_by)."""

import json

import pytest

import ntm.training.loop as training
import tasks
from ntm import checkpoint as ckpt
from ntm.config import apply_overrides, default_config
from ntm.training.loop import train
from tests.test_train import train_straight_and_resumed


def curve_points(run_dir):
    return [json.loads(line) for line in (run_dir / "curve.jsonl").read_text().splitlines()]


@pytest.fixture
def lengths_trained_on(monkeypatch):
    """The max_length of the task each training step drew its batch from."""
    seen = []
    draw = training.draw_training_batch

    def recording(task, train_cfg, rng):
        seen.append(task.max_length)
        return draw(task, train_cfg, rng)

    monkeypatch.setattr(training, "draw_training_batch", recording)
    return seen


def test_warmup_trains_on_the_easier_task_until_solved_then_on_the_full_task(
        tmp_path, tiny_copy_config, monkeypatch, lengths_trained_on):
    monkeypatch.setattr(training, "SOLVED_BIT_ERRORS", float("inf"))  # every validation counts as solved
    tiny_copy_config.warmup_options = {"max_length": 1}
    events = []
    result = train(tiny_copy_config, tmp_path / "run", on_event=lambda kind, data: events.append((kind, data)))
    # Validation at step 4 ends the warm-up; the full task is first solved at the next one, step 8.
    assert lengths_trained_on == [1] * 4 + [3] * 8
    assert [data["step"] for kind, data in events if kind == "warmup_solved"] == [4]
    assert [data["step"] for kind, data in events if kind == "solved"] == [8]
    assert result.warmup_solved_at["step"] == 4 and result.solved_at["step"] == 8
    assert [p["step"] for p in curve_points(tmp_path / "run") if p.get("warmup")] == [2, 4]
    # The full task's best weights start afresh after the warm-up.
    assert ckpt.Checkpoint(tmp_path / "run" / "best.safetensors").info["step"] >= 8


def test_an_unsolved_warmup_never_reaches_the_full_task(tmp_path, tiny_copy_config, monkeypatch, lengths_trained_on):
    monkeypatch.setattr(training, "SOLVED_BIT_ERRORS", -1.0)
    tiny_copy_config.warmup_options = {"max_length": 1}
    result = train(tiny_copy_config, tmp_path / "run")
    assert lengths_trained_on == [1] * 12
    assert result.warmup_solved_at is None and result.solved_at is None
    assert all(p["warmup"] for p in curve_points(tmp_path / "run"))


def test_a_run_with_warmup_resumed_after_the_switch_ends_as_an_uninterrupted_one(tmp_path, tiny_copy_config, monkeypatch):
    monkeypatch.setattr(training, "SOLVED_BIT_ERRORS", float("inf"))  # switch at step 4; the resume is at step 8
    tiny_copy_config.warmup_options = {"max_length": 1}
    straight, resumed = train_straight_and_resumed(tmp_path, tiny_copy_config)
    for name in straight:
        assert straight[name].equal(resumed[name]), name


def test_set_warmup_fills_the_warmup_options_and_they_are_saved():
    config = apply_overrides(default_config("repeat-copy"), ["warmup.max_repeats=2"])
    assert config.warmup_options == {"max_repeats": 2}
    saved = json.loads(config.to_json())
    assert type(config).from_dict(saved).warmup_options == {"max_repeats": 2}
    del saved["warmup_options"]  # a config saved before warm-up existed
    assert type(config).from_dict(saved).warmup_options == {}


def test_a_warmup_option_the_task_lacks_is_refused_before_training(tmp_path, tiny_copy_config):
    tiny_copy_config.warmup_options = {"max_repeats": 2}  # copy has no repeats
    with pytest.raises(ValueError, match="no option max_repeats"):
        train(tiny_copy_config, tmp_path / "run")


class _MainRank:
    is_main = True


def test_best_weights_follow_the_tasks_best_by_figure(tmp_path):
    model = training.build_model(default_config("dynamic-ngrams").model, 1, 1)
    progress = training.Progress(best_by="cost_bits")
    kept = []

    def validation(bit_errors, cost_bits):
        training._after_validation({"bit_errors": bit_errors, "cost_bits": cost_bits, "seq_accuracy": 0.0},
                                   model, progress, tmp_path, lambda kind, data: None, _MainRank())
        kept.append(progress.best_validation)

    validation(40.0, 140.0)
    validation(45.0, 135.0)  # more bit errors, lower cost: the better N-gram model
    validation(39.0, 136.0)
    assert kept == [140.0, 135.0, 135.0]


def tiny_ngrams_config():
    config = default_config("dynamic-ngrams", "ntm")
    config.task_options = {"length": 8}
    config.model.hidden_size, config.model.memory_size, config.model.memory_width = 8, 8, 4
    config.train.batch_size, config.train.steps = 4, 4
    config.train.log_every = config.train.validate_every = config.train.checkpoint_every = 4
    config.train.validation_samples = 8
    return config


def test_a_run_resumed_after_its_task_changed_best_by_starts_its_best_afresh(tmp_path, monkeypatch):
    # Saved when N-grams kept best weights by bit errors (about half the bits);
    # its cost (about one bit per bit) could never beat that score.
    config = tiny_ngrams_config()
    monkeypatch.setattr(tasks.DynamicNGramsTask, "best_by", "bit_errors", raising=False)
    train(config, tmp_path / "run")
    monkeypatch.undo()
    assert tasks.get("dynamic-ngrams").best_by == "cost_bits"
    config.train.steps = 8
    train(config, tmp_path / "run", resume=True)
    assert ckpt.Checkpoint(tmp_path / "run" / "best.safetensors").info["step"] == 8
