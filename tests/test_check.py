"""`scalargrad check`: the lecture's numerical verification, for every node of a program."""

from __future__ import annotations

import dataclasses
import json
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import LECTURE, LECTURE_VALUES, STATEMENTS
from scalargrad import UsageError, parse
from scalargrad.check import check_gradients
from scalargrad.ops import OPS

LECTURE_INPUTS = {"a": 2, "b": -3, "c": 10, "f": -2}


def rows_by_label(doc: dict) -> dict:
    return {row["label"]: row for row in doc["rows"]}


def table_rows(stdout: str) -> dict:
    """The plain table's rows by node label (the title is line 0, the header line 1)."""
    rows = {}
    for line in stdout.splitlines()[2:]:
        cells = line.split()
        if cells and cells[-1] in ("PASS", "FAIL", "KINK"):
            rows[cells[0]] = cells
    return rows


@pytest.fixture
def broken_multiply(monkeypatch):
    """The rule table with one wrong row: d(x*y)/dy = x + 1 instead of x."""
    right = OPS["*"]
    monkeypatch.setitem(OPS, "*", dataclasses.replace(right, local=lambda ans, x, y: (y, x + 1.0)))


# -- the lecture's numbers -----------------------------------------------------------------
def test_forward_differences_are_the_lectures_own(cli):
    result = cli("check", STATEMENTS, *LECTURE_VALUES, "--method", "forward", "--eps", "1e-4", "--json")
    assert result.exit_code == 0, result.stderr
    doc = result.json()
    rows = rows_by_label(doc)
    # The lecture's printed values of (L2 - L1) / h with h = 0.0001.
    assert rows["a"]["numeric"] == 6.000000000021544
    assert rows["b"]["numeric"] == -4.000000000008441
    assert rows["c"]["numeric"] == -1.9999999999953388
    assert rows["d"]["numeric"] == -1.9999999999953388
    assert rows["e"]["numeric"] == -1.9999999999953388
    assert rows["f"]["numeric"] == 3.9999999999995595
    assert rows["L"]["numeric"] == 0.9999999999976694
    assert {label: row["analytic"] for label, row in rows.items()} == {
        "a": 6.0, "b": -4.0, "e": -2.0, "c": -2.0, "d": -2.0, "f": 4.0, "L": 1.0}
    assert doc["ok"] is True and doc["summary"] == {"checked": 7, "passed": 7, "failed": 0, "kinks": 0,
                                                       "undefined": 0}
    assert doc["settings"] == {"method": "forward", "eps": 1e-4, "adaptive": False, "relative_step": False,
                               "atol": 1e-5, "rtol": 1e-3}
    assert all(row["step"] == 1e-4 and row["difference"] == "forward" for row in doc["rows"])
    assert rows["a"]["abs_error"] == pytest.approx(2.1544e-11, rel=1e-3)


def test_library_api_and_values_are_restored():
    program = parse(STATEMENTS)
    program.run(LECTURE_INPUTS)
    before = [(node.data, node.grad) for node in program.nodes]
    report = check_gradients(program, LECTURE_INPUTS, method="forward", eps=1e-4)
    assert report.ok and report.passed == 7 and report.failed == 0
    assert report.row("d").numeric == -1.9999999999953388
    assert report.row("a").analytic == 6.0
    assert [(node.data, node.grad) for node in program.nodes] == before
    # `nodes` picks Values; `of` differentiates an intermediate node: dd/da = b = -3.
    names = program.names
    report = check_gradients(program, LECTURE_INPUTS, [names["a"], names["f"]], of=names["d"])
    assert [row.label for row in report.rows] == ["a", "f"]
    assert report.row("a").analytic == -3.0 and report.row("a").numeric == pytest.approx(-3.0)
    assert report.row("f").analytic == 0.0 and report.row("f").numeric == 0.0


def test_central_differences_table(cli):
    result = cli("check", STATEMENTS, *LECTURE_VALUES, "--eps", "1e-6")
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "gradient check of L = -8"
    assert lines[1].split() == ["node", "data", "analytic", "numeric", "abs", "error", "rel", "error", "status"]
    rows = table_rows(result.stdout)
    assert list(rows) == ["a", "b", "e", "c", "d", "f", "L"]
    assert rows["a"][:4] == ["a", "2", "6", "6"] and rows["f"][:3] == ["f", "-2", "4"]
    assert all(row[-1] == "PASS" for row in rows.values())
    assert lines[-1] == ("ok: 7 checked, 7 passed, 0 failed "
                         "(central differences, h = 1e-06, atol 1e-05, rtol 0.001)")
    assert "\x1b[" not in result.stdout and result.stderr == ""


