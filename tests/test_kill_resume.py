"""SIGKILL at any moment, then --resume: nothing is lost but the last
checkpoint interval, and the run ends with the weights of an uninterrupted one."""

import signal
import subprocess
import sys
import time

import pytest
import torch

from ntm import checkpoint as ckpt

ARGS = ["train", "copy", "--steps", "30", "--batch-size", "4", "--checkpoint-every", "3",
        "--set", "model.hidden_size=16", "--set", "model.memory_size=8", "--set", "model.memory_width=6",
        "--set", "train.validation_samples=8", "--set", "train.validate_every=5", "--set", "train.log_every=1",
        "--set", "task.max_length=3", "--set", "train.threads=1"]


def ntm(*args, **kwargs):
    return subprocess.run([sys.executable, "-m", "ntm", *args], capture_output=True, text=True, **kwargs)


def curve_lines(run):
    path = run / "curve.jsonl"
    return len(path.read_text().splitlines()) if path.exists() else 0


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    run = tmp_path_factory.mktemp("straight") / "run"
    result = ntm(*ARGS, "--out", str(run))
    assert result.returncode == 0, result.stderr
    return ckpt.Checkpoint(run / "last.safetensors").model_state


@pytest.mark.parametrize("kill_after_lines", [0, 4, 11, 22])
def test_sigkill_then_resume_gives_the_uninterrupted_weights(tmp_path, uninterrupted, kill_after_lines):
    run = tmp_path / "run"
    process = subprocess.Popen([sys.executable, "-m", "ntm", *ARGS, "--out", str(run)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while curve_lines(run) < kill_after_lines and process.poll() is None and time.time() < deadline:
        time.sleep(0.005)
    process.send_signal(signal.SIGKILL)
    process.wait()

    if (run / "last.safetensors").exists():
        saved_step = ckpt.Checkpoint(run / "last.safetensors").info["progress"]["step"]
        assert saved_step >= kill_after_lines - 3, "more than one checkpoint interval was lost"
    args = ["train", "--resume", "--out", str(run)] if (run / "config.json").exists() else [*ARGS, "--out", str(run)]
    result = ntm(*args)
    assert result.returncode == 0, result.stderr
    resumed = ckpt.Checkpoint(run / "last.safetensors").model_state
    for name, tensor in uninterrupted.items():
        assert torch.equal(resumed[name], tensor), name
    steps = [int(line.split('"step": ')[1].split(",")[0]) for line in (run / "curve.jsonl").read_text().splitlines()]
    assert steps == list(range(1, 31))


@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_ctrl_c_or_sigterm_saves_a_checkpoint_exits_cleanly_and_resumes(tmp_path, uninterrupted, stop_signal):
    run = tmp_path / "run"
    # A shell starts background jobs with SIGINT ignored, and Python keeps an
    # ignored SIGINT ignored: give the child the default so Ctrl-C reaches it
    # however the test suite itself was started.
    process = subprocess.Popen([sys.executable, "-m", "ntm", *ARGS, "--out", str(run)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.time() + 120
    while curve_lines(run) < 5 and process.poll() is None and time.time() < deadline:
        time.sleep(0.005)
    process.send_signal(stop_signal)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130
    assert "Traceback" not in err and f"ntm train --resume --out {run}" in " ".join(err.split())
    interrupted_at = ckpt.Checkpoint(run / "last.safetensors").info["progress"]["step"]
    assert interrupted_at >= 5  # the checkpoint was written at the interruption, not at the last interval
    assert ntm("train", "--resume", "--out", str(run)).returncode == 0
    resumed = ckpt.Checkpoint(run / "last.safetensors").model_state
    for name, tensor in uninterrupted.items():
        assert torch.equal(resumed[name], tensor), name
