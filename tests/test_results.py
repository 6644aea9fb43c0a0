"""RESULTS.md: `ntm results` evaluates the shipped runs, sets them beside the
paper's figures and the targets of docs/tasks.md, and draws the pictures of each task."""

import contextlib
import re

import pytest

from ntm.platform_info import machine_description
import torch
from matplotlib.image import imread
from typer.testing import CliRunner

from ntm.report import collect, headline, markdown, targets
from ntm.paper import PAPER
from conftest import without_recipe
from ntm.config import default_config
from ntm.training.loop import train

SAMPLES = 8  # per size: enough to exercise every path, small enough for seconds


def _tiny_run(root, model, seed=0, name=None):
    """A copy run of a few steps with a small model, named as shipped: copy-MODEL."""
    config = without_recipe("copy", model)
    config.train.seed = seed
    config.task_options["max_length"] = 3  # short episodes keep training cheap
    config.model.hidden_size, config.model.layers = 16, 1
    config.model.memory_size, config.model.memory_width = 16, 6
    config.train.steps, config.train.batch_size = 8, 4
    config.train.log_every, config.train.validate_every, config.train.validation_samples = 2, 4, 8
    config.train.threads = 1  # tiny tensors: more threads only wait on each other
    out = root / (name or f"copy-{model}")
    train(config, out)
    return out