# -- a wrong derivative is caught -----------------------------------------------------------
def test_a_wrong_rule_fails_the_check(cli, broken_multiply):
    result = cli("check", STATEMENTS, *LECTURE_VALUES, "--eps", "1e-6")
    assert result.exit_code == 1
    rows = table_rows(result.stdout)
    # e = a*b gives dL/db = -2 * (a + 1) = -6; L = d*f gives dL/df = d + 1 = 5.
    assert rows["b"][2:4] == ["-6", "-4.000000001"] and rows["b"][-1] == "FAIL"
    assert rows["f"][2] == "5" and rows["f"][-1] == "FAIL"
    assert {label for label, row in rows.items() if row[-1] == "PASS"} == {"a", "e", "c", "d", "L"}
    assert "b: FAIL, the analytic and numeric gradients disagree" in result.stdout
    assert result.stdout.splitlines()[-1].startswith("FAILED: 7 checked, 5 passed, 2 failed")

    doc = cli("check", STATEMENTS, *LECTURE_VALUES, "--eps", "1e-6", "--json").json()
    assert doc["ok"] is False and doc["summary"]["failed"] == 2
    assert rows_by_label(doc)["f"]["analytic"] == 5.0
    assert rows_by_label(doc)["f"]["abs_error"] == pytest.approx(1.0, rel=1e-6)


def test_a_wrong_rule_through_the_library(broken_multiply):
    report = check_gradients(parse(LECTURE), LECTURE_INPUTS)
    assert not report.ok
    assert {row.label for row in report.rows if row.status == "FAIL"} == {"b", "f"}


# -- kinks and domains ------------------------------------------------------------------------
@pytest.mark.parametrize("function", ["relu", "abs"])
def test_kink_at_zero_is_explained_not_failed(cli, function):
    result = cli("check", f"h = {function}(x); L = h * y", "--x", "0", "--y", "3")
    assert result.exit_code == 0, result.stderr
    rows = table_rows(result.stdout)
    assert rows["x"][-1] == "KINK"
    assert f"x: KINK, not differentiable here: {function} has a kink at (0) in `{function}(x)`" in result.stdout
    assert rows["h"][-1] == "PASS"  # h's own value is perturbed downstream of the kink
    assert result.stdout.splitlines()[-1].startswith("ok: 4 checked, 3 passed, 0 failed, 1 kink")


def test_relu_away_from_its_kink_passes(cli):
    doc = cli("check", "L = relu(x) * y", "--x", "0.5", "--y", "3", "--json").json()
    assert rows_by_label(doc)["x"]["status"] == "PASS" and rows_by_label(doc)["x"]["analytic"] == 3.0
    doc = cli("check", "L = relu(x) * y", "--x", "-0.5", "--y", "3", "--json").json()
    assert rows_by_label(doc)["x"]["status"] == "PASS" and rows_by_label(doc)["x"]["analytic"] == 0.0


def test_relu_kink_numbers(cli):
    # At 0 the central difference of relu is (h - 0) / 2h = 0.5 while backprop says 0.
    doc = cli("check", "L = relu(x)", "--x", "0", "--json").json()
    x = rows_by_label(doc)["x"]
    assert x["status"] == "KINK" and x["analytic"] == 0.0 and x["numeric"] == pytest.approx(0.5)
    assert doc["ok"] is True


def test_sqrt_at_zero_has_an_infinite_gradient_and_a_kink(cli):
    result = cli("check", "L = sqrt(z) + w", "--z", "0", "--w", "1", "--json")
    assert result.exit_code == 0, result.stderr
    doc = result.json()
    z = rows_by_label(doc)["z"]
    assert z["status"] == "KINK" and z["analytic"] is None  # infinite: not a JSON number
    assert "sqrt has a kink at (0)" in z["reason"]
    assert any("the gradient is infinite here" in note for note in doc["notes"])
    assert rows_by_label(doc)["w"]["status"] == "PASS"


