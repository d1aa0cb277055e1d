"""The exact Hessian, d2L/dxi dxj over the inputs (`scalargrad hessian`), from the one table.

Reverse over reverse, with no table of second derivatives: every row's `formulas` in
`ops.py` is an expression of the language in x and y, parsed once per row and operand. The
backward pass is built as new graph nodes: walking the program backwards, a node's gradient
node is the sum over its consumers of (the consumer's gradient node) * (the consumer's
formula with its operands in place of x and y). Each input's gradient is then an ordinary
node, and the engine's backward from it gives one row of the Hessian. The program itself is
never changed: the new nodes only read its nodes.

    >>> from scalargrad import parse
    >>> report = hessian(parse("L = x**2 - y**2"), {"x": 0, "y": 0})
    >>> report.matrix, report.verdict
    ([[2.0, 0.0], [0.0, -2.0]], 'saddle')
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Mapping, Sequence

from scalargrad import engine
from scalargrad.engine import Value
from scalargrad.errors import DomainError, UsageError
from scalargrad.ops import CONST, LEAF, OPS
from scalargrad.program import Program
from scalargrad.render import DEFAULT_PRECISION, Report, Table, number, ref_json

SCHEMA = "scalargrad.hessian/1"
MATRIX_LIMIT = 12  # inputs shown as a matrix in a table; past it, the largest entries
EIGEN_LIMIT = 20  # eigenvalues (pure-Python Jacobi rotations) for at most this many inputs
ZERO = 1e-9  # an eigenvalue within this fraction of the largest is taken as 0
SYMMETRIC = 1e-12  # max |H - H^T| over max |H| below this is rounding


@lru_cache(maxsize=None)
def formula(op_name: str, operand: int) -> Program:
    """The row's local derivative d ans / d operand as a parsed program in x and y."""
    from scalargrad.language import parse

    return parse(OPS[op_name].formulas[operand])


class _Builder:
    """Makes the backward pass's nodes, computing each value as it goes, and remembers for
    each which node of the program it differentiates (to place an error there)."""

    def __init__(self, program: Program):
        self.program = program
        self.origin: dict[int, Value] = {}
        self.one = Value(1.0, (), CONST)

    def node(self, op: str, operands: tuple[Value, ...], origin: Value) -> Value:
        row = OPS[op]
        try:
            data = row.forward(*(v.data for v in operands))
        except DomainError as error:
            error.node = origin
            raise self.program.locate(error) from None
        if all(v._op == CONST for v in operands):
            return Value(data, (), CONST)
        made = Value(data, operands, op)
        self.origin[id(made)] = origin
        return made

    def local(self, consumer: Value, operand: int) -> Value:
        """The consumer's formula for d consumer / d operand, on the consumer's operands."""
        template = formula(consumer._op, operand)
        made: dict[int, Value] = {id(node): consumer._prev["xy".index(name)] for name, node in template.inputs.items()}
        for node in template.nodes:
            if node._op == CONST:
                made[id(node)] = Value(node.data, (), CONST)
            elif node._op != LEAF:
                made[id(node)] = self.node(node._op, tuple(made[id(p)] for p in node._prev), consumer)
        return made[id(template.output)]

    def term(self, gradient: Value, local: Value, origin: Value) -> Value | None:
        """gradient * local, without the factors that are the number 1; None when local is 0."""
        if local._op == CONST and local.data == 0:
            return None
        if local._op == CONST and local.data == 1:
            return gradient
        return local if gradient is self.one else self.node("*", (gradient, local), origin)


def gradient_nodes(program: Program, of: Value | None = None) -> tuple[dict[int, Value], _Builder]:
    """Python id of each node of the program that `of` depends on through an input -> the node
    computing d of / d that node, built from the table's formulas. The program must be
    evaluated at the point: the new nodes' values are computed as they are made."""
    of = of or program.output
    upstream = program.upstream(of)
    variable: set[int] = set()
    for node in program.nodes:
        if (node._op == LEAF and node.label in program.inputs) or any(id(p) in variable for p in node._prev):
            variable.add(id(node))
    build = _Builder(program)
    shares: dict[int, list[Value]] = {id(of): [build.one]}
    gradients: dict[int, Value] = {}
    for node in reversed(program.nodes[: program.node_id(of) + 1]):
        terms = shares.get(id(node))
        if not terms or id(node) not in upstream or id(node) not in variable:
            continue
        gradient = terms[0]
        for term in terms[1:]:
            gradient = build.node("+", (gradient, term), node)
        gradients[id(node)] = gradient
        for i, operand in enumerate(node._prev):
            if id(operand) in variable:
                term = build.term(gradient, build.local(node, i), node)
                if term is not None:
                    shares.setdefault(id(operand), []).append(term)
    return gradients, build


def kink_error(program: Program, of: Value) -> DomainError | None:
    """The first operation `of` depends on that sits at a kink, as a located error."""
    upstream = program.upstream(of)
    for node in program.nodes:
        op = OPS.get(node._op)
        if node._prev and id(node) in upstream and op.kink is not None and op.kink(*(p.data for p in node._prev)):
            args = ", ".join(f"{p.data:g}" for p in node._prev)
            error = DomainError(f"the Hessian does not exist here: {op.symbol} has a kink at ({args})")
            error.node = node
            located = program.locate(error)
            located.hint = "second derivatives need a smooth point: move the inputs away from the kink"
            return located
    return None


