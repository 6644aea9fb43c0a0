"""Pictures: `ntm viz` and `ntm plot` write readable images of sensible size,
and the traced weightings they draw are distributions over memory locations."""

import numpy as np
import pytest
import torch
from matplotlib.image import imread
from PIL import Image
from typer.testing import CliRunner

from ntm import checkpoint as ckpt
from ntm.report import plots
from ntm.config import default_config
from ntm.evaluation import evaluate_checkpoint, load_model
from ntm.report.attention import attention_figure, describe_crop, trace_episode, used_locations
from ntm.training.loop import train


def _tiny_run(root, name, model="ntm", seed=0):
    """A copy run of 20 steps with a small model: seconds, not minutes."""
    config = default_config("copy", model)
    config.task_options["max_length"] = 5  # short episodes keep the unrolled NTM cheap
    config.model.hidden_size = 16
    config.model.layers = 1
    config.model.memory_size = 32
    config.model.memory_width = 6
    if model == "ntm":
        config.model.read_heads = config.model.write_heads = 2  # so "per head" is tested
    config.train.steps, config.train.batch_size, config.train.seed = 20, 4, seed
    config.train.log_every, config.train.validate_every, config.train.validation_samples = 5, 10, 8
    config.train.threads = 1  # tiny tensors: more threads only wait on each other
    train(config, root / name)
    return root / name


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    threads = torch.get_num_threads()  # training sets it process-wide; give it back for other tests
    try:
        return {"ntm0": _tiny_run(root, "copy-ntm-s0"), "ntm1": _tiny_run(root, "copy-ntm-s1", seed=1),
                "lstm": _tiny_run(root, "copy-lstm-s0", model="lstm")}
    finally:
        torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def cli():
    from ntm.cli import app

    runner = CliRunner()
    return lambda *args: runner.invoke(app, [str(a) for a in args])


def _png_size(path):
    image = imread(path)
    assert image.ndim == 3 and image.shape[2] in (3, 4)
    assert image[..., :3].std() > 0.01, "the image is blank"
    return image.shape[1], image.shape[0]  # width, height


def _sensible(width, height):
    return 400 <= width <= 6000 and 300 <= height <= 6000


# --- the trace behind the pictures ------------------------------------------


def test_traced_weightings_are_non_negative_and_sum_to_one_per_head_and_step(runs):
    episode = trace_episode(load_model(runs["ntm0"]), {"length": 5}, seed=3)
    for weights in (episode.read_weights, episode.write_weights):  # [T, heads, N]
        assert weights.shape == (11, 2, 32)
        assert (weights >= 0).all()
        np.testing.assert_allclose(weights.sum(-1), 1.0, atol=1e-5)


def test_trace_keeps_the_sequence_and_one_row_per_step(runs):
    episode = trace_episode(load_model(runs["ntm0"]), {"length": 5})
    assert episode.inputs.shape == (11, 9) and episode.outputs.shape == (11, 8)
    assert episode.erase.shape == episode.add.shape == (11, 2, 6)
    assert episode.memory.shape == (11, 32, 6)
    assert ((episode.outputs >= 0) & (episode.outputs <= 1)).all()
    assert episode.phase_steps() == [5]  # the delimiter


def test_tracing_a_baseline_says_only_ntms_have_memory(runs):
    with pytest.raises(ValueError, match="only NTM"):
        trace_episode(load_model(runs["lstm"]))


def test_crop_keeps_the_used_locations_across_the_wrap_around():
    weights = np.zeros((3, 1, 32))
    weights[0, 0, 0] = weights[1, 0, 31] = weights[2, 0, 30] = 1.0  # a head moving backwards from 0
    weights[2, 0, 1] = 0.5
    rows = used_locations(weights, margin=0)
    assert rows.tolist() == [30, 31, 0, 1]
    assert describe_crop(rows, 32) == "locations 30–31, 0–1 of 32"
    assert used_locations(weights, margin=1).tolist() == [29, 30, 31, 0, 1, 2]


def test_crop_shows_everything_when_weight_is_spread_or_absent():
    assert used_locations(np.full((2, 1, 16), 1 / 16)).tolist() == list(range(16))
    assert used_locations(np.zeros((2, 1, 16))).tolist() == list(range(16))
    assert describe_crop(np.arange(16), 16) == "all 16 locations"