def test_step_leaving_the_domain_falls_back_to_one_side(cli):
    # z - h < 0: z**2.5 is not real there, so the forward difference is used, and agrees.
    doc = cli("check", "L = z ** 2.5", "--z", "5e-7", "--eps", "1e-6", "--json").json()
    z = rows_by_label(doc)["z"]
    assert z["status"] == "PASS" and z["difference"] == "forward"
    assert z["reason"].startswith("at z - h = -5e-07: a negative number raised to a fractional power")
    # --method forward mirrored: z + h leaves the domain, the backward difference is used.
    doc = cli("check", "L = (-z) ** 2.5", "--z", "-5e-7", "--method", "forward", "--eps", "1e-6", "--json").json()
    assert rows_by_label(doc)["z"]["difference"] == "backward"
    assert rows_by_label(doc)["z"]["status"] == "PASS"


def test_step_across_a_singularity_is_undetermined_not_a_crash(cli):
    program = parse("L = sqrt(z)")
    program.run({"z": 1e-7})
    before = [node.data for node in program.nodes]
    result = cli("check", "L = sqrt(z)", "--z", "1e-7", "--eps", "1e-6")
    assert result.exit_code == 0, result.stderr
    assert table_rows(result.stdout)["z"][-1] == "KINK"
    assert ("z: KINK, undetermined: at z - h = -9e-07: sqrt of a negative number (-9e-07) in `sqrt(z)`"
            in result.stdout)
    assert "try a smaller --eps" in result.stdout
    # With a step inside the domain the gradient 1 / (2 sqrt(z)) = 1581.14 is confirmed.
    doc = cli("check", "L = sqrt(z)", "--z", "1e-7", "--eps", "1e-10", "--json").json()
    z = rows_by_label(doc)["z"]
    assert z["status"] == "PASS" and z["analytic"] == pytest.approx(1581.1388300841897)
    report = check_gradients(program, {"z": 1e-7}, eps=1e-6)
    assert report.row("z").status == "KINK"
    assert [node.data for node in program.nodes] == before
    # The adaptive default (no eps) shrinks the step until both sides fit, and extrapolates.
    report = check_gradients(program, {"z": 1e-7})
    z = report.row("z")
    assert z.status == "PASS" and z.difference == "richardson"
    assert z.numeric == pytest.approx(1581.1388300841897, rel=1e-6) and z.error_estimate < 0.1
    assert [node.data for node in program.nodes] == before


def test_both_steps_leaving_the_domain(cli):
    doc = cli("check", "L = log(z) + log(0.0000005 - z)", "--z", "2.5e-7", "--eps", "1e-6", "--json").json()
    z = rows_by_label(doc)["z"]
    assert z["status"] == "KINK" and z["numeric"] is None and z["difference"] is None
    # the point is printed in full (repr): 2.5e-7 + 1e-6 is not exactly 1.25e-06
    assert "at z + h = 1.2499999999999999e-06: log of a non-positive number" in z["reason"]
    assert "at z - h = -7.5e-07: log of a non-positive number" in z["reason"]


# -- options ---------------------------------------------------------------------------------
def test_nodes_option(cli):
    doc = cli("check", STATEMENTS, *LECTURE_VALUES, "--nodes", "d, a", "--json").json()
    assert [row["label"] for row in doc["rows"]] == ["d", "a"]
    assert [row["analytic"] for row in doc["rows"]] == [-2.0, 6.0]


def test_nodes_option_unknown_name(cli):
    result = cli("check", STATEMENTS, *LECTURE_VALUES, "--nodes", "a,ee")
    assert result.exit_code == 2 and result.stdout == ""
    assert "error: the program has no node named `ee`; did you mean `e`?" in result.stderr
    assert "hint: named nodes: a, b, e, c, d, f, L" in result.stderr


def test_nodes_option_empty_name_and_all_together(cli):
    result = cli("check", STATEMENTS, *LECTURE_VALUES, "--nodes", "a,,d")
    assert result.exit_code == 2 and "--nodes `a,,d` has an empty name" in result.stderr
    result = cli("check", STATEMENTS, *LECTURE_VALUES, "--nodes", "a", "--all")
    assert result.exit_code == 2 and "give either --nodes or --all, not both" in result.stderr


