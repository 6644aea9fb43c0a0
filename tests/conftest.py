import pytest
import torch

from ntm.config import RunConfig, TrainConfig, default_config


@pytest.fixture(autouse=True)
def _one_thread():
    # Tests run small tensors: one thread is faster and keeps timings stable on a 2-core machine.
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


def without_recipe(task: str = "copy", model: str = "ntm") -> RunConfig:
    """`default_config` with TrainConfig's own defaults where the model's recipe
    for the task would set others: for tests of the options a recipe sets."""
    config = default_config(task, model)
    config.train = TrainConfig(lr=TrainConfig().lr if model in ("ntm", "ntm-ff") else config.train.lr)
    config.model.learned_memory = False
    return config


# The same on the command line: `ntm train copy` with these trains as before the recipes.
NO_RECIPE = ["--set", "train.optimizer=adam", "--set", "train.clip_grad_value=0",
             "--set", "train.memory_size=0", "--set", "train.memory_size_max=0", "--set", "train.lr_after_solve=0.01"]


@pytest.fixture
def tiny_copy_config():
    """A copy run small enough to train for a few steps in well under a second."""
    config = without_recipe("copy", "ntm")
    config.task_options = {"max_length": 3}
    config.model.hidden_size = 16
    config.model.memory_size = 8
    config.model.memory_width = 6
    config.train.batch_size = 4
    config.train.steps = 12
    config.train.log_every = 2
    config.train.validate_every = 4
    config.train.checkpoint_every = 4
    config.train.validation_samples = 8
    return config


def assert_batch_matches_each_sample(model, inputs):
    """A batch of B gives the same outputs as B batches of one: no cross-talk between samples."""
    together = model(inputs)
    for b in range(inputs.shape[0]):
        torch.testing.assert_close(together[b : b + 1], model(inputs[b : b + 1]), atol=1e-5, rtol=1e-5)