# --- ntm viz ------------------------------------------------------------------


def test_attention_figure_is_a_readable_png(runs, tmp_path):
    episode = trace_episode(load_model(runs["ntm0"]), {"length": 6})
    path = plots.save_figure(attention_figure(episode), tmp_path / "viz.png")
    assert _sensible(*_png_size(path))


@pytest.mark.parametrize("suffix, magic", [(".svg", b"<svg"), (".pdf", b"%PDF")])
def test_viz_writes_svg_or_pdf_by_extension(runs, cli, tmp_path, suffix, magic):
    out = tmp_path / f"viz{suffix}"
    result = cli("viz", runs["ntm0"], "--length", 4, "--out", out)
    assert result.exit_code == 0, result.output
    assert magic in out.read_bytes()[:2000]


def test_viz_writes_a_png_and_a_gif_with_a_frame_per_step(runs, cli, tmp_path):
    out, gif = tmp_path / "viz.png", tmp_path / "viz.gif"
    result = cli("viz", runs["ntm0"], "--length", 4, "--seed", 2, "--out", out, "--animate", gif)
    assert result.exit_code == 0, result.output
    assert _sensible(*_png_size(out))
    with Image.open(gif) as movie:
        assert movie.n_frames == 2 * 4 + 1
        assert 300 <= movie.size[0] <= 2000


def test_viz_of_an_lstm_fails_with_one_readable_line(runs, cli, tmp_path):
    result = cli("viz", runs["lstm"], "--out", tmp_path / "x.png")
    assert result.exit_code == 2
    assert "only NTM models" in result.output
    assert not (tmp_path / "x.png").exists()


def test_viz_refuses_a_link_step_for_a_model_without_a_link_matrix(runs, cli, tmp_path):
    result = cli("viz", runs["ntm0"], "--length", 3, "--link-step", 2, "--out", tmp_path / "x.png")
    assert result.exit_code == 2
    assert "ntm traces no link matrix" in result.output and "dnc" in result.output
    assert not (tmp_path / "x.png").exists()


def _weightings(traces: dict, steps: int = 4):
    """A model's traces on a made-up sequence of `steps` steps, the last two scored."""
    from ntm.report.attention import Episode
    from ntm.report.weightings import Weightings

    nothing = np.zeros((steps, 0, 0), np.float32)
    bits = np.zeros((steps, 2), np.float32)
    episode = Episode(task="copy", model="mine", phase_channels=(), size={"length": 2}, source="test",
                      inputs=bits, targets=bits, mask=np.arange(steps) >= steps - 2, outputs=bits,
                      read_weights=nothing, write_weights=nothing, erase=nothing, add=nothing, reads=nothing,
                      memory=nothing)
    return Weightings.of(episode, {name: torch.as_tensor(value)[None] for name, value in traces.items()})


def test_a_trace_name_ending_in_as_many_names_as_rows_names_them():
    traced = _weightings({"modes (a, b)": np.full((4, 2), 0.5), "gates (x, y)": np.full((4, 3), 0.2)})
    assert traced.row_names == {"modes": ("a", "b")}  # three rows but two names: the name stays whole
    assert list(traced.weightings) == ["modes", "gates (x, y)"]


def test_memory_and_link_matrix_are_kept_whole_and_make_the_panels_over_n_locations():
    n, steps = 20, 4
    write = np.zeros((steps, n))
    write[np.arange(steps), 5 + np.arange(steps)] = 1.0  # locations 5-8, one a step
    traced = _weightings({"write": write, "attention": np.full((steps, steps), 0.25),
                          "memory": np.zeros((steps, n, 3)), "link matrix": np.zeros((steps, n, n))}, steps)
    assert list(traced.weightings) == ["write", "attention"] and traced.locations == n
    assert traced.shown_locations().tolist() == list(range(4, 10))  # the used ones, one spare each side
    assert traced.is_location_panel("write") and not traced.is_location_panel("attention")
    assert traced.link_step() == 1  # the step before the first scored one
    without_matrices = _weightings({"write": write}, steps)
    assert without_matrices.locations is None and without_matrices.link_step() is None