def test_all_adds_unnamed_sub_expressions_but_not_literals(cli):
    doc = cli("check", "L = (a*b + c) * f * 2", *LECTURE_VALUES, "--all", "--json").json()
    assert [row["label"] for row in doc["rows"]] == ["a", "b", "a*b", "c", "a*b + c", "f", "(a*b + c) * f", "L"]
    assert rows_by_label(doc)["a*b + c"]["analytic"] == -4.0
    assert all(row["status"] == "PASS" for row in doc["rows"])
    named = cli("check", "L = (a*b + c) * f * 2", *LECTURE_VALUES, "--json").json()
    assert [row["label"] for row in named["rows"]] == ["a", "b", "c", "f", "L"]


def test_of_option(cli):
    doc = cli("check", STATEMENTS, *LECTURE_VALUES, "--of", "e", "--json").json()
    assert doc["of"]["name"] == "e"
    rows = rows_by_label(doc)
    assert rows["a"]["analytic"] == -3.0 and rows["b"]["analytic"] == 2.0
    assert rows["L"]["analytic"] == 0.0 and rows["L"]["numeric"] == 0.0  # L does not change e
    result = cli("check", STATEMENTS, *LECTURE_VALUES, "--of", "q")
    assert result.exit_code == 2 and "no node named `q`" in result.stderr


def test_tolerances_decide_pass_and_fail(cli):
    # Forward difference of x*x at 3 with h = 1e-4 is 6 + h: an error of 1e-4 exactly (nearly).
    args = ["check", "L = x * x", "--x", "3", "--method", "forward", "--eps", "1e-4", "--nodes", "x"]
    doc = cli(*args, "--json").json()
    assert doc["rows"][0]["abs_error"] == pytest.approx(1e-4, rel=1e-6)
    assert doc["ok"] is True  # 1e-4 <= 1e-5 + 1e-3 * 6.0001
    failing = cli(*args, "--rtol", "0")
    assert failing.exit_code == 1 and table_rows(failing.stdout)["x"][-1] == "FAIL"
    assert "atol 1e-05, rtol 0)" in failing.stdout
    assert cli(*args, "--rtol", "0", "--atol", "1e-3").exit_code == 0
    assert cli(*args, "--rtol", "1e-5", "--atol", "0").exit_code == 1
    assert cli(*args, "--rtol", "2e-5", "--atol", "0").exit_code == 0  # 2e-5 * 6.0001 > 1e-4


def test_relative_step(cli):
    doc = cli("check", "L = x * y", "--x", "1e6", "--y", "0.5", "--relative-step", "--eps", "1e-6", "--json").json()
    rows = rows_by_label(doc)
    assert rows["x"]["step"] == 1.0  # 1e-6 * |1e6|
    assert rows["y"]["step"] == 1e-6  # 1e-6 * max(1, 0.5)
    assert rows["y"]["numeric"] == pytest.approx(1e6) and doc["ok"] is True
    assert doc["settings"]["relative_step"] is True
    plain = cli("check", "L = x * y", "--x", "1e6", "--y", "0.5", "--eps", "1e-6", "--json").json()
    assert rows_by_label(plain)["x"]["step"] == 1e-6


def test_precision_option(cli):
    args = ["check", STATEMENTS, *LECTURE_VALUES, "--method", "forward", "--eps", "1e-4"]
    assert table_rows(cli(*args, "--precision", "15").stdout)["a"][3] == "6.00000000002154"
    assert table_rows(cli(*args).stdout)["a"][3] == "6"
    assert table_rows(cli(*args, "--precision", "17").stdout)["f"][3] == "3.9999999999995595"


@pytest.mark.parametrize("option, value, message", [
    ("--eps", "0", "--eps must be a positive finite number, not 0.0"),
    ("--eps", "-1e-6", "--eps must be a positive finite number, not -1e-06"),
    ("--eps", "nan", "--eps must be a positive finite number, not nan"),
    ("--eps", "inf", "--eps must be a positive finite number, not inf"),
    ("--atol", "-1", "--atol must be a finite number >= 0, not -1.0"),
    ("--rtol", "-0.1", "--rtol must be a finite number >= 0, not -0.1"),
    ("--rtol", "inf", "--rtol must be a finite number >= 0, not inf"),
    ("--method", "centre", "unknown --method `centre`; did you mean `central`?"),
])
def test_bad_options(cli, option, value, message):
    result = cli("check", LECTURE, *LECTURE_VALUES, option, value)
    assert result.exit_code == 2 and result.stdout == ""
    assert f"error: {message}" in result.stderr
    assert "hint: " in result.stderr and "Traceback" not in result.stderr


