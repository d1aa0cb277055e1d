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
def dot(
    ctx: typer.Context,
    file: FileOption = None,
    set_: SetOption = None,
    bindings: BindingsOption = None,
    output: Annotated[
        Optional[str],
        typer.Option("--output", "-o", metavar="PATH",
                     help="Where to draw: graph.svg, graph.png, graph.pdf, or graph.gv / graph.dot for the DOT "
                          "source. `-` (the default) writes SVG to standard output.", show_default=False),
    ] = None,
    format_: Annotated[
        Optional[str],
        typer.Option("--format", metavar="svg|png|pdf|dot",
                     help="The format, when the -o extension does not say it (e.g. `-o - --format dot`).",
                     show_default=False),
    ] = None,
    no_grad: Annotated[bool, typer.Option("--no-grad", help="Draw the values only, without running backward.")] = False,
    of: Annotated[
        Optional[str], typer.Option("--of", help="Differentiate this named node instead of the output.",
                                    show_default=False)
    ] = None,
    cluster: Annotated[bool, typer.Option("--cluster", help="Box each statement's nodes, titled with its text.")] = False,
    focus: Annotated[
        Optional[str], typer.Option("--focus", metavar="NODE", help="Draw only the nodes near this named node.",
                                    show_default=False)
    ] = None,
    depth: Annotated[int, typer.Option("--depth", min=0, help="With --focus: how many edges away to draw.")] = 2,
    max_nodes: Annotated[int, typer.Option("--max-nodes", min=1, help="Refuse to draw more value nodes than this.")] = 500,
    plain: Annotated[bool, typer.Option("--plain", help="The lecture's picture exactly: no colours, marks or legend.")] = False,
) -> None:
    """Draw the graph with every node's value and gradient (SVG, PNG, PDF or DOT source).

    Example: scalargrad dot "e = a*b; d = e + c; L = d * f" --a 2 --b -3 --c 10 --f -2 -o graph.svg

    Renders with SCALARGRAD_DOT=/path/to/dot if set, else the bundled graphviz-pure,
    else Graphviz `dot` on PATH; without any, writes the DOT source beside the file.
    """
    from scalargrad import dot as drawing

    with user_errors():
        to_stdout = output is None or output == "-"
        if not to_stdout:
            drawing.check_target(Path(output))
        fmt = drawing.choose_format(output, format_)
        if to_stdout and fmt != "dot" and sys.stdout.isatty():
            raise UsageError(f"not writing {drawing.FORMAT_NAMES[fmt]} to the terminal",
                             hint="give a file with -o graph.svg, or --format dot to read the DOT source")
        if no_grad and of is not None:
            raise UsageError("--of chooses what to differentiate; --no-grad draws no gradients",
                             hint="drop one of them")
        if depth != 2 and focus is None:
            raise UsageError("--depth needs --focus NODE", hint="e.g. --focus d --depth 1")
        loaded = load(ctx, file, set_, bindings)
        program = loaded.program
        target = named_node(program, of)
        if no_grad:
            program.evaluate(loaded.values)
        else:
            program.run(loaded.values, of=target)
        center = named_node(program, focus) if focus is not None else None
        try:
            graph = drawing.draw_dot(program, grad=not no_grad, of=target, plain=plain, cluster=cluster,
                                     focus=center, depth=depth, max_nodes=max_nodes)
        except UsageError as error:
            if fmt == "png" and "--max-nodes" in error.hint:
                error.hint += "; a PNG of thousands of nodes is huge: SVG (-o graph.svg) stays small and zooms"
            raise
        if fmt == "png" and graph.value_nodes > drawing.PNG_LARGE:
            warn(f"a PNG of {graph.value_nodes:,} nodes is a very large image; SVG (-o graph.svg) stays small and zooms")
        source = graph.source
        lookup = drawing.find_renderers() if fmt != "dot" else None
        for problem in lookup.problems if lookup else ():
            warn(problem)
        if to_stdout:
            if fmt == "dot":
                sys.stdout.write(source)
                return
            try:
                data, _renderer = drawing.render(source, fmt, lookup)
            except drawing.NoRendererError as error:
                error.hint = "--format dot writes the DOT source to standard output; " + error.hint
                raise
            sys.stdout.flush()
            sys.stdout.buffer.write(data)
            return
        renderer = drawing.save(source, Path(output), fmt, lookup)
        how = f" with {renderer.origin}" if renderer else ""
        print(f"wrote {output}: {drawing.FORMAT_NAMES[fmt]} of {graph.value_nodes:,} nodes{how}", file=sys.stderr)


def main() -> None:
    """Console entry point."""
    try:
        app()
    except BrokenPipeError:  # `scalargrad grad ... | head`: the reader left, nothing is wrong
        sys.stderr.close()
        sys.exit(0)
