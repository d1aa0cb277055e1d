"""How long a refusal by the size budget takes, run as a user runs it (timings belong here,
never in a test): the issue's programs, each refused before it is built.

    python tests/bench_sizes.py

Prints each command's wall time and peak resident size, and the same for `scalargrad grad` on
the lecture program as the floor (start-up: Python, Typer, Rich, Lark). Target: each refusal
within a second of that floor, and well under 200 MB.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from test_sizes import CHAIN_25  # noqa: E402

COMMANDS = {
    "lecture (the floor)": ["grad", "L = (a*b + c) * f", "--a", "2", "--b", "-3", "--c", "10", "--f", "-2"],
    "broadcast 3000 x 3000": ["grad", "L = sum(zeros([3000, 1]) + zeros([1, 3000]))"],
    "300 x 300 @": ["grad", "W = zeros([300, 300]); L = sum(W @ W)"],
    "def chain of 2^25 calls": ["grad", CHAIN_25, "--y", "1"],
    "check --points 1e9": ["check", "L = x**2", "--x", "3", "--expect", "x: 2*x", "--points", "1000000000"],
    "sweep of 2e12 points": ["sweep", "y = x * z", "--x", "0:1e12:1", "--z", "0:1:1"],
}


def measured(args: list[str]) -> tuple[float, float, int]:
    command = str(Path(sys.executable).parent / "scalargrad")
    start = time.perf_counter()
    proc = subprocess.Popen([command, *args, "--no-session"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    return time.perf_counter() - start, usage.ru_maxrss / 1024, os.waitstatus_to_exitcode(status)


def main() -> None:
    print(f"{'':<26} {'seconds':>8} {'MB':>6} {'exit':>5}")
    for name, args in COMMANDS.items():
        best = min(measured(args) for _ in range(3))
        print(f"{name:<26} {best[0]:>8.2f} {best[1]:>6.0f} {best[2]:>5}")


if __name__ == "__main__":
    main()
