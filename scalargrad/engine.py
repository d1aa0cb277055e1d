"""The engine: `Value`, topological order, forward re-evaluation and backward.

It knows graphs, not calculus: every value and derivative comes from `ops.OPS`.
Every walk is a loop over a list, so a chain of any depth works at Python's default
recursion limit.
"""

from __future__ import annotations

import math
from typing import Iterable, Sequence

from scalargrad.errors import DomainError
from scalargrad.ops import ATOM, CONST, FUNCTIONS, LEAF, OPERAND_NAMES, OPS, Op, rule, substitute


class Value:
    """A scalar in a computation graph, used by hand as in the micrograd lecture.

    >>> a = Value(2.0, label="a"); b = Value(-3.0, label="b")
    >>> L = a * b; L.backward(); (L.data, a.grad, b.grad)
    (-6.0, -3.0, 2.0)

    `_prev` keeps the operands in order, duplicates included: in `a + a` it is (a, a).
    """

    __slots__ = ("data", "grad", "label", "_op", "_prev")

    def __init__(self, data: float, _children: Sequence[Value] = (), _op: str = LEAF, label: str = ""):
        self.data = float(data)
        self.grad = 0.0
        self.label = label
        self._op = _op
        self._prev = tuple(_children)

    def __repr__(self) -> str:
        return f"Value(data={self.data})"

    # -- building the graph ------------------------------------------------------------
    def _apply(self, op: str, other: object = None) -> Value:
        """The node for `op` on self (and `other`), its value computed now, as in micrograd."""
        if other is None:
            operands: tuple[Value, ...] = (self,)
            args: tuple[float, ...] = (self.data,)
        else:
            other = other if isinstance(other, Value) else _as_value(other)
            operands, args = (self, other), (self.data, other.data)
        row = rule(op)
        try:
            data = row.forward(*args)
            if data - data != 0:  # inf or nan: never passed on silently, as in forward()
                raise DomainError(f"the result of {row.symbol} is not finite (overflow)")
        except DomainError as error:
            error.node = Value(math.nan, operands, op)
            raise
        return Value(data, operands, op)

    def __add__(self, other):
        return self._apply("+", other)

    def __radd__(self, other):
        return _as_value(other)._apply("+", self)

    def __sub__(self, other):
        return self._apply("-", other)

    def __rsub__(self, other):
        return _as_value(other)._apply("-", self)

    def __mul__(self, other):
        return self._apply("*", other)

    def __rmul__(self, other):
        return _as_value(other)._apply("*", self)

    def __truediv__(self, other):
        return self._apply("/", other)

    def __rtruediv__(self, other):
        return _as_value(other)._apply("/", self)

    def __pow__(self, other):
        return self._apply("**", other)

    def __rpow__(self, other):
        return _as_value(other)._apply("**", self)

    def __neg__(self):
        return self._apply("neg")

    def __pos__(self):
        return self

    def __abs__(self):
        return self._apply("abs")

    # -- differentiating --------------------------------------------------------------
    def backward(self) -> None:
        """Fill `.grad` of every node this one depends on with d self / d node.

        Gradients are reset first, so calling it twice gives the same result.
        """
        backward(self, topological_order(self))



def _function_method(op: Op):
    if op.arity == 2:
        def method(self: Value, other) -> Value:
            return self._apply(op.name, other)

        method.__doc__ = (f"{op.name}(self, other), a node of the graph (`{op.usage}` in a program, "
                          f"self as x); {op.derivatives}.")
    else:
        def method(self: Value) -> Value:
            return self._apply(op.name)

        method.__doc__ = f"{op.name}(self), a node of the graph; d/dx = {op.formulas[0]}."
    method.__name__ = method.__qualname__ = op.name
    return method


# Every function of the table is a method of Value (`x.tanh()`, as in the lecture; `x.max(y)`
# for two operands): a row added to ops.py is callable here with no code of its own.
for _op in FUNCTIONS.values():
    setattr(Value, _op.name, _function_method(_op))


