"""`scalargrad session`: show the session (program, values, steps taken), or forget it."""

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer

from scalargrad.commands.shared import JsonOption, PrecisionOption, SessionOption, note, user_errors
from scalargrad.render import Lines, Report, Table, emit, number

ORDER = 90  # place in `scalargrad --help`
HISTORY_ROWS = 50  # runs of step shown; --json has every one


def session(
    reset: Annotated[bool, typer.Option("--reset", help="Forget the session (even a damaged one).")] = False,
    precision: PrecisionOption = 10,
    json_: JsonOption = False,
    session: SessionOption = None,
) -> None:
    """Show the session: the program later commands continue, its values, the steps taken.

    A command given a program starts the session; one given none continues it.
    Example: scalargrad grad "L = (a*b + c) * f" --a 2 --b -3 --c 10 --f -2; scalargrad session
    """
    from scalargrad import session as sessions

    with user_errors():
        path = sessions.resolve_path(session)
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


@dataclass
class Reset(Report):
    path: Path
    forgot: bool

    def write_json(self, stream) -> None:  # one line, as scripts already read it
        import json

        stream.write(json.dumps({"schema": "scalargrad.session-reset/1", "path": str(self.path), "forgot": self.forgot})
                     + "\n")


@dataclass
class SessionView(Report):
    """Where the session is, its program and output, a table of its values and one of its steps."""

    path: Path
    current: object  # scalargrad.session.Session, or None (JSON only)
    precision: int = 10
    gap = False

    def evaluate_output(self) -> tuple[str, float | None, str]:
        """(name, value, why not) of the output: the file may outlive a change to the language."""
        from scalargrad.errors import ScalarGradError
        from scalargrad.language import parse

        try:
            program = parse(self.current.program)
            program.evaluate(self.current.values)
        except ScalarGradError as error:
            return "", None, error.message
        return program.label(program.output), program.output.data, ""

    def to_json(self) -> dict:
        if self.current is None:
            return {"schema": "scalargrad.session/1", "path": str(self.path), "active": False, "program": None,
                    "output": None, "values": {}, "history": []}
        name, value, problem = self.evaluate_output()
        return {"schema": "scalargrad.session/1", "path": str(self.path), "active": True,
                "program": self.current.program,
                "output": {"label": name, "value": value} if problem == "" else {"error": problem},
                "values": self.current.values, "history": self.current.history}

    def sections(self) -> list:
        from scalargrad.session import shown

        name, value, problem = self.evaluate_output()
        heading = Lines()
        for line in [f"session {shown(self.path)}", "program:",
                     *("    " + line for line in self.current.program.strip().splitlines()),
                     f"output: {name} = {number(value, self.precision)}" if problem == ""
                     else f"output: cannot be evaluated: {problem}"]:
            heading.add(line)
        values = Table(["input", "value"], right={"value"}, title="values")
        for input_name, input_value in self.current.values.items():
            values.add(input_name, number(input_value, self.precision))
        if not self.current.history:
            values.notes.append("no steps yet")
            return [heading, values]
        return [heading, values, history_table(self.current.history, self.precision)]


def history_table(history: list[dict], precision: int) -> Table:
    def cell(value) -> str:
        return "" if value is None else number(value, precision) if isinstance(value, float) else str(value)

    runs = len(history)
    total = sum(int(entry.get("steps", 1)) for entry in history)
    title = f"history: {runs} run{'' if runs == 1 else 's'} of step" + (f", {total:,} steps in all" if total != runs else "")
    table = Table(["run", "steps", "direction", "lr", "before", "after"],
                  right={"run", "steps", "lr", "before", "after"}, title=title)
    shown_runs = history[-HISTORY_ROWS:]
    if len(shown_runs) < runs:
        table.notes.append(f"showing the last {HISTORY_ROWS} of {runs} runs; --json gives them all")
    for entry in shown_runs:
        direction = "descend" if entry.get("descend") else "ascend"
        table.add(cell(entry.get("step")), f"{int(entry.get('steps', 1)):,}", direction,
                  *(cell(entry.get(key)) for key in ("lr", "before", "after")))
    return table
