"""Data from a CSV file (`--bindings data.csv`): each column a vector of constants named by
its header, read by a program that never assigns that name; never moved by step."""

import math
import os
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

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
    assert set(document["after"]["values"]) == {"w", "b"} and len(document["after"]["values"]["w"]) == 2
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


# -- the session remembers the data file ----------------------------------------------------------
def test_later_commands_read_the_sessions_data_file_again(installed, tmp_path):
    """Trained on a CSV file, the session's program runs again in later commands without
    `--bindings FILE.csv`: the session keeps the file's path and a digest of its text."""
    import hashlib
    import json

    (tmp_path / "fit.sg").write_text(FIT)
    (tmp_path / "points.csv").write_text(CSV)
    trained = installed("step", "--file", "fit.sg", "--bindings", "points.csv", "--steps", "5", "--lr", "0.1",
                        "--descend", "--json", cwd=tmp_path)
    assert trained.exit_code == 0, trained.stderr
    saved = json.loads(Path(os.environ["SCALARGRAD_SESSION"]).read_text())
    assert saved["data"] == {"file": str((tmp_path / "points.csv").resolve()),
                             "sha256": hashlib.sha256(CSV.encode()).hexdigest(), "columns": ["x1", "x2", "y"],
                             "relative": os.path.relpath(tmp_path / "points.csv",
                                                         Path(os.environ["SCALARGRAD_SESSION"]).parent)}
    again = installed("grad", "--json", cwd=tmp_path)
    assert again.exit_code == 0, again.stderr
    assert again.json()["output"]["value"] == trained.json()["after"]["output"]
    assert "data from points.csv" in again.stderr and "warning" not in again.stderr
    checked = installed("check", cwd=tmp_path)
    assert checked.exit_code == 0, checked.stderr
    assert "ok:" in checked.stdout
    shown = installed("session", cwd=tmp_path).stdout.splitlines()
    assert "data: points.csv (columns x1, x2, y)" in shown
    assert f"output: L = {trained.json()['after']['output']:.10g}" in shown  # evaluated on the data
    document = installed("session", "--json", cwd=tmp_path).json()
    assert document["data"] == saved["data"] and document["check"]["current"] is True
    assert document["check"]["data"] == saved["data"]["sha256"]


@pytest.mark.slow
def test_a_changed_data_file_is_read_as_it_is_now_with_a_warning(installed, tmp_path):
    """In the folder's own session (.scalargrad/session.json), as a person works."""
    env = {name: value for name, value in os.environ.items() if name != "SCALARGRAD_SESSION"}

    def installed(*args, cwd, run=installed):
        return run(*args, cwd=cwd, env=env)

    (tmp_path / "points.csv").write_text(CSV)
    first = installed("grad", FIT, "--bindings", "points.csv", "--json", cwd=tmp_path)
    assert first.exit_code == 0, first.stderr
    (tmp_path / "points.csv").write_text(CSV.replace("2,3,1", "2,3,-1"))
    again = installed("grad", "--json", cwd=tmp_path)
    assert again.exit_code == 0, again.stderr
    assert "warning: the data file points.csv has changed since the session last read it; this run reads it " \
           "as it is now (scalargrad session --data points.csv accepts it, and this warning stops)" in again.stderr
    assert again.json()["output"]["value"] != first.json()["output"]["value"]
    accepted = installed("session", "--data", "points.csv", cwd=tmp_path)
    assert accepted.exit_code == 0 and accepted.stderr == \
        "note: the data file of session .scalargrad/session.json is now points.csv (columns x1, x2, y)\n"
    quiet = installed("grad", "--json", cwd=tmp_path)
    assert "warning" not in quiet.stderr and quiet.json()["output"]["value"] == again.json()["output"]["value"]
    (tmp_path / "points.csv").rename(tmp_path / "moved.csv")
    gone = installed("check", cwd=tmp_path)
    assert gone.exit_code == 2 and gone.stdout == ""
    assert gone.stderr.splitlines() == [
        "error: data file points.csv does not exist",
        "hint: the session's program reads its data columns from it: if it moved, scalargrad session --data FILE.csv "
        "points the session at it; or give it for one command: --bindings FILE.csv"]
    assert installed("session", "--data", "moved.csv", cwd=tmp_path).exit_code == 0
    assert installed("check", cwd=tmp_path).exit_code == 0
    (tmp_path / "moved.csv").rename(tmp_path / "far.csv")
    elsewhere = installed("grad", "--session", str(tmp_path / ".scalargrad" / "session.json"), cwd=tmp_path.parent)
    assert elsewhere.exit_code == 2 and elsewhere.stderr.splitlines()[-1] == (
        "hint: the session's program reads its data columns from it: if it moved, scalargrad session --session "
        f"{tmp_path / '.scalargrad' / 'session.json'} --data FILE.csv points the session at it; or give it for one "
        "command: --bindings FILE.csv")


