"""`scalargrad sweep`: the table's NumPy columns agree with its Python columns, the vectorised
pass gives what `grad` gives at every point, and bad ranges are worded errors."""

import json
import math
import random
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scalargrad import parse
from scalargrad.errors import DomainError, ScalarGradError, UsageError
from scalargrad.ops import OPS, Op
from scalargrad.sweep import numpy_row, sweep

TOLERANCE = 1e-12


def close(got: float, want: float) -> bool:
    if want != want or got != got:
        return got != got and want != want
    return got == want or abs(got - want) <= TOLERANCE * abs(want)


# -- the table's NumPy columns -----------------------------------------------------------
@pytest.mark.parametrize("name", sorted(OPS))
def test_every_row_has_its_numpy_columns(name):
    op = OPS[name]
    assert op.np_forward is not None, f"the row `{name}` of ops.py has no np_forward"
    assert op.np_local is not None, f"the row `{name}` of ops.py has no np_local"


def test_a_row_without_numpy_columns_stops_the_sweep(monkeypatch):
    bare = Op("erf", "erf", 1, math.erf, lambda ans, x: (2 / math.sqrt(math.pi) * math.exp(-x * x),), ("…",))
    monkeypatch.setitem(OPS, "erf", bare)
    with pytest.raises(UsageError, match="the op `erf` has no NumPy column"):
        numpy_row("erf")


def row_points(op: Op) -> list[tuple[float, ...]]:
    rng = random.Random(20240611)
    samples = [-2.5, -1.0, -0.3, 0.0, 0.2, 0.5, 1.0, 1.7, 3.0, 40.0]
    samples += [rng.uniform(-5, 5) for _ in range(300)] + [rng.uniform(0, 1) for _ in range(100)]
    if op.arity == 1:
        return [(x,) for x in samples]
    return [(x, y) for x in samples[:120] for y in (-2.0, -0.5, 0.0, 0.5, 1.0, 2.0, 2.5, 3.0, rng.uniform(-4, 4))]


@pytest.mark.parametrize("name", sorted(OPS))
def test_the_numpy_columns_agree_with_the_python_columns(name):
    """At ~400 points per row: where Python computes, NumPy gives the same value and local
    derivatives to 1e-12 relative; where Python refuses (outside the domain), NumPy's value is
    not finite, which is how the sweep finds those points."""
    op = OPS[name]
    points = row_points(op)
    columns = [np.array(column) for column in zip(*points)]
    with np.errstate(all="ignore"):
        ans = np.broadcast_to(op.np_forward(np, *columns), len(points))
        local = [np.broadcast_to(d, len(points)) for d in op.np_local(np, ans, *columns)]
    for k, args in enumerate(points):
        try:
            want = op.forward(*args)
        except (DomainError, ZeroDivisionError, OverflowError, ValueError):
            assert not math.isfinite(ans[k]), f"{name}{args}: Python refuses, NumPy gives {ans[k]}"
            continue
        assert close(float(ans[k]), want), f"{name}{args}: forward {ans[k]} != {want}"
        for i, wanted in enumerate(op.local(want, *args)):
            assert close(float(local[i][k]), wanted), f"{name}{args}: d/d{'xy'[i]} {local[i][k]} != {wanted}"


# -- the sweep gives what grad gives ---------------------------------------------------------
def test_the_lectures_slopes_at_3_minus_3_and_two_thirds():
    program = parse("y = 3*x**2 - 4*x + 5")
    report = sweep(program, {}, points={"x": [3.0, -3.0, 2 / 3]})
    assert report.grads["x"].tolist()[:2] == [14.0, -22.0]
    assert abs(report.grads["x"][2]) < 1e-12
    assert report.output.tolist()[:2] == [20.0, 44.0]