def test_a_link_matrix_that_is_not_square_is_refused():
    with pytest.raises(ValueError, match=r"'link matrix' must be \[B, T, N, N\]"):
        _weightings({"w": np.ones((4, 3)) / 3, "link matrix": np.zeros((4, 3, 2))})


def test_animating_a_model_that_traces_no_memory_says_its_weightings_are_in_the_figure(tmp_path):
    from ntm.report.animation import animation_of

    with pytest.raises(ValueError, match="mine traces none, only the weightings drawn in the figure"):
        animation_of(_weightings({"w": np.ones((4, 3)) / 3}), tmp_path / "x.gif")
    assert not (tmp_path / "x.gif").exists()


def test_viz_rejects_an_image_format_it_cannot_write(runs, cli, tmp_path):
    result = cli("viz", runs["ntm0"], "--out", tmp_path / "x.bmp")
    assert result.exit_code == 2
    assert ".png, .svg or .pdf" in result.output


# --- ntm plot -----------------------------------------------------------------


def test_curves_draw_seeds_of_one_setup_as_one_median(runs):
    fig = plots.learning_curves_figure([runs["ntm0"], runs["ntm1"], runs["lstm"]])
    labels = [text.get_text() for text in fig.axes[1].get_legend().get_texts()]
    assert labels[2:] == ["paper NTM ≈0", "paper LSTM ≈0.5"]
    assert labels[0].startswith("ntm · median of 2 seeds")
    assert labels[1].startswith("lstm · copy-lstm-s0")


def test_curves_take_a_logarithmic_sequences_axis_from_the_command_line(runs, cli, tmp_path):
    assert {ax.get_xscale() for ax in plots.learning_curves_figure([runs["lstm"]]).axes} == {"linear"}
    assert {ax.get_xscale() for ax in plots.learning_curves_figure([runs["lstm"]], log_x=True).axes} == {"log"}
    result = cli("plot", "curves", runs["ntm0"], runs["lstm"], "--log-x", "--out", tmp_path / "curves.png")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "curves.png").stat().st_size > 0


def test_curves_mark_where_each_curriculum_stage_ended_and_name_it_in_the_legend(tmp_path):
    config = default_config("copy", "ntm")
    config.task_options["max_length"] = 3
    config.curriculum["max_length"] = [1, 2]
    config.train.advance_below = float("inf")  # each stage ends at its first validation
    config.model.hidden_size, config.model.memory_size, config.model.memory_width = 8, 8, 4
    config.train.steps, config.train.batch_size, config.train.threads = 30, 4, 1
    config.train.log_every, config.train.validate_every, config.train.validation_samples = 5, 10, 8
    train(config, tmp_path / "run")
    fig = plots.learning_curves_figure([tmp_path / "run"])
    cost_ax = fig.axes[0]
    ends = sorted(line.get_xdata()[0] for line in cost_ax.get_lines() if line.get_linestyle() == ":")
    assert {10 * 4, 20 * 4} <= set(ends)
    assert {"stage 1 ends", "stage 2 ends"} <= {text.get_text() for text in cost_ax.texts}
    assert "curriculum max_length=[1, 2]" in cost_ax.get_legend_handles_labels()[1][0]


def _vertical_lines(ax, style):
    return [line.get_xdata()[0] for line in ax.get_lines()
            if line.get_linestyle() == style and line.get_xdata()[0] == line.get_xdata()[1]]


def test_a_run_started_from_another_runs_weights_draws_that_runs_curve_first(runs, tmp_path):
    config = ckpt.load_config(runs["ntm0"])
    config.train.init_from, config.train.steps = str(runs["ntm0"]), 10
    threads = torch.get_num_threads()
    try:
        train(config, tmp_path / "continued")
    finally:
        torch.set_num_threads(threads)
    source, own = ckpt.read_curve(runs["ntm0"]), ckpt.read_curve(tmp_path / "continued")
    seen = source[-1]["sequences"]
    run = plots.load_run(tmp_path / "continued")
    assert run.continued_at == [seen]
    assert [p["sequences"] for p in run.curve] == [p["sequences"] for p in source] + [p["sequences"] + seen for p in own]
    fig = plots.learning_curves_figure([tmp_path / "continued"])
    assert _vertical_lines(fig.axes[0], "--") == [seen]
    assert "--init-from" in {text.get_text() for text in fig.axes[0].texts}
    # A source that is not there any more: the run's own curve, alone.
    config.train.init_from = str(tmp_path / "gone")
    ckpt.save_config(tmp_path / "continued", config)
    alone = plots.load_run(tmp_path / "continued")
    assert alone.continued_at == [] and alone.curve == own


