"""The `ntm` command line: one module per command, each registering onto `app`.

Thin: a command parses options, calls a library function and renders the
result. Only this package imports typer and rich.
"""

import sys

from ntm.cli.app import app, close_stdout_quietly, console, friendly_errors
# In the order `ntm --help` lists them.
from ntm.cli import train, evaluate, bench, config, models, protocol, results, sweep, viz  # noqa: F401, I001 - each registers its command


def run() -> None:
    """Console-script entry point."""
    try:
        try:
            app(prog_name="ntm")
        finally:
            sys.stdout.flush()  # inside the try, so a closed pipe is caught here and not at exit
    except BrokenPipeError:
        close_stdout_quietly()
        sys.exit(0)
