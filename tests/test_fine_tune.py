"""`ntm train --init-from RUN`: a run that starts from another run's best
weights (fine-tuning), and the lr schedule made for it."""

import shutil

import pytest

from ntm import checkpoint as ckpt
import ntm.training.loop as training
from ntm.config import default_config
from ntm.report import collect, markdown
from tests.test_resume import TINY, invoke  # the tiny copy run the resume tests train


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    run = tmp_path_factory.mktemp("fine-tune") / "source"
    result = invoke("train", "copy", "--steps", 6, "--out", run, *TINY)
    assert result.exit_code == 0, result.output
    return run


def test_a_fine_tuned_run_starts_from_the_best_weights_of_the_other(source, tmp_path):
    best = ckpt.Checkpoint(source / ckpt.BEST_FILE).model_state
    # An lr so small that one step moves no weight measurably: what the run
    # ends with is what it started from.
    result = invoke("train", "copy", "--steps", 1, "--lr", 1e-12, "--seed", 7, "--init-from", source,
                    "--out", tmp_path / "tuned", *TINY)
    assert result.exit_code == 0, result.output
    assert f"starting from the weights of {source}" in " ".join(result.output.split())
    tuned = ckpt.Checkpoint(tmp_path / "tuned" / ckpt.LAST_FILE).model_state
    assert tuned.keys() == best.keys()
    for name in best:
        assert (tuned[name] - best[name]).abs().max() < 1e-8, name
    assert ckpt.load_config(tmp_path / "tuned").train.init_from == str(source)
    fresh = invoke("train", "copy", "--steps", 1, "--lr", 1e-12, "--seed", 7, "--out", tmp_path / "fresh", *TINY)
    assert fresh.exit_code == 0, fresh.output
    fresh_state = ckpt.Checkpoint(tmp_path / "fresh" / ckpt.LAST_FILE).model_state
    assert any((fresh_state[name] - best[name]).abs().max() > 1e-3 for name in best)


def test_weights_of_another_model_are_refused_before_anything_is_written(source, tmp_path):
    result = invoke("train", "copy", "--steps", 2, "--init-from", source, "--out", tmp_path / "tuned",
                    *TINY, "--set", "model.hidden_size=20")
    assert result.exit_code == 2
    assert "does not fit this model" in " ".join(result.output.split())
    assert not ckpt.holds_run(tmp_path / "tuned")


def test_no_curriculum_fine_tunes_a_warm_up_run_on_the_full_task_from_the_first_step(tmp_path):
    source = tmp_path / "warmed-up"
    result = invoke("train", "copy", "--steps", 4, "--out", source, *TINY, "--set", "warmup.max_length=1")
    assert result.exit_code == 0, result.output
    assert ckpt.load_config(source).curriculum == {"max_length": [1]}
    result = invoke("train", "--config", source / "config.json", "--init-from", source, "--no-curriculum",
                    "--steps", 4, "--out", tmp_path / "tuned")
    assert result.exit_code == 0, result.output
    tuned = ckpt.load_config(tmp_path / "tuned")
    assert tuned.curriculum == {} and tuned.task_options == {"max_length": 3}
    assert all("stage" not in point for point in ckpt.read_curve(tmp_path / "tuned"))
    inherited = invoke("train", "--config", source / "config.json", "--init-from", source, "--steps", 4,
                       "--out", tmp_path / "inherited")
    assert inherited.exit_code == 0, inherited.output
    assert ckpt.load_config(tmp_path / "inherited").curriculum == {"max_length": [1]}
    assert any("stage" in point for point in ckpt.read_curve(tmp_path / "inherited"))


def test_no_curriculum_is_refused_with_a_curriculum_or_a_resume(source, tmp_path):
    for extra in (["--set", "warmup.max_length=1"], ["--resume"]):
        result = invoke("train", "copy", "--steps", 2, "--no-curriculum", "--out", tmp_path / "run", *TINY, *extra)
        assert result.exit_code == 2, result.output
        assert "--no-curriculum starts a new run" in " ".join(result.output.split())
    assert not ckpt.holds_run(tmp_path / "run")


def test_a_missing_source_is_named(tmp_path):
    result = invoke("train", "copy", "--steps", 2, "--init-from", tmp_path / "nowhere", "--out", tmp_path / "tuned",
                    *TINY)
    assert result.exit_code == 2
    assert "nowhere does not exist" in " ".join(result.output.split())


def test_cosine_from_start_falls_from_the_configured_lr_to_zero_whatever_the_solve():
    config = default_config("dynamic-ngrams").train
    config.steps, config.lr, config.lr_decay = 1000, 1e-3, "cosine_from_start"
    progress = training.Progress(step=0)
    lrs = []
    for step in (0, 500, 1000):
        progress.step = step
        lrs.append(training.learning_rate(config, progress))
    assert lrs == pytest.approx([1e-3, 5e-4, 0.0])
    progress.step, progress.solved_at = 500, {"step": 100, "sequences": 0, "seconds": 0.0}
    assert training.learning_rate(config, progress) == pytest.approx(5e-4)  # lr_after_solve does not apply


def test_results_count_the_source_runs_sequences_and_say_it_was_fine_tuned(source, tmp_path):
    tuned = tmp_path / "tuned"
    result = invoke("train", "copy", "--steps", 2, "--init-from", source, "--out", tuned, *TINY)
    assert result.exit_code == 0, result.output
    before = collect.training_budget(ckpt.read_curve(source))
    own = collect.training_budget(ckpt.read_curve(tuned))
    budget = collect.run_budget(tuned)
    assert budget["sequences"] == before["sequences"] + own["sequences"] == 6 * 4 + 2 * 4
    assert budget["seconds"] == pytest.approx(before["seconds"] + own["seconds"])
    assert budget["fine_tuned_from"] == {"run": str(source), "sequences": 24}
    assert markdown.sequences_cell(budget).startswith("32 (") and "fine-tuned for 8 after 24" in markdown.sequences_cell(budget)


def test_a_fine_tuned_run_whose_source_is_gone_says_so(source, tmp_path):
    tuned = tmp_path / "tuned"
    moved = tmp_path / "source"
    shutil.copytree(source, moved)
    assert invoke("train", "copy", "--steps", 2, "--init-from", moved, "--out", tuned, *TINY).exit_code == 0
    shutil.rmtree(moved)
    with pytest.raises(ckpt.CheckpointError, match="started from the weights of .*which is not there"):
        collect.run_budget(tuned)


def test_a_run_that_names_itself_as_its_source_is_refused_not_followed_forever(source, tmp_path):
    tuned = tmp_path / "tuned"
    assert invoke("train", "copy", "--steps", 2, "--init-from", source, "--out", tuned, *TINY).exit_code == 0
    config = ckpt.load_config(tuned)
    config.train.init_from = str(tuned)
    ckpt.save_config(tuned, config)
    with pytest.raises(ckpt.CheckpointError, match="names itself"):
        collect.run_budget(tuned)
