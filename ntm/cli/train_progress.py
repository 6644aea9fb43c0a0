"""What `ntm train` shows while it trains: a start line, then a progress bar on
a terminal, or one plain line per log point where output goes to a file."""

from __future__ import annotations

import datetime

from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from ntm.metrics import SOLVED_BIT_ERRORS
from ntm.training.milestones import RELAPSE_FACTOR
from ntm.training.solve import CONSOLIDATING_CHECKS

UNKNOWN = "—"  # shown until there is a measurement, instead of nan or 0


def start_line(data: dict) -> str:
    threads = f"{data['threads']} thread{'s' if data['threads'] != 1 else ''}"
    budget = f"{data['steps']:,} steps of {data['batch_size']} sequences ({data['steps'] * data['batch_size']:,})"
    if stopping_rule(data):
        budget += " at most"
    line = (f"training {data['task']} with {data['model']} ({data['parameters']:,} parameters): "
            f"{budget}, {threads}, {data['path']} path on {data['device']}, into {data['run_dir']}")
    if data.get("memory_size_range"):
        low, high = data["memory_size_range"]
        line += (f"; a memory of {low}-{high} locations while training, drawn per batch "
                 f"({data.get('validation_memory_size', low)} for validation, the model's own at evaluation)")
    elif data.get("memory_size"):
        validation = data.get("validation_memory_size", data["memory_size"])
        line += (f"; a memory of {data['memory_size']} locations while training"
                 + (f", {validation} for validation" if validation != data["memory_size"] else "")
                 + " (the model's own at evaluation)")
    if data["step"]:
        line += f"; resuming at step {data['step']:,}"
    elif data.get("init_from"):
        line += f", starting from the weights of {data['init_from']}"
    return line


def stops_at(data: dict) -> str | None:
    """The milestone that stops the run before its budget: "solved", "consolidated" or None."""
    by_check = data.get("solved_by", "check") == "check"
    if data.get("stop_when_solved"):
        return "solved"
    return "consolidated" if data.get("stop_when_consolidated") and by_check else None


def stopping_rule(data: dict) -> str:
    """When the run stops before its budget, as the line after the start line says it."""
    maximum = data.get("maximum", "its maximum")
    solve = (f"under {SOLVED_BIT_ERRORS} bit errors per sequence in every band of {data.get('training_range', 'the training range')} "
             f"and at {maximum}" if data.get("solved_by", "check") == "check"
             else f"under {SOLVED_BIT_ERRORS} validation bit errors per sequence")
    if stops_at(data) == "solved":
        return f"it stops once solved: {solve}"
    if stops_at(data) == "consolidated":
        return (f"it stops once consolidated: solved ({solve}), then trained on at the lower lr until "
                f"every sequence of the check is right at {CONSOLIDATING_CHECKS} checks in a row")
    return ""


class Estimate:
    """Sequences per second and time left, measured from where this process
    started training (or from the first step after compiling: compile time is not a rate)."""

    def __init__(self, step: int, sequences: int, seconds: float, steps: int):
        self.origin, self.steps, self.latest = (step, sequences, seconds), steps, None
        self.restart = False

    def compiling(self) -> None:
        self.restart = True

    def observe(self, step: int, sequences: int, seconds: float) -> None:
        if self.restart:
            self.origin, self.restart = (step, sequences, seconds), False
        self.latest = (step, sequences, seconds)

    def _measured(self):
        if self.latest is None or self.latest[0] <= self.origin[0] or self.latest[2] <= self.origin[2]:
            return None
        return [now - then for now, then in zip(self.latest, self.origin)]

    def rate(self) -> str:
        delta = self._measured()
        return f"{delta[1] / delta[2]:,.0f} seq/s" if delta else f"{UNKNOWN} seq/s"

    def eta(self) -> str:
        delta = self._measured()
        if not delta:
            return UNKNOWN
        left = max(self.steps - self.latest[0], 0) * delta[2] / delta[0]
        return str(datetime.timedelta(seconds=round(left)))


