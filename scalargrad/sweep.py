"""`scalargrad sweep`: a program's output and every input's gradient over many points at once.

The points are a grid of ranges (`--x -5:5:0.25`, several ranged inputs make a grid) or the
rows of a CSV file (`--points FILE.csv`); the other inputs keep their usual values. Every
point goes through the graph in one pass: each node holds a NumPy array with one element per
point, forward in topological order and backward in reverse, with the values and local
derivatives of the table's NumPy columns (`ops.Op.np_forward`, `np_local`). Points are taken
in chunks so that memory stays bounded however many there are, and their number is held to
the size budget (scalargrad.budget) before any is computed: the points times the graph's nodes
are node evaluations of its work, and the points times the columns kept (the swept inputs, the
output and every gradient) are numbers held at once.

A point where some value leaves an op's domain (log of a negative, ...) is not an error for
the whole sweep: its value and gradients are nan (null in JSON, empty in CSV), and the
report counts such points and names the first with the reason `grad` would give there.
NumPy is imported only here, and only when a sweep runs.
"""

from __future__ import annotations

import csv
import io
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Callable

from scalargrad import budget
from scalargrad.arguments import Range, parse_range
from scalargrad.engine import ancestors
from scalargrad.errors import BudgetError, ScalarGradError, UsageError
from scalargrad.ops import CONST, LEAF, rule
from scalargrad.program import Program
from scalargrad.render import Lines, Report, Table, number

SCHEMA = "scalargrad.sweep/1"
LIMIT = 10_000_000  # rows of a points file read at most
RESULTS_PER_NODE = 16  # numbers a sweep keeps (points x columns) per node of the budget: 32 million by default
CHUNK = 1 << 16  # points per pass at most
PASS_NUMBERS = 1 << 22  # numbers per array a pass holds (nodes x points): 32 MB, however big the graph
GRADIENT_COLUMNS = 8  # a table shows every input's gradient up to this many inputs, else the swept ones
ROWS_SHOWN = 25  # a longer sweep's table shows this many points, evenly spaced (--all: every one)


# -- the points ------------------------------------------------------------------------------
def read_points(path: str | Path, what: str = "points", option: str = "--points") -> dict[str, list[float]]:
    """The columns of a CSV file whose header row names inputs (`data.read_columns`, the one
    CSV reader); a missing or non-numeric cell is an error naming its row, line and column."""
    from scalargrad.data import read_columns

    columns = read_columns(path, option=option, name=f"the {what} file {path}").columns
    count = len(next(iter(columns.values())))
    if count > LIMIT:
        raise UsageError(f"the {what} file {path} has {count:,} points, above the limit of {LIMIT:,}")
    return columns


def grid_size(ranges: list[Range], program: Program) -> int:
    """The number of points of the grid, refused over the size budget (`afford`) before
    anything is computed."""
    size = math.prod(r.count for r in ranges)
    shape = " x ".join(f"{r.count:,} ({r.name})" for r in ranges)
    afford(program, size, len(ranges), f"the grid would have {size:,} points ({shape})",
           "use larger steps, or fewer ranged inputs")
    return size


