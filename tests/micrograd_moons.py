"""micrograd's own demo.ipynb training loop on docs/examples/moons.csv: the reference that
tests/test_moons.py and tests/bench_training.py measure scalargrad against.

    python tests/micrograd_moons.py [STEPS]     # prints JSON: starting and final weights, losses, accuracies, seconds

The loop is the notebook's (forward, zero_grad, backward, update with learning rate
1.0 - 0.9*k/100), with micrograd.nn.MLP(2, [16, 16, 1]) after random.seed(1337). It also
evaluates once after the last step, for the final loss and accuracy.
"""

import csv
import json
import random
import sys
import time
from pathlib import Path

from micrograd.engine import Value
from micrograd.nn import MLP

DATA = Path(__file__).resolve().parent.parent / "docs" / "examples" / "moons.csv"


def main(steps: int) -> None:
    with open(DATA, newline="") as file:
        rows = list(csv.DictReader(file))
    X = [[float(row["x1"]), float(row["x2"])] for row in rows]
    y = [int(row["y"]) for row in rows]
    random.seed(1337)
    model = MLP(2, [16, 16, 1])
    start = [p.data for p in model.parameters()]
    losses, accuracies, seconds = [], [], 0.0
    for k in range(steps + 1):
        began = time.perf_counter()
        inputs = [list(map(Value, xrow)) for xrow in X]
        scores = list(map(model, inputs))
        losses_k = [(1 + -yi * scorei).relu() for yi, scorei in zip(y, scores)]
        data_loss = sum(losses_k) * (1.0 / len(losses_k))
        reg_loss = 1e-4 * sum((p * p for p in model.parameters()))
        total_loss = data_loss + reg_loss
        if k < steps:
            model.zero_grad()
            total_loss.backward()
            learning_rate = 1.0 - 0.9 * k / 100
            for p in model.parameters():
                p.data -= learning_rate * p.grad
            seconds += time.perf_counter() - began
        losses.append(total_loss.data)
        accuracies.append(sum((yi > 0) == (s.data > 0) for yi, s in zip(y, scores)) / len(y))
    json.dump({"start": start, "final": [p.data for p in model.parameters()], "losses": losses, "accuracies": accuracies, "seconds_per_step": seconds / max(steps, 1)},
              sys.stdout)


if __name__ == "__main__":
    sys.setrecursionlimit(10_000)  # micrograd's topological sort is recursive
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 100)
