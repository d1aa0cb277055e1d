"""Every node's value and gradient: what `scalargrad grad` computes and shows.

    >>> from scalargrad import parse
    >>> from scalargrad.gradients import gradients
    >>> report = gradients(parse("L = (a*b + c) * f"), {"a": 2, "b": -3, "c": 10, "f": -2})
    >>> report.to_json()["grads"]
    {'a': 6.0, 'b': -4.0, 'c': -2.0, 'f': 4.0, 'L': 1.0}
"""

from __future__ import annotations

import json
import math
from json.encoder import encode_basestring_ascii as quote
from dataclasses import dataclass, field
from typing import IO, Mapping

from scalargrad.engine import Value
from scalargrad.errors import DomainError, UsageError
from scalargrad.ops import ATOM, CONST, LEAF, OPS
from scalargrad.program import Program
from scalargrad.render import (Report, Table, array_table, finite, grads_of, number,
                               ref_json, select_rows)

SCHEMA = "scalargrad.grad/2"


def gradients(program: Program, values: Mapping[str, float], of: Value | None = None, *,
              origin: Mapping[str, str] | None = None, warnings: list[str] | None = None) -> GradReport:
    """Run `program` at `values` and differentiate `of` (default: the output).

    A gradient that is undefined at this point (d/dy of `x**y` at a negative x) does not hide
    the ones that exist: the report keeps every gradient, marks the undefined ones
    (`undefined` in the table, null in JSON) and holds the located error as `problem`. A
    gradient that is infinite or too large for a float is an error (DomainError), as before.
    """
    of = of or program.output
    program.evaluate(values, of)  # inputs `of` does not read may have no value: what reads them is not computed
    report = GradReport(program, of, dict(origin or {}), list(warnings or []))
    try:
        program.backward(of)
    except DomainError as error:
        if not error.undefined or any(node.grad - node.grad != 0 and node.grad == node.grad
                                      for node in program.nodes):
            raise  # an infinite gradient somewhere: no number to show is honest
        report.problem = error
        report.warnings.append(error.message)
    return report


def grad_text(grad: float, precision: int) -> str:
    return "undefined" if grad != grad else number(grad, precision)


@dataclass
class GradReport(Report):
    program: Program
    of: Value
    origin: dict[str, str]  # input name -> where its value came from
    warnings: list[str] = field(default_factory=list)
    problem: DomainError | None = None  # why some gradients are undefined, where they are

    def sections(self) -> list:
        program, of, precision = self.program, self.of, self.precision
        nodes, note = select_rows(program, self.show_all)
        unknown = [node for node in nodes if not program.computed(node)]
        nodes = [node for node in nodes if program.computed(node)] if unknown else nodes
        title = f"gradients of {program.label(of)} = {number(of.data, precision)}"
        table = Table(["id", "node", "op", "data", "grad", "role"], title=title, right={"id", "data", "grad"},
                      key="node")
        for node in nodes:
            kind = program.kind(node)
            style = "bold" if node is program.output or node is of else ("cyan" if kind == "input" else "")
            grad = "" if kind == "const" else grad_text(node.grad, precision)
            table.add(str(program.node_id(node)), program.label(node), op_text(program, node),
                      number(node.data, precision), grad, role(program, node, of, self.origin), style=style)
        if note:
            table.notes.append(note)
        if unknown:
            table.notes.append(not_computed(program, unknown, of))
        if self.problem is not None:
            table.notes.append(f"undefined: {self.problem.message}")
        if program.arrays and not self.show_all:
            return [table, array_table(program, grads_of(program))]
        return [table]

    def head_json(self) -> dict:
        program = self.program
        return {
            "schema": SCHEMA,
            "output": ref_json(program, program.output),
            "of": ref_json(program, self.of),
            "inputs": _Text(inputs_text(program, self.origin)),
            "grads": _Text(grads_text(program)),
            "undefined": None if self.problem is None else {
                "reason": self.problem.message,
                "ids": [i for i, node in enumerate(program.nodes) if node._op != CONST and finite(node.grad) is None]},
            "warnings": self.warnings,
        }

    def to_json(self) -> dict:
        import io

        stream = io.StringIO()
        self.write_json(stream)
        return json.loads(stream.getvalue())

    def write_json(self, stream: IO[str]) -> None:
        """The `grad --json` document (schema in docs/json.md), streamed.

        One top-level field a line and one node a line. Everything goes through the json
        module's C encoder (json.dumps with `indent` would fall back to its pure-Python one)
        and node lines are formatted directly: a million nodes must not become a million dicts.
        """
        stream.write("{\n" + "".join(f" {quote(key)}: {value if value.__class__ is _Text else json.dumps(value)},\n"
                                      for key, value in self.head_json().items()))
        stream.write(' "nodes": [\n')
        lines = []
        last = len(self.program.nodes) - 1
        for i, line in enumerate(node_lines(self.program)):
            lines.append(line)
            if len(lines) == 10_000 or i == last:
                stream.write(",\n".join(lines) + (",\n" if i < last else "\n"))
                lines = []
        stream.write(" ]\n}\n")


