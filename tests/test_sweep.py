"""Sweeps: the grid of runs, the summary, resuming, and a real two-run sweep on local Ray.

Only the last test needs Ray (`pip install '.[cluster]'`); the others run
without it, on a stand-in that runs each task in this process.
"""

import dataclasses
import json
import sys
import types

import pytest
from typer.testing import CliRunner

from ntm.cli import app
from ntm.training.runlock import RunLock
from ntm.experiments.sweep import RAY_MISSING, parse_axes, plan_sweep, run_name, run_sweep, summarise_groups, train_run

# A copy run that trains for a few steps in a fraction of a second.
TINY = {"model.hidden_size": "8", "model.memory_size": "8", "model.memory_width": "6", "task.max_length": "3",
        "train.batch_size": "4", "train.validation_samples": "8", "train.validate_every": "2", "train.log_every": "2",
        "train.checkpoint_every": "2"}


def tiny_plan(out_dir, models=("ntm",), seeds=1, steps=4, changes=None):
    axes = {key: [value] for key, value in {**TINY, **(changes or {})}.items()}
    return plan_sweep("copy", list(models), seeds, axes=axes, out_dir=out_dir, steps=steps)


class FakeRay:
    """Just enough of Ray to run the tasks in this process and record how it was used."""

    class RayError(Exception):
        pass

    def __init__(self):
        self.exceptions = types.SimpleNamespace(RayError=self.RayError)
        self.initialised = False
        self.init_kwargs = None
        self.shutdowns = 0
        self.task_options = []

    def is_initialized(self):
        return self.initialised

    def init(self, **kwargs):
        self.initialised, self.init_kwargs = True, kwargs

    def shutdown(self):
        self.initialised, self.shutdowns = False, self.shutdowns + 1

    def remote(self, function):
        fake = self

        class Remote:
            def options(self, **options):
                fake.task_options.append(options)
                return self

            def remote(self, *args):
                return lambda: function(*args)

        return Remote()

    def wait(self, refs, num_returns):
        return refs[:num_returns], refs[num_returns:]

    def get(self, ref):
        try:
            return ref()
        except Exception as error:
            failure = self.RayError("ray::train_run() failed")
            failure.cause = error  # as on Ray's RayTaskError
            raise failure from error


@pytest.fixture
def fake_ray(monkeypatch):
    fake = FakeRay()
    monkeypatch.setitem(sys.modules, "ray", fake)
    return fake


