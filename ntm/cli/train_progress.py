"""What `ntm train` shows while it trains: a start line, then a progress bar on
a terminal, or one plain line per log point where output goes to a file."""

from __future__ import annotations

import datetime

from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from ntm.metrics import SOLVED_BIT_ERRORS

UNKNOWN = "—"  # shown until there is a measurement, instead of nan or 0


def start_line(data: dict) -> str:
    threads = f"{data['threads']} thread{'s' if data['threads'] != 1 else ''}"
    budget = f"{data['steps']:,} steps of {data['batch_size']} sequences ({data['steps'] * data['batch_size']:,})"
    if data.get("stop_when_solved"):
        budget += ", or fewer: it stops at the first validation with bit errors below 0.1"
    line = (f"training {data['task']} with {data['model']} ({data['parameters']:,} parameters): "
            f"{budget}, {threads}, {data['path']} path on {data['device']}, into {data['run_dir']}")
    if data.get("memory_size_range"):
        low, high = data["memory_size_range"]
        line += (f"; a memory of {low}-{high} locations while training, drawn per batch "
                 f"({low} for validation, the model's own at evaluation)")
    elif data.get("memory_size"):
        line += f"; a memory of {data['memory_size']} locations while training (the model's own at evaluation)"
    if data["step"]:
        line += f"; resuming at step {data['step']:,}"
    elif data.get("init_from"):
        line += f", starting from the weights of {data['init_from']}"
    return line


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
            TextColumn("[bold]train"), BarColumn(),
            TextColumn("step {task.completed:,.0f}/{task.total:,.0f}"),
            TextColumn("{task.fields[sequences]} seq"), TextColumn("cost {task.fields[cost]}"),
            TextColumn("bit err {task.fields[errors]}"), TextColumn("val {task.fields[val]}"),
            TextColumn("{task.fields[rate]}"), TimeElapsedColumn(), TextColumn("ETA {task.fields[eta]}"),
            console=console, transient=False, disable=not enabled or self.plain)
        self.bar = self.estimate = None

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
        self.estimate = Estimate(data["step"], data["sequences"], data["seconds"], data["steps"])
        self.bar = self.progress.add_task("train", total=data["steps"], completed=data["step"],
                                          sequences=f"{data['sequences']:,}", cost=UNKNOWN,
                                          errors=UNKNOWN, val=UNKNOWN, rate=self.estimate.rate(), eta=UNKNOWN)

    def _on_compiling(self, data):
        self.estimate.compiling()
        self.say("compiling each step with torch.compile (20-40 s the first time; cached on disk afterwards)...")

    def _on_tick(self, data):
        self.estimate.observe(data["step"], data["sequences"], data["seconds"])
        self.progress.update(self.bar, completed=data["step"], sequences=f"{data['sequences']:,}",
                             rate=self.estimate.rate(), eta=self.estimate.eta())

    def _on_log(self, data):
        if self.estimate.latest is None or self.estimate.latest[2] < data["seconds"]:
            self.estimate.observe(data["step"], data["sequences"], data["seconds"])
        if "cost_bits" in data:
            self.progress.update(self.bar, cost=f"{data['cost_bits']:.3f}", errors=f"{data['bit_errors']:.3f}")
        self.progress.update(self.bar, completed=data["step"], sequences=f"{data['sequences']:,}",
                             rate=self.estimate.rate(), eta=self.estimate.eta())
        if self.plain and "cost_bits" in data:
            self.say(f"step {data['step']:,}/{self.estimate.steps:,}  sequences {data['sequences']:,}  "
                     f"cost {data['cost_bits']:.3f}  bit errors {data['bit_errors']:.3f}  "
                     f"{self.estimate.rate()}  ETA {self.estimate.eta()}")

    def _on_validate(self, data):
        self.progress.update(self.bar, val=f"{data['bit_errors']:.3f}")
        if self.plain:
            stage = f" (curriculum stage {data['stage'] + 1})" if "stage" in data else ""
            self.say(f"step {data['step']:,}: validation{stage} cost {data['cost_bits']:.3f} bits, "
                     f"bit errors {data['bit_errors']:.3f} per sequence")

    def _on_stage_passed(self, data):
        following = "the full task" if data["stage"] + 1 == data["stages"] else f"stage {data['stage'] + 2}"
        self.say(f"curriculum stage {data['stage'] + 1} of {data['stages']} passed at step {data['step']} "
                 f"({data['sequences']:,} sequences): training on {following} from here on")

    def _on_solved(self, data):
        self.say(f"solved at step {data['step']} ({data['sequences']:,} sequences): validation bit errors "
                 f"below {SOLVED_BIT_ERRORS} per sequence; the learning rate is now {data['lr']:g}"
                 f"{_LR_SCHEDULE_AFTER_SOLVE.get(self.lr_decay, '')}")

    def _on_rollback(self, data):
        self.say(f"non-finite steps in a row at step {data['from_step']}: rolled back to the checkpoint "
                 f"of step {data['step']}", style="yellow")


# How the lr goes on after the solve (ntm.training.loop.learning_rate).
_LR_SCHEDULE_AFTER_SOLVE = {
    "cosine": ", falling along a half cosine to 0 at the last step",
    "cosine_from_start": ", falling along its cosine from the first step (lr_after_solve does not apply)",
}
