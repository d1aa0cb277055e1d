"""The size budget: how much a command may build and compute, counted before it starts.

One number bounds every command: the budget, in nodes (default 2,000,000: about 600 MB of
graph). It is raised or lowered the same way everywhere, with `--budget N` on any command
or `SCALARGRAD_BUDGET=N` in the environment (the option wins).

- A graph may have at most `nodes()` nodes. The parser counts what an operation will make
  (a broadcast's elements, a `@`'s products, a function's calls) *before* making it.
- Work that runs the graph again and again (steps, check's points, sweep's points, Hessian
  passes) may take at most `work()` node evaluations: WORK_FACTOR times the budget.

Going over is a `BudgetError` that says the estimate, the limit, and the `--budget` that
would allow it, before any of the work is done. From Python:

    from scalargrad import budget
    with budget.limit(10_000_000):
        program = parse(big_text)
"""

from __future__ import annotations

import contextlib
import os
from contextvars import ContextVar
from typing import Iterator

from scalargrad.errors import BudgetError, Place

DEFAULT = 2_000_000  # nodes: a million-node program fits with room to spare; 9 million do not
WORK_FACTOR = 1_000  # node evaluations of repeated work per node of budget (2e9 by default: minutes, not hours)
ENV_VAR = "SCALARGRAD_BUDGET"
OPTION = "--budget"

_override: ContextVar[int | None] = ContextVar("scalargrad_budget", default=None)


def nodes() -> int:
    """The most nodes a graph may have: `--budget`, else $SCALARGRAD_BUDGET, else DEFAULT."""
    given = _override.get()
    return given if given is not None else _from_environment()


def work() -> int:
    """The most node evaluations that repeated work (steps, points, passes) may take."""
    return nodes() * WORK_FACTOR


@contextlib.contextmanager
def limit(budget: int | None) -> Iterator[None]:
    """Run the block with `budget` nodes (None: leave it as it is, after checking that
    $SCALARGRAD_BUDGET, if set, is a number: a typo there is an error, not the default)."""
    if budget is None:
        nodes()
        yield
        return
    if budget < 1:
        raise BudgetError(f"{OPTION} must be 1 or more, not {budget}", hint=f"for example {OPTION} {DEFAULT}")
    token = _override.set(budget)
    try:
        yield
    finally:
        _override.reset(token)


def check_nodes(count: int, what: str, *, source: str | None = None, places: tuple[Place, ...] = (),
                way_around: str = "") -> None:
    """Refuse a graph of `count` nodes over the budget. `what` says what would make them
    ("`zeros([3000, 1]) + zeros([1, 3000])` would make 9,000,000 nodes" reads best as
    what="`zeros(...) + zeros(...)` would make"); `way_around` is a smaller alternative."""
    limit_ = nodes()
    if count > limit_:
        raise BudgetError(f"{what} {count:,} nodes; the budget is {limit_:,}",
                          hint=_raise_hint(count, way_around), source=source, places=places)


def check_work(evaluations: int, what: str, *, way_around: str = "") -> None:
    """Refuse repeated work of `evaluations` node evaluations over the budget. `what` says
    what it is ("100,000 steps of a 66,016-node graph are")."""
    limit_ = work()
    if evaluations > limit_:
        needed = -(-evaluations // WORK_FACTOR)
        raise BudgetError(f"{what} {evaluations:,} node evaluations; the budget allows {limit_:,} "
                          f"({WORK_FACTOR:,} per node of {OPTION} {nodes():,})",
                          hint=_raise_hint(needed, way_around))


def _raise_hint(needed: int, way_around: str) -> str:
    raise_it = f"raise it with {OPTION} {needed} (or {ENV_VAR}={needed})"
    return f"{way_around}, or {raise_it}" if way_around else raise_it


def _from_environment() -> int:
    text = os.environ.get(ENV_VAR, "").strip()
    if not text:
        return DEFAULT
    try:
        value = int(text)
    except ValueError:
        try:  # 1e7 is a whole number too
            value = int(float(text)) if float(text).is_integer() else 0
        except (ValueError, OverflowError):
            value = 0
    if value < 1:
        raise BudgetError(f"{ENV_VAR} must be a whole number of nodes, 1 or more, not `{text[:40]}`",
                          hint=f"for example {ENV_VAR}={DEFAULT}, or unset it for the default")
    return value
