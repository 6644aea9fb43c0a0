"""A job killed during start-up, before its run directory holds anything to
resume, and requeued with the same command line and --resume: the run starts
afresh, says so, and ends with the weights of an uninterrupted run."""

import subprocess
import sys

import torch

from ntm import checkpoint as ckpt

ARGS = ["train", "copy", "--steps", "6", "--batch-size", "2", "--checkpoint-every", "3",
        "--set", "model.hidden_size=8", "--set", "model.memory_size=8", "--set", "model.memory_width=4",
        "--set", "train.validation_samples=4", "--set", "train.validate_every=3", "--set", "task.max_length=3"]
# The child dies by SIGKILL at the moment start-up would write config.json.
KILLED_AT_START_UP = """
import os, signal, sys
from ntm import checkpoint
from ntm.cli import run
checkpoint.prepare_run = lambda *args, **kwargs: os.kill(os.getpid(), signal.SIGKILL)
sys.argv = ["ntm", *sys.argv[1:]]
run()
"""


def ntm(*args):
    return subprocess.run([sys.executable, "-m", "ntm", *map(str, args)], capture_output=True, text=True)


def test_a_resume_of_a_run_killed_at_start_up_starts_afresh_with_identical_weights(tmp_path):
    straight = tmp_path / "straight"
    assert ntm(*ARGS, "--out", straight).returncode == 0

    run = tmp_path / "run"
    killed = subprocess.run([sys.executable, "-c", KILLED_AT_START_UP, *ARGS, "--out", str(run)],
                            capture_output=True, text=True)
    assert killed.returncode == -9, killed.stderr
    assert run.is_dir() and not (run / ckpt.CONFIG_FILE).exists()  # what a kill at start-up leaves

    requeued = ntm(*ARGS, "--out", run, "--resume")
    assert requeued.returncode == 0, requeued.stderr
    assert "holds no run to resume yet: starting it afresh" in " ".join(requeued.stderr.split())
    expected = ckpt.Checkpoint(straight / "last.safetensors").model_state
    resumed = ckpt.Checkpoint(run / "last.safetensors").model_state
    for name, tensor in expected.items():
        assert torch.equal(resumed[name], tensor), name


def test_resume_without_a_task_still_needs_a_run_directory(tmp_path):
    (tmp_path / "run").mkdir()
    result = ntm("train", "--resume", "--out", tmp_path / "run")
    assert result.returncode == 2 and "is not a run directory" in result.stderr
