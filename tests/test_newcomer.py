"""What a new user meets first: the version, the help, the messages for a
mistyped model or an unavailable device, and the paths figures show."""

import subprocess
import sys
from importlib import metadata
from pathlib import Path

from typer.testing import CliRunner

import ntm
from ntm.cli import app
from ntm.config import default_config


def invoke(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


def test_a_checkout_and_an_install_print_the_same_version():
    assert metadata.version("ntm") == ntm.__version__
    shown = subprocess.run([sys.executable, "-m", "ntm", "--version"], capture_output=True, text=True,
                           cwd=Path(ntm.__file__).parent.parent)
    assert shown.stdout.strip() == f"ntm {ntm.__version__}"


def test_the_train_help_shows_the_extra_to_install_whole():
    assert "ntm[tensorboard]" in " ".join(invoke("train", "--help").output.split())


def test_a_model_name_in_capitals_gets_a_did_you_mean_and_an_unknown_one_no_stray_separator():
    assert "unknown model 'LSTM'; did you mean lstm? (the models are" in invoke("config", "copy", "--model", "LSTM").output
    message = " ".join(invoke("config", "copy", "--model", "hopfield").output.split())
    assert "unknown model 'hopfield' (the models are ntm, ntm-ff" in message and "; (" not in message


def test_a_device_torch_lacks_is_refused_before_the_run_directory_is_made(tmp_path):
    import pytest
    import torch

    if torch.backends.mps.is_available():
        pytest.skip("this machine has an Apple GPU: mps is a device torch has here")
    result = invoke("train", "copy", "--device", "mps", "--out", tmp_path / "run")
    assert result.exit_code == 2 and "mps" in result.output and "use cpu" in result.output
    assert not (tmp_path / "run").exists()
    config = default_config("copy")
    config.train.device = "mps"
    try:
        ntm.train(config, tmp_path / "api")
    except ValueError as error:
        assert "use cpu" in str(error)
    assert not (tmp_path / "api").exists()


def test_a_figure_title_shows_the_shipped_checkpoint_relative_to_the_project(monkeypatch, tmp_path):
    from ntm.report.attention import shown_path

    root = Path(ntm.__file__).resolve().parent.parent
    monkeypatch.chdir(tmp_path)
    assert shown_path(root / "checkpoints" / "copy-ntm" / "best.safetensors") == "checkpoints/copy-ntm/best.safetensors"
    assert shown_path(tmp_path / "run" / "best.safetensors") == "run/best.safetensors"
