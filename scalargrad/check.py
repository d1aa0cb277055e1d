"""Numerical verification of gradients: the lecture's "nudge it by h and see" for every node.

For each checked node x the program's output (or the node given as `of`) is
re-evaluated with x moved to x + h (and x - h for central differences), holding every
other node fixed, exactly as the lecture does for d and e. Only the nodes downstream
of x, and upstream of the differentiated node, are re-evaluated: the parsed graph is
reused, never parsed again, and every value is restored afterwards.

    >>> from scalargrad import parse
    >>> from scalargrad.check import check_gradients
    >>> program = parse("e = a*b; d = e + c; L = d * f")
    >>> report = check_gradients(program, {"a": 2, "b": -3, "c": 10, "f": -2}, method="forward", eps=1e-4)
    >>> report.ok, report.row("d").numeric
    (True, -1.9999999999953388)

The step: with `eps` given it is the user's, fixed (the lecture's `h`, or `eps * max(1, |x|)`
with `relative_step`), one difference per node and that difference is the verdict. Without
`eps` it adapts: h = cbrt(machine epsilon) * max(1, |x|) for central differences
(sqrt(machine epsilon) * max(1, |x|) for forward ones), and a node whose first difference
disagrees gets a second opinion before it may FAIL: Richardson extrapolation of central
differences over the steps h, h/2, h/4, ... (Ridders' method), which also estimates its own
error. Nodes that agree at once cost nothing extra.

Statuses: PASS when |analytic - numeric| <= atol + rtol * |numeric|, FAIL otherwise,
KINK where the program is not differentiable at the node or where a finite difference
cannot say anything about the gradient:
- a `kink` predicate of `ops.OPS` holds for an operation downstream of it (relu or abs at 0,
  sqrt at 0, ...);
- a kink lies within the step (an operand of a kinked operation passes through 0 between
  x - h and x + h) and the analytic gradient lies between the left and right one-sided
  differences, which the row shows (`left`, `right`);
- a pole lies within the step (a divisor or a base with a negative exponent passes through 0);
- a step leaves an operation's domain and the one-sided difference does not agree either;
- the extrapolated differences do not settle (their error estimate explains the gap).
A KINK is explained and is not a failure.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from bisect import bisect_right
from collections import deque
from itertools import compress, repeat
from operator import attrgetter
from typing import TYPE_CHECKING, Callable, Iterable, Mapping, Sequence

from scalargrad import expect as expect_module
from scalargrad.engine import Value
from scalargrad.errors import DomainError, UsageError
from scalargrad.expect import Expectation
from scalargrad.ops import CONST, OPS
from scalargrad.program import Program
from scalargrad.render import Report, Table, finite, number, ref_json

if TYPE_CHECKING:
    from scalargrad.session import SessionUse

METHODS = ("central", "forward")
DEFAULT_EPS = 1e-6  # as torch.autograd.gradcheck: the fixed step suggested in hints
# The adaptive steps per unit of max(1, |x|): they balance truncation against rounding error,
# cbrt(machine epsilon) ~ 6.06e-6 for central differences, sqrt(machine epsilon) ~ 1.49e-8 for
# forward ones (the textbook choices, e.g. Numerical Recipes 5.7).
ADAPTIVE_STEP = {"central": 2.0 ** (-52 / 3), "forward": 2.0 ** -26}
DEFAULT_ATOL = 1e-5
DEFAULT_RTOL = 1e-3
PASS, FAIL, KINK, UNDEFINED = "PASS", "FAIL", "KINK", "UNDEFINED"
STYLES = {PASS: "", FAIL: "bold red", KINK: "yellow", UNDEFINED: "yellow"}
_DATA = attrgetter("data")
_MASK_BATCH = 256  # nodes whose downstream sets are found in one pass over the graph
_LEVELS = 12  # Richardson: at most this many steps h, h/2, ..., h/2**11 (2 evaluations each)
_UNSETTLED = 1e-3  # an extrapolation whose error estimate exceeds 0.1% of its value has not settled

Progress = Callable[[int, int], None]  # (checked so far, to check)


@dataclass
class CheckRow:
    """One checked node: its analytic and numeric gradient and the verdict."""

    node: Value
    id: int
    label: str
    name: str | None
    data: float
    analytic: float
    numeric: float | None  # None when no difference could be taken
    step: float  # h (the first, largest step when the difference was extrapolated)
    # "central", "forward" or "backward" (one-sided), "richardson" (extrapolated central
    # differences over h, h/2, ...), None if none could be taken
    difference: str | None
    abs_error: float | None
    rel_error: float | None  # abs_error / |numeric|; inf when numeric is 0 and they differ
    status: str  # PASS, FAIL, KINK, or UNDEFINED (backprop's gradient has no value here: d/dz of x**z at x < 0)
    reason: str = ""  # why a row is KINK, UNDEFINED or FAIL, or why a one-sided difference was used
    # One-sided differences (f(x) - f(x - h)) / h and (f(x + h) - f(x)) / h, where a kink or a
    # pole lies within the step (or exactly at the point): the two slopes the corner has.
    left: float | None = None
    right: float | None = None
    error_estimate: float | None = None  # Richardson's estimate of the numeric gradient's own error


@dataclass
class CheckReport(Report):
    """Everything `check_gradients` found, for the CLI to render or a caller to inspect."""

    program: Program
    of: Value
    rows: list[CheckRow]
    method: str
    eps: float | None  # None: the adaptive step
    relative_step: bool
    atol: float
    rtol: float
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    expectations: list[Expectation] = field(default_factory=list)  # --expect: hand-derived derivatives
    every: bool = False  # every node was chosen (--all): each array element is a row too

    @property
    def exit_code(self) -> int:
        return 0 if self.ok else 1

    @property
    def adaptive(self) -> bool:
        return self.eps is None

    @property
    def passed(self) -> int:
        return sum(row.status == PASS for row in self.rows)

    @property
    def failed(self) -> int:
        return sum(row.status == FAIL for row in self.rows)

    @property
    def kinks(self) -> int:
        return sum(row.status == KINK for row in self.rows)

    @property
    def undefined(self) -> int:
        return sum(row.status == UNDEFINED for row in self.rows)

    @property
    def ok(self) -> bool:
        return self.failed == 0 and all(e.status != FAIL for e in self.expectations)

    def row(self, name: str) -> CheckRow:
        """The row of a checked node, by its name or label."""
        for row in self.rows:
            if row.name == name or row.label == name:
                return row
        raise KeyError(name)

    def summary(self) -> str:
        parts = [f"{self.passed} passed", f"{self.failed} failed"]
        if self.kinks:
            parts.append(f"{self.kinks} kink" + ("s" if self.kinks != 1 else ""))
        if self.undefined:
            parts.append(f"{self.undefined} undefined")
        if self.adaptive:
            step = f"adaptive h = {ADAPTIVE_STEP[self.method]:.3g} * max(1, |x|), Richardson where they disagree"
        else:
            step = f"h = {self.eps:g}" + (" * max(1, |x|)" if self.relative_step else "")
        verdict = "ok" if self.failed == 0 else "FAILED"
        return (f"{verdict}: {len(self.rows)} checked, {', '.join(parts)} "
                f"({self.method} differences, {step}, atol {self.atol:g}, rtol {self.rtol:g})")

    def sections(self) -> list:
        """One table: a row per checked node; the reasons and the summary as notes."""
        program, precision = self.program, self.precision
        title = f"gradient check of {program.label(self.of)} = {number(self.of.data, precision)}"
        table = Table(["node", "data", "analytic", "numeric", "abs error", "rel error", "status"], title=title,
                      right={"data", "analytic", "numeric", "abs error", "rel error"})
        elements = set() if self.show_all or self.every else {label for _, labels in program.arrays.values() for label in labels}
        for row in self.rows:
            if row.label in elements:
                continue
            numeric = "" if row.numeric is None else number(row.numeric, precision)
            analytic = "undefined" if row.analytic != row.analytic else number(row.analytic, precision)
            table.add(row.label, number(row.data, precision), analytic, numeric,
                      _error_text(row.abs_error), _error_text(row.rel_error), row.status, style=STYLES[row.status])
        for row in self.rows:
            if row.reason:
                table.notes.append(f"{row.label}: {row.status}, {row.reason}"
                                   if row.status != PASS else f"{row.label}: {row.reason}; used a one-sided difference")
        table.notes.extend(self.notes)
        table.notes.append(self.summary())
        sections = [table, self._arrays_table()] if elements else [table]
        if self.expectations:
            sections.append(expect_module.table(self.expectations, self.program.label(self.of), self.precision))
        return sections

    def _arrays_table(self) -> Table:
        """One row per array with checked elements: how many passed, the largest relative errors."""
        from scalargrad.render import ARRAYS_NOTE, largest_text

        by_label = {row.label: row for row in self.rows}
        errors = {row.label: row.rel_error for row in self.rows}
        table = Table(["array", "shape", "checked", "status", "largest rel error"], title="arrays", key="array")
        for name, (shape, labels) in self.program.arrays.items():
            rows = [by_label[label] for label in labels if label in by_label]
            if rows:
                counts = {status: sum(row.status == status for row in rows) for status in STYLES}
                status = ", ".join(f"{count} {status}" for status, count in counts.items() if count)
                table.add(name, str(shape), str(len(rows)), status, largest_text(labels, errors))
        table.notes.append(ARRAYS_NOTE)
        return table

    def to_json(self) -> dict:
        """The `check --json` document: settings, one object per row, and the overall `ok`."""
        program = self.program
        return {
            "schema": "scalargrad.check/1",
            "ok": self.ok,
            "output": ref_json(program, program.output),
            "of": ref_json(program, self.of),
            "settings": {"method": self.method, "eps": self.eps, "adaptive": self.adaptive,
                         "relative_step": self.relative_step, "atol": self.atol, "rtol": self.rtol},
            "summary": {"checked": len(self.rows), "passed": self.passed, "failed": self.failed,
                        "kinks": self.kinks, "undefined": self.undefined},
            "rows": [_row_json(row) for row in self.rows],
            "expect": [e.to_json() for e in self.expectations],
            "notes": self.notes,
            "warnings": list(self.warnings),
        }

    def record(self) -> dict:
        """What the session keeps of this check (its `check` field): the program and the input
        values it ran at, the node differentiated, the summary, and each row's verdict."""
        program = self.program
        rows = []
        for row in self.rows:
            kept = {"id": row.id, "label": row.label, "status": row.status, "analytic": finite(row.analytic),
                    "numeric": finite(row.numeric)}
            if row.reason:
                kept["reason"] = row.reason
            rows.append(kept)
        return {"program": program.source, "values": {name: node.data for name, node in program.inputs.items()
                                                      if program.computed(node)},
                "of": program.node_id(self.of), "summary": self.summary(), "rows": rows}


