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

Statuses: PASS when |analytic - numeric| <= atol + rtol * |numeric|, FAIL otherwise,
KINK where the program is not differentiable at the node (a `kink` predicate of
`ops.OPS` holds for an operation downstream of it: relu or abs at 0, sqrt at 0, ...),
or where the difference cannot be taken because a step leaves an operation's domain
and the one-sided difference does not agree either. A KINK is explained and is not a
failure.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from bisect import bisect_right
from collections import deque
from itertools import compress, repeat
from operator import attrgetter
from typing import Callable, Iterable, Mapping, Sequence

from scalargrad.engine import Value
from scalargrad.errors import DomainError, UsageError
from scalargrad.ops import CONST, OPS
from scalargrad.program import Program
from scalargrad.render import DEFAULT_PRECISION, Report, Table, number, ref_json

METHODS = ("central", "forward")
DEFAULT_EPS = 1e-6  # as torch.autograd.gradcheck
DEFAULT_ATOL = 1e-5
DEFAULT_RTOL = 1e-3
PASS, FAIL, KINK = "PASS", "FAIL", "KINK"
_DATA = attrgetter("data")
_MASK_BATCH = 256  # nodes whose downstream sets are found in one pass over the graph

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
    step: float  # h
    difference: str | None  # "central", "forward" or "backward" (one-sided), None if none
    abs_error: float | None
    rel_error: float | None  # abs_error / |numeric|; inf when numeric is 0 and they differ
    status: str  # PASS, FAIL or KINK
    reason: str = ""  # why a row is KINK or FAIL, or why a one-sided difference was used


@dataclass
class CheckReport(Report):
    """Everything `check_gradients` found, for the CLI to render or a caller to inspect."""

    program: Program
    of: Value
    rows: list[CheckRow]
    method: str
    eps: float
    relative_step: bool
    atol: float
    rtol: float
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    precision: int = DEFAULT_PRECISION  # significant digits in the table

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
    def ok(self) -> bool:
        return self.failed == 0

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
        step = f"h = {self.eps:g}" + (" * max(1, |x|)" if self.relative_step else "")
        verdict = "ok" if self.ok else "FAILED"
        return (f"{verdict}: {len(self.rows)} checked, {', '.join(parts)} "
                f"({self.method} differences, {step}, atol {self.atol:g}, rtol {self.rtol:g})")

    def sections(self) -> list:
        """One table: a row per checked node; the reasons and the summary as notes."""
        program, precision = self.program, self.precision
        title = f"gradient check of {program.label(self.of)} = {number(self.of.data, precision)}"
        table = Table(["node", "data", "analytic", "numeric", "abs error", "rel error", "status"], title=title,
                      right={"data", "analytic", "numeric", "abs error", "rel error"})
        for row in self.rows:
            numeric = "" if row.numeric is None else number(row.numeric, precision)
            style = {PASS: "", FAIL: "bold red", KINK: "yellow"}[row.status]
            table.add(row.label, number(row.data, precision), number(row.analytic, precision), numeric,
                      _error_text(row.abs_error), _error_text(row.rel_error), row.status, style=style)
        for row in self.rows:
            if row.reason:
                table.notes.append(f"{row.label}: {row.status}, {row.reason}"
                                   if row.status != PASS else f"{row.label}: {row.reason}; used a one-sided difference")
        table.notes.extend(self.notes)
        table.notes.append(self.summary())
        return [table]

    def to_json(self) -> dict:
        """The `check --json` document: settings, one object per row, and the overall `ok`."""
        program = self.program
        return {
            "schema": "scalargrad.check/1",
            "ok": self.ok,
            "output": ref_json(program, program.output),
            "of": ref_json(program, self.of),
            "settings": {"method": self.method, "eps": self.eps, "relative_step": self.relative_step,
                         "atol": self.atol, "rtol": self.rtol},
            "summary": {"checked": len(self.rows), "passed": self.passed, "failed": self.failed,
                        "kinks": self.kinks},
            "rows": [_row_json(row) for row in self.rows],
            "notes": self.notes,
            "warnings": list(self.warnings),
        }


def _error_text(x: float | None) -> str:
    return "" if x is None else number(x, 3)


def _finite_or_none(x: float | None) -> float | None:
    return x if x is not None and math.isfinite(x) else None


def _row_json(row: CheckRow) -> dict:
    return {
        "id": row.id, "label": row.label, "name": row.name, "data": row.data,
        "analytic": _finite_or_none(row.analytic), "numeric": _finite_or_none(row.numeric),
        "step": row.step, "difference": row.difference,
        "abs_error": _finite_or_none(row.abs_error), "rel_error": _finite_or_none(row.rel_error),
        "status": row.status, "reason": row.reason,
    }


