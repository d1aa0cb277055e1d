"""Program results as text: a Rich table in a terminal, plain aligned text in a pipe, JSON.

Rich is imported only when the output is a terminal; JSON never goes through Rich.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, replace
from typing import IO, Iterable, Sequence

from scalargrad.engine import Value
from scalargrad.errors import OutputError, UsageError, display_width, printable
from scalargrad.program import Program

DEFAULT_PRECISION = 10  # significant digits: -7.286496 stays -7.286496, float noise goes
ROW_LIMIT = 200  # past this many nodes the table shows named nodes only


def number(x: float, precision: int = DEFAULT_PRECISION) -> str:
    """`x` to `precision` significant digits, as `%g` writes it; never more digits than the
    shortest text that reads back as `x` (16 or 17 digits would show float noise: 0.3, not
    0.29999999999999999), which is then Python's own repr (5.960464477539063e-08: `%.16g`
    would round its last digit the other way)."""
    if precision >= 16 and x - x == 0:
        shortest = repr(x)
        digits = shortest.lstrip("-").split("e")[0].replace(".", "").strip("0")
        if len(digits) <= precision:
            text = shortest.removesuffix(".0")
            return "0" if text == "-0" else text
    text = f"{x:.{precision}g}"
    return "0" if text == "-0" else text


def fixed(x: float, decimals: int = 4) -> str:
    """A number as the lecture prints it (`%.4f`), never `-0.0000`, and with an exponent
    where fixed decimals would hide it (0 < |x| < 10**-decimals) or bloat it (|x| >= 1e9)."""
    if x == 0 or 10.0**-decimals <= abs(x) < 1e9:
        text = f"{x:.{decimals}f}"
        return text[1:] if text.startswith("-") and float(text) == 0 else text
    return f"{x:.{decimals}e}"


def select_rows(program: Program, show_all: bool, limit: int = ROW_LIMIT) -> tuple[list[Value], str]:
    """The nodes to show, and a line saying what was left out and how to see it. A program
    with arrays shows its named scalars here; its arrays go in `array_table`, one row each."""
    nodes = program.nodes
    if program.arrays and not show_all:
        return named_scalars(program), ARRAYS_NOTE
    if show_all or len(nodes) <= limit:
        return nodes, ""
    named = [node for node in nodes if program.is_named(node) or node is program.output]
    note = f"showing the {len(named):,} named nodes of {len(nodes):,}; --all shows every node, --json gives them as data"
    if len(named) > limit:
        head = limit // 2
        named = named[:head] + named[-(limit - head) :]
        note = (f"showing {limit} of the {len(nodes):,} nodes (the first and last named ones); "
                "--all shows every node, --json gives them as data")
    return named, note


ARRAYS_NOTE = "arrays are summarised, one row each; --all shows every element, --json gives them as data"
TOP = 3  # elements named in an array's row: those with the largest |gradient|


def named_scalars(program: Program) -> list[Value]:
    """The named nodes that are not elements of a named array, and the output."""
    elements = {label for _, labels in program.arrays.values() for label in labels}
    return [node for node in program.nodes
            if (program.is_named(node) and node.label not in elements) or node is program.output]


def array_table(program: Program, scores: dict[str, float | None], heading: str = "grad",
                title: str = "arrays") -> Table:
    """One row per named array: its shape, what its elements are, the range of their values,
    and the TOP elements by |score| (the gradient, or the change a step made), with `score`."""
    table = Table(["array", "shape", "role", "data", f"largest |{heading}|"], title=title, key="array")
    for name, (shape, labels) in program.arrays.items():
        nodes = [program.names[label] for label in labels]
        kinds = {program.kind(node) for node in nodes}
        role = "data" if kinds == {"const"} else "parameters" if kinds == {"input"} else ""
        data = [node.data for node in nodes]
        low, high = number(min(data), 4), number(max(data), 4)
        table.add(name, str(shape), role, low if low == high else f"{low} … {high}", largest_text(labels, scores))
    return table


def largest_text(labels: Sequence[str], scores: dict[str, float | None]) -> str:
    """The TOP elements by |score|, largest first, as `W1[3, 2] 0.8581, ...` (NaN last)."""
    return ", ".join(largest(labels, scores))


def largest(labels: Sequence[str], scores: dict[str, float | None]) -> list[str]:
    """The TOP elements by |score|, largest first, each as `W1[3, 2] 0.8581` (NaN last)."""
    import heapq

    shown = [(label, scores[label]) for label in labels if scores.get(label) is not None]
    top = heapq.nlargest(TOP, shown, key=lambda item: abs(item[1]) if item[1] == item[1] else -1.0)
    return [f"{label} {number(score, 4)}" for label, score in top]


def grads_of(program: Program) -> dict[str, float | None]:
    """Every array element's gradient by its label (None for a constant: data has none)."""
    return {label: None if program.names[label]._op == "const" else program.names[label].grad
            for _, labels in program.arrays.values() for label in labels}