def test_bad_options_through_the_library():
    with pytest.raises(UsageError, match="--eps must be a positive finite number"):
        check_gradients(parse(LECTURE), LECTURE_INPUTS, eps=0)
    with pytest.raises(UsageError, match="unknown --method `sideways`"):
        check_gradients(parse(LECTURE), LECTURE_INPUTS, method="sideways")


def test_program_and_value_options_are_the_grads(cli, tmp_path):
    source = tmp_path / "lecture.sg"
    source.write_text(STATEMENTS + "\n", encoding="utf-8")
    bindings = tmp_path / "values.json"
    bindings.write_text(json.dumps({"a": 2, "b": -3, "c": 10}), encoding="utf-8")
    doc = cli("check", "--file", str(source), "--bindings", str(bindings), "--set", "f=-2", "--json").json()
    assert rows_by_label(doc)["d"]["analytic"] == -2.0 and doc["ok"] is True
    doc = cli("check", "-", *LECTURE_VALUES, "--json", input=LECTURE).json()
    assert rows_by_label(doc)["a"]["analytic"] == 6.0


def test_user_errors_exit_2(cli):
    result = cli("check", "L = (a*b + c * f", *LECTURE_VALUES)
    assert result.exit_code == 2 and result.stderr.startswith("error: line 1")
    result = cli("check", LECTURE, "--a", "2")
    assert result.exit_code == 2 and "missing" in result.stderr
    result = cli("check", "L = log(x)", "--x", "0")  # the point itself is outside the domain
    assert result.exit_code == 2 and "log of a non-positive number" in result.stderr


def test_help(cli):
    result = cli("check", "--help")
    assert result.exit_code == 0
    for option in ("--nodes", "--all", "--eps", "--method", "--relative-step", "--atol", "--rtol", "--json"):
        assert option in result.stdout


# -- progress bar -------------------------------------------------------------------------------
def test_progress_bar_only_on_a_terminal(cli, monkeypatch):
    import scalargrad.render

    made = []
    real = scalargrad.render.DelayedProgress

    def recording(description, enabled, delay=1.0):
        made.append(enabled)
        return real(description, enabled, delay)

    monkeypatch.setattr(scalargrad.render, "DelayedProgress", recording)
    assert cli("check", LECTURE, *LECTURE_VALUES, "--json").exit_code == 0
    assert cli("check", LECTURE, *LECTURE_VALUES).exit_code == 0  # CliRunner: not a terminal
    assert made == [False, False]


def test_delayed_progress_appears_only_after_the_delay():
    from scalargrad.render import DelayedProgress

    with DelayedProgress("checking", enabled=True, delay=3600) as progress:
        progress(1, 10)
        assert not progress.shown
    with DelayedProgress("checking", enabled=False, delay=0) as progress:
        progress(1, 10)
        assert not progress.shown
    with DelayedProgress("checking", enabled=True, delay=0) as progress:
        progress(1, 10)
        assert progress.shown
    assert not progress.shown



def test_delayed_progress_updates_by_the_clock_not_by_the_count():
    """A slow unit of work (a 25 ms training step of a 100,000-step run) updates the bar every
    tenth of a second, not every 200 units (5 s); a fast one no more often than that."""
    from scalargrad.render import DelayedProgress

    now = [0.0]
    progress = DelayedProgress("stepping", enabled=True, delay=1.0, clock=lambda: now[0])
    updates = []
    with progress:
        for done in range(1, 100_001):
            now[0] += 0.025
            progress(done, 100_000)
            if progress.shown and (not updates or updates[-1] != progress._shown_at):
                updates.append(progress._shown_at)
            if done == 400:
                break
    gaps = {round(b - a, 6) for a, b in zip(updates, updates[1:])}
    assert gaps <= {0.1, 0.125} and 1.0 <= updates[0] <= 1.03  # shown after 1 s, then every tenth (or the step after)
    assert 72 <= len(updates) <= 91 and updates[-1] > 9.8  # up to 10 s: all the while, not once every 5 s
    fast = DelayedProgress("stepping", enabled=True, delay=0, clock=lambda: now[0])
    with fast:
        fast(1, 10**6)
        shown_at = fast._shown_at
        for done in range(2, 1000):
            now[0] += 1e-5
            fast(done, 10**6)
        assert fast._shown_at == shown_at + 0.0  # 10 ms of 999 units: the bar was not redrawn

