"""SIGKILL at any moment, then --resume: nothing is lost but the last
checkpoint interval, and the run ends with the weights of an uninterrupted one.

The interrupted runs go through tests/slow_training.py, which pauses before
each step: unslowed, the 30 steps take under a tenth of a second, and a
signal would land after the run had ended, testing nothing."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from ntm import checkpoint as ckpt

STEPS = 30
ARGS = ["train", "copy", "--steps", str(STEPS), "--batch-size", "4", "--checkpoint-every", "3",
        "--set", "model.hidden_size=16", "--set", "model.memory_size=8", "--set", "model.memory_width=6",
        "--set", "train.validation_samples=8", "--set", "train.validate_every=5", "--set", "train.log_every=1",
        "--set", "task.max_length=3", "--set", "train.threads=1"]
SLOW_TRAINING = Path(__file__).with_name("slow_training.py")
STEP_SECONDS = 0.1  # 3 s of training: time for the test to see the curve grow and signal mid-run


def ntm(*args, **kwargs):
    return subprocess.run([sys.executable, "-m", "ntm", *args], capture_output=True, text=True, **kwargs)


def slow_ntm(*args, env=None, **kwargs):
    """`ntm ARGS` with every step slowed, started in the background.

    A shell starts background jobs with SIGINT ignored, and Python keeps an
    ignored SIGINT ignored: the child gets the default so Ctrl-C reaches it
    however the test suite itself was started."""
    env = {**os.environ, "NTM_TEST_STEP_SECONDS": str(STEP_SECONDS), **(env or {})}
    return subprocess.Popen([sys.executable, str(SLOW_TRAINING), *args], env=env,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL), **kwargs)


def curve_lines(run):
    path = run / "curve.jsonl"
    return len(path.read_text().splitlines()) if path.exists() else 0


def wait_for(condition, process):
    deadline = time.time() + 120
    while not condition() and process.poll() is None and time.time() < deadline:
        time.sleep(0.005)
    assert process.poll() is None, "the run ended before the test could signal it"


def assert_same_weights(run, uninterrupted):
    resumed = ckpt.Checkpoint(run / "last.safetensors").model_state
    for name, tensor in uninterrupted.items():
        assert torch.equal(resumed[name], tensor), name


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    run = tmp_path_factory.mktemp("straight") / "run"
    result = ntm(*ARGS, "--out", str(run))
    assert result.returncode == 0, result.stderr
    return ckpt.Checkpoint(run / "last.safetensors").model_state


@pytest.mark.parametrize("kill_after_lines", [0, 4, 11, 22])
def test_sigkill_then_resume_gives_the_uninterrupted_weights(tmp_path, uninterrupted, kill_after_lines):
    run = tmp_path / "run"
    process = slow_ntm(*ARGS, "--out", str(run), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_for(lambda: curve_lines(run) >= kill_after_lines, process)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert process.returncode == -signal.SIGKILL
    assert curve_lines(run) < STEPS, "the kill landed after the run had ended"

    if (run / "last.safetensors").exists():
        saved_step = ckpt.Checkpoint(run / "last.safetensors").info["progress"]["step"]
        assert saved_step >= kill_after_lines - 3, "more than one checkpoint interval was lost"
        assert saved_step < STEPS
    args = ["train", "--resume", "--out", str(run)] if (run / "config.json").exists() else [*ARGS, "--out", str(run)]
    result = ntm(*args)
    assert result.returncode == 0, result.stderr
    assert_same_weights(run, uninterrupted)
    steps = [int(line.split('"step": ')[1].split(",")[0]) for line in (run / "curve.jsonl").read_text().splitlines()]
    assert steps == list(range(1, STEPS + 1))


@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_ctrl_c_or_sigterm_saves_a_checkpoint_exits_cleanly_and_resumes(tmp_path, uninterrupted, stop_signal):
    run = tmp_path / "run"
    process = slow_ntm(*ARGS, "--out", str(run), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wait_for(lambda: curve_lines(run) >= 5, process)
    process.send_signal(stop_signal)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    assert "Traceback" not in err and f"ntm train --resume --out {run}" in " ".join(err.split())
    interrupted_at = ckpt.Checkpoint(run / "last.safetensors").info["progress"]["step"]
    # Written at the interruption, not at the last interval, and before the run's end.
    assert 5 <= interrupted_at < STEPS
    assert curve_lines(run) == interrupted_at
    assert ntm("train", "--resume", "--out", str(run)).returncode == 0
    assert_same_weights(run, uninterrupted)


@pytest.mark.parametrize("pause", ["training", "summary"], ids=["final-validation", "summary"])
def test_ctrl_c_after_the_last_step_exits_as_a_ctrl_c_during_training_does(tmp_path, uninterrupted, pause):
    run, marker = tmp_path / "run", tmp_path / "paused"
    env = {"NTM_TEST_STEP_SECONDS": "0", "NTM_TEST_LATE_PAUSE": pause, "NTM_TEST_LATE_SECONDS": "2",
           "NTM_TEST_PAUSE_MARKER": str(marker)}
    process = slow_ntm(*ARGS, "--out", str(run), env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wait_for(marker.exists, process)
    assert curve_lines(run) == STEPS
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    assert "Traceback" not in err
    assert f"interrupted at step {STEPS}; checkpoint saved. Resume with: ntm train --resume --out {run}" in " ".join(
        err.split())
    assert_same_weights(run, uninterrupted)