def keep_in_session(report: CheckReport, use: SessionUse | None, data: str | None = None) -> str:
    """Save the report's verdicts in the session `use` (an `inputs.Loaded.session`), for the
    interactive page; nothing without an active session. `data`: the digest of the data file
    whose columns the program read (`bindings.DataFile.digest`), kept with the verdicts, which
    apply to that data only. Returns a warning when it could not be saved (and adds it to
    the report's warnings): the check itself still stands."""
    if use is None or not use.active or (report.program.data and data is None):
        return ""
    from scalargrad import session as sessions
    from scalargrad.errors import SessionError

    try:
        record = report.record()
        if report.program.data:
            record["data"] = data
        sessions.record_check(use.path, record)
    except SessionError as error:  # a read-only folder, a busy lock, a session replaced meanwhile
        unsaved = f"the check was not saved in the session: {error.message}"
        report.warnings.append(unsaved)
        return unsaved
    return ""


def _error_text(x: float | None) -> str:
    return "" if x is None or x != x else number(x, 3)  # nan: no error to measure against an undefined gradient


def _row_json(row: CheckRow) -> dict:
    return {
        "id": row.id, "label": row.label, "name": row.name, "data": row.data,
        "analytic": finite(row.analytic), "numeric": finite(row.numeric),
        "step": row.step, "difference": row.difference,
        "abs_error": finite(row.abs_error), "rel_error": finite(row.rel_error),
        "status": row.status, "reason": row.reason,
        "left": finite(row.left), "right": finite(row.right),
        "error_estimate": finite(row.error_estimate),
    }