def test_session_data_refuses_a_file_without_the_programs_columns(installed, tmp_path):
    (tmp_path / "points.csv").write_text(CSV)
    (tmp_path / "other.csv").write_text("x1,y\n1,2\n")
    none = installed("session", "--data", "points.csv", cwd=tmp_path)
    assert none.exit_code == 2 and none.stderr.startswith("error: no session in ")
    assert installed("grad", FIT, "--bindings", "points.csv", cwd=tmp_path).exit_code == 0
    result = installed("session", "--data", "other.csv", cwd=tmp_path)
    assert result.exit_code == 2 and result.stderr.splitlines() == [
        "error: the data file other.csv has no column `x2`",
        "hint: the session's program reads the columns x1, x2, y as data: give a CSV file with those columns"]
    both = installed("session", "--data", "points.csv", "--reset", cwd=tmp_path)
    assert both.exit_code == 2 and both.stderr.splitlines()[0] == "error: --data and --reset contradict each other"


def test_a_program_that_reads_no_column_keeps_no_data_file(installed, tmp_path):
    import json

    (tmp_path / "points.csv").write_text(CSV)
    result = installed("grad", "L = 2 * a", "--a", "3", "--bindings", "points.csv", cwd=tmp_path)
    assert result.exit_code == 0, result.stderr
    assert "the column `x1` of points.csv is not read by the program" in result.stderr
    assert "data" not in json.loads(Path(os.environ["SCALARGRAD_SESSION"]).read_text())


def test_values_given_for_the_columns_replace_the_sessions_data(installed, tmp_path):
    """As the tutorial draws the moons' boundary: after training on the file, `--x1 ... --x2 ...`
    make the columns numbers again for this run, and the file is not read (nor needed)."""
    (tmp_path / "points.csv").write_text(CSV)
    trained = installed("step", FIT, "--bindings", "points.csv", "--steps", "3", "--lr", "0.1", "--descend", "--json",
                        cwd=tmp_path)
    assert trained.exit_code == 0, trained.stderr
    (tmp_path / "points.csv").unlink()
    one = installed("grad", "--x1", "2", "--set", "x2=3", "--y", "1", "--json", cwd=tmp_path)
    assert one.exit_code == 0, one.stderr
    weights = trained.json()["after"]["values"]
    expected = (math.tanh(weights["w"][0] * 2 + weights["w"][1] * 3 + weights["b"]) - 1) ** 2
    assert abs(one.json()["output"]["value"] - expected) <= 1e-15
    assert "data from" not in one.stderr


def test_a_column_named_a_little_differently_is_hinted_not_blamed_on_the_session(installed, tmp_path):
    (tmp_path / "points.csv").write_text(CSV)
    (tmp_path / "typo.csv").write_text(CSV.replace("x1,x2,y", "x1,X2,y"))
    assert installed("grad", FIT, "--bindings", "points.csv", cwd=tmp_path).exit_code == 0
    for args in (("grad", "--bindings", "typo.csv"), ("grad", FIT, "--bindings", "typo.csv", "--no-session")):
        result = installed(*args, cwd=tmp_path)
        assert result.exit_code == 2 and "Traceback" not in result.stderr
        assert result.stderr.splitlines()[-1] == ("hint: the data file typo.csv has a column `X2` that the program does "
                                                  "not read: is it `x2`? (a column stands for the name in its header, "
                                                  "exactly)")
        assert "session --reset" not in result.stderr and "does not parse" not in result.stderr