# -- properties and scale -----------------------------------------------------------------------
SMOOTH = "o = tanh(x1*w1 + x2*w2 + b); L = o*o + sin(x1) * exp(w2) / (1 + b*b)"
small = st.floats(min_value=-2, max_value=2, allow_nan=False)


@settings(max_examples=40, deadline=None)
@given(x1=small, x2=small, w1=small, w2=small, b=small)
def test_every_node_of_a_smooth_program_passes(x1, x2, w1, w2, b):
    values = {"x1": x1, "x2": x2, "w1": w1, "w2": w2, "b": b}
    program = parse(SMOOTH)
    program.run(values)
    before = [(node.data, node.grad) for node in program.nodes]
    report = check_gradients(program, values, every=True)
    assert report.ok and report.kinks == 0, [(r.label, r.analytic, r.numeric) for r in report.rows]
    assert len(report.rows) == sum(node._op != "const" for node in program.nodes)
    assert [(node.data, node.grad) for node in program.nodes] == before


def test_a_chain_100000_deep():
    program = parse("L = x" + " * 1.00001" * 100_000)
    report = check_gradients(program, {"x": 1.0})
    assert report.ok
    assert report.row("x").analytic == pytest.approx(1.00001 ** 100_000)
    assert report.row("x").numeric == pytest.approx(math.exp(100_000 * math.log(1.00001)), rel=1e-6)


def test_installed_command(installed):
    result = installed("check", STATEMENTS, *LECTURE_VALUES, "--method", "forward", "--eps", "1e-4")
    assert result.exit_code == 0, result.stderr
    rows = table_rows(result.stdout)
    assert rows["d"][1:4] == ["4", "-2", "-2"] and rows["d"][-1] == "PASS"
    assert result.stdout.splitlines()[-1].startswith("ok: 7 checked, 7 passed, 0 failed")
    assert "\x1b[" not in result.stdout and result.stderr == ""
    result = installed("check", STATEMENTS, *LECTURE_VALUES, "--eps", "0")
    assert result.exit_code == 2 and "--eps must be a positive finite number" in result.stderr


def test_downstream_slices_match_program_downstream():
    # The checker finds every slice in one pass per batch of 256 nodes; each must be the
    # nodes Program.downstream finds one by one (all of them reach the output here).
    from scalargrad.check import _Checker

    lines = ["s0 = x + y"] + [f"s{i} = s{i - 1} * {'x' if i % 2 else 'y'} + {i} * z" for i in range(1, 120)]
    program = parse("; ".join(lines))
    program.run({"x": 0.9, "y": 1.1, "z": 0.5})
    checker = _Checker(program, program.output, 1e-6, "central", False, 1e-5, 1e-3)
    chosen = [node for node in program.nodes if node._op != "const"]
    assert len(chosen) > 256
    found = []
    for start in range(0, len(chosen), 256):
        found += [(node, downstream) for node, downstream, _ in checker.slices(chosen[start:start + 256])]
    assert [node for node, _ in found] == chosen
    for node, downstream in found:
        assert downstream == program.downstream(node)
    report = check_gradients(program, {"x": 0.9, "y": 1.1, "z": 0.5}, every=True)
    assert report.ok and len(report.rows) == len(chosen)


def test_a_step_lost_in_rounding_is_undetermined(cli):
    # 1e12 + 1e-6 == 1e12: an absolute step says nothing there; a relative one does.
    result = cli("check", "L = x * x", "--x", "1e12", "--eps", "1e-6")
    assert result.exit_code == 0
    assert ("x: KINK, undetermined: the step h = 1e-06 is lost in rounding at x = 1e+12; "
            "use --relative-step or a larger --eps") in result.stdout
    doc = cli("check", "L = x * x", "--x", "1e12", "--relative-step", "--eps", "1e-6", "--json").json()
    x = rows_by_label(doc)["x"]
    assert x["status"] == "PASS" and x["step"] == 1e6 and x["numeric"] == pytest.approx(2e12)


