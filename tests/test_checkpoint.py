import pickle

import pytest
import torch

from ntm import checkpoint as ckpt
from ntm.config import ModelConfig
from ntm.evaluation import load_model
from ntm.model.registry import build_model
from ntm.training.loop import train


def small_model(hidden=8):
    return build_model(ModelConfig(hidden_size=hidden, memory_size=4, memory_width=3), 9, 8)


def test_weights_optimizer_and_info_round_trip(tmp_path):
    model = small_model()
    optimizer = torch.optim.Adam(model.parameters(), lr=0.1)
    model(torch.rand(2, 3, 9)).sum().backward()
    optimizer.step()
    ckpt.save_checkpoint(tmp_path / "c.safetensors", model, optimizer, info={"step": 7})
    loaded = ckpt.Checkpoint(tmp_path / "c.safetensors")
    assert loaded.info == {"step": 7}
    fresh = small_model()
    loaded.load_model(fresh)
    for a, b in zip(model.parameters(), fresh.parameters()):
        assert torch.equal(a, b)
    fresh_optimizer = torch.optim.Adam(fresh.parameters(), lr=0.1)
    fresh_optimizer.load_state_dict(loaded.optimizer_state)
    assert torch.equal(fresh_optimizer.state[fresh.output.weight]["exp_avg"], optimizer.state[model.output.weight]["exp_avg"])


def test_a_truncated_checkpoint_is_refused_with_a_reason(tmp_path):
    path = tmp_path / "c.safetensors"
    ckpt.save_checkpoint(path, small_model())
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(ckpt.CheckpointError, match="truncated or corrupt"):
        ckpt.Checkpoint(path)


def test_a_safetensors_file_that_is_not_ours_is_refused(tmp_path):
    from safetensors.torch import save_file

    save_file({"x": torch.zeros(2)}, str(tmp_path / "other.safetensors"))
    with pytest.raises(ckpt.CheckpointError, match="not an ntm checkpoint"):
        ckpt.Checkpoint(tmp_path / "other.safetensors")


class _Exploit:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_a_planted_pickle_is_refused_without_running(tmp_path, tiny_copy_config):
    run = tmp_path / "run"
    train(tiny_copy_config, run)
    marker = tmp_path / "pwned"
    for name in ("last.safetensors", "best.safetensors"):
        (run / name).write_bytes(pickle.dumps(_Exploit(str(marker))))
    with pytest.raises(ckpt.CheckpointError):
        load_model(run)
    with pytest.raises(ckpt.CheckpointError):
        train(tiny_copy_config, run, resume=True)
    assert not marker.exists()


def test_weights_of_another_model_are_refused(tmp_path):
    ckpt.save_checkpoint(tmp_path / "c.safetensors", small_model(hidden=8))
    with pytest.raises(ckpt.CheckpointError, match="does not fit"):
        ckpt.Checkpoint(tmp_path / "c.safetensors").load_model(small_model(hidden=12))


def test_a_crash_while_saving_leaves_the_previous_checkpoint(tmp_path, monkeypatch):
    path = tmp_path / "c.safetensors"
    ckpt.save_checkpoint(path, small_model(), info={"step": 1})

    def crash(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(ckpt, "save_file", crash)
    with pytest.raises(OSError):
        ckpt.save_checkpoint(path, small_model(), info={"step": 2})
    assert ckpt.Checkpoint(path).info == {"step": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["c.safetensors"]


def test_a_run_directory_without_config_is_explained(tmp_path):
    with pytest.raises(ckpt.CheckpointError, match="not a run directory"):
        ckpt.load_config(tmp_path)
