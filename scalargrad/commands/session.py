"""`scalargrad session`: show the session (program, values, steps taken), or forget it."""

from typing import Annotated, Optional

import typer

from scalargrad.commands.shared import SessionOption, Shown, note, output

ORDER = 90  # place in `scalargrad --help`


@output()
def session(
    reset: Annotated[bool, typer.Option("--reset", help="Forget the session (even a damaged one).")] = False,
    data: Annotated[Optional[str], typer.Option(
        "--data", metavar="CSV",
        help="Make CSV (a .csv file) the data file the session's program reads its columns from (a moved or edited file).",
    )] = None,
    session: SessionOption = None,
    shown: Shown = Shown(),
):
    """Show the session: the program later commands continue, its values, the steps taken.

    A command given a program starts the session; one given none continues it.
    Example: scalargrad grad "L = (a*b + c) * f" --a 2 --b -3 --c 10 --f -2; scalargrad session
    """
    from scalargrad import session as sessions
    from scalargrad.errors import UsageError
    from scalargrad.session_view import Reset, SessionView, attach_data

    path = sessions.resolve_path(session)
    if data is not None and reset:
        raise UsageError("--data and --reset contradict each other", hint="give one of them")
    if reset:
        return Reset(path, sessions.reset(path))
    if data is not None:
        note(attach_data(path, data))
        return None if shown.for_a_person else SessionView(path, sessions.read(path))
    return SessionView(path, sessions.read(path))
