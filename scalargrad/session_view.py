"""What `scalargrad session` shows: where the session is, its program and output, its values,
the runs of `step`, and the last `check` with whether it still applies to the saved values.
(session.py stores; this reads and shows.)"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from scalargrad.render import Lines, Report, Table, number

HISTORY_ROWS = 50  # runs of step shown; --json has every one
CHECK_ROWS = 20  # nodes of the last check shown; --json has every one


@dataclass
class Reset(Report):
    """`session --reset`: whether a session was there to forget."""

    path: Path
    forgot: bool

    def sections(self) -> list:
        from scalargrad.session import shown

        lines = Lines()
        lines.add(f"forgot the session in {shown(self.path)}" if self.forgot
                  else f"there was no session in {shown(self.path)}")
        return [lines]

    def to_json(self) -> dict:
        return {"schema": "scalargrad.session-reset/1", "path": str(self.path), "forgot": self.forgot}

    def write_json(self, stream) -> None:  # one line, as scripts already read it
        import json

        stream.write(json.dumps(self.to_json()) + "\n")


def attach_data(path: Path, file: str) -> str:
    """Make `file` (a CSV file) the session's data file, after checking that it has every
    column the session's program reads as data, and that none of the columns the program
    would read from it is one of the session's inputs; returns the note to print."""
    from scalargrad import session as sessions
    from scalargrad.data import is_csv, read_columns
    from scalargrad.errors import UsageError
    from scalargrad.language import parse

    if not is_csv(file):
        raise UsageError(f"--data takes a CSV file of data columns, not `{file}`",
                         hint="give a file whose name ends in .csv, with a header row naming the columns")
    current = sessions.read(path)
    if current is None:
        raise UsageError(f"no session in {sessions.shown(path)} to give a data file",
                         hint="start one with the program and its data: scalargrad grad --file PROGRAM --bindings FILE.csv")
    data = read_columns(file, option="--data")
    read = list(parse(current.program, data=data.columns).data)  # the columns it would read
    wanted = current.data["columns"] if current.data else [name for name in read if name not in current.values]
    missing = [name for name in wanted if name not in data.columns]
    taken = [name for name in read if name not in wanted]  # inputs of the session, not data
    if not wanted or missing or taken:
        what = f"has no column {', '.join(f'`{name}`' for name in missing)}" if missing else \
            f"has a column `{taken[0]}`, an input of the session's program, not data" if taken else \
            "has no column that the session's program reads as data"
        raise UsageError(f"the data file {file} {what}", hint=f"the session's program reads the columns "
                         f"{', '.join(wanted) or '(none)'} as data: give a CSV file with those columns")
    sessions.record_data(path, current.program, data.record(wanted, path))
    return f"the data file of session {sessions.shown(path)} is now {file} (columns {', '.join(wanted)})"


