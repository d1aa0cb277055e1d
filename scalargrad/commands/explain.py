"""`scalargrad explain`: the chain rule written out, with numbers."""

from typing import Annotated, Optional

import typer

from scalargrad.commands.shared import JsonOption, OfOption, load, program_command

ORDER = 40  # place in `scalargrad --help`


@program_command(extra="node")
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
    all_: Annotated[bool, typer.Option("--all", help="Show every node (or step), however many.")] = False,
    decimals: Annotated[
        int, typer.Option("--decimals", metavar="N", min=0, max=17, help="Decimals shown for each number, as the lecture's %.4f.")
    ] = 4,
    json_: JsonOption = False,
) -> None:
    """Write out the chain rule: how each node's gradient comes about, with numbers.

    For each node: dL/dnode = sum over the nodes that use it of dL/duser * duser/dnode, with
    each local derivative's formula from the op table and its value.

    Example: scalargrad explain "e = a*b; d = e + c; L = d * f" --a 2 --b -3 --c 10 --f -2 --node a
    (or name the nodes after the program: scalargrad explain "L = a * b" --a 2 --b 3 a b)
    """
    from scalargrad import explain as explaining
    from scalargrad.render import emit

    request.of = of  # the inputs that node does not read need no value
    loaded = load(request)
    program = loaded.program
    target = program.node(of) if of else program.output
    program.evaluate(loaded.values, target)  # explain's own backward pass fills the gradients
    chosen = None
    for text in [*(nodes or []), *loaded.extra]:
        node = program.node(text)
        if not program.computed(node):  # it reads an input that has no value, which --of NODE does not read
            from scalargrad.errors import UsageError
            from scalargrad.gradients import no_value

            raise UsageError(f"cannot explain `{program.label(node)}`: it reads {no_value(program, target)}",
                             hint="give the inputs it reads a value, or explain the nodes that the --of node reads")
        chosen = chosen or []
        if all(node is not other for other in chosen):
            chosen.append(node)
    report = explaining.report(program, target, chosen, trace=trace, show_all=all_, complete=json_,
                               decimals=decimals)
    report.warnings = loaded.warnings
    emit(report, json_)
