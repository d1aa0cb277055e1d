"""Benchmark of the generated C (not collected by pytest: run it as a script).

    python tests/bench_code.py [--passes 200]

micrograd's moons demo (docs/examples/moons.sg on moons.csv, seed 1337, 66,000 nodes):

  C         `scalargrad code --lang c` compiled with cc -O2, its forward_backward (a full forward
            and backward pass, every value checked) called --passes times in one process, timed
            inside the loop (clock_gettime), per pass
  engine    scalargrad's own forward and backward (`Program.run`, what `step` does each step
            before the update), timed in this process, per pass
  step      `scalargrad step --steps 100`, a whole process (start-up, parsing, 100 steps, the
            JSON document), its wall time divided by 100, as tests/bench_training.py times it

It prints each time and the ratios C / engine and C / step, and checks that the C's gradients
are the engine's to the last bit before timing anything.
"""

from __future__ import annotations

import argparse
import csv
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
EXAMPLES = HERE.parent / "docs" / "examples"
SCALARGRAD = shutil.which("scalargrad", path=str(Path(sys.executable).parent)) or "scalargrad"

TIMER = """
#include <stdio.h>
#include <time.h>
#include "generated.c"

int main(int argc, char **argv)
{
    int passes = atoi(argv[1]);
    static double in[N_INPUTS], grad[N_INPUTS];
    FILE *values = fopen(argv[2], "r");
    for (int i = 0; i < N_INPUTS; i++)
        if (fscanf(values, "%lf", &in[i]) != 1)
            return 2;
    fclose(values);
    double out = 0.0;
    const char *error = NULL;
    struct timespec start, end;
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (int k = 0; k < passes; k++)
        if (forward_backward(in, &out, grad, &error))
            return 3;
    clock_gettime(CLOCK_MONOTONIC, &end);
    double seconds = (end.tv_sec - start.tv_sec) + 1e-9 * (end.tv_nsec - start.tv_nsec);
    printf("%.17g %.17g", seconds / passes, out);
    for (int i = 0; i < N_INPUTS; i++)
        printf(" %.17g", grad[i]);
    printf("\\n");
    return 0;
}
"""


def moons():
    from scalargrad import parse

    rows = list(csv.DictReader(open(EXAMPLES / "moons.csv")))
    data = {key: [float(row[key]) for row in rows] for key in rows[0]}
    return parse((EXAMPLES / "moons.sg").read_text(), seed=1337, data=data)


def time_c(program, passes: int, folder: Path) -> tuple[float, list[float]]:
    from scalargrad.codegen import emit_code

    (folder / "generated.c").write_text(emit_code(program, "c"))
    (folder / "timer.c").write_text(TIMER)
    (folder / "values.txt").write_text(" ".join(repr(node.data) for node in program.inputs.values()))
    subprocess.run(["cc", "-O2", "-std=c99", "-D_POSIX_C_SOURCE=199309L", "-o", str(folder / "timer"),
                    str(folder / "timer.c"), "-lm"], check=True)
    out = subprocess.run([str(folder / "timer"), str(passes), str(folder / "values.txt")], check=True,
                         capture_output=True, text=True).stdout.split()
    return float(out[0]), [float(x) for x in out[2:]]


def time_engine(program, passes: int) -> tuple[float, list[float]]:
    values = {name: node.data for name, node in program.inputs.items()}
    program.run(values)
    start = time.perf_counter()
    for _ in range(passes):
        program.run(values)
    return (time.perf_counter() - start) / passes, [node.grad for node in program.inputs.values()]


def time_step(steps: int = 100) -> float:
    with tempfile.TemporaryDirectory() as folder:
        start = time.perf_counter()
        subprocess.run([SCALARGRAD, "step", "--file", str(EXAMPLES / "moons.sg"), "--bindings",
                        str(EXAMPLES / "moons.csv"), "--seed", "1337", "--steps", str(steps), "--descend", "--lr",
                        "1.0 - 0.9*k/100", "--json", "--no-session"], check=True, capture_output=True, cwd=folder)
        return (time.perf_counter() - start) / steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--passes", type=int, default=200, help="passes of the C (and of the engine: a tenth)")
    options = parser.parse_args()
    program = moons()
    with tempfile.TemporaryDirectory() as folder:
        c_seconds, c_grads = time_c(program, options.passes, Path(folder))
    engine_seconds, engine_grads = time_engine(program, max(5, options.passes // 10))
    if c_grads != engine_grads:
        raise SystemExit("the C's gradients are not the engine's: not timing a wrong answer")
    step_seconds = time_step()
    print(json.dumps({"nodes": len(program.nodes), "c_ms": round(c_seconds * 1e3, 3),
                      "engine_ms": round(engine_seconds * 1e3, 2), "step_ms": round(step_seconds * 1e3, 2)}))
    print(f"C forward+backward  {c_seconds * 1e3:9.3f} ms per pass")
    print(f"engine (Program.run){engine_seconds * 1e3:9.2f} ms per pass   C / engine = {c_seconds / engine_seconds:.4f}")
    print(f"step, per step      {step_seconds * 1e3:9.2f} ms             C / step   = {c_seconds / step_seconds:.4f}")


if __name__ == "__main__":
    main()
