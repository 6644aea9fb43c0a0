"""`ntm config`: the configuration `ntm train` would use."""

from __future__ import annotations

from typing import List, Optional

import typer

import tasks
from ntm.cli.app import app, friendly_errors
from ntm.cli.options import MODEL_HELP
from ntm.config_files import format_config
from ntm.overrides import build_run_config


@app.command("config")
@friendly_errors
def show_config(
    task: str = typer.Argument(..., help=f"Task: {', '.join(tasks.names())}."),
    model: Optional[str] = typer.Option(None, "--model", "-m", help=MODEL_HELP),
    set_: List[str] = typer.Option([], "--set", help="Overrides as section.field=value, as for `ntm train`."),
    form: str = typer.Option("json", "--format", help="json or toml; `ntm train --config FILE` reads either."),
):
    """Print the configuration `ntm train TASK` would use, checked as `ntm train` checks it,
    in the sections --set names (task, curriculum, model, train)."""
    print(format_config(build_run_config(task, model, set_), form), end="" if form == "toml" else "\n")
