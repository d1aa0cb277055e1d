"""Data from a CSV file (`--bindings data.csv`): each column a vector of constants named by
its header, read by a program that never assigns that name; never moved by step."""

import math

from conftest import run_cli

FIT = "w = uniform(-1, 1, [2]); b = 0\nypred = tanh(w[0] * x1 + w[1] * x2 + b)\nL = mean((ypred - y) ** 2)"
CSV = "x1,x2,y\n2,3,1\n3,-1,-1\n0.5,1,-1\n1,1,1\n"


def test_csv_columns_are_data_the_program_reads(tmp_path):
    (tmp_path / "moons.csv").write_text(CSV)
    result = run_cli("grad", FIT, "--bindings", str(tmp_path / "moons.csv"), "--json", "--no-session")
    assert result.exit_code == 0, result.stderr
    document = result.json()
    assert list(document["inputs"]) == ["w[0]", "w[1]", "b"]  # the data is not an input
    assert document["grads"]["x1[2]"] is None and document["grads"]["y[3]"] is None
    w0, w1 = (document["inputs"][name]["value"] for name in ("w[0]", "w[1]"))
    rows = [(2, 3, 1), (3, -1, -1), (0.5, 1, -1), (1, 1, 1)]
    expected = sum((math.tanh(w0 * a + w1 * c) - y) ** 2 for a, c, y in rows) / 4
    assert abs(document["output"]["value"] - expected) <= 1e-12


def test_step_moves_parameters_never_data(tmp_path):
    (tmp_path / "moons.csv").write_text(CSV)
    result = run_cli("step", FIT, "--bindings", str(tmp_path / "moons.csv"), "--steps", "5", "--lr", "0.1",
                     "--descend", "--json", "--no-session")
    assert result.exit_code == 0, result.stderr
    document = result.json()
    assert set(document["after"]["values"]) == {"w[0]", "w[1]", "b"}
    assert document["after"]["output"] < document["before"]["output"]


def test_a_bad_cell_names_its_row_and_column(tmp_path):
    (tmp_path / "bad.csv").write_text("x1,x2,y\n2,3,1\n3,oops,-1\n")
    result = run_cli("grad", FIT, "--bindings", str(tmp_path / "bad.csv"), "--no-session")
    assert result.exit_code == 2
    assert "row 2 (line 3), column `x2`: `oops` is not a number" in result.stderr
    (tmp_path / "gap.csv").write_text("x1,x2,y\n2,3,1\n3,,-1\n")
    result = run_cli("grad", FIT, "--bindings", str(tmp_path / "gap.csv"), "--no-session")
    assert "row 2 (line 3), column `x2` is empty" in result.stderr and "hint:" in result.stderr


def test_a_column_the_program_does_not_read_is_a_warning(tmp_path):
    (tmp_path / "more.csv").write_text("x1,x2,y,z\n2,3,1,9\n")
    result = run_cli("grad", FIT, "--bindings", str(tmp_path / "more.csv"), "--no-session")
    assert result.exit_code == 0, result.stderr
    assert "warning: the column `z` of" in result.stderr and "is not read by the program; it is ignored" in result.stderr


def test_a_name_the_data_file_lacks_is_missing_with_the_files_columns(cli, tmp_path):
    data = tmp_path / "points.csv"
    data.write_text("x1,x2\n1,2\n3,4\n")
    result = cli("grad", "L = mean((x1 + x2 - y) ** 2)", "--bindings", str(data), "--no-session")
    assert result.exit_code == 2 and "error: missing value for `y`" in result.stderr
    assert f"hint: the data file {data} has the columns x1, x2: add the missing one to it" in result.stderr