class _Text(str):
    """A field of the document already written as JSON text (by `inputs_text`, `grads_text`)."""


def inputs_text(program: Program, origin: Mapping[str, str]) -> str:
    """The `inputs` map as JSON text, as json.dumps writes it: a record per input, formatted
    directly (json.dumps of 50,000 small dicts costs several times more)."""
    came = {where: quote(where) for where in {*origin.values(), ""}}  # a few places, each quoted once
    records = []
    for name, node in program.inputs.items():
        grad = node.grad
        grad = repr(grad) if grad - grad == 0 else "null"
        value = repr(node.data) if node.data == node.data else "null"  # null: no value, and `of` does not read it
        records.append(f'{quote(name)}: {{"value": {value}, "grad": {grad}, "from": {came[origin.get(name, "")]}}}')
    return "{" + ", ".join(records) + "}"


def grads_text(program: Program) -> str:
    """The `grads` map (every name's gradient, null for constants) as JSON text."""
    return "{" + ", ".join([f"{quote(name)}: {repr(node.grad) if node._op != CONST and node.grad - node.grad == 0 else 'null'}"
                            for name, node in program.names.items()]) + "}"


def node_lines(program: Program):
    """One JSON object per node, as text, in topological order.

    No label: it is the name when there is one, else the text at `span`, which a consumer
    cuts from the program itself (version 1 wrote it for every node, 5-20% of the time).
    """
    ops = {name: quote(op.symbol) for name, op in OPS.items()}
    ops[CONST], ops[LEAF] = '"const"', "null"
    kinds = {CONST: '"const"', LEAF: '"input"'}
    op_kind = '"op"'
    nodes, names, spans = program.nodes, program.names, program.spans
    ids = dict(zip(map(id, nodes), map(str, range(len(nodes)))))  # built in C
    for i, node in enumerate(nodes):
        op = node._op
        start, end = spans[i]
        name = quote(node.label) if node.label and names.get(node.label) is node else "null"
        prev = node._prev  # no, one or two operands (a list and a join per node cost a tenth of the document)
        count = len(prev)
        parents = f"{ids[id(prev[0])]}, {ids[id(prev[1])]}" if count == 2 else ids[id(prev[0])] if count == 1 else \
            ", ".join([ids[id(p)] for p in prev])
        grad = node.grad
        grad = repr(grad) if op != CONST and grad - grad == 0 else "null"
        data = node.data
        data = repr(data) if data == data else "null"  # null: not computed (it reads an input that has no value)
        yield (f'  {{"id": {i}, "name": {name}, "kind": {kinds.get(op, op_kind)}, "op": {ops[op]}, '
               f'"parents": [{parents}], "data": {data}, "grad": {grad}, "span": [{start}, {end}]}}')


def not_computed(program: Program, nodes: list[Value], of: Value) -> str:
    """The note for the nodes left out because they read an input that has no value, which
    the node differentiated (`--of`) does not read."""
    shown = ", ".join(program.label(node) for node in nodes[:4]) + (f", ... ({len(nodes):,} nodes)" if len(nodes) > 4 else "")
    return f"not computed, as they read {no_value(program, of)}: {shown}"


def no_value(program: Program, of: Value) -> str:
    """`y, which has no value (p does not need one)`: the inputs without a value."""
    missing = [name for name, node in program.inputs.items() if not program.computed(node)]
    names = ", ".join(missing[:3]) + (", ..." if len(missing) > 3 else "")
    return f"{names}, which {'has' if len(missing) == 1 else 'have'} no value ({program.label(of)} does not need one)"


def op_text(program: Program, node: Value) -> str:
    kind = program.kind(node)
    if kind != "op":
        return kind if kind == "const" else ""
    return OPS[node._op].symbol


def role(program: Program, node: Value, of: Value | None = None, origin: Mapping[str, str] | None = None) -> str:
    """`input`, `input (default)` where the program's default is the value used (by `origin`,
    when known), `output`, `differentiated`."""
    roles = []
    if program.kind(node) == "input":
        default = node.label in program.defaults and (origin is None or origin.get(node.label, "default") == "default")
        roles.append("input" + (" (default)" if default else ""))
    if node is program.output:
        roles.append("output")
    if of is not None and node is of and of is not program.output:
        roles.append("differentiated")
    return ", ".join(roles)


# -- higher derivatives along one input (`grad --order N --wrt x`) ----------------------------------
MAX_ORDER = 20  # the highest order asked for: 20! is still an exact float, and the series stay short
ORDER_SCHEMA = "scalargrad.order/1"