def validate_options(eps: float | None, method: str, atol: float, rtol: float) -> None:
    """Raise UsageError for a step or tolerance that cannot give a meaningful check.
    `eps` None asks for the adaptive step."""
    if eps is not None and not (isinstance(eps, (int, float)) and math.isfinite(eps) and eps > 0):
        raise UsageError(f"--eps must be a positive finite number, not {eps}",
                         hint=f"leave it out for the adaptive step, or try {DEFAULT_EPS:g} or 1e-4")
    if method not in METHODS:
        from scalargrad.errors import did_you_mean

        close = did_you_mean(str(method), METHODS)
        raise UsageError(f"unknown --method `{method}`" + (f"; did you mean `{close}`?" if close else ""),
                         hint="use central ((f(x+h) - f(x-h)) / 2h) or forward ((f(x+h) - f(x)) / h)")
    for option, value in (("--atol", atol), ("--rtol", rtol)):
        if not (isinstance(value, (int, float)) and math.isfinite(value) and value >= 0):
            raise UsageError(f"{option} must be a finite number >= 0, not {value}",
                             hint=f"the defaults are --atol {DEFAULT_ATOL:g} and --rtol {DEFAULT_RTOL:g}")


def default_nodes(program: Program, every: bool = False) -> list[Value]:
    """The named nodes (inputs and bound names), or with `every` all nodes; never a constant
    (a literal, or a name bound to numbers alone such as `k = 2*3`): it is not a variable."""
    return [node for node in program.nodes if node._op != CONST and (every or program.is_named(node))]


