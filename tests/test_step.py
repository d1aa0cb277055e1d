"""`scalargrad step`: the lecture's nudge, gradient descent on a parabola, freeze, save, plot."""

from __future__ import annotations

import doctest
import json
import math
import re
import sys
import xml.etree.ElementTree as ElementTree

import pytest

from conftest import LECTURE, LECTURE_VALUES, STATEMENTS
import scalargrad.step
from scalargrad import DomainError, UsageError, parse
from scalargrad.plot import BARS, sparkline
from scalargrad.step import run_steps

LECTURE_INPUTS = {"a": 2, "b": -3, "c": 10, "f": -2}
# (w*x - y)**2 with x = 2, y = 6 has its minimum at w = 3. Descending with lr 0.01 from w = 0:
# dL/dw = 4*(2w - 6) = 8*(w - 3), so w - 3 shrinks by 1 - 0.08 = 0.92 a step: w = 3 - 3*0.92**k
# and L = 4*(w - 3)**2 = 36 * 0.8464**k.
PARABOLA = "L = (w*x - y)**2"
PARABOLA_VALUES = ["--w", "0", "--x", "2", "--y", "6"]


def lecture_nudge() -> tuple[float, dict[str, float]]:
    """The lecture's own cell: a.data += 0.01 * a.grad for each leaf, then the forward pass."""
    grads = {"a": 6.0, "b": -4.0, "c": -2.0, "f": 4.0}  # -> from the lecture's backward pass
    new = {name: LECTURE_INPUTS[name] + 0.01 * grads[name] for name in grads}
    return (new["a"] * new["b"] + new["c"]) * new["f"], new


def table_rows(stdout: str) -> dict[str, list[str]]:
    return {line.split()[0]: line.split() for line in stdout.splitlines() if line.strip()}


# -- the lecture ---------------------------------------------------------------------------
def test_one_step_gives_the_lecture_numbers(cli):
    result = cli("step", LECTURE, *LECTURE_VALUES, "--lr", "0.01")
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""
    rows = table_rows(result.stdout)
    # input  before  grad  after  change
    assert rows["a"][1:] == ["2", "6", "2.06", "0.06"]
    assert rows["b"][1:] == ["-3", "-4", "-3.04", "-0.04"]
    assert rows["c"][1:] == ["10", "-2", "9.98", "-0.02"]
    assert rows["f"][1:] == ["-2", "4", "-1.96", "0.04"]
    assert rows["before"][1:] == ["-8"]
    assert rows["after"][1:] == ["-7.286496"]
    assert rows["change"][1:] == ["0.713504"]
    # first-order prediction: 0.01 * (6**2 + 4**2 + 2**2 + 4**2) = 0.72
    assert re.search(r"^predicted change\s+0\.72$", result.stdout, re.M)


def test_one_step_json_matches_the_lecture_cell(cli):
    expected_L, expected_values = lecture_nudge()
    doc = cli("step", STATEMENTS, *LECTURE_VALUES, "--json").json()  # --lr defaults to 0.01
    assert doc["schema"] == "scalargrad.step/2"
    assert doc["output"] == "L" and doc["direction"] == "ascend" and doc["lr"] == 0.01
    assert doc["before"] == {"output": -8.0, "values": {"a": 2.0, "b": -3.0, "c": 10.0, "f": -2.0}}
    assert doc["after"]["output"] == expected_L
    assert doc["after"]["output"] == pytest.approx(-7.286496, abs=1e-12)
    assert doc["values"] == expected_values == doc["after"]["values"]
    assert doc["inputs"]["a"] == {"before": 2.0, "grad": 6.0, "after": expected_values["a"], "frozen": False}
    assert doc["history"] == [-8.0, expected_L]
    assert doc["change"]["predicted"] == pytest.approx(0.72)
    assert doc["change"]["actual"] == pytest.approx(0.713504)
    assert doc["warnings"] == [] and doc["disagreements"] == []


def test_library_run_steps_is_the_lecture_nudge():
    expected_L, expected_values = lecture_nudge()
    report = run_steps(parse(LECTURE), LECTURE_INPUTS, lr=0.01)
    assert report.before == -8.0 and report.after == expected_L
    assert report.final == expected_values
    assert report.grads == {"a": 6.0, "b": -4.0, "c": -2.0, "f": 4.0}
    assert report.predicted == [pytest.approx(0.72)]
    assert doctest.testmod(scalargrad.step).failed == 0


