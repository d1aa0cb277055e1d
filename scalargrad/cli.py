"""The `scalargrad` command: the Typer app, its commands in workflow order, and `main`.

Each command lives in its own module of `scalargrad.commands`, found there by `discover`;
what they share (options, the error edge) is in `scalargrad.commands.shared`. Every user error is a
`ScalarGradError`, printed there as a short message on stderr with exit code 2 (1 is kept
for a failed check). Results go to stdout.
"""

from typing import Annotated

import typer

from scalargrad.commands import discover
from scalargrad.commands.shared import Group

app = typer.Typer(
    name="scalargrad",
    help="See every gradient of a small scalar program, check it numerically, nudge it, draw it.",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    cls=Group,
)

for command in discover():
    app.command(**getattr(command, "settings", {}))(command)


def _print_version(value: bool) -> None:
    if value:
        from scalargrad import __version__

        print(f"scalargrad {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        bool, typer.Option("--version", callback=_print_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """See every gradient of a small scalar program, check it numerically, nudge it, draw it."""


def main() -> None:
    """Console entry point."""
    app()
