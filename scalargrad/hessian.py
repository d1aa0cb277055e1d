"""The exact Hessian, d2L/dxi dxj over the inputs (`scalargrad hessian`), from the one table.

Forward over reverse: one Hessian-vector product per input direction, many directions at once.
A forward pass carries each node's tangent (d node / d input, a NumPy vector with one entry per
direction: forward mode's own tangent pass, `passes.tangents`); the backward pass carries each node's adjoint (the ordinary gradient) and the
adjoint's tangent, which gathers two kinds of terms from each consumer: its adjoint tangent
times the local derivative (the table's `local`), and its adjoint times the second derivatives
(the table's `second`) applied to the operands' tangents. At the inputs the adjoint tangents are
the Hessian's columns. Only the nodes that depend on a chosen input and that the output depends
on take part (`passes.active_part`); directions go in chunks, so the tangents' memory stays
within the size budget. `hvp` is one Hessian-vector product: the same two passes, one direction.

Beside the numbers, one scalar pass bounds their rounding error (running error analysis: the
magnitudes of every term, times the unit roundoff at each operation, plus the subnormal spacing
for each rounding that can underflow). The bound decides whether H is symmetric to rounding and
which eigenvalues are 0, at every magnitude.

    >>> from scalargrad import parse
    >>> report = hessian(parse("L = x**2 - y**2"), {"x": 0, "y": 0})
    >>> report.matrix, report.verdict
    ([[2.0, 0.0], [0.0, -2.0]], 'saddle')
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass, field
from typing import Callable, Mapping, Sequence

from scalargrad import budget, engine
from scalargrad.engine import Value
from scalargrad.errors import DomainError, UsageError
from scalargrad.passes import Active, active_part, kink_error, tangents, times
from scalargrad.program import Program
from scalargrad.render import Report, Table, finite, number, ref_json

SCHEMA = "scalargrad.hessian/1"
MATRIX_LIMIT = 12  # inputs shown as a matrix in a table; past it, the largest entries
EIGEN_LIMIT = 20  # eigenvalues (pure-Python Jacobi rotations) for at most this many inputs
EPS = sys.float_info.epsilon  # one ulp of 1: the relative error of a rounding is at most half of it
TINY = math.ldexp(1.0, -1074)  # the subnormal spacing: the absolute error of a rounding that underflows
VALUE_ULPS = 2  # a forward value of the table is within this many ulps (tests/test_numerics.py)
LOCAL_ULPS = 4  # a local derivative of the table is within this many ulps, with the product that uses it
SECOND_ULPS = 8  # a second derivative of the table, likewise, with the products that use it
JACOBI_ULPS = 16  # the eigenvalue routine's own rounding, per input, relative to the largest
TANGENT_FLOATS_PER_NODE = 4  # tangent floats held at once per node of --budget (chunks of directions)
Progress = Callable[[int, int], None]


def gradient(program: Program, of: Value, part: Active, names: Sequence[str]) -> list[float]:
    """d of / d each of `names` at the evaluated point, by the engine's backward over the active
    part only: an input left out of `wrt` may have no derivative there (x**y at x < 0)."""
    if id(of) not in part.position:
        for node in part.order:
            node.grad = 0.0
        return [0.0] * len(names)
    try:
        engine.backward(of, part.order)
    except DomainError as error:
        raise program.locate(error) from None
    return [program.inputs[name].grad if id(program.inputs[name]) in part.position else 0.0 for name in names]


def settle(program: Program, of: Value, part: Active) -> None:
    """Leave every `.grad` as `grad` shows it, where the whole gradient exists; else (an input
    left out of `wrt` has none) as the active part's backward left them."""
    try:
        program.backward(of)
    except DomainError:
        engine.backward(of, part.order)


def _bend(adjoint: float, curvature: float, vector):
    """adjoint * curvature * vector, the two scalars first unless their product leaves the floats."""
    product = adjoint * curvature
    if product - product == 0 or curvature - curvature != 0:
        return times(product, vector)
    return adjoint * times(curvature, vector)


def _tangents(part: Active, seeds: dict[int, int], width: int) -> list:
    """Forward: each node's tangent over `width` directions (None where it is 0 in all of them);
    `seeds` maps an input's place to its direction. The tangent pass is forward mode's
    (`passes.tangents`), carrying unit vectors."""
    import numpy as np

    vectors = {}
    for k, direction in seeds.items():
        vectors[k] = np.zeros(width)
        vectors[k][direction] = 1.0
    return tangents(part, vectors)[0]


