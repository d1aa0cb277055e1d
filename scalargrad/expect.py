"""Hand-derived derivatives checked against backprop: `scalargrad check --expect "x: sigmoid(x)"`.

An expectation is `NAME: FORMULA`: the formula is the derivative of the differentiated node
(the output, or `--of`) with respect to the node called NAME, written in the scalargrad
language over the program's names. It is parsed by the same grammar as its own small program,
whose inputs are the program's names, and compared with backprop's gradient at the current
point and at seeded random points around it (every input moved by up to `SPREAD` times
max(1, |value|)). Points where the program or the formula leaves a domain are skipped and
counted. The rule is check's: PASS when |formula - backprop| <= atol + rtol * |backprop| at
every point, FAIL (with the first point that disagrees) otherwise.

    >>> from scalargrad import parse
    >>> program = parse("L = log(1 + exp(x))")
    >>> [e.status for e in verify(program, {"x": 2.0}, ["x: sigmoid(x)", "x: exp(x)/(1+exp(x))**2"])]
    ['PASS', 'FAIL']
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Callable, Iterator, Mapping, Sequence

from scalargrad import budget
from scalargrad.engine import Value
from scalargrad.errors import DomainError, NameUsageError, Place, ScalarGradError, UsageError, did_you_mean, place_at
from scalargrad.language import parse
from scalargrad.ops import CONST
from scalargrad.program import Program
from scalargrad.render import Table, number

DEFAULT_POINTS = 10
SPREAD = 0.5  # how far a random point moves each input, per max(1, |value|)
PASS, FAIL, UNCHECKED = "PASS", "FAIL", "UNCHECKED"  # UNCHECKED: no point was inside every domain


@dataclass
class Expectation:
    """One `--expect NAME: FORMULA` and its verdict."""

    text: str  # as given
    name: str
    formula: str
    status: str = PASS
    compared: int = 0  # points where both values exist
    skipped: int = 0  # points outside a domain
    # the first point that disagrees: the inputs, the formula's value and backprop's
    at: dict[str, float] | None = None
    expected: float | None = None
    backprop: float | None = None

    def to_json(self) -> dict:
        failure = None if self.at is None else {"at": self.at, "formula": self.expected, "backprop": self.backprop}
        return {"name": self.name, "formula": self.formula, "status": self.status, "points": self.compared,
                "skipped": self.skipped, "failure": failure}


def parse_expectation(text: str, program: Program) -> tuple[Expectation, Value, Program]:
    """`NAME: FORMULA` -> (the expectation, the node NAME, the formula as a program). An unknown
    name, on either side, is an error with a caret under it in `text`."""
    name, colon, formula = text.partition(":")
    if not colon or not formula.strip():
        raise UsageError(f"--expect needs NAME: FORMULA, not `{text}`",
                         hint='e.g. --expect "x: sigmoid(x)": the derivative of the output with respect to x')
    start = len(name) - len(name.lstrip())
    name = name.strip()
    node = program.names.get(name)
    if node is None or node._op == CONST:
        close = did_you_mean(name, program.names)
        why = "is a constant, not a variable" if node is not None else "is not a node of the program"
        raise NameUsageError(f"`{name}` {why}" + (f"; did you mean `{close}`?" if close and node is None else ""),
                             hint=f"named nodes: {', '.join(list(program.names)[:20])}", source=text,
                             places=(place_at(text, start, width=len(name)),))
    offset = len(text) - len(formula)
    try:
        own = parse(formula)
    except ScalarGradError as error:
        raise _shifted(error, text, offset) from None
    for read, value in own.inputs.items():
        if read not in program.names:
            begin, end = own.spans[own.node_id(value)]
            close = did_you_mean(read, program.names)
            raise NameUsageError(f"the formula reads `{read}`, which is not a node of the program"
                                 + (f"; did you mean `{close}`?" if close else ""),
                                 hint=f"a formula may read the program's names: {', '.join(list(program.names)[:20])}",
                                 source=text, places=(place_at(text, offset + begin, width=end - begin),))
    return Expectation(text, name, formula.strip()), node, own


def _shifted(error: ScalarGradError, text: str, offset: int) -> ScalarGradError:
    """The formula's error with its carets moved into the whole `--expect` text."""
    if error.source is None or "\n" in text:
        return error
    error.places = tuple(Place(p.line, p.column + offset, p.note, p.width) for p in error.places)
    error.source = text
    return error


