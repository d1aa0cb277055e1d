"""`scalargrad check`: every gradient compared with a finite difference."""

from typing import Annotated, Optional

import typer

from scalargrad.commands.shared import OfOption, Shown, load, output, progress_bar, program_command, warn
from scalargrad.errors import UsageError

ORDER = 20  # place in `scalargrad --help`

ExpectOption = Annotated[
    Optional[list[str]], typer.Option("--expect", metavar="NAME: FORMULA", show_default=False,
                                      help="A derivative worked out by hand, d(output)/d(NAME) as a formula over "
                                           "the program's names, checked against backprop here and at --points "
                                           "random points around: --expect \"x: sigmoid(x)\". Repeatable.")
]
OrderOption = Annotated[int, typer.Option("--order", metavar="1|2", min=1, max=2,
                                          help="2: check the Hessian (scalargrad hessian) by central differences "
                                               "of the gradient instead of the gradient.")]
NodesOption = Annotated[
    Optional[str], typer.Option("--nodes", metavar="NAME,...", show_default=False,
                                help="Check only these named nodes, comma separated: --nodes a,d (an array's "
                                     "name for all its elements, W\\[0, 1] for one).")
]
PointsOption = Annotated[int, typer.Option("--points", metavar="N", min=0,
                                           help="Random points around the current one for --expect.")]


@program_command()
@output()
def check(
    request,
    nodes: NodesOption = None,
    all_: Annotated[bool, typer.Option("--all", help="Also check the unnamed sub-expressions.")] = False,
    of: OfOption = None,
    eps: Annotated[
        Optional[float], typer.Option("--eps", metavar="H", show_default=False,
                                      help="A fixed step h for the finite differences (default: adaptive, "
                                           "h = 6e-6 * max(1, |x|), with Richardson extrapolation where they disagree).")
    ] = None,
    method: Annotated[
        str, typer.Option("--method", metavar="central|forward", help="central: (f(x+h) - f(x-h)) / 2h; forward: (f(x+h) - f(x)) / h.")
    ] = "central",
    relative_step: Annotated[
        bool, typer.Option("--relative-step", help="Scale the step to h = eps * max(1, |x|).")
    ] = False,
    atol: Annotated[float, typer.Option("--atol", metavar="A", help="Absolute tolerance of the pass rule.")] = 1e-5,
    rtol: Annotated[float, typer.Option("--rtol", metavar="R", help="Relative tolerance of the pass rule.")] = 1e-3,
    expect: ExpectOption = None,
    points: PointsOption = 10,
    order: OrderOption = 1,
    shown: Shown = Shown(),
):
    """Check every gradient numerically: nudge each node by h and compare with backprop.

    A node passes when |analytic - numeric| <= atol + rtol * |numeric|.

    Exit 0 when nothing failed, 1 when a gradient is wrong, 2 on a user error.

    Example: scalargrad check "L = (a*b + c) * f" --a 2 --b -3 --c 10 --f -2
    Without a program, checks the session's program at its current values.
    """
    from scalargrad.arguments import name_list
    from scalargrad.check import check_gradients, keep_in_session, validate_options

    validate_options(eps, method, atol, rtol)
    if nodes is not None and all_:
        raise UsageError("give either --nodes or --all, not both",
                         hint="--nodes picks named nodes; --all checks every node")
    request.of = of  # the inputs that node does not read need no value
    loaded = load(request)
    program = loaded.program
    target = program.node(of) if of else None
    chosen = None if nodes is None else name_list(nodes, "--nodes", program.arrays)
    if order == 2:
        return _second_order(loaded, chosen, target, eps, atol, rtol, shown)
    with progress_bar("checking gradients", not shown.for_a_person) as progress:
        report = check_gradients(program, loaded.values, chosen and [program.node(name) for name in chosen],
                                 of=target, every=all_, eps=eps, method=method, relative_step=relative_step,
                                 atol=atol, rtol=rtol, expect=expect or (), points=points, warnings=loaded.warnings,
                                 progress=progress)
    unsaved = keep_in_session(report, loaded.session, loaded.data and loaded.data.digest)
    if unsaved:
        warn(unsaved)
    return report


def _second_order(loaded, chosen, target, eps, atol, rtol, shown):
    """`--order 2`: the Hessian against central differences of the gradient (not saved for the
    page: it is not per node)."""
    from scalargrad.hessian_check import check_hessian

    program = loaded.program
    wrt = None if chosen is None else [program.input(name, "check").label for name in chosen]
    with progress_bar("checking second derivatives", not shown.for_a_person, "the second-derivative check") as bar:
        return check_hessian(program, loaded.values, wrt, target, eps=eps, atol=atol, rtol=rtol,
                             warnings=loaded.warnings, progress=bar)
