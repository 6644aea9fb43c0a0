"""The fused path (one C++ call per sequence, ntm/model/fused.py) computes the
reference function: outputs and every parameter's gradient in float64 agree to
gradcheck-level tolerance with `NTM.forward` on the reference path.

The extension is compiled on the first test (about 20 s on 2 cores) and
cached on disk afterwards; the models are small so the rest takes seconds.
"""

import dataclasses
import logging
import os
import shutil

import numpy as np
import pytest
import torch

import tasks
from ntm.config import ModelConfig
from ntm.evaluation import load_model
from ntm.model import fused
from ntm.model.registry import build_model
from ntm.training.loop import train

TOLERANCE = dict(rtol=1e-9, atol=1e-12)  # float64: the two paths differ only in summation order


@pytest.fixture(autouse=True)
def _needs_extension():
    if fused.available():
        return
    # Only a machine without a compiler may skip: where one is installed, a
    # source that no longer compiles must fail here, not pass as skipped.
    if shutil.which(os.environ.get("CXX", "c++")) is None:
        pytest.skip("no C++ compiler here, so no fused extension")
    pytest.fail("a C++ compiler is installed but the fused extension did not build (see the log line for why)")


def small_config(name="ntm", **fields) -> ModelConfig:
    sizes = dict(name=name, hidden_size=12, layers=1, memory_size=8, memory_width=5)
    sizes.update(fields)
    return ModelConfig(**sizes)


def model_pair(config: ModelConfig, input_width: int, output_width: int, seed: int = 0):
    """The same float64 weights on the reference and the fused path."""
    torch.manual_seed(seed)
    reference = build_model(config, input_width, output_width).double()
    on_fused = build_model(config, input_width, output_width).double()
    on_fused.load_state_dict(reference.state_dict())
    assert on_fused.use_path("fused") == "fused"
    return reference, on_fused


def outputs_and_gradients(model, inputs, weights, **forward):
    """Logits, and every parameter's gradient of sum(logits * weights)."""
    model.zero_grad(set_to_none=True)
    logits = model(inputs, **forward)
    (logits * weights).sum().backward()
    return logits.detach(), {name: p.grad.clone() for name, p in model.named_parameters()}


def assert_same_function(config, inputs, lengths=None, memory_size=None, output_width=3, rearrange=None):
    """Outputs and every gradient alike on both paths; `rearrange(model)`, if
    given, changes the fused path's model first without changing its function."""
    reference, on_fused = model_pair(config, inputs.shape[-1], output_width)
    if rearrange is not None:
        rearrange(on_fused)
    weights = torch.randn(*inputs.shape[:2], output_width, dtype=torch.float64,
                          generator=torch.Generator().manual_seed(2))
    if lengths is not None:  # the padded steps are read by nothing
        weights = weights * (torch.arange(inputs.shape[1]) < lengths[:, None]).unsqueeze(-1)
    want, want_grads = outputs_and_gradients(reference, inputs, weights, memory_size=memory_size)
    got, got_grads = outputs_and_gradients(on_fused, inputs, weights, memory_size=memory_size, lengths=lengths)
    real = weights.ne(0).any(-1) if lengths is not None else torch.ones(inputs.shape[:2], dtype=torch.bool)
    torch.testing.assert_close(got[real], want[real], **TOLERANCE)
    for name, grad in want_grads.items():
        torch.testing.assert_close(got_grads[name], grad, **TOLERANCE, msg=lambda m: f"{name}: {m}")
    with torch.no_grad():
        torch.testing.assert_close(on_fused(inputs, memory_size=memory_size, lengths=lengths), got, **TOLERANCE)


def random_inputs(batch=3, steps=6, width=4, seed=1):
    return torch.randn(batch, steps, width, dtype=torch.float64, generator=torch.Generator().manual_seed(seed))


@pytest.fixture(params=["own", "blas"])
def products(request):
    """Run the test with the kernel's own products (AVX-512) and with the BLAS."""
    extension = fused.load()
    if request.param not in extension.products_available():
        pytest.skip("this build does not target AVX-512, so the BLAS runs every product")
    before = extension.products()
    extension.set_products(request.param)
    yield request.param
    extension.set_products(before)


CONTROLLERS = [
    ("ntm", 1, 1), ("ntm-ff", 1, 1),  # LSTM and feedforward, one head each
    ("ntm", 2, 1), ("ntm-ff", 2, 1),  # two controller layers
    ("ntm", 2, 5),  # the priority-sort NTM's shape: 2 layers, 5 heads
    ("ntm-ff", 1, 8),  # the priority-sort NTM-FF's 8 heads
]


@pytest.mark.parametrize("name, layers, heads", CONTROLLERS, ids=[f"{n}-{l}layer-{h}head" for n, l, h in CONTROLLERS])
def test_outputs_and_gradients_match_the_reference_path(name, layers, heads, products):
    assert_same_function(small_config(name, layers=layers, read_heads=heads, write_heads=heads), random_inputs())