class TrainingProgress:
    """Draws the training loop's events: a rich progress bar on a terminal,
    plain unwrapped lines (one per log point) otherwise."""

    def __init__(self, console, config, enabled: bool = True):
        self.console, self.enabled = console, enabled
        self.lr_decay = config.train.lr_decay
        self.plain = enabled and not console.is_terminal
        self.progress = Progress(
            TextColumn("[bold]{task.fields[phase]}"), BarColumn(),
            TextColumn("step {task.completed:,.0f}/{task.total:,.0f}"),
            TextColumn("{task.fields[sequences]} seq"), TextColumn("cost {task.fields[cost]}"),
            TextColumn("bit err {task.fields[errors]}"), TextColumn("val {task.fields[val]}"),
            TextColumn("{task.fields[rate]}"), TimeElapsedColumn(), TextColumn("ETA {task.fields[eta]}"),
            console=console, transient=False, disable=not enabled or self.plain)
        self.bar = self.estimate = None
        self.phase, self.stops_at, self.eta_said = "learning", None, False

    def __enter__(self):
        self.progress.__enter__()
        return self

    def __exit__(self, *exc):
        self.progress.__exit__(*exc)

    def stop(self):
        self.progress.stop()

    def say(self, text: str, style: str | None = None) -> None:
        if self.enabled:
            self.progress.console.print(text, style=style, highlight=False, markup=False, soft_wrap=True)

    def event(self, kind: str, data: dict) -> None:
        handler = getattr(self, f"_on_{kind}", None)
        if handler is not None and self.enabled:
            handler(data)

    def _on_start(self, data):
        if data["no_checkpoint"]:
            self.say(f"{data['run_dir']} has no checkpoint yet (it stopped before its first one): "
                     "training again from step 0", style="yellow")
        self.say(start_line(data))
        self.stops_at = stops_at(data)
        if self.stops_at:
            self.say(stopping_rule(data))
        if data.get("consolidated"):
            self.phase = "consolidated"
        elif data.get("solved"):
            self.phase = "consolidating" if self.stops_at == "consolidated" else "solved"
        self.estimate = Estimate(data["step"], data["sequences"], data["seconds"], data["steps"])
        self.bar = self.progress.add_task("train", total=data["steps"], completed=data["step"], phase=self.phase,
                                          sequences=f"{data['sequences']:,}", cost=UNKNOWN,
                                          errors=UNKNOWN, val=UNKNOWN, rate=self.estimate.rate(), eta=UNKNOWN)

    def _on_compiling(self, data):
        self.estimate.compiling()
        self.say("compiling each step with torch.compile (20-40 s the first time; cached on disk afterwards)...")

    def _on_tick(self, data):
        self.estimate.observe(data["step"], data["sequences"], data["seconds"])
        self._say_eta()
        self.progress.update(self.bar, completed=data["step"], sequences=f"{data['sequences']:,}",
                             rate=self.estimate.rate(), eta=self.estimate.eta())

    def _on_log(self, data):
        if self.estimate.latest is None or self.estimate.latest[2] < data["seconds"]:
            self.estimate.observe(data["step"], data["sequences"], data["seconds"])
        if "cost_bits" in data:
            self.progress.update(self.bar, cost=f"{data['cost_bits']:.3f}", errors=f"{data['bit_errors']:.3f}")
        self.progress.update(self.bar, completed=data["step"], sequences=f"{data['sequences']:,}",
                             rate=self.estimate.rate(), eta=self.estimate.eta())
        self._say_eta()
        if self.plain and "cost_bits" in data:
            self.say(f"step {data['step']:,}/{self.estimate.steps:,}  {self.phase}  sequences {data['sequences']:,}  "
                     f"cost {data['cost_bits']:.3f}  bit errors {data['bit_errors']:.3f}  "
                     f"{self.estimate.rate()}  ETA {self.estimate.eta()}")

    def _on_validate(self, data):
        self.progress.update(self.bar, val=f"{data['bit_errors']:.3f}")
        if self.plain:
            stage = f" (curriculum stage {data['stage'] + 1})" if "stage" in data else ""
            check = data.get("check")
            check = (f"; solve check: worst {check['worst_bit_errors']:.3f} bit errors ({check['worst_part']}), "
                     f"at least {check['least_seq_accuracy']:.1%} right in each part" if check else "")
            self.say(f"step {data['step']:,}: validation{stage} cost {data['cost_bits']:.3f} bits, "
                     f"bit errors {data['bit_errors']:.3f} per sequence{check}")

    def _say_eta(self):
        """Once, as soon as the speed is measured: how long the whole budget takes."""
        if self.eta_said or self.estimate.eta() == UNKNOWN or self.estimate.latest[0] - self.estimate.origin[0] < 20:
            return
        self.eta_said = True
        self.say(f"at {self.estimate.rate()} the budget takes {self.estimate.eta()} more"
                 + (f", at most: the run stops sooner once {self.stops_at}" if self.stops_at else ""))

    def _on_stage_passed(self, data):
        following = "the full task" if data["stage"] + 1 == data["stages"] else f"stage {data['stage'] + 2}"
        self.say(f"curriculum stage {data['stage'] + 1} of {data['stages']} passed at step {data['step']} "
                 f"({data['sequences']:,} sequences): training on {following} from here on")

    def _on_solved(self, data):
        consolidating = self.stops_at == "consolidated"
        self.phase = "consolidating" if consolidating else "solved"
        self.progress.update(self.bar, phase=self.phase)
        then = (f"; consolidating until every sequence of the check is right at {CONSOLIDATING_CHECKS} checks "
                "in a row" if consolidating else "")
        self.say(f"solved at step {data['step']:,} ({data['sequences']:,} sequences, {_clock(data['seconds'])}): "
                 f"the learning rate is now {data['lr']:g}{_LR_SCHEDULE_AFTER_SOLVE.get(self.lr_decay, '')}{then}")

    def _on_consolidated(self, data):
        self.phase = "consolidated"
        self.progress.update(self.bar, phase=self.phase)
        self.say(f"consolidated at step {data['step']:,} ({data['sequences']:,} sequences, {_clock(data['seconds'])}): "
                 f"every sequence of the check right at {CONSOLIDATING_CHECKS} checks in a row; "
                 "these weights are the run's best")

    def _on_relapse(self, data):
        self.say(f"relapsed at step {data['step']:,} ({data['sequences']:,} sequences): validation past "
                 f"{RELAPSE_FACTOR * SOLVED_BIT_ERRORS:g} bit error per sequence after the solve; back to the best "
                 "weights, the optimiser's momentum dropped", style="yellow")

    def _on_rollback(self, data):
        self.say(f"non-finite steps in a row at step {data['from_step']}: rolled back to the checkpoint "
                 f"of step {data['step']}", style="yellow")


# How the lr goes on after the solve (ntm.training.loop.learning_rate).
_LR_SCHEDULE_AFTER_SOLVE = {
    "cosine": ", falling along a half cosine to 0 at the last step",
    "cosine_from_start": ", falling along its cosine from the first step (lr_after_solve does not apply)",
}


def _clock(seconds: float) -> str:
    return str(datetime.timedelta(seconds=round(seconds)))