def test_a_picture_is_titled_by_its_one_statement_else_by_what_is_drawn_over_what():
    from scalargrad.sweep import plot_title

    lecture = sweep(parse("L = (a*b + c) * f  # the lecture"), {"b": -3, "c": 10, "f": -2}, ranges={"a": "0:1:0.5"})
    assert plot_title(lecture) == "L = (a*b + c) * f"
    program = parse("# a comment first\ndef sq(x) = x * x\nh = sq(a) + b\nL = h * 2")
    assert plot_title(sweep(program, {"b": 1}, ranges={"a": "0:1:0.5"})) == "L over a"
    assert plot_title(sweep(program, {}, ranges={"a": "0:1:0.5", "b": "0:1:1"}, of="h")) == "h over a and b"
    assert plot_title(sweep(parse("e = a*b; L = e + 1"), {}, ranges={"a": "0:1:1", "b": "0:1:1"})) == \
        "L over a and b"


def test_a_range_includes_its_stop_and_a_grid_crosses_ranges():
    program = parse("L = (a*b + c) * f")
    report = sweep(program, {"c": 10, "f": -2}, ranges={"a": "-1:1:0.1", "b": "2:3:0.5"})
    assert report.size == 21 * 3
    assert report.swept["a"][-1] == 1.0 and report.swept["b"].tolist()[:3] == [2.0, 2.5, 3.0]
    program.run({"a": 2.0, "b": -3.0, "c": 10, "f": -2})
    lecture = sweep(program, {"c": 10, "f": -2}, points={"a": [2.0], "b": [-3.0]})
    assert [float(lecture.grads[n][0]) for n in "abcf"] == [6.0, -4.0, -2.0, 4.0]


def test_a_ranges_count_is_exact_even_when_huge():
    from scalargrad.arguments import parse_range

    assert parse_range("a", "0:1:0.1").count == 11 and parse_range("a", "0:1:0.3").count == 4
    assert parse_range("a", "1:-1:-0.5").count == 5
    assert parse_range("a", "0:1e9:1e-9").count == 10**18 + 1  # counted; the budget refuses it (test_sizes)
    assert parse_range("a", "-1e308:1e308:1e307").count == 21  # wider than a float, counted from each end
    for text in ("0:1:1e-320", "0:1e308:1e-308", "-1e308:1e308:1e-300"):
        with pytest.raises(UsageError, match=r"has more points than can be counted"):
            parse_range("a", text)


def test_points_outside_the_domain_are_nan_and_reported():
    report = sweep(parse("y = log(x) + sqrt(x - 1)"), {}, ranges={"x": "-2:3:0.5"})
    assert report.domain.count == 6 and report.domain.first == {"x": -2.0}
    assert "log of a non-positive number" in report.domain.reason
    assert all(math.isnan(v) for v in report.output[:6]) and math.isfinite(report.output[6])


def sweep_programs():
    from tests.test_properties import expressions

    return expressions