def afford(program: Program, size: int, swept: int, points: str, way_around: str) -> None:
    """Refuse a sweep of `size` points of `swept` inputs (`points` says which) over the size
    budget: the numbers it keeps (the swept inputs, the output and every gradient at each
    point) at most RESULTS_PER_NODE per node of the budget, and its work, a run of the graph
    per point."""
    gradients = len(program.inputs)
    columns = swept + 1 + gradients
    kept, allowed = size * columns, RESULTS_PER_NODE * budget.nodes()
    if kept > allowed:
        needed = -(-kept // RESULTS_PER_NODE)
        raise BudgetError(f"{points}: with {columns:,} columns ({swept} swept, the output and {gradients:,} "
                          f"gradient{'s' * (gradients != 1)}) that is "
                          f"{kept:,} numbers; the budget allows {allowed:,} ({RESULTS_PER_NODE} per node of "
                          f"{budget.OPTION} {budget.nodes():,})",
                          hint=f"{way_around}, or raise it with {budget.OPTION} {needed} (or {budget.ENV_VAR}={needed})")
    budget.check_work(size * len(program.nodes), f"{points}: runs of a {len(program.nodes):,}-node graph are",
                      way_around=way_around)


# -- the pass --------------------------------------------------------------------------------
def numpy():
    """NumPy, imported only when a sweep runs."""
    try:
        import numpy as np
    except ImportError:
        raise UsageError("sweep needs NumPy, which is not installed", hint="pip install numpy") from None
    return np


def numpy_row(op: str):
    row = rule(op)
    if row.np_forward is None or row.np_local is None:
        raise UsageError(f"the op `{op}` has no NumPy column in the derivative table",
                         hint="give its row in ops.py np_forward and np_local")
    return row


def run_pass(program: Program, leaves: dict[str, object], of=None) -> tuple[object, dict[str, object], object]:
    """One pass over `program` with an array (or a number) for each input in `leaves`: the
    output's values, each input's gradient, and a mask of the points where some value was
    not finite (outside an op's domain). Forward in topological order, backward reversed."""
    np = numpy()
    nodes, of = program.nodes, of or program.output
    index = {id(node): i for i, node in enumerate(nodes)}
    needed = ancestors(nodes, of) if of is not program.output else None  # what --of reads, no more
    values: list = [None] * len(nodes)
    outside = np.zeros((), dtype=bool)
    for i, node in enumerate(nodes):
        if needed is not None and id(node) not in needed:
            continue
        if not node._prev:
            values[i] = np.float64(leaves[node.label] if node._op == LEAF else node.data)
            continue
        values[i] = numpy_row(node._op).np_forward(np, *[values[index[id(p)]] for p in node._prev])
        outside = outside | ~np.isfinite(values[i])
    grads: list = [None] * len(nodes)
    grads[index[id(of)]] = np.float64(1.0)
    for i in range(len(nodes) - 1, -1, -1):
        node, g = nodes[i], grads[i]
        if g is None or not node._prev:
            continue
        operands = [values[index[id(p)]] for p in node._prev]
        for parent, local in zip(node._prev, numpy_row(node._op).np_local(np, values[i], *operands)):
            share = np.where(g == 0, 0.0, g * local)  # as engine.backward: no share from a 0 gradient
            j = index[id(parent)]
            grads[j] = share if grads[j] is None else grads[j] + share
    input_grads = {name: np.float64(0.0) if grads[index[id(node)]] is None or node._op == CONST
                   else grads[index[id(node)]] for name, node in program.inputs.items()}
    return values[index[id(of)]], input_grads, outside


def sweep(program: Program, values: dict[str, float], *, ranges: list[Range] | dict[str, str] | None = None,
          points: dict[str, list[float]] | None = None, at: float | None = None, of: str | None = None,
          origin: dict[str, str] | None = None, warnings: list[str] | None = None,
          progress: Callable[[int, int], None] | None = None) -> SweepReport:
    """`program`'s output (or the node named `of`) and every input's gradient at each point of
    `ranges` (`arguments.Range`s, or input -> text `start:stop:step`; a grid when there are several) or of `points`
    (input -> column); the other inputs at `values`, else at the program's defaults. `at` (one
    swept input only) adds the tangent there. `progress(done, total)` after each chunk of points."""
    np = numpy()
    target = swept_node(program, of)
    if ranges and points:
        raise UsageError("give ranges or --points, not both", hint="put every swept input in the points file")
    if not ranges and not points:
        raise UsageError("nothing to sweep", hint="give an input a range, as in --x -5:5:0.25, or --points FILE.csv")
    parsed = [parse_range(name, text) for name, text in ranges.items()] if isinstance(ranges, dict) else list(ranges or ())
    for name in [r.name for r in parsed] or points:
        program.input(name, "sweep")
    if parsed:
        grid_size(parsed, program)
        axes = np.meshgrid(*[r.values(np) for r in parsed], indexing="ij")
        swept = {r.name: axis.ravel() for r, axis in zip(parsed, axes)}
    else:
        rows = len(next(iter(points.values())))
        afford(program, rows, len(points), f"the points file has {rows:,} points", "sweep fewer points")
        swept = {name: np.asarray(column, dtype=float) for name, column in points.items()}
    fixed = _fixed(program, values, swept, target)
    output, grads, outside = _compute(np, program, swept, fixed, target, progress)
    report = SweepReport(program, swept, fixed, dict(origin or {}), output, grads, parsed,
                         warnings=list(warnings or []), of=target)
    report.domain = _trouble(program, swept, fixed, outside)
    broken = ~outside & np.any([~np.isfinite(grad) for grad in grads.values()], axis=0) if grads else outside & False
    report.undefined = _trouble(program, swept, fixed, broken)
    for grad in grads.values():
        grad[~np.isfinite(grad)] = np.nan
    if at is not None:
        report.tangent = _tangent(np, program, swept, fixed, at, target)
        report.warnings.extend(_outside(swept, at))
    return report


def _outside(swept: dict, at: float) -> list[str]:
    """The warning when `--at` lies outside the values swept: its tangent is computed, but off
    the curve that the table and the plot show."""
    (name, values), = swept.items()
    low, high = float(values.min()), float(values.max())
    if low <= at <= high:
        return []
    return [f"--at {at:g} lies outside the values of {name} swept ({low:g} to {high:g}): the tangent there is "
            f"not on the curve shown; sweep a range that includes it, as in --{name} "
            f"{min(low, at):g}:{max(high, at):g}:{(max(high, at) - min(low, at)) / 40:g}"]


def plot_title(report) -> str:
    """The program itself when it is one statement (`L = (a*b + c) * f`), else what is drawn
    over what (`score over x1 and x2`): never a comment or a definition from its first line."""
    lines = [line.split("#", 1)[0].strip() for line in report.program.source.splitlines()]
    statements = [line for line in lines if line]
    if len(statements) == 1 and ";" not in statements[0] and (report.of is None or report.of is report.program.output):
        return statements[0][:70]
    return f"{report.output_label} over {' and '.join(r.name for r in report.ranges)}"


def swept_node(program: Program, of: str | None):
    """The node `--of` names (a scalar: a name, an element `score[0]` or an id), else the output."""
    if of is None:
        return program.output
    if of in program.arrays:
        shape, labels = program.arrays[of]
        raise UsageError(f"`{of}` is an array of shape {shape}: sweep --of takes one number",
                         hint=f"name one element, such as `{labels[0]}`, or a scalar node")
    return program.node(of)


def _fixed(program: Program, values: dict[str, float], swept: dict, target) -> dict[str, float]:
    """The inputs not swept, each at its value in `values`, else at the program's default (as
    `Program.run` takes them); one that `target` reads and that has neither is an InputError."""
    reads = None if target is program.output else ancestors(program.nodes, target)
    needed = {name: node for name, node in program.inputs.items()
              if name not in swept and (reads is None or id(node) in reads or name in values)}
    return program.filled({name: values[name] for name in needed if name in values}, needed)


def _compute(np, program: Program, swept: dict, fixed: dict[str, float], target, progress=None):
    """Every point through `run_pass`, in chunks of points small enough that a pass holds at
    most PASS_NUMBERS numbers per array; nan where outside the domain."""
    size = len(next(iter(swept.values())))
    output = np.empty(size)
    grads = {name: np.empty(size) for name in program.inputs}
    outside = np.zeros(size, dtype=bool)
    chunk = max(1, min(CHUNK, PASS_NUMBERS // max(1, len(program.nodes))))
    with np.errstate(all="ignore"):
        for start in range(0, size, chunk):
            part = slice(start, min(size, start + chunk))
            value, part_grads, bad = run_pass(program, {**fixed, **{name: v[part] for name, v in swept.items()}},
                                              of=target)
            output[part], outside[part] = value, bad
            for name, grad in part_grads.items():
                grads[name][part] = grad
            if progress is not None:
                progress(part.stop, size)
    output[outside] = np.nan
    for grad in grads.values():
        grad[outside] = np.nan
    return output, grads, outside


def _trouble(program: Program, swept: dict, fixed: dict[str, float], mask) -> Trouble | None:
    """How many points `mask` holds, and the first, with the reason `grad` gives there."""
    count = int(mask.sum())
    if not count:
        return None
    k = int(mask.argmax())
    first = {name: float(values[k]) for name, values in swept.items()}
    try:
        program.run({**fixed, **first})
        reason = "a value there is not a finite number"
    except ScalarGradError as error:
        reason = error.message
    return Trouble(count, first, reason)


def _tangent(np, program: Program, swept: dict, fixed: dict[str, float], at: float,
             target) -> tuple[float, float, float]:
    """(at, the output there, its slope along the one swept input) for --at."""
    if len(swept) != 1:
        raise UsageError(f"--at needs one swept input, not {len(swept)} ({', '.join(swept)})",
                         hint="sweep one input to draw a tangent; fix the others with --NAME VALUE")
    (name,) = swept
    with np.errstate(all="ignore"):
        value, grads, outside = run_pass(program, {**fixed, name: at}, of=target)
    slope = float(grads[name])
    if bool(outside) or not math.isfinite(slope):
        raise UsageError(f"--at {at:g}: the output or its slope is undefined at {name} = {at:g}",
                         hint=f"choose a point inside the domain; scalargrad grad shows why at {name} = {at:g}")
    return at, float(value), slope


# -- the sweep -------------------------------------------------------------------------------
@dataclass
class Trouble:
    """Points where something is undefined: how many, the first one, and why there."""

    count: int
    first: dict[str, float]
    reason: str

    def to_json(self) -> dict:
        return {"count": self.count, "first": self.first, "reason": self.reason}


@dataclass
class SweepReport(Report):
    program: Program
    swept: dict[str, object]  # swept input -> its value at each point (arrays)
    fixed: dict[str, float]  # the other inputs' values
    origin: dict[str, str]
    output: object  # the output's value at each point
    grads: dict[str, object]  # every input -> its gradient at each point
    ranges: list[Range] = field(default_factory=list)  # empty for --points
    domain: Trouble | None = None  # points outside some op's domain: all nan
    undefined: Trouble | None = None  # points where some gradient is not finite
    tangent: tuple[float, float, float] | None = None  # --at: x, output, slope
    warnings: list[str] = field(default_factory=list)
    of: object = None  # the node swept (`--of`), else the output

    @property
    def size(self) -> int:
        return len(self.output)

    @property
    def output_label(self) -> str:
        return self.program.label(self.of if self.of is not None else self.program.output)

    def columns(self, every: bool = True) -> list[tuple[str, object]]:
        """(header, values) in table order: swept inputs, the output, every input's gradient
        (with `every` False and more than GRADIENT_COLUMNS inputs, the swept inputs' only)."""
        out = self.output_label
        few = every or len(self.grads) <= GRADIENT_COLUMNS
        return ([(name, values) for name, values in self.swept.items()] + [(out, self.output)]
                + [(f"d{out}/d{name}", grad) for name, grad in self.grads.items() if few or name in self.swept])

    def rows(self) -> list[int]:
        """The points the table shows: all (with --all, or into a file or a pipe), or at a
        terminal ROWS_SHOWN of them evenly spaced, first and last."""
        if self.show_all or not self.view.terminal or self.size <= ROWS_SHOWN:
            return list(range(self.size))
        last = self.size - 1
        return sorted({round(k * last / (ROWS_SHOWN - 1)) for k in range(ROWS_SHOWN)})

    def sections(self) -> list:
        precision = self.precision
        columns = self.columns(every=False)
        title = f"{self.output_label} and its gradients at {self.size:,} point{'s' if self.size != 1 else ''}"
        if 0 < len(self.fixed) <= GRADIENT_COLUMNS:
            title += "; " + ", ".join(f"{name} = {number(value, precision)}" for name, value in self.fixed.items())
        elif self.fixed:
            title += f"; {len(self.fixed):,} other inputs fixed (--json lists them)"
        table = Table([header for header, _ in columns], title=title, right={header for header, _ in columns})
        for k in self.rows():
            table.add(*[_cell(float(values[k]), precision) for _, values in columns])
        shown = len(self.rows())
        if shown < self.size:
            table.notes.append(f"{shown} of {self.size:,} points shown, evenly spaced; --all shows every point")
        if len(columns) < len(self.columns()):
            table.notes.append(f"the gradients of the {len(self.fixed):,} other inputs are in --output FILE.csv and --json")
        for trouble, what in ((self.domain, "outside the domain: no value there"),
                              (self.undefined, "some gradient is undefined or infinite there")):
            if trouble is not None:
                table.notes.append(f"{trouble.count:,} point{'s' if trouble.count != 1 else ''} {what}; "
                                   f"first at {_point(trouble.first)}: {trouble.reason}")
        sections: list = [table]
        if self.tangent is not None:
            x, y, slope = self.tangent
            lines = Lines()
            lines.add(f"at {next(iter(self.swept))} = {number(x, precision)}: {self.output_label} = "
                      f"{number(y, precision)}, slope {number(slope, precision)}")
            sections.append(lines)
        return sections

    def to_json(self) -> dict:
        stream = io.StringIO()
        self.write_json(stream)
        return json.loads(stream.getvalue())

    def write_json(self, stream: IO[str]) -> None:
        """The `sweep --json` document (docs/json.md): one array per column, null where undefined."""
        head = {
            "schema": SCHEMA,
            "output": self.output_label,
            "points": self.size,
            "ranges": {r.name: {"start": r.start, "stop": r.stop, "step": r.step, "count": r.count}
                       for r in self.ranges},
            "fixed": {name: {"value": value, "from": self.origin.get(name, "")} for name, value in self.fixed.items()},
            "inputs": {name: _json_list(values) for name, values in self.swept.items()},
            "values": _json_list(self.output),
            "grads": {name: _json_list(grad) for name, grad in self.grads.items()},
            "domain": None if self.domain is None else self.domain.to_json(),
            "undefined": None if self.undefined is None else self.undefined.to_json(),
            "tangent": None if self.tangent is None else dict(zip(("at", "value", "slope"), self.tangent)),
            "warnings": self.warnings,
        }
        stream.write("{\n" + ",\n".join(f" {json.dumps(key)}: {json.dumps(value)}" for key, value in head.items())
                     + "\n}\n")

    def write_csv(self, stream: IO[str]) -> None:
        """A header row, then one row per point; an undefined number is an empty cell."""
        columns = self.columns()
        writer = csv.writer(stream, lineterminator="\n")
        writer.writerow([header for header, _ in columns])
        lists = [values.tolist() for _, values in columns]
        for start in range(0, self.size, CHUNK):
            writer.writerows([["" if x != x else repr(x) for x in row]
                              for row in zip(*[values[start:start + CHUNK] for values in lists])])


def _cell(x: float, precision: int) -> str:
    return "undefined" if x != x else number(x, precision)


def _point(point: dict[str, float]) -> str:
    return ", ".join(f"{name} = {x:g}" for name, x in point.items())


def _json_list(values) -> list:
    return [None if x != x else x for x in values.tolist()]


def read_marks(path: str | Path, names: list[str]) -> dict[str, list[float]]:
    """`--marks FILE.csv`: points to draw on a map, a column for each swept input (`names`) and
    at most one more, whose values colour them (a data set's labels)."""
    columns = read_points(path, "marks", "--marks")
    hint = f"its header names the two swept inputs ({', '.join(names)}) and at most one more column, the points' labels"
    for name in names:
        if name not in columns:
            raise UsageError(f"the marks file {path} has no column `{name}`", hint=hint)
    others = [name for name in columns if name not in names]
    if len(others) > 1:
        raise UsageError(f"the marks file {path} has {len(others)} columns besides {', '.join(names)}: "
                         f"{', '.join(others)}", hint=hint)
    return {name: columns[name] for name in [*names, *others]}


def draw(report: SweepReport, path: str | Path, marks: str | Path | None = None) -> None:
    """--plot: the output over one swept input (with the tangent of --at), or a heat map with
    gradient arrows over two. Needs ranges: a grid, not a points file. `marks` (a CSV file,
    two inputs only) adds its points, and the line where the output is 0: a classifier's
    decision boundary."""
    from scalargrad.plot import plot_curve, plot_format, plot_map, require_matplotlib

    plot_format(path)
    if not report.ranges or len(report.ranges) > 2:
        given = f"{len(report.ranges)} ranged inputs" if report.ranges else "--points"
        raise UsageError(f"--plot draws one or two ranged inputs, not {given}",
                         hint="sweep one input (a curve) or two (a map), as in --x -5:5:0.25")
    single = next((r for r in report.ranges if r.count < 2), None)
    if single is not None:
        drawing = "a map needs at least 2 values of each input" if len(report.ranges) == 2 else \
            "a curve needs at least 2 values"
        raise UsageError(f"{drawing}; `{single.name}` has 1",
                         hint=f"give {single.name} a range with room for two steps or more, as in --{single.name} 0:1:0.1")
    if marks is not None and len(report.ranges) != 2:
        raise UsageError("--marks draws points on a map: sweep two inputs",
                         hint="give two inputs a range, as in --x1 -2:3:0.05 --x2 -1.5:2:0.05")
    points = read_marks(marks, [r.name for r in report.ranges]) if marks is not None else None
    require_matplotlib()
    output, title = report.output_label, plot_title(report)
    if len(report.ranges) == 1:
        (name,) = report.swept
        plot_curve(path, report.swept[name].tolist(), report.output.tolist(), x_name=name, y_name=output,
                   title=title, tangent=report.tangent)
        return
    shape = tuple(r.count for r in report.ranges)
    first, second = (r.name for r in report.ranges)
    plot_map(path, report.swept[first].reshape(shape), report.swept[second].reshape(shape),
             report.output.reshape(shape), report.grads[first].reshape(shape), report.grads[second].reshape(shape),
             names=(first, second), output=output, title=title, marks=points)