class Table:
    """Rows of text cells, drawn with Rich in a terminal and as plain columns elsewhere.

    Every cell, title and note is shown with control characters escaped (`errors.printable`):
    a label taken from the program can never act on the terminal. In a terminal too narrow
    for the table, numbers are never wrapped: the rows are listed one field a line instead.
    """

    def __init__(self, columns: Sequence[str], title: str = "", right: Iterable[str] = (), key: str = "",
                 hanging: bool = False, text_width: int = 8):
        self.columns = list(columns)
        self.title = title
        self.key = key  # the column that names a row when rows are listed (default: the first)
        self.hanging = hanging  # listed, a field too long for its line hangs under its name (`Hanging`)
        self.text_width = text_width  # the fewest columns a text column gets in a box; narrower, rows are listed
        self.right = set(right)  # right-aligned columns: numbers, never wrapped
        self.rows: list[list[str]] = []
        self.styles: list[str] = []
        self.notes: list[str] = []

    def add(self, *cells: str, style: str = "") -> None:
        self.rows.append([printable(str(c)) for c in cells])
        self.styles.append(style)

    def print(self, stream: IO[str] | None = None) -> None:
        stream = stream or sys.stdout
        if stream.isatty():
            self._print_rich(stream)
        else:
            self._print_plain(stream)

    def widths(self) -> list[int]:
        widths = [display_width(c) for c in self.columns]
        for row in self.rows:
            for i, cell in enumerate(row):
                widths[i] = max(widths[i], display_width(cell))
        return widths

    def _print_plain(self, stream: IO[str]) -> None:
        self._fit(stream)
        widths = self.widths()

        def line(cells: Sequence[str]) -> str:
            out = []
            for i, cell in enumerate(cells):
                pad = " " * (widths[i] - display_width(cell))
                out.append(pad + cell if self.columns[i] in self.right else cell + pad)
            return "  ".join(out).rstrip()

        if self.title:
            stream.write(printable(self.title) + "\n")
        stream.write(line(self.columns) + "\n")
        stream.write("\n".join(line(row) for row in self.rows) + "\n" if self.rows else "")
        for note in self.notes:
            stream.write(printable(note) + "\n")

    def _print_rich(self, stream: IO[str]) -> None:
        from rich.console import Console
        from rich.table import Table as RichTable
        from rich.text import Text

        self._fit(stream)
        console = Console(file=stream, highlight=False)
        widths = self.widths()
        if not self._fits(widths, console.width, border=3):
            if self._fits(widths, console.width, border=2, whole=True):  # without the box it fits
                self._print_plain(stream)
                return
            self._print_list(console)
            return
        if self.title:  # above the table, so it wraps at the terminal's width, not the table's
            console.print(Text(printable(self.title), style="bold"))
        table = RichTable()
        for column in self.columns:
            number = column in self.right
            table.add_column(column, justify="right" if number else "left", no_wrap=number,
                             overflow="ellipsis" if number else "fold")
        for row, style in zip(self.rows, self.styles):
            table.add_row(*(Text(cell) for cell in row), style=style or None)  # Text: never markup
        console.print(table)
        for note in self.notes:
            console.print(Text(printable(note), style="dim"))

    def _fit(self, stream: IO[str]) -> None:
        """Cells and notes in characters the stream's encoding has (an ASCII terminal gets an
        ASCII sparkline and `...`)."""
        rows = [*self.rows, self.notes, [self.title]]
        if all(encodable(cell, stream) for row in rows for cell in row):
            return
        self.rows = [[ascii_fallback(cell) for cell in row] for row in self.rows]
        self.notes = [ascii_fallback(note) for note in self.notes]
        self.title = ascii_fallback(self.title)

    def _fits(self, widths: list[int], width: int, border: int, whole: bool = False) -> bool:
        """Whether every number column fits whole beside a few columns of each text column (or,
        `whole`, every column whole), with `border` columns between and around them."""
        needed = sum(w if whole or c in self.right else min(w, self.text_width)
                     for c, w in zip(self.columns, widths))
        return needed + border * len(self.columns) + 1 <= width

    def _print_list(self, console) -> None:
        """One row after another, one field a line, under its key: the `key` column's cell
        (`a`), or that column's name and a number (`run 1`)."""
        from rich.text import Text

        if self.title:
            console.print(Text(printable(self.title), style="bold"))
        for row, style in zip(self.rows, self.styles):
            key = self._key(row)
            name = f"{self.columns[key]} {row[key]}" if self.columns[key] in self.right else row[key]
            console.print(Text(name, style=style or "bold"))
            for i, (column, cell) in enumerate(zip(self.columns, row)):
                if cell and i != key:
                    if self.hanging:
                        Hanging([f"{column}:"], [("", [cell])], indent=2, hang=2).print_rich(console)
                    else:
                        console.print(Text(f"  {column}: {cell}"))
        for note in self.notes:
            console.print(Text(printable(note), style="dim"))

    def _key(self, row: Sequence[str]) -> int:
        """The column that names `row` when listed: the `key` column, or where its cell is
        empty (a row the key column leaves blank), the first cell that is not."""
        key = self.columns.index(self.key) if self.key in self.columns else 0
        if row[key]:
            return key
        return next((i for i, cell in enumerate(row) if cell), key)