# -- descending a convex loss --------------------------------------------------------------
def test_descend_converges_to_the_minimum(cli):
    doc = cli("step", PARABOLA, *PARABOLA_VALUES, "--descend", "--freeze", "x,y", "--steps", "300", "--json").json()
    assert doc["direction"] == "descend"
    assert doc["values"]["w"] == pytest.approx(3.0, abs=1e-9)
    assert doc["values"]["x"] == 2.0 and doc["values"]["y"] == 6.0
    history = doc["history"]
    assert len(history) == 301 and history[0] == 36.0
    assert all(later < earlier for earlier, later in zip(history, history[1:]))
    for k in (1, 10, 100):
        assert history[k] == pytest.approx(36 * 0.8464**k, rel=1e-9)


def test_descend_table_every_k_steps(cli):
    result = cli("step", PARABOLA, *PARABOLA_VALUES, "--descend", "--freeze", "x,y", "--steps", "10",
                 "--every", "5", "--precision", "6")
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "L every 5 steps"
    steps = [line.split() for line in lines[2:5]]
    assert [row[0] for row in steps] == ["0", "5", "10"]
    assert float(steps[1][1]) == pytest.approx(36 * 0.8464**5, rel=1e-5)
    assert float(steps[2][1]) == pytest.approx(36 * 0.8464**10, rel=1e-5)
    spark = next(line for line in lines if line.startswith("L over 10 steps: "))
    bars = spark.split()[4]
    assert len(bars) == 11 and bars[0] == BARS[-1] and bars[-1] == BARS[0]  # 36 at the top, falling
    rows = table_rows(result.stdout)
    assert rows["w"][1] == "0" and float(rows["w"][3]) == pytest.approx(3 - 3 * 0.92**10, rel=1e-5)
    assert rows["x"][-1] == "frozen" and rows["x"][3] == "2"


def test_program_defaults_move_and_literals_do_not(cli):
    doc = cli("step", "w = 0.5; L = (w*2 - 6)**2", "--descend", "--json").json()
    assert set(doc["values"]) == {"w"}  # the literals 2, 6 and the exponent are not inputs
    # dL/dw = 2*(2w - 6)*2 = -20 at w = 0.5, so w -> 0.5 + 0.2
    assert doc["inputs"]["w"]["grad"] == -20.0 and doc["values"]["w"] == pytest.approx(0.7)
    frozen = cli("step", "w = 0.5; L = (w*2 - 6)**2", "--descend", "--freeze", "w", "--json").json()
    assert frozen["values"] == {"w": 0.5} and frozen["history"] == [25.0, 25.0]
    assert frozen["warnings"] == ["every input is frozen: nothing moves"]


# -- freeze --------------------------------------------------------------------------------
def test_freeze_keeps_inputs_fixed(cli):
    for freeze in (["--freeze", "a,b"], ["--freeze", "a", "--freeze", "b"]):
        doc = cli("step", LECTURE, *LECTURE_VALUES, *freeze, "--json").json()
        assert doc["frozen"] == ["a", "b"]
        assert doc["values"] == {"a": 2.0, "b": -3.0, "c": pytest.approx(9.98), "f": pytest.approx(-1.96)}
        assert doc["after"]["output"] == pytest.approx((2 * -3 + 9.98) * -1.96)  # -7.8008
        assert doc["change"]["predicted"] == pytest.approx(0.01 * (2**2 + 4**2))
        assert doc["inputs"]["a"]["frozen"] and doc["inputs"]["a"]["grad"] == 6.0


def test_freeze_unknown_or_computed_name_is_a_clear_error(cli):
    unknown = cli("step", LECTURE, *LECTURE_VALUES, "--freeze", "aa")
    assert unknown.exit_code == 2 and unknown.stdout == ""
    assert "cannot freeze `aa`: the program has no input of that name; did you mean `a`?" in unknown.stderr
    assert "hint: inputs: a, b, c, f" in unknown.stderr
    computed = cli("step", STATEMENTS, *LECTURE_VALUES, "--freeze", "e")
    assert computed.exit_code == 2
    assert "cannot freeze `e`: it is computed by the program, not an input" in computed.stderr
    with pytest.raises(UsageError):
        run_steps(LECTURE, LECTURE_INPUTS, freeze=["q"])