def validate_options(eps: float, method: str, atol: float, rtol: float) -> None:
    """Raise UsageError for a step or tolerance that cannot give a meaningful check."""
    if not (isinstance(eps, (int, float)) and math.isfinite(eps) and eps > 0):
        raise UsageError(f"--eps must be a positive finite number, not {eps}",
                         hint=f"the default is {DEFAULT_EPS:g}; try 1e-6 or 1e-4")
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
    eps: float = DEFAULT_EPS,
    method: str = "central",
    relative_step: bool = False,
    atol: float = DEFAULT_ATOL,
    rtol: float = DEFAULT_RTOL,
    progress: Progress | None = None,
) -> CheckReport:
    """Compare every backprop gradient of `of` (default: the output) with a finite difference.

    `values` are the input values (None keeps the inputs' current data). `nodes` picks the
    nodes to check (Values of `program`, e.g. `program.names["d"]`); by default the named
    nodes, or with `every` all nodes but numeric literals. On return every node holds its
    value at `values` and its analytic gradient, whatever happened in between.
    """
    validate_options(eps, method, atol, rtol)
    target = of or program.output
    if values is None:
        values = {name: node.data for name, node in program.inputs.items()}
    program.evaluate(values)  # a DomainError here is the user's: the point itself is outside a domain
    notes = []
    try:
        program.backward(target)
    except DomainError as error:  # the gradients are filled in; the non-finite ones get a FAIL or KINK
        notes.append(f"backprop: {error.message}")

    chosen = _unique(default_nodes(program, every) if nodes is None else nodes)
    for node in chosen:
        if node._op == CONST:
            raise UsageError(f"`{program.label(node)}` is a constant, not a variable",
                             hint="check inputs and named nodes")
    checker = _Checker(program, target, eps, method, relative_step, atol, rtol)
    rows: list[CheckRow] = []
    for start in range(0, len(chosen), _MASK_BATCH):
        batch = chosen[start : start + _MASK_BATCH]
        for node, downstream, kinks in checker.slices(batch):
            rows.append(checker.check(node, downstream, kinks))
            if progress is not None:
                progress(len(rows), len(chosen))
    return CheckReport(program, target, rows, method, eps, relative_step, atol, rtol, notes)


def _unique(nodes: Iterable[Value]) -> list[Value]:
    seen: set[int] = set()
    result = []
    for node in nodes:
        if id(node) not in seen:
            seen.add(id(node))
            result.append(node)
    return result


class _Checker:
    """The perturb-and-re-evaluate loop, with the graph facts it needs computed once."""

    def __init__(self, program: Program, target: Value, eps: float, method: str, relative_step: bool,
                 atol: float, rtol: float):
        self.program = program
        self.target = target
        self.eps, self.method, self.relative_step = eps, method, relative_step
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

    def check(self, node: Value, downstream: list[Value], kinks: list[Value]) -> CheckRow:
        program = self.program
        x = node.data
        h = self.eps * max(1.0, abs(x)) if self.relative_step else self.eps
        numeric, difference, reason = self._difference(node, downstream, x, h)
        analytic = node.grad
        row = CheckRow(node, program.node_id(node), program.label(node),
                       node.label if program.is_named(node) else None, x, analytic, numeric, h,
                       difference, None, None, FAIL, reason)
        if numeric is not None:
            row.abs_error = abs(analytic - numeric)
            if numeric != 0:
                row.rel_error = row.abs_error / abs(numeric)
            else:
                row.rel_error = 0.0 if row.abs_error == 0 else math.inf
        agrees = row.abs_error is not None and row.abs_error <= self.atol + self.rtol * abs(numeric)
        if kinks:
            row.status = KINK
            row.reason = _kink_reason(program, kinks)
        elif x + h == x or x - h == x:
            row.status = KINK
            row.reason = (f"undetermined: the step h = {h:g} is lost in rounding at {row.label} = {x:g}; "
                          "use --relative-step or a larger --eps")
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
        elif agrees:
            row.status = PASS
        else:
            row.status = FAIL
            row.reason = row.reason or "the analytic and numeric gradients disagree"
        return row

    def _difference(self, node: Value, downstream: list[Value], x: float, h: float):
        """(numeric gradient or None, difference used, why a one-sided one was used)."""
        if not downstream and node is not self.target:
            return 0.0, self.method, ""  # the target does not depend on this node
        saved = list(map(_DATA, downstream))
        try:
            plus = self._value_at(node, downstream, x + h)
            if self.method == "forward" and not isinstance(plus, DomainError):
                return (plus - self.f0) / h, "forward", ""
            minus = self._value_at(node, downstream, x - h)
        finally:
            node.data = x
            deque(map(setattr, downstream, repeat("data"), saved), maxlen=0)  # a fast loop
        plus_ok = not isinstance(plus, DomainError)
        minus_ok = not isinstance(minus, DomainError)
        if plus_ok and minus_ok:
            return (plus - minus) / (2 * h), "central", ""
        name = self.program.label(node)
        at_plus, at_minus = f"at {name} + h = {x + h:g}", f"at {name} - h = {x - h:g}"
        if plus_ok:
            return (plus - self.f0) / h, "forward", f"{at_minus}: {minus.message}"
        if minus_ok:
            return (self.f0 - minus) / h, "backward", f"{at_plus}: {plus.message}"
        return None, None, f"{at_plus}: {plus.message}; {at_minus}: {minus.message}"

    def _value_at(self, node: Value, downstream: list[Value], x: float) -> float | DomainError:
        node.data = x
        try:
            self.program.forward(downstream)
        except DomainError as error:
            return error
        return self.target.data


def _kink_reason(program: Program, kinks: list[Value]) -> str:
    first = kinks[0]
    op = OPS[first._op]
    args = ", ".join(f"{p.data:g}" for p in first._prev)
    more = f" (and {len(kinks) - 1} more kink{'s' if len(kinks) > 2 else ''} downstream)" if len(kinks) > 1 else ""
    return (f"not differentiable here: {op.symbol} has a kink at ({args}) "
            f"in `{program.text(first)}`{more}")


