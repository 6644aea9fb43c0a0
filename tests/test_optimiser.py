"""The paper's optimiser as an option: RMSProp with momentum 0.9 and each
gradient element clipped to +-clip_grad_value before the norm bound."""

import numpy as np
import pytest
import torch

import tasks
import ntm.training.loop as training
from conftest import without_recipe
from ntm.overrides import apply_overrides
from ntm.training.distributed import World
from ntm.training.state import Progress

TINY = ["model.hidden_size=8", "model.memory_size=8", "model.memory_width=4", "task.max_length=3",
        "train.batch_size=4", "train.spike_clip=0", "train.clip_grad_norm=1e9"]


def one_step(extra):
    config = apply_overrides(without_recipe("copy"), TINY + extra).validate()
    task = tasks.get("copy", **config.task_options)
    torch.manual_seed(0)
    model, optimizer = training._model_and_optimizer(config, task, torch.device("cpu"))[:2]
    batch = training.draw_training_batch(task, config.train, np.random.default_rng(0))
    metrics = training._optimiser_step(model, optimizer, batch, None, config.train, Progress(), World())
    return model, optimizer, metrics


def test_each_gradient_element_is_clipped_to_clip_grad_value():
    unclipped, _, _ = one_step([])
    largest = max(p.grad.abs().max().item() for p in unclipped.parameters())
    bound = largest / 4
    model, _, metrics = one_step([f"train.clip_grad_value={bound}"])
    assert metrics is not None
    assert max(p.grad.abs().max().item() for p in model.parameters()) <= bound + 1e-12


def test_no_element_clipping_by_default():
    assert without_recipe("copy").train.clip_grad_value == 0


def test_rmsprop_has_the_papers_momentum():
    _, optimizer, _ = one_step(["train.optimizer=rmsprop", "train.clip_grad_value=10"])
    assert isinstance(optimizer, torch.optim.RMSprop) and optimizer.param_groups[0]["momentum"] == 0.9


def test_a_negative_clip_grad_value_is_refused():
    with pytest.raises(ValueError, match="clip_grad_value"):
        apply_overrides(without_recipe("copy"), ["train.clip_grad_value=-1"]).validate()


def test_adam_runs_as_one_fused_update_and_matches_the_per_tensor_one():
    _, fused, _ = one_step([])
    assert isinstance(fused, torch.optim.Adam) and fused.defaults["fused"]
    # The same step through torch's per-tensor Adam moves every weight alike, to float noise.
    model, _, _ = one_step([])
    torch.manual_seed(0)
    config = apply_overrides(without_recipe("copy"), TINY).validate()
    task = tasks.get("copy", **config.task_options)
    reference = training._model_and_optimizer(config, task, torch.device("cpu"))[0]
    plain = torch.optim.Adam(reference.parameters(), lr=config.train.lr)
    batch = training.draw_training_batch(task, config.train, np.random.default_rng(0))
    training._optimiser_step(reference, plain, batch, None, config.train, Progress(), World())
    for fused_weight, plain_weight in zip(model.parameters(), reference.parameters()):
        torch.testing.assert_close(fused_weight, plain_weight, rtol=1e-5, atol=1e-7)
