"""Random programs over every row of the derivative table, with points where backprop gives every
gradient: the generated cases of tests/test_derive.py and tests/test_code.py. Seeded, so a failure
names a program that can be run again."""

import math
import random

from scalargrad import parse
from scalargrad.errors import ScalarGradError
from scalargrad.ops import FUNCTIONS

INPUTS = ("x", "y", "z")
ROWS = sorted(FUNCTIONS)  # every function row; the operators come from `expression`


def expression(rng: random.Random, depth: int, names: list[str], must: str | None = None) -> str:
    """A random expression of `names`, `depth` levels deep, calling the row `must` at its top."""
    if must is not None:
        op = FUNCTIONS[must]
        args = [expression(rng, depth - 1, names) for _ in range(op.arity)]
        return f"{op.called}({', '.join(args)})"
    if depth <= 0 or rng.random() < 0.2:
        return rng.choice(names) if rng.random() < 0.85 else rng.choice(["2", "3", "0.5", "1.5"])
    left, right = expression(rng, depth - 1, names), expression(rng, depth - 1, names)
    kind = rng.random()
    if kind < 0.45:
        return f"({left} {rng.choice('+-*/')} {right})"
    if kind < 0.55:
        return f"({left}) ** {rng.choice(['2', '3'])}" if rng.random() < 0.7 else f"exp({left}) ** ({right})"
    if kind < 0.6:
        return f"-({left})"
    op = FUNCTIONS[rng.choice(ROWS)]
    args = [left, right][: op.arity]
    return f"{op.called}({', '.join(args)})"


def program_text(rng: random.Random, must: str) -> str:
    """Two or three statements, the later ones reading the earlier, one of them calling `must`."""
    names = list(INPUTS)
    statements = []
    count = rng.choice([2, 3])
    where = rng.randrange(count)
    for i in range(count):
        name = "L" if i == count - 1 else f"t{i}"
        text = expression(rng, rng.choice([1, 2]), names, must if i == where else None)
        if i == count - 1 and where != i:
            text = f"{text} + {names[-1]}"  # the output reads the statement before it
        statements.append(f"{name} = {text}")
        names.append(name)
    return "; ".join(statements)


def good_points(text: str, rng: random.Random, wanted: int, tries: int = 60) -> list[dict[str, float]]:
    """Up to `wanted` points where the program runs and every input's gradient is a finite number."""
    try:
        program = parse(text)
    except ScalarGradError:  # a constant part outside its domain (acos(cosh(2)))
        return []
    if not program.inputs:
        return []
    points = []
    for _ in range(tries):
        point = {name: round(rng.uniform(-2, 2), 6) for name in program.inputs}
        try:
            program.run(point)
        except ScalarGradError:
            continue
        if all(math.isfinite(node.grad) for node in program.inputs.values()) and math.isfinite(program.output.data):
            points.append(point)
            if len(points) == wanted:
                break
    return points


def cases(count: int, points: int, seed: int = 23) -> list[tuple[str, list[dict[str, float]]]]:
    """`count` programs, each row of the table called by some (in turn), with `points` good points each."""
    rng = random.Random(seed)
    found = []
    i = 0
    while len(found) < count:
        text = program_text(rng, ROWS[i % len(ROWS)])
        chosen = good_points(text, rng, points)
        if len(chosen) == points:
            found.append((text, chosen))
            i += 1
    return found