# -- save and continue ---------------------------------------------------------------------
def test_save_then_continue_with_bindings(cli, tmp_path):
    saved = tmp_path / "values.json"
    first = cli("step", LECTURE, *LECTURE_VALUES, "--save", str(saved))
    assert first.exit_code == 0, first.stderr
    assert json.loads(saved.read_text()) == lecture_nudge()[1]
    second = cli("step", LECTURE, "--bindings", str(saved), "--save", str(saved), "--json")
    assert second.exit_code == 0, second.stderr
    two_at_once = cli("step", LECTURE, *LECTURE_VALUES, "--steps", "2", "--json").json()
    assert second.json()["before"]["output"] == lecture_nudge()[0]
    assert second.json()["after"]["output"] == two_at_once["after"]["output"]
    assert json.loads(saved.read_text()) == two_at_once["values"]
    assert [p.name for p in tmp_path.iterdir()] == ["values.json"]  # no temporary file left


def test_failed_run_leaves_the_saved_file_untouched(cli, tmp_path):
    saved = tmp_path / "values.json"
    saved.write_text('{"x": 0.05}\n')
    result = cli("step", "L = log(x)", "--bindings", str(saved), "--descend", "--save", str(saved))
    assert result.exit_code == 2
    assert saved.read_text() == '{"x": 0.05}\n'
    missing_folder = cli("step", LECTURE, *LECTURE_VALUES, "--save", str(tmp_path / "nope" / "v.json"))
    assert missing_folder.exit_code == 2 and "folder of --save" in missing_folder.stderr


# -- too large a learning rate -------------------------------------------------------------
def test_large_lr_warns_that_the_prediction_failed(cli):
    # w = 0: dL/dw = 2*(0 - 6)*2 = -24, w -> 0.3*24 = 7.2, L -> (14.4 - 6)**2 = 70.56 (was 36);
    # the first-order prediction was -24 * 7.2 = -172.8.
    result = cli("step", PARABOLA, *PARABOLA_VALUES, "--descend", "--freeze", "x,y", "--lr", "0.3")
    assert result.exit_code == 0
    assert table_rows(result.stdout)["after"][1] == "70.56"
    assert ("warning: step 1 changed L by 34.56 where the first-order prediction (sum of grad * change in x) "
            "was -172.8: the learning rate is too large") in result.stderr
    assert "try --lr 0.03" in result.stderr


def test_divergence_stops_naming_the_step(cli):
    # L grows by (1 - 2*0.3*2**2)**2 = 1.96 a step from 36: it passes 1.8e308 near step 1050.
    result = cli("step", PARABOLA, *PARABOLA_VALUES, "--descend", "--freeze", "x,y", "--lr", "0.3", "--steps", "5000")
    assert result.exit_code == 2 and result.stdout == ""
    step = int(re.search(r"step (\d+) of 5000: the result is too large \(overflow\) in `\(w\*x - y\)\*\*2`",
                         result.stderr).group(1))
    first_too_large = math.floor(math.log(sys.float_info.max / 36) / math.log(1.96)) + 1
    assert abs(step - first_too_large) <= 1  # float rounding may shift it by one
    assert "1 | L = (w*x - y)**2" in result.stderr
    assert "hint: the steps are diverging: a smaller learning rate such as --lr 0.03 may help" in result.stderr
    assert "Traceback" not in result.stderr


def test_leaving_a_domain_or_infinity_names_the_step(cli):
    # x = 0.05, dL/dx = 1/x = 20, descending by 0.01 * 20 = 0.2 gives log(-0.15)
    result = cli("step", "L = log(x)", "--x", "0.05", "--descend", "--steps", "5")
    assert result.exit_code == 2
    assert "error: line 1, column 5: step 1 of 5: log of a non-positive number (-0.15) in `log(x)`" in result.stderr
    # dL/da = 1e300, lr 1e10: a would become 1e310, which is not a float
    infinite = cli("step", "L = 1e300 * a", "--a", "0", "--lr", "1e10")
    assert infinite.exit_code == 2
    assert "step 1: input `a` is no longer a finite number" in infinite.stderr
    with pytest.raises(DomainError) as caught:
        run_steps("L = exp(a)", {"a": 1}, lr=1000, steps=3)  # a -> 1 + 1000*e, exp overflows
    assert caught.value.step == 1 and "exp(2719.28) is too large" in caught.value.message


def test_bad_learning_rate_and_steps(cli):
    negative = cli("step", LECTURE, *LECTURE_VALUES, "--lr", "-0.1")
    assert negative.exit_code == 2
    assert "the learning rate must be a positive number, not -0.1" in negative.stderr
    assert "--descend moves against the gradient" in negative.stderr
    assert cli("step", LECTURE, *LECTURE_VALUES, "--steps", "0").exit_code == 2