@pytest.mark.parametrize("name, layers", [("ntm", 2), ("ntm-ff", 1)])
def test_products_of_many_panels_and_row_blocks_match_the_reference_path(name, layers, products):
    # 70 units: the LSTM's 280 gates span 8 panels of 32 doubles and a tail of
    # 24; 13 samples are row blocks of 5, 4 and 4; 65 rows make the weight
    # gradients' inner dimension.
    config = small_config(name, hidden_size=70, layers=layers, read_heads=2, write_heads=3, memory_width=9)
    assert_same_function(config, random_inputs(batch=13, steps=5, width=6))


def test_float32_products_give_the_reference_paths_gradients(products):
    # The float kernels (16 lanes, not 8) at a width past several panels of
    # 64 floats, 9 mixed-length samples, and the sort task's widths.
    task = tasks.get("priority-sort")
    config = ModelConfig(name="ntm-ff", hidden_size=150, read_heads=2, write_heads=2)
    torch.manual_seed(0)
    reference = build_model(config, task.input_width, task.output_width)
    on_fused = build_model(config, task.input_width, task.output_width)
    on_fused.load_state_dict(reference.state_dict())
    assert on_fused.use_path("fused") == "fused"
    batch = task.sample(9, rng=0)
    weights = torch.randn(batch.targets.shape, generator=torch.Generator().manual_seed(1)) * batch.mask.unsqueeze(-1)
    want, want_grads = outputs_and_gradients(reference, batch.inputs, weights)
    got, got_grads = outputs_and_gradients(on_fused, batch.inputs, weights, lengths=batch.lengths)
    torch.testing.assert_close(got[batch.mask], want[batch.mask], rtol=1e-4, atol=1e-5)
    for name, grad in want_grads.items():
        torch.testing.assert_close(got_grads[name], grad, rtol=1e-3, atol=1e-5, msg=lambda m: f"{name}: {m}")


