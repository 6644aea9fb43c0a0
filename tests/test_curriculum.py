"""The curriculum (config.curriculum, and its one-stage form `warmup`), the lr after the solve, and the figure
best weights are kept by (Task.best_by)."""

import json

import pytest

import ntm.training.loop as training
from ntm.training import milestones
import tasks
from ntm import checkpoint as ckpt
from ntm.config import default_config
from ntm.overrides import apply_overrides
from ntm.config_files import format_config, read_config_file
from ntm.report.collect import training_budget
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


def test_each_stage_trains_until_passed_then_the_next_then_the_full_task(
        tmp_path, tiny_copy_config, monkeypatch, lengths_trained_on):
    monkeypatch.setattr(milestones, "SOLVED_BIT_ERRORS", float("inf"))  # the full task is solved at its first validation
    tiny_copy_config.curriculum = {"max_length": [1, 2]}
    tiny_copy_config.train.advance_below = float("inf")  # every stage is passed at its first validation
    tiny_copy_config.train.steps = 16
    events = []
    result = train(tiny_copy_config, tmp_path / "run", on_event=lambda kind, data: events.append((kind, data)))
    # Validations every 4 steps: stage 0 passed at 4, stage 1 at 8, the task solved at 12.
    assert lengths_trained_on == [1] * 4 + [2] * 4 + [3] * 8
    assert [(data["stage"], data["stages"], data["step"]) for kind, data in events if kind == "stage_passed"] == [
        (0, 2, 4), (1, 2, 8)]
    assert [data["step"] for kind, data in events if kind == "solved"] == [12]
    assert [moment["step"] for moment in result.stages_passed_at] == [4, 8]
    assert [(p["step"], p.get("stage")) for p in curve_points(tmp_path / "run")][:5] == [
        (2, 0), (4, 0), (6, 1), (8, 1), (10, None)]
    # Each stage's best weights start afresh: the full task's come from its own validations.
    assert ckpt.Checkpoint(tmp_path / "run" / "best.safetensors").info["step"] >= 12
    # The report reads the stages back from the curve.
    budget = training_budget(ckpt.read_curve(tmp_path / "run"))
    assert [moment["step"] for moment in budget["stages_passed_at"]] == [4, 8]
    assert budget["steps"] == 16


def test_a_stage_not_passed_never_reaches_the_next(tmp_path, tiny_copy_config, lengths_trained_on):
    tiny_copy_config.curriculum = {"max_length": [1, 2]}
    tiny_copy_config.train.advance_below = 1e-9  # an untrained model always makes some bit error
    result = train(tiny_copy_config, tmp_path / "run")
    assert lengths_trained_on == [1] * 12
    assert result.stages_passed_at == [] and result.solved_at is None
    assert all(p["stage"] == 0 for p in curve_points(tmp_path / "run"))


def test_a_curriculum_run_resumed_between_stages_ends_as_an_uninterrupted_one(tmp_path, tiny_copy_config):
    tiny_copy_config.curriculum = {"max_length": [1, 2]}
    tiny_copy_config.train.advance_below = float("inf")  # stages end at steps 4 and 8; the resume is at step 8
    straight, resumed = train_straight_and_resumed(tmp_path, tiny_copy_config)
    for name in straight:
        assert straight[name].equal(resumed[name]), name


def test_set_curriculum_takes_one_value_per_stage_and_it_is_saved():
    config = apply_overrides(default_config("priority-sort"), ["curriculum.length=5,10", "curriculum.outputs=[4, 8]"])
    assert config.curriculum == {"length": [5, 10], "outputs": [4, 8]}
    assert config.curriculum_stages() == [{"length": 5, "outputs": 4}, {"length": 10, "outputs": 8}]
    saved = json.loads(config.to_json())
    assert type(config).from_dict(saved).curriculum == config.curriculum


def test_warmup_is_the_one_stage_curriculum_and_old_configs_load_as_one():
    config = apply_overrides(default_config("repeat-copy"), ["warmup.max_repeats=2"])
    assert config.curriculum == {"max_repeats": [2]}
    saved = json.loads(config.to_json())
    del saved["curriculum"]
    saved["warmup_options"] = {"max_repeats": 2}  # a config saved before curricula
    assert type(config).from_dict(saved).curriculum == {"max_repeats": [2]}
    del saved["warmup_options"]  # one saved before warm-up existed
    assert type(config).from_dict(saved).curriculum == {}


def test_old_curves_mark_the_warmup_as_stage_0(tmp_path):
    (tmp_path / "curve.jsonl").write_text('{"step": 2, "sequences": 8, "seconds": 1, "warmup": true}\n'
                                          '{"step": 4, "sequences": 16, "seconds": 2}\n')
    assert [p.get("stage") for p in ckpt.read_curve(tmp_path)] == [0, None]
    assert training_budget(ckpt.read_curve(tmp_path))["stages_passed_at"] == [{"step": 2, "sequences": 8, "seconds": 1}]


def test_stages_of_unequal_length_are_refused():
    config = apply_overrides(default_config("priority-sort"), ["curriculum.length=5,10", "curriculum.outputs=4"])
    with pytest.raises(ValueError, match="one value per stage"):
        config.validate()


def test_a_curriculum_option_the_task_lacks_is_refused_before_training(tmp_path, tiny_copy_config):
    tiny_copy_config.curriculum = {"max_repeats": [2]}  # copy has no repeats
    with pytest.raises(ValueError, match="no option max_repeats"):
        train(tiny_copy_config, tmp_path / "run")


def test_the_cosine_decay_falls_from_the_solve_to_zero_at_the_last_step():
    config = default_config("copy").train
    config.steps, config.lr, config.lr_after_solve, config.lr_decay = 1000, 1e-3, 0.1, "cosine"
    progress = training.Progress(step=100)
    assert training.learning_rate(config, progress) == 1e-3  # not solved yet: the configured lr
    progress.solved_at = {"step": 200, "sequences": 0, "seconds": 0.0}
    lrs = []
    for step in (200, 600, 1000):
        progress.step = step
        lrs.append(training.learning_rate(config, progress))
    assert lrs[0] == pytest.approx(1e-4) and lrs[1] == pytest.approx(5e-5) and lrs[2] == pytest.approx(0.0)
    config.lr_decay = "none"
    assert training.learning_rate(config, progress) == pytest.approx(1e-4)


class _MainRank:
    is_main = True


def test_best_weights_follow_the_tasks_best_by_figure(tmp_path):
    model = training.build_model(default_config("dynamic-ngrams").model, 1, 1)
    progress = training.Progress(best_by="cost_bits")
    kept = []

    def validation(bit_errors, cost_bits):
        milestones.after_validation({"bit_errors": bit_errors, "cost_bits": cost_bits, "seq_accuracy": 0.0},
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


def test_a_curriculum_survives_the_round_trip_through_a_toml_config_file(tmp_path):
    config = apply_overrides(default_config("priority-sort"), ["curriculum.length=5,10", "curriculum.outputs=4,8"])
    path = tmp_path / "run.toml"
    path.write_text(format_config(config, "toml"))
    assert read_config_file(path).curriculum == {"length": [5, 10], "outputs": [4, 8]}
