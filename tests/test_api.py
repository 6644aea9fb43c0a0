"""`import ntm`: the functions a notebook uses, each the same as its command."""

import pytest
import torch

import ntm
import tasks
from ntm.config import RunConfig


@pytest.fixture(scope="module")
def tiny_config():
    config = ntm.default_config("copy")
    config.task_options = {"max_length": 3}
    config.model.hidden_size, config.model.memory_size, config.model.memory_width = 8, 8, 4
    config.train.batch_size, config.train.steps, config.train.validation_samples = 4, 6, 8
    config.train.log_every, config.train.validate_every, config.train.checkpoint_every = 2, 3, 3
    return config


@pytest.fixture(scope="module")
def run(tmp_path_factory, tiny_config):
    run_dir = tmp_path_factory.mktemp("api") / "copy"
    ntm.train(tiny_config, run_dir)
    return run_dir


def test_the_api_names_are_there_and_say_what_they_are():
    assert set(ntm.__all__) >= {"__version__", "load", "evaluate", "train", "build_model", "default_config"}
    assert {"load", "evaluate", "train"} <= set(dir(ntm))
    with pytest.raises(AttributeError, match="no attribute 'trian'"):
        ntm.trian


def test_load_gives_the_model_and_its_config(run):
    model, config = ntm.load(run)
    assert isinstance(model, torch.nn.Module) and isinstance(config, RunConfig)
    loaded = ntm.load(run, which="last")
    assert loaded.task.name == "copy" and loaded.checkpoint.name == "last.safetensors"


def test_evaluate_takes_a_run_directory_what_load_gave_or_a_bare_model(run):
    loaded = ntm.load(run)
    from_dir = ntm.evaluate(run, sizes=[2, 3], samples=6)
    from_loaded = ntm.evaluate(loaded, sizes=[{"length": 2}, {"length": 3}], samples=6)
    from_module = ntm.evaluate(loaded.model, sizes=[2, 3], task="copy", samples=6)
    assert from_dir == from_loaded == from_module
    assert [r["length"] for r in from_dir] == [2, 3]
    assert {"cost_bits", "bit_errors", "seq_accuracy"} <= set(from_dir[0])


def test_evaluate_gives_the_same_figures_as_ntm_eval(run):
    from ntm.evaluation import evaluate_checkpoint

    report = evaluate_checkpoint(run, [{"length": 3}], samples=6)
    assert ntm.evaluate(run, sizes=[3], samples=6) == report["results"]


def test_evaluate_of_a_bare_model_asks_for_its_task(run):
    with pytest.raises(ValueError, match="needs its task"):
        ntm.evaluate(ntm.load(run).model, sizes=[2])


def test_evaluate_warns_when_a_size_outgrows_the_memory(run):
    with pytest.warns(UserWarning, match="length 20 needs about 20 memory locations"):
        ntm.evaluate(run, sizes=[20], samples=2)


def test_build_model_takes_a_whole_run_config_or_a_model_config():
    config = ntm.default_config("associative-recall", "lstm")
    config.model.hidden_size, config.model.layers = 8, 1
    task = tasks.get("associative-recall")
    batch = task.sample(2, rng=0)
    model = ntm.build_model(config)
    assert model(batch.inputs).shape == batch.targets.shape
    same = ntm.build_model(config.model, task.input_width, task.output_width)
    assert sum(p.numel() for p in same.parameters()) == sum(p.numel() for p in model.parameters())
    with pytest.raises(ValueError, match="needs input_width and output_width"):
        ntm.build_model(config.model)
