"""The solve check: a model whose longest copies fail now and then is not
called consolidated, though the running validation's mean calls it solved;
a model failing one band of lengths is not called solved at all; and a run
stops once consolidated."""

import json

import numpy as np
import pytest
import torch
from torch import nn

import tasks
from ntm.config import ModelConfig, RunConfig, default_config
from ntm.evaluation import evaluate_batches
from ntm.model import registry
from ntm.training import solve
from ntm.training.curriculum import validation_set
from ntm.training.loop import train
from ntm.training.solve import SolveCheck, bands


class Copier(nn.Module):
    """Copies a copy task's inputs exactly, except where `fails(length, first_vector)`:
    there its first output bit is wrong."""

    fails = staticmethod(lambda length, first: False)

    def __init__(self, input_width=9, output_width=8, config=None):
        super().__init__()
        self.config = config
        self.unused = nn.Parameter(torch.zeros(()))  # an optimiser needs something to hold

    def forward(self, inputs, memory_size=None, trace=False, lengths=None):
        logits = torch.full(inputs.shape[:2] + (8,), -10.0)
        delimiters = inputs[:, :, 8].argmax(dim=1)
        for b, length in enumerate(delimiters.tolist()):
            copy = inputs[b, :length, :8] * 20.0 - 10.0
            if self.fails(length, inputs[b, 0, :8]):
                copy[0, 0] = -copy[0, 0]
            logits[b, length + 1:2 * length + 1] = copy
        return logits + 0.0 * self.unused


def copier(fails):
    return type("FailingCopier", (Copier,), {"fails": staticmethod(fails)})()


# A copy of length 20 fails where its first vector starts with five ones: 1 in 32.
ONE_IN_32_AT_20 = staticmethod(lambda length, first: length == 20 and bool((first[:5] == 1).all()))


def check_of(task_name="copy", **options):
    config = default_config(task_name)
    return SolveCheck(tasks.get(task_name, **options), config.train, "cpu")


def test_bands_split_the_training_range_evenly():
    assert bands(1, 20) == [(1, 5), (6, 10), (11, 15), (16, 20)]
    assert bands(2, 6) == [(2, 2), (3, 3), (4, 4), (5, 6)]
    assert bands(3, 4) == [(3, 3), (4, 4)]
    assert bands(7, 7) == [(7, 7)]


def test_the_sets_cover_each_band_and_the_maximum_and_are_fixed():
    sets = check_of().sets()
    assert list(sets) == ["length 1-5", "length 6-10", "length 11-15", "length 16-20",
                          "length 20 (the training maximum)"]
    for label, (low, high) in zip(sets, bands(1, 20)):
        lengths = torch.cat([batch.lengths for batch in sets[label]]) // 2  # T = 2L + 1 steps
        assert len(lengths) == solve.SAMPLES_PER_BAND
        assert lengths.min().item() == low and lengths.max().item() == high
    at_maximum = sets["length 20 (the training maximum)"]
    assert sum(batch.batch_size for batch in at_maximum) == solve.SAMPLES_AT_MAXIMUM
    assert all(batch.steps == 41 for batch in at_maximum)
    again = check_of().sets()
    for label in sets:
        for one, other in zip(sets[label], again[label]):
            assert torch.equal(one.inputs, other.inputs)


def test_a_task_trained_on_one_size_is_checked_at_it_alone():
    assert list(check_of("priority-sort").sets()) == ["20 inputs → 16 outputs (the training maximum)"]


def test_rare_failures_at_the_maximum_pass_the_mean_but_not_consolidation():
    model = copier(ONE_IN_32_AT_20.__func__)
    config = default_config("copy")
    running = evaluate_batches(model, validation_set(tasks.get("copy"), config.train, "cpu"))
    assert running["bit_errors"] < 0.1  # the lenient judge of before
    verdict = check_of()(model, None, threshold=0.1)
    maximum = verdict.parts[verdict.maximum]
    assert 0.94 < maximum["seq_accuracy"] < 0.995  # about 1 in 32 fail
    assert verdict.solved and not verdict.consolidated
    assert verdict.summary()["least_seq_accuracy"] == pytest.approx(maximum["seq_accuracy"], abs=1e-6)


def test_one_failing_band_is_not_solved_whatever_the_maximum_does():
    model = copier(lambda length, first: length == 3)
    verdict = check_of()(model, None, threshold=0.1)
    assert not verdict.solved and not verdict.consolidated
    assert verdict.worst()[0] == "length 1-5"
    assert verdict.parts[verdict.maximum]["seq_accuracy"] == 1.0


def test_a_perfect_copier_is_consolidated():
    verdict = check_of()(copier(lambda length, first: False), None, threshold=0.1)
    assert verdict.solved and verdict.consolidated


