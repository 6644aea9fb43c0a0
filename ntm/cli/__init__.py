"""The `ntm` command line: one module per command, each registering onto `app`.

Thin: a command parses options, calls a library function and renders the
result. Only this package imports typer and rich.
"""

from ntm.cli.app import app, console, friendly_errors
# In the order `ntm --help` lists them.
from ntm.cli import train, evaluate, bench, config, results, sweep, viz  # noqa: F401, I001 - each registers its command


def run() -> None:
    """Console-script entry point."""
    app(prog_name="ntm")