@pytest.mark.parametrize("rows, inner, columns", [(1, 5, 3), (6, 17, 64), (7, 40, 65), (13, 33, 200), (32, 64, 129)])
def test_a_step_product_is_the_matrix_product(rows, inner, columns, products):
    generator = torch.Generator().manual_seed(rows)
    X = torch.randn(rows, inner, dtype=torch.float64, generator=generator)
    W = torch.randn(inner, columns, dtype=torch.float64, generator=generator)
    extension = fused.load()
    torch.testing.assert_close(extension.step_product(X, W), X @ W, **TOLERANCE)
    torch.testing.assert_close(extension.step_product(X.float(), W.float(), 3), (X @ W).float(), rtol=1e-5, atol=1e-4)
    if products == "own":  # each row's sums in one order, however many rows come with it
        assert torch.equal(extension.step_product(X[: rows // 2 + 1], W), extension.step_product(X, W)[: rows // 2 + 1])


def test_an_unknown_products_choice_is_refused_with_the_choices():
    with pytest.raises(RuntimeError, match='"own" or "blas"'):
        fused.load().set_products("fast")


def test_ntm_fused_products_in_the_environment_chooses_the_products(monkeypatch):
    extension = fused.load()
    before = extension.products()
    monkeypatch.setattr(fused, "_extensions", {})
    monkeypatch.setenv("NTM_FUSED_PRODUCTS", "blas")
    try:
        assert fused.load().products() == "blas"
        monkeypatch.setattr(fused, "_extensions", {})
        monkeypatch.setenv("NTM_FUSED_PRODUCTS", "fast")
        with pytest.raises(ValueError, match='NTM_FUSED_PRODUCTS=fast: .*"own" or "blas"'):
            fused.load()
    finally:
        extension.set_products(before)


def test_more_read_heads_than_write_heads_match_the_reference_path():
    assert_same_function(small_config(read_heads=3, write_heads=1), random_inputs())


@pytest.mark.parametrize("write_heads", [3, 9], ids=["3-write-heads", "9-write-heads"])
def test_several_write_heads_at_an_odd_memory_size_match_the_reference_path(write_heads):
    # 1 to 8 write heads take a write backward specialised on their number,
    # more take the general loop; 19 locations leave a tail past any vector width.
    assert_same_function(small_config(read_heads=1, write_heads=write_heads, memory_size=19), random_inputs())


def register_in_reverse(model):
    """Every module's parameters and submodules registered in reverse order
    (a ModuleList's layers keep theirs, which is the order they run in): the
    same function, another named_parameters() order."""
    for module in list(model.modules()):
        module._parameters = dict(reversed(module._parameters.items()))
        if not isinstance(module, torch.nn.ModuleList):
            module._modules = dict(reversed(module._modules.items()))


@pytest.mark.parametrize("name", ["ntm", "ntm-ff"])
def test_parameters_registered_in_another_order_match_the_reference_path(name):
    config = small_config(name, layers=2, read_heads=2, write_heads=1)
    first_order = [n for n, _ in build_model(config, 4, 3).named_parameters()]

    def rearrange(model):
        register_in_reverse(model)
        assert [n for n, _ in model.named_parameters()] != first_order

    assert_same_function(config, random_inputs(), rearrange=rearrange)


def test_a_parameter_of_an_unexpected_shape_is_refused_by_name():
    _, on_fused = model_pair(small_config(), 4, 3)
    on_fused.head_parameters = torch.nn.Linear(12, 70).double()
    with pytest.raises(ValueError, match=r"head_parameters.weight of shape \[.*\], not \[70, 12\]"):
        on_fused(random_inputs())


@pytest.mark.parametrize("task_name", tasks.names())
def test_every_tasks_widths_and_masks_match_the_reference_path(task_name):
    task = tasks.get(task_name)
    batch = task.sample(3, rng=0)
    assert_same_function(small_config(), batch.inputs.double(), lengths=batch.lengths,
                         output_width=task.output_width)


def test_a_memory_size_changed_at_evaluation_matches_the_reference_path():
    assert_same_function(small_config(), random_inputs(), memory_size=13)


@pytest.mark.parametrize("rows", [1, 2, 3])
def test_the_circular_shift_wraps_round_memories_of_one_to_three_rows(rows):
    # The shift's end rows wrap round outside its vectorised interior; with
    # three rows or fewer there is no interior at all.
    assert_same_function(small_config(), random_inputs(), memory_size=rows)


@pytest.mark.parametrize("name, heads", [("ntm", 1), ("ntm-ff", 2)])
def test_a_learned_initial_memory_and_its_gradient_match_the_reference_path(name, heads):
    config = small_config(name, learned_memory=True, read_heads=heads, write_heads=heads)
    assert_same_function(config, random_inputs(batch=4), lengths=torch.tensor([6, 2, 5, 1]))


def test_a_learned_memory_resized_at_evaluation_matches_the_reference_path():
    config = small_config(learned_memory=True)
    assert_same_function(config, random_inputs(), memory_size=13)  # rows repeat in order
    assert_same_function(config, random_inputs(), memory_size=5)  # the first rows


def test_mixed_lengths_match_on_the_real_steps_and_give_zeros_past_them():
    lengths = torch.tensor([2, 6, 4, 6, 1])
    inputs = random_inputs(batch=5)
    assert_same_function(small_config(read_heads=2, write_heads=2), inputs, lengths=lengths)
    _, on_fused = model_pair(small_config(), 4, 3)
    with torch.no_grad():
        logits = on_fused(inputs, lengths=lengths)
    assert logits[0, 2:].abs().sum() == 0 and logits[4, 1:].abs().sum() == 0


def test_a_sample_gives_the_same_outputs_alone_as_in_a_mixed_batch():
    lengths = torch.tensor([3, 6, 5])
    inputs = random_inputs()
    _, on_fused = model_pair(small_config(), 4, 3)
    with torch.no_grad():
        together = on_fused(inputs, lengths=lengths)
        for b in range(3):
            alone = on_fused(inputs[b : b + 1, : lengths[b]])
            torch.testing.assert_close(together[b, : lengths[b]], alone[0], **TOLERANCE)


def test_inference_split_across_threads_gives_the_outputs_of_one_thread():
    reference, on_fused = model_pair(small_config(read_heads=2, write_heads=2), 4, 3)
    inputs, lengths = random_inputs(batch=7), torch.tensor([6, 2, 5, 1, 6, 3, 4])
    previous = torch.get_num_threads()
    outputs = {}
    try:
        for threads in (1, 3):  # 3 threads: each runs 2 or 3 samples through the whole sequence
            torch.set_num_threads(threads)
            with torch.no_grad():
                outputs[threads] = on_fused(inputs, lengths=lengths)
    finally:
        torch.set_num_threads(previous)
    torch.testing.assert_close(outputs[3], outputs[1], **TOLERANCE)
    with torch.no_grad():
        want = reference(inputs)
    real = torch.arange(6) < lengths[:, None]
    torch.testing.assert_close(outputs[3][real], want[real], **TOLERANCE)
    assert outputs[3][~real].abs().sum() == 0


@pytest.mark.parametrize("lengths, shares, starts", [
    ([20, 20, 1, 1, 1, 1, 1, 1, 1, 1], 2, [0, 1, 10]),  # 20 against 28 steps; halving by count gives 43 against 5
    ([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12], 3, [0, 7, 10, 12]),  # 28, 27 and 23 steps
    ([1, 1, 1, 50], 3, [0, 2, 3, 4]),  # every share keeps a sample
    ([90, 5, 5, 5], 2, [0, 1, 4]),  # lengths past the sequence's 30 steps count as 30
])
def test_threads_split_the_batch_into_slices_of_about_equal_total_length(lengths, shares, starts):
    assert fused.load().share_starts(torch.tensor(lengths), 30, shares) == starts


@pytest.mark.parametrize("name, layers, learned", [("ntm", 2, True), ("ntm-ff", 1, False)])
def test_training_split_across_threads_gives_the_gradients_of_one_thread(name, layers, learned):
    config = small_config(name, layers=layers, read_heads=2, write_heads=2, learned_memory=learned)
    _, on_fused = model_pair(config, 4, 3)
    lengths = torch.tensor([6, 2, 5, 1, 6, 3, 4])
    weights = torch.randn(7, 6, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(3))
    previous, results = torch.get_num_threads(), {}
    try:
        for threads in (1, 3):
            torch.set_num_threads(threads)
            inputs = random_inputs(batch=7).requires_grad_()
            logits, grads = outputs_and_gradients(on_fused, inputs, weights, lengths=lengths)
            results[threads] = (logits, grads, inputs.grad)
    finally:
        torch.set_num_threads(previous)
    torch.testing.assert_close(results[3][0], results[1][0], **TOLERANCE)
    for name_, grad in results[1][1].items():
        torch.testing.assert_close(results[3][1][name_], grad, **TOLERANCE, msg=lambda m: f"{name_}: {m}")
    torch.testing.assert_close(results[3][2], results[1][2], **TOLERANCE)


def test_the_gradient_of_the_inputs_matches_the_reference_path():
    reference, on_fused = model_pair(small_config(), 4, 3)
    grads = []
    for model in (reference, on_fused):
        inputs = random_inputs().requires_grad_()
        model(inputs).pow(2).sum().backward()
        grads.append(inputs.grad)
    torch.testing.assert_close(grads[1], grads[0], **TOLERANCE)


def test_float32_training_outputs_match_the_reference_path():
    torch.manual_seed(0)
    task = tasks.get("copy")
    reference = build_model(ModelConfig(), task.input_width, task.output_width)
    on_fused = build_model(ModelConfig(), task.input_width, task.output_width)
    on_fused.load_state_dict(reference.state_dict())
    on_fused.use_path("fused")
    batch = task.sample(8, rng=0)
    real = batch.mask
    torch.testing.assert_close(on_fused(batch.inputs, lengths=batch.lengths)[real], reference(batch.inputs)[real],
                               rtol=1e-4, atol=1e-5)


def test_the_same_seed_trains_to_the_same_weights(tmp_path, tiny_copy_config):
    tiny_copy_config.train.path = "fused"
    tiny_copy_config.train.steps = 6
    weights = []
    for run in ("a", "b"):
        train(dataclasses.replace(tiny_copy_config), tmp_path / run)
        torch.manual_seed(0)
        weights.append(load_model(tmp_path / run, "last").model.state_dict())
    for name, value in weights[0].items():
        assert torch.equal(value, weights[1][name]), name


def test_without_a_compiler_one_line_says_so_and_the_reference_path_runs(monkeypatch, caplog):
    def no_compiler(source):
        raise RuntimeError("Error building extension 'fused_ntm': c++: command not found")

    monkeypatch.setattr(fused, "_build", no_compiler)
    monkeypatch.setattr(fused, "_extensions", {})
    model = build_model(small_config(), 4, 3)
    with caplog.at_level(logging.WARNING, logger="ntm"):
        assert model.use_path("fused") == "reference"
    assert len(caplog.records) == 1 and "could not be built" in caplog.text and "reference" in caplog.text
    assert model(random_inputs().float()).shape == (3, 6, 3)


def test_an_unknown_path_is_refused_with_the_choices():
    with pytest.raises(ValueError, match="reference, compiled, fused"):
        build_model(small_config(), 4, 3).use_path("turbo")


def test_lengths_are_one_past_the_last_scored_step():
    mask = torch.tensor([[0, 1, 1, 0], [1, 1, 1, 1], [0, 0, 0, 0]], dtype=torch.bool)
    batch = tasks.Batch(torch.zeros(3, 4, 2), torch.zeros(3, 4, 2), mask)
    assert batch.lengths.tolist() == [3, 4, 0]


def test_a_sample_of_length_zero_gives_zeros_and_no_gradient():
    _, on_fused = model_pair(small_config(), 4, 3)
    logits = on_fused(random_inputs(), lengths=torch.tensor([0, 6, 0]))
    logits.sum().backward()
    assert logits[0].abs().sum() == 0 and logits[2].abs().sum() == 0
    assert np.isfinite(sum(p.grad.abs().sum().item() for p in on_fused.parameters()))