@pytest.fixture
def copier_models():
    made = []

    def register(name, fails):
        cls = type(name, (Copier,), {"fails": staticmethod(fails)})
        registry.register(registry.ModelEntry(name, lambda i, o, c, cls=cls: cls(i, o, c), "a test copier",
                                              sizes=lambda task: {}))
        made.append(name)
        return name

    yield register
    for name in made:
        registry.unregister(name)


def _run_config(model: str) -> RunConfig:
    config = default_config("copy", model)
    config.train.steps, config.train.validate_every, config.train.log_every = 40, 10, 10
    config.train.checkpoint_every, config.train.path = 10, "reference"
    return config


def test_a_run_stops_once_consolidated_and_records_the_check(copier_models, tmp_path):
    name = copier_models("perfect-copier", lambda length, first: False)
    result = train(_run_config(name), tmp_path / "run")
    assert result.solved_at["step"] == 10
    assert result.consolidated_at["step"] == 20  # the second check in a row
    assert result.step == 20  # stopped there, 20 steps before its budget
    points = [json.loads(line) for line in (tmp_path / "run" / "curve.jsonl").read_text().splitlines()]
    checked = [p for p in points if "val_check_worst_bit_errors" in p]
    assert [p["step"] for p in checked] == [10, 20] and checked[0]["val_check_least_seq_accuracy"] == 1.0


def test_a_solved_run_that_never_consolidates_trains_its_whole_budget(copier_models, tmp_path):
    name = copier_models("rarely-failing-copier", ONE_IN_32_AT_20.__func__)
    config = _run_config(name)
    result = train(config, tmp_path / "run")
    assert result.solved_at["step"] == 10 and result.consolidated_at is None
    assert result.step == config.train.steps


def test_a_run_solved_by_the_mean_ignores_the_check(copier_models, tmp_path):
    name = copier_models("band-failing-copier", lambda length, first: length == 3)
    config = _run_config(name)
    config.train.solved_by = "mean"
    result = train(config, tmp_path / "run")
    assert result.solved_at["step"] == 10 and result.consolidated_at is None  # length 3 fails: a mean of 0.05
    checked = _run_config(name)
    assert train(checked, tmp_path / "checked").solved_at is None  # band 1-5: 0.2 bit errors per sequence


def test_a_config_saved_before_the_check_resumes_as_it_trained():
    saved = json.loads(default_config("copy").to_json())
    del saved["train"]["solved_by"], saved["train"]["stop_when_consolidated"]
    config = RunConfig.from_dict(saved)
    assert (config.train.solved_by, config.train.stop_when_consolidated) == ("mean", False)
    assert (default_config("copy").train.solved_by, ModelConfig().name) == ("check", "ntm")


def test_resuming_a_consolidated_run_trains_nothing_unless_told_to(copier_models, tmp_path):
    name = copier_models("perfect-copier-resumed", lambda length, first: False)
    config = _run_config(name)
    train(config, tmp_path / "run")
    again = train(config, tmp_path / "run", resume=True)
    assert again.already_done and again.step == 20
    config.train.stop_when_consolidated = False
    assert train(config, tmp_path / "run", resume=True).step == 40


class BreakableCopier(Copier):
    """A perfect copier until its `broken` weight is set: then every bit is wrong."""

    def __init__(self, input_width=9, output_width=8, config=None):
        super().__init__(input_width, output_width, config)
        self.broken = nn.Parameter(torch.zeros(()))

    def forward(self, inputs, memory_size=None, trace=False, lengths=None):
        logits = super().forward(inputs)
        return torch.where(self.broken.detach() > 0.5, -logits, logits) + 0.0 * self.broken


def test_a_relapse_after_the_solve_goes_back_to_the_best_weights(tmp_path, monkeypatch):
    from ntm.training import loop

    registry.register(registry.ModelEntry("breakable-copier", BreakableCopier, "a test copier", sizes=lambda t: {}))
    step = loop._optimiser_step

    def collapse_after_step_12(model, optimizer, batch, *args):
        metrics = step(model, optimizer, batch, *args)
        if args[2].step == 12:  # progress: the solve was at step 10
            model.broken.data.fill_(1.0)
        return metrics

    monkeypatch.setattr(loop, "_optimiser_step", collapse_after_step_12)
    events = []
    try:
        result = train(_run_config("breakable-copier"), tmp_path / "run",
                       on_event=lambda kind, data: events.append((kind, data)))
    finally:
        registry.unregister("breakable-copier")
    relapses = [data for kind, data in events if kind == "relapse"]
    assert [r["step"] for r in relapses] == [20]
    assert result.solved_at["step"] == 10 and result.consolidated_at["step"] == 40  # the best weights, checked twice
