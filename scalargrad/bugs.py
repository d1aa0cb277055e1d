"""The classic bugs of a hand-written backward pass, on purpose (`grad --backprop MODE`).

The micrograd lecture meets three of them: a gradient assigned (`=`) where it must be
accumulated (`+=`), so a node used twice keeps only its last share (`overwrite`); a naive
order, where a node passes its gradient on before every node using it has added its share
(`no-topo`: breadth-first from the output, each node once, as soon as it is reached); and the
recursive `build_topo`, which gives the right order but needs a Python call per level of the
graph and fails past the recursion limit (`recursive`: the depth it would reach is computed
here, by a loop, never by recursing). Each wrong pass runs on its own list of gradients beside
the right one, with the table's local derivatives; this module only arranges them.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import Sequence

from scalargrad.engine import Value
from scalargrad.errors import UsageError
from scalargrad.ops import CONST, OPS
from scalargrad.program import Program
from scalargrad.render import Report, Table, finite, number, ref_json

MODES = ("right", "overwrite", "no-topo", "recursive")
SCHEMA = "scalargrad.backprop/1"
DEFAULT_LIMIT = 1000  # Python's default recursion limit (sys.getrecursionlimit() in a fresh interpreter)
# Frames a script has in use besides build_topo's own when it calls L.backward() at its top level:
# the script's and backward's, and before Python 3.12 one more that CPython keeps in hand. Measured
# against micrograd 0.1.0 on Pythons 3.10 to 3.13 (tests/test_bugs.py runs micrograd itself on both
# sides of the edge, on the Python running the tests).
SCRIPT_FRAMES = 3 if sys.version_info < (3, 12) else 2
FAILS_FROM = DEFAULT_LIMIT - SCRIPT_FRAMES + 1  # the first depth of build_topo's calls that fails

LECTURE = {  # the lecture's account of each bug, in its words
    "overwrite": ("The lecture's bug: when a variable is used more than once, its gradients overwrite each other; "
                  "by the multivariable chain rule they must add up, so each _backward does += on its operands, not ="),
    "no-topo": ("The lecture's rule: before a node's _backward runs, everything after it must be done, every node "
                "that uses it having added its share; a topological sort gives that order"),
}


def check_mode(mode: str, higher: bool = False) -> str:
    """`mode`, checked; `higher`: --order or --wrt was given too, another view that cannot go with it."""
    if higher and mode != "right":
        raise UsageError(f"--backprop {mode} shows first derivatives beside a buggy pass; --order and --wrt show "
                         "higher derivatives: give one or the other")
    if mode not in MODES:
        from scalargrad.errors import did_you_mean

        close = did_you_mean(mode, MODES)
        raise UsageError(f"--backprop takes {', '.join(MODES)}, not `{mode}`" + (f"; did you mean `{close}`?" if close else ""),
                         hint="right is the correct pass; the others are the classic bugs, shown beside it")
    return mode


def users_of(program: Program, nodes: Sequence[Value]) -> dict[int, list[tuple[int, int]]]:
    """For each node's index, the (user index, operand position) pairs that read it: `a + a` reads a twice."""
    users: dict[int, list[tuple[int, int]]] = {}
    for node in nodes:
        for position, parent in enumerate(node._prev):
            users.setdefault(program.node_id(parent), []).append((program.node_id(node), position))
    return users


def reached(program: Program, of: Value) -> list[Value]:
    """The nodes `of` depends on, in topological order, `of` last."""
    upstream = program.upstream(of)
    return [node for node in program.nodes[: program.node_id(of) + 1] if id(node) in upstream]


def breadth_first(program: Program, of: Value) -> list[Value]:
    """The naive order: from `of`, level after level, each node once, as soon as it is first reached."""
    order, seen, at = [of], {id(of)}, 0
    while at < len(order):
        for parent in order[at]._prev:
            if id(parent) not in seen:
                seen.add(id(parent))
                order.append(parent)
        at += 1
    return order