@settings(max_examples=80, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(sweep_programs(), st.lists(st.tuples(*[st.floats(-2, 2, allow_nan=False)] * 3), min_size=1, max_size=6))
def test_sweep_equals_grad_at_every_point(expr, rows):
    program = parse(expr[0])
    names = list(program.inputs)
    if not names:
        return
    columns = {name: [row[k] for row in rows] for k, name in enumerate(names)}
    report = sweep(program, {}, points=columns)
    for k in range(len(rows)):
        point = {name: columns[name][k] for name in names}
        try:
            program.run(point)
        except ScalarGradError:
            continue  # a kink or an overflow: grad refuses, the sweep marks the point
        assert close(float(report.output[k]), program.output.data), (expr[0], point)
        # A gradient summed from large terms that cancel (log(x, base) with x close to base) keeps
        # the rounding of those terms: measure it against the largest gradient on the way.
        scale = max(abs(node.grad) for node in program.nodes if node.grad == node.grad)
        for name in names:
            got, want = float(report.grads[name][k]), program.inputs[name].grad
            assert close(got, want) or abs(got - want) <= TOLERANCE * scale, (expr[0], point, name)


# -- the command ------------------------------------------------------------------------------
@pytest.mark.parametrize("arg, words", [
    ("--x=-5:5:0", "has a step of 0"),
    ("--x=5:-5:0.5", "the step has the wrong sign"),
    ("--x=1:2", "is not START:STOP:STEP"),
    ("--x=a:2:1", "the start: `a` is not a number"),
    ("--x=1 --q=0:1:0.5", "cannot sweep `q`: the program has no input of that name"),
    ("--x=0:1e8:1", "that is 400,000,004 numbers; the budget allows 32,000,000"),
])
def test_bad_ranges_are_worded_usage_errors(cli, arg, words):
    result = cli("sweep", "y = x * z", *arg.split(), "--z", "2", "--no-session")
    assert result.exit_code == 2 and words in result.stderr


@pytest.mark.parametrize("args, words", [
    (["--x", "0:1:0.5", "--set", "x=2"], "a value for `x` is given twice"),
    (["--x", "0:1:0.5", "--x=0:2:1"], "a value for `x` is given twice"),
    (["--x", "0:1:0.5", "--x", "3"], "a value for `x` is given twice"),
    (["--points", "{points}", "--x", "3"], "`x` is a column of the points file and is given a value too"),
])
def test_a_swept_input_is_given_one_way(cli, tmp_path, args, words):
    (tmp_path / "p.csv").write_text("x\n1\n2\n")
    args = [arg.format(points=tmp_path / "p.csv") for arg in args]
    result = cli("sweep", "y = x * z", *args, "--z", "2", "--no-session")
    assert result.exit_code == 2 and words in result.stderr, result.stderr


def test_a_range_is_read_once_and_its_start_is_the_sessions_value(cli, tmp_path):
    """The range is read where the command line is (arguments.split_arguments), not turned into
    a made-up `--x=START` argument: the session keeps the start, from "its range"."""
    from scalargrad.arguments import split_arguments

    args = split_arguments(["y = x * z", "--x", "-5:5:0.25", "--z", "2"], "sweep", ranges=True)
    assert args.values == {"z": "2"} and (args.ranges["x"].start, args.ranges["x"].count) == (-5.0, 41)
    assert split_arguments(["y = x", "--x", "1:2:1"]).values == {"x": "1:2:1"}  # grad: a value (refused later)
    session = tmp_path / "s.json"
    assert cli("sweep", "y = x * z", "--x", "-1:1:1", "--z", "2", "--session", str(session)).exit_code == 0
    assert json.loads(session.read_text())["values"] == {"x": -1.0, "z": 2.0}
    again = cli("sweep", "--x", "0:1:1", "--session", str(session))
    assert again.exit_code == 0 and "for this run x from its range" in again.stderr
    assert [line.split() for line in again.stdout.splitlines()[2:]] == [["0", "0", "2", "0"], ["1", "2", "2", "1"]]


def test_a_grid_too_large_is_refused_before_computing(cli):
    result = cli("sweep", "y = x * z", "--x=0:9999:1", "--z=0:9999:1", "--no-session")
    assert result.exit_code == 2 and "the grid would have 100,000,000 points" in result.stderr


def test_a_bad_cell_in_the_points_file_names_row_and_column(cli, tmp_path):
    (tmp_path / "p.csv").write_text("x,z\n1,2\n3,\n")
    result = cli("sweep", "y = x * z", "--points", str(tmp_path / "p.csv"), "--no-session")
    assert result.exit_code == 2 and "row 2 (line 3), column `z` is empty" in result.stderr
    (tmp_path / "p.csv").write_text("x,z\n1,2\n3,four\n")
    result = cli("sweep", "y = x * z", "--points", str(tmp_path / "p.csv"), "--no-session")
    assert result.exit_code == 2 and "row 2 (line 3), column `z`: `four` is not a number" in result.stderr


def test_json_csv_and_the_plot(cli, tmp_path):
    args = ("sweep", "y = 3*x**2 - 4*x + 5", "--x", "-5:5:0.25", "--at", "3", "--no-session")
    document = json.loads(cli(*args, "--json").stdout)
    assert document["schema"] == "scalargrad.sweep/1" and document["points"] == 41
    assert document["tangent"] == {"at": 3.0, "value": 20.0, "slope": 14.0}
    assert cli(*args, "--csv").stdout.splitlines()[0] == "x,y,dy/dx"
    result = cli(*args, "--plot", str(tmp_path / "slope.svg"))
    assert result.exit_code == 0 and (tmp_path / "slope.svg").read_text().lstrip().startswith("<?xml")


def test_grad_does_not_import_numpy():
    code = ("import sys; from scalargrad.cli import main; sys.argv = ['scalargrad', 'grad', 'L = a*b', '--a', '2', "
            "'--b', '3', '--no-session']\ntry:\n    main()\nexcept SystemExit:\n    pass\n"
            "print('numpy' in sys.modules, file=sys.stderr)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stderr.strip().endswith("False"), result.stderr


# -- --of a node, and --marks on the map: micrograd's decision boundary ----------------------------
STATEMENTS = "e = a*b; d = e + c; L = d * f"


def test_of_sweeps_a_named_node_and_its_gradients(cli):
    doc = cli("sweep", STATEMENTS, "--of", "d", "--a", "1:2:1", "--b", "-3", "--c", "10", "--f", "-2", "--json").json()
    assert doc["output"] == "d" and doc["values"] == [7.0, 4.0]  # d = a*b + c
    assert doc["grads"]["a"] == [-3.0, -3.0] and doc["grads"]["c"] == [1.0, 1.0] and doc["grads"]["f"] == [0.0, 0.0]
    # an input the node does not read needs no value (the moons' labels y, for the score)
    unread = cli("sweep", STATEMENTS, "--of", "d", "--a", "1:2:1", "--b", "-3", "--c", "10", "--json")
    assert unread.exit_code == 0 and unread.json()["values"] == [7.0, 4.0], unread.stderr
    assert "missing value for `c`" in cli("sweep", STATEMENTS, "--of", "d", "--a", "1:2:1", "--b", "-3").stderr


@pytest.mark.parametrize("args, words", [
    (["--of", "W"], "`W` is an array of shape (2,): sweep --of takes one number"),
    (["--of", "dd"], "the program has no node named `dd`; did you mean `d`?"),
    (["--marks", "marks.csv"], "--marks draws points on the --plot of two inputs"),
    (["--marks", "marks.csv", "--plot", "map.png"], "--marks draws points on a map: sweep two inputs"),
])
def test_of_and_marks_errors_are_worded(cli, tmp_path, monkeypatch, args, words):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "marks.csv").write_text("a,b,label\n1,2,0\n")
    result = cli("sweep", "W = uniform(-1, 1, [2]); d = W[0]*a + W[1]; L = d*d", "--a", "0:1:0.5", *args)
    assert result.exit_code != 0 and words in result.stderr, result.stderr


def test_marks_need_the_swept_columns(cli, tmp_path):
    marks = tmp_path / "marks.csv"
    marks.write_text("a,z,label\n1,2,0\n")
    result = cli("sweep", STATEMENTS, "--a", "0:1:0.5", "--b", "0:1:0.5", "--c", "1", "--f", "1",
                 "--plot", str(tmp_path / "map.png"), "--marks", str(marks))
    assert result.exit_code != 0 and f"the marks file {marks} has no column `b`" in result.stderr
    assert not (tmp_path / "map.png").exists()


@pytest.mark.slow
def test_the_moons_decision_boundary_is_the_trained_score(tmp_path):
    """Train micrograd's demo a few steps in a session, then sweep its score at one data point
    as the boundary plot does: the same number as the trained model's score there."""
    from pathlib import Path

    from conftest import run_installed

    examples = Path(__file__).resolve().parent.parent / "docs" / "examples"
    data, session = examples / "moons.csv", str(tmp_path / "s.json")
    trained = run_installed("step", "--file", str(examples / "moons.sg"), "--bindings", str(data), "--seed", "1337",
                            "--steps", "5", "--descend", "--lr", "0.5", "--session", session)
    assert trained.exit_code == 0, trained.stderr
    scores = run_installed("grad", "--bindings", str(data), "--session", session, "--json").json()
    score0 = next(node["data"] for node in scores["nodes"] if node["name"] == "score[0]")
    x1, x2 = data.read_text().splitlines()[1].split(",")[:2]
    swept = run_installed("sweep", "--session", session, "--of", "score", f"--x1={x1}:{x1}:1", f"--x2={x2}:{x2}:1", "--json")
    assert swept.exit_code == 0, swept.stderr
    assert swept.json()["values"] == [pytest.approx(score0, rel=1e-12, abs=1e-15)]
    one = run_installed("sweep", "--session", session, "--of", "score", f"--x1={x1}:{x1}:1", "--x2=-1:2:0.5", "--plot", str(tmp_path / "boundary.png"), "--marks", str(data))
    assert one.exit_code == 2 and "a map needs at least 2 values of each input; `x1` has 1" in one.stderr
    drawn = run_installed("sweep", "--session", session, "--of", "score", "--x1=-2:2.5:0.5", "--x2=-1.5:2:0.5", "--plot", str(tmp_path / "boundary.png"), "--marks", str(data))
    assert drawn.exit_code == 0, drawn.stderr
    assert (tmp_path / "boundary.png").read_bytes().startswith(b"\x89PNG")


def test_of_an_array_says_it_takes_one_number_even_with_values_missing(cli):
    # y is read by the loss only: the array W's message comes first, not a missing value
    result = cli("sweep", "W = uniform(-1, 1, [2]); s = W[0]*x + W[1]; L = (s - y)**2", "--of", "W", "--x", "0:1:0.5",
                 "--no-session")
    assert result.exit_code == 2 and "`W` is an array of shape (2,): sweep --of takes one number" in result.stderr
    assert "missing value" not in result.stderr


@pytest.mark.parametrize("marks", ["a,b\n0.5,0.5\n1,1\n",  # no label column: one kind of point
                                   "a,b,z\n" + "".join(f"{i / 20},{1 - i / 20},{i}\n" for i in range(20))])  # a scale
def test_marks_without_labels_or_with_many_are_drawn(cli, tmp_path, marks):
    (tmp_path / "marks.csv").write_text(marks)
    result = cli("sweep", STATEMENTS, "--of", "d", "--a", "0:1:0.25", "--b", "0:1:0.25", "--c", "-0.5", "--no-session",
                 "--plot", str(tmp_path / "map.png"), "--marks", str(tmp_path / "marks.csv"))
    assert result.exit_code == 0, result.stderr
    assert (tmp_path / "map.png").read_bytes().startswith(b"\x89PNG")


def test_a_curve_of_a_single_value_is_refused_too(cli, tmp_path):
    result = cli("sweep", "y = x*x", "--x", "0:0:1", "--at", "0", "--plot", str(tmp_path / "one.png"), "--no-session")
    assert result.exit_code == 2 and "a curve needs at least 2 values; `x` has 1" in result.stderr
    assert not (tmp_path / "one.png").exists()


# -- a pipe gets every row; --at off the swept values is said ------------------------------------
def test_a_pipe_or_a_file_gets_every_point_a_terminal_25(installed, tmp_path):
    import io

    from scalargrad import parse
    from scalargrad.render import emit
    from scalargrad.sweep import sweep

    piped = installed("sweep", "y = x*x", "--x", "0:10:0.25", "--no-session")
    lines = piped.stdout.splitlines()
    assert piped.exit_code == 0 and len(lines) == 2 + 41 and "points shown" not in piped.stdout
    assert lines[-1].split() == ["10", "100", "20"]

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    shown = Terminal()
    emit(sweep(parse("y = x*x"), {}, ranges={"x": "0:10:0.25"}), stream=shown)
    assert "25 of 41 points shown, evenly spaced; --all shows every point" in shown.getvalue()


@pytest.mark.parametrize("at, warned", [(3.0, True), (-0.5, True), (0.7, False), (1.0, False)])
def test_at_outside_the_swept_values_is_a_warning(cli, at, warned):
    result = cli("sweep", "y = x*x", "--x", "0:1:0.5", "--at", str(at), "--no-session")
    assert result.exit_code == 0
    assert f"at x = {at:g}: y = {at * at:g}, slope {2 * at:g}" in result.stdout  # the tangent is computed all the same
    said = f"warning: --at {at:g} lies outside the values of x swept (0 to 1)" in result.stderr
    assert said == warned, result.stderr
    doc = cli("sweep", "y = x*x", "--x", "0:1:0.5", "--at", str(at), "--no-session", "--json").json()
    assert any("lies outside the values of x swept" in w for w in doc["warnings"]) == warned