@pytest.fixture
def no_ray(monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` now fails as if it were not installed


def test_each_set_key_becomes_an_axis_of_its_values():
    assert parse_axes(["train.lr=1e-3,3e-4", "model.memory_size=64"]) == {
        "train.lr": ["1e-3", "3e-4"], "model.memory_size": ["64"]}


@pytest.mark.parametrize("assignments, message", [
    (["train.lr"], "section.field=v1,v2"),
    (["train.lr=1e-3", "train.lr=3e-4"], "given twice"),
    (["train.lr=1e-3,,3e-4"], "empty value"),
    (["train.lr=1e-3,1e-3"], "repeats a value"),
    (["train.seed=1,2"], "--seeds"),
    (["model.name=ntm,lstm"], "--models"),
])
def test_malformed_set_is_refused_with_the_reason(assignments, message):
    with pytest.raises(ValueError, match=message):
        parse_axes(assignments)


def test_the_grid_is_every_model_value_and_seed(tmp_path):
    plan = plan_sweep("copy", ["ntm", "lstm"], 2, axes=parse_axes(["train.lr=1e-3,3e-4", "model.memory_size=64"]),
                      out_dir=tmp_path, steps=7)
    assert [run.name for run in plan.runs] == [
        "copy-ntm-train.lr=1e-3-s0", "copy-ntm-train.lr=1e-3-s1", "copy-ntm-train.lr=3e-4-s0", "copy-ntm-train.lr=3e-4-s1",
        "copy-lstm-train.lr=1e-3-s0", "copy-lstm-train.lr=1e-3-s1", "copy-lstm-train.lr=3e-4-s0", "copy-lstm-train.lr=3e-4-s1",
    ]
    run = plan.runs[3]
    assert (run.model, run.seed, run.values, run.run_dir) == ("ntm", 1, {"train.lr": "3e-4"}, tmp_path / run.name)
    assert (run.config.model.name, run.config.train.seed, run.config.train.lr) == ("ntm", 1, 3e-4)
    assert all(r.config.model.memory_size == 64 and r.config.train.steps == 7 for r in plan.runs)
    assert plan.axes == {"train.lr": ["1e-3", "3e-4"]} and plan.fixed == {"model.memory_size": "64"}


def test_a_run_without_swept_values_is_named_as_ntm_train_names_it():
    assert run_name("copy", "ntm", {}, 0) == "copy-ntm-s0"


def test_the_default_sweep_directory_is_under_runs():
    assert str(plan_sweep("copy", ["ntm"], 1).out_dir) == "runs/sweep-copy"


@pytest.mark.parametrize("models, assignments, message", [
    (["ntm", "hopfield"], [], "unknown model 'hopfield'"),
    (["ntm", "ntm"], [], "named twice"),
    (["ntm"], ["task.colour=1,2"], "has no option colour"),
    (["ntm"], ["train.lr=fast,slow"], "train.lr must be of type float"),
])
def test_a_grid_no_run_could_use_fails_before_anything_runs(tmp_path, models, assignments, message):
    with pytest.raises(ValueError, match=message):
        plan_sweep("copy", models, 1, axes=parse_axes(assignments), out_dir=tmp_path)
    assert not any(tmp_path.iterdir())


def record(model, seed, cost, errors, seconds, solved, status="trained", lr="1e-3"):
    return {"name": f"copy-{model}-s{seed}", "model": model, "seed": seed, "values": {"train.lr": lr},
            "run_dir": f"out/copy-{model}-s{seed}", "status": status, "step": 10, "seconds": seconds,
            "validation": {"cost_bits": cost, "bit_errors": errors, "seq_accuracy": 0.0},
            "solved_at": {"step": 5} if solved else None}


def test_summary_gives_median_and_range_and_solved_seeds_per_group():
    failed = {"name": "copy-ntm-s0", "model": "ntm", "seed": 0, "values": {"train.lr": "3e-4"},
              "run_dir": "out/x", "status": "failed", "error": "boom"}
    groups = summarise_groups([
        record("ntm", 0, cost=1.0, errors=0.0, seconds=10.0, solved=True),
        record("ntm", 1, cost=3.0, errors=2.0, seconds=30.0, solved=False),
        record("ntm", 2, cost=2.0, errors=0.05, seconds=20.0, solved=True, status="reused"),
        failed,
    ])
    first, second = groups
    assert (first["model"], first["values"], first["runs"], first["failed"], first["solved"]) == (
        "ntm", {"train.lr": "1e-3"}, 3, 0, 2)
    assert first["cost_bits"] == {"median": 2.0, "min": 1.0, "max": 3.0}
    assert first["bit_errors"] == {"median": 0.05, "min": 0.0, "max": 2.0}
    assert first["median_seconds"] == 20.0
    assert (second["values"], second["runs"], second["failed"], second["solved"]) == ({"train.lr": "3e-4"}, 1, 1, 0)
    assert second["cost_bits"] == {"median": None, "min": None, "max": None} and second["median_seconds"] is None


def test_a_local_ray_is_started_with_one_cpu_per_run_and_shut_down(tmp_path, fake_ray):
    summary = run_sweep(tiny_plan(tmp_path, models=("ntm", "lstm")), num_cpus=2)
    assert fake_ray.init_kwargs["num_cpus"] == 2 and fake_ray.init_kwargs["include_dashboard"] is False
    assert fake_ray.task_options == [{"num_cpus": 1, "num_gpus": 0}] * 2
    assert fake_ray.shutdowns == 1
    assert [r["status"] for r in summary["runs"]] == ["trained", "trained"]
    assert json.loads((tmp_path / "summary.json").read_text()) == summary


def test_an_address_connects_to_that_cluster(tmp_path, fake_ray):
    run_sweep(tiny_plan(tmp_path), address="ray://head:10001")
    assert fake_ray.init_kwargs["address"] == "ray://head:10001" and "num_cpus" not in fake_ray.init_kwargs


def test_a_ray_already_running_in_this_process_is_used_and_left_running(tmp_path, fake_ray):
    fake_ray.initialised = True
    run_sweep(tiny_plan(tmp_path))
    assert fake_ray.init_kwargs is None and fake_ray.shutdowns == 0


def test_a_failed_run_is_reported_and_the_others_still_train(tmp_path, fake_ray):
    plan = tiny_plan(tmp_path, seeds=2)
    plan.runs[0].run_dir.mkdir(parents=True)
    with RunLock(plan.runs[0].run_dir):  # as if another sweep were training it
        summary = run_sweep(plan)
    busy, other = summary["runs"]
    assert busy["status"] == "failed" and "already writing" in busy["error"]
    assert other["status"] == "trained" and summary["failed"] == 1
    assert summary["groups"][0]["failed"] == 1


def test_finished_runs_are_reused_without_ray(tmp_path, no_ray):
    run = tiny_plan(tmp_path).runs[0]
    train_run(dataclasses.asdict(run.config), str(run.run_dir))
    summary = run_sweep(tiny_plan(tmp_path))
    assert summary["runs"][0]["status"] == "reused" and summary["runs"][0]["step"] == 4
    assert summary["trained"] == 0 and summary["reused"] == 1


def test_a_sweep_that_must_train_without_ray_says_how_to_install_it(tmp_path, no_ray):
    with pytest.raises(ImportError, match=r"pip install 'ntm\[cluster\]'") as error:
        run_sweep(tiny_plan(tmp_path))
    assert str(error.value) == RAY_MISSING


def test_more_steps_resume_each_run_from_its_checkpoint(tmp_path, fake_ray):
    run_sweep(tiny_plan(tmp_path, steps=4))
    summary = run_sweep(tiny_plan(tmp_path, steps=6))
    run = summary["runs"][0]
    assert (run["status"], run["resumed_from_step"], run["step"]) == ("trained", 4, 6)


def test_a_run_directory_with_other_settings_is_not_resumed(tmp_path, fake_ray):
    run_sweep(tiny_plan(tmp_path))
    with pytest.raises(ValueError, match=r"other settings \(model.memory_width 6 -> 7\)"):
        tiny_plan(tmp_path, changes={"model.memory_width": "7"})


@pytest.fixture(scope="module")
def local_ray():
    # Installed by `make test` (the cluster extra); `pip install -e '.[dev]'` goes without.
    ray = pytest.importorskip("ray", reason="ray is not installed (pip install 'ntm[cluster]')")

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level="ERROR")
    yield ray
    ray.shutdown()


def test_sweep_command_trains_two_runs_on_local_ray_and_summarises_them(tmp_path, local_ray):
    args = ["sweep", "copy", "--models", "ntm,lstm", "--seeds", "1", "--steps", "4", "--out", str(tmp_path), "--json"]
    for key, value in TINY.items():
        args += ["--set", f"{key}={value}"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert [(g["model"], g["runs"], g["failed"]) for g in summary["groups"]] == [("ntm", 1, 0), ("lstm", 1, 0)]
    assert summary["trained"] == 2
    for name in ("copy-ntm-s0", "copy-lstm-s0"):
        assert json.loads((tmp_path / name / "result.json").read_text())["step"] == 4
    assert json.loads((tmp_path / "summary.json").read_text()) == summary


def test_a_run_directory_differing_only_in_reporting_settings_is_resumed(tmp_path, fake_ray):
    run_sweep(tiny_plan(tmp_path))
    summary = run_sweep(tiny_plan(tmp_path, steps=6, changes={"train.log_every": "3", "train.checkpoint_every": "3"}))
    assert summary["runs"][0]["resumed_from_step"] == 4