def afford(program: Program, count: int) -> None:
    """Refuse `count` random points (`--points`) before any is computed: each is a run of the
    whole graph, and together they must stay within the size budget's work (scalargrad.budget)."""
    if count < 0:
        raise UsageError(f"--points must be 0 or more, not {count}", hint=f"the default is {DEFAULT_POINTS}")
    size = len(program.nodes)
    budget.check_work((count + 1) * size, f"--points {count:,}: {count + 1:,} runs of a {size:,}-node graph are",
                      way_around="use fewer --points")


def points(program: Program, count: int, seed: int = 0) -> Iterator[dict[str, float]]:
    """The current point (the inputs' values now), then `count` seeded random points around it,
    one at a time (a million points are never all in memory)."""
    here = {name: node.data for name, node in program.inputs.items()}
    yield here
    rng = random.Random(seed)
    for _ in range(count):
        yield {name: x + SPREAD * max(1.0, abs(x)) * rng.uniform(-1.0, 1.0) for name, x in here.items()}


def verify(program: Program, values: Mapping[str, float], texts: Sequence[str], of: Value | None = None, *,
           count: int = DEFAULT_POINTS, seed: int = 0, atol: float = 1e-5, rtol: float = 1e-3,
           progress: Callable[[int, int], None] | None = None) -> list[Expectation]:
    """Each `NAME: FORMULA` of `texts` against backprop at `values` and `count` points around it
    (refused first if they are over the size budget: `afford`); `progress(done, total)` after
    each point. The program is left evaluated and differentiated at `values`."""
    afford(program, count)
    of = of or program.output
    parsed = [parse_expectation(text, program) for text in texts]
    program.evaluate(values)
    try:
        for done, point in enumerate(points(program, count, seed), start=1):
            gradients = _gradients_at(program, point, of)
            for expectation, node, own in parsed:
                _compare(expectation, node, own, program, point, gradients, atol, rtol)
            if progress is not None:
                progress(done, count + 1)
    finally:
        program.run(values, of)
    for expectation, _, _ in parsed:
        if expectation.compared == 0:
            expectation.status = UNCHECKED
    return [expectation for expectation, _, _ in parsed]


def _gradients_at(program: Program, point: dict[str, float], of: Value) -> dict[int, float] | None:
    """Backprop's gradients at `point` by node (Python id), or None where it leaves a domain."""
    try:
        program.run(point, of)
    except DomainError:
        return None
    return {id(node): node.grad for node in program.nodes}


def _compare(expectation: Expectation, node: Value, own: Program, program: Program, point: dict[str, float],
             gradients: dict[int, float] | None, atol: float, rtol: float) -> None:
    backprop = None if gradients is None else gradients[id(node)]
    if backprop is None or backprop - backprop != 0:
        expectation.skipped += 1
        return
    try:
        own.evaluate({name: program.names[name].data for name in own.inputs})
    except DomainError:
        expectation.skipped += 1
        return
    expected = own.output.data
    expectation.compared += 1
    if abs(expected - backprop) <= atol + rtol * abs(backprop) or expectation.status == FAIL:
        return
    expectation.status, expectation.at = FAIL, dict(point)
    expectation.expected, expectation.backprop = expected, backprop


def table(expectations: Sequence[Expectation], of_label: str, precision: int) -> Table:
    """The expectations as check shows them: one row each, a note per FAIL with its point."""
    title = f"hand-derived derivatives of {of_label}"
    result = Table(["d/d", "formula", "points", "skipped", "status"], title=title, right={"points", "skipped"},
                   key="d/d")
    for e in expectations:
        result.add(e.name, e.formula, str(e.compared), str(e.skipped), e.status,
                   style="bold red" if e.status == FAIL else "")
        if e.status == FAIL:
            where = ", ".join(f"{name} = {value!r}" for name, value in (e.at or {}).items())
            result.notes.append(f"{e.name}: FAIL at {where}: the formula gives {number(e.expected, precision)}, "
                                f"backprop {number(e.backprop, precision)}")
        elif e.compared == 0:
            result.notes.append(f"{e.name}: UNCHECKED, no point inside every domain: nothing was compared")
    failed = sum(e.status == FAIL for e in expectations)
    points_around = max(e.compared + e.skipped for e in expectations) - 1
    result.notes.append(f"{'FAILED' if failed else 'ok'}: {len(expectations)} formula"
                        f"{'s' if len(expectations) != 1 else ''}, {failed} failed, compared with backprop at the "
                        f"current point and {points_around} random points around it")
    return result