def test_values_for_some_columns_only_say_that_they_replace_the_data_file(installed, tmp_path):
    (tmp_path / "points.csv").write_text(CSV)
    assert installed("grad", FIT, "--bindings", "points.csv", cwd=tmp_path).exit_code == 0
    result = installed("grad", "--x1", "1", "--x2", "0.5", cwd=tmp_path)
    assert result.exit_code == 2 and result.stderr.splitlines() == [
        "error: missing value for `y`",
        "hint: values given for x1, x2 replace the data file points.csv for this run: give all of x1, x2, y as "
        "values, or none of them to read the file"]


def test_the_session_note_says_where_this_runs_data_and_values_come_from(installed, tmp_path):
    (tmp_path / "points.csv").write_text(CSV)
    (tmp_path / "half.csv").write_text("x1,x2,y\n2,3,1\n")
    (tmp_path / "w.json").write_text('{"w[0]": 0.5}')
    assert installed("grad", FIT, "--bindings", "points.csv", cwd=tmp_path).exit_code == 0
    other = installed("grad", "--bindings", "half.csv", cwd=tmp_path)
    assert other.stderr.splitlines()[0].endswith("0 runs of step; for this run data from half.csv)")
    values = installed("grad", "--bindings", "w.json", "--b", "1", cwd=tmp_path)
    assert values.stderr.splitlines()[0].endswith(
        "0 runs of step; data from points.csv; for this run b from the command line, w[0] from w.json)")


def test_a_data_file_given_as_the_program_or_a_program_as_bindings_is_hinted(cli, tmp_path):
    (tmp_path / "points.csv").write_text(CSV)
    (tmp_path / "fit.sg").write_text(FIT)
    swapped = cli("grad", "--file", str(tmp_path / "points.csv"), "--no-session")
    assert swapped.exit_code == 2 and swapped.stderr.splitlines()[-1] == (
        f"hint: {tmp_path / 'points.csv'} looks like a data file: give it with --bindings {tmp_path / 'points.csv'}, "
        "and the program with --file PROGRAM")
    program = cli("grad", "--file", str(tmp_path / "fit.sg"), "--bindings", str(tmp_path / "fit.sg"), "--no-session")
    assert program.exit_code == 2 and program.stderr.splitlines()[-1] == (
        'hint: a bindings file is a JSON object such as {"a": 2, "b": -3}, or data columns in a file whose name ends '
        "in .csv; a program is given with --file")


def test_a_step_on_another_or_an_edited_data_file_makes_it_the_sessions(installed, tmp_path):
    """The session's values now come from that data: the session follows it, and says so."""
    import json

    (tmp_path / "points.csv").write_text(CSV)
    (tmp_path / "more.csv").write_text(CSV + "2,2,1\n")
    assert installed("grad", FIT, "--bindings", "points.csv", cwd=tmp_path).exit_code == 0
    stepped = installed("step", "--bindings", "more.csv", "--lr", "0.1", "--descend", cwd=tmp_path)
    assert stepped.exit_code == 0, stepped.stderr
    assert "note: the session's data file is now more.csv: the steps trained on it" in stepped.stderr.splitlines()
    saved = json.loads(Path(os.environ["SCALARGRAD_SESSION"]).read_text())["data"]
    assert saved["file"] == str((tmp_path / "more.csv").resolve())
    (tmp_path / "more.csv").write_text(CSV + "2,2,-1\n")  # edited: the next step reads it, and accepts it
    edited = installed("step", "--lr", "0.1", "--descend", cwd=tmp_path)
    assert "has changed since" in edited.stderr and "the session's data file is now more.csv" in edited.stderr
    quiet = installed("grad", cwd=tmp_path)
    assert quiet.exit_code == 0 and "warning" not in quiet.stderr and "note: the session's" not in quiet.stderr


LINE = "L = mean((w * x - y) ** 2)"  # w a parameter (an input), x and y data


