"""The Differentiable Neural Computer (Graves et al. 2016) and Csordás &
Schmidhuber's three changes: each memory equation against the loop-based
NumPy reference of tests/dnc_reference.py in float64, the whole model against
the reference's forward, then the model behind the suite's interface
(training, `ntm viz`, the memory size, batching, padding)."""

import numpy as np
import pytest
import torch
from conftest import assert_batch_matches_each_sample
from typer.testing import CliRunner

import dnc_reference as ref
from ntm.config import ModelConfig, default_config
from ntm.model import dnc_memory
from ntm.model.dnc import DNC, DNCOptions
from ntm.model.registry import build_model

B, N, W, R = 2, 6, 4, 2
ALL_CHANGES = DNCOptions(masked_lookup=True, deallocation_wipe=True, link_sharpness=True)


@pytest.fixture
def rng():
    return np.random.default_rng(0)


def t(array):
    return torch.tensor(np.asarray(array), dtype=torch.float64)


def weightings(rng, *shape):
    """Random rows of non-negative weights summing to at most 1, as read and write weightings do."""
    w = rng.random(shape)
    return w / w.sum(axis=-1, keepdims=True) * rng.uniform(0.3, 1.0, size=shape[:-1] + (1,))


def per_sample(function, *arrays):
    return np.array([function(*(a[b] for a in arrays)) for b in range(arrays[0].shape[0])])


# --- one equation at a time ------------------------------------------------------


@pytest.mark.parametrize("masked", [False, True])
def test_content_weighting_matches_the_reference(rng, masked):
    memory, keys, strengths = rng.normal(size=(B, N, W)), rng.normal(size=(B, R, W)), 1 + 3 * rng.random((B, R, 1))
    mask = rng.random((B, R, W)) if masked else None
    got = dnc_memory.content_weighting(t(memory), t(keys), t(strengths), None if mask is None else t(mask))
    for b in range(B):
        for h in range(R):
            expected = ref.content(memory[b], keys[b, h], strengths[b, h, 0], None if mask is None else mask[b, h])
            np.testing.assert_allclose(got[b, h].numpy(), expected, rtol=1e-12, atol=1e-14)


def test_masked_lookup_ignores_what_the_mask_leaves_out():
    # Two words with the same key part (first half) and different values (second half).
    memory = t([[[1.0, 0.0, 5.0, -3.0], [1.0, 0.0, -2.0, 4.0], [0.0, 1.0, 0.0, 0.0]]])
    key, strength = t([[[1.0, 0.0, 0.0, 0.0]]]), t([[[10.0]]])
    keys_only = t([[[1.0, 1.0, 0.0, 0.0]]])
    masked = dnc_memory.content_weighting(memory, key, strength, keys_only)[0, 0]
    plain = dnc_memory.content_weighting(memory, key, strength)[0, 0]
    assert masked[0] == pytest.approx(masked[1].item(), abs=1e-12) and masked[0] > 0.49
    assert abs(plain[0] - plain[1]) > 0.2 and max(plain) < 0.6  # the values sway the plain lookup and blur it


def test_retention_and_usage_match_the_reference(rng):
    free_gates, previous_reads = rng.random((B, R)), weightings(rng, B, R, N)
    previous_usage, previous_write = rng.random((B, N)), weightings(rng, B, N)
    psi = dnc_memory.retention(t(free_gates).unsqueeze(-1), t(previous_reads))
    np.testing.assert_allclose(psi.numpy(), per_sample(ref.retention, free_gates, previous_reads), rtol=1e-12)
    u = dnc_memory.usage(t(previous_usage), t(previous_write), psi)
    np.testing.assert_allclose(u.numpy(), per_sample(ref.usage, previous_usage, previous_write, psi.numpy()),
                               rtol=1e-12)


def test_allocation_matches_the_reference(rng):
    u = rng.random((B, N))
    np.testing.assert_allclose(dnc_memory.allocation_weighting(t(u)).numpy(), per_sample(ref.allocation, u),
                               rtol=1e-12, atol=1e-15)


