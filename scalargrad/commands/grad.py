"""`scalargrad grad`: every node of the graph with its value and its gradient."""

from typing import Annotated, Optional

import typer

from scalargrad.commands.shared import OfOption, Shown, load, output, program_command, warn

ORDER = 10  # place in `scalargrad --help`


@program_command()
@output(show_all="Show every node, however many.")
def grad(
    request,
    of: OfOption = None,
    order: Annotated[Optional[int], typer.Option("--order", metavar="N", show_default=False,
                                                 help="Derivatives of orders 1 to N (at most 20) along one input "
                                                      "(--wrt), exactly, by Taylor series.")] = None,
    wrt: Annotated[Optional[str], typer.Option("--wrt", metavar="NAME", show_default=False,
                                               help="The input that --order differentiates by.")] = None,
    backprop: Annotated[Optional[str], typer.Option("--backprop", metavar="right|overwrite|no-topo|recursive",
                                                    show_default=False,
                                                    help="A classic bug of the backward pass beside the right "
                                                         "gradients: overwrite (= for +=), no-topo (a naive order), "
                                                         "recursive (the depth micrograd's recursion would need).")] = None,
    shown: Shown = Shown(),
):
    """Show every node of the graph with its value and its gradient.

    Example: scalargrad grad "L = (a*b + c) * f" --a 2 --b -3 --c 10 --f -2
    Without a program, continues the session: scalargrad grad --a 3
    """
    from scalargrad.gradients import gradients

    if backprop is not None:
        from scalargrad.bugs import check_mode

        check_mode(backprop, higher=order is not None or wrt is not None)  # before any work
    request.of = of  # the inputs that node does not read need no value
    loaded = load(request)
    program = loaded.program
    if order is not None or wrt is not None:
        from scalargrad.gradients import higher

        return higher(program, loaded.values, wrt, order, program.node(of) if of else None,
                      all_=shown.view.show_all, warnings=loaded.warnings)
    if backprop not in (None, "right"):
        from scalargrad.bugs import backprop as buggy

        return buggy(program, loaded.values, backprop, program.node(of) if of else None, warnings=loaded.warnings)
    report = gradients(program, loaded.values, program.node(of) if of else None, origin=loaded.origin,
                       warnings=loaded.warnings)
    if report.problem is not None:
        warn(report.problem.format().removeprefix("error: ") + "\nnote: the other gradients are shown; "
             "those that depend on it are marked undefined")
    return report
