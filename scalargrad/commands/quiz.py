"""`scalargrad quiz`: backprop by hand, graded, with hints that grow."""

import sys
from typing import Annotated, Optional

import typer

from scalargrad.commands.shared import OfOption, Shown, load, note, output, program_command

ORDER = 45  # place in `scalargrad --help`: after explain, what a learner reads first


@program_command()
@output()
def quiz(
    request,
    of: OfOption = None,
    answers: Annotated[Optional[str], typer.Option("--answers", metavar="FILE", show_default=False,
                                                   help='Grade a JSON file of answers: {"a": 6, "b": \\[1, -4]}, a '
                                                        "node's answers in turn (null asks for a hint); `-` reads stdin.")] = None,
    level: Annotated[Optional[int], typer.Option("--level", metavar="1|2|3", show_default=False,
                                                 help="A generated exercise (with --seed N): 1 + and *, 2 functions, "
                                                      "3 shared nodes and tanh neurons. Default: 1.")] = None,
    order: Annotated[str, typer.Option("--order", metavar="backward|free",
                                       help="Ask in the order the backward pass finds each gradient, or let the "
                                            "learner choose.")] = "backward",
    tolerance: Annotated[float, typer.Option("--tolerance", metavar="T",
                                             help="An answer is right within T * max(1, |gradient|).")] = 1e-3,
    sheet: Annotated[Optional[str], typer.Option("--sheet", metavar="FILE", show_default=False,
                                                 help="Write a printable worksheet of --count generated exercises "
                                                      "(--seed, --level), an HTML page, with the answer key on a page of its own.")] = None,
    count: Annotated[int, typer.Option("--count", metavar="N", help="Exercises on the --sheet.")] = 10,
    shown: Shown = Shown(),
):
    """Find each node's gradient by hand: a wrong answer gets a hint, then a bigger one, then the answer.

    On your own program, or on a generated exercise: scalargrad quiz --seed 3 --level 2
    (the same seed is the same exercise everywhere). In a terminal the quiz asks for each
    gradient; elsewhere it shows the exercise, and --answers FILE grades a file of answers.

    Example: scalargrad quiz "L = (a*b + c) * f" --a 2 --b -3 --c 10 --f -2
    """
    from scalargrad import quiz as quizzing

    quizzing.check_order(order)
    quizzing.check_tolerance(tolerance)
    given = bool(request.args) or request.file is not None  # a program (or values for the session's)
    if sheet is not None:
        note(quizzing.write_sheet(sheet, request.seed or 0, level or 1, count, program_given=given), prefix="")
        return None
    made = not given and (level is not None or request.seed is not None)
    if made:
        seed, level = request.seed or 0, quizzing.check_level(level or 1)
        the_quiz, warnings = quizzing.generated(seed, level, order, tolerance), []
    else:
        quizzing.no_level(level)
        request.of = of
        loaded = load(request)
        seed, warnings = None, loaded.warnings
        program = loaded.program
        the_quiz = quizzing.start(program, loaded.values, program.node(of) if of else None, order, tolerance)
    report = quizzing.QuizReport(the_quiz, seed=seed, level=level if made else None, warnings=warnings)
    if answers is not None:
        return quizzing.graded_report(report, answers)
    if shown.for_a_person and sys.stdin.isatty():
        from scalargrad.render import ask, emit, say

        report.asking = True
        emit(report, "table", shown.view)
        report.asking = False
        return quizzing.interactive(the_quiz, report, say, ask)
    return report
