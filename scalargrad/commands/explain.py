"""`scalargrad explain`: the chain rule written out, with numbers."""

from typing import Annotated, Optional

import typer

from scalargrad.commands.shared import OfOption, Shown, load, note, output, program_command

ORDER = 40  # place in `scalargrad --help`


@program_command(extra="node")
@output(precision=False)
def explain(
    request,
    of: OfOption = None,
    nodes: Annotated[
        Optional[list[str]],
        typer.Option("--node", metavar="NODE", help="Explain only this node: a name, or the \\[id] shown before a node (repeatable).",
                     show_default=False),
    ] = None,
    trace: Annotated[
        bool, typer.Option("--trace", help="Show the backward pass step by step, in the order it runs.")
    ] = False,
    frames: Annotated[
        Optional[str], typer.Option("--frames", metavar="DIR", show_default=False,
                                    help="With --trace: also write one SVG per step of the backward pass into DIR "
                                         "(frame-01.svg, ...), the gradients known so far coloured, for slides.")
    ] = None,
    all_: Annotated[bool, typer.Option("--all", help="Show every node (or step), however many.")] = False,
    decimals: Annotated[
        int, typer.Option("--decimals", metavar="N", min=0, max=17, help="Decimals shown for each number, as the lecture's %.4f.")
    ] = 4,
    shown: Shown = Shown(),
):
    """Write out the chain rule: how each node's gradient comes about, with numbers.

    For each node: dL/dnode = sum over the nodes that use it of dL/duser * duser/dnode, with
    each local derivative's formula from the op table and its value.

    Example: scalargrad explain "e = a*b; d = e + c; L = d * f" --a 2 --b -3 --c 10 --f -2 --node a
    (or name the nodes after the program: scalargrad explain "L = a * b" --a 2 --b 3 a b)
    """
    from scalargrad import explain as explaining

    if frames is not None and not trace:
        from scalargrad.errors import UsageError

        raise UsageError("--frames draws the steps of --trace", hint=f"add --trace: explain --trace --frames {frames}")
    request.of = of  # the inputs that node does not read need no value
    loaded = load(request)
    program = loaded.program
    target = program.node(of) if of else program.output
    program.evaluate(loaded.values, target)  # explain's own backward pass fills the gradients
    chosen = explaining.chosen_nodes(program, target, [*(nodes or []), *loaded.extra])
    if frames is not None:
        from scalargrad.frames import draw_trace

        written = draw_trace(program, target, frames)
        note(f"wrote {len(written)} frames to {frames}: {written[0].name} to {written[-1].name}", prefix="")
    return explaining.report(program, target, chosen, trace=trace, show_all=all_, complete=not shown.for_a_person,
                             decimals=decimals, warnings=loaded.warnings)
