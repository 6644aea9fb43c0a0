import json

import pytest
import torch

import ntm.training.loop as training
from ntm.training import milestones
from ntm import checkpoint as ckpt
from conftest import without_recipe
from ntm.config import default_config
from ntm.training.runlock import RunDirectoryBusy, RunLock
from ntm.training.loop import TrainingInterrupted, train


def weights_of(path):
    return ckpt.Checkpoint(path).model_state


def test_learning_happens_through_the_memory(tmp_path):
    # A feedforward controller has no memory of its own: copying even 3
    # vectors needs working gradients through write, read and addressing.
    # The path is fixed (the reference, which reads like the paper) and so
    # is the budget, so the run is the same wherever it runs; the bound is
    # far from chance (8 bit errors and 16 bits a sequence at length 1-3,
    # 2 on average) and from where this run ends (0.07 bit errors, 0.5 bits).
    config = without_recipe("copy", "ntm-ff")
    config.task_options = {"max_length": 3}
    config.model.hidden_size, config.model.memory_size, config.model.memory_width = 64, 16, 8
    config.train.lr, config.train.batch_size = 1e-2, 32
    config.train.steps = config.train.validate_every = 250
    config.train.validation_samples = 128
    config.train.path = "reference"
    result = train(config, tmp_path / "run")
    assert result.validation["bit_errors"] < 0.5, f"copy of length <= 3 not learnt in 250 steps: {result.validation}"
    assert result.validation["cost_bits"] < 2


def test_run_directory_holds_config_weights_curve_and_best(tmp_path, tiny_copy_config):
    train(tiny_copy_config, tmp_path / "run")
    run = tmp_path / "run"
    assert json.loads((run / "config.json").read_text())["model"]["hidden_size"] == 16
    assert (run / "last.safetensors").is_file() and (run / "best.safetensors").is_file()
    points = [json.loads(line) for line in (run / "curve.jsonl").read_text().splitlines()]
    assert [p["step"] for p in points] == [2, 4, 6, 8, 10, 12]
    assert {"step", "sequences", "cost_bits", "bit_errors", "seconds"} <= set(points[0])
    assert points[-1]["sequences"] == 12 * 4
    assert "val_bit_errors" in points[1]


def train_straight_and_resumed(tmp_path, config):
    """Final weights of 12 steps in one go, and of 8 steps resumed to 12."""
    train(config, tmp_path / "straight")
    config.train.steps = 8
    train(config, tmp_path / "resumed")
    config.train.steps = 12
    train(config, tmp_path / "resumed", resume=True)
    return weights_of(tmp_path / "straight" / "last.safetensors"), weights_of(tmp_path / "resumed" / "last.safetensors")


def test_resumed_run_ends_with_the_same_weights_as_an_uninterrupted_one(tmp_path, tiny_copy_config):
    straight, resumed = train_straight_and_resumed(tmp_path, tiny_copy_config)
    assert straight.keys() == resumed.keys()
    for name in straight:
        assert torch.equal(straight[name], resumed[name]), name
    steps = [json.loads(line)["step"] for line in (tmp_path / "resumed" / "curve.jsonl").read_text().splitlines()]
    assert steps == [2, 4, 6, 8, 10, 12]


def test_starting_over_an_existing_run_is_refused(tmp_path, tiny_copy_config):
    train(tiny_copy_config, tmp_path / "run")
    before = (tmp_path / "run" / "last.safetensors").read_bytes()
    with pytest.raises(ckpt.CheckpointError, match="--resume"):
        train(tiny_copy_config, tmp_path / "run")
    assert (tmp_path / "run" / "last.safetensors").read_bytes() == before


def test_a_second_training_in_the_same_directory_is_refused(tmp_path, tiny_copy_config):
    run = tmp_path / "run"
    run.mkdir()
    with RunLock(run):
        with pytest.raises(RunDirectoryBusy, match="already writing"):
            train(tiny_copy_config, run)


