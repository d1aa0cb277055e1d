"""`scalargrad derive`: the derivative as a formula, and how it comes about rule by rule."""

from dataclasses import replace
from typing import Annotated, Optional

import typer

from scalargrad.commands.shared import JsonOption, OfOption, PrecisionOption, load, program_command

ORDER = 45  # place in `scalargrad --help`


@program_command()
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
    latex: Annotated[bool, typer.Option("--latex", help="Print the formulas as LaTeX (an amsmath align* block).")] = False,
    precision: PrecisionOption = 10,
    json_: JsonOption = False,
) -> None:
    """Write the derivative as a formula, simplified by SymPy: dy/dx = 6*x - 4.

    With values for the inputs (given, from defaults or the session), each formula is also
    evaluated there, beside backprop's gradient. --steps shows each step of the derivation
    with the rule it applies.

    Example: scalargrad derive "y = 3*x**2 - 4*x + 5" --wrt x
    """
    from scalargrad.derive import derive as deriving
    from scalargrad.errors import UsageError
    from scalargrad.render import emit

    if latex and json_:
        raise UsageError("--latex and --json are two outputs: choose one",
                         hint="the JSON document has each formula's LaTeX too, as `latex`")
    loaded = load(replace(request, optional_values=True))
    program = loaded.program
    report = deriving(program, wrt, program.node(of) if of else None, loaded.values, warnings=loaded.warnings)
    report.show_steps, report.precision = steps, precision
    if latex:
        print(report.to_latex(), end="")
        return
    emit(report, json_)
