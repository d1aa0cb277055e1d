"""Straight-line code rolled into loops: `reroll` finds runs of operations that repeat with
ids in steps (a matrix product's chain, an element-wise layer) and writes each as a `Loop`,
nested where the runs themselves repeat; `unroll` is its inverse, which the tests hold it to.
For `scalargrad code`, which writes big programs as arrays and loops (`codegen`).
"""

from __future__ import annotations

from dataclasses import dataclass

MIN_LOOP = 4  # nodes a loop must cover to be worth writing as one
MAX_BODY = 8  # items in the body of a loop looked for at each level of nesting


# -- the program as statements ---------------------------------------------------------------
@dataclass(frozen=True)
class Node:
    """One operation of the forward pass: node `id` = row `op` of `operands` (ids)."""

    id: int
    op: str
    operands: tuple[int, ...]

    @property
    def sig(self):
        return ("node", self.op, len(self.operands))

    @property
    def params(self) -> tuple[int, ...]:
        return (self.id, *self.operands)


@dataclass(frozen=True)
class Loop:
    """`body` repeated `count` times, the k-th time with every id of the body plus k * its stride."""

    body: tuple
    count: int
    strides: tuple[int, ...]  # one per id of the body, flattened in order

    @property
    def sig(self):
        return ("loop", self.count, tuple(item.sig for item in self.body), self.strides)

    @property
    def params(self) -> tuple[int, ...]:
        return tuple(p for item in self.body for p in item.params)


def reroll(items: list, max_body: int = MAX_BODY) -> list:
    """`items` with every run that repeats with ids in steps rolled into a Loop, again and again
    (loops of loops) until nothing more rolls up. Exact: unrolling gives `items` back."""
    while True:
        rolled = _reroll_once(items, max_body)
        if len(rolled) == len(items):
            return items
        items = rolled


def _reroll_once(items: list, max_body: int) -> list:
    out, i, n = [], 0, len(items)
    while i < n:
        best = None  # (nodes covered, body length, count, strides)
        for p in range(1, max_body + 1):
            if i + 2 * p > n:
                break
            run = _run(items, i, p)
            if run is not None and (best is None or run[0] > best[0]):
                best = (run[0], p, run[1], run[2])
        if best is not None and _size(items[i : i + best[1] * best[2]]) >= MIN_LOOP:
            _, p, count, strides = best
            out.append(Loop(tuple(items[i : i + p]), count, strides))
            i += p * count
        else:
            out.append(items[i])
            i += 1
    return out


def _run(items: list, i: int, p: int):
    """How far the body items[i:i+p] repeats with every id in a constant step: (items covered,
    count, strides), or None when it does not repeat even once."""
    body = items[i : i + p]
    sigs = [item.sig for item in body]
    if [item.sig for item in items[i + p : i + 2 * p]] != sigs:
        return None
    base = [x for item in body for x in item.params]
    strides = tuple(b - a for a, b in zip(base, (x for item in items[i + p : i + 2 * p] for x in item.params)))
    count = 2
    while i + (count + 1) * p <= len(items):
        block = items[i + count * p : i + (count + 1) * p]
        if [item.sig for item in block] != sigs:
            break
        params = [x for item in block for x in item.params]
        if any(x != a + count * s for x, a, s in zip(params, base, strides)):
            break
        count += 1
    return p * count, count, strides


def _size(items) -> int:
    return sum(item.count * _size(item.body) if isinstance(item, Loop) else 1 for item in items)


def unroll(items) -> list[Node]:
    """The nodes a list of items stands for, in order (the inverse of `reroll`)."""
    out = []
    for item in items:
        out.extend(_unroll_item(item, None))
    return out


def _unroll_item(item, shift: tuple[int, ...] | None) -> list[Node]:
    """An item's nodes, every id moved by `shift` (one per id of the item, or None)."""
    result, work = [], [(item, shift)]
    while work:
        current, moved = work.pop()
        if isinstance(current, Node):
            params = current.params if moved is None else tuple(a + b for a, b in zip(current.params, moved))
            result.append(Node(params[0], current.op, params[1:]))
            continue
        base = moved or (0,) * len(current.strides)
        blocks = []
        for k in range(current.count):
            offset = [b + k * s for b, s in zip(base, current.strides)]
            at = 0
            for inner in current.body:
                width = len(inner.params)
                blocks.append((inner, tuple(offset[at : at + width])))
                at += width
        work.extend(reversed(blocks))
    return result
