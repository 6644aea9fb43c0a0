"""The default recipes are the shipped models' recipes: `ntm train TASK`
with no options trains what checkpoints/ holds, and a test says so."""

import dataclasses
import json
from pathlib import Path

import pytest

from ntm.config import FIELDS_THAT_DO_NOT_CHANGE_LEARNING, RunConfig, default_config, flatten_config

CHECKPOINTS = Path(__file__).resolve().parent.parent / "checkpoints"

# A run of the default command for each task. Dynamic N-grams ships a
# fine-tune of such a run (checkpoints/bases/); the shipped N-gram model is that.
DEFAULT_RUNS = {
    "copy": "copy-ntm",
    "repeat-copy": "repeat-copy-ntm",
    "associative-recall": "associative-recall-ntm",
    "dynamic-ngrams": "bases/dynamic-ngrams-ntm-s1",
    "priority-sort": "priority-sort-ntm",
}
# Trained before the solve check: solved by the validation's mean, and on to the last step.
BEFORE_THE_CHECK = {"train.solved_by": "mean", "train.stop_when_consolidated": False}


def learning_fields(config: RunConfig) -> dict:
    flat = flatten_config(dataclasses.asdict(config))
    return {key: value for key, value in flat.items()
            if key not in FIELDS_THAT_DO_NOT_CHANGE_LEARNING and key != "train.seed"}


@pytest.mark.parametrize("task", sorted(DEFAULT_RUNS))
def test_the_shipped_run_is_the_default_command(task):
    shipped = RunConfig.from_dict(json.loads((CHECKPOINTS / DEFAULT_RUNS[task] / "config.json").read_text()))
    expected = learning_fields(default_config(task))
    if shipped.train.solved_by == "mean":
        expected.update({key: value for key, value in BEFORE_THE_CHECK.items() if key in expected})
    assert learning_fields(shipped) == expected
