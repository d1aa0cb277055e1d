"""Program results as text: a Rich table in a terminal, plain aligned text in a pipe, JSON.

Rich is imported only when the output is a terminal; JSON never goes through Rich.
"""

from __future__ import annotations

import json
import sys
from typing import IO, Iterable, Sequence

from scalargrad.engine import Value
from scalargrad.program import Program, source_label

DEFAULT_PRECISION = 10  # significant digits: -7.286496 stays -7.286496, float noise goes
ROW_LIMIT = 200  # past this many nodes the table shows named nodes only


def number(x: float, precision: int = DEFAULT_PRECISION) -> str:
    text = f"{x:.{precision}g}"
    return "0" if text == "-0" else text


def fixed(x: float, decimals: int = 4) -> str:
    """A number as the lecture prints it (`%.4f`), never `-0.0000`, and with an exponent
    where fixed decimals would hide it (0 < |x| < 10**-decimals) or bloat it (|x| >= 1e9)."""
    if x == 0 or 10.0**-decimals <= abs(x) < 1e9:
        text = f"{x:.{decimals}f}"
        return text[1:] if text.startswith("-") and float(text) == 0 else text
    return f"{x:.{decimals}e}"


def op_text(program: Program, node: Value) -> str:
    kind = program.kind(node)
    if kind != "op":
        return kind if kind == "const" else ""
    from scalargrad.ops import OPS

    return OPS[node._op].symbol


def role(program: Program, node: Value, of: Value | None = None) -> str:
    roles = []
    if program.kind(node) == "input":
        roles.append("input" + (" (default)" if node.label in program.defaults else ""))
    if node is program.output:
        roles.append("output")
    if of is not None and node is of and of is not program.output:
        roles.append("differentiated")
    return ", ".join(roles)


def select_rows(program: Program, show_all: bool, limit: int = ROW_LIMIT) -> tuple[list[Value], str]:
    """The nodes to show, and a line saying what was left out and how to see it."""
    nodes = program.nodes
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


class Table:
    """Rows of text cells, drawn with Rich in a terminal and as plain columns elsewhere."""

    def __init__(self, columns: Sequence[str], title: str = "", right: Iterable[str] = ()):
        self.columns = list(columns)
        self.title = title
        self.right = set(right)
        self.rows: list[list[str]] = []
        self.styles: list[str] = []
        self.notes: list[str] = []

    def add(self, *cells: str, style: str = "") -> None:
        self.rows.append([str(c) for c in cells])
        self.styles.append(style)

    def print(self, stream: IO[str] | None = None) -> None:
        stream = stream or sys.stdout
        if stream.isatty():
            self._print_rich(stream)
        else:
            self._print_plain(stream)

    def _print_plain(self, stream: IO[str]) -> None:
        widths = [len(c) for c in self.columns]
        for row in self.rows:
            for i, cell in enumerate(row):
                widths[i] = max(widths[i], len(cell))

        def line(cells: Sequence[str]) -> str:
            out = []
            for i, cell in enumerate(cells):
                out.append(cell.rjust(widths[i]) if self.columns[i] in self.right else cell.ljust(widths[i]))
            return "  ".join(out).rstrip()

        if self.title:
            stream.write(self.title + "\n")
        stream.write(line(self.columns) + "\n")
        stream.write("\n".join(line(row) for row in self.rows) + "\n" if self.rows else "")
        for note in self.notes:
            stream.write(note + "\n")

    def _print_rich(self, stream: IO[str]) -> None:
        from rich.console import Console
        from rich.table import Table as RichTable
        from rich.text import Text

        console = Console(file=stream)
        table = RichTable(title=Text(self.title) if self.title else None, title_justify="left")
        for column in self.columns:
            table.add_column(column, justify="right" if column in self.right else "left", overflow="fold")
        for row, style in zip(self.rows, self.styles):
            table.add_row(*(Text(cell) for cell in row), style=style or None)  # Text: user text is never markup
        console.print(table)
        for note in self.notes:
            console.print(Text(note, style="dim"))


class Lines:
    """Lines of text made of (text, style) pieces: Rich styles in a terminal, plain text elsewhere."""

    def __init__(self) -> None:
        self.lines: list[list[tuple[str, str]]] = []

    def add(self, *pieces: tuple[str, str] | str) -> None:
        self.lines.append([(p, "") if isinstance(p, str) else p for p in pieces])

    def print(self, stream: IO[str] | None = None) -> None:
        stream = stream or sys.stdout
        if not stream.isatty():
            stream.write("".join("".join(text for text, _ in line) + "\n" for line in self.lines))
            return
        from rich.console import Console
        from rich.text import Text

        console = Console(file=stream, highlight=False)
        for line in self.lines:
            text = Text()
            for piece, style in line:
                text.append(piece, style=style or None)  # Text.append: user text is never markup
            console.print(text)