@dataclass
class SessionView(Report):
    """Where the session is, its program and output, a table of its values and one of its steps."""

    path: Path
    current: object  # scalargrad.session.Session, or None: there is none
    gap = False
    _data = None  # the data file as read, once (`data_file`)

    def evaluate_output(self) -> tuple[str, float | None, str]:
        """(name, value, why not) of the output: the file may outlive a change to the language."""
        from scalargrad.errors import ScalarGradError
        from scalargrad.language import parse

        try:
            data = self.data_file()
            program = parse(self.current.program, data=data.columns if data else None)
            program.evaluate(self.current.values)
        except ScalarGradError as error:
            return "", None, error.message
        return program.label(program.output), program.output.data, ""

    def data_file(self):
        """The session's data file (`data.DataFile`: its columns, those the program reads,
        and the digest of its text now), read once; None when it has none. A file that cannot
        be read is the ScalarGradError that says why."""
        from scalargrad.data import located, read_recorded
        from scalargrad.session import shown

        if self.current.data is None:
            return None
        if self._data is None:
            self._data = read_recorded(self.current.data, shown(located(self.current.data, self.current.path)))
        return self._data

    def to_json(self) -> dict:
        """The `session --json` document (schema scalargrad.session/2: its maps of values give
        an array as a nested list of its shape, as the session file and --bindings do)."""
        if self.current is None:
            return {"schema": "scalargrad.session/2", "path": str(self.path), "active": False, "program": None,
                    "output": None, "values": {}, "history": [], "check": None, "data": None}
        name, value, problem = self.evaluate_output()
        saved = self.current.to_json()
        return {"schema": "scalargrad.session/2", "path": str(self.path), "active": True,
                "program": self.current.program,
                "output": {"label": name, "value": value} if problem == "" else {"error": problem},
                "values": saved["values"], "history": saved["history"],
                "check": None if self.current.check is None else {**saved["check"], "current": self.check_applies()},
                "data": self.current.data}

    def check_applies(self) -> bool:
        """Whether the last check ran on the session's program at its values, as they are now
        (and on its data file as it was when the program was given)."""
        check = self.current.check
        return check is not None and check["program"] == self.current.program and \
            check["values"] == self.current.values and self.same_data()

    def same_data(self) -> bool:
        """Whether the last check ran on the data file as it is now (as the page judges it)."""
        from scalargrad.errors import ScalarGradError

        if self.current.data is None:  # a session that keeps no data file (older than the field) cannot tell
            return True
        try:
            data = self.data_file()
        except ScalarGradError:  # gone or unreadable: as it was when the session last read it
            data = None
        return (self.current.check or {}).get("data") == (data.digest if data else self.current.data["sha256"])

    def data_line(self) -> str:
        """`data: moons.csv (columns x1, x2, y)`, and whether it changed since the session read it."""
        from scalargrad.data import located
        from scalargrad.errors import ScalarGradError
        from scalargrad.session import shown

        saved = self.current.data
        line = f"data: {shown(located(saved, self.current.path))} (columns {', '.join(saved['columns'])})"
        try:
            data = self.data_file()
        except ScalarGradError as error:
            return f"{line}: {error.message}"
        return line + ("" if data.digest == saved["sha256"] else ": changed since the session last read it")

    def sections(self) -> list:
        from scalargrad.session import shown

        if self.current is None:
            lines = Lines()
            lines.add(f"no session in {shown(self.path)}; start one by giving a command a program: "
                      'scalargrad grad "L = (a*b + c) * f" --a 2 --b -3 --c 10 --f -2')
            return [lines]
        name, value, problem = self.evaluate_output()
        heading = Lines()
        for line in [f"session {shown(self.path)}", "program:",
                     *("    " + line for line in self.current.program.strip().splitlines()),
                     *([self.data_line()] if self.current.data else []),
                     f"output: {name} = {number(value, self.precision)}" if problem == ""
                     else f"output: cannot be evaluated: {problem}"]:
            heading.add(line)
        values = value_table(self.current.values, self.precision)
        checked = [check_table(self)] if self.current.check is not None else []
        if not self.current.history:
            values.notes.append("no steps yet")
            return [heading, values, *checked]
        return [heading, values, history_table(self.current.history, self.precision), *checked]


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
        rate = entry.get("lr_expression") or cell(entry.get("lr"))  # a schedule as written, `1.0 - 0.9*k/100`
        table.add(cell(entry.get("step")), f"{int(entry.get('steps', 1)):,}", direction, rate,
                  *(cell(entry.get(key)) for key in ("before", "after")))
    return table


def value_table(values: dict[str, float], precision: int) -> Table:
    """The session's values, one row each; an array's elements (`W1[0, 1]`, ...) one row for
    the array, with its shape and the range of its values, as `grad` shows arrays."""
    import re

    groups: dict[str, list[tuple[str, float]]] = {}
    for name, value in values.items():
        element = re.fullmatch(r"([A-Za-z_][A-Za-z_0-9]*)\[([0-9, ]+)\]", name)
        groups.setdefault(element[1] + "[" if element else name, []).append((name, value))
    table = Table(["input", "value"], right={"value"}, title="values")
    for key, items in groups.items():
        if not key.endswith("[") or len(items) == 1:
            for name, value in items:
                table.add(name, number(value, precision))
            continue
        indices = [[int(i) for i in name[len(key):-1].split(",")] for name, _ in items]
        shape = tuple(max(column) + 1 for column in zip(*indices))
        low, high = number(min(v for _, v in items), 4), number(max(v for _, v in items), 4)
        table.add(f"{key[:-1]} {shape}", f"{low} … {high}")
    if any(key.endswith("[") and len(items) > 1 for key, items in groups.items()):
        table.notes.append("arrays are summarised, one row each; --json gives every value")
    return table


def check_table(view: SessionView) -> Table:
    """The last check's verdict per node, titled with whether it still applies: it ran at the
    session's values, or at others (a later step, or values given for one run)."""
    check, current = view.current.check, view.current
    if check["program"] != current.program:
        where = "of another program"
    elif not view.same_data():
        where = "on other data"
    elif view.check_applies():
        where = "at the session's values"
    else:
        moved = [f"{name} = {number(value, view.precision)} (now {number(current.values[name], view.precision)})"
                 for name, value in check["values"].items() if current.values.get(name, value) != value]
        where = "at other values: " + ", ".join(moved[:4]) + (", ..." if len(moved) > 4 else "")
    table = Table(["node", "check", "analytic", "numeric"], right={"analytic", "numeric"}, key="node",
                  title=f"last check, {where}")
    for row in check["rows"][:CHECK_ROWS]:
        table.add(row["label"], row["status"], *(number(row[key], view.precision) if isinstance(row[key], float)
                                                 else "" for key in ("analytic", "numeric")))
    if len(check["rows"]) > CHECK_ROWS:
        table.notes.append(f"showing {CHECK_ROWS} of {len(check['rows'])} nodes; --json gives them all")
    if check.get("summary"):
        table.notes.append(check["summary"])
    return table
