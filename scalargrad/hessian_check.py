"""`scalargrad check --order 2`: the exact Hessian against central differences of the gradient.

Entry (i, j) of the numeric Hessian is (g_j(x + h e_i) - g_j(x - h e_i)) / 2h, with g the
engine's gradient at the moved point (over the part of the graph between the checked inputs and
the output, as `hessian` differentiates: an input left out is held, not differentiated) and h = cbrt(machine epsilon) * max(1, |x_i|) (or the
user's `--eps`). The rules are check's: PASS when |analytic - numeric| <= atol + rtol * |numeric|;
KINK where second derivatives do not exist at the point, where a kink lies within the step, or
where no difference can be taken; a disagreement gets a second opinion (Richardson
extrapolation over h/2 and h/4) before it may FAIL. The work is held to the size budget before
it starts, and reported to `progress` as it goes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Mapping, Sequence

from scalargrad.engine import Value
from scalargrad.errors import DomainError
from scalargrad.hessian import (Active, Progress, active_part, check_size, chosen_inputs, chunk_width, gradient, hessian,
                                kink_error, settle)
from scalargrad.ops import OPS
from scalargrad.program import Program
from scalargrad.check import ADAPTIVE_STEP, FAIL, KINK, PASS
from scalargrad.render import Report, Table, finite, number, ref_json

STEP = ADAPTIVE_STEP["central"]  # per max(1, |x|): check's adaptive central step


@dataclass
class SecondRow:
    row: str
    column: str
    analytic: float | None
    numeric: float | None
    step: float
    status: str
    reason: str = ""

    @property
    def abs_error(self) -> float | None:
        if self.analytic is None or self.numeric is None:
            return None
        return abs(self.analytic - self.numeric)

    def to_json(self) -> dict:
        error = self.abs_error
        relative = None if error is None or not self.numeric else error / abs(self.numeric)
        return {"row": self.row, "column": self.column, "analytic": finite(self.analytic),
                "numeric": finite(self.numeric), "step": self.step, "abs_error": finite(error),
                "rel_error": finite(relative), "status": self.status, "reason": self.reason}


def check_hessian(program: Program, values: Mapping[str, float], wrt: Sequence[str] | None = None,
                  of: Value | None = None, *, eps: float | None = None, atol: float = 1e-5,
                  rtol: float = 1e-3, warnings: Sequence[str] = (), progress: Progress | None = None) -> SecondOrderReport:
    """Every entry of the Hessian of `of` over `wrt` (default: the inputs) against differences.
    The work (the Hessian, two gradients per input) is checked against the budget first;
    `progress(done, total)` is called as it goes."""
    of = of or program.output
    names = chosen_inputs(program, wrt, "--nodes")
    program.evaluate(values)
    inputs = [program.inputs[name] for name in names]
    part = active_part(program, of, inputs)
    passes = 2 * len(program.nodes)  # one gradient: a forward and a backward pass
    check_size(part, names, extra=2 * len(names) * passes, what=" and two gradients per input to compare with")
    report = SecondOrderReport(program, of, [], eps, atol, rtol, list(warnings))
    kink = kink_error(program, of, part=part)
    hessian_work = 2 * len(part.order) * -(-len(names) // chunk_width(part, len(names))) if names else 0
    total = hessian_work + 2 * len(names) * passes
    shown = (lambda done, _: progress(done, total)) if progress is not None else None
    analytic = None if kink is not None else hessian(program, values, names, of, progress=shown).matrix
    program.evaluate(values)
    base = {name: node.data for name, node in program.inputs.items()}
    for i, name in enumerate(names):
        x = base[name]
        h = eps if eps is not None else STEP * max(1.0, abs(x))
        columns = _column(program, of, part, base, name, names, h)
        crossing = _kink_within(program, of, base, name, h)
        for j, other in enumerate(names):
            row = SecondRow(name, other, None if analytic is None else analytic[i][j],
                            None if columns is None else columns[j], h, PASS)
            if kink is not None:
                row.status, row.reason = KINK, kink.message
            elif row.numeric is None:
                row.status, row.reason = KINK, f"undetermined: the gradient is not defined at {name} ± h"
            elif crossing:
                row.status, row.reason = KINK, f"not twice differentiable within the step: {crossing}"
            elif not report.agrees(row.analytic, row.numeric):
                _settle(report, row, program, of, part, base, i, j, names)
            report.rows.append(row)
        if progress is not None:
            progress(hessian_work + 2 * (i + 1) * passes, total)
    program.evaluate(values)
    settle(program, of, part)
    return report


def _gradient(program: Program, of: Value, part: Active, point: Mapping[str, float],
              names: Sequence[str]) -> list[float] | None:
    try:
        program.evaluate(point)
        return gradient(program, of, part, names)
    except DomainError:
        return None


def _column(program, of, part, base, name, names, h) -> list[float] | None:
    """(g(x + h e_name) - g(x - h e_name)) / 2h, or a one-sided difference where a side fails."""
    plus = _gradient(program, of, part, {**base, name: base[name] + h}, names)
    minus = _gradient(program, of, part, {**base, name: base[name] - h}, names)
    if plus is not None and minus is not None:
        return [(p - m) / (2 * h) for p, m in zip(plus, minus)]
    here = _gradient(program, of, part, base, names)
    if here is None or (plus is None and minus is None):
        return None
    if plus is not None:
        return [(p - g) / h for p, g in zip(plus, here)]
    return [(g - m) / h for g, m in zip(here, minus)]


def _signs(program: Program, of: Value, point: dict[str, float]) -> list[tuple] | None:
    """For each operation with a kink: the signs that decide which side of it the point is on."""
    try:
        program.evaluate(point)
    except DomainError:
        return None
    return [(node, tuple(math.copysign(1, p.data) for p in node._prev)
             + ((math.copysign(1, node._prev[0].data - node._prev[1].data),) if len(node._prev) == 2 else ()))
            for node in program.nodes if node._prev and OPS[node._op].kink is not None]


def _kink_within(program, of, base, name, h) -> str:
    """Where a kinked operation changes side between x - h and x + h, in words; else ""."""
    low = _signs(program, of, {**base, name: base[name] - h})
    high = _signs(program, of, {**base, name: base[name] + h})
    if low is None or high is None:
        return ""
    for (node, before), (_, after) in zip(low, high):
        if before != after:
            return f"{OPS[node._op].symbol} has a kink in `{program.text(node)}` between {name} - h and {name} + h"
    return ""


def _settle(report, row: SecondRow, program, of, part, base, i: int, j: int, names) -> None:
    """A second opinion for a disagreeing entry: Richardson over h, h/2, h/4 decides."""
    estimates = [row.numeric]
    for k in (2, 4):
        column = _column(program, of, part, base, names[i], names, row.step / k)
        if column is None:
            break
        estimates.append(column[j])
    if len(estimates) < 3:
        row.status, row.reason = KINK, "undetermined: smaller steps leave a domain"
        return
    first = (4 * estimates[1] - estimates[0]) / 3
    second = (4 * estimates[2] - estimates[1]) / 3
    best, spread = (16 * second - first) / 15, abs(second - first)
    if report.agrees(row.analytic, best) or any(report.agrees(row.analytic, e) for e in estimates):
        row.numeric, row.status, row.reason = best, PASS, ""
    elif abs(row.analytic - best) > report.tolerance(best) + 4 * spread:
        row.numeric, row.status = best, FAIL
        row.reason = f"the analytic and numeric second derivatives disagree: extrapolated {best!r} ± {spread:.2g}"
    else:
        row.numeric, row.status = best, KINK
        row.reason = f"undetermined: the differences do not settle ({', '.join(f'{e!r}' for e in estimates)})"


@dataclass
class SecondOrderReport(Report):
    program: Program
    of: Value
    rows: list[SecondRow]
    eps: float | None
    atol: float
    rtol: float
    warnings: list[str] = field(default_factory=list)

    def tolerance(self, numeric: float) -> float:
        return self.atol + self.rtol * abs(numeric)

    def agrees(self, analytic: float | None, numeric: float | None) -> bool:
        return analytic is not None and numeric is not None and abs(analytic - numeric) <= self.tolerance(numeric)

    @property
    def ok(self) -> bool:
        return all(row.status != FAIL for row in self.rows)

    @property
    def exit_code(self) -> int:
        return 0 if self.ok else 1

    def count(self, status: str) -> int:
        return sum(row.status == status for row in self.rows)

    def summary(self) -> str:
        step = f"h = {self.eps:g}" if self.eps is not None else f"h = {STEP:.3g} * max(1, |x|)"
        kinks = f", {self.count(KINK)} kink{'s' if self.count(KINK) != 1 else ''}" if self.count(KINK) else ""
        return (f"{'ok' if self.ok else 'FAILED'}: {len(self.rows)} second derivatives checked, {self.count(PASS)} "
                f"passed, {self.count(FAIL)} failed{kinks} (central differences of the gradient, {step}, "
                f"atol {self.atol:g}, rtol {self.rtol:g})")

    def sections(self) -> list:
        p = self.precision
        title = f"second-derivative check of {self.program.label(self.of)} = {number(self.of.data, p)}"
        table = Table(["d2/d d", "analytic", "numeric", "abs error", "status"], title=title,
                      right={"analytic", "numeric", "abs error"})
        for row in self.rows:
            cells = ["" if v is None else number(v, p) for v in (row.analytic, row.numeric)]
            error = row.abs_error
            table.add(f"{row.row}, {row.column}", *cells, "" if error is None else number(error, 3), row.status,
                      style={PASS: "", FAIL: "bold red", KINK: "yellow"}[row.status])
        notes = dict.fromkeys(f"{row.row}, {row.column}: {row.status}, {row.reason}" for row in self.rows if row.reason)
        table.notes.extend(notes)
        table.notes.append(self.summary())
        return [table]

    def to_json(self) -> dict:
        program = self.program
        return {
            "schema": "scalargrad.check/1",
            "ok": self.ok,
            "order": 2,
            "output": ref_json(program, program.output),
            "of": ref_json(program, self.of),
            "settings": {"method": "central", "eps": self.eps, "adaptive": self.eps is None, "atol": self.atol,
                         "rtol": self.rtol},
            "summary": {"checked": len(self.rows), "passed": self.count(PASS), "failed": self.count(FAIL),
                        "kinks": self.count(KINK)},
            "rows": [row.to_json() for row in self.rows],
            "warnings": list(self.warnings),
        }