def wrong_pass(program: Program, of: Value, mode: str) -> tuple[list[float], list[Value]]:
    """Every node's gradient (by id) from the buggy pass `mode`, and the order its backward steps ran in.

    As micrograd runs them: every reached node's backward is called, even with a gradient of 0."""
    order = list(reversed(reached(program, of))) if mode == "overwrite" else breadth_first(program, of)
    grads = [0.0] * len(program.nodes)
    grads[program.node_id(of)] = 1.0
    for node in order:
        prev = node._prev
        if not prev:
            continue
        g = grads[program.node_id(node)]
        local = OPS[node._op].local(node.data, *(p.data for p in prev))
        for parent, d in zip(prev, local):
            share = g * d if g != 0.0 else 0.0
            i = program.node_id(parent)
            grads[i] = share if mode == "overwrite" else grads[i] + share
    for i, node in enumerate(program.nodes):
        if node._op == CONST:
            grads[i] = 0.0
    return grads, order


def differs(right: float, wrong: float) -> bool:
    """Apart beyond rounding: a sum added in another order may differ in its last bits. Relative to
    the gradients themselves, however small (a gradient of 1e-7 that a bug makes 1e-12 is wrong)."""
    if right != right or wrong != wrong:
        return (right != right) != (wrong != wrong)
    return abs(right - wrong) > 1e-9 * max(abs(right), abs(wrong))


@dataclass
class Parting:
    """The first node, in the order of the right backward pass, whose gradient the bug gets wrong, and why."""

    node: Value
    why: str


def first_parting(program: Program, of: Value, mode: str, right: list[float], wrong: list[float],
                  ran: list[Value]) -> Parting | None:
    users = users_of(program, reached(program, of))
    position = {id(node): i for i, node in enumerate(ran)}
    for node in reversed(reached(program, of)):
        i = program.node_id(node)
        if not differs(right[i], wrong[i]):
            continue
        label = program.label(node)
        uses = users.get(i, [])
        if mode == "overwrite":
            why = (f"{label} is used {times(len(uses))} ({uses_text(program, uses)}): its gradient is the sum of "
                   f"{len(uses)} shares, {number(right[i])}, but each share replaced the one before and the last "
                   f"left {number(wrong[i])}")
        else:
            early = next(program.nodes[u] for u, _ in uses if _ran_early(program, program.nodes[u], users, position))
            late = [program.label(program.nodes[w]) for w, _ in users.get(program.node_id(early), [])
                    if position[id(program.nodes[w])] > position[id(early)]]
            why = (f"{label} gets its gradient from {program.label(early)}, whose backward ran before "
                   f"{', '.join(sorted(set(late)))} (which also use{'s' * (len(set(late)) == 1)} it) had added "
                   f"{'its' if len(set(late)) == 1 else 'their'} share: {label} got {number(wrong[i])}, "
                   f"not {number(right[i])}")
        return Parting(node, f"{why}. {LECTURE[mode]}")
    return None


def times(count: int) -> str:
    return {1: "once", 2: "twice"}.get(count, f"{count} times")


def uses_text(program: Program, uses: list[tuple[int, int]]) -> str:
    """`by b, as both operands`, `by e and by L`."""
    by: dict[int, int] = {}
    for user, _ in uses:
        by[user] = by.get(user, 0) + 1
    return " and ".join(f"by {program.label(program.nodes[u])}" + (", as both operands" if count > 1 else "")
                        for u, count in by.items())


def _ran_early(program: Program, node: Value, users: dict, position: dict[int, int]) -> bool:
    """Whether `node`'s backward ran before some node using it had run its own."""
    return any(position[id(program.nodes[u])] > position[id(node)] for u, _ in users.get(program.node_id(node), []))


# -- micrograd's recursive build_topo --------------------------------------------------------
def recursion_depth(root: Value) -> int:
    """How many build_topo calls micrograd's recursive topological sort has open at once, at
    most, on this graph (operands in order): a call per node reached, itself returning at once
    for a node already visited. Counted with a list of open calls, so any depth is fine here."""
    visited: set[int] = set()
    calls: list[tuple[Value, int]] = [(root, 0)]
    visited.add(id(root))
    deepest = 1
    while calls:
        node, next_child = calls.pop()
        if next_child == len(node._prev):
            continue
        calls.append((node, next_child + 1))
        child = node._prev[next_child]
        deepest = max(deepest, len(calls) + 1)  # the call on `child` is open, visited or not
        if id(child) not in visited:
            visited.add(id(child))
            calls.append((child, 0))
    return deepest