def check_gradients(
    program: Program,
    values: Mapping[str, float] | None = None,
    nodes: Iterable[Value] | None = None,
    *,
    of: Value | None = None,
    every: bool = False,
    eps: float | None = None,
    method: str = "central",
    relative_step: bool = False,
    atol: float = DEFAULT_ATOL,
    rtol: float = DEFAULT_RTOL,
    expect: Sequence[str] = (),
    points: int = expect_module.DEFAULT_POINTS,
    warnings: Sequence[str] = (),
    progress: Progress | None = None,
) -> CheckReport:
    """Compare every backprop gradient of `of` (default: the output) with a finite difference.

    `values` are the input values (None keeps the inputs' current data). `nodes` picks the
    nodes to check (Values of `program`, e.g. `program.names["d"]`); by default the named
    nodes, or with `every` all nodes but numeric literals. `eps` None (the default) adapts
    the step to each node and extrapolates where the first difference disagrees; a number
    is a fixed step h (`eps * max(1, |x|)` with `relative_step`). `expect` (`NAME: FORMULA`,
    derivatives worked out by hand) are compared with backprop here and at `points` random
    points around (refused first if over the size budget). On return every node holds its
    value at `values` and its analytic gradient, whatever happened in between.
    """
    validate_options(eps, method, atol, rtol)
    if expect:  # too many --points are refused before any work, not after the gradients are checked
        expect_module.afford(program, points)
    target = of or program.output
    if values is None:
        values = {name: node.data for name, node in program.inputs.items()}
    program.evaluate(values, target)  # a DomainError here is the user's: the point itself is outside a domain
    notes = []
    try:
        program.backward(target)
    except DomainError as error:  # the gradients are filled in; the non-finite ones get a FAIL or KINK
        notes.append(f"backprop: {error.message}")

    chosen = _chosen(program, target, nodes, every, notes)
    checker = _Checker(program, target, eps, method, relative_step, atol, rtol)
    rows: list[CheckRow] = []
    for start in range(0, len(chosen), _MASK_BATCH):
        batch = chosen[start : start + _MASK_BATCH]
        for node, downstream, kinks in checker.slices(batch):
            rows.append(checker.check(node, downstream, kinks))
            if progress is not None:
                progress(len(rows), len(chosen))
    report = CheckReport(program, target, rows, method, eps, relative_step, atol, rtol, notes, list(warnings),
                         every=every)
    if expect:
        report.expectations = expect_module.verify(program, values, expect, target, count=points, atol=atol,
                                                   rtol=rtol, progress=progress and _relabelled(progress))
    return report


def _chosen(program: Program, target: Value, nodes: Iterable[Value] | None, every: bool, notes: list[str]) -> list[Value]:
    """The nodes to check, each once: `nodes`, else the defaults; none that reads an input
    with no value (left out with a note, or an error for a node asked for by name)."""
    chosen = _unique(default_nodes(program, every) if nodes is None else nodes)
    unknown = [node for node in chosen if not program.computed(node)]  # they read an input that has no value
    if unknown:
        from scalargrad.gradients import no_value, not_computed

        if nodes is not None:
            raise UsageError(f"cannot check `{program.label(unknown[0])}`: it reads {no_value(program, target)}",
                             hint="give the inputs it reads a value, or check the nodes that the --of node reads")
        chosen = [node for node in chosen if program.computed(node)]
        notes.append(not_computed(program, unknown, target))
    for node in chosen:
        if node._op == CONST:
            raise UsageError(f"`{program.label(node)}` is a constant, not a variable",
                             hint="check inputs and named nodes")
    return chosen


def _relabelled(progress: Progress) -> Progress:
    return lambda done, total: progress(done, total, "checking --expect")


def _unique(nodes: Iterable[Value]) -> list[Value]:
    seen: set[int] = set()
    result = []
    for node in nodes:
        if id(node) not in seen:
            seen.add(id(node))
            result.append(node)
    return result


@dataclass
class _Crossing:
    """An operand of a downstream operation that passes through 0 within the step, where
    that operation has a kink or is undefined (a pole)."""

    side: str  # "left": between x - h and x; "right": between x and x + h
    op: Value
    operand: int
    pole: str  # why the operation is undefined there ("division by zero"), "" for a kink


