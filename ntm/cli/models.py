"""`ntm models`: the models `--model` accepts, from the model registry."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from ntm.cli.app import app, friendly_errors


@app.command("models")
@friendly_errors
def models():
    """List the models: name, memory or not, execution paths, default lr, and what each is."""
    from ntm.model import registry

    table = Table(title="models (--model NAME)")
    for column in ("name", "memory", "paths", "lr", "what it is"):
        table.add_column(column)
    for name in registry.names():
        entry = registry.get(name)
        table.add_row(name, "yes" if entry.has_memory else "no", ", ".join(entry.paths), f"{entry.lr:g}",
                      entry.description)
    Console().print(table)  # stdout: the list is the command's output
