"""The default recipes are the shipped models' recipes: `ntm train TASK`
with no options trains what checkpoints/ holds, and a test says so."""

import dataclasses
import json
from pathlib import Path

import pytest

from ntm.config import FIELDS_THAT_DO_NOT_CHANGE_LEARNING, RunConfig, default_config, flatten_config

CHECKPOINTS = Path(__file__).resolve().parent.parent / "checkpoints"

# A run of each model's default recipe, by task and model. Dynamic N-grams
# ships a fine-tune of such a run (checkpoints/bases/).
DEFAULT_RUNS = {
    ("copy", "ntm-ff"): "copy-ntm-ff",  # the default model on copy
    ("copy", "ntm"): "copy-ntm",
    ("copy", "dnc"): "copy-dnc",
    ("copy", "lstm"): "copy-lstm",
    ("copy", "transformer"): "copy-transformer",
    ("repeat-copy", "ntm"): "repeat-copy-ntm",
    ("repeat-copy", "dnc-mds"): "repeat-copy-dnc-mds",
    ("associative-recall", "ntm-ff"): "associative-recall-ntm-ff",  # the default model there
    ("associative-recall", "ntm"): "associative-recall-ntm",
    ("associative-recall", "dnc"): "associative-recall-dnc",
    ("associative-recall", "transformer"): "associative-recall-transformer",
    ("dynamic-ngrams", "ntm"): "bases/dynamic-ngrams-ntm-s1",
    ("priority-sort", "ntm"): "priority-sort-ntm",
    ("priority-sort", "dnc"): "priority-sort-dnc",
    ("priority-sort", "transformer"): "priority-sort-transformer",
}
# Trained before the solve check: solved by the validation's mean, and on to the last step.
BEFORE_THE_CHECK = {"train.solved_by": "mean", "train.stop_when_consolidated": False}


def learning_fields(config: RunConfig) -> dict:
    flat = flatten_config(dataclasses.asdict(config))
    return {key: value for key, value in flat.items()
            if key not in FIELDS_THAT_DO_NOT_CHANGE_LEARNING and key != "train.seed"}


@pytest.mark.parametrize("task, model", sorted(DEFAULT_RUNS))
def test_the_shipped_run_is_the_default_recipe(task, model):
    shipped = RunConfig.from_dict(json.loads((CHECKPOINTS / DEFAULT_RUNS[task, model] / "config.json").read_text()))
    expected = learning_fields(default_config(task, model))
    if shipped.train.solved_by == "mean":
        expected.update({key: value for key, value in BEFORE_THE_CHECK.items() if key in expected})
    assert learning_fields(shipped) == expected


def test_ntm_train_with_no_model_trains_each_tasks_default_model():
    from ntm.overrides import build_run_config
    from ntm.recipes import default_model

    for task in ("copy", "associative-recall"):
        assert build_run_config(task).model.name == default_model(task) == "ntm-ff"
    others = {task for task, _ in DEFAULT_RUNS} - {"copy", "associative-recall"}
    assert {build_run_config(task).model.name for task in others} == {"ntm"}