class _Checker:
    """The perturb-and-re-evaluate loop, with the graph facts it needs computed once."""

    def __init__(self, program: Program, target: Value, eps: float | None, method: str, relative_step: bool,
                 atol: float, rtol: float):
        self.program = program
        self.target = target
        self.eps, self.method, self.relative_step = eps, method, relative_step
        self.adaptive = eps is None
        self.atol, self.rtol = atol, rtol
        self.f0 = target.data
        # Only nodes the target depends on can change it: the rest is never re-evaluated.
        self.last = program.node_id(target)
        upstream = program.upstream(target)
        self.relevant = [id(node) in upstream for node in program.nodes[: self.last + 1]]
        # The operations that can need re-evaluation (leaves never do), with their ids.
        self.ops: list[Value] = []
        self.op_ids: list[int] = []
        for i, node in enumerate(program.nodes[: self.last + 1]):
            if node._prev and self.relevant[i]:
                self.ops.append(node)
                self.op_ids.append(i)
        # Positions in self.ops of operations on a kink at this point (relu(0), sqrt(0), ...).
        self.kinked: list[int] = []
        for j, node in enumerate(self.ops):
            kink = OPS[node._op].kink
            if kink is not None and kink(*(p.data for p in node._prev)):
                self.kinked.append(j)

    def slices(self, batch: Sequence[Value]):
        """For each node of `batch`: the operations downstream of it that reach the target,
        in order, and the kinked operations among them.

        One pass over the graph gives every operation a bit mask of the batch nodes it
        depends on; a node's slice is then the operations carrying its bit. This costs a
        fraction of a forward evaluation per checked node, where a search per node
        (`Program.downstream`) costs several.
        """
        by_id = {id(node): 1 << k for k, node in enumerate(batch)}  # id(node) -> mask
        masks = []
        for node in self.ops:
            mask = by_id.get(id(node), 0)
            for parent in node._prev:
                mask |= by_id.get(id(parent), 0)
            if mask:
                by_id[id(node)] = mask
            masks.append(mask)
        for k, node in enumerate(batch):
            bit = 1 << k
            i = self.program.node_id(node)
            if i > self.last or not self.relevant[i]:
                yield node, [], []
                continue
            start = bisect_right(self.op_ids, i)
            downstream = list(compress(self.ops[start:], map(bit.__and__, masks[start:])))
            kinks = [self.ops[j] for j in self.kinked if j >= start and masks[j] & bit]
            yield node, downstream, kinks

    def step(self, x: float) -> float:
        """The first (largest) step h at a node of value x."""
        if self.adaptive:
            return ADAPTIVE_STEP[self.method] * max(1.0, abs(x))
        return self.eps * max(1.0, abs(x)) if self.relative_step else self.eps

    def tolerance(self, numeric: float) -> float:
        return self.atol + self.rtol * abs(numeric)

    def check(self, node: Value, downstream: list[Value], kinks: list[Value]) -> CheckRow:
        program = self.program
        x = node.data
        h = self.step(x)
        numeric, difference, reason, plus, minus = self._difference(node, downstream, x, h)
        analytic = node.grad
        row = CheckRow(node, program.node_id(node), program.label(node),
                       node.label if program.is_named(node) else None, x, analytic, numeric, h,
                       difference, None, None, FAIL, reason)
        self._measure(row)
        agrees = row.abs_error is not None and row.abs_error <= self.tolerance(numeric)
        if analytic != analytic and not kinks:  # no kink, yet backprop's gradient has no value here
            row.status = UNDEFINED
            row.reason = ("backprop's gradient is undefined here (see `backprop:` below)"
                          + (f"; the finite difference: {reason}" if numeric is None and reason else ""))
        elif kinks:
            row.status = KINK
            row.left, row.right = self._one_sided(minus, plus, h)
            row.reason = _kink_reason(program, kinks) + _sides_text(row)
        elif x + h == x or x - h == x:
            row.status = KINK
            row.reason = (f"undetermined: the step h = {h:g} is lost in rounding at {row.label} = {x:g}; "
                          "use --relative-step or a larger --eps")
        elif numeric is not None and math.isfinite(analytic) and agrees:
            row.status = PASS
        elif self.adaptive and math.isfinite(analytic) and self._settle(row, node, downstream, x, h):
            pass  # a second opinion decided the row
        elif numeric is None:
            row.status = KINK
            row.reason = f"undetermined: {reason}"
        elif difference != self.method and difference is not None and not agrees:
            # One side left a domain and the other side disagrees: the step straddles the
            # edge of a domain, where a finite difference says nothing about the gradient.
            row.status = KINK
            row.reason = f"undetermined: {reason}; the one-sided difference disagrees, try a smaller --eps"
        elif not math.isfinite(analytic):
            row.status = FAIL
            row.reason = "the analytic gradient is not finite"
        elif not self._straddles(row, node, downstream, x, h):
            row.status = FAIL
            row.reason = row.reason or "the analytic and numeric gradients disagree"
        return row

    def _measure(self, row: CheckRow) -> None:
        """Fill in the row's errors from its analytic and numeric gradients."""
        numeric = row.numeric
        if numeric is None:
            row.abs_error = row.rel_error = None
            return
        row.abs_error = abs(row.analytic - numeric)
        if numeric != 0:
            row.rel_error = row.abs_error / abs(numeric)
        else:
            row.rel_error = 0.0 if row.abs_error == 0 else math.inf

    # -- the first difference ---------------------------------------------------------
    def _difference(self, node: Value, downstream: list[Value], x: float, h: float):
        """(numeric gradient or None, difference used, why a one-sided one was used,
        f(x + h), f(x - h)); an f is a DomainError where the step left a domain and None
        where it was not evaluated."""
        if not downstream and node is not self.target:
            return 0.0, self.method, "", self.f0, self.f0  # the target does not depend on this node
        saved = list(map(_DATA, downstream))
        minus = None
        try:
            plus = self._value_at(node, downstream, x + h)
            if self.method == "forward" and not isinstance(plus, DomainError):
                return (plus - self.f0) / h, "forward", "", plus, None
            minus = self._value_at(node, downstream, x - h)
        finally:
            self._restore(node, x, downstream, saved)
        plus_ok = not isinstance(plus, DomainError)
        minus_ok = not isinstance(minus, DomainError)
        if plus_ok and minus_ok:
            return (plus - minus) / (2 * h), "central", "", plus, minus
        # repr, not :g: the point must show the step (`3.000001`, not `3`)
        name = self.program.label(node)
        at_plus, at_minus = f"at {name} + h = {x + h!r}", f"at {name} - h = {x - h!r}"
        if plus_ok:
            return (plus - self.f0) / h, "forward", f"{at_minus}: {minus.message}", plus, minus
        if minus_ok:
            return (self.f0 - minus) / h, "backward", f"{at_plus}: {plus.message}", plus, minus
        return None, None, f"{at_plus}: {plus.message}; {at_minus}: {minus.message}", plus, minus

    def _value_at(self, node: Value, downstream: list[Value], x: float) -> float | DomainError:
        node.data = x
        try:
            self.program.forward(downstream)
        except DomainError as error:
            return error
        return self.target.data

    @staticmethod
    def _restore(node: Value, x: float, downstream: list[Value], saved: list[float]) -> None:
        node.data = x
        deque(map(setattr, downstream, repeat("data"), saved), maxlen=0)  # a fast loop

    def _one_sided(self, minus, plus, h: float) -> tuple[float | None, float | None]:
        """(left, right) one-sided differences from f(x - h) and f(x + h), where both exist."""
        left = (self.f0 - minus) / h if isinstance(minus, float) else None
        right = (plus - self.f0) / h if isinstance(plus, float) else None
        return left, right

    # -- a second opinion, for a difference that disagrees -----------------------------
    def _settle(self, row: CheckRow, node: Value, downstream: list[Value], x: float, h: float) -> bool:
        """Adaptive mode: decide a row whose first difference disagrees (or could not be
        taken): a kink or pole within the step explains it; else Richardson extrapolation
        over smaller steps either confirms the analytic gradient (PASS), cannot settle
        (KINK, undetermined) or confirms the disagreement (FAIL). False when no step at
        all stays inside the domains: the caller reports that as before."""
        kink_outside = False  # a kink within the step, and the analytic gradient outside both slopes
        if row.difference == "central" or row.difference == self.method == "forward":
            if self._straddles(row, node, downstream, x, h, final=False):
                return True
            kink_outside = row.left is not None or row.right is not None
        first = row.numeric
        noise = self._rounding(node, downstream)
        runs = []
        for start in (h, h / 16, h / 256):
            found = self._ridders(node, downstream, x, start, noise)
            if found is None:
                continue
            # No difference is more precise than the rounding of f over its smallest step.
            found = (found[0], max(found[1], 4 * noise / found[2]), found[2])
            runs.append(found)
            if abs(row.analytic - found[0]) <= self.tolerance(found[0]):
                break  # this run confirms the analytic gradient
        if not runs:
            return False
        numeric, error, smallest = runs[-1] if len(runs) == 1 or self._agrees(row, runs[-1]) else min(
            runs, key=lambda run: run[1])
        row.numeric, row.difference, row.error_estimate = numeric, "richardson", error
        self._measure(row)
        if row.abs_error <= self.tolerance(numeric):
            row.status, row.reason = PASS, ""
            return True
        if kink_outside:  # smaller steps did not confirm it either: the one-sided slopes decide
            return self._straddles(row, node, downstream, x, h)
        # FAIL only on firm evidence: all three runs gave an estimate and settled, they agree
        # with each other, and each disagrees with the analytic gradient by more than its error.
        settled = len(runs) == 3 and all(run_error <= _UNSETTLED * abs(run) + self.atol for run, run_error, _ in runs)
        spread = max(run for run, _, _ in runs) - min(run for run, _, _ in runs)
        consistent = spread <= self.tolerance(numeric) + 2 * max(run_error for _, run_error, _ in runs)
        apart = all(abs(row.analytic - run) > self.tolerance(run) + 4 * run_error for run, run_error, _ in runs)
        steps = f"steps h = {h:.3g} down to {smallest:.3g}"
        if settled and consistent and apart:
            row.status = FAIL
            row.reason = (f"the analytic and numeric gradients disagree: extrapolated over {steps} the "
                          f"difference is {numeric!r} ± {error:.2g}")
        else:
            row.status = KINK
            values = ", ".join(f"{run!r} ± {run_error:.2g}" for run, run_error, _ in runs)
            row.reason = (f"undetermined: the finite differences do not settle: extrapolated from the steps "
                          f"h, h/16 and h/256 (h = {h:.3g}) they give {values}"
                          + (f" (the first difference gave {first!r})" if first is not None else "")
                          + "; the function changes faster than a step can resolve, or rounding dominates")
        return True

    def _rounding(self, node: Value, downstream: list[Value]) -> float:
        """How much rounding can move the target's value: each re-evaluated node's rounding
        error (half an ulp of its value) carried to the target by its gradient."""
        total = abs(self.target.data) + abs(node.data * node.grad)
        for op in downstream:
            term = abs(op.data * op.grad)
            if term - term == 0:
                total += term
        return total * 2.0 ** -53

    def _agrees(self, row: CheckRow, run: tuple[float, float, float]) -> bool:
        return abs(row.analytic - run[0]) <= self.tolerance(run[0])

    def _straddles(self, row: CheckRow, node: Value, downstream: list[Value], x: float, h: float,
                   final: bool = True) -> bool:
        """Decide a disagreeing row when a kink or a pole of a downstream operation lies
        within [x - h, x + h]: KINK when the analytic gradient lies between the left and
        right one-sided differences (or a pole makes them meaningless), else FAIL with both
        shown (or, when not `final`, leave the row to extrapolation). False when nothing
        lies within the step."""
        crossings, minus, plus = self._crossings(node, downstream, x, h)
        if not crossings:
            return False
        row.left, row.right = self._one_sided(minus, plus, h)
        where = _crossing_text(self.program, node, crossings[0])
        more = f" (and {len(crossings) - 1} more)" if len(crossings) > 1 else ""
        poles = [crossing for crossing in crossings if crossing.pole]
        if poles:
            row.status = KINK
            row.reason = (f"undetermined: {_crossing_text(self.program, node, poles[0])}{more}: "
                          f"{poles[0].pole}, so no difference across it means anything{_sides_text(row)}")
            return True
        sides = [side for side in (row.left, row.right) if side is not None]
        analytic = row.analytic
        slack = self.tolerance(max(map(abs, sides), default=0.0))
        if sides and min(sides) - slack <= analytic <= max(sides) + slack:
            row.status = KINK
            row.reason = f"not differentiable within the step: {where}{more}{_sides_text(row)}"
            return True
        if not final:
            return False
        row.status = FAIL
        row.reason = (f"the analytic gradient is not between the one-sided differences: {where}{more}"
                      f"{_sides_text(row)}")
        return True

    def _crossings(self, node: Value, downstream: list[Value], x: float, h: float):
        """Evaluate the slice at x - h, x and x + h; return the crossings found, f(x - h)
        and f(x + h) (a DomainError where a step left a domain).

        Every kink and pole in the derivative table sits where an operand is 0 (relu, abs,
        sqrt, x ** y at x = 0; x / y at y = 0, 0 ** negative): an operand that changes sign
        between two of the points, of an operation whose `kink` predicate holds or whose
        forward value fails with that operand at 0, is a crossing.
        """
        saved = list(map(_DATA, downstream))
        snapshots: list[list[tuple[float, ...]] | None] = []
        values: list[float | DomainError] = []
        try:
            for point in (x - h, x, x + h):
                value = self._value_at(node, downstream, point)
                values.append(value)
                snapshots.append(None if isinstance(value, DomainError)
                                 else [tuple(map(_DATA, op._prev)) for op in downstream])
        finally:
            self._restore(node, x, downstream, saved)
        crossings = []
        for side, before, after in (("left", snapshots[0], snapshots[1]), ("right", snapshots[1], snapshots[2])):
            if before is None or after is None:
                continue
            for op, args_before, args_after in zip(downstream, before, after):
                for i, (u, v) in enumerate(zip(args_before, args_after)):
                    if u != v and min(u, v) <= 0.0 <= max(u, v):
                        at_zero = args_after[:i] + (0.0,) + args_after[i + 1 :]
                        singular = _singularity(op._op, at_zero)
                        if singular is not None:
                            crossings.append(_Crossing(side, op, i, singular))
        return crossings, values[0], values[2]

    def _ridders(self, node: Value, downstream: list[Value], x: float, h: float, noise: float = 0.0):
        """Ridders' method (Numerical Recipes 5.7): central differences over the steps
        h, h/2, h/4, ... combined into a Richardson tableau; each entry's error is estimated
        from its neighbours and the best entry wins. Steps that leave a domain are skipped
        until one fits. Returns (estimate, error estimate, smallest step used) or None when
        fewer than two steps fit. Costs 2 evaluations of the slice per step, at most
        2 * _LEVELS.

        Extrapolation assumes f is smooth at the scale of the steps; an oscillation finer
        than every step (aliasing) can look settled. Its mark: the second difference
        f(x+h) - 2 f(x) + f(x-h) of a smooth f shrinks about 4x when h halves; one that
        does not shrink (beyond `noise`, the rounding of f) makes the error estimate inf."""
        saved = list(map(_DATA, downstream))
        best = error = smallest = None
        previous: list[float] | None = None
        curvatures: list[float] = []  # |f(x+h) - 2 f(x) + f(x-h)| per step used
        step = h
        try:
            for _ in range(_LEVELS):
                upper, lower = x + step, x - step
                if upper == x or lower == x:
                    break
                plus = self._value_at(node, downstream, upper)
                minus = self._value_at(node, downstream, lower)
                if isinstance(plus, DomainError) or isinstance(minus, DomainError):
                    if previous is not None:
                        break
                    step /= 2
                    continue
                row = [(plus - minus) / (upper - lower)]
                curvatures.append(abs(plus + minus - 2 * self.f0))
                if previous is not None:
                    factor = 4.0  # the error of a central difference shrinks with h**2
                    for j in range(1, len(previous) + 1):
                        value = (factor * row[j - 1] - previous[j - 1]) / (factor - 1)
                        row.append(value)
                        factor *= 4.0
                        estimate = max(abs(value - row[j - 1]), abs(value - previous[j - 1]))
                        if error is None or estimate <= error:
                            best, error, smallest = value, estimate, step
                    # a higher order got worse than the best so far: rounding has taken over
                    if abs(row[-1] - previous[-1]) >= 2 * error or error <= 1e-3 * self.tolerance(best):
                        break
                previous = row
                step /= 2
        finally:
            self._restore(node, x, downstream, saved)
        if best is None:
            return None
        last = curvatures[-3:]
        if any(later > 0.5 * earlier + 8 * noise for earlier, later in zip(last, last[1:])):
            error = math.inf
        return best, error, smallest


