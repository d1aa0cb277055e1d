"""The passes that carry derivatives along a part of the graph, each counting the nodes it visits.

- `tangents`: forward mode. Each node's tangent, d node / d direction, from its operands'
  tangents and the table's `local` column (a JVP); a seed is a float (one direction per pass,
  as `jacobian --mode forward` runs) or a NumPy vector (many directions at once, as `hessian`
  runs them). Not finite differences, and not reverse mode transposed.
- `adjoints`: reverse mode from any seeds (a VJP): each node's adjoint, d (seeds . outputs) /
  d node, the table's `local` column applied backwards.
- `taylor`: truncated Taylor series along one input (`grad --order N`): each node's first N
  derivatives in that input, from the table's `taylor` column, exactly, not by nesting passes.

Each works on an `Active` part: the nodes between the chosen inputs and the chosen outputs,
evaluated at a point, with their local derivatives from the table. A pass visits a node when a
seed reaches it (a tangent, an adjoint or a series is carried there); `reach` predicts those
counts before any pass runs, from which inputs reach which node and which outputs each node
reaches, so `jacobian --mode auto` can choose the cheaper mode. Loops over lists, never recursion.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from scalargrad import engine
from scalargrad.engine import Value
from scalargrad.errors import DomainError
from scalargrad.ops import OPS
from scalargrad.program import Program


@dataclass
class Active:
    """The part of the program a derivative over `wrt` needs, evaluated at the point: the nodes
    that depend on a chosen input and that an output depends on, in topological order, with each
    one's local (and, when asked, second) derivatives from the table."""

    order: list[Value]
    position: dict[int, int]  # id(node) -> its place in `order`
    operands: list[tuple[int, ...]]  # places of a node's operands in `order`, -1 for the others
    local: list[tuple[float, ...]]
    second: list[tuple[float, ...]]

    def hessian_of(self, k: int) -> tuple[tuple[float, ...], ...]:
        """Node k's second derivatives as a matrix over its operands."""
        h = self.second[k]
        return ((h[0],),) if len(h) == 1 else ((h[0], h[1]), (h[1], h[2]))

    def place(self, node: Value) -> int | None:
        return self.position.get(id(node))


def active_part(program: Program, of: Value | Sequence[Value], wrt: Sequence[Value], *, second: bool = True) -> Active:
    """The nodes between the inputs `wrt` and `of` (one output or several), with their derivatives
    at the evaluated point (`second`: the table's second derivatives too, for the Hessian)."""
    outputs = [of] if isinstance(of, Value) else list(of)
    last = max((program.node_id(node) for node in outputs), default=-1)
    upstream = engine.ancestors(program.nodes[: last + 1], *outputs)
    reached = {id(node) for node in wrt}
    order: list[Value] = []
    for node in program.nodes[: last + 1]:
        if id(node) in upstream and (id(node) in reached or any(id(p) in reached for p in node._prev)):
            reached.add(id(node))
            order.append(node)
    position = {id(node): k for k, node in enumerate(order)}
    operands, local, seconds = [], [], []
    for node in order:
        operands.append(tuple(position.get(id(p), -1) for p in node._prev))
        if node._prev:
            row, xs = OPS[node._op], tuple(p.data for p in node._prev)
            local.append(row.local(node.data, *xs))
            seconds.append(row.second(node.data, *xs) if second else ())
        else:
            local.append(())
            seconds.append(())
    return Active(order, position, operands, local, seconds)


def kink_error(program: Program, of: Value, wrt: Sequence[Value] | None = None,
               part: Active | None = None, what: str = "the Hessian does not exist here",
               hint: str = "second derivatives need a smooth point: move the inputs away from the kink") -> DomainError | None:
    """The first operation between the inputs `wrt` (default: all) and `of` that sits at a kink,
    as a located error: there derivatives past the first do not exist."""
    if part is None:
        part = active_part(program, of, list(program.inputs.values()) if wrt is None else wrt)
    for node in part.order:
        op = OPS.get(node._op)
        if node._prev and op.kink is not None and op.kink(*(p.data for p in node._prev)):
            args = ", ".join(f"{p.data:g}" for p in node._prev)
            error = DomainError(f"{what}: {op.symbol} has a kink at ({args})")
            error.node = node
            located = program.locate(error)
            located.hint = hint
            return located
    return None


