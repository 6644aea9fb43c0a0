"""One rule for `ntm train`'s options, config files from `ntm config`, and --threads."""

import json

import pytest
import torch
from typer.testing import CliRunner

from ntm import checkpoint as ckpt
from ntm.cli import app
from ntm.overrides import build_run_config
from ntm.config_files import format_config, read_config_file

runner = CliRunner()
TINY = ["--set", "model.hidden_size=16", "--set", "model.memory_size=8", "--set", "model.memory_width=6",
        "--set", "train.validation_samples=8", "--set", "train.validate_every=2", "--set", "task.max_length=3"]


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


@pytest.mark.parametrize("flag, value, key, other", [
    ("--lr", "1e-3", "train.lr", "0.01"),
    ("--batch-size", "4", "train.batch_size", "8"),
    ("--steps", "2", "train.steps", "3"),
    ("--seed", "1", "train.seed", "2"),
    ("--threads", "1", "train.threads", "2"),
    ("--checkpoint-every", "2", "train.checkpoint_every", "5"),
])
def test_a_flag_and_a_set_of_the_same_field_with_different_values_is_an_error_naming_both(tmp_path, flag, value, key, other):
    result = invoke("train", "copy", flag, value, "--set", f"{key}={other}", "--out", tmp_path / "run")
    assert result.exit_code == 2
    message = " ".join(result.output.split())
    assert f"{flag} " in message and f"--set {key}={other}" in message and "give one of them" in message
    assert not (tmp_path / "run").exists()


def test_a_flag_and_a_set_that_agree_are_fine():
    from ntm.cli.flags import fields_from_flags

    config = build_run_config("copy", None, ["train.lr=0.001"], fields_from_flags({"--lr": 1e-3}, ["train.lr=0.001"]))
    assert config.train.lr == 1e-3


def test_until_solved_and_set_disagreeing_is_an_error():
    from ntm.cli.flags import fields_from_flags

    with pytest.raises(ValueError, match="--until-solved"):
        fields_from_flags({"--until-solved": True}, ["train.stop_when_solved=false"])


@pytest.mark.parametrize("form", ["json", "toml"])
def test_train_config_takes_what_ntm_config_prints_and_reruns_it(tmp_path, form):
    printed = invoke("config", "copy", "--format", form, *TINY, "--set", "train.steps=2", "--set", "train.batch_size=2")
    assert printed.exit_code == 0, printed.output
    path = tmp_path / f"run.{form}"
    path.write_text(printed.stdout)
    result = invoke("train", "--config", path, "--out", tmp_path / "run")
    assert result.exit_code == 0, result.output
    saved = ckpt.load_config(tmp_path / "run")
    assert format_config(saved, form) == printed.stdout.rstrip("\n") + ("\n" if form == "toml" else "")
    assert saved.task_options == {"max_length": 3} and saved.train.steps == 2


def test_options_apply_on_top_of_a_config_file_and_a_runs_config_json_is_one(tmp_path):
    first = invoke("train", "copy", "--steps", 2, "--batch-size", 2, "--out", tmp_path / "first", *TINY)
    assert first.exit_code == 0, first.output
    again = invoke("train", "--config", tmp_path / "first" / "config.json", "--seed", 3, "--out", tmp_path / "again")
    assert again.exit_code == 0, again.output
    saved = ckpt.load_config(tmp_path / "again")
    assert saved.train.seed == 3 and saved.model.hidden_size == 16


def test_a_config_file_refuses_resume(tmp_path):
    path = tmp_path / "copy.json"
    path.write_text(invoke("config", "copy").stdout)
    result = invoke("train", "--resume", "--out", tmp_path, "--config", path)
    assert result.exit_code == 2 and "--config starts a new run" in result.output


def test_a_broken_config_file_is_named(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text("[model]\nhidden_size = 'big'\n")
    result = invoke("train", "--config", path)
    assert result.exit_code == 2 and "bad.toml is not a config" in " ".join(result.output.split())


def test_toml_without_tomllib_or_tomli_says_what_to_do(tmp_path, monkeypatch):
    import sys

    path = tmp_path / "copy.toml"
    path.write_text(format_config(build_run_config("copy"), "toml"))
    monkeypatch.setitem(sys.modules, "tomllib", None)  # as on Python 3.10 without tomli
    monkeypatch.setitem(sys.modules, "tomli", None)
    with pytest.raises(ValueError, match="pip install tomli"):
        read_config_file(path)


@pytest.mark.parametrize("args, message", [
    (["copy", "--set", "task.max_length=0"], "max_length"),
    (["copy", "--set", "model.memory_size=big"], "model.memory_size must be of type int"),
    (["copy", "--set", "train.lr=-1"], "train.lr must be a positive number"),
    (["dynamic-ngrams", "--model", "bilstm"], "bilstm cannot be trained on dynamic-ngrams"),
    (["copy", "--set", "curriculum.max_length=2,0"], "max_length"),
])
def test_ntm_config_validates_as_ntm_train_does(tmp_path, args, message):
    shown = invoke("config", *args)
    trained = invoke("train", *args, "--out", tmp_path / "run")
    assert shown.exit_code == trained.exit_code == 2
    assert message in shown.output and message in trained.output


def test_ntm_config_uses_the_section_names_of_set():
    shown = json.loads(invoke("config", "copy", "--set", "task.max_length=5", "--set", "curriculum.max_length=2,3").stdout)
    assert list(shown) == ["task", "curriculum", "model", "train"]
    assert shown["task"] == {"name": "copy", "min_length": 1, "max_length": 5, "width": 8}
    assert shown["curriculum"] == {"max_length": [2, 3]}


@pytest.mark.parametrize("task", ["copy", "repeat-copy", "associative-recall", "dynamic-ngrams", "priority-sort"])
def test_ntm_config_lists_every_option_of_the_task_with_its_default(task):
    import tasks

    shown = json.loads(invoke("config", task).stdout)["task"]
    assert shown == {"name": task, **tasks.options(task)}
    assert len(shown) > 1


def test_threads_flag_sets_torch_threads_and_is_saved(tmp_path):
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(2)  # not the 1 that conftest sets, so the flag has something to change
        result = invoke("train", "copy", "--steps", 2, "--batch-size", 2, "--threads", 1, "--out", tmp_path / "run",
                        *TINY)
        assert result.exit_code == 0, result.output
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)
    assert ckpt.load_config(tmp_path / "run").train.threads == 1
    assert "1 thread," in result.output


def test_one_thread_is_the_default_and_help_says_when_to_keep_it():
    assert build_run_config("copy").train.threads == 1
    import typer

    command = typer.main.get_command(app).commands["train"]
    help_text = next(param.help for param in command.params if param.name == "threads")
    assert "Keep 1 on a machine that runs anything else" in help_text


def test_negative_threads_are_refused():
    result = invoke("train", "copy", "--threads", -1)
    assert result.exit_code == 2 and "--threads must be 0" in result.output