_ASCII = str.maketrans({"…": "...", "→": "->", "▁": "_", "▂": ".", "▃": ",", "▄": ":", "▅": "-", "▆": "=",
                        "▇": "+", "█": "#"})


def encodable(text: str, stream: IO[str]) -> bool:
    if text.isascii():
        return True
    try:
        text.encode(getattr(stream, "encoding", None) or "utf-8")
    except (UnicodeEncodeError, LookupError):
        return False
    return True


def ascii_fallback(text: str) -> str:
    """`text` for a stream that shows ASCII only: bars, arrows and ellipses drawn with ASCII;
    other characters are escaped by the stream itself."""
    return text.translate(_ASCII)


Piece = str | tuple[str, str]  # text, or (text, Rich style)


def pieces_of(pieces: Iterable[Piece]) -> list[tuple[str, str]]:
    """(text, style) pairs, the text with control characters escaped."""
    return [(printable(p), "") if isinstance(p, str) else (printable(p[0]), p[1]) for p in pieces]


class Lines:
    """Lines of text made of (text, style) pieces: Rich styles in a terminal, plain text
    elsewhere; control characters escaped, as in Table. A line added with `add_hanging`
    keeps its shape in a terminal too narrow for it (see `Hanging`)."""

    def __init__(self) -> None:
        self.lines: list[list[tuple[str, str]] | Hanging] = []

    def add(self, *pieces: Piece) -> None:
        self.lines.append(pieces_of(pieces))

    def add_hanging(self, head: Sequence[Piece], rows: Sequence[tuple[str, Sequence[Piece]]], indent: int = 0) -> None:
        self.lines.append(Hanging(head, rows, indent))

    def print(self, stream: IO[str] | None = None) -> None:
        stream = stream or sys.stdout
        if not stream.isatty():
            stream.write("".join(
                (line.text() if isinstance(line, Hanging) else "".join(text for text, _ in line)) + "\n"
                for line in self.lines))
            return
        from rich.console import Console

        console = Console(file=stream, highlight=False)
        for line in self.lines:
            if isinstance(line, Hanging):
                line.print_rich(console)
            else:
                console.print(styled(line))


def styled(pieces: Iterable[tuple[str, str]]):
    """A Rich Text of (text, style) pieces; Text.append, so user text is never markup."""
    from rich.text import Text

    text = Text()
    for piece, style in pieces:
        text.append(piece, style=style or None)
    return text


