"""`scalargrad derive`: the derivative as a formula, and how it comes about rule by rule."""

from dataclasses import replace
from typing import Annotated, Optional

import typer

from scalargrad.commands.shared import OfOption, load, output, program_command

ORDER = 45  # place in `scalargrad --help`


@program_command()
@output("latex")
def derive(
    request,
    wrt: Annotated[
        Optional[list[str]],
        typer.Option("--wrt", metavar="INPUT", show_default=False,
                     help="Differentiate by this input: a name, an element (\"W1\\[0, 1]\") or a whole array "
                          "(repeatable; default: every input)."),
    ] = None,
    of: OfOption = None,
    steps: Annotated[bool, typer.Option("--steps", help="Show the derivation rule by rule, as the backward pass "
                                                        "takes it (numbered as explain --trace).")] = False,
):
    """Write the derivative as a formula, simplified by SymPy: dy/dx = 6*x - 4.

    With values for the inputs (given, from defaults or the session), each formula is also
    evaluated there, beside backprop's gradient. --steps shows each step of the derivation
    with the rule it applies.

    Example: scalargrad derive "y = 3*x**2 - 4*x + 5" --wrt x
    """
    from scalargrad.derive import derive as deriving

    loaded = load(replace(request, optional_values=True))
    program = loaded.program
    return deriving(program, wrt, program.node(of) if of else None, loaded.values, steps=steps,
                    warnings=loaded.warnings)
