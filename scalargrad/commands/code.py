"""`scalargrad code`: the forward and backward pass as code in another language."""

from dataclasses import replace
from pathlib import Path
from typing import Annotated, Optional

import typer

from scalargrad.commands.shared import OfOption, Shown, load, output, program_command

ORDER = 47  # place in `scalargrad --help`


@program_command()
@output(precision=False)
def code(
    request,
    lang: Annotated[
        str, typer.Option("--lang", metavar="LANGUAGE",
                          help="python, numpy (many points at once), javascript, c (C99), or torch / jax (the "
                               "forward pass alone).")
    ] = "python",
    of: OfOption = None,
    verify: Annotated[bool, typer.Option("--verify", help="Run the code at the inputs' values (a C compiler, Node.js "
                                                          "or Python, in another process) and compare every gradient "
                                                          "with scalargrad's; exit 1 if one differs.")] = False,
    output: Annotated[
        Optional[Path], typer.Option("--output", "-o", metavar="PATH", show_default=False,
                                     help="Write the code to this file (atomically) instead of printing it.")
    ] = None,
    shown: Shown = Shown(),
):
    """Print the backward pass as code: a function from the inputs to the output and every gradient.

    Straight-line for small programs (a named line per node, a comment with the statement or the
    rule), arrays and loops for big ones. Every line comes from the derivative table.

    Example: scalargrad code "L = (a*b + c) * f" --lang c --verify --a 2 --b -3 --c 10 --f -2
    """
    from scalargrad import codegen
    from scalargrad.errors import UsageError

    lang = lang.strip().lower()
    if lang not in codegen.LANGUAGES:
        from scalargrad.errors import did_you_mean

        close = did_you_mean(lang, codegen.LANGUAGES)
        raise UsageError(f"no language `{lang}`" + (f"; did you mean `{close}`?" if close else ""),
                         hint=f"--lang takes one of {', '.join(codegen.LANGUAGES)}")
    loaded = load(replace(request, optional_values=not verify))
    program = loaded.program
    report = codegen.code(program, lang, program.node(of) if of else None, warnings=loaded.warnings)
    if output is not None:
        from scalargrad.files import write_text_atomically

        write_text_atomically(output, report.code, what=f"the {lang} code")
    if verify:
        codegen.verify(report, loaded.values)
    return report if output is None or verify or not shown.for_a_person else None
