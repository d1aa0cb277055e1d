"""`scalargrad hessian`: the exact matrix of second derivatives over the inputs."""

from typing import Annotated, Optional

import typer

from scalargrad.commands.shared import OfOption, Shown, load, output, progress_bar, program_command

ORDER = 35  # place in `scalargrad --help`


@program_command()
@output()
def hessian(
    request,
    wrt: Annotated[
        Optional[str], typer.Option("--wrt", metavar="NAME,...", show_default=False,
                                    help="Only these inputs, comma separated: --wrt a,b (default: every input).")
    ] = None,
    of: OfOption = None,
    hvp: Annotated[
        Optional[str], typer.Option("--hvp", metavar='"x=1, y=0"', show_default=False,
                                    help="One Hessian-vector product H v instead of the matrix: two passes, for any "
                                         "number of inputs (inputs left out of v do not move).")
    ] = None,
    shown: Shown = Shown(),
):
    """Show the exact Hessian d2L/dxi dxj over the inputs, its eigenvalues and what they mean.

    Forward over reverse from the derivative table's second derivatives: one Hessian-vector
    product per input, not finite differences. At a kink (relu or abs at 0) there is no Hessian:
    exit 2. Long work shows a progress bar; Ctrl-C stops it (exit 130).

    Example: scalargrad hessian "L = x**2 - y**2" --x 0 --y 0
    """
    from scalargrad.arguments import name_list, vector_option
    from scalargrad.hessian import hessian as compute, hvp as product

    loaded = load(request)
    program = loaded.program
    names = None if wrt is None else name_list(wrt, "--wrt", program.arrays)
    if hvp is not None:
        direction = vector_option(hvp, "--hvp", program.arrays, program.inputs, "input")
        return product(program, loaded.values, direction, names, program.node(of) if of else None,
                       warnings=loaded.warnings)
    with progress_bar("Hessian-vector products", not shown.for_a_person, "the Hessian") as bar:
        return compute(program, loaded.values, names, program.node(of) if of else None,
                       warnings=loaded.warnings, progress=bar)
