"""`ntm train --tensorboard`: the curve's figures and the attention picture in RUN/tensorboard/.

tensorboard is an optional extra (`pip install 'ntm[tensorboard]'`): the
tests that read what it wrote skip without it; the refusal is tested either way."""

import sys

import pytest
from typer.testing import CliRunner

from ntm import checkpoint as ckpt
from ntm.cli import app
from ntm.training.loop import train


NEEDS_TENSORBOARD = "tensorboard is not installed (pip install 'ntm[tensorboard]')"
TINY_ARGS = ["train", "copy", "--steps", "2", "--batch-size", "2", "--set", "model.hidden_size=8",
             "--set", "model.memory_size=8", "--set", "model.memory_width=4", "--set", "task.max_length=2",
             "--set", "train.validation_samples=4", "--tensorboard"]


def logged(run_dir):
    accumulator = pytest.importorskip("tensorboard.backend.event_processing.event_accumulator",
                                      reason=NEEDS_TENSORBOARD)
    events = accumulator.EventAccumulator(str(run_dir / "tensorboard"), size_guidance={"images": 0, "scalars": 0})
    events.Reload()
    return events


def test_tensorboard_mirrors_the_curve_and_draws_the_attention(tmp_path, tiny_copy_config):
    pytest.importorskip("tensorboard", reason=NEEDS_TENSORBOARD)
    tiny_copy_config.train.steps = 8  # two validations: each draws an attention figure, which takes a while
    from ntm.report.attention import attention_of

    train(tiny_copy_config, tmp_path / "run", tensorboard=True, attention_figure=attention_of)
    events = logged(tmp_path / "run")
    tags = events.Tags()
    for tag in ("train/cost_bits", "train/bit_errors", "train/grad_norm", "train/lr",
                "validation/cost_bits", "validation/bit_errors", "validation/seq_accuracy"):
        assert tag in tags["scalars"], tag
    curve = ckpt.read_curve(tmp_path / "run")
    assert [e.step for e in events.Scalars("train/cost_bits")] == [p["step"] for p in curve]
    assert [e.value for e in events.Scalars("train/lr")] == pytest.approx([tiny_copy_config.train.lr] * len(curve))
    validated = [p["step"] for p in curve if "val_bit_errors" in p]
    assert [e.step for e in events.Scalars("validation/bit_errors")] == validated
    assert [e.step for e in events.Images("attention")] == validated
    image = events.Images("attention")[0]
    assert image.width > 100 and image.height > 100


def test_a_baseline_logs_figures_without_attention(tmp_path, tiny_copy_config):
    pytest.importorskip("tensorboard", reason=NEEDS_TENSORBOARD)
    from ntm.report.attention import attention_of

    tiny_copy_config.model.name = "lstm"
    train(tiny_copy_config, tmp_path / "run", tensorboard=True, attention_figure=attention_of)
    tags = logged(tmp_path / "run").Tags()
    assert "train/cost_bits" in tags["scalars"] and tags["images"] == []


def test_the_cli_flag_writes_the_tensorboard_folder(tmp_path):
    pytest.importorskip("tensorboard", reason=NEEDS_TENSORBOARD)
    result = CliRunner().invoke(app, [*TINY_ARGS, "--out", str(tmp_path / "run")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "run" / "tensorboard").is_dir()


def test_without_the_package_the_flag_is_refused_with_how_to_install_it(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", None)  # as without the tensorboard package
    result = CliRunner().invoke(app, [*TINY_ARGS, "--out", str(tmp_path / "without")])
    assert result.exit_code == 2 and "pip install tensorboard" in result.output
    assert not (tmp_path / "without").exists()