def test_non_finite_steps_are_skipped_and_never_reach_the_weights(tmp_path, tiny_copy_config, monkeypatch):
    real_loss = training.training_loss
    calls = {"n": 0}

    def sometimes_nan(logits, targets, mask):
        calls["n"] += 1
        loss = real_loss(logits, targets, mask)
        return loss * float("nan") if calls["n"] in (3, 7) else loss

    monkeypatch.setattr(training, "training_loss", sometimes_nan)
    result = train(tiny_copy_config, tmp_path / "run")
    assert result.skipped_steps == 2
    for path in ("last.safetensors", "best.safetensors"):
        for name, tensor in weights_of(tmp_path / "run" / path).items():
            assert torch.isfinite(tensor).all(), f"{path}:{name}"
    last = json.loads((tmp_path / "run" / "curve.jsonl").read_text().splitlines()[-1])
    assert last["skipped_steps"] == 2


def test_repeated_non_finite_steps_roll_back_to_the_last_checkpoint(tmp_path, tiny_copy_config, monkeypatch):
    real_loss = training.training_loss
    calls = {"n": 0}

    def nan_for_a_while(logits, targets, mask):
        calls["n"] += 1
        loss = real_loss(logits, targets, mask)
        return loss * float("nan") if 6 <= calls["n"] < 6 + training.MAX_BAD_STEPS_IN_A_ROW else loss

    events = []
    tiny_copy_config.train.steps = 20
    monkeypatch.setattr(training, "training_loss", nan_for_a_while)
    result = train(tiny_copy_config, tmp_path / "run", on_event=lambda kind, data: events.append((kind, data)))
    rollbacks = [data for kind, data in events if kind == "rollback"]
    assert rollbacks and rollbacks[0]["step"] == 4
    assert result.step == tiny_copy_config.train.steps
    assert result.skipped_steps == training.MAX_BAD_STEPS_IN_A_ROW


def test_ctrl_c_saves_a_checkpoint_and_says_how_to_resume(tmp_path, tiny_copy_config):
    def interrupt_at_step_6(kind, data):
        if kind == "log" and data["step"] == 6:
            raise KeyboardInterrupt

    with pytest.raises(TrainingInterrupted, match="--resume"):
        train(tiny_copy_config, tmp_path / "run", on_event=interrupt_at_step_6)
    saved = ckpt.Checkpoint(tmp_path / "run" / "last.safetensors")
    assert saved.info["progress"]["step"] == 6
    result = train(tiny_copy_config, tmp_path / "run", resume=True)
    assert result.step == 12


def _signal_self_before_the_update(monkeypatch, at_step, signals):
    """SIGTERM arriving mid-step: after the step is counted, before its update is applied."""
    import os
    import signal

    real_build = training.build_optimizer

    def build(config, model):
        optimizer = real_build(config, model)
        real_step, calls = optimizer.step, {"n": 0}

        def step(*args, **kwargs):
            calls["n"] += 1
            if calls["n"] == at_step:
                for _ in range(signals):
                    os.kill(os.getpid(), signal.SIGTERM)
            return real_step(*args, **kwargs)

        optimizer.step = step
        return optimizer

    monkeypatch.setattr(training, "build_optimizer", build)


def test_sigterm_mid_step_finishes_the_step_then_saves_a_checkpoint_that_resumes_exactly(
        tmp_path, tiny_copy_config, monkeypatch):
    straight = train(tiny_copy_config, tmp_path / "straight")
    _signal_self_before_the_update(monkeypatch, at_step=6, signals=1)
    with pytest.raises(TrainingInterrupted, match="--resume"):
        train(tiny_copy_config, tmp_path / "run")
    assert ckpt.Checkpoint(tmp_path / "run" / "last.safetensors").info["progress"]["step"] == 6
    monkeypatch.undo()
    train(tiny_copy_config, tmp_path / "run", resume=True)
    resumed, expected = weights_of(tmp_path / "run" / "last.safetensors"), weights_of(straight.run_dir / "last.safetensors")
    assert all(torch.equal(resumed[name], expected[name]) for name in expected)


