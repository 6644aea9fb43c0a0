"""`python -m ntm` is the same as the `ntm` command."""

from ntm.cli import run

run()
