"""`scalargrad session`: show the session (program, values, steps taken), or forget it."""

from typing import Annotated, Optional

import typer

from scalargrad.commands.shared import JsonOption, PrecisionOption, SessionOption, note, user_errors
from scalargrad.render import emit

ORDER = 90  # place in `scalargrad --help`


def session(
    reset: Annotated[bool, typer.Option("--reset", help="Forget the session (even a damaged one).")] = False,
    data: Annotated[Optional[str], typer.Option(
        "--data", metavar="CSV",
        help="Make CSV (a .csv file) the data file the session's program reads its columns from (a moved or edited file).",
    )] = None,
    precision: PrecisionOption = 10,
    json_: JsonOption = False,
    session: SessionOption = None,
) -> None:
    """Show the session: the program later commands continue, its values, the steps taken.

    A command given a program starts the session; one given none continues it.
    Example: scalargrad grad "L = (a*b + c) * f" --a 2 --b -3 --c 10 --f -2; scalargrad session
    """
    from scalargrad import session as sessions
    from scalargrad.errors import UsageError
    from scalargrad.session_view import Reset, SessionView, attach_data

    with user_errors():
        path = sessions.resolve_path(session)
        if data is not None and reset:
            raise UsageError("--data and --reset contradict each other", hint="give one of them")
        if data is not None:
            note(attach_data(path, data))
            if json_:
                emit(SessionView(path, sessions.read(path), precision), True)
            return
        if reset:
            forgot = sessions.reset(path)
            if json_:
                emit(Reset(path, forgot), True)
            else:
                note(f"forgot the session in {sessions.shown(path)}" if forgot
                     else f"there was no session in {sessions.shown(path)}")
            return
        current = sessions.read(path)
        if current is None and not json_:
            note(f"no session in {sessions.shown(path)}; start one by giving a command a program: "
                 'scalargrad grad "L = (a*b + c) * f" --a 2 --b -3 --c 10 --f -2')
            return
        emit(SessionView(path, current, precision), json_)