def test_session_data_refuses_what_is_not_a_csv_and_a_column_that_is_an_input(installed, tmp_path):
    (tmp_path / "d.csv").write_text("x,y\n1,2\n2,3\n")
    (tmp_path / "w.csv").write_text("x,y,w\n1,2,9\n")
    (tmp_path / "v.json").write_text('{"w": 1}')
    assert installed("grad", LINE, "--w", "0.5", "--bindings", "d.csv", cwd=tmp_path).exit_code == 0
    for given in ("-", "v.json"):
        result = installed("session", "--data", given, cwd=tmp_path)
        assert result.exit_code == 2 and result.stderr.splitlines()[0] == \
            f"error: --data takes a CSV file of data columns, not `{given}`"
    taken = installed("session", "--data", "w.csv", cwd=tmp_path)
    assert taken.exit_code == 2 and taken.stderr.splitlines()[0] == \
        "error: the data file w.csv has a column `w`, an input of the session's program, not data"
    (tmp_path / "d.csv").write_text("x,y,w\n1,2,9\n2,3,9\n")  # edited: a column named like the parameter
    again = installed("grad", "--json", cwd=tmp_path)
    assert again.exit_code == 0 and "has changed" in again.stderr
    assert again.json()["inputs"]["w"]["value"] == 0.5  # w stays the parameter: the session reads x and y only


def test_a_step_with_values_for_the_columns_is_refused_and_json_values_replace_them_too(installed, tmp_path):
    import json

    (tmp_path / "d.csv").write_text("x,y\n1,2\n2,3\n")
    (tmp_path / "one.json").write_text('{"x": 2, "y": 1}')
    assert installed("grad", LINE, "--w", "0.5", "--bindings", "d.csv", cwd=tmp_path).exit_code == 0
    step = installed("step", "--x", "3", "--y", "1", cwd=tmp_path)
    assert step.exit_code == 2 and step.stderr.splitlines() == [
        "error: values given for x, y replace the session's data file, and step would move them and save them as "
        "parameters",
        "hint: train on data with --bindings FILE.csv; to try values for one run, use grad or check"]
    assert json.loads(Path(os.environ["SCALARGRAD_SESSION"]).read_text())["values"] == {"w": 0.5}
    one = installed("grad", "--bindings", "one.json", "--json", cwd=tmp_path)
    assert one.exit_code == 0 and "warning" not in one.stderr
    assert one.json()["output"]["value"] == (0.5 * 2 - 1) ** 2


def test_a_program_given_again_without_its_data_file_is_told_which_file_it_was(installed, tmp_path):
    (tmp_path / "my data.csv").write_text("x,y\n1,2\n2,3\n")
    assert installed("grad", LINE, "--w", "0.5", "--bindings", "my data.csv", cwd=tmp_path).exit_code == 0
    edited = installed("grad", LINE + " + 0 * w", "--w", "0.5", cwd=tmp_path)
    assert edited.exit_code == 2 and edited.stderr.splitlines()[-1] == (
        "hint: the session's program read x, y from the data file my data.csv: give it with this program too: "
        "--bindings 'my data.csv'")


def test_session_data_with_json_prints_the_session_and_an_assigned_column_is_not_its_own_near_miss(installed,
                                                                                                   tmp_path):
    (tmp_path / "d.csv").write_text("x,y\n1,2\n2,3\n")
    first = installed("grad", "y = 2; " + LINE, "--w", "0.5", "--bindings", "d.csv", cwd=tmp_path)
    assert "warning: the column `y` of d.csv is assigned by the program; it is ignored\n" in first.stderr
    shown = installed("session", "--data", "d.csv", "--json", cwd=tmp_path)
    assert shown.exit_code == 0 and shown.json()["data"]["columns"] == ["x"]
    assert shown.stderr == f"note: the data file of session {os.environ['SCALARGRAD_SESSION']} is now d.csv (columns x)\n"