def test_plot_curves_writes_a_png_with_the_paper_levels(runs, cli, tmp_path):
    out = tmp_path / "curves.png"
    result = cli("plot", "curves", runs["ntm0"], runs["ntm1"], runs["lstm"], "--out", out)
    assert result.exit_code == 0, result.output
    assert _sensible(*_png_size(out))


def test_plot_generalisation_writes_a_png_for_ntm_against_lstm(runs, cli, tmp_path):
    out = tmp_path / "generalisation.png"
    before = torch.get_num_threads()
    try:
        result = cli("plot", "generalisation", runs["ntm0"], runs["lstm"], "--lengths", "2,4", "--samples", 4,
                     "--threads", 1, "--out", out)
        assert torch.get_num_threads() == 1  # it evaluates, so it takes --threads as `ntm eval` does
    finally:
        torch.set_num_threads(before)
    assert result.exit_code == 0, result.output
    assert _sensible(*_png_size(out))


def test_plot_generalisation_refuses_zero_threads_before_evaluating(runs, cli, tmp_path):
    result = cli("plot", "generalisation", runs["ntm0"], "--threads", 0, "--out", tmp_path / "g.png")
    assert result.exit_code != 0
    assert "--threads must be at least 1" in result.output
    assert not (tmp_path / "g.png").exists()


def test_generalisation_figure_draws_one_line_per_model_and_the_training_range(runs):
    reports = [evaluate_checkpoint(runs[name], [{"length": 2}, {"length": 4}], samples=4) for name in ("ntm0", "lstm")]
    fig = plots.generalisation_figure(reports, training={"length": (1, 20)})
    cost_ax = fig.axes[0]
    assert [line.get_label() for line in cost_ax.get_lines()] == ["ntm · copy-ntm-s0", "lstm · copy-lstm-s0"]
    assert "training range" in [text.get_text() for text in cost_ax.get_legend().get_texts()]


def test_save_figure_refuses_an_unknown_extension(tmp_path):
    from matplotlib.figure import Figure

    with pytest.raises(ValueError, match=r"\.png, \.svg or \.pdf"):
        plots.save_figure(Figure(), tmp_path / "figure.jpeg")


def test_legends_leave_out_settings_that_do_not_change_what_a_run_learns(runs, tmp_path):
    import json
    import shutil

    fast = shutil.copytree(runs["ntm1"], tmp_path / "copy-ntm-fast")
    config = json.loads((fast / "config.json").read_text())
    config["train"].update(fast=True, threads=2, log_every=7, checkpoint_every=9, device="cpu")
    (fast / "config.json").write_text(json.dumps(config))
    fig = plots.learning_curves_figure([runs["ntm0"], fast])
    labels = fig.axes[0].get_legend_handles_labels()[1]
    assert labels[0].startswith("ntm · median of 2 seeds")  # one setup: fast, threads... do not split it
    assert not any(word in label for label in labels for word in ("fast", "threads", "log_every", "checkpoint_every"))


def test_a_run_without_an_option_its_recipe_sets_is_labelled_with_the_options_default(runs, tmp_path):
    import json
    import shutil

    assert default_config("copy", "lstm").model.options == {"forget_bias": 1.0}  # the LSTM's recipe
    before = shutil.copytree(runs["lstm"], tmp_path / "copy-lstm-before")
    config = json.loads((before / "config.json").read_text())
    config["model"]["options"] = {}  # trained before the recipe set it: the class default, 0
    (before / "config.json").write_text(json.dumps(config))
    labels = [label for label in plots.learning_curves_figure([runs["lstm"], before]).axes[0]
              .get_legend_handles_labels()[1] if label.startswith("lstm")]
    assert len(labels) == 2 and "forget_bias" not in labels[0] and "forget_bias=0.0" in labels[1]


