"""Benchmark of `scalargrad hessian` against torch (not collected by pytest: run it as a script).

    pip install torch==2.13.0   # into your own environment: torch is no dependency of scalargrad
    python tests/bench_hessian.py [--repeats 3] [--examples 100]

micrograd's moons model (docs/examples/moons.sg on docs/examples/moons.csv: 337 parameters, a
graph of about 70,000 scalar nodes) and its full 337 x 337 Hessian of the loss, three ways, in one
run, interleaved, best of `--repeats` CPU times:

- scalargrad: `hessian.hessian` (forward over reverse, the directions as NumPy vectors), the
  program parsed once beforehand, and `scalargrad hessian` as a user runs it (a fresh process:
  start-up, parse, Hessian, eigenvalues; wall-clock time of the process);
- torch: `torch.autograd.functional.hessian` of the same model written with torch's matrix
  operations (`relu(relu(X @ W1.T + b1) @ W2.T + b2) @ W3 + b3`), the natural way to write it
  there, with `vectorize=True` (vmap over the rows) and without.

It checks first that every entry agrees with torch's to 1e-9 (relative to the largest entry),
then prints each time and the ratio against torch. docs/performance.md records a run.
"""

from __future__ import annotations

import argparse
import csv
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "docs" / "examples"


def moons_data(examples: int) -> dict[str, list[float]]:
    with open(EXAMPLES / "moons.csv") as file:
        rows = list(csv.DictReader(file))[:examples]
    return {column: [float(row[column]) for row in rows] for column in ("x1", "x2", "y")}


def torch_loss(data: dict[str, list[float]]):
    """The moons loss as a function of the 337 parameters flattened in the program's order."""
    import torch

    x = torch.tensor([data["x1"], data["x2"]], dtype=torch.float64).T
    y = torch.tensor(data["y"], dtype=torch.float64)
    shapes = [(16, 2), (16,), (16, 16), (16,), (16,), (1,)]

    def loss(flat):
        parts, start = [], 0
        for shape in shapes:
            size = 1
            for n in shape:
                size *= n
            parts.append(flat[start:start + size].reshape(shape))
            start += size
        w1, b1, w2, b2, w3, b3 = parts
        score = torch.relu(torch.relu(x @ w1.T + b1) @ w2.T + b2) @ w3 + b3[0]
        data_loss = torch.mean(torch.relu(1 - y * score))
        reg_loss = 1e-4 * sum(torch.sum(p * p) for p in parts)
        return data_loss + reg_loss

    return loss


def cpu_best(repeats: int, work):
    best, result = float("inf"), None
    for _ in range(repeats):
        start = time.process_time()
        result = work()
        best = min(best, time.process_time() - start)
    return best, result


def wall_best(repeats: int, command: list[str]) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True, cwd=ROOT)
        best = min(best, time.perf_counter() - start)
    return best


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--examples", type=int, default=100, help="moons points used (the file has 100)")
    args = parser.parse_args(argv)
    import torch

    from scalargrad import parse
    from scalargrad.hessian import hessian

    torch.set_num_threads(1)  # scalargrad runs on one core: compare like with like
    data = moons_data(args.examples)
    program = parse((EXAMPLES / "moons.sg").read_text(), seed=1337, data=data)
    names = list(program.inputs)
    values = {name: program.inputs[name].data for name in names}
    loss = torch_loss(data)
    point = torch.tensor([values[name] for name in names], dtype=torch.float64)

    ours = hessian(program, values).matrix
    theirs = torch.autograd.functional.hessian(loss, point).tolist()
    largest = max(abs(x) for row in theirs for x in row)
    gap = max(abs(a - b) for row, other in zip(ours, theirs) for a, b in zip(row, other))
    assert gap <= 1e-9 * largest, f"the Hessians differ by {gap:g} (largest entry {largest:g})"
    print(f"moons: {len(names)} parameters, {len(program.nodes):,} nodes, {args.examples} points; "
          f"max |H - H_torch| = {gap:.3g} (largest entry {largest:.3g})")

    rows = []
    for _ in range(args.repeats):  # interleaved: a busy machine slows all of them alike
        rows.append((
            cpu_best(1, lambda: hessian(program, values))[0],
            cpu_best(1, lambda: torch.autograd.functional.hessian(loss, point))[0],
            cpu_best(1, lambda: torch.autograd.functional.hessian(loss, point, vectorize=True))[0],
        ))
    ours_time, torch_time, vectorized = (min(column) for column in zip(*rows))
    command = [str(Path(sys.executable).parent / "scalargrad"), "hessian", "--file", "docs/examples/moons.sg",
               "--bindings", "docs/examples/moons.csv", "--seed", "1337", "--no-session", "--json"]
    process = wall_best(args.repeats, command) if args.examples == 100 else float("nan")
    print(f"{'':48}{'seconds':>10}{'/ torch':>10}{'/ torch vmap':>14}")
    for label, seconds in (("scalargrad hessian.hessian (parsed once)", ours_time),
                           ("scalargrad hessian ... (a fresh process, wall)", process),
                           ("torch.autograd.functional.hessian", torch_time),
                           ("torch.autograd.functional.hessian, vmap", vectorized)):
        print(f"{label:48}{seconds:10.3f}{seconds / torch_time:9.2f}x{seconds / vectorized:13.2f}x")


if __name__ == "__main__":
    main()
