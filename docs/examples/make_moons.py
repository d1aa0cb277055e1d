"""The recipe behind moons.csv: micrograd's demo.ipynb data set, made once and shipped.

    pip install scikit-learn numpy
    python docs/examples/make_moons.py > docs/examples/moons.csv

These are demo.ipynb's own lines (seed 1337, 100 points, noise 0.1, labels -1 and 1), with
scikit-learn 1.9. Its first loss, 0.8958441028683222 at micrograd's starting weights, is the
number the notebook prints, and tests/test_moons.py checks it against the micrograd package.
Every float is written with repr, so the file holds the data exactly.
"""

import csv
import sys

import numpy as np
from sklearn.datasets import make_moons

np.random.seed(1337)
X, y = make_moons(n_samples=100, noise=0.1)
y = y * 2 - 1  # make y be -1 or 1
out = csv.writer(sys.stdout, lineterminator="\n")
out.writerow(["x1", "x2", "y"])
for (x1, x2), label in zip(X, y):
    out.writerow([repr(float(x1)), repr(float(x2)), int(label)])
