"""`check --expect`: a derivative worked out by hand, checked against backprop around the point."""

import pytest

from scalargrad import parse
from scalargrad.errors import NameUsageError, ParseError, UsageError
from scalargrad.expect import FAIL, PASS, UNCHECKED, verify

SOFTPLUS = "L = log(1 + exp(x))"


def test_the_right_softplus_slope_passes_and_the_sigmoid_slope_fails():
    right, wrong = verify(parse(SOFTPLUS), {"x": 2.0}, ["x: sigmoid(x)", "x: exp(x)/(1+exp(x))**2"])
    assert (right.status, right.compared, right.skipped) == (PASS, 11, 0)
    assert wrong.status == FAIL and wrong.at == {"x": 2.0}
    assert wrong.expected == pytest.approx(0.10499358540350652) and wrong.backprop == pytest.approx(0.8807970779778823)


def test_a_formula_right_only_at_the_point_fails_elsewhere():
    # d/dx x**2 is 2x; `4` agrees at x = 2 only
    (only_here,) = verify(parse("L = x**2"), {"x": 2.0}, ["x: 4"])
    assert only_here.status == FAIL and only_here.at != {"x": 2.0}


def test_formulas_may_read_intermediate_names_and_differentiate_by_them():
    program = parse("e = a*b; d = e + c; L = d * f")
    values = {"a": 2, "b": -3, "c": 10, "f": -2}
    results = verify(program, values, ["d: f", "a: b*f", "f: d", "e: f"])
    assert [r.status for r in results] == [PASS] * 4
    assert program.names["a"].grad == 6.0  # left evaluated at the point


def test_points_outside_a_domain_are_skipped_and_counted():
    (result,) = verify(parse("L = sqrt(x)"), {"x": 0.1}, ["x: 1/(2*sqrt(x))"], count=40)
    assert result.status == PASS and result.skipped > 0 and result.compared + result.skipped == 41


def test_a_formula_never_compared_is_unchecked():
    (result,) = verify(parse("L = x"), {"x": 0.5}, ["x: log(x - 10)"], count=3)
    assert result.status == UNCHECKED and result.compared == 0


@pytest.mark.parametrize("text, error, column, words", [
    ("x: sigmoid(z)", NameUsageError, 12, "the formula reads `z`, which is not a node"),
    ("q: sigmoid(x)", NameUsageError, 1, "`q` is not a node of the program"),
    ("x: sigmoid(x", ParseError, 13, "expected `)`"),
])
def test_unknown_names_and_bad_formulas_are_located_in_the_expectation(text, error, column, words):
    with pytest.raises(error) as raised:
        verify(parse(SOFTPLUS), {"x": 2.0}, [text])
    assert words in raised.value.message and raised.value.places[0].column == column
    assert raised.value.source == text


def test_an_expectation_without_a_colon_is_a_usage_error():
    with pytest.raises(UsageError, match="NAME: FORMULA"):
        verify(parse(SOFTPLUS), {"x": 2.0}, ["sigmoid(x)"])


def test_the_cli_exit_status_and_json(cli):
    base = ["check", SOFTPLUS, "--x", "2", "--no-session"]
    assert cli(*base, "--expect", "x: sigmoid(x)").exit_code == 0
    failed = cli(*base, "--expect", "x: exp(x)/(1+exp(x))**2", "--json")
    assert failed.exit_code == 1
    doc = failed.json()
    assert doc["ok"] is False and doc["summary"]["failed"] == 0
    (entry,) = doc["expect"]
    assert entry["status"] == FAIL and entry["failure"]["at"] == {"x": 2.0} and entry["points"] == 11
    bad = cli(*base, "--expect", "x: sigmoid(y)")
    assert bad.exit_code == 2 and "^" in bad.stderr and "`y`" in bad.stderr