def _adjoint_tangents(part: Active, tangent: list, check: Callable[[int, object], None] | None = None,
                      progress: Callable[[int], None] | None = None) -> list:
    """Backward: each node's adjoint tangent (None where 0), from the adjoints in `.grad`.
    `check(k, term)` sees every term that node k passes on (to find where one stops being finite)."""
    adjoint_tangent: list = [None] * len(part.order)
    for k in range(len(part.order) - 1, -1, -1):
        if progress is not None and k % 4096 == 0:
            progress(len(part.order) - k)
        operands = part.operands[k]
        if not operands:
            continue
        carried, adjoint = adjoint_tangent[k], part.order[k].grad
        adjoint_tangent[k] = None  # passed on below: an operation's own is not needed again
        if carried is None and adjoint == 0.0:
            continue
        curvature = part.hessian_of(k) if adjoint != 0.0 else ()
        for i, j in enumerate(operands):
            if j < 0:
                continue
            term = None if carried is None else times(part.local[k][i], carried)
            for m, other in enumerate(operands if curvature else ()):
                if other >= 0 and tangent[other] is not None and curvature[i][m] != 0.0:
                    bent = _bend(adjoint, curvature[i][m], tangent[other])
                    term = bent if term is None else term + bent
            if term is None:
                continue
            if check is not None:
                check(k, term)
            adjoint_tangent[j] = term if adjoint_tangent[j] is None else adjoint_tangent[j] + term
    return adjoint_tangent


# -- the rounding bound -------------------------------------------------------------------------
def rounding_bounds(part: Active, of: Value, wrt: Sequence[Value]) -> list[float]:
    """For each input of `wrt`, a bound on the sum over its row of the Hessian's rounding errors.

    Running error analysis in one scalar pass over all directions at once: beside each tangent,
    adjoint and adjoint tangent, the sum of the magnitudes of its terms (size) and a bound on its
    error. A term c * v adds |c| error(v) (the error carried), the error of c times size(v) (the
    table's own LOCAL_ULPS or SECOND_ULPS ulps, and for a local derivative the error of the
    values it was computed at, through the second derivatives) and one subnormal spacing (a
    rounding that underflows loses up to that much, whatever the magnitude); a sum of n terms
    adds n half-ulps of its size."""
    size = len(part.order)
    uses = [0] * size
    for operands in part.operands:
        for j in operands:
            if j >= 0:
                uses[j] += 1
    slack, size_t, error_t = _forward_bounds(part, wrt)
    size_a, error_a = [0.0] * size, [0.0] * size
    size_b, error_b = [0.0] * size, [0.0] * size
    if id(of) in part.position:
        size_a[part.position[id(of)]] = 1.0
    for k in range(size - 1, -1, -1):
        error_a[k] += uses[k] * EPS / 2 * size_a[k]  # its adjoint and adjoint tangent are sums of `uses` terms
        error_b[k] += uses[k] * EPS / 2 * size_b[k]
        operands = part.operands[k]
        if not operands or not (size_a[k] or size_b[k]):
            continue
        curvature = part.hessian_of(k)
        for i, j in enumerate(operands):
            if j < 0:
                continue
            p = abs(part.local[k][i])
            size_a[j] += p * size_a[k]
            error_a[j] += p * error_a[k] + slack[k][i] * size_a[k] + TINY
            bent = sum(abs(curvature[i][m]) * size_t[o] for m, o in enumerate(operands) if o >= 0 and size_t[o])
            bent_error = sum(abs(curvature[i][m]) * error_t[o] for m, o in enumerate(operands) if o >= 0 and size_t[o])
            size_b[j] += p * size_b[k] + size_a[k] * bent
            error_b[j] += (p * error_b[k] + slack[k][i] * size_b[k] + error_a[k] * bent
                           + size_a[k] * bent_error + SECOND_ULPS * EPS * size_a[k] * bent + 2 * TINY)
    # each entry is a float at best: within half a subnormal spacing of the truth (a whole one here:
    # half of it is not a float)
    bounds = [error_b[part.position[id(node)]] + len(wrt) * TINY if id(node) in part.position else 0.0
              for node in wrt]
    return [bound if bound == bound else math.inf for bound in bounds]  # nan: no bound is known


