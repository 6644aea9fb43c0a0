"""`ntm protocol MODEL`: a model from outside on several tasks and seeds at a
tiny budget, reported beside the shipped runs; killed mid-way, it resumes
without training again what was done."""

import json
import re
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from ntm.report.collect import run_budget

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "attentive-lstm"
MODEL = "attentive_lstm:AttentiveLSTM"


@pytest.fixture
def shipped(tmp_path):
    """Three of the shipped runs, so the comparison evaluates few models."""
    folder = tmp_path / "checkpoints"
    folder.mkdir()
    for name in ("copy-ntm", "copy-lstm", "associative-recall-ntm"):
        (folder / name).symlink_to(ROOT / "checkpoints" / name)
    return folder


def protocol(*args, **kwargs):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(EXAMPLE), os.environ.get("PYTHONPATH", "")])}
    return subprocess.Popen([sys.executable, "-m", "ntm", "protocol", MODEL, *map(str, args)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **kwargs)


def test_the_protocol_reports_the_model_beside_the_shipped_rows(tmp_path, shipped):
    out = tmp_path / "protocol"
    process = protocol("--budget", 0.002, "--seeds", 2, "--tasks", "copy,associative-recall", "--samples", 4,
                       "--checkpoints", shipped, "--out", out)
    output = process.communicate(timeout=400)[0]
    assert process.returncode == 0, output
    assert "ETA of the protocol" in output and "4 of 4 runs done" in output
    copy_budget = round(run_budget(ROOT / "checkpoints" / "copy-ntm")["sequences"] * 0.002)  # the shipped NTM's, scaled
    assert f"training copy seed 1: {copy_budget:,} sequences" in " ".join(output.split())
    table = (out / "PROTOCOL.md").read_text()
    copy, recall = table.split("## copy\n")[1].split("## associative-recall\n")
    assert f"**{MODEL}** (seed" in copy and "the median of 2" in copy and re.search(r"\| copy-ntm[^|]* \| shipped \|", copy)
    assert "| copy-lstm | shipped |" in copy and "length 120" in copy
    assert f"**{MODEL}**" in recall and "| associative-recall-ntm | shipped |" in recall
    report = json.loads((out / "protocol.json").read_text())
    assert set(report["tasks"]) == {"copy", "associative-recall"} and report["tasks"]["copy"]["seeds"] == 2
    for name in ("copy-curves", "copy-generalisation", "associative-recall-generalisation"):
        assert (out / "figures" / f"{name}.png").stat().st_size > 0


def test_a_killed_protocol_resumes_without_training_again(tmp_path, shipped):
    out = tmp_path / "protocol"
    args = ("--budget", 0.004, "--seeds", 2, "--tasks", "copy", "--samples", 2, "--parallel", 1,
            "--checkpoints", shipped, "--out", out)
    process = protocol(*args)
    first = out / "copy-s0" / "evaluation.json"
    deadline = time.time() + 300
    while not first.exists() and process.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert first.exists() and not (out / "copy-s1" / "evaluation.json").exists()
    weights = out / "copy-s0" / "best.safetensors"
    before = (weights.stat().st_mtime_ns, first.read_bytes())

    again = protocol(*args)
    output = again.communicate(timeout=400)[0]
    assert again.returncode == 0, output
    assert "2 runs (1 done already)" in output and "finished copy seed 1" in output
    assert "finished copy seed 0" not in output and "training copy seed 0" not in output
    assert (weights.stat().st_mtime_ns, first.read_bytes()) == before
    assert (out / "PROTOCOL.md").is_file()


def test_the_protocol_can_train_its_runs_on_ray(tmp_path, shipped, monkeypatch):
    from test_sweep import FakeRay

    from ntm.experiments.protocol import plan_protocol, run_protocol

    fake = FakeRay()
    monkeypatch.setitem(sys.modules, "ray", fake)
    plan = plan_protocol("lstm", seeds=2, budget=0.0005, task_names=["copy"], out_dir=tmp_path / "p",
                         checkpoints=shipped, samples=2)
    events = []
    report = run_protocol(plan, address="ray://head:10001", on_event=lambda kind, data: events.append(kind))
    assert fake.init_kwargs["address"] == "ray://head:10001" and len(fake.task_options) == 2
    assert events.count("run") == 2 and report["tasks"]["copy"]["seeds"] == 2
    assert (tmp_path / "p" / "PROTOCOL.md").is_file()
