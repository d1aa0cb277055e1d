"""Benchmark of training (not collected by pytest: run it as a script).

    python tests/bench_training.py [--micrograd-steps 100]

micrograd's demo on docs/examples/moons.csv (MLP(2, [16, 16, 1]), max-margin loss with L2,
learning rate 1.0 - 0.9*k/100), in the same run:

  scalargrad  `scalargrad step --file moons.sg --bindings moons.csv --steps 100 ...`, a whole
              process (start-up, parsing the program and the data, 100 steps, the JSON
              document), its wall time divided by 100
  micrograd   tests/micrograd_moons.py, micrograd's own loop (forward, zero_grad, backward,
              update), timed inside the loop only (no start-up, no reading), per step

It prints the time per step and the peak memory (maximum resident set size of each process)
of both, and the ratios: targets <= 0.2 (time) and <= 0.5 (memory). scalargrad builds the
graph once and re-evaluates it each step; micrograd builds it anew every step.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
EXAMPLES = HERE.parent / "docs" / "examples"
PYTHON = sys.executable
SCALARGRAD = shutil.which("scalargrad", path=str(Path(PYTHON).parent)) or "scalargrad"
STEPS = 100


def measured(command: list[str]) -> tuple[float, float, str]:
    """Wall seconds, peak resident memory in MB, and stdout of one process."""
    env = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}
    start = time.perf_counter()
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env)
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"failed: {' '.join(command)}")
    return seconds, usage.ru_maxrss / 1024, out  # ru_maxrss is in kB on Linux


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--micrograd-steps", type=int, default=20,
                        help="micrograd steps to time (about a second each); its time per step is their mean")
    options = parser.parse_args()
    try:
        import micrograd  # noqa: F401
    except ImportError:
        raise SystemExit("the micrograd package is not installed (pip install micrograd)") from None
    ours_seconds, ours_mb, out = measured([
        SCALARGRAD, "step", "--file", str(EXAMPLES / "moons.sg"), "--bindings", str(EXAMPLES / "moons.csv"),
        "--seed", "1337", "--steps", str(STEPS), "--descend", "--lr", "1.0 - 0.9*k/100", "--no-session", "--json"])
    ours_loss = json.loads(out)["history"]
    _, theirs_mb, out = measured([PYTHON, str(HERE / "micrograd_moons.py"), str(options.micrograd_steps)])
    theirs = json.loads(out)
    worst = max(abs(a - b) for a, b in zip(ours_loss, theirs["losses"]))
    ours_step, theirs_step = ours_seconds / STEPS, theirs["seconds_per_step"]
    print(f"moons demo, MLP(2, [16, 16, 1]) on 100 points; losses agree to {worst:.1e} over "
          f"{options.micrograd_steps} steps")
    print(f"  time per step    scalargrad {ours_step * 1000:8.1f} ms (whole process / {STEPS})   "
          f"micrograd {theirs_step * 1000:8.1f} ms   ratio {ours_step / theirs_step:.3f}  (target <= 0.2)")
    print(f"  peak memory      scalargrad {ours_mb:8.1f} MB                          "
          f"micrograd {theirs_mb:8.1f} MB   ratio {ours_mb / theirs_mb:.3f}  (target <= 0.5)")


if __name__ == "__main__":
    main()