def test_a_json_file_of_values_and_a_csv_file_of_data_go_together_two_of_a_kind_do_not(cli, tmp_path):
    (tmp_path / "points.csv").write_text(CSV)
    (tmp_path / "w.json").write_text('{"w": [0.5, -0.25], "b": 0.125}')
    both = cli("grad", FIT, "--bindings", str(tmp_path / "w.json"), "--bindings", str(tmp_path / "points.csv"),
               "--json", "--no-session")
    assert both.exit_code == 0, both.stderr
    rows = [(2, 3, 1), (3, -1, -1), (0.5, 1, -1), (1, 1, 1)]
    expected = sum((math.tanh(0.5 * a - 0.25 * c + 0.125) - y) ** 2 for a, c, y in rows) / 4
    assert abs(both.json()["output"]["value"] - expected) <= 1e-15
    assert both.json()["inputs"]["b"]["from"] == "bindings"
    twice = cli("grad", FIT, "--bindings", str(tmp_path / "w.json"), "--bindings", str(tmp_path / "w.json"),
                "--no-session")
    assert twice.exit_code == 2 and twice.stderr.splitlines() == [
        f"error: --bindings names 2 JSON files of values ({tmp_path / 'w.json'}, {tmp_path / 'w.json'}); give one",
        "hint: one JSON file of values and one CSV file of data columns may go together"]


def test_command_line_values_win_over_a_given_csvs_columns_and_a_wrong_csv_is_not_blamed_on_the_session(cli, tmp_path):
    (tmp_path / "points.csv").write_text(CSV)
    (tmp_path / "typo.csv").write_text(CSV.replace("x1,x2,y", "x1,x2,yy"))
    (tmp_path / "b.csv").write_text("b\n1\n2\n")
    wins = cli("grad", FIT, "--bindings", str(tmp_path / "points.csv"), "--x1", "1", "--x2", "1", "--y", "1",
               "--json", "--no-session")
    assert wins.exit_code == 0 and "warning" not in wins.stderr, wins.stderr
    document = wins.json()
    w0, w1 = document["inputs"]["w[0]"]["value"], document["inputs"]["w[1]"]["value"]
    assert abs(document["output"]["value"] - (math.tanh(w0 + w1) - 1) ** 2) <= 1e-15
    typo = cli("grad", FIT, "--bindings", str(tmp_path / "typo.csv"), "--no-session")
    assert typo.exit_code == 2 and typo.stderr.splitlines()[-1] == (
        f"hint: the data file {tmp_path / 'typo.csv'} has a column `yy` that the program does not read: is it `y`? "
        "(a column stands for the name in its header, exactly)")
    assert cli("grad", "L = (a*b + c) * f", "--a", "2", "--b", "-3", "--c", "10", "--f", "-2").exit_code == 0
    wrong = cli("check", "--bindings", str(tmp_path / "b.csv"))
    assert wrong.exit_code == 2 and "session --reset" not in wrong.stderr and "does not parse" not in wrong.stderr
    assert wrong.stderr.splitlines()[-1] == (
        f"hint: this run's data file {tmp_path / 'b.csv'} has the columns b, which the session's program then reads "
        "as data: give the file it was written for, or leave --bindings out")


def test_a_wide_file_gets_a_few_warnings_and_a_session_of_numbers_takes_a_csv_quietly(cli, tmp_path):
    header = ["x", "y", *(f"c{i}" for i in range(300))]
    (tmp_path / "wide.csv").write_text(",".join(header) + "\n" + ",".join("1" for _ in header) + "\n")
    result = cli("grad", LINE, "--w", "1", "--bindings", str(tmp_path / "wide.csv"), "--no-session")
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning:")]
    assert result.exit_code == 0 and len(warnings) == 6
    assert warnings[-1] == f"warning: 295 more columns of {tmp_path / 'wide.csv'} are not read by the program " \
                           "(c5, c6, c7, ...); they are ignored"
    (tmp_path / "d.csv").write_text("x,y\n1,2\n2,3\n")
    assert cli("grad", LINE, "--w", "0.5", "--x", "1", "--y", "2").exit_code == 0  # x and y numbers, saved
    later = cli("grad", "--bindings", str(tmp_path / "d.csv"), "--json")
    assert later.exit_code == 0 and "warning" not in later.stderr, later.stderr
    assert later.json()["output"]["value"] == ((0.5 * 1 - 2) ** 2 + (0.5 * 2 - 3) ** 2) / 2