def test_allocation_breaks_ties_in_usage_by_the_lowest_index():
    u = np.array([[0.5, 0.2, 0.5, 0.2, 0.0, 0.0], [0.0] * 6, [1.0, 1.0, 0.3, 1.0, 0.3, 1.0]])
    got = dnc_memory.allocation_weighting(t(u)).numpy()
    np.testing.assert_allclose(got, per_sample(ref.allocation, u), rtol=1e-12, atol=1e-15)
    assert got[0, 4] == 1.0 and got[1].tolist() == [1.0, 0, 0, 0, 0, 0]  # the first of the unused
    assert got[2, 2] == pytest.approx(0.7) and got[2, 4] == pytest.approx(0.3 * 0.7)


def test_the_gradient_through_usage_in_the_allocation_matches_finite_differences(rng):
    u = t(rng.uniform(0.05, 0.95, size=(B, N))).requires_grad_()
    order = dnc_memory.free_list(u.detach())  # fixed: the paper ignores the sort's discontinuities
    assert torch.autograd.gradcheck(lambda usage: dnc_memory.allocation_weighting(usage, order), (u,))


def test_write_weighting_and_the_write_match_the_reference(rng):
    a, c, gates = weightings(rng, B, N), weightings(rng, B, N), rng.random((B, 2))
    w = dnc_memory.write_weighting(t(a), t(c), t(gates[:, :1]), t(gates[:, 1:]))
    np.testing.assert_allclose(w.numpy(), per_sample(ref.write_weighting, a, c, gates[:, 0], gates[:, 1]),
                               rtol=1e-12)
    memory, erase, vector = rng.normal(size=(B, N, W)), rng.random((B, W)), rng.normal(size=(B, W))
    written = dnc_memory.write(t(memory), w, t(erase), t(vector))
    np.testing.assert_allclose(written.numpy(), per_sample(ref.write, memory, w.numpy(), erase, vector), rtol=1e-12)


def test_deallocation_wipe_scales_each_word_by_its_retention(rng):
    memory, w = rng.normal(size=(B, N, W)), weightings(rng, B, N)
    erase, vector, psi = rng.random((B, W)), rng.normal(size=(B, W)), rng.random((B, N))
    wiped = dnc_memory.write(t(memory), t(w), t(erase), t(vector), t(psi))
    np.testing.assert_allclose(wiped.numpy(), per_sample(ref.write, memory, w, erase, vector, psi), rtol=1e-12)
    freed = dnc_memory.write(t(memory), t(np.zeros((B, N))), t(erase), t(vector), t(np.zeros((B, N))))
    assert freed.abs().max() == 0.0  # fully freed, nothing written: nothing left to find by content


def test_link_and_precedence_match_the_reference(rng):
    link, previous_precedence, w = rng.random((B, N, N)) * 0.3, weightings(rng, B, N), weightings(rng, B, N)
    got = dnc_memory.link(t(link), t(w), t(previous_precedence))
    np.testing.assert_allclose(got.numpy(), per_sample(ref.link, link, w, previous_precedence), rtol=1e-12)
    assert torch.diagonal(got, dim1=1, dim2=2).abs().max() == 0.0
    p = dnc_memory.precedence(t(previous_precedence), t(w))
    np.testing.assert_allclose(p.numpy(), per_sample(ref.precedence, previous_precedence, w), rtol=1e-12)


def test_links_record_the_order_of_one_hot_writes():
    link, p = torch.zeros(1, N, N, dtype=torch.float64), torch.zeros(1, N, dtype=torch.float64)
    for location in (3, 0, 5):
        w = torch.zeros(1, N, dtype=torch.float64)
        w[0, location] = 1.0
        link, p = dnc_memory.link(link, w, p), dnc_memory.precedence(p, w)
    read_at_0 = torch.zeros(1, 1, N, dtype=torch.float64)
    read_at_0[0, 0, 0] = 1.0
    assert dnc_memory.forward_weighting(link, read_at_0)[0, 0].argmax() == 5
    assert dnc_memory.backward_weighting(link, read_at_0)[0, 0].argmax() == 3


