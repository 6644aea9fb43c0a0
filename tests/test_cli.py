import json
import subprocess
import sys

import pytest
import typer
from typer.testing import CliRunner

import ntm.evaluation
from ntm.cli import app
from conftest import NO_RECIPE

runner = CliRunner()
TINY = ["--set", "model.hidden_size=16", "--set", "model.memory_size=8", "--set", "model.memory_width=6",
        "--set", "train.validation_samples=8", "--set", "train.validate_every=5", "--set", "task.max_length=3"] + NO_RECIPE


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory):
    run = tmp_path_factory.mktemp("cli") / "copy"
    result = invoke("train", "copy", "--model", "ntm", "--steps", 10, "--batch-size", 4, "--out", run, *TINY)
    assert result.exit_code == 0, result.output
    return run


def test_every_option_of_every_command_has_help():
    command = typer.main.get_command(app)
    for name, sub in command.commands.items():
        for param in sub.params:
            assert getattr(param, "help", None), f"ntm {name}: {param.name} has no help"
        assert invoke(name, "--help").exit_code == 0


def test_python_dash_m_ntm_is_the_same_command():
    result = subprocess.run([sys.executable, "-m", "ntm", "--help"], capture_output=True, text=True)
    assert result.returncode == 0 and "train" in result.stdout


def test_train_writes_a_run_and_says_how_to_evaluate_it(trained_run):
    assert (trained_run / "last.safetensors").is_file()
    assert (trained_run / "curve.jsonl").is_file()


