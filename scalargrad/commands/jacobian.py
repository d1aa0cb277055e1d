"""`scalargrad jacobian`: d(output)/d(input) for many outputs and inputs, forward or reverse mode."""

from typing import Annotated, Optional

import typer

from scalargrad.commands.shared import Shown, load, output, progress_bar, program_command

ORDER = 35  # place in `scalargrad --help`


@program_command()
@output("csv")
def jacobian(
    request,
    of: Annotated[
        Optional[str], typer.Option("--of", metavar="NODE,...", show_default=False,
                                    help="The outputs, comma separated: --of u,v (default: every named output, the "
                                         "last statement's and each name no other statement reads).")
    ] = None,
    wrt: Annotated[
        Optional[str], typer.Option("--wrt", metavar="NAME,...", show_default=False,
                                    help="Only these inputs, comma separated: --wrt a,b (default: every input).")
    ] = None,
    mode: Annotated[
        Optional[str], typer.Option("--mode", metavar="forward|reverse|auto", show_default=False,
                                    help="Forward mode (a pass per input), reverse mode (a pass per output), or auto "
                                         "(the one that visits fewer nodes, counted first). Default: auto.")
    ] = None,
    jvp: Annotated[
        Optional[str], typer.Option("--jvp", metavar='"x=1, y=0"', show_default=False,
                                    help="One JVP instead: each output's derivative along this direction of the "
                                         "inputs (one forward pass; inputs left out do not move).")
    ] = None,
    vjp: Annotated[
        Optional[str], typer.Option("--vjp", metavar='"u=1, v=0"', show_default=False,
                                    help="One VJP instead: every input's derivative of the outputs weighted so "
                                         "(one backward pass).")
    ] = None,
    shown: Shown = Shown(),
):
    """Show the Jacobian d(output)/d(input), and what forward and reverse mode each cost.

    Forward mode carries tangents forward, one pass per input; reverse mode carries adjoints
    backward, one pass per output. The passes and the node visits are counted as they run;
    --mode auto counts both first and runs the cheaper. Arrays are given whole (--of ypred).

    Example: scalargrad jacobian "u = x*y; v = x + y" --x 2 --y 3
    """
    from scalargrad.arguments import name_list
    from scalargrad.jacobian import compute

    loaded = load(request)
    program = loaded.program
    outputs = None if of is None else name_list(of, "--of", program.arrays)
    inputs = None if wrt is None else name_list(wrt, "--wrt", program.arrays)
    with progress_bar("Jacobian passes", not shown.for_a_person, "the Jacobian") as bar:
        return compute(program, loaded.values, of=outputs, wrt=inputs, mode=mode, jvp_text=jvp, vjp_text=vjp,
                       warnings=loaded.warnings, progress=bar)
