"""`scalargrad dot`: the graph drawn with every node's value and gradient."""

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from scalargrad.commands.shared import OfOption, load, note, program_command, warn
from scalargrad.errors import UsageError

PAGE_LARGE = 20_000_000  # bytes of a page past which opening it is slow enough to say so
ORDER = 50  # place in `scalargrad --help`

OutputOption = Annotated[
    Optional[str],
    typer.Option("--output", "-o", metavar="PATH",
                 help="Where to draw: graph.svg, graph.png, graph.pdf, graph.gv / graph.dot for the DOT "
                      "source, or graph.html for a page to explore in a browser. `-` (the default) writes SVG "
                      "to standard output.", show_default=False),
]
FormatOption = Annotated[
    Optional[str],
    typer.Option("--format", metavar="svg|png|pdf|dot|html",
                 help="The format, when the -o extension does not say it (e.g. `-o - --format dot`).",
                 show_default=False),
]
NoGradOption = Annotated[bool, typer.Option("--no-grad", help="Draw the values only, without running backward.")]
ClusterOption = Annotated[bool, typer.Option("--cluster", help="Box each statement's nodes, titled with its text.")]
FocusOption = Annotated[
    Optional[str], typer.Option("--focus", metavar="NODE", help="Draw only the nodes near this node.",
                                show_default=False)
]
DepthOption = Annotated[
    Optional[int], typer.Option("--depth", metavar="K", min=0, help="With --focus: how many edges away to draw (default 2).",
                                show_default=False)
]
MaxNodesOption = Annotated[int, typer.Option("--max-nodes", metavar="N", min=1, help="Refuse to draw more value nodes than this "
                                                                    "(a page lists them in a table instead).")]
PlainOption = Annotated[bool, typer.Option("--plain", help="The lecture's picture exactly: no colours, marks or legend.")]
QuizOption = Annotated[bool, typer.Option("--quiz", help="With -o quiz.html: a page that hides the gradients behind "
                                                         "input boxes and grades them, with the quiz's hints (see quiz.md).")]


@program_command()
def dot(
    request,
    output: OutputOption = None,
    format_: FormatOption = None,
    no_grad: NoGradOption = False,
    of: OfOption = None,
    cluster: ClusterOption = False,
    focus: FocusOption = None,
    depth: DepthOption = None,
    max_nodes: MaxNodesOption = 500,
    plain: PlainOption = False,
    quiz: QuizOption = False,
) -> None:
    """Draw the graph with every node's value and gradient (SVG, PNG, PDF, DOT, or an interactive HTML page).

    Example: scalargrad dot "e = a*b; d = e + c; L = d * f" --a 2 --b -3 --c 10 --f -2 -o graph.svg
    A page with sliders, the chain rule and the backward pass step by step: -o graph.html
    Without a program, draws the session's program at its current values: scalargrad dot -o graph.svg

    Renders with SCALARGRAD_DOT=/path/to/dot if set, else the bundled graphviz-pure,
    else Graphviz `dot` on PATH; without any, writes the DOT source beside the file.
    """
    from scalargrad import renderers
    from scalargrad.dot import DEFAULT_DEPTH, draw_program

    to_stdout = output is None or output == "-"
    fmt = renderers.choose_format(output, format_, terminal=to_stdout and sys.stdout.isatty())
    if no_grad and of is not None:
        raise UsageError("--of chooses what to differentiate; --no-grad draws no gradients", hint="drop one of them")
    if no_grad and fmt == "html":
        raise UsageError("the page shows gradients: it always runs backward", hint="drop --no-grad")
    if depth is not None and focus is None:
        raise UsageError("--depth needs --focus NODE", hint="e.g. --focus d --depth 1")
    if quiz:  # the quiz page: scalargrad.quiz_page
        from scalargrad.quiz_page import check_options, page_for

        check_options(fmt, no_grad=no_grad, focus=focus)
        page = page_for(load(request), output, of=of, cluster=cluster, max_nodes=max_nodes)
        for problem in page.warnings:
            warn(problem)
        return note(page.wrote(output), prefix="") if output not in (None, "-") else None
    loaded = load(request)
    program = loaded.program
    if fmt == "html":
        return _page(loaded, output, of=of, plain=plain, cluster=cluster, focus=focus, depth=depth,
                     max_nodes=max_nodes, seed=request.seed or 0)
    graph = draw_program(program, loaded.values, grad=not no_grad, of=program.node(of) if of else None, plain=plain,
                         cluster=cluster, focus=program.node(focus) if focus else None,
                         depth=DEFAULT_DEPTH if depth is None else depth, max_nodes=max_nodes, fmt=fmt)
    if fmt == "png" and graph.value_nodes > renderers.PNG_LARGE:
        warn(f"a PNG of {graph.value_nodes:,} nodes is a very large image; SVG (-o graph.svg) stays small and zooms")
    lookup = renderers.find_renderers() if fmt != "dot" else None
    for problem in lookup.problems if lookup else ():
        warn(problem)
    if to_stdout:
        renderers.write_stdout(graph.source, fmt, lookup)
        return
    renderer = renderers.save(graph.source, Path(output), fmt, lookup)
    how = f" with {renderer.origin}" if renderer else ""
    note(f"wrote {output}: {renderers.FORMAT_NAMES[fmt]} of {graph.value_nodes:,} nodes{how}", prefix="")


def _page(loaded, output: str | None, **options) -> None:
    """`dot -o graph.html`: the interactive page, what was written, and a warning for one so
    large that a browser is slow to open it."""
    from scalargrad.page import page_for

    page = page_for(loaded, output, **options)
    for problem in page.warnings:
        warn(problem)
    if output is not None and output != "-":
        how = f"drawn with {page.renderer.origin}" if page.renderer else "listed in a table"
        print(f"wrote {output}: interactive HTML page of {page.nodes:,} nodes, {how}", file=sys.stderr)
        size = len(page.html.encode("utf-8"))  # not the file's: a pipe or /dev/null has none
        if size > PAGE_LARGE:
            megabytes = f"{size / 1e6:.0f}" if size >= 10_000_000 else f"{size / 1e6:.1f}"
            warn(f"the page is {megabytes} MB: a browser takes a while to open it; --focus NODE --depth N "
                 "makes a page of the part of the graph around a node")
