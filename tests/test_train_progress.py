"""What `ntm train` shows while it trains: the start line, the progress bar, plain log lines."""

import io

import pytest
from rich.console import Console
from typer.testing import CliRunner

import ntm.training.runlog as runlog
from ntm.cli import app
from ntm.cli.train_progress import Estimate, TrainingProgress
from ntm.training.loop import train
from conftest import NO_RECIPE

runner = CliRunner()
TINY = ["--set", "model.hidden_size=16", "--set", "model.memory_size=8", "--set", "model.memory_width=6",
        "--set", "train.validation_samples=8", "--set", "train.validate_every=3", "--set", "task.max_length=3",
        "--set", "train.log_every=2", "--batch-size", "4"] + NO_RECIPE


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


def test_the_estimate_shows_a_dash_until_it_has_measured_something():
    estimate = Estimate(step=0, sequences=0, seconds=0.0, steps=100)
    assert estimate.rate() == "— seq/s" and estimate.eta() == "—"
    estimate.observe(step=10, sequences=320, seconds=2.0)
    assert estimate.rate() == "160 seq/s"
    assert estimate.eta() == "0:00:18"  # 90 steps left at 0.2 s a step


def test_the_estimate_of_a_resumed_run_counts_from_where_it_resumed():
    estimate = Estimate(step=500, sequences=16000, seconds=0.0, steps=1000)
    estimate.observe(step=600, sequences=19200, seconds=10.0)
    assert estimate.rate() == "320 seq/s" and estimate.eta() == "0:00:40"  # 400 steps at 0.1 s


def test_compile_time_does_not_count_as_training_speed():
    estimate = Estimate(step=0, sequences=0, seconds=0.0, steps=100)
    estimate.compiling()
    estimate.observe(step=1, sequences=32, seconds=30.0)  # the first step paid for the compile
    assert estimate.rate() == "— seq/s"
    estimate.observe(step=11, sequences=352, seconds=31.0)
    assert estimate.rate() == "320 seq/s" and estimate.eta() == "0:00:09"


def render(progress):
    console = Console(file=io.StringIO(), width=250, force_terminal=True, color_system=None)
    console.print(progress.progress.make_tasks_table(progress.progress.tasks))
    return console.file.getvalue()


START = {"task": "copy", "model": "ntm", "parameters": 1234, "run_dir": "runs/x", "step": 0, "sequences": 0,
         "seconds": 0.0, "steps": 100,
         "batch_size": 32, "threads": 1, "device": "cpu", "path": "reference", "no_checkpoint": False}


def test_the_bar_never_shows_nan_or_zero_speed_and_moves_on_ticks(tiny_copy_config):
    terminal = Console(file=io.StringIO(), width=250, force_terminal=True)
    progress = TrainingProgress(terminal, tiny_copy_config)
    progress.event("start", START)
    before = render(progress)
    assert "nan" not in before and " 0 seq/s" not in before
    assert "step 0/100" in before and "— seq/s" in before and "ETA —" in before
    progress.event("tick", {"step": 10, "sequences": 320, "seconds": 2.0})
    after = render(progress)
    assert "step 10/100" in after and "160 seq/s" in after and "ETA 0:00:18" in after


def test_a_start_line_says_what_trains_how_and_where(tmp_path):
    result = invoke("train", "copy", "--steps", 4, "--out", tmp_path / "run", *TINY)
    assert result.exit_code == 0, result.output
    start = next(line for line in result.output.splitlines() if line.startswith("training "))
    from ntm.model import fused

    default_path = "fused path" if fused.available() else "reference path"  # the default, where it builds
    for fact in ("copy", "ntm", "parameters", "4 steps of 4 sequences (16)", "1 thread", default_path, "cpu",
                 str(tmp_path / "run")):
        assert fact in start, fact
    assert "stops at the first validation" not in start


def test_the_start_line_says_when_a_run_stops_early():
    from ntm.cli.train_progress import start_line, stopping_rule

    data = {"task": "copy", "model": "ntm", "parameters": 1, "steps": 10, "batch_size": 4, "threads": 1,
            "path": "fused", "device": "cpu", "run_dir": "r", "step": 0, "stop_when_solved": True}
    assert "10 steps of 4 sequences (40) at most" in start_line(data)
    assert stopping_rule(data).startswith("it stops once solved: under 0.1 bit errors per sequence")
    data.update(stop_when_solved=False, stop_when_consolidated=True, maximum="length 20",
                training_range="length 1-20")
    assert stopping_rule(data) == (
        "it stops once consolidated: solved (under 0.1 bit errors per sequence in every band of length 1-20 "
        "and at length 20), then trained on at the lower lr until every sequence of the check is right "
        "at 2 checks in a row")
    data.update(stop_when_consolidated=False)
    assert stopping_rule(data) == "" and "at most" not in start_line(data)


def test_without_a_terminal_each_log_point_is_one_plain_line(tmp_path):
    out = tmp_path / ("a-long-run-directory-name-" * 4) / "run"  # longer than any terminal: still one line
    result = invoke("train", "copy", "--steps", 6, "--out", out, *TINY)
    assert result.exit_code == 0, result.output
    lines = [line for line in result.output.splitlines() if line.startswith("step ") and "/6" in line]
    assert [line.split()[1] for line in lines] == ["2/6", "4/6", "6/6"]
    for line in lines:
        assert "sequences" in line and "cost" in line and "bit errors" in line and "seq/s" in line and "ETA" in line
    assert "nan" not in result.output and " 0 seq/s" not in result.output
    assert str(out) in next(line for line in result.output.splitlines() if line.startswith("training "))
    assert "\x1b[" not in result.output  # no terminal codes


def test_ticks_come_every_few_seconds_of_wall_time(tmp_path, tiny_copy_config, monkeypatch):
    ticks = []
    monkeypatch.setattr(runlog, "TICK_SECONDS", 0.0)
    train(tiny_copy_config, tmp_path / "often", on_event=lambda kind, data: kind == "tick" and ticks.append(data))
    assert [tick["step"] for tick in ticks] == list(range(1, 13))
    assert ticks[-1]["sequences"] == 12 * 4
    ticks.clear()
    monkeypatch.setattr(runlog, "TICK_SECONDS", 3600.0)
    train(tiny_copy_config, tmp_path / "rarely", on_event=lambda kind, data: kind == "tick" and ticks.append(data))
    assert ticks == []


def test_the_compiled_path_says_it_is_compiling(tmp_path, monkeypatch):
    from ntm.model.ntm import NTM

    monkeypatch.setattr(NTM, "compile_steps", lambda self, training=True, inference=False: self)  # no real compile
    result = invoke("train", "copy", "--steps", 2, "--path", "compiled", "--out", tmp_path / "run", *TINY)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("training "))
    assert "compiled path" in lines[start] and lines[start + 1].startswith("it stops once consolidated")
    assert lines[start + 2].startswith("compiling each step with torch.compile")