# -- charts --------------------------------------------------------------------------------
def test_plot_writes_a_valid_svg_and_png(cli, tmp_path):
    pytest.importorskip("matplotlib")
    svg = tmp_path / "curve.svg"
    result = cli("step", PARABOLA, *PARABOLA_VALUES, "--descend", "--freeze", "x,y", "--steps", "50",
                 "--plot", str(svg))
    assert result.exit_code == 0, result.stderr
    root = ElementTree.parse(svg).getroot()
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    png = tmp_path / "curve.png"
    assert cli("step", PARABOLA, *PARABOLA_VALUES, "--descend", "--steps", "5", "--plot", str(png)).exit_code == 0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["curve.png", "curve.svg"]


def test_plot_without_matplotlib_says_what_to_install(cli, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # `import matplotlib` now fails
    result = cli("step", LECTURE, *LECTURE_VALUES, "--plot", str(tmp_path / "curve.svg"))
    assert result.exit_code == 2 and result.stdout == ""
    assert "error: --plot needs matplotlib, which is not installed" in result.stderr
    assert "pip install 'scalargrad[plot]'" in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_plot_needs_svg_or_png(cli, tmp_path):
    result = cli("step", LECTURE, *LECTURE_VALUES, "--plot", str(tmp_path / "curve.pdf"))
    assert result.exit_code == 2
    assert "--plot writes .svg or .png files, not `curve.pdf`" in result.stderr


def test_sparkline():
    assert sparkline(list(range(8))) == BARS
    assert sparkline([5.0, 5.0, 5.0]) == BARS[4] * 3
    long = sparkline([float(k) for k in range(1001)], width=40)
    assert len(long) == 40 and long[0] == BARS[0] and long[-1] == BARS[-1]


# -- long runs -----------------------------------------------------------------------------
def test_many_steps_reuse_the_parsed_program_and_report_progress():
    program = parse(PARABOLA)
    nodes = list(program.nodes)
    seen = []
    report = run_steps(program, {"w": 0, "x": 2, "y": 6}, descend=True, freeze=["x", "y"], steps=1000,
                       progress=seen.append)
    assert seen == list(range(1, 1001))
    assert program.nodes == nodes and program.names["w"].data == report.final["w"]
    assert report.final["w"] == pytest.approx(3.0, abs=1e-12)


def test_no_progress_bar_when_stderr_is_not_a_terminal(cli):
    result = cli("step", PARABOLA, *PARABOLA_VALUES, "--descend", "--freeze", "x,y", "--steps", "1000")
    assert result.exit_code == 0 and result.stderr == ""
    assert "\x1b[" not in result.stdout


def test_help_lists_the_options(cli):
    result = cli("step", "--help")
    assert result.exit_code == 0
    for option in ("--lr", "--steps", "--descend", "--freeze", "--every", "--plot", "--save", "--json"):
        assert option in result.stdout


def test_installed_command_steps_the_lecture(installed, tmp_path):
    result = installed("step", LECTURE, *LECTURE_VALUES, "--save", "values.json", cwd=tmp_path)
    assert result.exit_code == 0, result.stderr
    rows = table_rows(result.stdout)
    assert rows["after"][1] == "-7.286496" and rows["a"][3] == "2.06"
    assert json.loads((tmp_path / "values.json").read_text()) == lecture_nudge()[1]


def test_freeze_with_an_empty_name_is_an_error(cli):
    result = cli("step", LECTURE, *LECTURE_VALUES, "--freeze", "a,,b")
    assert result.exit_code == 2 and "--freeze `a,,b` has an empty name" in result.stderr


def test_a_hair_the_wrong_way_at_a_kink_is_not_a_learning_rate_too_large():
    from scalargrad.step import _disagrees

    # moons at --lr 0.05, step 178: L 0.0613 rose by 2.5e-6 where it was to fall by 0.0025
    assert not _disagrees(0.0613, 0.0613 + 2.5e-6, -0.0025)
    assert not _disagrees(1.0, 1.0, -0.5)  # stalled at a kink
    assert _disagrees(1.0, 1.0 + 0.06, -0.5)  # the wrong way by more than a tenth of the prediction
    # micrograd's schedule, step 1: L 0.8958 -> 1.7236, a tenth of the huge prediction, yet nearly double
    assert _disagrees(0.8958441028683222, 0.8958441028683222 + 0.827746, -8.57356)
    assert _disagrees(1.0, 1.0 - 1.1, -0.5) and not _disagrees(1.0, 1.0 - 0.9, -0.5)  # past twice as far