class Hanging:
    """A line in parts that, in a terminal too narrow for it, breaks between its rows, each
    row wrapping under itself (a hanging indent), never back to the left margin.

    As one line (in a pipe, or wherever it fits): `indent` spaces, the head, then for each row
    a space, its lead and its pieces: `dL/da` + (`= `, `dL/de * de/da`) + (`= `, `6.0000`).
    Broken, a short head keeps the first row beside it and the other rows line up under it,
    their leads (stripped of spaces) in a column of their own; a head too long for that stands
    on its own line and the rows hang `hang` columns further in:

        dL/da = dL/de * de/da                dL/d(a*b + c)
              = (-2.0000)(b = -3.0000)           = dL/dL * d((a*b + c) * f)/d(a*b + c)
              = 6.0000                           = -2.0000
    """

    def __init__(self, head: Sequence[Piece], rows: Sequence[tuple[str, Sequence[Piece]]], indent: int = 0,
                 hang: int = 4):
        self.head = pieces_of(head)
        self.rows = [(printable(lead), pieces_of(row)) for lead, row in rows]
        self.indent = indent
        self.hang = hang

    def pieces(self) -> list[tuple[str, str]]:
        """The whole line, as pieces."""
        out = [(" " * self.indent, ""), *self.head]
        started = any(text for text, _ in self.head)
        for lead, row in self.rows:
            out += [(" " + lead if started else lead, ""), *row]
            started = True
        return out

    def text(self) -> str:
        return "".join(text for text, _ in self.pieces())

    def print_rich(self, console) -> None:
        """Print to a Rich console: one line where it fits, else broken into rows."""
        from rich.padding import Padding
        from rich.table import Table as RichTable
        from rich.text import Text

        width = console.width
        whole = styled(self.pieces())
        if whole.cell_len <= width:
            console.print(whole)
            return
        head = styled(self.head)
        leads = [lead.strip() + " " if lead.strip() else "" for lead, _ in self.rows]
        beside = self.indent + (head.cell_len + 1 if head.cell_len else 0)
        if beside + max(map(display_width, leads), default=0) <= width // 3:
            first = Text(" " * self.indent) + head + Text(" " if head.cell_len else "")
        else:
            if head.cell_len:
                console.print(Padding(head, (0, 0, 0, self.indent), expand=False))
            first = Text(" " * max(self.indent, min(self.indent + self.hang, width // 3)))
        grid = RichTable.grid()
        grid.add_column(no_wrap=True)  # the head, then nothing: the hanging indent
        if any(leads):  # (Rich gives even an empty column a width of 1)
            grid.add_column(no_wrap=True)
        grid.add_column(overflow="fold")  # the rows, wrapped by Rich; a word too long is folded, never cut
        for i, (lead, (_, row)) in enumerate(zip(leads, self.rows)):
            cells = [first if i == 0 else Text(""), Text(lead), styled(row)]
            grid.add_row(*(cells if any(leads) else cells[::2]))
        console.print(grid)


# -- a conversation at the terminal (`quiz`) ------------------------------------------------
def say(*pieces: Piece) -> None:
    """A line for the person at the terminal, wrapped at its width (Rich), user text never markup."""
    from rich.console import Console

    Console(highlight=False).print(styled(pieces_of(pieces)))


def ask(prompt: str) -> str:
    """A line typed after `prompt`: Rich's Console.input, which calls input() (line editing, and
    EOFError or KeyboardInterrupt as input() raises them)."""
    from rich.console import Console

    return Console(highlight=False).input(styled([(printable(prompt), "bold")]))


# -- JSON ----------------------------------------------------------------------------------
def finite(x: float | None) -> float | None:
    """x, or None (JSON null) where it is missing or not a finite number: JSON has no nan or inf."""
    return x if x is not None and x - x == 0 else None


def ref_json(program: Program, node: Value) -> dict:
    return {"id": program.node_id(node), "name": node.label if program.is_named(node) else None,
            "label": program.label(node), "value": finite(node.data)}


# -- one writer ----------------------------------------------------------------------------
@dataclass(frozen=True)
class View:
    """How a report is seen as a table: significant digits (`--precision`), every row however
    many (`--all`), and whether a person reads it at a terminal (else a file or a pipe, which
    gets every row of a long listing: a person who saves it wants them all)."""

    precision: int = DEFAULT_PRECISION
    show_all: bool = False
    terminal: bool = True


def at_a_terminal(stream: IO[str]) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # a closed or odd stream
        return False


class Report:
    """A command's result, complete when the core returns it; `emit` writes it in one format.

    Every report is a table for a person (`sections()`: Tables and Lines, shown with the
    `View` that `emit` gives it) and a JSON document for a script (`to_json`). A report may
    offer more formats by defining `write_<format>(stream)`: CSV (`write_csv`), LaTeX
    (`write_latex`). Adding a format is such a method here or on a report, and its option in
    commands/shared.py (`FORMATS`); no command changes.
    """

    gap = True  # a blank line between sections
    warnings: list[str]
    view: View = View()  # set by `emit`
    exit_code = 0  # what the command exits with once the report is shown (check: 1 when a gradient is wrong)

    @property
    def precision(self) -> int:
        return self.view.precision

    @property
    def show_all(self) -> bool:
        return self.view.show_all

    def sections(self) -> list:
        """Tables and Lines, in order."""
        raise NotImplementedError

    def to_json(self) -> dict:
        raise NotImplementedError

    def write_table(self, stream: IO[str]) -> None:
        for i, section in enumerate(self.sections()):
            if i and self.gap:
                stream.write("\n")
            section.print(stream)

    def write_json(self, stream: IO[str]) -> None:
        """The JSON document; a report with a very large one streams it instead."""
        import json

        stream.write(json.dumps(self.to_json(), indent=1) + "\n")

    def formats(self) -> tuple[str, ...]:
        """The formats this report can be written in: table, json, and each `write_<format>`."""
        return tuple(name.removeprefix("write_") for name in dir(self) if name.startswith("write_"))


def emit(report: Report, format: str | bool = "table", view: View | None = None, stream: IO[str] | None = None) -> None:
    """Write `report` to `stream` (stdout) in `format` ("table", "json", "csv", ...: the
    report's `write_<format>`; True and False stand for json and table), shown with `view`. A
    stream that cannot be written (a full disk) is an OutputError; a reader that went away
    (`| head`) is the caller's BrokenPipeError."""
    format = {True: "json", False: "table"}.get(format, format) if isinstance(format, bool) else format
    write = getattr(report, f"write_{format}", None)
    if write is None:
        raise UsageError(f"this result has no {format} form", hint=f"its forms are {', '.join(report.formats())}")
    stream = stream or sys.stdout
    report.view = replace(view or report.view, terminal=at_a_terminal(stream))
    try:
        write(stream)
        stream.flush()
    except BrokenPipeError:
        raise
    except OSError as failure:
        raise OutputError(f"cannot write the output: {failure.strerror or failure}",
                          hint="write it somewhere with room (or to a file with >)") from None


# -- progress ------------------------------------------------------------------------------
class DelayedProgress:
    """A Rich progress bar on stderr that appears only once work has taken `delay` seconds.

    Call it as `progress(done, total)`, or `progress(done, total, description)` to change the
    words beside the bar (`step` shows the current loss there); it stays silent unless `enabled` (the caller decides:
    never for --json, never when stdout or stderr is not a terminal). Use it as a context
    manager so the bar is removed however the work ends.
    """

    refresh = 0.1  # seconds between updates of the bar, however long or short a unit of work is

    def __init__(self, description: str, enabled: bool, delay: float = 1.0, clock=None):
        import time

        self._clock = clock or time.monotonic  # seconds; a test passes its own
        self.description = description
        self.enabled = enabled
        self.delay = delay
        self._start = self._clock()
        self._bar = None
        self._task = None
        self._shown_at = self._start

    def __call__(self, done: int, total: int, description: str | None = None) -> None:
        if not self.enabled:
            return
        if description is not None:
            self.description = description
        if self._bar is None:
            if self._clock() - self._start < self.delay or done >= total:
                return
            from rich.console import Console
            from rich.progress import Progress

            self._bar = Progress(console=Console(file=sys.stderr), transient=True)
            self._bar.start()
            self._task = self._bar.add_task(self.description, total=total, completed=done)
        elif self._clock() - self._shown_at < self.refresh and done < total:
            return  # ten updates a second are plenty; one per step of a million would cost more than the work
        self._shown_at = self._clock()
        self._bar.update(self._task, completed=done, total=total, description=self.description)

    @property
    def shown(self) -> bool:
        """Whether the bar is on screen now."""
        return self._bar is not None

    def __enter__(self) -> "DelayedProgress":
        return self

    def __exit__(self, *exc) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None
