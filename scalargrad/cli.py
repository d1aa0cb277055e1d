"""The `scalargrad` command: a thin layer that reads options, calls the library, renders.

Every user error is a `ScalarGradError`, caught here and printed as a short message on
stderr with exit code 2 (1 is kept for a failed check). Results go to stdout.
"""

import contextlib
import sys
from dataclasses import dataclass, field
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
    "epilog": "Inputs: --NAME VALUE or --NAME=VALUE for each input the program reads (negative numbers and "
              "1e-3 are fine); --set NAME=VALUE for a name that is also an option; --bindings FILE for a JSON "
              "object of values. Without a PROGRAM, the command continues the session (scalargrad session).",
}

FileOption = Annotated[
    Optional[Path], typer.Option("--file", "-f", metavar="PATH", help="Read the program from a file (`-` reads stdin).",
                                show_default=False)
]
SetOption = Annotated[
    Optional[list[str]],
    typer.Option("--set", metavar="NAME=VALUE", help="Give an input a value as NAME=VALUE (for names such as `json` that are options).",
                 show_default=False),
]
BindingsOption = Annotated[
    Optional[str],
    typer.Option("--bindings", metavar="FILE", help="A JSON file of input values, e.g. {\"a\": 2}; `-` reads stdin.",
                 show_default=False),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON object instead of a table.")]
PrecisionOption = Annotated[
    int, typer.Option("--precision", min=1, max=17, help="Significant digits shown in tables.")
]
OfOption = Annotated[
    Optional[str],
    typer.Option("--of", metavar="NAME", help="Differentiate this named node instead of the output.", show_default=False),
]
SessionOption = Annotated[
    Optional[Path],
    typer.Option("--session", metavar="PATH", show_default=False,
                 help="The session file to continue and save (default: $SCALARGRAD_SESSION, "
                      "else .scalargrad/session.json in the current folder)."),
]
NoSessionOption = Annotated[
    bool, typer.Option("--no-session", help="Neither continue nor save a session: use only what is given.")
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
        sys.stdout.flush()  # a reader that went away shows up here, not at interpreter exit
    except ScalarGradError as error:
        print(error.format(), file=sys.stderr)
        raise typer.Exit(error.exit_code) from None
    except BrokenPipeError:
        # `scalargrad grad ... | head`: the reader has what it wanted; not an error.
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        raise typer.Exit(0) from None


def warn(message: str) -> None:
    print(f"warning: {message}", file=sys.stderr)


def note(message: str) -> None:
    print(f"note: {message}", file=sys.stderr)


@dataclass
class Loaded:
    """A parsed program and the values of its inputs, ready to run."""

    program: object  # scalargrad.program.Program
    values: dict[str, float]
    origin: dict[str, str]  # input name -> "command line" | "bindings" | "session" | "default"
    warnings: list[str]
    session: object = None  # scalargrad.session.SessionUse: which session file, used or recorded
    extra: list[str] = field(default_factory=list)  # positionals after the program (explain's nodes)


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
        if sys.stdin.isatty():
            print("reading the program from standard input; end it with Ctrl-D", file=sys.stderr)
        return sys.stdin.read()
    if program is None:
        raise UsageError(
            "no program given",
            hint='write one: scalargrad grad "L = (a*b + c) * f" --a 2 --b -3 --c 10 --f -2 '
            "(or --file PROGRAM, or - to read standard input)",
        )
    return program


def load(ctx: typer.Context, file: Path | None, sets: list[str] | None, bindings: str | None,
         session: Path | None = None, no_session: bool = False, extra: str | None = None) -> Loaded:
    """Program text -> Program, and the input values chosen by precedence.

    With a program (argument, `-` or --file) the program and its values become the session;
    without one, the session's program and values are used (values given here override
    them for this run only). `session`/`no_session` are the --session/--no-session options;
    `extra` names what positionals after the program are, for a command that takes them.
    """
    from scalargrad import session as sessions
    from scalargrad.bindings import check_option_names, command_line_values, read_bindings, resolve, split_arguments
    from scalargrad.errors import ScalarGradError, SessionWriteError
    from scalargrad.language import parse

    command = ctx.info_name or "grad"
    options = _option_names(ctx.command)
    args = split_arguments(list(ctx.args), command, extra, options)
    if bindings == "-" and (args.program == "-" or (file is not None and str(file) == "-")):
        raise UsageError("the program and --bindings cannot both read standard input")
    use = sessions.SessionUse(sessions.resolve_path(session, disabled=no_session))
    saved = None
    if args.program is None and file is None and use.path is not None:
        saved = sessions.read(use.path)
        if saved is None:
            raise UsageError(
                "no program given, and no session to continue",
                hint='start one by giving a program: scalargrad grad "L = (a*b + c) * f" --a 2 --b -3 --c 10 --f -2 '
                f"(later commands without a program continue it; it is kept in {sessions.shown(use.path)})",
            )
        try:
            program = parse(saved.program)
        except ScalarGradError as error:
            error.message = f"the program saved in session {sessions.shown(use.path)} does not parse: {error.message}"
            error.hint = sessions.RESET_HINT
            raise
    else:
        program = parse(read_source(args.program, file))
    others = {name: other for other, cmd in (ctx.parent.command.commands.items() if ctx.parent else ())
              if other != command for name in _option_names(cmd)}
    check_option_names(args.values, program.inputs, options, others, command)
    layers = [("command line", command_line_values(args, sets or []))]
    if bindings is not None:
        layers.append(("bindings", read_bindings(bindings)))
    if saved is not None:
        layers.append(("session", saved.values))
    resolved = resolve(program.inputs, program.defaults, layers, names=program.names, options=options,
                       command=command)
    if saved is not None:
        use.used, use.session = True, saved
        overridden = [name for name, source in resolved.origin.items() if source != "session"]
        note(f"using session {sessions.shown(use.path)} ({saved.describe()}"
             + (f"; for this run {', '.join(overridden)} from the command line" if overridden else "") + ")")
    elif use.path is not None:
        try:
            use.session, previous = sessions.start(use.path, program.source, resolved.values)
            use.recorded = True
            if previous is not None and previous.history and previous.program != program.source:
                note(f"a new session replaced the one in {sessions.shown(use.path)} ({previous.describe()})")
        except SessionWriteError as error:
            resolved.warnings.append(f"the session was not saved: {error.message}")
    for message in resolved.warnings:
        warn(message)
    return Loaded(program, resolved.values, resolved.origin, resolved.warnings, use, args.extra)


def _option_names(command) -> tuple[str, ...]:
    """The long options of a command, without their dashes: `steps`, `json`, ..."""
    return tuple(opt[2:] for param in command.params for opt in param.opts if opt.startswith("--"))


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
    of: OfOption = None,
    all_: Annotated[bool, typer.Option("--all", help="Show every node, however many.")] = False,
    precision: PrecisionOption = 10,
    json_: JsonOption = False,
    session: SessionOption = None,
    no_session: NoSessionOption = False,
) -> None:
    """Show every node of the graph with its value and its gradient.

    Example: scalargrad grad "L = (a*b + c) * f" --a 2 --b -3 --c 10 --f -2
    Without a program, continues the session: scalargrad grad --a 3
    """
    from scalargrad import render

    with user_errors():
        loaded = load(ctx, file, set_, bindings, session, no_session)
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
        Optional[str], typer.Option("--nodes", metavar="NAME,...", help="Check only these named nodes, comma separated: --nodes a,d.",
                                    show_default=False)
    ] = None,
    all_: Annotated[bool, typer.Option("--all", help="Also check the unnamed sub-expressions.")] = False,
    of: OfOption = None,
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
    session: SessionOption = None,
    no_session: NoSessionOption = False,
) -> None:
    """Check every gradient numerically: nudge each node by h and compare with backprop.

    A node passes when |analytic - numeric| <= atol + rtol * |numeric|.

    Exit 0 when nothing failed, 1 when a gradient is wrong, 2 on a user error.

    Example: scalargrad check "L = (a*b + c) * f" --a 2 --b -3 --c 10 --f -2
    Without a program, checks the session's program at its current values.
    """
    from scalargrad import check as checking
    from scalargrad.render import DelayedProgress

    with user_errors():
        checking.validate_options(eps, method, atol, rtol)
        if nodes is not None and all_:
            raise UsageError("give either --nodes or --all, not both",
                             hint="--nodes picks named nodes; --all checks every node")
        loaded = load(ctx, file, set_, bindings, session, no_session)
        program = loaded.program
        target = named_node(program, of)
        chosen = None
        if nodes is not None:
            from scalargrad.bindings import name_list

            chosen = [named_node(program, name) for name in name_list(nodes, "--nodes")]
        show_bar = not json_ and sys.stderr.isatty()  # the bar goes to stderr; stdout may be a file
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