def test_a_second_signal_stops_at_once_and_keeps_the_last_checkpoint(tmp_path, tiny_copy_config, monkeypatch):
    _signal_self_before_the_update(monkeypatch, at_step=6, signals=2)
    with pytest.raises(TrainingInterrupted, match="mid-step.*last checkpoint stands"):
        train(tiny_copy_config, tmp_path / "run")
    assert ckpt.Checkpoint(tmp_path / "run" / "last.safetensors").info["progress"]["step"] == 4  # checkpoint_every


def test_same_size_batches_draw_one_size_per_batch(tiny_copy_config):
    import numpy as np
    import tasks

    tiny_copy_config.train.same_size_batches = True
    task = tasks.get("copy", max_length=10)
    rng = np.random.default_rng(0)
    for _ in range(10):
        batch = training.draw_training_batch(task, tiny_copy_config.train, rng)
        assert batch.mask.all(dim=0).sum() == batch.mask[0].sum()  # every row scores the same steps


def test_spike_clip_bounds_a_gradient_far_above_its_running_mean():
    from ntm.config import TrainConfig

    cfg = TrainConfig(clip_grad_norm=50.0, spike_clip=5.0)
    progress = training.Progress(step=training.SPIKE_WARMUP_STEPS)
    for _ in range(200):
        training._track_grad_norm(progress, 0.2)
    assert training._clip_threshold(cfg, progress) == pytest.approx(1.0)  # 5 x 0.2
    cfg.spike_clip = 0.0
    assert training._clip_threshold(cfg, progress) == 50.0


def test_spike_clip_resumes_exactly(tmp_path, tiny_copy_config, monkeypatch):
    monkeypatch.setattr(training, "SPIKE_WARMUP_STEPS", 2)  # active within the tiny run
    tiny_copy_config.train.spike_clip = 1.0
    straight, resumed = train_straight_and_resumed(tmp_path, tiny_copy_config)
    for name in straight:
        assert torch.equal(straight[name], resumed[name]), name


def test_the_run_records_the_machine_it_trained_on(tmp_path, tiny_copy_config):
    from ntm.platform_info import machine_description

    train(tiny_copy_config, tmp_path / "run")
    assert (tmp_path / "run" / "machine.txt").read_text().strip() == machine_description()


def saved_learning_rate(run_dir):
    state = ckpt.Checkpoint(run_dir / "last.safetensors").optimizer_state
    rates = {group["lr"] for group in state["param_groups"]}
    assert len(rates) == 1
    return rates.pop()


def test_the_learning_rate_drops_once_the_task_is_solved_and_stays_down_on_resume(tmp_path, tiny_copy_config, monkeypatch):
    monkeypatch.setattr(milestones, "SOLVED_BIT_ERRORS", float("inf"))  # the first validation (step 4) solves it
    tiny_copy_config.train.lr_after_solve = 0.1
    train(tiny_copy_config, tmp_path / "run")
    assert saved_learning_rate(tmp_path / "run") == pytest.approx(tiny_copy_config.train.lr * 0.1)
    straight, resumed = train_straight_and_resumed(tmp_path / "again", tiny_copy_config)
    for name in straight:
        assert torch.equal(straight[name], resumed[name]), name


def test_an_unsolved_run_keeps_its_learning_rate(tmp_path, tiny_copy_config, monkeypatch):
    monkeypatch.setattr(milestones, "SOLVED_BIT_ERRORS", -1.0)  # never solved
    train(tiny_copy_config, tmp_path / "run")
    assert saved_learning_rate(tmp_path / "run") == pytest.approx(tiny_copy_config.train.lr)


def test_runs_saved_before_lr_after_solve_existed_resume_without_it():
    from ntm.config import RunConfig

    old = json.loads(default_config("copy", "ntm").to_json())
    del old["train"]["lr_after_solve"]
    assert RunConfig.from_dict(old).train.lr_after_solve == 1.0
