"""Data-parallel training with torch.distributed (gloo on CPU), two processes."""

import json
import os
import socket
import subprocess
import sys
import textwrap

import torch
from safetensors.torch import load_file

TINY = ["--set", "model.hidden_size=16", "--set", "model.memory_size=8", "--set", "model.memory_width=6",
        "--set", "train.validation_samples=8", "--set", "train.validate_every=4", "--set", "train.log_every=2",
        "--set", "task.max_length=3", "--set", "train.threads=1"]

RANK_SCRIPT = textwrap.dedent("""
    import sys, torch
    from safetensors.torch import save_file
    from ntm.config import default_config
    from ntm.overrides import apply_overrides
    from ntm.training.loop import train
    import ntm.training.loop as training

    captured = {}
    real_build = training.build_model
    def build_and_keep(*args):
        captured["model"] = real_build(*args)
        return captured["model"]
    training.build_model = build_and_keep

    config = apply_overrides(default_config("copy"), sys.argv[3:])
    config.train.steps, config.train.batch_size = 8, 4
    train(config, sys.argv[1])
    assert not torch.distributed.is_initialized()  # the group train() made is closed: no gloo threads at exit
    save_file({k: v.contiguous() for k, v in captured["model"].state_dict().items()}, sys.argv[2])
""")


# free_port() frees the port before rank 0 binds it, so another process may
# take it in between; rank 0 then fails with this, and the ranks start again.
PORT_TAKEN = "EADDRINUSE"
ATTEMPTS = 3


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_two_ranks(tmp_path, run, port):
    """Two processes training the tiny copy run together; each saves its final weights as rankR.safetensors."""
    env_common = {**os.environ, "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port), "WORLD_SIZE": "2"}
    script = tmp_path / "rank.py"
    script.write_text(RANK_SCRIPT)
    sets = [item for item in TINY if item != "--set"]
    return [
        subprocess.Popen([sys.executable, str(script), str(run), str(tmp_path / f"rank{rank}.safetensors"), *sets],
                         env={**env_common, "RANK": str(rank), "LOCAL_RANK": str(rank)},
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for rank in range(2)
    ]


def run_two_ranks(tmp_path, run, timeout=180):
    """Each rank's (return code, stderr), once rank 0 got its port."""
    for _ in range(ATTEMPTS):
        rank0, rank1 = start_two_ranks(tmp_path, run, free_port())
        err0 = rank0.communicate(timeout=timeout)[1]
        if PORT_TAKEN in err0:
            rank1.kill()  # it may be waiting on whoever took the port
            rank1.communicate()
            continue
        err1 = rank1.communicate(timeout=timeout)[1]
        return [(rank0.returncode, err0), (rank1.returncode, err1)]
    raise AssertionError(f"rank 0 found its port taken {ATTEMPTS} times")


def test_two_ranks_end_with_identical_weights_and_only_rank_0_writes(tmp_path):
    run = tmp_path / "run"
    for returncode, err in run_two_ranks(tmp_path, run):
        assert returncode == 0, err
    rank0, rank1 = load_file(str(tmp_path / "rank0.safetensors")), load_file(str(tmp_path / "rank1.safetensors"))
    for name in rank0:
        assert torch.equal(rank0[name], rank1[name]), name
    points = [json.loads(line) for line in (run / "curve.jsonl").read_text().splitlines()]
    assert points[-1]["sequences"] == 8 * 4 * 2  # both ranks' sequences count
    assert sorted(p.name for p in run.iterdir() if not p.name.startswith(".")) == [
        "best.safetensors", "config.json", "curve.jsonl", "last.safetensors", "machine.txt"]


def test_a_process_group_the_caller_made_is_left_open(tmp_path, monkeypatch):
    import torch.distributed as dist
    from ntm.training.distributed import World
    dist.init_process_group("gloo", init_method=f"file://{tmp_path / 'store'}", rank=0, world_size=1)
    try:
        monkeypatch.setenv("WORLD_SIZE", "2")  # as under torchrun: the world is read from the group
        world = World.from_environment(torch.device("cpu"))
        world.close()
        assert dist.is_initialized()
    finally:
        dist.destroy_process_group()


def test_torchrun_runs_the_cli(tmp_path):
    run = tmp_path / "run"
    for _ in range(ATTEMPTS):
        result = subprocess.run(
            [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", str(free_port()),
             "-m", "ntm", "train", "copy", "--steps", "6", "--batch-size", "2", "--out", str(run), *TINY],
            capture_output=True, text=True, timeout=240)
        if PORT_TAKEN not in result.stderr:
            break
    assert result.returncode == 0, result.stderr[-2000:]
    assert (run / "last.safetensors").is_file()
    assert result.stderr.count("done:") == 1  # only rank 0 reports


def test_when_rank_0_refuses_the_directory_every_rank_stops(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    (run / "config.json").write_text("{}")  # someone else's run: not to be overwritten
    ranks = run_two_ranks(tmp_path, run, timeout=120)
    errors = [err for _, err in ranks]
    assert all(returncode != 0 for returncode, _ in ranks)
    assert "already holds a run" in errors[0] and "rank 0 refused" in errors[1]
    assert (run / "config.json").read_text() == "{}"
