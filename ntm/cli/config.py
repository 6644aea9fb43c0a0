"""`ntm config`: the configuration `ntm train` would use."""

from __future__ import annotations

from typing import List

import typer

import tasks
from ntm.cli.app import app, friendly_errors
from ntm.config import MODEL_NAMES, apply_overrides, default_config


@app.command("config")
@friendly_errors
def show_config(
    task: str = typer.Argument(..., help=f"Task: {', '.join(tasks.names())}."),
    model: str = typer.Option("ntm", "--model", "-m", help=f"Model: {', '.join(MODEL_NAMES)}."),
    set_: List[str] = typer.Option([], "--set", help="Overrides as section.field=value, as for `ntm train`."),
):
    """Print the configuration `ntm train TASK` would use, as JSON."""
    tasks.get(task)
    config = apply_overrides(default_config(task, model), set_)
    print(config.to_json())
