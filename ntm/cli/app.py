"""The `ntm` Typer app and its error handling.

Each command lives in a module of its own beside this one and registers onto
`app` when `ntm.cli` imports it; the option checks they share are in
`options.py`.
"""

from __future__ import annotations

import functools
import os
import sys
import traceback

import typer
from rich.console import Console

app = typer.Typer(
    add_completion=True,
    no_args_is_help=True,
    help="Neural Turing Machines and recurrent baselines on the algorithmic tasks of Graves et al. (2014).",
)
console = Console(stderr=True)
_state = {"debug": False}


# Failures caused by what the user typed or pointed at: their message says
# what to change, and a traceback would not help. Anything else is a bug or an
# environment problem, where the `--debug` traceback is worth asking for.
INPUT_ERRORS = (ValueError, OSError)


def _print_version(value: bool) -> None:
    if value:
        from ntm import __version__

        print(f"ntm {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    debug: bool = typer.Option(False, "--debug", help="Show the full Python traceback when a command fails."),
    version: bool = typer.Option(False, "--version", callback=_print_version, is_eager=True,
                                 help="Print the version of ntm and exit."),
):
    _state["debug"] = debug


def friendly_errors(command):
    """Turn expected failures into one line on stderr and exit status 2."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except typer.Exit:
            raise
        except BrokenPipeError:
            close_stdout_quietly()
            raise typer.Exit(0) from None
        except Exception as error:  # noqa: BLE001 - every failure becomes one readable line
            if _state["debug"]:
                traceback.print_exc()
            message = str(error) or type(error).__name__
            console.print(f"[red]error:[/red] {message}", highlight=False, soft_wrap=True)
            if not _state["debug"] and not isinstance(error, INPUT_ERRORS):
                console.print("(run with `ntm --debug ...` for the traceback)", style="dim", highlight=False)
            raise typer.Exit(2) from None

    return wrapper


def close_stdout_quietly() -> None:
    """The reader of our output went away (`ntm config copy | head -1`): it has
    what it wanted, so stop without an error. stdout is pointed at devnull so
    the interpreter's final flush cannot fail on the closed pipe again."""
    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())