def _singularity(op_name: str, args: tuple[float, ...]) -> str | None:
    """"" where the operation has a kink at `args`, why it is undefined there (a pole), or
    None where it is smooth."""
    op = OPS[op_name]
    if op.kink is not None and op.kink(*args):
        return ""
    try:
        op.forward(*args)
    except DomainError as error:
        return error.reason
    except (ArithmeticError, ValueError) as error:
        return str(error)
    return None


def _crossing_text(program: Program, node: Value, crossing: _Crossing) -> str:
    name = program.label(node)
    between = f"{name} - h and {name}" if crossing.side == "left" else f"{name} and {name} + h"
    operand = program.label(crossing.op._prev[crossing.operand])
    what = f"{OPS[crossing.op._op].symbol} has a kink" if not crossing.pole else "there is a pole"
    return f"{what} where `{operand}` = 0 in `{program.text(crossing.op)}`, between {between}"


def _sides_text(row: CheckRow) -> str:
    sides = [f"{side} {value!r}" for side, value in (("left", row.left), ("right", row.right)) if value is not None]
    return f"; one-sided differences: {', '.join(sides)}" if sides else ""


def _kink_reason(program: Program, kinks: list[Value]) -> str:
    first = kinks[0]
    op = OPS[first._op]
    args = ", ".join(f"{p.data:g}" for p in first._prev)
    more = f" (and {len(kinks) - 1} more kink{'s' if len(kinks) > 2 else ''} downstream)" if len(kinks) > 1 else ""
    return (f"not differentiable here: {op.symbol} has a kink at ({args}) "
            f"in `{program.text(first)}`{more}")


