import pytest
import torch

from ntm.config import default_config


@pytest.fixture(autouse=True)
def _one_thread():
    # Tests run small tensors: one thread is faster and keeps timings stable on a 2-core machine.
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.fixture
def tiny_copy_config():
    """A copy run small enough to train for a few steps in well under a second."""
    config = default_config("copy", "ntm")
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
