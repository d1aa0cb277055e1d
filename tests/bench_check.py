"""Benchmark of `scalargrad check` (not collected by pytest: run it as a script).

    python tests/bench_check.py [--nodes 10000] [--inputs 100] [--method central]

Generates a program of about 10,000 nodes with 100 inputs, every input used near the
start of a long chain so that each input's downstream slice is nearly the whole graph
(the worst case for the checker). It prints the ratio

    time of check_gradients over the inputs / (2 x inputs x one full forward evaluation)

Central differences need two evaluations per input, so a ratio near 1 means the check
costs nothing beyond them. Target: at most 1.5. Times are CPU time, best of 15 interleaved
runs, so other work on the machine disturbs the ratio less.
"""

from __future__ import annotations

import argparse
import random
import time

from scalargrad import parse
from scalargrad.check import check_gradients

# (statement form, nodes it adds besides the input it may read for the first time)
FORMS = [("s{i} = s{p} * {x} + 0.5", 3), ("s{i} = tanh(s{p}) + {x} * 2", 4),
         ("s{i} = sin(s{p}) * {x} - 1", 4), ("s{i} = s{p} * 0.5 + {x}", 3)]


def generated_program(nodes: int, inputs: int) -> str:
    lines = ["s0 = x0 + x1"]
    size = 3
    i = 1
    while True:
        form, adds = FORMS[i % len(FORMS)]
        size += adds + (1 if i < inputs and i != 1 else 0)
        if size > nodes:
            return "\n".join(lines)
        lines.append(form.format(i=i, p=i - 1, x=f"x{i % inputs}"))
        i += 1


def best_of(repeats: int, work) -> float:
    times = []
    for _ in range(repeats):
        start = time.process_time()  # CPU time: other processes on the machine do not count
        work()
        times.append(time.process_time() - start)
    return min(times)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=10_000)
    parser.add_argument("--inputs", type=int, default=100)
    parser.add_argument("--method", default="central", choices=["central", "forward"])
    args = parser.parse_args(argv)

    program = parse(generated_program(args.nodes, args.inputs))
    rng = random.Random(0)
    values = {name: rng.uniform(0.5, 1.0) for name in program.inputs}
    program.evaluate(values)
    inputs = list(program.inputs.values())
    # Interleaved, best of several: a busy machine slows both sides alike.
    one_forward = check_time = float("inf")
    for _ in range(15):
        one_forward = min(one_forward, best_of(10, lambda: program.forward(program.nodes)))
        check_time = min(check_time, best_of(1, lambda: check_gradients(program, values, inputs,
                                                                         method=args.method)))
    report = check_gradients(program, values, inputs, method=args.method)
    budget = 2 * len(inputs) * one_forward
    print(f"program: {len(program.nodes):,} nodes, {len(inputs)} inputs; {args.method} differences; "
          f"{report.passed} passed, {report.failed} failed, {report.kinks} kinks")
    print(f"one forward evaluation: {one_forward * 1e3:.2f} ms; check: {check_time * 1e3:.1f} ms")
    print(f"check / (2 x inputs x forward) = {check_time / budget:.2f}  (target <= 1.5)")


if __name__ == "__main__":
    main()