@contextlib.contextmanager
def _one_thread():
    """Module fixtures run before conftest's per-test thread setting; tiny
    tensors on several threads only wait on each other (and on a busy machine, long)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def shipped(tmp_path_factory):
    root = tmp_path_factory.mktemp("checkpoints")
    with _one_thread():
        _tiny_run(root, "ntm")
        _tiny_run(root, "lstm")
        _tiny_run(root, "ntm", seed=1, name="seeds/copy-ntm-s1")
        _tiny_run(root, "ntm", seed=2, name="seeds/copy-ntm-s2")
    return root


@pytest.fixture(scope="module")
def report(shipped, tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    with _one_thread():
        entries = collect.collect(shipped, samples=SAMPLES, seed=0)
        path = markdown.write_report(entries, out_dir=out, figures_dir="figures")
    return entries, path


def _section(text, task):
    return text.split(f"## {task}\n", 1)[1].split("\n## ", 1)[0]


def test_the_report_has_a_copy_section_with_both_models_and_the_paper_beside_them(report):
    _, path = report
    copy = _section(path.read_text(), "copy")
    assert "| copy-ntm (memory N=16) |" in copy and "| copy-lstm |" in copy  # the tiny runs' 16 locations
    assert "| model | sequences trained | wall-clock | size | cost_bits | bit_errors | seq_accuracy | paper's figure |" in copy
    assert "≈0 bits by ≈100k sequences" in copy  # the paper's NTM
    assert "≈0.5 bits after 600k–1M sequences" in copy  # the paper's LSTM
    assert "a few errors (memory of 128 wraps)" in copy


def test_the_report_states_the_command_machine_and_seed(report):
    text = report[1].read_text()
    assert f"--samples {SAMPLES}" in text.splitlines()[2]
    assert "torch" in text.splitlines()[2]  # the machine description
    assert "evaluation seed 0" in text


def test_each_copy_run_gets_a_sentence_per_spec_target(report):
    copy = _section(report[1].read_text(), "copy")
    for name in ("copy-ntm", "copy-lstm"):
        for target in ("bit errors < 0.1 per sequence at every length 1–20", "bit errors ≤ 1 per sequence at length 100"):
            assert re.search(rf"^- {name} (meets|does not meet) the target {target} \(", copy, re.MULTILINE), target


def test_copy_is_evaluated_at_every_training_length_and_beyond_the_memory(report):
    entries, _ = report
    ntm = next(e for e in entries if e["model"] == "ntm")
    lengths = [r["length"] for r in ntm["results"]]
    assert lengths[:20] == list(range(1, 21))
    assert {30, 50, 100, 120} <= set(lengths)
    beyond = [r for r in ntm["results"] if r["memory_size"] is not None]
    assert [(r["length"], r["memory_size"]) for r in beyond] == [(200, 256)]
    assert all(r["samples"] == SAMPLES for r in ntm["results"])
    assert "length 200, memory N=256 (trained with 16)" in report[1].read_text()


def test_the_budget_comes_from_the_learning_curve(report):
    entries, _ = report
    for entry in entries:
        assert entry["budget"]["steps"] == 8 and entry["budget"]["sequences"] == 32
        assert entry["budget"]["machine"] == machine_description()  # recorded by ntm.train
    assert f"copy-ntm: {machine_description()}" in report[1].read_text()


def test_the_three_pictures_exist_as_readable_pngs_and_are_linked(report):
    _, path = report
    copy = _section(path.read_text(), "copy")
    for name in ("copy-curves.png", "copy-generalisation.png", "copy-attention.png"):
        assert f"](figures/{name})" in copy
        image = imread(path.parent / "figures" / name)
        assert image.ndim == 3 and image[..., :3].std() > 0.01, f"{name} is blank"


def test_tasks_without_a_checkpoint_are_listed_as_not_shipped(report):
    text = report[1].read_text()
    for task in ("repeat-copy", "associative-recall", "dynamic-ngrams", "priority-sort"):
        assert f"No checkpoint for {task} is shipped yet" in _section(text, task)


def test_evaluation_is_reproducible(shipped, report):
    again = collect.collect(shipped, samples=SAMPLES, seed=0)
    assert [e["results"] for e in again] == [e["results"] for e in report[0]]


def test_solved_at_is_the_first_validation_below_a_tenth_of_a_bit():
    curve = [{"step": 2, "sequences": 64, "seconds": 1.0, "cost_bits": 9.0},
             {"step": 4, "sequences": 128, "seconds": 2.0, "val_bit_errors": 0.5},
             {"step": 6, "sequences": 192, "seconds": 3.0, "val_bit_errors": 0.05},
             {"step": 8, "sequences": 256, "seconds": 4.5, "val_bit_errors": 0.0}]
    budget = collect.training_budget(curve)
    assert budget == {"steps": 8, "sequences": 256, "seconds": 4.5, "consolidated_at": None,
                      "solved_at": {"step": 6, "sequences": 192, "seconds": 3.0}, "stages_passed_at": []}
    assert collect.training_budget([])["sequences"] is None


def test_a_run_with_the_solve_check_is_solved_and_consolidated_by_it():
    def point(step, mean, worst, least):
        return {"step": step, "sequences": 32 * step, "seconds": step / 10, "val_bit_errors": mean,
                "val_check_worst_bit_errors": worst, "val_check_least_seq_accuracy": least}

    curve = [point(2, 0.05, 0.3, 0.95),  # the mean alone would call this solved
             point(4, 0.0, 0.05, 0.99),  # solved: every part under 0.1
             point(6, 0.0, 0.0, 1.0),  # every sequence right: the first of two
             point(8, 0.0, 0.002, 0.998),  # one wrong: the count starts again
             point(10, 0.0, 0.0, 1.0), point(12, 0.0, 0.0, 1.0)]
    budget = collect.training_budget(curve)
    assert budget["solved_at"]["step"] == 4 and budget["consolidated_at"]["step"] == 12
    assert markdown.sequences_cell(budget) == "384 (solved at 128; consolidated at 384)"


def test_a_passed_curriculum_stage_is_not_the_task_solved():
    curve = [{"step": 2, "sequences": 64, "seconds": 1.0, "val_bit_errors": 0.0, "stage": 0},
             {"step": 4, "sequences": 128, "seconds": 2.0, "val_bit_errors": 3.0},
             {"step": 6, "sequences": 192, "seconds": 3.0, "val_bit_errors": 0.05}]
    budget = collect.training_budget(curve)
    assert budget["stages_passed_at"] == [{"step": 2, "sequences": 64, "seconds": 1.0}]
    assert budget["solved_at"] == {"step": 6, "sequences": 192, "seconds": 3.0}
    assert markdown.sequences_cell(budget) == "192 (warm-up solved at 64; solved at 192)"
    curve[1]["stage"] = 1  # a second stage, passed at step 4
    budget = collect.training_budget(curve)
    assert markdown.sequences_cell(budget) == "192 (curriculum stages passed at 64, 128; solved at 192)"


def test_repeat_copy_targets_are_solved_at_the_training_maximum_and_one_bit_at_20_x_10():
    def at(length, repeats, bit_errors):
        return {"size": {"length": length, "repeats": repeats}, "memory_size": None, "bit_errors": bit_errors}

    checks = targets.check_targets("repeat-copy", [at(10, 10, 0.02), at(20, 10, 4.0), at(10, 20, 9.0)])
    assert [(t["met"], t["measured"]) for t in checks] == [(True, "0.020"), (False, "4.000")]
    assert "10 × 10" in checks[0]["target"] and "20 × 10" in checks[1]["target"]


def test_a_machine_recorded_in_the_run_is_reported(tmp_path):
    assert collect.recorded_machine(tmp_path, {}, [{"step": 1}]) == collect.NOT_RECORDED
    assert collect.recorded_machine(tmp_path, {}, [{"machine": "1x H100"}]) == "1x H100"
    (tmp_path / collect.MACHINE_FILE).write_text("1x NVIDIA H200\n")
    assert collect.recorded_machine(tmp_path, {}, []) == "1x NVIDIA H200"


def test_paper_figures_cover_every_task_and_the_paper_models():
    import tasks

    assert set(PAPER) == set(tasks.names())
    for task, facts in PAPER.items():
        assert {"ntm", "ntm-ff", "lstm"} == set(facts.figures) == set(facts.model_sizes)
        assert all("training" in figures for figures in facts.figures.values()), task
        assert facts.levels, task


def test_the_command_writes_the_report(shipped, tmp_path):
    from ntm.cli import app

    result = CliRunner().invoke(app, ["results", "--checkpoints", str(shipped), "--samples", "2", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    text = (tmp_path / "RESULTS.md").read_text()
    assert f"`ntm results --checkpoints {shipped} --samples 2 --out {tmp_path}`" in text
    assert (tmp_path / "docs" / "results" / "copy-generalisation.png").is_file()


def test_the_command_names_a_missing_checkpoints_folder(tmp_path):
    from ntm.cli import app

    result = CliRunner().invoke(app, ["results", "--checkpoints", str(tmp_path / "nowhere")])
    assert result.exit_code == 2
    assert "nowhere is not a directory" in result.output


def test_seeds_are_reported_beside_the_shipped_run_with_their_median(report):
    entries, path = report
    ntm = next(e for e in entries if e["name"] == "copy-ntm")
    assert [(row["seed"], row["shipped"]) for row in ntm["seeds"]] == [(0, True), (1, False), (2, False)]
    shipped_l100 = next(r for r in ntm["results"] if r["length"] == 100 and r["memory_size"] is None)
    assert ntm["seeds"][0]["headline"] == shipped_l100["bit_errors"]
    median = sorted(row["headline"] for row in ntm["seeds"])[1]
    copy = _section(path.read_text(), "copy")
    assert "Seeds of copy-ntm, trained alike:" in copy and "| 0 (shipped) | 32 |" in copy
    assert f"the median bit_errors at length 100 is {median:.3f}." in copy
    lstm = next(e for e in entries if e["name"] == "copy-lstm")
    assert len(lstm["seeds"]) == 1 and "Seeds of copy-lstm" not in copy
    assert [e["name"] for e in entries] == ["copy-ntm", "copy-lstm"]  # seeds are not shipped models


def test_a_seed_without_weights_is_reported_from_its_recorded_evaluation(report, shipped, tmp_path):
    import json
    import shutil

    from ntm.evaluation import evaluate_checkpoint

    entries, _ = report
    seed_2 = next(row for row in next(e for e in entries if e["name"] == "copy-ntm")["seeds"] if row["seed"] == 2)
    root = tmp_path / "checkpoints"
    shutil.copytree(shipped, root)
    record = root / "seeds" / "copy-ntm-s2"
    with _one_thread():
        recorded = evaluate_checkpoint(record, [{"length": 100}], samples=SAMPLES, seed=0)
    (record / collect.SEED_RECORD).write_text(json.dumps(recorded))
    for weights in record.glob("*.safetensors"):
        weights.unlink()
    with _one_thread():
        again = collect.collect(root, samples=SAMPLES, seed=0)
    rows = next(e for e in again if e["name"] == "copy-ntm")["seeds"]
    assert next(row for row in rows if row["seed"] == 2) == seed_2
    size, evaluation = {"length": 100}, {"samples": SAMPLES, "seed": 0}
    with pytest.raises(ValueError, match="evaluation seed 0"):
        collect.recorded_result(record, size, {"samples": SAMPLES, "seed": 1})
    with pytest.raises(ValueError, match="no result at"):
        collect.recorded_result(record, {"length": 50}, evaluation)
    (record / collect.SEED_RECORD).unlink()
    with pytest.raises(ValueError, match="neither best.safetensors nor eval.json"):
        collect.recorded_result(record, size, evaluation)


def test_seed_summary_counts_solved_seeds_and_takes_medians():
    rows = [{"solved_at": 100, "headline": 0.5}, {"solved_at": None, "headline": 9.0},
            {"solved_at": 300, "headline": 0.1}]
    assert collect.seed_summary(rows) == {"seeds": 3, "solved": 2, "median_solved_at": 200,
                                          "median_headline": 0.5}


def test_the_checkpoints_readme_is_linked_when_there_is_one(shipped, report, tmp_path):
    entries, path = report
    assert "What was tried" not in path.read_text() and "checkpoints/README.md" not in path.read_text()
    (shipped / "README.md").write_text("# how each run was trained\n")
    try:
        linked = markdown.write_report(entries, out_dir=tmp_path, figures_dir="figures").read_text()
    finally:
        (shipped / "README.md").unlink()
    link = re.search(r"what was tried where a target is missed: \[(.+?)\]\((.+?)\)", linked)
    assert link and link.group(1) == link.group(2)
    assert (tmp_path / link.group(2)).resolve() == (shipped / "README.md").resolve()


def test_the_readme_headline_table_follows_the_report(report, tmp_path):
    entries, _ = report
    readme = tmp_path / "README.md"
    readme.write_text(f"# Title\n\nbefore\n\n{headline.START_MARK}\n| stale | table |\n{headline.END_MARK}\n\nafter\n")
    assert headline.update_readme(readme, entries)
    text = readme.read_text()
    assert "stale" not in text and text.startswith("# Title\n\nbefore\n") and text.endswith("\nafter\n")
    rows = [line for line in text.splitlines() if line.startswith("| copy")]
    ntm = next(e for e in entries if e["model"] == "ntm")
    lstm = next(e for e in entries if e["model"] == "lstm")
    expected_ntm = targets.result_at(ntm["results"], length=100)["bit_errors"]
    expected_lstm = targets.result_at(lstm["results"], length=100)["bit_errors"]
    # The tiny runs keep 16 locations, not the paper's 128, and the row says so.
    header = next(line for line in text.splitlines() if line.startswith("| task, size"))
    assert header == "| task, size: measure | " + " | ".join(headline.default_columns(entries)) + " | paper's NTM |"
    columns = header.strip("|").split(" | ")
    assert columns.index("ntm") < columns.index("lstm")
    cells = rows[0].strip("| ").split(" | ")
    # The tiny runs keep 16 locations, not the paper's 128, and the cell says so.
    assert cells[columns.index("ntm")] == f"{expected_ntm:.3f} (memory N=16)"
    assert cells[columns.index("lstm")] == f"{expected_lstm:.3f}"
    assert cells[-1] == "copied (after training on ≤20)"


def test_the_headline_table_takes_any_set_of_models(report):
    entries, _ = report
    table = headline.headline_table(entries, models=["lstm", "my-model"])
    assert table[0] == "| task, size: measure | lstm | my-model | paper's NTM |"
    assert all(row.split(" | ")[2] == "—" for row in table[2:])


def test_a_column_shows_a_variant_of_its_model_that_has_no_column_of_its_own(report):
    entries, _ = report
    ntm = next(e for e in entries if e["model"] == "ntm")
    variant = {**ntm, "model": "ntm-variant", "name": "copy-ntm-variant"}
    others = [e for e in entries if e["model"] != "ntm"]
    cells = headline.headline_table(others + [variant], models=["ntm", "lstm"])[2].split(" | ")
    assert cells[1].endswith(" (ntm-variant)")
    figure = cells[1].removesuffix(" (ntm-variant)")
    # A variant with a column of its own stays in it.
    cells = headline.headline_table(others + [variant], models=["ntm", "ntm-variant", "lstm"])[2].split(" | ")
    assert cells[1] == "—" and cells[2] == figure


def test_a_readme_without_the_markers_is_left_alone(report, tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text("# Title\n")
    assert not headline.update_readme(readme, report[0])
    assert readme.read_text() == "# Title\n"


def test_seeds_of_a_task_without_a_solve_show_no_solve_column():
    rows = [{"seed": s, "run": f"r{s}", "shipped": s == 1, "sequences": 100, "seconds": 1.0, "solved_at": None,
             "headline": 131.0 + s} for s in range(3)]
    ngrams = "\n".join(markdown._seed_lines({"task": "dynamic-ngrams", "name": "dynamic-ngrams-ntm", "seeds": rows}))
    assert "solved" not in ngrams and "| 1 (shipped) | 100 | 132.000 |" in ngrams
    assert "3 seeds; the median cost_bits at 200 bits is 132.000." in ngrams
    copy = "\n".join(markdown._seed_lines({"task": "copy", "name": "copy-ntm", "seeds": rows}))
    assert "| 1 (shipped) | 100 | not solved | 132.000 |" in copy and "0 of 3 seeds solved the task" in copy


def test_a_run_trained_with_a_smaller_memory_says_so_beside_a_larger_one(report):
    entries, _ = report
    assert {e["model"]: e["trained_memory_size"] for e in entries if e["task"] == "copy"} == {"ntm": 16, "lstm": None}
    entry = dict(next(e for e in entries if e["model"] == "ntm"))
    entry["trained_memory_size"] = 8  # as a run with train.memory_size=8 records it
    labels = [label for label, _, _ in markdown._rows(entry)]
    assert "length 200, memory N=256 (trained with 8)" in labels
    entry["trained_memory_size_max"] = 24  # and one whose batches drew 8-24 locations
    labels = [label for label, _, _ in markdown._rows(entry)]
    assert "length 200, memory N=256 (trained with 8–24)" in labels


def test_a_memory_other_than_the_papers_is_named_beside_the_model():
    assert collect.model_label({"name": "repeat-copy-ntm-ff", "memory_size": 256}) == "repeat-copy-ntm-ff (memory N=256)"
    assert collect.model_label({"name": "copy-ntm", "memory_size": 128}) == "copy-ntm"
    assert collect.model_label({"name": "copy-lstm", "memory_size": None}) == "copy-lstm"
    ranged = {"name": "repeat-copy-ntm-ff", "memory_size": 512, "trained_memory_size": 256,
              "trained_memory_size_max": 768}
    assert collect.model_label(ranged) == "repeat-copy-ntm-ff (memory N=512, trained with 256–768)"