def matrix(program: Program, wrt: Sequence[str], of: Value | None = None) -> list[list[float]]:
    """The Hessian of `of` over the inputs `wrt`, at the point the program was evaluated at."""
    of = of or program.output
    error = kink_error(program, of)
    if error is not None:
        raise error
    gradients, build = gradient_nodes(program, of)
    inputs = [program.inputs[name] for name in wrt]
    rows = []
    for node in inputs:
        gradient = gradients.get(id(node))
        if gradient is None or gradient._op == CONST:
            rows.append([0.0] * len(inputs))
            continue
        order = engine.topological_order(gradient)
        try:
            engine.backward(gradient, order)
        except DomainError as problem:
            problem.node = build.origin.get(id(problem.node), problem.node)
            raise program.locate(problem) from None
        reached = {id(n) for n in order}
        rows.append([other.grad if id(other) in reached else 0.0 for other in inputs])
    return rows


def eigenvalues(symmetric: Sequence[Sequence[float]]) -> list[float]:
    """The eigenvalues of a symmetric matrix, smallest first: cyclic Jacobi rotations
    (Numerical Recipes 11.1), each zeroing one off-diagonal entry, until none is left."""
    n = len(symmetric)
    a = [[(symmetric[i][j] + symmetric[j][i]) / 2 for j in range(n)] for i in range(n)]
    for _ in range(100):
        off = sum(a[p][q] ** 2 for p in range(n) for q in range(p + 1, n))
        if off <= 1e-32 * sum(a[i][i] ** 2 for i in range(n)) or off == 0:
            break
        for p in range(n):
            for q in range(p + 1, n):
                if a[p][q] != 0:
                    _rotate(a, p, q)
    return sorted(a[i][i] for i in range(n))


def _rotate(a: list[list[float]], p: int, q: int) -> None:
    theta = (a[q][q] - a[p][p]) / (2 * a[p][q])
    t = 1 / (2 * theta) if abs(theta) > 1e150 else math.copysign(1.0, theta) / (abs(theta) + math.sqrt(theta * theta + 1))
    c = 1 / math.sqrt(t * t + 1)
    s = t * c
    for row in a:
        row[p], row[q] = c * row[p] - s * row[q], s * row[p] + c * row[q]
    a[p], a[q] = [c * x - s * y for x, y in zip(a[p], a[q])], [s * x + c * y for x, y in zip(a[p], a[q])]


def verdict(values: Sequence[float]) -> str:
    """minimum (every eigenvalue > 0), maximum (every one < 0), saddle (both signs), or
    undecided (one is 0 within ZERO of the largest, or there are none)."""
    largest = max((abs(v) for v in values), default=0.0)
    if largest == 0 or any(abs(v) <= ZERO * largest for v in values):
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
    "undecided": f"an eigenvalue is 0 (at most {ZERO:g} times the largest in size): second derivatives do not decide here",
}


def asymmetry(h: Sequence[Sequence[float]]) -> float:
    """max |H - H^T| over max |H| (0 for a zero matrix)."""
    largest = max((abs(x) for row in h for x in row), default=0.0)
    gap = max((abs(h[i][j] - h[j][i]) for i in range(len(h)) for j in range(i)), default=0.0)
    return gap / largest if largest else 0.0


def hessian(program: Program, values: Mapping[str, float], wrt: Sequence[str] | None = None,
            of: Value | None = None, *, warnings: list[str] | None = None) -> HessianReport:
    """Run `program` at `values` and compute the Hessian of `of` (default: the output) over the
    inputs `wrt` (default: every input), its symmetry, and for up to EIGEN_LIMIT inputs its
    eigenvalues and what they say."""
    of = of or program.output
    names = list(program.inputs) if wrt is None else [program.input(name, "differentiate by").label for name in wrt]
    if len(set(names)) != len(names):
        raise UsageError("--wrt names an input twice", hint="give each input once: --wrt a,b")
    program.run(values, of)
    gradient = {name: program.inputs[name].grad for name in names}
    h = matrix(program, names, of)
    program.backward(of)  # the Hessian's backward passes reused the grads: leave them as grad shows them
    report = HessianReport(program, of, names, h, gradient, asymmetry(h), warnings=list(warnings or []))
    if len(names) <= EIGEN_LIMIT:
        report.eigenvalues = eigenvalues(h)
        report.verdict = verdict(report.eigenvalues)
    return report


@dataclass
class HessianReport(Report):
    program: Program
    of: Value
    wrt: list[str]
    matrix: list[list[float]]
    gradient: dict[str, float]
    asymmetry: float
    eigenvalues: list[float] | None = None
    verdict: str | None = None
    warnings: list[str] = field(default_factory=list)
    precision: int = DEFAULT_PRECISION

    @property
    def symmetric(self) -> bool:
        return self.asymmetry <= SYMMETRIC

    def sections(self) -> list:
        program, p = self.program, self.precision
        if len(self.wrt) > MATRIX_LIMIT:
            table = self.largest_entries()
        else:
            at = ", ".join(f"{name} = {number(program.inputs[name].data, p)}" for name in self.wrt)
            table = Table(["", *self.wrt], title=f"Hessian of {program.label(self.of)} at {at}", right=set(self.wrt))
            for name, row in zip(self.wrt, self.matrix):
                table.add(name, *(number(x, p) for x in row))
        table.notes.append(("symmetric" if self.symmetric else "NOT symmetric") +
                           f" to rounding: max |H - H^T| / max |H| = {self.asymmetry:.3g}")
        if self.eigenvalues is None:
            table.notes.append(f"eigenvalues: only for up to {EIGEN_LIMIT} inputs (choose some with --wrt)")
        else:
            table.notes.append(f"eigenvalues: {', '.join(number(v, p) for v in self.eigenvalues)}")
            table.notes.append(f"{self.verdict}: {MEANING[self.verdict]}")
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
            "symmetric": self.symmetric,
            "asymmetry": self.asymmetry,
            "eigenvalues": self.eigenvalues,
            "verdict": self.verdict,
            "warnings": self.warnings,
        }