def test_a_project_folder_moved_with_its_session_still_finds_its_data_file(installed, tmp_path):
    env = {name: value for name, value in os.environ.items() if name != "SCALARGRAD_SESSION"}
    before, after = tmp_path / "proj A", tmp_path / "proj B"
    before.mkdir()
    (before / "my data.csv").write_text("x,y\n1,2\n2,3\n")
    first = installed("grad", LINE, "--w", "0.5", "--bindings", "my data.csv", "--json", cwd=before, env=env)
    assert first.exit_code == 0, first.stderr
    before.rename(after)
    again = installed("grad", "--json", cwd=after, env=env)
    assert again.exit_code == 0 and "warning" not in again.stderr, again.stderr
    assert "data from my data.csv)" in again.stderr
    assert again.json()["output"]["value"] == first.json()["output"]["value"]


# -- every CSV problem is a worded error with its line; the common dialects are read ----------------------
LINEAR = "L = mean((w * x - y) ** 2)"
ROWS = [(1.0, 2.0), (2.0, 4.5), (-3.0, -6.0)]


def csv_text(separator: str = ",", newline: str = "\n", rows=ROWS) -> str:
    return newline.join([separator.join(["x", "y"]), *(separator.join(f"{v:g}" for v in row) for row in rows)]) + newline


def data_of(cli, tmp_path, content: bytes | str, *args: str, program: str = LINEAR):
    path = tmp_path / "data.csv"
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    return cli("grad", program, "--w", "2", "--bindings", str(path), "--json", "--no-session", *args)


@pytest.mark.parametrize("separator", [",", ";", "\t"])
@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
@pytest.mark.parametrize("bom", [b"", b"\xef\xbb\xbf"])
def test_every_dialect_line_end_and_byte_order_mark_reads_the_same_columns(cli, tmp_path, separator, newline, bom):
    """CR-only line ends ended in `_csv.Error: new-line character seen in unquoted field`, a
    semicolon-separated file in "the column name `x;y` is not a name"."""
    result = data_of(cli, tmp_path, bom + csv_text(separator, newline).encode())
    assert result.exit_code == 0, result.stderr
    expected = sum((2 * x - y) ** 2 for x, y in ROWS) / len(ROWS)
    assert result.json()["output"]["value"] == expected
    assert result.json()["inputs"]["w"]["grad"] == sum(2 * (2 * x - y) * x for x, y in ROWS) / len(ROWS)


@pytest.mark.parametrize("content, words", [
    # a row with fewer cells was "column `y` is empty"
    ("x,y\n1,2\n3\n", "row 2 (line 3) is a short row: it has 1 cell; the header names 2 columns (x, y)"),
    ("x,y\n1,2,3\n", "row 1 (line 2) is a long row: it has 3 cells; the header names 2 columns (x, y)"),
    ("x,y\n1,2\n3,\n", "row 2 (line 3), column `y` is empty"),
    ("x,y\n1;2\n", "is a short row: it has 1 cell; the header names 2 columns (x, y); the header is "
                   "comma-separated, and this line has `;`"),
    ("x;y\n1,5;2\n", "column `x`: `1,5` is not a number; it has a decimal comma"),
    ("x,y\n1,\"2\n3,4\n", "line 2: a quoted cell is never closed"),
    ("x,y\n1,\"2\"3\n", "line 2: a quoted cell has more text after its closing `\"`"),
    ("x,y\n" + "1," + "9" * 200_000 + "\n", "line 2: a cell is longer than 131,072 characters"),
    ("x,y,\n1,2,3\n", "column 3 of the header has no name"),
    ("x,x\n1,2\n", "columns 1 and 2 of the header have the same name"),
    ("x,y z\n1,2\n", "column 2 of the header is not a name"),
    ("x,y\n", "has no rows of data"),
    ("", "is empty"),
    ("\n\r\n", "is empty"),
    (",,\n1,2\n", "has no header row"),
])
def test_a_csv_problem_is_a_worded_error_with_its_line(cli, tmp_path, content, words):
    """A cell over 128 KB ended in `_csv.Error: field larger than field limit` with a traceback."""
    result = data_of(cli, tmp_path, content)
    assert result.exit_code == 2 and words in result.stderr and "hint:" in result.stderr, result.stderr
    assert "Traceback" not in result.stderr and "_csv.Error" not in result.stderr