@app.command(**PROGRAM_COMMAND)
def step(
    ctx: typer.Context,
    file: FileOption = None,
    set_: SetOption = None,
    bindings: BindingsOption = None,
    lr: Annotated[float, typer.Option("--lr", help="Learning rate: each input moves by lr * its gradient.")] = 0.01,
    steps: Annotated[int, typer.Option("--steps", min=1, help="How many steps to take.")] = 1,
    descend: Annotated[
        bool, typer.Option("--descend", help="Move against the gradient (x -= lr * grad) to make the output fall.")
    ] = False,
    freeze: Annotated[
        Optional[list[str]],
        typer.Option("--freeze", metavar="NAME,...", help="Keep these inputs fixed, e.g. --freeze x,y (data, not weights).",
                     show_default=False),
    ] = None,
    every: Annotated[
        Optional[int], typer.Option("--every", min=1, help="Show the output every K steps (default: about 10 rows).",
                                    show_default=False)
    ] = None,
    plot: Annotated[
        Optional[Path], typer.Option("--plot", help="Draw the output over the steps into a .svg or .png file "
                                     "(needs: pip install 'scalargrad\\[plot]').", show_default=False)
    ] = None,
    save: Annotated[
        Optional[Path], typer.Option("--save", help="Write the new input values as JSON, for --bindings.",
                                     show_default=False)
    ] = None,
    precision: PrecisionOption = 10,
    json_: JsonOption = False,
    session: SessionOption = None,
    no_session: NoSessionOption = False,
) -> None:
    """Nudge the inputs along the gradient and run the program again, once or many times.

    Example: scalargrad step "L = (a*b + c) * f" --a 2 --b -3 --c 10 --f -2 --lr 0.01
    Without a program, nudges the session's values and saves them: scalargrad step --lr 0.01
    """
    from scalargrad import step as stepping

    with user_errors():
        stepping.check_lr(lr)
        if plot is not None:
            from scalargrad.files import check_writable
            from scalargrad.plot import plot_format, require_matplotlib

            plot_format(plot)
            require_matplotlib()
            check_writable(plot, "--plot")
        if save is not None:
            from scalargrad.files import check_writable

            check_writable(save, "--save")
        loaded = load(ctx, file, set_, bindings, session, no_session)
        from scalargrad.bindings import name_list

        frozen = stepping.check_freeze(loaded.program, name_list(freeze, "--freeze"))
        options = dict(lr=lr, steps=steps, descend=descend, freeze=frozen)

        def run(values):
            from scalargrad.render import DelayedProgress

            with DelayedProgress("stepping", enabled=not json_ and sys.stderr.isatty()) as bar:
                return stepping.run_steps(loaded.program, values, progress=lambda k: bar(k, steps), **options)

        if loaded.session is not None and loaded.session.active:
            from scalargrad import session as sessions

            history = loaded.session.session.history if loaded.session.used and loaded.session.session else []
            if history and bool(history[-1].get("descend")) != descend:
                was, now = ("descended", "ascends") if not descend else ("ascended", "descends")
                warn(f"the last step in this session {was}; this one {now}"
                     + (" (add --descend to keep descending)" if not descend else ""))

            report = sessions.run_step(
                loaded.session.path, program=loaded.program.source, values=loaded.values, origin=loaded.origin,
                run=run, outcome=lambda report: (report.final, {"lr": lr, "steps": steps, "descend": descend,
                                                                "before": report.before, "after": report.after}))
        else:
            report = run(loaded.values)
        if save is not None:
            stepping.save_values(save, report.final)
        if plot is not None:
            from scalargrad.plot import plot_history

            way = "descend" if descend else "ascend"
            plot_history(plot, report.history, output=report.output,
                         title=f"{report.output} over {steps} step{'s' if steps > 1 else ''} (lr {lr:g}, {way})")
        warnings = report.warnings()
        for message in warnings:
            warn(message)
        if json_:
            import json

            json.dump(stepping.step_json(report, loaded.warnings + warnings), sys.stdout, indent=1)
            sys.stdout.write("\n")
        else:
            stepping.print_step(report, precision, every)