# -- the report ------------------------------------------------------------------------------
def backprop(program: Program, values, mode: str, of: Value | None = None, warnings: Sequence[str] = ()) -> BugReport:
    """The right gradients of `of` (default: the output) beside those of the buggy pass `mode`,
    the first node where they part and why; for `recursive`, the depth micrograd's recursion needs."""
    check_mode(mode)
    of = of or program.output
    program.evaluate(values, of)
    program.backward(of)
    right = [node.grad for node in program.nodes]
    if mode == "recursive":
        return BugReport(program, of, mode, right, list(right), None, recursion_depth(of), list(warnings))
    wrong, ran = wrong_pass(program, of, mode)
    parting = first_parting(program, of, mode, right, wrong, ran)
    return BugReport(program, of, mode, right, wrong, parting, None, list(warnings))


@dataclass
class BugReport(Report):
    program: Program
    of: Value
    mode: str
    right: list[float]  # by node id
    wrong: list[float]  # by node id: what the buggy pass leaves
    parting: Parting | None
    depth: int | None  # recursive: the most build_topo calls open at once
    warnings: list[str] = field(default_factory=list)

    def differing(self) -> list[int]:
        return [i for i, node in enumerate(self.program.nodes)
                if node._op != CONST and differs(self.right[i], self.wrong[i])]

    def verdict(self) -> str:
        if self.mode == "recursive":
            depth = self.depth or 0
            fits = (f"within it ({FAILS_FROM - 1 - depth:,} levels to spare)" if depth < FAILS_FROM
                    else f"so it fails with RecursionError ({depth - FAILS_FROM + 1:,} levels too deep); "
                         "scalargrad's own order is a loop and has no such limit")
            return (f"micrograd's recursive build_topo would have {depth:,} calls open at once here; a script calling "
                    f"backward() at its top level fails from {FAILS_FROM:,} on (Python {sys.version_info[0]}.{sys.version_info[1]}'s "
                    f"default recursion limit, {DEFAULT_LIMIT:,}): {fits}. Its order is the right one, so its gradients are the right ones")
        if self.parting is None:
            return f"{self.mode} gives the right gradients on this program: no node is used in a way the bug shows"
        return f"first node where they part: {self.program.label(self.parting.node)}. {self.parting.why}"

    def sections(self) -> list:
        program, p = self.program, self.precision
        differing = set(self.differing())
        title = f"gradients of {program.label(self.of)} = {number(self.of.data, p)}: right, and with --backprop {self.mode}"
        columns = ["id", "node", "data", "right"] + ([] if self.mode == "recursive" else [self.mode, "differs"])
        table = Table(columns, title=title, right={"id", "data", "right", self.mode}, key="node")
        nodes, _ = select_rows_for(program, self.show_all, differing)
        for node in nodes:
            i = program.node_id(node)
            const = node._op == CONST
            row = [str(i), program.label(node), number(node.data, p), "" if const else number(self.right[i], p)]
            if self.mode != "recursive":
                row += ["" if const else number(self.wrong[i], p), "yes" if i in differing else ""]
            table.add(*row, style="bold red" if i in differing else "")
        table.notes.append(self.verdict())
        return [table]

    def to_json(self) -> dict:
        program = self.program
        return {
            "schema": SCHEMA,
            "mode": self.mode,
            "output": ref_json(program, program.output),
            "of": ref_json(program, self.of),
            "nodes": [{"id": i, "label": program.label(node), "right": None if node._op == CONST else finite(self.right[i]),
                       "wrong": None if node._op == CONST else finite(self.wrong[i])}
                      for i, node in enumerate(program.nodes)],
            "differs": self.differing(),
            "first": None if self.parting is None else {**ref_json(program, self.parting.node), "why": self.parting.why},
            "depth": self.depth,
            "fails_from": FAILS_FROM if self.mode == "recursive" else None,
            "verdict": self.verdict(),
            "warnings": self.warnings,
        }


def select_rows_for(program: Program, show_all: bool, differing: set[int]) -> tuple[list[Value], str]:
    """render.select_rows, with every node whose gradient the bug changes kept in."""
    from scalargrad.render import select_rows

    nodes, note = select_rows(program, show_all)
    if len(nodes) == len(program.nodes):
        return nodes, note
    kept = {id(node) for node in nodes}
    return [node for i, node in enumerate(program.nodes) if id(node) in kept or i in differing], note