def grad_table(program: Program, of: Value, precision: int, show_all: bool) -> Table:
    nodes, note = select_rows(program, show_all)
    title = f"gradients of {program.label(of)} = {number(of.data, precision)}"
    table = Table(["id", "node", "op", "data", "grad", "role"], title=title, right={"id", "data", "grad"})
    for node in nodes:
        kind = program.kind(node)
        style = "bold" if node is program.output or node is of else ("cyan" if kind == "input" else "")
        grad = "" if kind == "const" else number(node.grad, precision)
        table.add(str(program.node_id(node)), program.label(node), op_text(program, node),
                  number(node.data, precision), grad, role(program, node, of), style=style)
    if note:
        table.notes.append(note)
    return table


# -- JSON ----------------------------------------------------------------------------------
def ref_json(program: Program, node: Value) -> dict:
    return {"id": program.node_id(node), "name": node.label if program.is_named(node) else None,
            "label": program.label(node), "value": node.data}


def write_grad_json(program: Program, of: Value, origin: dict[str, str], warnings: list[str],
                    stream: IO[str] | None = None) -> None:
    """The `grad --json` document (schema in docs/json.md), streamed.

    One top-level field a line and one node a line. Everything goes through the json
    module's C encoder (json.dumps with `indent` would fall back to its pure-Python one) and
    node lines are formatted directly: a million nodes must not become a million dicts.
    """
    from json.encoder import encode_basestring_ascii as quote

    from scalargrad.ops import CONST, LEAF, OPS

    stream = stream or sys.stdout
    head = {
        "schema": "scalargrad.grad/1",
        "output": ref_json(program, program.output),
        "of": ref_json(program, of),
        "inputs": {name: {"value": node.data, "grad": node.grad, "from": origin.get(name, "")}
                   for name, node in program.inputs.items()},
        "grads": {name: None if node._op == CONST else node.grad for name, node in program.names.items()},
        "warnings": warnings,
    }
    stream.write("{\n" + "".join(f" {quote(key)}: {json.dumps(value)},\n" for key, value in head.items()))
    stream.write(' "nodes": [\n')
    ops = {name: quote(op.symbol) for name, op in OPS.items()}
    ops[CONST], ops[LEAF] = '"const"', "null"
    kinds = {CONST: '"const"', LEAF: '"input"'}
    OP_KIND = '"op"'  # noqa: N806
    nodes, names, spans, source = program.nodes, program.names, program.spans, program.source
    ids = {id(node): str(i) for i, node in enumerate(nodes)}
    lines = []
    last = len(nodes) - 1
    for i, node in enumerate(nodes):
        op = node._op
        start, end = spans[i]
        if node.label and names.get(node.label) is node:
            label = name = quote(node.label)
        else:
            label, name = quote(source_label(source, start, end)), "null"
        parents = ", ".join([ids[id(p)] for p in node._prev])
        grad = "null" if op == CONST else repr(node.grad)
        lines.append(
            f'  {{"id": {i}, "label": {label}, "name": {name}, "kind": {kinds.get(op, OP_KIND)}, "op": {ops[op]}, '
            f'"parents": [{parents}], "data": {node.data!r}, "grad": {grad}, "span": [{start}, {end}]}}'
        )
        if len(lines) == 10_000 or i == last:
            stream.write(",\n".join(lines) + (",\n" if i < last else "\n"))
            lines = []
    stream.write(" ]\n}\n")


# -- progress ------------------------------------------------------------------------------
class DelayedProgress:
    """A Rich progress bar on stderr that appears only once work has taken `delay` seconds.

    Call it as `progress(done, total)`; it stays silent unless `enabled` (the caller decides:
    never for --json, never when stdout or stderr is not a terminal). Use it as a context
    manager so the bar is removed however the work ends.
    """

    def __init__(self, description: str, enabled: bool, delay: float = 1.0):
        import time

        self._clock = time.monotonic
        self.description = description
        self.enabled = enabled
        self.delay = delay
        self._start = self._clock()
        self._bar = None
        self._task = None
        self._shown_done = 0

    def __call__(self, done: int, total: int) -> None:
        if not self.enabled:
            return
        if self._bar is None:
            if self._clock() - self._start < self.delay or done >= total:
                return
            from rich.console import Console
            from rich.progress import Progress

            self._bar = Progress(console=Console(file=sys.stderr), transient=True)
            self._bar.start()
            self._task = self._bar.add_task(self.description, total=total)
        elif done - self._shown_done < total // 500 and done < total:
            return  # a few hundred updates are plenty; a million would cost more than the work
        self._shown_done = done
        self._bar.update(self._task, completed=done)

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
