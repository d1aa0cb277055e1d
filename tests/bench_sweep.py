"""Benchmark of `scalargrad sweep` (not collected by pytest: run it as a script).

    python tests/bench_sweep.py [--points 1000000] [--calls 10000]

The lecture program `L = (a*b + c) * f` with all four inputs' gradients at 10^6 points,
in one vectorised sweep (a 1000 x 1000 grid over a and b), against `Program.run` called
point by point: 10^4 calls timed, extrapolated to 10^6. It prints both times and the ratio
(target: the sweep at least 50x faster). Times are CPU time, best of 3. JAX is not compared:
it is not installed here (and scalargrad does not depend on it).
"""

from __future__ import annotations

import argparse
import math
import time

from scalargrad import parse
from scalargrad.sweep import sweep

LECTURE = "L = (a*b + c) * f"


def best(work, repeats: int = 3) -> float:
    times = []
    for _ in range(repeats):
        start = time.process_time()
        work()
        times.append(time.process_time() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=1_000_000)
    parser.add_argument("--calls", type=int, default=10_000)
    options = parser.parse_args()
    side = math.isqrt(options.points)
    program = parse(LECTURE)
    fixed = {"c": 10.0, "f": -2.0}
    ranges = {"a": f"0:{side - 1}:1", "b": f"0:{side - 1}:1"}
    swept = best(lambda: sweep(program, fixed, ranges=ranges))
    points = [{"a": float(k % side), "b": float(k // side), **fixed} for k in range(options.calls)]

    def one_by_one() -> None:
        for point in points:
            program.run(point)
            (program.inputs["a"].grad, program.inputs["b"].grad, program.inputs["c"].grad, program.inputs["f"].grad)

    looped = best(one_by_one) * side * side / options.calls
    print(f"{side * side:,} points of {LECTURE}, value and 4 gradients each")
    print(f"sweep (one vectorised pass, NumPy):       {swept:8.3f} s")
    print(f"Program.run point by point (extrapolated): {looped:8.3f} s  ({options.calls:,} calls timed)")
    print(f"ratio: the sweep is {looped / swept:.0f}x faster (target: >= 50x)")
    print("JAX: not installed, not compared")


if __name__ == "__main__":
    main()