def test_forward_and_backward_weightings_and_their_sharpening_match_the_reference(rng):
    link, previous_reads, sharpness = rng.random((B, N, N)), weightings(rng, B, R, N), 1 + 4 * rng.random((B, R, 1))
    forward = dnc_memory.forward_weighting(t(link), t(previous_reads))
    backward = dnc_memory.backward_weighting(t(link), t(previous_reads))
    sharpened = dnc_memory.sharpen_link_distribution(forward, t(sharpness))
    for b in range(B):
        for h in range(R):
            f, bw = ref.forward_backward(link[b], previous_reads[b, h])
            np.testing.assert_allclose(forward[b, h].numpy(), f, rtol=1e-12)
            np.testing.assert_allclose(backward[b, h].numpy(), bw, rtol=1e-12)
            np.testing.assert_allclose(sharpened[b, h].numpy(), ref.sharpen(f, sharpness[b, h, 0]), rtol=1e-10)


def test_read_modes_read_weighting_and_read_vectors_match_the_reference(rng):
    backward, content, forward = (weightings(rng, B, R, N) for _ in range(3))
    modes = np.exp(rng.normal(size=(B, R, 3)))
    modes /= modes.sum(axis=-1, keepdims=True)
    memory = rng.normal(size=(B, N, W))
    w = dnc_memory.read_weighting(t(backward), t(content), t(forward), t(modes))
    reads = dnc_memory.read(t(memory), w)
    for b in range(B):
        for h in range(R):
            expected = ref.read_weighting(backward[b, h], content[b, h], forward[b, h], modes[b, h])
            np.testing.assert_allclose(w[b, h].numpy(), expected, rtol=1e-12)
            np.testing.assert_allclose(reads[b, h].numpy(), ref.read(memory[b], expected), rtol=1e-12)


# --- the whole model --------------------------------------------------------------


def small_dnc(options=None, seed=0, **fields):
    torch.manual_seed(seed)
    sizes = dict(name="dnc", hidden_size=8, layers=2, read_heads=R, memory_size=N, memory_width=W)
    return DNC(3, 2, ModelConfig(**{**sizes, **fields}), options).double()