def node_by_name_or_id(program, text: str):
    """A node for --node: a bound name, or the id shown by `grad` and `explain` (unnamed nodes)."""
    if text.startswith("[") and text.endswith("]"):  # as `explain` shows it: [4]
        text = text[1:-1]
    if text.isdigit() and text.isascii():
        index = int(text)
        if index >= len(program.nodes):
            raise UsageError(f"the program has no node with id {index}",
                             hint=f"ids go from 0 to {len(program.nodes) - 1}; `scalargrad grad` shows them")
        return program.nodes[index]
    return named_node(program, text)


@app.command("explain", **PROGRAM_COMMAND)
def explain_command(
    ctx: typer.Context,
    file: FileOption = None,
    set_: SetOption = None,
    bindings: BindingsOption = None,
    of: OfOption = None,
    nodes: Annotated[
        Optional[list[str]],
        typer.Option("--node", help="Explain only this node: a name, or the \\[id] shown before a node (repeatable).",
                     show_default=False),
    ] = None,
    trace: Annotated[
        bool, typer.Option("--trace", help="Show the backward pass step by step, in the order it runs.")
    ] = False,
    all_: Annotated[bool, typer.Option("--all", help="Show every node (or step), however many.")] = False,
    decimals: Annotated[
        int, typer.Option("--decimals", min=0, max=17, help="Decimals shown for each number, as the lecture's %.4f.")
    ] = 4,
    json_: JsonOption = False,
    session: SessionOption = None,
    no_session: NoSessionOption = False,
) -> None:
    """Write out the chain rule: how each node's gradient comes about, with numbers.

    For each node: dL/dnode = sum over the nodes that use it of dL/duser * duser/dnode, with
    each local derivative's formula from the op table and its value.

    Example: scalargrad explain "e = a*b; d = e + c; L = d * f" --a 2 --b -3 --c 10 --f -2 --node a
    (or name the nodes after the program: scalargrad explain "L = a * b" --a 2 --b 3 a b)
    """
    from scalargrad import explain as explaining
    from scalargrad.render import ROW_LIMIT, select_rows

    with user_errors():
        loaded = load(ctx, file, set_, bindings, session, no_session, extra="node")
        program = loaded.program
        target = named_node(program, of)
        program.run(loaded.values, of=target)
        chosen = None
        nodes = [*(nodes or []), *loaded.extra]
        if nodes:
            chosen = []
            for text in nodes:
                node = node_by_name_or_id(program, text)
                if all(node is not other for other in chosen):
                    chosen.append(node)
        if trace:
            limit = None if all_ or json_ or chosen is not None else ROW_LIMIT
            steps = explaining.backward_steps(program, target, limit)
            if chosen is not None:
                ids = {program.node_id(node) for node in chosen}
                steps = [s for s in steps if (s.target_id if s.kind == "pass" else s.node_id) in ids]
            if json_:
                explaining.write_trace_json(program, target, steps, loaded.warnings)
            else:
                total = explaining.count_steps(program, target) if limit is not None else None
                explaining.trace_table(program, target, steps, decimals, total).print()
            return
        notes: list[str] = []
        if chosen is None and not json_:
            chosen, note = select_rows(program, all_)
            notes = [note] if note else []
        items = explaining.explain(program, target, chosen)
        if json_:
            explaining.write_explain_json(program, target, items, loaded.warnings)
        else:
            explaining.explanation_lines(program, target, items, decimals, notes).print()


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
    of: OfOption = None,
    cluster: Annotated[bool, typer.Option("--cluster", help="Box each statement's nodes, titled with its text.")] = False,
    focus: Annotated[
        Optional[str], typer.Option("--focus", metavar="NODE", help="Draw only the nodes near this named node.",
                                    show_default=False)
    ] = None,
    depth: Annotated[
        Optional[int], typer.Option("--depth", min=0, help="With --focus: how many edges away to draw [default: 2].",
                                    show_default=False)
    ] = None,
    max_nodes: Annotated[int, typer.Option("--max-nodes", min=1, help="Refuse to draw more value nodes than this.")] = 500,
    plain: Annotated[bool, typer.Option("--plain", help="The lecture's picture exactly: no colours, marks or legend.")] = False,
    session: SessionOption = None,
    no_session: NoSessionOption = False,
) -> None:
    """Draw the graph with every node's value and gradient (SVG, PNG, PDF or DOT source).

    Example: scalargrad dot "e = a*b; d = e + c; L = d * f" --a 2 --b -3 --c 10 --f -2 -o graph.svg
    Without a program, draws the session's program at its current values: scalargrad dot -o graph.svg

    Renders with SCALARGRAD_DOT=/path/to/dot if set, else the bundled graphviz-pure,
    else Graphviz `dot` on PATH; without any, writes the DOT source beside the file.
    """
    from scalargrad import dot as drawing
    from scalargrad.files import check_writable

    with user_errors():
        to_stdout = output is None or output == "-"
        if not to_stdout:
            check_writable(Path(output))
        fmt = drawing.choose_format(output, format_)
        if to_stdout and fmt != "dot" and sys.stdout.isatty():
            raise UsageError(f"not writing {drawing.FORMAT_NAMES[fmt]} to the terminal",
                             hint="give a file with -o graph.svg, or --format dot to read the DOT source")
        if no_grad and of is not None:
            raise UsageError("--of chooses what to differentiate; --no-grad draws no gradients",
                             hint="drop one of them")
        if depth is not None and focus is None:
            raise UsageError("--depth needs --focus NODE", hint="e.g. --focus d --depth 1")
        loaded = load(ctx, file, set_, bindings, session, no_session)
        program = loaded.program
        target = named_node(program, of)
        if no_grad:
            program.evaluate(loaded.values)
        else:
            program.run(loaded.values, of=target)
        center = named_node(program, focus) if focus is not None else None
        try:
            graph = drawing.draw_dot(program, grad=not no_grad, of=target, plain=plain, cluster=cluster,
                                     focus=center, depth=drawing.DEFAULT_DEPTH if depth is None else depth,
                                     max_nodes=max_nodes)
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


