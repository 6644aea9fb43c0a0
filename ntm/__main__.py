"""`python -m ntm` is the same as the `ntm` command."""

from .cli import run

run()