def test_a_file_that_is_not_a_csv_of_columns_is_named_not_quoted(cli, tmp_path):
    """A session may name any file: its first line must not end up in the terminal."""
    result = data_of(cli, tmp_path, "root:x:0:0:root:/root:/bin/bash\nsecret line\n")
    assert result.exit_code == 2 and "data.csv, line 1 is not a header row of column names" in result.stderr
    assert "bin/bash" not in result.stderr and "secret" not in result.stderr


def test_a_csv_file_in_utf16_is_named(cli, tmp_path):
    result = data_of(cli, tmp_path, csv_text().encode("utf-16"))
    assert result.exit_code == 2 and "is UTF-16 (little-endian) text" in result.stderr and "iconv" in result.stderr


def test_a_hundred_thousand_columns_are_read_in_one_pass(installed, tmp_path):
    """The header was checked in time quadratic in its columns: 140 s for 100,000. The
    timeout only stops a hang; the assertion is on the result."""
    columns = [f"c{i}" for i in range(100_000)]
    (tmp_path / "wide.csv").write_text(",".join(columns) + "\n" + ",".join(str(i % 7) for i in range(100_000)) + "\n")
    result = installed("grad", "L = sum(c99998 + c3)", "--bindings", "wide.csv", "--json", "--no-session",
                       cwd=tmp_path, timeout=100)
    assert result.exit_code == 0, result.stderr
    assert result.json()["output"]["value"] == 99998 % 7 + 3
    assert "99,993 more columns of wide.csv are not read by the program" in result.stderr


def test_a_data_file_over_the_budget_is_refused_before_its_rows_are_read(cli, tmp_path):
    content = "a,b,c,d\n" + "1,2,3,4\n" * 30
    result = data_of(cli, tmp_path, content, "--budget", "100", program="L = sum(a)")
    assert result.exit_code == 2 and "has 30 lines of 4 columns under its header, values for 120 nodes" in result.stderr
    assert "--budget 120" in result.stderr
    assert data_of(cli, tmp_path, content, "--budget", "120", program="L = sum(a)").exit_code == 0


def test_sweep_points_are_read_by_the_same_reader(cli, tmp_path):
    (tmp_path / "points.csv").write_bytes(b"\xef\xbb\xbfx;z\r1;2\r3;4\r")
    result = cli("sweep", "y = x * z", "--points", str(tmp_path / "points.csv"), "--json", "--no-session")
    assert result.exit_code == 0, result.stderr
    assert result.json()["values"] == [2.0, 12.0]
    (tmp_path / "short.csv").write_text("x,z\n1,2\n3\n")
    short = cli("sweep", "y = x * z", "--points", str(tmp_path / "short.csv"), "--no-session")
    assert short.exit_code == 2 and "the points file" in short.stderr and "is a short row" in short.stderr


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(st.floats(-1e6, 1e6, allow_nan=False).map(lambda v: round(v, 3)), min_size=3, max_size=3),
                min_size=1, max_size=6),
       st.sampled_from([",", ";", "\t"]), st.sampled_from(["\n", "\r\n", "\r"]), st.booleans(), st.booleans())
def test_any_table_reads_back_exactly_in_any_dialect(rows, separator, newline, bom, quoted):
    """The columns read are the numbers written, in every dialect, line end and quoting."""
    from scalargrad.data import parse_csv

    def cell(value: float) -> str:
        return f'"{value!r}"' if quoted else repr(value)

    text = newline.join([separator.join(["a", "b", "c"]), *(separator.join(map(cell, row)) for row in rows)])
    header, columns, found = parse_csv(("\ufeff" if bom else "") + text, "data file t.csv")
    assert header == ("a", "b", "c") and found == separator
    assert [list(row) for row in zip(columns["a"], columns["b"], columns["c"])] == rows
