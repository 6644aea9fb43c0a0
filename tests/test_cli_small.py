"""The small things a researcher expects of the command line: --version,
completion, "did you mean", quiet pipes, errors that name the option, and
tables that fit a terminal."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner

import ntm
import tasks
from ntm.cli import app
from ntm.cli.app import friendly_errors
from ntm.cli.evaluate import print_eval_report
from ntm.config import default_config
from ntm.evaluation import describe_size, load_model, memory_warning
from ntm.checks import MAX_BATCH_SIZE

runner = CliRunner()
REPO = Path(__file__).resolve().parent.parent
TINY = ["--set", "model.hidden_size=8", "--set", "model.memory_size=8", "--set", "model.memory_width=4",
        "--set", "train.validation_samples=4", "--set", "train.validate_every=4", "--set", "task.max_length=3"]


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory):
    run = tmp_path_factory.mktemp("small") / "copy"
    result = invoke("train", "copy", "--steps", 4, "--batch-size", 2, "--out", run, *TINY)
    assert result.exit_code == 0, result.output
    return run


def _ntm_command(*args, **kwargs):
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    return subprocess.Popen([sys.executable, "-m", "ntm", *args], env=env, cwd=REPO, **kwargs)


def test_version_prints_the_package_version():
    result = invoke("--version")
    assert result.exit_code == 0
    assert result.stdout.strip() == f"ntm {ntm.__version__}"
    assert ntm.__version__[0].isdigit()


def test_help_offers_shell_completion():
    result = invoke("--help")
    assert "--install-completion" in result.output and "--show-completion" in result.output


def test_a_pipe_closed_early_ends_the_command_quietly():
    process = _ntm_command("config", "copy", stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    process.stdout.close()  # like `| head -0`: the reader is gone before the first line
    stderr = process.stderr.read().decode()
    assert process.wait(timeout=120) == 0
    assert stderr == ""


@pytest.mark.parametrize("args, suggestion", [
    (["train", "cpy"], "unknown task 'cpy'; did you mean copy?"),
    (["train", "associative-recal"], "did you mean associative-recall?"),
    (["train", "copy", "--model", "lstn"], "unknown model 'lstn'; did you mean lstm?"),
    (["config", "copy", "--model", "ntmff"], "did you mean ntm-ff?"),
    (["train", "copy", "--set", "task.max_lenght=3"], "has no option max_lenght; did you mean max_length?"),
    (["train", "copy", "--set", "train.lrr=3"], "did you mean lr?"),
])
def test_a_mistyped_name_gets_a_suggestion(args, suggestion):
    result = invoke(*args)
    assert result.exit_code == 2
    assert suggestion in result.output


def test_names_are_suggested_wherever_they_are_taken():
    from ntm.model.registry import build_model

    for call, suggestion in [(lambda: tasks.get("repeatcopy"), "did you mean repeat-copy?"),
                             (lambda: default_config("priority_sort"), "did you mean priority-sort?"),
                             (lambda: default_config("copy", "gruu"), "did you mean gru?")]:
        with pytest.raises(ValueError, match=suggestion.replace("?", r"\?")):
            call()
    config = default_config("copy")
    config.model.name = "bilstn"
    with pytest.raises(ValueError, match=r"did you mean bilstm\?"):
        build_model(config)
    with pytest.raises(ValueError, match=r"did you mean bilstm\?"):
        config.validate()


def test_a_name_like_nothing_lists_the_choices_without_a_guess():
    with pytest.raises(ValueError) as error:
        tasks.get("zzz")
    assert "did you mean" not in str(error.value)
    assert "copy, repeat-copy, associative-recall, dynamic-ngrams, priority-sort" in str(error.value)


def test_plain_input_errors_get_no_debug_hint():
    result = invoke("train", "cpy")
    assert result.exit_code == 2 and "--debug" not in result.output


def test_unexpected_errors_keep_the_debug_hint(capsys):
    @friendly_errors
    def broken():
        raise RuntimeError("something inside broke")

    with pytest.raises(Exception):
        broken()
    err = capsys.readouterr().err
    assert "something inside broke" in err and "ntm --debug" in err


@pytest.mark.parametrize("value, kind", [("abc", "an integer"), ("2.5", "an integer"), ("true", "an integer")])
def test_a_task_option_of_the_wrong_type_names_the_option_and_its_type(value, kind):
    result = invoke("train", "copy", "--set", f"task.max_length={value}")
    assert result.exit_code == 2
    assert f"max_length must be {kind}" in result.output
    assert "Traceback" not in result.output


def test_task_options_take_whole_floats_and_numbers_for_floats():
    assert tasks.get("copy", max_length=30.0).max_length == 30
    assert tasks.get("dynamic-ngrams", beta=1).beta == 1.0
    with pytest.raises(ValueError, match="beta must be a number, got 'x'"):
        tasks.get("dynamic-ngrams", beta="x")


def test_eval_of_a_weights_file_names_that_file(trained_run):
    result = invoke("eval", trained_run / "last.safetensors", "--length", 2, "--samples", 2)
    assert result.exit_code == 0, result.output
    assert "last.safetensors" in result.output
    result = invoke("eval", trained_run / "last.safetensors", "--length", 2, "--samples", 2, "--json")
    assert '"checkpoint":' in result.stdout and "last.safetensors" in result.stdout


def test_the_eval_table_title_fits_on_one_line_of_80_columns():
    deep = "runs/" + "/".join(["a-rather-long-folder-name"] * 4) + "/best.safetensors"
    report = {"task": "associative-recall", "model": "ntm-ff", "checkpoint": deep, "memory_size": 128,
              "results": [{"length": 6, "samples": 500, "cost_bits": 0.5, "bit_errors": 0.1, "seq_accuracy": 0.9}]}
    console = Console(width=80, record=True, force_terminal=False)
    print_eval_report(report, console)
    lines = console.export_text().splitlines()
    title = [line for line in lines if "associative-recall" in line]
    assert len(title) == 1 and "ntm-ff" in title[0] and "memory 128" in title[0]
    assert f"weights: {deep}" in lines  # the file on one line, whole


def test_warnings_name_sizes_in_words(trained_run):
    assert describe_size({"length": 20}) == "length 20"
    assert describe_size({"length": 10, "repeats": 20}) == "length 10, repeats 20"
    warning = memory_warning(load_model(trained_run), {"length": 20}, None)
    assert warning.startswith("length 20 needs about") and "{" not in warning


@pytest.mark.parametrize("args", [
    ["train", "copy", "--batch-size", 10**9],
    ["train", "copy", "--set", f"train.batch_size={MAX_BATCH_SIZE + 1}"],
])
def test_absurd_batch_sizes_are_refused_at_train(args, tmp_path):
    result = invoke(*args, "--out", tmp_path / "run")
    assert result.exit_code == 2
    assert "more sequences than one batch can hold" in result.output and f"{MAX_BATCH_SIZE:,}" in result.output
    assert not (tmp_path / "run" / "last.safetensors").exists()


def test_absurd_batch_sizes_are_refused_at_eval(trained_run):
    result = invoke("eval", trained_run, "--batch-size", 10**9)
    assert result.exit_code == 2 and "--batch-size 1,000,000,000 is more sequences" in result.output
    with pytest.raises(ValueError, match="at most"):
        tasks.get("copy").sample(MAX_BATCH_SIZE + 1, rng=0)


def test_eval_takes_a_thread_count_and_refuses_a_nonsense_one(trained_run):
    import torch

    before = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        result = invoke("eval", trained_run, "--length", 2, "--samples", 2, "--threads", 1)
        assert result.exit_code == 0, result.output
        assert torch.get_num_threads() == 1
        refused = invoke("eval", trained_run, "--length", 2, "--samples", 2, "--threads", 0)
        assert refused.exit_code == 2 and "--threads must be at least 1" in refused.output
    finally:
        torch.set_num_threads(before)


def test_results_refuses_a_nonsense_thread_count(tmp_path):
    result = invoke("results", "--checkpoints", tmp_path, "--out", tmp_path, "--threads", -1)
    assert result.exit_code == 2 and "--threads must be at least 1" in result.output


def test_the_eval_table_names_the_tasks_own_size():
    report = {"task": "associative-recall", "model": "ntm", "checkpoint": "x",
              "results": [{"length": 12, "samples": 500, "cost_bits": 0.3, "bit_errors": 0.02, "seq_accuracy": 0.99}]}
    console = Console(width=80, record=True)
    print_eval_report(report, console)
    header = next(line for line in console.export_text().splitlines() if "cost_bits" in line)
    assert "items" in header and "length" not in header


def test_the_eval_table_of_a_task_with_an_optimum_keeps_every_header_whole_at_80_columns():
    report = {"task": "dynamic-ngrams", "model": "ntm", "checkpoint": "x", "memory_size": 128,
              "results": [{"length": 200, "samples": 500, "cost_bits": 133.9, "bit_errors": 51.2,
                           "seq_accuracy": 0.0, "optimal_cost_bits": 133.1}]}
    console = Console(width=80, record=True)
    print_eval_report(report, console)
    text = console.export_text()
    assert "…" not in text
    for header in ("length", "cost_bits", "bit_errors", "seq_accuracy", "optimum", "excess"):
        assert header in text
    assert "+0.800" in text and "500 sequences per size" in text


@pytest.mark.parametrize("option, value", [("--batch-size", 0), ("--threads", -1)])
def test_time_to_solve_refuses_a_bad_batch_or_thread_count_before_training(tmp_path, option, value):
    result = invoke("bench", "--time-to-solve", "--seed", 0, option, value, "--out", tmp_path)
    assert result.exit_code != 0 and option in result.output and "Traceback" not in result.output
    assert not any(tmp_path.iterdir())  # nothing trained, nothing written


def test_eval_sizes_take_any_size_field_of_the_task_by_name():
    from ntm.cli.evaluate import _sizes_asked

    repeat_copy = tasks.get("repeat-copy")
    assert _sizes_asked(repeat_copy, None, "5,10", ["repeats=20"]) == [{"length": 5, "repeats": 20},
                                                                        {"length": 10, "repeats": 20}]
    assert _sizes_asked(repeat_copy, None, None, ["length=7", "repeats=3"]) == [{"length": 7, "repeats": 3}]
    with pytest.raises(ValueError, match="repeat-copy has no size 'repets'; did you mean repeats"):
        _sizes_asked(repeat_copy, 5, None, ["repets=3"])
    with pytest.raises(ValueError, match="name the same size"):
        _sizes_asked(repeat_copy, 5, None, ["length=3"])


def test_the_size_help_names_every_tasks_fields():
    from ntm.cli.options import LENGTH_HELP, SIZE_HELP

    for name in tasks.names():
        assert f"{name}: {', '.join(tasks.get(name).size_names)}" in SIZE_HELP
        assert f"{name} {tasks.get(name).size_names[0]}" in LENGTH_HELP