def test_progress_bar_appears_on_a_terminal_and_goes_away(monkeypatch):
    import io

    from scalargrad.render import DelayedProgress

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    screen = Terminal()
    monkeypatch.setattr("sys.stderr", screen)
    with DelayedProgress("checking gradients", enabled=True, delay=0) as progress:
        progress(3, 10)
        assert progress.shown
        progress(10, 10)
    assert not progress.shown
    assert "checking gradients" in screen.getvalue()


# -- no false alarms near kinks, poles and steep curvature (the adaptive default) ----------------
@pytest.mark.parametrize("function", ["relu", "abs"])
@pytest.mark.parametrize("x", [1e-9, -1e-9, 3e-8, -3e-8, 9e-7, -9e-7])
@pytest.mark.parametrize("eps", [None, 1e-6], ids=["adaptive", "fixed"])
def test_a_kink_within_the_step_is_a_kink_with_both_slopes(function, x, eps):
    report = check_gradients(parse(f"L = {function}(x)"), {"x": x}, eps=eps)
    row = report.row("x")
    assert row.status == "KINK" and report.ok
    # The one-sided difference on the kink-free side is the exact slope there.
    slope = 1.0 if x > 0 else (0.0 if function == "relu" else -1.0)
    assert row.analytic == slope
    clean = row.right if x > 0 else row.left
    assert clean == pytest.approx(slope, abs=1e-9)
    other = row.left if x > 0 else row.right
    assert other is not None and abs(other - slope) > 1e-3  # the side that crosses the corner
    side = "x - h and x" if x > 0 else "x and x + h"
    assert row.reason.startswith(f"not differentiable within the step: {function} has a kink where `x` = 0 "
                                 f"in `{function}(x)`, between {side}; one-sided differences: left ")
    assert f"left {row.left!r}, right {row.right!r}" in row.reason


def test_a_kink_of_a_shifted_argument_within_the_step():
    report = check_gradients(parse("L = relu(x-1)"), {"x": 1.0000000001})
    row = report.row("x")
    assert row.status == "KINK" and row.analytic == 1.0
    assert row.right == pytest.approx(1.0, abs=1e-9) and 0 <= row.left < 0.01
    assert "relu has a kink where `x-1` = 0 in `relu(x-1)`, between x - h and x" in row.reason


def test_a_wrong_rule_near_a_kink_still_fails(monkeypatch):
    # relu' = 2 for x > 0 is outside both one-sided slopes (about 0 and 1): FAIL, not KINK.
    right = OPS["relu"]
    monkeypatch.setitem(OPS, "relu", dataclasses.replace(right, local=lambda ans, x: (2.0 if x > 0 else 0.0,)))
    for eps in (None, 1e-6):
        row = check_gradients(parse("L = relu(x)"), {"x": 1e-9}, eps=eps).row("x")
        assert row.status == "FAIL" and row.analytic == 2.0
        assert row.reason.startswith("the analytic gradient is not between the one-sided differences")


@pytest.mark.parametrize("x, gradient", [(2e-6, 353.5533905932738), (1e-5, 158.11388300841895)])
def test_sqrt_near_zero_passes_with_the_adaptive_step(x, gradient):
    row = check_gradients(parse("L = sqrt(x)"), {"x": x}).row("x")
    assert row.status == "PASS" and row.analytic == pytest.approx(gradient, rel=1e-15)
    assert row.difference == "richardson" and row.numeric == pytest.approx(gradient, rel=1e-7)
    assert row.error_estimate < 1e-3
    # A fixed step of 1e-6 is too coarse for this curvature: the lecture's method, on request.
    fixed = check_gradients(parse("L = sqrt(x)"), {"x": x}, eps=1e-6).row("x")
    assert fixed.status == "FAIL" and fixed.difference == "central"


def test_a_pole_within_the_step_is_undetermined():
    row = check_gradients(parse("L = 1/x"), {"x": 1e-7}).row("x")
    assert row.analytic == pytest.approx(-1e14)
    assert row.status == "KINK"
    assert row.reason.startswith("undetermined: there is a pole where `x` = 0 in `1/x`, between x - h and x: "
                                 "division by zero")
    assert row.left > 0 > row.right  # the two sides of the pole disagree wildly
    # Further from the pole the adaptive step passes.
    assert check_gradients(parse("L = 1/x"), {"x": 1e-5}).row("x").status == "PASS"