def test_eval_json_reports_each_length(trained_run):
    result = invoke("eval", trained_run, "--lengths", "2,5", "--samples", 6, "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["task"] == "copy" and report["model"] == "ntm"
    assert [r["length"] for r in report["results"]] == [2, 5]
    for r in report["results"]:
        assert r["samples"] == 6
        assert {"cost_bits", "bit_errors", "seq_accuracy"} <= set(r)


def test_eval_warns_when_a_sequence_outgrows_the_memory(trained_run):
    result = invoke("eval", trained_run, "--length", 12, "--samples", 2, "--json")
    report = json.loads(result.stdout)
    assert report["warnings"] and "--memory-size 16" in report["warnings"][0]
    bigger = json.loads(invoke("eval", trained_run, "--length", 12, "--samples", 2, "--memory-size", 16, "--json").stdout)
    assert bigger["warnings"] == [] and bigger["memory_size"] == 16


def test_eval_table_is_printed_by_default(trained_run):
    result = invoke("eval", trained_run, "--length", 3, "--samples", 4)
    assert result.exit_code == 0
    assert "cost_bits" in result.output and "bit_errors" in result.output


def test_resume_continues_to_the_new_step_count(trained_run, tmp_path):
    import shutil

    run = tmp_path / "copy"
    shutil.copytree(trained_run, run)
    result = invoke("train", "--resume", "--out", run, "--steps", 14)
    assert result.exit_code == 0, result.output
    last = json.loads((run / "curve.jsonl").read_text().splitlines()[-1])
    assert last["step"] == 14


@pytest.mark.parametrize(
    "args, message",
    [
        (["train", "kopy"], "copy, repeat-copy, associative-recall, dynamic-ngrams, priority-sort"),
        (["train", "copy", "--model", "hopfield"], "ntm, ntm-ff, lstm, gru, rnn"),
        (["train", "copy", "--steps", "0"], "--steps must be a positive integer"),
        (["train", "copy", "--set", "model.memory_size=big"], "model.memory_size must be of type int"),
        (["train", "copy", "--set", "task.max_length=0"], "max_length"),
        (["train", "--resume"], "--resume needs the run directory"),
        (["eval", "/nonexistent/run"], "does not exist"),
        (["train", "copy", "--out", "/proc/ntm-run"], "choose another --out"),
        (["train", "copy", "--lr", "-1"], "--lr must be positive"),
    ],
)
def test_bad_input_gives_one_line_and_no_traceback(args, message):
    result = invoke(*args)
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output


def test_bad_sizes_at_eval_are_explained(trained_run):
    for args, message in [(["--length", 0], "--length must be a positive integer"),
                          (["--lengths", "5,x"], "--lengths takes whole numbers"),
                          (["--size", "repeats=3"], "copy has no size 'repeats'"),
                          (["--size", "length"], "--size takes NAME=VALUE"),
                          (["--size", "length=0"], "--size length must be positive")]:
        result = invoke("eval", trained_run, *args)
        assert result.exit_code == 2 and message in result.output, result.output


def test_eval_without_a_shipped_model_says_how_to_train_one(monkeypatch, tmp_path):
    monkeypatch.setattr(ntm.evaluation, "DEFAULT_CHECKPOINT", tmp_path / "missing")
    result = invoke("eval")
    assert result.exit_code == 2 and "ntm train copy" in result.output


def test_absurd_sizes_are_refused_before_allocating(trained_run):
    for args, message in [(["--length", 10**9], "beyond what one episode can hold"),
                          (["--memory-size", 10**8], "use a smaller --batch-size or --memory-size")]:
        result = invoke("eval", trained_run, *args)
        assert result.exit_code == 2 and message in result.output, result.output


def test_weights_from_another_model_are_refused_and_left_alone(trained_run, tmp_path):
    import shutil

    other = tmp_path / "other"
    assert invoke("train", "copy", "--steps", 2, "--batch-size", 2, "--out", other, *TINY,
                  "--set", "model.hidden_size=12").exit_code == 0
    mixed = tmp_path / "mixed"
    shutil.copytree(trained_run, mixed)
    shutil.copy(other / "best.safetensors", mixed / "best.safetensors")
    before = (mixed / "best.safetensors").read_bytes()
    result = invoke("eval", mixed, "--length", 2)
    assert result.exit_code == 2 and "does not fit this model" in result.output
    assert (mixed / "best.safetensors").read_bytes() == before


def test_a_file_that_is_not_a_checkpoint_is_refused(trained_run, tmp_path):
    import shutil

    broken = tmp_path / "broken"
    shutil.copytree(trained_run, broken)
    (broken / "best.safetensors").write_bytes(b"not a checkpoint at all")
    result = invoke("eval", broken, "--length", 2)
    assert result.exit_code == 2 and "not a readable checkpoint" in result.output


def test_train_says_when_the_task_is_solved_and_the_learning_rate_drops(tmp_path, monkeypatch):
    import ntm.training.milestones

    monkeypatch.setattr(ntm.training.milestones, "SOLVED_BIT_ERRORS", float("inf"))  # solved at the first validation
    result = invoke("train", "copy", "--steps", 10, "--batch-size", 4, "--lr", "1e-3", "--out", tmp_path / "run", *TINY)
    assert result.exit_code == 0, result.output
    assert "solved at step 5 (20 sequences," in result.output
    assert "the learning rate is now 1e-05" in result.output
    assert result.output.count("solved at step") == 1


def test_a_solve_under_a_cosine_from_the_start_does_not_claim_an_lr_drop(tmp_path, monkeypatch):
    import ntm.training.milestones

    monkeypatch.setattr(ntm.training.milestones, "SOLVED_BIT_ERRORS", float("inf"))  # solved at the first validation
    result = invoke("train", "copy", "--steps", 10, "--batch-size", 4, "--lr", "1e-3", "--out", tmp_path / "run",
                    *TINY, "--set", "train.lr_decay=cosine_from_start")
    assert result.exit_code == 0, result.output
    assert "solved at step 5 (20 sequences," in result.output
    said = " ".join(result.output.split())
    # Half way along the cosine from 1e-3, not a tenth of it.
    assert "the learning rate is now 0.0005, falling along its cosine from the first step" in said
