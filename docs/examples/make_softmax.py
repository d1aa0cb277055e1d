"""The recipe behind softmax.csv: three classes of points in the plane, made once and shipped.

    python docs/examples/make_softmax.py > docs/examples/softmax.csv

Ten points around each of three centres, (0, 2), (-2, -1) and (2, -1), spread by a normal
deviation of 0.9 (seed 24, Python's own random module): classes 0, 1 and 2 that a line
between any two nearly separates. Every float is written with repr, so the file holds the
data exactly.
"""

import csv
import random
import sys

draw = random.Random(24)
centres = [(0.0, 2.0), (-2.0, -1.0), (2.0, -1.0)]
rows = []
for label, (cx, cy) in enumerate(centres):
    for _ in range(10):
        rows.append((cx + draw.gauss(0, 0.9), cy + draw.gauss(0, 0.9), label))
draw.shuffle(rows)
out = csv.writer(sys.stdout, lineterminator="\n")
out.writerow(["x1", "x2", "label"])
for x1, x2, label in rows:
    out.writerow([repr(x1), repr(x2), label])