def times(coefficient: float, tangent):
    """coefficient * tangent (a float or a NumPy vector), where an infinite or undefined
    coefficient meets a 0 component as 0 (the direction does not move the operand: no term)."""
    if coefficient - coefficient == 0:
        return coefficient * tangent
    if tangent.__class__ is float:
        return 0.0 if tangent == 0 else coefficient * tangent
    product = coefficient * tangent
    product[tangent == 0] = 0.0
    return product


def tangents(part: Active, seeds: dict[int, object]) -> tuple[list, int]:
    """Forward mode: each node's tangent (None where no seed reaches it) and the nodes visited.
    `seeds` maps an input's place in `part.order` to its tangent: a float, or a NumPy vector
    with one entry per direction."""
    tangent: list = [None] * len(part.order)
    visits = 0
    for k, operands in enumerate(part.operands):
        if not operands:
            if k in seeds:
                tangent[k] = seeds[k]
                visits += 1
            continue
        total = None
        for j, p in zip(operands, part.local[k]):
            if j >= 0 and tangent[j] is not None:
                term = times(p, tangent[j])
                total = term if total is None else total + term
        if total is not None:
            tangent[k] = total
            visits += 1
    return tangent, visits


def adjoints(part: Active, seeds: dict[int, float]) -> tuple[list, int]:
    """Reverse mode: each node's adjoint (None where no seed reaches it backwards) and the nodes
    visited. `seeds` maps an output's place in `part.order` to its weight (1 for a gradient)."""
    adjoint: list = [None] * len(part.order)
    for k, seed in seeds.items():
        adjoint[k] = float(seed)
    visits = 0
    for k in range(len(part.order) - 1, -1, -1):
        carried = adjoint[k]
        if carried is None:
            continue
        visits += 1
        for j, p in zip(part.operands[k], part.local[k]):
            if j >= 0:
                term = times(p, carried)
                adjoint[j] = term if adjoint[j] is None else adjoint[j] + term
    return adjoint, visits


def reach(part: Active, inputs: Sequence[int], outputs: Sequence[int]) -> tuple[int, int]:
    """The node visits that the forward passes (one per input place of `inputs`) and the reverse
    passes (one per output place of `outputs`) will take in all, counted before any pass runs:
    which inputs reach each node and which outputs it reaches, as bit sets (Python ints), in one
    sweep each way."""
    size = len(part.order)
    down, up = [0] * size, [0] * size
    for bit, k in enumerate(inputs):
        down[k] |= 1 << bit
    for k, operands in enumerate(part.operands):
        for j in operands:
            if j >= 0:
                down[k] |= down[j]
    for bit, k in enumerate(outputs):
        up[k] |= 1 << bit
    for k in range(size - 1, -1, -1):
        if up[k]:
            for j in part.operands[k]:
                if j >= 0:
                    up[j] |= up[k]
    return sum(mask.bit_count() for mask in down), sum(mask.bit_count() for mask in up)


def taylor(part: Active, seed: int, order: int) -> tuple[list, int]:
    """Truncated Taylor series along the input at place `seed`: each node's coefficients
    c[k] = (d^k node / d input^k) / k! for k = 0..order (None where the input does not reach),
    from the table's `taylor` column, and the nodes visited."""
    size = order + 1
    series: list = [None] * len(part.order)
    start = part.order[seed].data
    series[seed] = [start, 1.0] + [0.0] * (size - 2) if size > 1 else [start]
    visits = 1
    for k, operands in enumerate(part.operands):
        if not operands or all(j < 0 or series[j] is None for j in operands):
            continue
        node = part.order[k]
        xs = [series[j] if j >= 0 and series[j] is not None else [p.data] + [0.0] * (size - 1)
              for j, p in zip(operands, node._prev)]
        series[k] = OPS[node._op].taylor(node.data, *xs)
        visits += 1
    return series, visits