def _forward_bounds(part: Active, wrt: Sequence[Value]) -> tuple[list[tuple[float, ...]], list[float], list[float]]:
    """Forward, for `rounding_bounds`: the error of each node's local derivatives (the table's
    own, plus its operands' value errors times the second derivatives), and the size and error
    of its tangents. A value's error is that of its operands carried through, plus VALUE_ULPS
    ulps of its own."""
    size = len(part.order)
    seeds = {part.position[id(node)] for node in wrt if id(node) in part.position}
    error_v, slack = [0.0] * size, [()] * size
    size_t, error_t = [0.0] * size, [0.0] * size
    for k, operands in enumerate(part.operands):
        if not operands:
            size_t[k] = 1.0 if k in seeds else 0.0
            continue
        curvature, local = part.hessian_of(k), part.local[k]
        slack[k] = tuple(0.0 if j < 0 else LOCAL_ULPS * EPS * abs(p) + sum(
            abs(curvature[i][m]) * error_v[o] for m, o in enumerate(operands) if o >= 0 and error_v[o])
            for i, (j, p) in enumerate(zip(operands, local)))
        for i, (j, p) in enumerate(zip(operands, local)):
            if j < 0:
                continue
            error_v[k] += abs(p) * error_v[j]
            if size_t[j]:
                size_t[k] += abs(p) * size_t[j]
                error_t[k] += abs(p) * error_t[j] + slack[k][i] * size_t[j] + TINY
        error_v[k] += VALUE_ULPS * EPS * abs(part.order[k].data) + TINY
    return slack, size_t, error_t