def _as_value(x: object) -> Value:
    if isinstance(x, Value):
        return x
    if isinstance(x, (int, float)) and not isinstance(x, bool):
        return Value(x, (), CONST)
    raise TypeError(f"cannot combine a Value with {type(x).__name__}")


def topological_order(root: Value) -> list[Value]:
    """Every node `root` depends on, each after all of its operands, root last.

    Iterative depth-first post-order: deterministic (operands in order) and free of
    recursion, so a chain 100,000 deep is fine. A node is expanded once; `_DONE` above it
    on the stack marks that its operands have all been placed, so it goes next.
    """
    order: list[Value] = []
    seen: set[int] = set()
    stack: list = [root]
    while stack:
        node = stack.pop()
        if node is _DONE:
            order.append(stack.pop())
            continue
        if id(node) in seen:
            continue
        seen.add(id(node))
        stack.append(node)
        stack.append(_DONE)
        for child in reversed(node._prev):
            if id(child) not in seen:
                stack.append(child)
    return order


_DONE = object()


def forward(nodes: Iterable[Value]) -> None:
    """Recompute `.data` of every operation node, in the given (topological) order.

    Leaves keep their data. Raises DomainError, with `.node` set, where a value leaves
    an operation's domain or stops being finite.
    """
    ops = OPS
    for node in nodes:
        prev = node._prev
        if not prev:
            continue
        op = ops.get(node._op) or rule(node._op)
        try:
            if len(prev) == 2:
                out = op.forward(prev[0].data, prev[1].data)
            else:
                out = op.forward(prev[0].data)
        except DomainError as error:
            error.node = node
            raise
        except (OverflowError, ValueError, ZeroDivisionError) as error:
            raise _domain(node, f"{op.symbol} failed: {error}") from None
        if out - out != 0:  # inf or nan: never passed on silently
            raise _domain(node, "the result is not finite (overflow)")
        node.data = out


def backward(root: Value, order: Sequence[Value]) -> None:
    """Reverse-mode differentiation of `root` over `order` (topological, root included).

    Resets every gradient in `order`, seeds root.grad = 1, walks the order backwards
    once applying the chain rule from the table. Numeric literals (op "const") are not
    variables: their gradient stays 0. A gradient that is not finite is an error that
    names the node where it arose.
    """
    for node in order:
        node.grad = 0.0
    root.grad = 1.0
    ops = OPS
    for node in reversed(order):
        prev = node._prev
        g = node.grad
        if not prev or g == 0.0:
            continue
        op = ops.get(node._op) or rule(node._op)
        if len(prev) == 2:
            x, y = prev
            dx, dy = op.local(node.data, x.data, y.data)
            x.grad += g * dx
            y.grad += g * dy
        else:
            (x,) = prev
            (dx,) = op.local(node.data, x.data)
            x.grad += g * dx
    bad = None
    for node in order:
        if node._op == CONST:
            node.grad = 0.0
        elif bad is None and node.grad - node.grad != 0:
            bad = node
    if bad is not None:
        raise _gradient_not_finite(order)


_FLOAT_RANGE = "the largest float (about 1.8e308)"


def _gradient_not_finite(order: Sequence[Value]) -> DomainError:
    """Find the first node, walking backwards, where the gradient stopped being finite.

    Either a local derivative is itself not finite (undefined, infinite, or too large for a
    float), or it is finite and the gradient times it exceeds the float range, or a node used
    several times receives finite shares whose sum does. Each says so in words: an
    unrepresentable gradient is an error, never a 0 or an inf passed on.
    """
    for node in reversed(order):
        if node.grad - node.grad != 0:  # no share coming in was bad: their sum overflowed
            error = _domain(node, f"the gradient is too large here: the sum of the gradients reaching this node "
                                  f"from its uses exceeds {_FLOAT_RANGE}")
            error.hint = "the true gradient cannot be represented as a float: use smaller input values"
            return error
        if not node._prev or node.grad == 0.0:
            continue
        op = rule(node._op)
        xs = tuple(p.data for p in node._prev)
        local = op.local(node.data, *xs)
        for i, (parent, d) in enumerate(zip(node._prev, local)):
            share = node.grad * d
            if parent._op == CONST or share - share == 0:
                continue
            error = _local_derivative_error(node, op, i, xs, d)
            if d != d and i < len(op.hints) and op.hints[i]:
                error.hint = op.hints[i]
            return error
    return _domain(order[-1], f"a gradient exceeds {_FLOAT_RANGE}")


