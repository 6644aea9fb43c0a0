"""`ntm models`: the models `--model` accepts, from the model registry."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from ntm.cli.app import app, friendly_errors


@app.command("models")
@friendly_errors
def models():
    """List the models: name, memory or not, execution paths, the tasks it has a recipe for, and what each is."""
    import tasks
    from ntm.model import registry

    table = Table(title="models (--model NAME); recipes: ntm/recipes.py")
    for column in ("name", "memory", "paths", "recipe", "what it is"):
        table.add_column(column, min_width=18 if column == "recipe" else None)  # a task's name whole
    for name in registry.names():
        entry = registry.get(name)
        recipes = [task for task in tasks.names() if entry.recipe(task)]
        recipe = ("every task" if recipes == tasks.names() else ", ".join(recipes) if recipes
                  else f"none: Adam at {entry.lr:g}")
        table.add_row(name, "yes" if entry.has_memory else "no", ", ".join(entry.paths), recipe, entry.description)
    Console().print(table)  # stdout: the list is the command's output
