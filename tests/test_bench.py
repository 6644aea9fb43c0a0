"""The benchmarks' bookkeeping, on tiny budgets (the timings themselves are not tested)."""

import json

import pytest

import ntm.experiments.bench as bench
from ntm.model import fused
import ntm.training.loop as training
from ntm.training import milestones


def test_throughput_reports_every_batch_size_and_the_eval_length():
    report = bench.throughput(batch_sizes=(1, 2), paths=("reference",), seconds=0.05, sort_batch_size=None)
    assert [(r["path"], r["batch_size"]) for r in report["train"]] == [("reference", 1), ("reference", 2)]
    assert [(r["path"], r["length"]) for r in report["eval"]] == [("reference", 100)]
    assert all(r["seq_per_s"] > 0 for r in report["train"] + report["eval"])
    json.dumps(report)  # --json prints it as is


def test_speedups_are_each_path_over_reference_and_fused_over_compiled_at_the_same_size():
    report = {"train": [{"path": "reference", "batch_size": 32, "seq_per_s": 100.0},
                        {"path": "compiled", "batch_size": 32, "seq_per_s": 250.0},
                        {"path": "fused", "batch_size": 32, "seq_per_s": 1000.0}],
              "priority_sort": [{"path": "reference", "model": "ntm-ff", "batch_size": 32, "seq_per_s": 10.0},
                                {"path": "fused", "model": "ntm-ff", "batch_size": 32, "seq_per_s": 60.0}],
              "eval": [{"path": "reference", "length": 100, "seq_per_s": 40.0},
                       {"path": "compiled", "length": 100, "seq_per_s": 80.0}]}
    assert bench._speedups(report) == {
        "compiled": {"train_b32": 2.5, "eval_l100": 2.0},
        "fused": {"train_b32": 10.0, "priority_sort_ntm-ff_b32": 6.0},
        "fused_over_compiled": {"train_b32": 4.0},
    }


def test_throughput_times_the_priority_sort_machines_on_each_path():
    report = bench.throughput(batch_sizes=(), paths=("reference", "fused"), seconds=0.01, sort_batch_size=2)
    assert [(r["path"], r["model"]) for r in report["priority_sort"]] == [
        ("reference", "ntm"), ("fused", "ntm"), ("reference", "ntm-ff"), ("fused", "ntm-ff")]
    # which products the fused figures were taken with, where the extension builds
    assert report.get("fused_products") == (fused.load().products() if fused.available() else None)


@pytest.fixture
def tiny_solvable_copy(monkeypatch, tiny_copy_config):
    """time_to_solve on the tiny copy config, 'solved' at its first validation."""
    monkeypatch.setattr(bench, "default_config", lambda task, model: tiny_copy_config)
    monkeypatch.setattr(milestones, "SOLVED_BIT_ERRORS", float("inf"))
    tiny_copy_config.train.checkpoint_every = 25
    monkeypatch.setattr(bench, "SOLVE_VALIDATION_SEQUENCES", 200)  # every 50 steps of batch 4


def test_time_to_solve_trains_as_long_again_after_the_solve_and_records_each_seed(tmp_path, tiny_solvable_copy):
    summary = bench.time_to_solve(seeds=(0, 1), out_dir=tmp_path, path="reference", max_sequences=800)
    assert summary["seeds"] == 2 and summary["solved"] == 2
    for run in summary["runs"]:
        assert run["sequences"] == 50 * 4  # first validation: step 50, batch 4
        assert run["sequences_total"] == 2 * run["sequences"]
        assert run["worst_bit_errors_after_solve"] >= 0
        assert json.loads((tmp_path / f"seed{run['seed']}" / "solve.json").read_text()) == run
    assert summary["median_sequences"] == 200


def test_time_to_solve_at_another_batch_validates_after_as_many_sequences(tmp_path, tiny_solvable_copy):
    summary = bench.time_to_solve(seeds=(0,), out_dir=tmp_path, path="reference", batch_size=2, max_sequences=800,
                                  threads=2)
    run = summary["runs"][0]
    assert run["batch_size"] == 2 and run["threads"] == 2
    assert run["sequences"] == 200  # first validation: step 100 of batch 2
    assert run["sequences_total"] == 400


def test_time_to_solve_reads_measured_seeds_back_instead_of_training(tmp_path, tiny_solvable_copy, monkeypatch):
    bench.time_to_solve(seeds=(1,), out_dir=tmp_path, path="reference", max_sequences=800)

    def no_training(*args, **kwargs):
        raise AssertionError("seed 1 was measured already")

    monkeypatch.setattr(bench, "train", no_training)
    summary = bench.time_to_solve(seeds=(1,), out_dir=tmp_path, path="reference", max_sequences=800)
    assert summary["runs"][0]["seed"] == 1


def test_an_unsolved_seed_counts_as_unsolved(tmp_path, tiny_copy_config, monkeypatch):
    monkeypatch.setattr(bench, "default_config", lambda task, model: tiny_copy_config)
    monkeypatch.setattr(milestones, "SOLVED_BIT_ERRORS", -1.0)
    summary = bench.time_to_solve(seeds=(0,), out_dir=tmp_path, path="reference", max_sequences=240)
    assert summary["solved"] == 0 and "median_seconds" not in summary
