"""What a user can trust whatever the input: gradients that exist are shown even where another
is undefined, output failures are words, interrupted work is kept, text from the input never
reaches the terminal raw."""

import pytest

from conftest import LECTURE, LECTURE_VALUES


# -- a gradient that does not exist does not hide those that do ----------------------------------
def test_an_undefined_gradient_is_marked_and_the_others_shown(cli):
    result = cli("grad", "z = x**y", "--x", "-2", "--y", "3", "--no-session")
    assert result.exit_code == 0
    rows = {line.split()[1]: line.split() for line in result.stdout.splitlines()[2:5]}
    assert rows["x"][3] == "12" and rows["y"][3] == "undefined" and rows["z"][4] == "1"
    assert "warning: line 1, column 5: the gradient is undefined here" in result.stderr
    assert "keep the base above 0" in result.stderr  # the row's own hint


def test_an_undefined_gradient_is_null_with_a_reason_in_json(cli):
    doc = cli("grad", "z = x**y", "--x", "-2", "--y", "3", "--no-session", "--json").json()
    assert doc["grads"] == {"x": 12.0, "y": None, "z": 1.0}
    assert doc["inputs"]["y"]["grad"] is None
    assert doc["undefined"]["ids"] == [1] and "x**y * log(x) is undefined" in doc["undefined"]["reason"]
    assert [node["grad"] for node in doc["nodes"]] == [12.0, None, 1.0]


def test_everything_defined_has_no_undefined_section(cli):
    assert cli("grad", LECTURE, *LECTURE_VALUES, "--no-session", "--json").json()["undefined"] is None


def test_an_infinite_gradient_is_still_an_error(cli):
    result = cli("grad", "L = sqrt(x)", "--x", "0", "--no-session")
    assert result.exit_code == 2 and "the gradient is infinite here" in result.stderr