# -- the matrix ---------------------------------------------------------------------------------
def chunk_width(part: Active, directions: int) -> int:
    """How many directions one pass carries: all of them, unless their tangents would hold more
    than TANGENT_FLOATS_PER_NODE floats per node of the budget."""
    return max(1, min(directions, budget.nodes() * TANGENT_FLOATS_PER_NODE // max(1, len(part.order))))


def matrix(program: Program, wrt: Sequence[str], of: Value | None = None, *, part: Active | None = None,
           progress: Progress | None = None) -> list[list[float]]:
    """The Hessian of `of` over the inputs `wrt` at the evaluated point, whose adjoints (`.grad`)
    the engine has computed over `part` (`gradient`): H[i][j] = d2 of / d wrt[i] d wrt[j]."""
    of = of or program.output
    inputs = [program.inputs[name] for name in wrt]
    part = part or active_part(program, of, inputs)
    n = len(inputs)
    h = [[0.0] * n for _ in range(n)]
    if id(of) not in part.position or not n:
        return h
    import numpy as np

    width = chunk_width(part, n)
    chunks = [(start, min(n, start + width)) for start in range(0, n, width)]
    total = 2 * len(part.order) * len(chunks)
    with np.errstate(all="ignore"):  # a term that is not finite is found below and said in words
        for c, (start, stop) in enumerate(chunks):
            _chunk(program, part, inputs, h, start, stop, lambda done: progress(2 * len(part.order) * c + done, total)
                   if progress is not None else None)
    if progress is not None:
        progress(total, total)
    return h


def _chunk(program: Program, part: Active, inputs: list[Value], h: list[list[float]], start: int, stop: int,
           progress: Callable[[int], None]) -> None:
    """Columns start..stop of the Hessian into `h`: one forward and one backward pass carrying
    those directions."""
    seeds = {part.position[id(node)]: d - start for d, node in enumerate(inputs[start:stop], start)
             if id(node) in part.position}
    tangent = _tangents(part, seeds, stop - start)
    progress(len(part.order))
    columns = _adjoint_tangents(part, tangent, progress=lambda k: progress(len(part.order) + k))
    for i, node in enumerate(inputs):
        block = columns[part.position[id(node)]] if id(node) in part.position else None
        if block is not None:
            if not all(x - x == 0 for x in block.tolist()):
                raise _not_finite(program, part, tangent)
            h[i][start:stop] = [x + 0.0 for x in block.tolist()]  # + 0.0: no -0 in the matrix


def _not_finite(program: Program, part: Active, tangent: list) -> DomainError:
    """The node where an adjoint tangent first stopped being finite, walking backwards, as a
    located error that says whether a second derivative of the table was undefined or too large
    there, or the terms meeting there added up past the largest float."""
    found: list[int] = []

    def check(k: int, term) -> None:
        if not found and not all(x - x == 0 for x in term.tolist()):
            found.append(k)

    _adjoint_tangents(part, tangent, check)
    node = part.order[found[0]] if found else part.order[-1]
    k = part.position[id(node)]
    names = [program.label(p) for p in node._prev]
    at = ", ".join(f"{name} = {p.data:g}" for name, p in zip(names, node._prev))
    reason = "the second derivative is too large here: the terms reaching this node exceed the largest float"
    hint = "the Hessian cannot be represented as floats here: use smaller input values, or fewer inputs with --wrt"
    if node._prev and node.grad != 0.0:
        curvature = part.hessian_of(k)
        for i, j in enumerate(part.operands[k]):
            for m, other in enumerate(part.operands[k]):
                value = curvature[i][m]
                if j < 0 or other < 0 or tangent[other] is None or value - value == 0:
                    continue
                by = f"d2/d{names[i]}2" if i == m else f"d2/d{names[i]} d{names[m]}"
                if value != value:
                    reason = f"the second derivative is undefined here: {by} is undefined at {at}"
                    hint = "the Hessian does not exist here: move the inputs, or leave this input out with --wrt"
                else:
                    reason = f"the second derivative is too large here: {by} exceeds the largest float (about 1.8e308) at {at}"
                    hint = "the true second derivative cannot be represented as a float: move the inputs away from there"
                break
            else:
                continue
            break
    error = DomainError(reason)
    error.node = node
    located = program.locate(error)
    located.hint = hint
    return located


# -- eigenvalues and what they say ----------------------------------------------------------------
def eigenvalues(symmetric: Sequence[Sequence[float]]) -> list[float]:
    """The eigenvalues of a symmetric matrix, smallest first: cyclic Jacobi rotations
    (Numerical Recipes 11.1), each zeroing one off-diagonal entry, until none is left. The matrix
    is scaled first by a power of two (exact) so that its largest entry is about 1: no square on
    the way overflows or underflows, at any magnitude."""
    n = len(symmetric)
    largest = max((abs(x) for row in symmetric for x in row), default=0.0)
    if largest == 0 or largest - largest != 0:
        return [largest if largest == 0 else math.nan] * n
    _, exponent = math.frexp(largest)
    a = [[math.ldexp(symmetric[i][j], -exponent - 1) + math.ldexp(symmetric[j][i], -exponent - 1) for j in range(n)]
         for i in range(n)]
    for _ in range(100):
        off = sum(a[p][q] ** 2 for p in range(n) for q in range(p + 1, n))
        if off <= 1e-32 * sum(a[i][i] ** 2 for i in range(n)) or off == 0:
            break
        for p in range(n):
            for q in range(p + 1, n):
                if a[p][q] != 0:
                    _rotate(a, p, q)
    return sorted(_unscaled(a[i][i], exponent) for i in range(n))


def _unscaled(value: float, exponent: int) -> float:
    try:
        return math.ldexp(value, exponent)
    except OverflowError:
        return math.copysign(math.inf, value)


def _rotate(a: list[list[float]], p: int, q: int) -> None:
    theta = (a[q][q] - a[p][p]) / (2 * a[p][q])
    t = 1 / (2 * theta) if abs(theta) > 1e150 else math.copysign(1.0, theta) / (abs(theta) + math.sqrt(theta * theta + 1))
    c = 1 / math.sqrt(t * t + 1)
    s = t * c
    for row in a:
        row[p], row[q] = c * row[p] - s * row[q], s * row[p] + c * row[q]
    a[p], a[q] = [c * x - s * y for x, y in zip(a[p], a[q])], [s * x + c * y for x, y in zip(a[p], a[q])]


def zero_tolerance(values: Sequence[float], bounds: Sequence[float] = ()) -> float:
    """How large an eigenvalue may be and still be 0 to rounding: the entries' rounding (a bound
    on the matrix's 2-norm error from the rows' bounds, sqrt(max row * sum of rows)) plus the
    eigenvalue routine's own (JACOBI_ULPS ulps per input, of the largest)."""
    largest = max((abs(v) for v in values), default=0.0)
    entries = math.sqrt(max(bounds, default=0.0)) * math.sqrt(math.fsum(bounds)) if bounds else 0.0
    return entries + JACOBI_ULPS * EPS * max(1, len(values)) * largest


def verdict(values: Sequence[float], tolerance: float | None = None) -> str:
    """minimum (every eigenvalue > 0), maximum (every one < 0), saddle (both signs), or
    undecided (one is 0 within `tolerance`, by default the eigenvalue routine's own rounding; or
    there are none)."""
    zero = zero_tolerance(values) if tolerance is None else tolerance
    largest = max((abs(v) for v in values), default=0.0)
    if largest == 0 or any(abs(v) <= zero or v != v for v in values):
        return "undecided"
    if all(v > 0 for v in values):
        return "minimum"
    if all(v < 0 for v in values):
        return "maximum"
    return "saddle"


MEANING = {
    "minimum": "every eigenvalue > 0: the function curves up in every direction, a minimum if the gradient is 0 here",
    "maximum": "every eigenvalue < 0: the function curves down in every direction, a maximum if the gradient is 0 here",
    "saddle": "eigenvalues of both signs: up in some directions, down in others, a saddle",
    "undecided": "an eigenvalue is 0 to rounding: second derivatives do not decide here",
}


def symmetry(h: Sequence[Sequence[float]], bounds: Sequence[float]) -> tuple[float, float, bool]:
    """(max |H_ij - H_ji|, the rounding bound of that pair, whether every pair is within its
    bound): H_ij is within bounds[i] of the truth and H_ji within bounds[j], so a symmetric truth
    differs by at most their sum."""
    gap, allowed, symmetric, worst = 0.0, 0.0, True, -1.0
    for i in range(len(h)):
        for j in range(i):
            difference, bound = abs(h[i][j] - h[j][i]), bounds[i] + bounds[j]
            symmetric = symmetric and not difference > bound
            ratio = difference / bound if bound else (math.inf if difference else 0.0)
            if ratio > worst:
                gap, allowed, worst = difference, bound, ratio
    return gap, allowed, symmetric


def asymmetry(h: Sequence[Sequence[float]]) -> float:
    """max |H - H^T| over max |H| (0 for a zero matrix)."""
    largest = max((abs(x) for row in h for x in row), default=0.0)
    gap = max((abs(h[i][j] - h[j][i]) for i in range(len(h)) for j in range(i)), default=0.0)
    return gap / largest if largest and largest - largest == 0 else 0.0


# -- the command's core -------------------------------------------------------------------------
def chosen_inputs(program: Program, wrt: Sequence[str] | None, option: str = "--wrt") -> list[str]:
    """The inputs a Hessian is taken over: `wrt` (checked, each once), else every input."""
    names = list(program.inputs) if wrt is None else [program.input(name, "differentiate by").label for name in wrt]
    if len(set(names)) != len(names):
        raise UsageError(f"{option} names an input twice", hint=f"give each input once: {option} a,b")
    return names


def check_size(part: Active, names: Sequence[str], extra: int = 0, what: str = "") -> None:
    """Refuse, before any work, a Hessian whose passes exceed the work budget: a forward and a
    backward sweep over the active part per direction, and `extra` node evaluations of `what`
    (check's differences)."""
    n = len(names)
    work = n * 2 * len(part.order) + n * n + extra
    budget.check_work(work, f"the Hessian over {n:,} input{'s' * (n != 1)} (a {len(part.order):,}-node part of the "
                            f"graph, {n:,} Hessian-vector products{what}) is",
                      way_around="choose fewer inputs with --wrt a,b (check --order 2: --nodes a,b)")


def hessian(program: Program, values: Mapping[str, float], wrt: Sequence[str] | None = None,
            of: Value | None = None, *, warnings: list[str] | None = None,
            progress: Progress | None = None) -> HessianReport:
    """Run `program` at `values` and compute the Hessian of `of` (default: the output) over the
    inputs `wrt` (default: every input), the rounding bound of each row, its symmetry, and for up
    to EIGEN_LIMIT inputs its eigenvalues and what they say. `progress(done, total)` is called
    as the passes go; the size budget is checked before any of them."""
    of = of or program.output
    names = chosen_inputs(program, wrt)
    program.evaluate(values)
    inputs = [program.inputs[name] for name in names]
    part = active_part(program, of, inputs)
    check_size(part, names)
    error = kink_error(program, of, part=part)
    if error is not None:
        raise error
    slope = gradient(program, of, part, names)
    h = matrix(program, names, of, part=part, progress=progress)
    bounds = rounding_bounds(part, of, inputs)
    settle(program, of, part)
    report = HessianReport(program, of, names, h, dict(zip(names, slope)), bounds, warnings=list(warnings or []))
    if len(names) <= EIGEN_LIMIT:
        report.eigenvalues = eigenvalues(h)
        report.zero = zero_tolerance(report.eigenvalues, bounds)
        report.verdict = verdict(report.eigenvalues, report.zero)
    return report


@dataclass
class HessianReport(Report):
    program: Program
    of: Value
    wrt: list[str]
    matrix: list[list[float]]
    gradient: dict[str, float]
    bounds: list[float]  # per row: the sum of its entries' rounding errors is at most this
    eigenvalues: list[float] | None = None
    zero: float | None = None  # an eigenvalue this small is 0 to rounding
    verdict: str | None = None
    warnings: list[str] = field(default_factory=list)

    @property
    def asymmetry(self) -> float:
        return asymmetry(self.matrix)

    @property
    def symmetric(self) -> bool:
        return symmetry(self.matrix, self.bounds)[2]

    def symmetry_note(self) -> str:
        if len(self.matrix) < 2:
            return "symmetric: a single input"
        gap, allowed, symmetric = symmetry(self.matrix, self.bounds)
        if symmetric:
            return f"symmetric to rounding: max |H - H^T| = {gap:.3g}, within the entries' rounding bound {allowed:.3g}"
        return f"NOT symmetric: |H - H^T| reaches {gap:.3g}, beyond the entries' rounding bound {allowed:.3g}"

    def sections(self) -> list:
        program, p = self.program, self.precision
        if len(self.wrt) > MATRIX_LIMIT:
            table = self.largest_entries()
        else:
            at = ", ".join(f"{name} = {number(program.inputs[name].data, p)}" for name in self.wrt)
            table = Table(["", *self.wrt], title=f"Hessian of {program.label(self.of)} at {at}", right=set(self.wrt))
            for name, row in zip(self.wrt, self.matrix):
                table.add(name, *(number(x, p) for x in row))
        table.notes.append(self.symmetry_note())
        if self.eigenvalues is None:
            table.notes.append(f"eigenvalues: only for up to {EIGEN_LIMIT} inputs (choose some with --wrt)")
        else:
            table.notes.append(f"eigenvalues: {', '.join(number(v, p) for v in self.eigenvalues)}")
            zero = f" (|eigenvalue| <= {self.zero:.3g})" if self.verdict == "undecided" and self.zero else ""
            table.notes.append(f"{self.verdict}: {MEANING[self.verdict]}{zero}")
            if self.verdict in ("minimum", "maximum") and any(g != 0 for g in self.gradient.values()):
                table.notes.append("the gradient is not 0 here, so this is not a stationary point")
        return [table]

    def largest_entries(self) -> Table:
        """Past MATRIX_LIMIT inputs, the matrix would be wider than any screen: its largest
        entries (of the upper triangle, the diagonal included) instead, largest |value| first."""
        import heapq

        n = len(self.wrt)
        entries = heapq.nlargest(MATRIX_LIMIT * 2, ((i, j) for i in range(n) for j in range(i, n)
                                                    if self.matrix[i][j] != 0),
                                 key=lambda ij: abs(self.matrix[ij[0]][ij[1]]))
        table = Table(["row", "column", "d2/drow dcolumn"], right={"d2/drow dcolumn"},
                      title=f"Hessian of {self.program.label(self.of)} over {n} inputs at their values: "
                            f"its {len(entries)} largest entries, 0s left out")
        for i, j in entries:
            table.add(self.wrt[i], self.wrt[j], number(self.matrix[i][j], self.precision))
        zero = sum(1 for row in self.matrix for x in row if x == 0)
        table.notes.append(f"{n} x {n} = {n * n:,} entries, {zero:,} of them 0; the whole matrix is in --json, "
                           "a block of it with --wrt a,b,...")
        return table

    def to_json(self) -> dict:
        program = self.program
        return {
            "schema": SCHEMA,
            "output": ref_json(program, program.output),
            "of": ref_json(program, self.of),
            "wrt": self.wrt,
            "at": {name: program.inputs[name].data for name in self.wrt},
            "gradient": self.gradient,
            "hessian": self.matrix,
            "rounding": [finite(bound) for bound in self.bounds],
            "symmetric": self.symmetric,
            "asymmetry": self.asymmetry,
            "eigenvalues": None if self.eigenvalues is None else [finite(v) for v in self.eigenvalues],
            "zero": finite(self.zero),
            "verdict": self.verdict,
            "warnings": self.warnings,
        }


# -- one Hessian-vector product -------------------------------------------------------------------
def hvp(program: Program, values: Mapping[str, float], direction: Mapping[str, float], wrt: Sequence[str] | None = None,
        of: Value | None = None, *, warnings: list[str] | None = None) -> HvpReport:
    """H v for one direction v ({input: component}; the inputs left out do not move): the
    derivative of the gradient along v, at the inputs `wrt` (default: every input). One forward
    pass carries v's tangents, one backward pass the adjoints and their tangents: the two passes
    of one column of `hessian`, for any direction."""
    import numpy as np

    of = of or program.output
    names = chosen_inputs(program, wrt)
    program.evaluate(values)
    moved = [program.inputs[name] for name in direction]
    inputs = [program.inputs[name] for name in names]
    part = active_part(program, of, list({id(node): node for node in [*moved, *inputs]}.values()))
    budget.check_work(2 * len(part.order), f"a Hessian-vector product (two passes over a {len(part.order):,}-node part "
                                           "of the graph) is", way_around="choose fewer inputs with --wrt")
    error = kink_error(program, of, part=part)
    if error is not None:
        raise error
    slope = gradient(program, of, part, names)
    seeds = {part.position[id(node)]: np.array([float(direction[name])]) for name, node in zip(direction, moved)
             if id(node) in part.position}
    with np.errstate(all="ignore"):  # a term that is not finite is found below and said in words
        tangent = tangents(part, seeds)[0]
        carried = _adjoint_tangents(part, tangent)
    product = []
    for node in inputs:
        block = carried[part.position[id(node)]] if id(node) in part.position else None
        product.append(0.0 if block is None else float(block[0]) + 0.0)
    if not all(x - x == 0 for x in product):
        raise _not_finite(program, part, tangent)
    settle(program, of, part)
    return HvpReport(program, of, dict(direction), names, product, dict(zip(names, slope)),
                     len(program.inputs) - len(direction), warnings=list(warnings or []))


@dataclass
class HvpReport(Report):
    program: Program
    of: Value
    direction: dict[str, float]  # by element; the inputs left out do not move
    wrt: list[str]
    product: list[float]  # (H v)[i] for each input of `wrt`
    gradient: dict[str, float]
    unmoved: int = 0
    warnings: list[str] = field(default_factory=list)

    def sections(self) -> list:
        p, program = self.precision, self.program
        along = ", ".join(f"{name} = {number(x, p)}" for name, x in list(self.direction.items())[:8])
        along += ", ..." if len(self.direction) > 8 else ""
        table = Table(["input", "value", "v", "(H v)"], right={"value", "v", "(H v)"}, key="input",
                      title=f"Hessian-vector product of {program.label(self.of)} along v: {along}")
        for name, x in zip(self.wrt, self.product):
            table.add(name, number(program.inputs[name].data, p), number(self.direction.get(name, 0.0), p), number(x, p))
        if self.unmoved:
            table.notes.append("v is 0 for the inputs it does not name")
        table.notes.append("(H v)[i] = sum over j of d2L/dxi dxj v[j]: one forward pass and one backward pass, not the "
                           "whole matrix")
        return [table]

    def to_json(self) -> dict:
        from scalargrad.data import nest

        program = self.program
        return {
            "schema": "scalargrad.hvp/1",
            "output": ref_json(program, program.output),
            "of": ref_json(program, self.of),
            "direction": nest(self.direction),
            "hvp": nest(dict(zip(self.wrt, self.product))),
            "gradient": nest(self.gradient),
            "warnings": self.warnings,
        }
