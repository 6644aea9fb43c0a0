"""The compiled path (torch.compile of the NTM step) computes the reference function.

Compiling costs tens of seconds per model shape on 2 cores, so the models here
are chosen to cover what changes the compiled graph: both controllers, one and
several heads, and the widths of two different tasks.
"""

import pytest
import torch

import tasks
from ntm.config import ModelConfig
from ntm.model.registry import build_model

CASES = [
    ("copy", ModelConfig(name="ntm", hidden_size=24, memory_size=12, memory_width=6)),
    ("priority-sort", ModelConfig(name="ntm-ff", hidden_size=24, read_heads=2, write_heads=2, memory_size=12, memory_width=6)),
]


@pytest.mark.parametrize("task_name, config", CASES, ids=[f"{t}-{c.name}" for t, c in CASES])
def test_compiled_path_matches_reference_outputs_and_gradients(task_name, config):
    task = tasks.get(task_name)
    torch.manual_seed(0)
    reference = build_model(config, task.input_width, task.output_width)
    compiled = build_model(config, task.input_width, task.output_width)
    compiled.load_state_dict(reference.state_dict())
    compiled.compile_steps(training=True, inference=True)
    batch = task.sample(4, rng=0)

    outputs = {}
    for name, model in (("reference", reference), ("compiled", compiled)):
        logits = model(batch.inputs)
        (logits * batch.mask.unsqueeze(-1)).pow(2).sum().backward()
        outputs[name] = logits.detach()
    torch.testing.assert_close(outputs["compiled"], outputs["reference"], rtol=1e-4, atol=1e-5)
    for (name, p_ref), p_compiled in zip(reference.named_parameters(), compiled.parameters()):
        torch.testing.assert_close(p_compiled.grad, p_ref.grad, rtol=1e-3, atol=1e-5, msg=name)
    with torch.no_grad():
        torch.testing.assert_close(compiled(batch.inputs), reference(batch.inputs), rtol=1e-4, atol=1e-5)