@pytest.mark.parametrize("x", [0.5, 1.0, 1.5, 2.0, 2.5, 3.0])
def test_an_oscillation_faster_than_the_step_is_not_a_failure(x):
    row = check_gradients(parse("L = tan(10.0**exp(x))"), {"x": x}).row("x")
    assert row.status != "FAIL", row.reason
    if row.status == "KINK":
        assert row.reason.startswith("undetermined: the finite differences do not settle")


def test_the_point_outside_a_domain_is_printed_in_full(cli):
    doc = cli("check", "z = x**y", "--x", "-2", "--y", "3", "--eps", "1e-6", "--json").json()
    y = rows_by_label(doc)["y"]
    assert y["status"] == "UNDEFINED" and y["analytic"] is None  # d/dy needs log(x): no value at x < 0
    assert "at y + h = 3.000001: a negative number raised to a fractional power" in y["reason"]
    assert "at y - h = 2.999999: a negative number raised to a fractional power" in y["reason"]


def test_adaptive_default_settings_and_summary():
    report = check_gradients(parse(STATEMENTS), LECTURE_INPUTS)
    assert report.eps is None and report.adaptive and report.ok
    assert report.row("a").step == pytest.approx(6.055454452393344e-06 * 2)  # h * max(1, |x|)
    assert report.row("c").step == pytest.approx(6.055454452393344e-06 * 10)
    assert report.summary() == ("ok: 7 checked, 7 passed, 0 failed (central differences, adaptive "
                                "h = 6.06e-06 * max(1, |x|), Richardson where they disagree, atol 1e-05, rtol 0.001)")
    # An explicit eps is the user's fixed step, the lecture's numbers to the last digit.
    fixed = check_gradients(parse(STATEMENTS), LECTURE_INPUTS, method="forward", eps=1e-4)
    assert fixed.row("a").numeric == 6.000000000021544 and fixed.row("d").numeric == -1.9999999999953388
    assert fixed.summary().endswith("(forward differences, h = 0.0001, atol 1e-05, rtol 0.001)")


# -- the default step adapts (issue: no false alarms) --------------------------------------------
def test_the_default_step_adapts_where_a_fixed_one_was_lost_or_too_coarse(cli):
    lost = cli("check", "L = x * x", "--x", "1e12", "--json").json()
    assert lost["settings"]["adaptive"] is True and lost["settings"]["eps"] is None
    assert rows_by_label(lost)["x"]["status"] == "PASS"
    curved = cli("check", "L = sqrt(z)", "--z", "2e-6", "--json").json()
    assert rows_by_label(curved)["z"]["status"] == "PASS"
    fixed = cli("check", "L = sqrt(z)", "--z", "2e-6", "--eps", "1e-6", "--json").json()
    assert rows_by_label(fixed)["z"]["status"] == "FAIL"  # the step the user chose is too coarse here


def test_a_kink_within_the_step_shows_both_slopes(cli):
    doc = cli("check", "L = relu(x) * 3", "--x", "1e-9", "--json").json()
    row = rows_by_label(doc)["x"]
    assert row["status"] == "KINK" and abs(row["left"]) < 1e-2 and row["right"] == pytest.approx(3.0)


# -- a gradient that has no value is said to be undefined, never shown as nan -------------------
@pytest.mark.parametrize("program, values, node, status", [
    ("L = x ** z", ["--x", "-30", "--z", "3"], "z", "UNDEFINED"),  # d/dz needs log(x): no value at x < 0
    ("L = atan2(y, x)", ["--x", "0", "--y", "0"], "y", "KINK"),  # a kink, whose gradient is undefined too
    ("L = log(x, b)", ["--x", "2", "--b", "-3"], None, None),  # out of the domain: an error, not a row
])
def test_an_undefined_gradient_is_called_undefined(cli, program, values, node, status):
    result = cli("check", program, *values, "--no-session")
    if node is None:
        assert result.exit_code == 2 and "error:" in result.stderr
        return
    assert result.exit_code == 0, result.stderr
    rows = {line.split()[0]: line.split() for line in result.stdout.splitlines()[2:] if line.split()}
    assert rows[node][2] == "undefined" and rows[node][-1] == status
    assert "nan" not in result.stdout
    doc = cli("check", program, *values, "--no-session", "--json").json()
    row = next(r for r in doc["rows"] if r["label"] == node)
    assert row["status"] == status and row["analytic"] is None
    assert doc["ok"] and doc["summary"]["undefined"] == (status == "UNDEFINED")