def sequence(batch=B, steps=5, seed=1):
    return torch.randn(batch, steps, 3, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


@pytest.mark.parametrize("options", [DNCOptions(), ALL_CHANGES], ids=["dnc", "dnc-mds"])
def test_the_whole_forward_matches_the_reference_in_float64(options):
    # A small clip makes some interface values hit it, so the clipping is checked too.
    model, inputs = small_dnc(options, clip=2.0), sequence()
    with torch.no_grad():
        model.interface.weight.mul_(3.0)
        logits = model(inputs)
    params = {name: value.numpy() for name, value in model.state_dict().items()}
    for b in range(B):
        expected = ref.dnc_forward(params, inputs[b].numpy(), R, N, W, layers=2, clip=2.0, memory_init=1e-6,
                                   **vars(options))
        np.testing.assert_allclose(logits[b].numpy(), expected, rtol=1e-9, atol=1e-11)


@pytest.mark.parametrize("change", ["masked_lookup", "deallocation_wipe", "link_sharpness"])
def test_each_change_alters_the_output_of_the_same_weights(change):
    plain, changed = small_dnc(), small_dnc(DNCOptions(**{change: True}), seed=1)
    state = changed.state_dict()
    for name, value in plain.state_dict().items():  # the changes' interface fields lie after the paper's
        state[name][: value.shape[0]] = value
    changed.load_state_dict(state)
    inputs = sequence(steps=6)
    assert not torch.allclose(plain(inputs), changed(inputs), atol=1e-6)


def test_a_mask_of_ones_gives_the_plain_lookup():
    plain, masked = small_dnc(), small_dnc(DNCOptions(masked_lookup=True))
    with torch.no_grad():
        for name, value in plain.state_dict().items():
            masked.state_dict()[name][: value.shape[0]] = value
        rows = plain.interface.out_features
        masked.interface.weight[rows:] = 0.0
        masked.interface.bias[rows:] = 100.0  # clipped to 20: every mask sigmoid(20), one to 2e-9
        inputs = sequence()
        torch.testing.assert_close(masked(inputs), plain(inputs), atol=1e-7, rtol=1e-7)


def test_the_trace_holds_what_viz_draws():
    model = small_dnc(ALL_CHANGES)
    logits, trace = model(sequence(steps=5), trace=True)
    shapes = {name: tuple(value.shape) for name, value in trace.items()}
    assert shapes == {"usage": (B, 5, N), "write weighting": (B, 5, 1, N), "read weightings": (B, 5, R, N),
                      "read modes (backward, content, forward)": (B, 5, R, 3), "link matrix": (B, 5, N, N),
                      "memory": (B, 5, N, W)}
    for name, value in trace.items():
        assert not value.requires_grad, name
        if name != "memory":
            assert value.min() >= 0 and value.max() <= 1 + 1e-12, name
    torch.testing.assert_close(trace["read modes (backward, content, forward)"].sum(-1),
                               torch.ones(B, 5, R, dtype=torch.float64))
    assert (trace["link matrix"].diagonal(dim1=-2, dim2=-1) == 0).all()  # never written after itself
    torch.testing.assert_close(logits, model(sequence(steps=5)))


def test_the_traced_link_matrix_and_memory_are_each_steps_state():
    model, inputs = small_dnc(ALL_CHANGES), sequence(steps=4)
    _, trace = model(inputs, trace=True)
    state = model.initial_state(B)
    for t, x in enumerate(inputs.unbind(1)):
        _, state, _ = model.step(x, state)
        torch.testing.assert_close(trace["link matrix"][:, t], state.link.detach())
        torch.testing.assert_close(trace["memory"][:, t], state.memory.detach())
    assert trace["link matrix"][:, -1].abs().sum() > 0  # links were made, so the comparison says something


def test_memory_size_at_evaluation_changes_n():
    model, inputs = small_dnc(), sequence()
    _, trace = model(inputs, memory_size=2 * N, trace=True)
    assert trace["usage"].shape[-1] == 2 * N and trace["read weightings"].shape[-1] == 2 * N
    assert not torch.allclose(model(inputs, memory_size=2), model(inputs))
    with pytest.raises(ValueError, match="positive"):
        model(inputs, memory_size=0)


@pytest.mark.parametrize("options", [DNCOptions(), ALL_CHANGES], ids=["dnc", "dnc-mds"])
def test_a_batch_of_b_equals_b_batches_of_one(options):
    assert_batch_matches_each_sample(small_dnc(options).float(), sequence(batch=3).float())


def test_padding_leaves_the_outputs_of_the_real_steps_unchanged():
    model = small_dnc(ALL_CHANGES)
    inputs = sequence(batch=2, steps=7)
    inputs[0, 4:] = 0.0  # sample 0 is 4 steps long, then padding
    together = model(inputs, lengths=torch.tensor([4, 7]))
    torch.testing.assert_close(together[0, :4], model(inputs[:1, :4])[0])
    torch.testing.assert_close(together[1], model(inputs[1:])[0])


def test_the_registry_sizes_and_options():
    plain, changed = default_config("priority-sort", "dnc").model, default_config("copy", "dnc-mds").model
    assert (plain.hidden_size, plain.layers, plain.read_heads, plain.write_heads) == (100, 2, 5, 1)
    assert plain.options == {} and changed.options == vars(ALL_CHANGES)
    model, paper = build_model(changed, 9, 8), build_model(default_config("copy", "dnc").model, 9, 8)
    assert model.options == ALL_CHANGES and paper.options == DNCOptions()
    assert model.interface.out_features - paper.interface.out_features == (1 + 1) * 20 + 2 * 1  # masks, sharpness
    with pytest.raises(ValueError, match="one write head"):
        build_model(ModelConfig(name="dnc", write_heads=2), 9, 8)


# --- behind `ntm train`, `ntm eval` and `ntm viz` -----------------------------------


def invoke(*args, exit_code=0):
    from ntm.cli import app

    result = CliRunner().invoke(app, [str(a) for a in args])
    assert result.exit_code == exit_code, result.output
    return result


@pytest.fixture(scope="module")
def dnc_run(tmp_path_factory):
    """A DNC trained for 20 steps on copies of length 1-3: seconds, and enough to draw."""
    run = tmp_path_factory.mktemp("dnc") / "run"
    threads = torch.get_num_threads()  # training sets it process-wide; give it back for other tests
    try:
        invoke("train", "copy", "--model", "dnc", "--steps", 20, "--batch-size", 4, "--threads", 1, "--out", run,
               "--set", "model.hidden_size=16", "--set", "model.memory_size=8", "--set", "model.memory_width=6",
               "--set", "task.max_length=3", "--set", "model.link_sharpness=true",
               "--set", "train.validation_samples=8", "--set", "train.validate_every=10")
    finally:
        torch.set_num_threads(threads)
    return run


def test_it_trains_and_evaluates_with_a_larger_memory(dnc_run):
    assert (dnc_run / "last.safetensors").is_file()
    assert '"link_sharpness": true' in (dnc_run / "config.json").read_text()
    assert '"length": 5' in invoke("eval", dnc_run, "--lengths", 5, "--samples", 4, "--memory-size", 16,
                                   "--json").output


def test_the_figure_draws_usage_weightings_and_named_read_modes_but_no_matrix_as_rows(dnc_run):
    from ntm.evaluation import load_model
    from ntm.report.attention import figure_of, trace_episode

    traced = trace_episode(load_model(dnc_run), {"length": 3})
    assert list(traced.weightings) == ["usage", "write weighting", "read weightings", "read modes"]
    assert traced.row_names == {"read modes": ("backward", "content", "forward")}
    assert traced.link.shape == (7, 8, 8) and traced.memory.shape == (7, 8, 6)
    titles = {ax.get_title(loc="left"): ax for ax in figure_of(traced).axes}
    assert {"usage", "write weighting", "read weightings", "read modes"} <= set(titles)
    assert not any(title.startswith(("memory", "link matrix ·")) for title in titles)
    assert [t.get_text() for t in titles["read modes"].get_yticklabels()] == ["backward", "content", "forward"]


def test_the_link_matrix_is_drawn_at_the_delimiter_or_the_step_asked(dnc_run):
    from ntm.evaluation import load_model
    from ntm.report.attention import figure_of, trace_episode

    traced = trace_episode(load_model(dnc_run), {"length": 3})  # inputs 0-2, the delimiter 3, outputs 4-6
    rows = traced.shown_locations()
    for asked, drawn in ((None, 3), (5, 5)):
        link = next(ax for ax in figure_of(traced, link_step=asked).axes
                    if ax.get_title(loc="left").startswith("link matrix"))
        assert link.get_title(loc="left") == f"link matrix L at step {drawn}"
        np.testing.assert_array_equal(link.images[0].get_array(), traced.link[drawn][np.ix_(rows, rows)])


def test_viz_writes_the_figure_at_a_link_step_and_a_gif_with_a_frame_per_step(dnc_run, tmp_path):
    from PIL import Image

    picture, movie = tmp_path / "dnc.png", tmp_path / "dnc.gif"
    invoke("viz", dnc_run, "--length", 3, "--link-step", 2, "--out", picture, "--animate", movie)
    assert picture.stat().st_size > 10_000
    with Image.open(movie) as gif:
        assert gif.n_frames == 2 * 3 + 1


def test_viz_refuses_a_link_step_past_the_episode(dnc_run, tmp_path):
    picture = tmp_path / "dnc.png"
    result = invoke("viz", dnc_run, "--length", 3, "--link-step", 7, "--out", picture, exit_code=2)
    assert "no step 7" in result.output and "steps 0–6" in result.output
    assert not picture.exists()