def _local_derivative_error(node: Value, op, i: int, xs: tuple[float, ...], d: float) -> DomainError:
    """The error of a local derivative `d` (operand `i` of `node`) that is not finite, or too
    large times the gradient arriving. Worded in the table's x and y here; `error.reword`
    words it again in the operands' own names (`Program.locate` knows them)."""

    def words(names: Sequence[str]) -> str:
        labels = dict(zip(OPERAND_NAMES, names))
        at = ", ".join(f"{name} = {x:g}" for name, x in zip(names, xs))
        where = f"the local derivative d/d{_wrapped(names[i])} = {substitute(op.formulas[i], labels)}"
        if d != d:
            return f"the gradient is undefined here: {where} is undefined at {at}"
        if d - d != 0 and op.kink is not None and op.kink(*xs):
            return f"the gradient is infinite here: {where} is infinite at {at}"
        if d - d != 0:
            return f"the gradient is too large here: {where} exceeds {_FLOAT_RANGE} at {at}"
        return (f"the gradient is too large here: {where} is {d:g} at {at}, and times the gradient arriving "
                f"here ({node.grad:g}) it exceeds {_FLOAT_RANGE}")

    error = _domain(node, words(OPERAND_NAMES[: len(xs)]))
    error.reword = words
    if d != d:
        error.undefined = True  # not a number at all, as opposed to one too large for a float
    elif d - d != 0 and op.kink is not None and op.kink(*xs):
        error.hint = f"{op.symbol} is not differentiable there (its slope is vertical): move the input away from there"
    elif d - d != 0:
        error.hint = "the true derivative cannot be represented as a float: move the inputs away from there"
    else:
        error.hint = "the true gradient cannot be represented as a float: use smaller input values"
    return error


def _wrapped(label: str) -> str:
    return label if ATOM.fullmatch(label) else f"({label})"


def _domain(node: Value, reason: str) -> DomainError:
    error = DomainError(reason)
    error.node = node
    return error


# -- walks --------------------------------------------------------------------------------
# Graph walks over a topological order: loops, never recursion. check, explain and dot use
# these rather than walking the graph themselves.
def ancestors(order: Sequence[Value], *roots: Value) -> set[int]:
    """Python ids of the nodes the `roots` depend on, the roots included: one pass backwards
    over `order` (a topological order that holds them), however many roots."""
    reached = {id(root) for root in roots}
    for node in reversed(order):
        if id(node) in reached:
            reached.update(id(p) for p in node._prev)
    return reached


def descendants(order: Sequence[Value], start: Value) -> list[Value]:
    """The nodes of `order` that depend on `start`, in order (what a change of `start`
    makes stale). `order` is the part of a topological order after `start`."""
    reached = {id(start)}
    result = []
    for node in order:
        if any(id(p) in reached for p in node._prev):
            reached.add(id(node))
            result.append(node)
    return result


def neighbours(order: Sequence[Value], centre: Value, depth: int) -> set[int]:
    """Positions in `order` of the nodes at most `depth` edges from `centre`, either way."""
    index = {id(node): i for i, node in enumerate(order)}
    users: dict[int, list[int]] = {}
    for i, node in enumerate(order):
        for parent in node._prev:
            users.setdefault(index[id(parent)], []).append(i)
    start = index[id(centre)]
    reached = {start}
    frontier = [start]
    for _ in range(depth):
        following = []
        for i in frontier:
            for j in [index[id(p)] for p in order[i]._prev] + users.get(i, []):
                if j not in reached:
                    reached.add(j)
                    following.append(j)
        frontier = following
    return reached