def test_curves_and_sweeps_share_one_list_of_settings_that_do_not_change_learning():
    from ntm.config import FIELDS_THAT_DO_NOT_CHANGE_LEARNING

    assert {"train.path", "train.threads", "train.device", "train.log_every"} <= FIELDS_THAT_DO_NOT_CHANGE_LEARNING
    assert plots._NOT_THE_SETUP == FIELDS_THAT_DO_NOT_CHANGE_LEARNING | {"train.seed"}


def _report(bit_errors):
    return {"task": "copy", "model": "ntm", "checkpoint": "runs/copy-ntm/best.safetensors",
            "results": [{"length": n, "samples": 10, "cost_bits": 10 * e, "bit_errors": e, "seq_accuracy": 1.0}
                        for n, e in zip((10, 20, 50), bit_errors)]}


@pytest.mark.parametrize("scale", ["symlog", "log", "linear"])
def test_generalisation_plot_draws_each_scale(scale):
    fig = plots.generalisation_figure([_report([0.0, 0.02, 30.0])], scale=scale)
    assert {ax.get_yscale() for ax in fig.axes} == {scale}


def test_generalisation_plot_is_symlog_by_default_so_small_errors_are_not_flat_on_the_axis():
    fig = plots.generalisation_figure([_report([0.0, 0.02, 30.0])])
    error_ax = fig.axes[1]
    assert error_ax.get_yscale() == "symlog"
    to_pixels = error_ax.transData.transform
    height = to_pixels((0, 30.0))[1] - to_pixels((0, 0.0))[1]
    # 0.02 of 30 on a linear axis would sit 0.07% up the axis; here it is clearly above 0.
    assert to_pixels((0, 0.02))[1] - to_pixels((0, 0.0))[1] > 0.15 * height


def test_an_unknown_scale_is_refused(runs, cli, tmp_path):
    with pytest.raises(ValueError, match="symlog, linear, log"):
        plots.generalisation_figure([_report([0.0, 1.0, 2.0])], scale="logit")
    result = cli("plot", "generalisation", runs["ntm0"], "--scale", "logit", "--out", tmp_path / "g.png")
    assert result.exit_code == 2 and "--scale must be one of symlog, linear, log" in result.output


def test_generalisation_legend_names_a_weights_file_that_is_not_the_best(runs):
    last = str(runs["ntm0"] / "last.safetensors")
    assert plots._run_name(last) == "copy-ntm-s0/last.safetensors"
    assert plots._run_name(str(runs["ntm0"] / "best.safetensors")) == "copy-ntm-s0"


def test_plot_curves_warns_and_draws_nothing_for_a_run_without_points(runs, cli, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "config.json").write_text((runs["ntm0"] / "config.json").read_text())
    out = tmp_path / "curves.png"
    result = cli("plot", "curves", empty, "--out", out)
    assert result.exit_code == 0, result.output
    assert "has no learning-curve points yet" in result.output and "was not written" in result.output
    assert not out.exists()
    result = cli("plot", "curves", empty, runs["ntm0"], "--out", out)
    assert result.exit_code == 0 and "left out" in result.output and out.is_file()


def _hidden_row_labels(fig):
    return [text.get_text() for ax in fig.axes for text in ax.texts if "hidden" in text.get_text()]


def test_attention_figure_marks_where_memory_rows_are_cropped(runs):
    import dataclasses

    traced = trace_episode(load_model(runs["ntm0"]), {"length": 3}, seed=0)
    steps, heads, n = traced.write_weights.shape
    # Heads that start at location 30 and move one location a step, across the wrap-around.
    one_hot = np.zeros((steps, heads, n), np.float32)
    one_hot[np.arange(steps), :, (30 + np.arange(steps)) % n] = 1.0
    episode = dataclasses.replace(traced, write_weights=one_hot, read_weights=one_hot)
    shown = list(range(29, 32)) + list(range(0, steps - 2 + 1))  # used 30..(30+T-1) mod 32, one spare each side
    hidden = n - len(shown)
    labels = _hidden_row_labels(attention_figure(episode))
    assert labels and set(labels) == {f"{hidden} locations hidden ({shown[-1] + 1}–28)"}
    assert _hidden_row_labels(attention_figure(episode, crop=False)) == []