@app.command("session")
def session_command(
    reset: Annotated[bool, typer.Option("--reset", help="Forget the session (even a damaged one).")] = False,
    precision: PrecisionOption = 10,
    json_: JsonOption = False,
    session: SessionOption = None,
) -> None:
    """Show the session: the program later commands continue, its values, the steps taken.

    A command given a program starts the session; one given none continues it.
    Example: scalargrad grad "L = (a*b + c) * f" --a 2 --b -3 --c 10 --f -2; scalargrad session
    """
    import json

    from scalargrad import session as sessions

    with user_errors():
        path = sessions.resolve_path(session)
        if reset:
            forgot = sessions.reset(path)
            if json_:
                print(json.dumps({"schema": "scalargrad.session-reset/1", "path": str(path), "forgot": forgot}))
            else:
                note(f"forgot the session in {sessions.shown(path)}" if forgot
                     else f"there was no session in {sessions.shown(path)}")
            return
        current = sessions.read(path)
        if json_:
            print(json.dumps(sessions.report_json(path, current), indent=1))
        elif current is None:
            note(f"no session in {sessions.shown(path)}; start one by giving a command a program: "
                 'scalargrad grad "L = (a*b + c) * f" --a 2 --b -3 --c 10 --f -2')
        else:
            heading, tables = sessions.report(path, current, precision)
            print("\n".join(heading))
            for table in tables:
                table.print()


def main() -> None:
    """Console entry point."""
    app()