def higher(program: Program, values: Mapping[str, float], wrt: str | None, order: int | None, of: Value | None = None,
           *, all_: bool = False, warnings: list[str] | None = None) -> OrderReport:
    """d^k of / d wrt^k for k = 1..order at `values` (the other inputs held), exactly: one forward
    pass carrying each node's truncated Taylor series (the table's `taylor` column), not finite
    differences and not passes nested in passes. `wrt` may be left out when there is one input."""
    from scalargrad import budget
    from scalargrad.passes import active_part, kink_error, taylor

    of = of or program.output
    if order is None:
        raise UsageError("--wrt goes with --order: the input that higher derivatives go along",
                         hint=f"write --order 2 --wrt {wrt}; `grad` alone shows every first derivative")
    if all_:
        raise UsageError("--all does not apply to --order: it shows the derivatives of one node",
                         hint="leave --all out, or --order out to see every node")
    if not 1 <= order <= MAX_ORDER:
        raise UsageError(f"--order must be from 1 to {MAX_ORDER}, not {order}",
                         hint=f"derivatives up to order {MAX_ORDER} are exact here; ask for fewer")
    if wrt is None:
        if len(program.inputs) != 1:
            raise UsageError(f"--order {order} needs the input to differentiate by: --wrt NAME",
                             hint=f"higher derivatives go along one input; the inputs: {', '.join(list(program.inputs)[:10])}")
        wrt = next(iter(program.inputs))
    node = program.input(wrt, "differentiate by")
    program.evaluate(values, of)
    part = active_part(program, of, [node], second=False)
    budget.check_work(len(part.order) * (order + 1) ** 2,
                      f"a Taylor series of order {order} through a {len(part.order):,}-node part of the graph is",
                      way_around="ask for a lower --order")
    error = kink_error(program, of, [node], part, what="derivatives of order 2 and more do not exist here",
                       hint="higher derivatives need a smooth point: move the inputs away from the kink")
    if error is not None and order > 1:
        raise error
    place = part.place(of)
    series, visits = taylor(part, part.place(node), order) if place is not None else ([], 0)
    coefficients = series[place] if place is not None else [of.data] + [0.0] * order
    derivatives = [math.factorial(k) * c + 0.0 for k, c in enumerate(coefficients)][1:]
    if not all(d - d == 0 for d in derivatives):
        raise _series_error(program, part, series, derivatives)
    return OrderReport(program, of, wrt, coefficients, derivatives, visits, list(warnings or []))


def _series_error(program: Program, part, series: list, derivatives: list[float]) -> DomainError:
    """The first node whose series stopped being finite, as a located error: undefined there (a
    negative base with a moving exponent), or too large for a float."""
    k = next(i for i, d in enumerate(derivatives, 1) if d - d != 0)
    node = next((n for n, s in zip(part.order, series) if s is not None and not all(c - c == 0 for c in s)),
                part.order[-1])
    op = OPS.get(node._op)
    at = ", ".join(f"{p.data:g}" for p in node._prev)
    bad = next((c for c in series[part.order.index(node)] if c - c != 0), math.nan)
    if bad != bad and op is not None:
        error = DomainError(f"the derivative of order {k} is undefined here: {op.symbol} has no series in this input "
                            f"at ({at})")
        hint = next((h for h in op.hints if h), "move the inputs, or differentiate by another input")
    else:
        error = DomainError(f"the derivative of order {k} is too large for a float here")
        hint = "move the inputs, or ask for a lower --order"
    error.node = node
    located = program.locate(error)
    located.hint = hint
    return located


@dataclass
class OrderReport(Report):
    program: Program
    of: Value
    wrt: str
    taylor: list[float]  # c[k] = (d^k of / d wrt^k) / k!, k = 0..order
    derivatives: list[float]  # d^k of / d wrt^k, k = 1..order
    visits: int
    warnings: list[str] = field(default_factory=list)

    def sections(self) -> list:
        program, p, of = self.program, self.precision, self.of
        label, x = program.label(of), self.wrt
        at = number(program.inputs[x].data, p)
        table = Table(["order", "derivative", "value"], right={"order", "value"},
                      title=f"derivatives of {label} = {number(of.data, p)} in {x} at {x} = {at}")
        for k, d in enumerate(self.derivatives, 1):
            power = "" if k == 1 else str(k)
            top = label if ATOM.fullmatch(label) else ""  # `d2L/dx2`, or `d2/dx2` for a sub-expression
            by = x if ATOM.fullmatch(x) else f"({x})"  # d2L/d(W1[0, 0])2
            table.add(str(k), f"d{power}{top}/d{by}{power}", number(d, p))
        others = [name for name in program.inputs if name != x]
        if others:
            table.notes.append(f"the other input{'s' * (len(others) > 1)} held at {'their' if len(others) > 1 else 'its'} "
                               "value" + "s" * (len(others) > 1))
        table.notes.append(f"exact: one forward pass carrying each node's Taylor series to order {len(self.derivatives)} "
                           f"({self.visits:,} node visits)")
        return [table]

    def to_json(self) -> dict:
        program = self.program
        return {
            "schema": ORDER_SCHEMA,
            "output": ref_json(program, program.output),
            "of": ref_json(program, self.of),
            "wrt": self.wrt,
            "at": {name: program.inputs[name].data for name in program.inputs},
            "order": len(self.derivatives),
            "derivatives": self.derivatives,
            "taylor": self.taylor,
            "visits": self.visits,
            "warnings": self.warnings,
        }
