"""The `scalargrad` command: a thin layer that reads options, calls the library, renders.

Every user error is a `ScalarGradError`, caught here and printed as a short message on
stderr with exit code 2 (1 is kept for a failed check). Results go to stdout.
"""

from __future__ import annotations

import contextlib
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Iterator, Optional

import typer

from scalargrad.errors import ScalarGradError, UsageError

app = typer.Typer(
    name="scalargrad",
    help="See every gradient of a small scalar program, check it numerically, nudge it, draw it.",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)

# Inputs are given as --NAME VALUE, so commands accept options they do not declare.
PROGRAM_COMMAND = {
    "context_settings": {"allow_extra_args": True, "ignore_unknown_options": True},
    "options_metavar": "[OPTIONS] [PROGRAM | -] [--NAME VALUE]...",
}

FileOption = Annotated[
    Optional[Path], typer.Option("--file", "-f", help="Read the program from a file.", show_default=False)
]
SetOption = Annotated[
    Optional[list[str]],
    typer.Option("--set", help="Give an input a value as NAME=VALUE (for names such as `json` that are options).",
                 show_default=False),
]
BindingsOption = Annotated[
    Optional[str],
    typer.Option("--bindings", help="A JSON object of input values, e.g. {\"a\": 2}; `-` reads stdin.",
                 show_default=False),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON object instead of a table.")]
PrecisionOption = Annotated[
    int, typer.Option("--precision", min=1, max=17, help="Significant digits shown in tables.")
]


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


@contextlib.contextmanager
def user_errors() -> Iterator[None]:
    """Turn a library error into a message on stderr and an exit code, never a traceback."""
    try:
        yield
    except ScalarGradError as error:
        print(error.format(), file=sys.stderr)
        raise typer.Exit(error.exit_code) from None


def warn(message: str) -> None:
    print(f"warning: {message}", file=sys.stderr)


@dataclass
class Loaded:
    """A parsed program and the values of its inputs, ready to run."""

    program: object  # scalargrad.program.Program
    values: dict[str, float]
    origin: dict[str, str]
    warnings: list[str]


def read_source(program: str | None, file: Path | None) -> str:
    if program is not None and file is not None:
        raise UsageError("give the program either as an argument or with --file, not both")
    if file is not None:
        if str(file) == "-":
            return sys.stdin.read()
        try:
            return file.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise UsageError(f"program file {file} does not exist", hint="check the path given to --file") from None
        except IsADirectoryError:
            raise UsageError(f"program file {file} is a directory", hint="give --file a text file") from None
        except UnicodeDecodeError:
            raise UsageError(f"program file {file} is not UTF-8 text") from None
        except OSError as error:
            raise UsageError(f"cannot read program file {file}: {error.strerror}") from None
    if program == "-":
        return sys.stdin.read()
    if program is None:
        raise UsageError(
            "no program given",
            hint='write one: scalargrad grad "L = (a*b + c) * f" --a 2 --b -3 --c 10 --f -2 '
            "(or --file PROGRAM, or - to read standard input)",
        )
    return program


def load(ctx: typer.Context, file: Path | None, sets: list[str] | None, bindings: str | None) -> Loaded:
    """Program text -> Program, and the input values chosen by precedence."""
    from scalargrad.bindings import command_line_values, read_bindings, resolve, split_arguments
    from scalargrad.language import parse

    args = split_arguments(list(ctx.args))
    if bindings == "-" and (args.program == "-" or (file is not None and str(file) == "-")):
        raise UsageError("the program and --bindings cannot both read standard input")
    command_line = command_line_values(args, sets or [])
    program = parse(read_source(args.program, file))
    layers = [("command line", command_line)]
    if bindings is not None:
        layers.append(("bindings", read_bindings(bindings)))
    resolved = resolve(program.inputs, program.defaults, layers)
    for message in resolved.warnings:
        warn(message)
    return Loaded(program, resolved.values, resolved.origin, resolved.warnings)


def named_node(program, name: str | None):
    """The node bound to `name` (for --of and --nodes), or the output when `name` is None."""
    if name is None:
        return program.output
    node = program.names.get(name)
    if node is None:
        from scalargrad.language import did_you_mean

        close = did_you_mean(name, program.names)
        raise UsageError(
            f"the program has no node named `{name}`" + (f"; did you mean `{close}`?" if close else ""),
            hint=f"named nodes: {', '.join(list(program.names)[:20])}",
        )
    return node


@app.command(**PROGRAM_COMMAND)
def grad(
    ctx: typer.Context,
    file: FileOption = None,
    set_: SetOption = None,
    bindings: BindingsOption = None,
    of: Annotated[
        Optional[str], typer.Option("--of", help="Differentiate this named node instead of the output.",
                                    show_default=False)
    ] = None,
    all_: Annotated[bool, typer.Option("--all", help="Show every node, however many.")] = False,
    precision: PrecisionOption = 10,
    json_: JsonOption = False,
) -> None:
    """Show every node of the graph with its value and its gradient.

    Example: scalargrad grad "L = (a*b + c) * f" --a 2 --b -3 --c 10 --f -2
    """
    from scalargrad import render

    with user_errors():
        loaded = load(ctx, file, set_, bindings)
        program = loaded.program
        target = named_node(program, of)
        program.run(loaded.values, of=target)
        if json_:
            render.write_grad_json(program, target, loaded.origin, loaded.warnings)
        else:
            render.grad_table(program, target, precision, all_).print()


@app.command(**PROGRAM_COMMAND)
def check(
    ctx: typer.Context,
    file: FileOption = None,
    set_: SetOption = None,
    bindings: BindingsOption = None,
    nodes: Annotated[
        Optional[str], typer.Option("--nodes", help="Check only these named nodes, comma separated: --nodes a,d.",
                                    show_default=False)
    ] = None,
    all_: Annotated[bool, typer.Option("--all", help="Also check the unnamed sub-expressions.")] = False,
    of: Annotated[
        Optional[str], typer.Option("--of", help="Check the gradients of this named node instead of the output.",
                                    show_default=False)
    ] = None,
    eps: Annotated[float, typer.Option("--eps", help="The step h of the finite differences.")] = 1e-6,
    method: Annotated[
        str, typer.Option("--method", help="central: (f(x+h) - f(x-h)) / 2h; forward: (f(x+h) - f(x)) / h.")
    ] = "central",
    relative_step: Annotated[
        bool, typer.Option("--relative-step", help="Scale the step to h = eps * max(1, |x|).")
    ] = False,
    atol: Annotated[float, typer.Option("--atol", help="Absolute tolerance of the pass rule.")] = 1e-5,
    rtol: Annotated[float, typer.Option("--rtol", help="Relative tolerance of the pass rule.")] = 1e-3,
    precision: PrecisionOption = 10,
    json_: JsonOption = False,
) -> None:
    """Check every gradient numerically: nudge each node by h and compare with backprop.

    A node passes when |analytic - numeric| <= atol + rtol * |numeric|.

    Exit 0 when nothing failed, 1 when a gradient is wrong, 2 on a user error.

    Example: scalargrad check "L = (a*b + c) * f" --a 2 --b -3 --c 10 --f -2
    """
    from scalargrad import check as checking
    from scalargrad.render import DelayedProgress

    with user_errors():
        checking.validate_options(eps, method, atol, rtol)
        if nodes is not None and all_:
            raise UsageError("give either --nodes or --all, not both",
                             hint="--nodes picks named nodes; --all checks every node")
        loaded = load(ctx, file, set_, bindings)
        program = loaded.program
        target = named_node(program, of)
        chosen = None
        if nodes is not None:
            names = [name.strip() for name in nodes.split(",")]
            if not all(names):
                raise UsageError(f"--nodes `{nodes}` has an empty name", hint="write names separated by commas: --nodes a,d")
            chosen = [named_node(program, name) for name in names]
        show_bar = not json_ and sys.stdout.isatty() and sys.stderr.isatty()
        with DelayedProgress("checking gradients", enabled=show_bar) as progress:
            report = checking.check_gradients(
                program, loaded.values, chosen, of=target, every=all_, eps=eps, method=method,
                relative_step=relative_step, atol=atol, rtol=rtol, progress=progress,
            )
        if json_:
            checking.write_report_json(report, loaded.warnings)
        else:
            checking.check_table(report, precision).print()
    if not report.ok:
        raise typer.Exit(1)


def main() -> None:
    """Console entry point."""
    try:
        app()
    except BrokenPipeError:  # `scalargrad grad ... | head`: the reader left, nothing is wrong
        sys.stderr.close()
        sys.exit(0)
