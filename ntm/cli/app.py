"""The `ntm` Typer app and its error handling.

Each command lives in a module of its own beside this one and registers onto
`app` when `ntm.cli` imports it; the option checks they share are in
`options.py`.
"""

from __future__ import annotations

import functools
import traceback
import typer
from rich.console import Console

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Neural Turing Machines and recurrent baselines on the algorithmic tasks of Graves et al. (2014).",
)
console = Console(stderr=True)
_state = {"debug": False}


@app.callback()
def main(debug: bool = typer.Option(False, "--debug", help="Show the full Python traceback when a command fails.")):
    _state["debug"] = debug


def friendly_errors(command):
    """Turn expected failures into one line on stderr and exit status 2."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except typer.Exit:
            raise
        except Exception as error:  # noqa: BLE001 - every failure becomes one readable line
            if _state["debug"]:
                traceback.print_exc()
            message = str(error) or type(error).__name__
            console.print(f"[red]error:[/red] {message}", highlight=False, soft_wrap=True)
            if not _state["debug"]:
                console.print("(run with `ntm --debug ...` for the traceback)", style="dim", highlight=False)
            raise typer.Exit(2) from None

    return wrapper


# The names `ntm/cli/train.py` imports from here; the checks live in options.py.
from ntm.cli.options import check_device as _check_device, set_positive as _set_positive  # noqa: E402, F401
