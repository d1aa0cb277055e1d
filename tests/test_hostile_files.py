"""Odd files and odd contents: each is a short worded error (exit 2), never a traceback or a hang.

Cases that could hang or fill the memory if they regressed run the installed command in a
subprocess with a timeout, so a regression fails instead of stalling the suite.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import LECTURE, LECTURE_VALUES, run_cli, run_installed
from scalargrad import session
from scalargrad.data import JSON_DEPTH_LIMIT, strict_json
from scalargrad.files import READ_LIMIT, remove_stale_temporaries, write_text_atomically

RESET = "`scalargrad session --reset"  # then `--session PATH` where a bare reset would miss the file
POSIX = pytest.mark.skipif(os.name != "posix", reason="named pipes, /dev/zero and rlimits are POSIX")
QUICK = 30  # seconds: every command here answers at once; a hang fails the test instead of the suite


def plain_env() -> dict:
    return {k: v for k, v in os.environ.items() if k != session.ENV_VAR}


def session_doc(**changes) -> str:
    doc = {"format": 1, "program": "y = x * x", "values": {"x": 3.0},
           "history": [{"step": 1, "lr": 0.1, "before": 9.0, "after": 12.96, "values": {"x": 3.6}}]}
    doc.update(changes)
    return json.dumps(doc)


def with_entry(**changes) -> str:
    entry = {"step": 1, "lr": 0.1, "before": 9.0, "after": 12.96, "values": {"x": 3.6}}
    entry.update(changes)
    return session_doc(history=[entry])


def fails(result, *messages: str) -> str:
    assert result.exit_code == 2, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    for message in messages:
        assert message in result.stderr, result.stderr
    return result.stderr


# -- odd files in place of a file --------------------------------------------------------------
@POSIX
def test_a_named_pipe_as_the_session_file_is_refused_not_waited_on(tmp_path):
    folder = tmp_path / ".scalargrad"
    folder.mkdir()
    os.mkfifo(folder / "session.json")
    env = plain_env()
    for args in (("grad",), ("grad", LECTURE, *LECTURE_VALUES), ("session",), ("step",)):
        fails(run_installed(*args, cwd=tmp_path, env=env, timeout=QUICK),
              "error: session file .scalargrad/session.json is a named pipe (FIFO), not a regular file",
              "hint: give --session (or $SCALARGRAD_SESSION) the path of a regular file")
    # --reset leaves what scalargrad did not write, and says how to remove it.
    fails(run_installed("session", "--reset", cwd=tmp_path, env=env, timeout=QUICK),
          "session file .scalargrad/session.json is a named pipe (FIFO), not a session; not removing it",
          "hint: if nothing else uses it, remove it yourself")
    assert (folder / "session.json").exists()
    assert not (folder / "session.json.lock").exists()  # refused before taking the lock


@POSIX
def test_a_named_pipe_as_the_bindings_file_is_refused_not_waited_on(tmp_path):
    os.mkfifo(tmp_path / "values.fifo")
    fails(run_installed("grad", LECTURE, "--bindings", "values.fifo", "--no-session", cwd=tmp_path, timeout=QUICK),
          "error: bindings file values.fifo is a named pipe (FIFO), not a regular file",
          "hint: give --bindings a JSON file")


@POSIX
def test_a_named_pipe_as_the_program_file_is_refused_not_waited_on(tmp_path):
    os.mkfifo(tmp_path / "program.fifo")
    fails(run_installed("grad", "--file", "program.fifo", "--no-session", cwd=tmp_path, timeout=QUICK),
          "program file program.fifo is a named pipe (FIFO)")


@POSIX
@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="needs /dev/zero")
def test_dev_zero_is_refused_not_read_until_memory_runs_out(tmp_path):
    env = plain_env()
    for args in (("grad",), ("grad", LECTURE, *LECTURE_VALUES), ("session",), ("session", "--reset")):
        stderr = fails(run_installed(*args, "--session", "/dev/zero", cwd=tmp_path, env=env, timeout=QUICK),
                       "session file /dev/zero is a character device")
        assert "MemoryError" not in stderr
    assert not Path("/dev/zero.lock").exists()
    assert Path("/dev/zero").exists()
    fails(run_installed("grad", LECTURE, "--bindings", "/dev/zero", "--no-session", cwd=tmp_path, timeout=QUICK),
          "bindings file /dev/zero is a character device, not a regular file")


@POSIX
def test_a_symlink_loop_as_the_session_file(tmp_path):
    folder = tmp_path / ".scalargrad"
    folder.mkdir()
    (folder / "session.json").symlink_to("session.json")
    env = plain_env()
    for args in (("grad",), ("session",), ("session", "--reset"), ("step",)):
        stderr = fails(run_installed(*args, cwd=tmp_path, env=env, timeout=QUICK),
                       "error: session file .scalargrad/session.json is a loop of symbolic links")
        assert "RuntimeError" not in stderr and "--reset" not in stderr  # resetting is no way out of a loop
        assert len(stderr.splitlines()) == 2
    # A new program still prints its result; it cannot be saved there, and a warning says why.
    given = run_installed("grad", LECTURE, *LECTURE_VALUES, cwd=tmp_path, env=env, timeout=QUICK)
    assert given.exit_code == 0 and given.stderr.splitlines() == [
        "warning: the session was not saved: session file .scalargrad/session.json is a loop of symbolic links"]
    # The loop is not scalargrad's to remove: the link is left as it was, and no lock file beside it.
    assert os.readlink(folder / "session.json") == "session.json"
    assert sorted(p.name for p in folder.iterdir()) == ["session.json"]


@POSIX
def test_a_link_loop_as_the_session_with_a_csv_data_file_is_worded(tmp_path):
    """The example of issue 28: `--session` at a loop while a CSV data file is in use was a RuntimeError."""
    (tmp_path / "data.csv").write_text("x,y\n1,2\n3,4\n")
    (tmp_path / "loop").symlink_to("loop")
    result = run_installed("grad", "L = sum(w*x - y)", "--w", "2", "--bindings", "data.csv", "--session", "loop",
                           cwd=tmp_path, env=plain_env(), timeout=QUICK)
    assert result.stderr.splitlines() == [
        "warning: the session was not saved: session file loop is a loop of symbolic links"]
    assert result.exit_code == 0 and "gradients of L = 2" in result.stdout  # (2*1 - 2) + (2*3 - 4)
    assert "Traceback" not in result.stderr
    continued = run_installed("grad", "--session", "loop", cwd=tmp_path, env=plain_env(), timeout=QUICK)
    assert continued.exit_code == 2 and continued.stderr.splitlines() == [
        "error: session file loop is a loop of symbolic links", "hint: point the link at a file, or give another path"]
    assert os.readlink(tmp_path / "loop") == "loop"


def test_reset_leaves_a_directory_alone(cli, tmp_path):
    folder = tmp_path / "a-folder"
    folder.mkdir()
    fails(cli("session", "--reset", "--session", str(folder)), "is a directory, not a session; not removing it",
          "hint: give --session (or $SCALARGRAD_SESSION) the path of a regular file")
    assert folder.is_dir()
    assert not Path(str(folder) + ".lock").exists()
    fails(cli("grad", LECTURE, *LECTURE_VALUES, "--session", str(folder)), "is a directory, not a regular file")


def sparse(path: Path, size: int) -> Path:
    with open(path, "wb") as stream:
        stream.truncate(size)
    return path


def test_a_session_file_over_the_limit_is_refused_before_reading(cli, tmp_path):
    path = sparse(tmp_path / "s.json", 300 * 1024 * 1024)
    assert READ_LIMIT == 256 * 1024 * 1024
    for args in (("grad",), ("session",), ("grad", LECTURE, *LECTURE_VALUES)):
        fails(cli(*args, "--session", str(path)),
              f"session file {path} is too large to read (300 MiB; the limit is 256 MiB)", RESET)


def test_a_bindings_file_over_the_limit_is_refused_before_reading(cli, tmp_path):
    path = sparse(tmp_path / "values.json", 300 * 1024 * 1024)
    fails(cli("grad", LECTURE, "--bindings", str(path)),
          f"bindings file {path} is too large to read (300 MiB; the limit is 256 MiB)")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="RLIMIT_AS is enforced on Linux")
def test_out_of_memory_reading_a_session_is_worded(tmp_path):
    import resource

    # 64 MB of text, well under the size limit, in a process allowed 100 MB of address space:
    # the bytes and their text cannot both fit, whatever the interpreter itself takes.
    path = tmp_path / "s.json"
    path.write_text(session_doc(padding="x" * 64_000_000))

    def small_memory():
        resource.setrlimit(resource.RLIMIT_AS, (100 * 1024 * 1024, resource.RLIM_INFINITY))

    import subprocess

    from conftest import installed_command

    proc = subprocess.run([installed_command(), "session", "--session", str(path)], capture_output=True, text=True,
                          timeout=QUICK, preexec_fn=small_memory)
    assert proc.returncode == 2, proc.stderr
    assert f"error: out of memory reading session file {path} (64 MB)" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_bindings_from_standard_input_still_work(cli):
    result = cli("grad", LECTURE, "--bindings", "-", "--json", input='{"a": 2, "b": -3, "c": 10, "f": -2}')
    assert result.exit_code == 0, result.stderr
    assert result.json()["output"]["value"] == -8.0


# -- deeply nested JSON ----------------------------------------------------------------------
DEEP = {
    "lists": "[" * 5000 + "]" * 5000,
    "objects": '{"a":' * 5000 + "1" + "}" * 5000,
}


@pytest.mark.parametrize("text", DEEP.values(), ids=DEEP.keys())
def test_deeply_nested_bindings_are_refused_before_parsing(tmp_path, text):
    path = tmp_path / "deep.json"
    path.write_text(text)
    stderr = fails(run_cli("grad", LECTURE, *LECTURE_VALUES, "--bindings", str(path)),
                   f"bindings file {path}, line 1, column ", f"nested deeper than {JSON_DEPTH_LIMIT} levels")
    assert "RecursionError" not in stderr


def test_deeply_nested_bindings_on_standard_input(cli):
    fails(cli("grad", LECTURE, *LECTURE_VALUES, "--bindings", "-", input=DEEP["lists"]),
          "bindings file standard input, line 1, column 65: nested deeper than 64 levels")


@pytest.mark.parametrize("text", DEEP.values(), ids=DEEP.keys())
def test_a_deeply_nested_session_file_is_corrupt(cli, tmp_path, text):
    path = tmp_path / "s.json"
    path.write_text('{"format": 1, "program": "y = x", "values": {"x": 1}, "extra": ' + text + "}")
    for args in (("grad",), ("session",), ("grad", LECTURE, *LECTURE_VALUES)):
        fails(cli(*args, "--session", str(path)), "is corrupt: line 1, column ",
              "nested deeper than 64 levels", RESET)


def test_brackets_inside_strings_do_not_count_as_nesting():
    deep_in_text = "[{" * 1000
    assert strict_json(json.dumps({"a": deep_in_text, "b\\\"[[": [[1]]})) == {"a": deep_in_text, "b\\\"[[": [[1]]}
    nested = "[" * JSON_DEPTH_LIMIT + "]" * JSON_DEPTH_LIMIT
    assert strict_json(nested) is not None  # the limit itself is allowed
    with pytest.raises(json.JSONDecodeError, match="nested deeper than 64 levels") as raised:
        strict_json('["\\\\", "\\"[", ' + "[" * 100 + "]" * 100 + "]")
    assert raised.value.pos == 14 + JSON_DEPTH_LIMIT - 1  # the first bracket too deep
    with pytest.raises(json.JSONDecodeError, match="Unterminated string"):
        strict_json('{"a": "' + "[" * 1000)  # brackets in an unfinished string are not nesting


def with_check(**changes) -> str:
    check = {"program": "y = x * x", "values": {"x": 3.0}, "of": 1, "summary": "ok: 1 checked",
             "rows": [{"id": 0, "label": "x", "status": "PASS", "analytic": 6.0, "numeric": 6.0}]}
    check.update(changes)
    return session_doc(check=check)


def with_check_row(**changes) -> str:
    row = {"id": 0, "label": "x", "status": "PASS", "analytic": 6.0, "numeric": 6.0}
    row.update(changes)
    return with_check(rows=[row])


# -- session contents --------------------------------------------------------------------------
BAD_SESSIONS = {
    "steps abc": (with_entry(steps="abc"), "history entry 1: `steps` is not a whole number of 1 or more"),
    "steps null": (with_entry(steps=None), "history entry 1: `steps` is not a whole number of 1 or more"),
    "steps list": (with_entry(steps=[1]), "history entry 1: `steps` is not a whole number of 1 or more"),
    "steps zero": (with_entry(steps=0), "history entry 1: `steps` is not a whole number of 1 or more"),
    "step missing": (session_doc(history=[{"lr": 0.1, "before": 1, "after": 2, "values": {}}]),
                     "history entry 1: `step` is not a whole number of 1 or more"),
    "step true": (with_entry(step=True), "history entry 1: `step` is not a whole number of 1 or more"),
    "step float": (with_entry(step=1.5), "history entry 1: `step` is not a whole number of 1 or more"),
    "lr text": (with_entry(lr="0.1"), "history entry 1: `lr` is not a finite number"),
    "before null": (with_entry(before=None), "history entry 1: `before` is not a finite number"),
    "after huge": (with_entry(after=10**400), "history entry 1: `after` is not a finite number"),
    "descend text": (with_entry(descend="yes"), "history entry 1: `descend` is not true or false"),
    "values list": (with_entry(values=[1]), "history entry 1: its `values` are not a JSON object"),
    "values text": (with_entry(values={"x": "1"}), "history entry 1: the value of `x` is not a finite number"),
    "huge value": (session_doc(values={"x": 10**400}), "is corrupt: the value of `x` is not a finite number"),
    "format 0": (session_doc(format=0), "is corrupt: its format version (0) is not 1 or more"),
    "format -5": (session_doc(format=-5), "is corrupt: its format version (-5) is not 1 or more"),
    "surrogate program": ('{"format": 1, "program": "y = x \\ud800", "values": {"x": 1}}',
                          "is corrupt: the program text has an invalid character"),
    "surrogate name": ('{"format": 1, "program": "y = x", "values": {"x": 1, "\\udc00": 2}}',
                       "is corrupt: a name in its values has an invalid character"),
    "surrogate in history": (with_entry(values={"\udfff": 1.0}),
                             "history entry 1: a name in its `values` has an invalid character"),
    "check list": (session_doc(check=[1]), "its `check` is not a JSON object"),
    "check no program": (with_check(program=""), "its `check` has no program text"),
    "check program number": (with_check(program=3), "its `check` has no program text"),
    "check values": (with_check(values={"x": "3"}), "its `check` is wrong: the value of `x` is not a finite number"),
    "check no values": (with_check(values=None), "its `check` is wrong: its values are not a JSON object"),
    "check of": (with_check(of=-1), "its `check` has no `of` (the id of a node, a whole number of 0 or more)"),
    "check of true": (with_check(of=True), "its `check` has no `of`"),
    "check summary": (with_check(summary=7), "its `check` has a `summary` that is not text"),
    "check rows": (with_check(rows={"x": 1}), "its `check` has no `rows` (a list of objects)"),
    "check row": (with_check(rows=["PASS"]), "its `check` has no `rows` (a list of objects)"),
    "check id": (with_check_row(id="0"), "its `check` row 1: `id` is not a whole number of 0 or more"),
    "check label": (with_check_row(label=None), "its `check` row 1: `label` or `reason` is not text"),
    "check reason": (with_check_row(reason="\udfff"), "its `check` row 1: `label` or `reason` is not text"),
    "check status": (with_check_row(status="pass"), "its `check` row 1: `status` is not one of PASS, FAIL, KINK"),
    "check analytic": (with_check_row(analytic="6"), "its `check` row 1: `analytic` is not a finite number or null"),
    "check numeric huge": (with_check_row(numeric=10**400),
                           "its `check` row 1: `numeric` is not a finite number or null"),
    "check numeric missing": (with_check(rows=[{"id": 0, "label": "x", "status": "KINK", "analytic": 6.0}]),
                              "its `check` row 1: `numeric` is not a finite number or null"),
    "data list": (session_doc(data=["moons.csv"]), "its `data` is not a JSON object"),
    "data no file": (session_doc(data={"sha256": "0" * 64, "columns": ["x"]}), "its `data` has no `file` (the path of a CSV file)"),
    "data blank file": (session_doc(data={"file": " ", "sha256": "0" * 64, "columns": ["x"]}), "its `data` has no `file`"),
    "data nul file": (session_doc(data={"file": "a\0b.csv", "sha256": "0" * 64, "columns": ["x"]}), "its `data` has no `file`"),
    "data file number": (session_doc(data={"file": 3, "sha256": "0" * 64, "columns": ["x"]}), "its `data` has no `file`"),
    "data no digest": (session_doc(data={"file": "/d.csv"}), "its `data` has no `sha256` (64 hexadecimal digits)"),
    "data short digest": (session_doc(data={"file": "/d.csv", "sha256": "ab", "columns": ["x"]}), "its `data` has no `sha256`"),
    "data no columns": (session_doc(data={"file": "/d.csv", "sha256": "a" * 64}), "its `data` has no `columns`"),
    "data empty columns": (session_doc(data={"file": "/d.csv", "sha256": "a" * 64, "columns": []}),
                           "its `data` has no `columns` (a list of names)"),
    "data column number": (session_doc(data={"file": "/d.csv", "sha256": "a" * 64, "columns": [1]}),
                           "its `data` has no `columns`"),
    "data relative number": (session_doc(data={"file": "/d.csv", "sha256": "a" * 64, "columns": ["x"], "relative": 3}),
                             "its `data` has a `relative` that is not a path"),
    "data odd digest": (session_doc(data={"file": "/d.csv", "sha256": "G" * 64, "columns": ["x"]}), "its `data` has no `sha256`"),
}


@pytest.mark.parametrize("content, message", BAD_SESSIONS.values(), ids=BAD_SESSIONS.keys())
def test_a_bad_session_field_is_corrupt_for_every_command(cli, tmp_path, content, message):
    path = tmp_path / "s.json"
    path.write_text(content, encoding="utf-8")
    for args in (("session",), ("session", "--json"), ("grad",), ("step",), ("grad", "y = x", "--x", "1")):
        fails(cli(*args, "--session", str(path)), f"session file {path} is corrupt: ", message, RESET)
    assert path.read_text(encoding="utf-8") == content  # never overwritten


def test_the_third_history_entry_is_named(cli, tmp_path):
    entries = [{"step": n, "lr": 0.1, "before": 1.0, "after": 2.0, "values": {"x": 1.0}} for n in (1, 2, 3)]
    entries[2]["steps"] = "abc"
    path = tmp_path / "s.json"
    path.write_text(session_doc(history=entries))
    fails(cli("session", "--session", str(path)), "is corrupt: history entry 3: `steps` is not a whole number")


def test_well_formed_entries_and_a_surrogate_pair_are_accepted(cli, tmp_path):
    path = tmp_path / "s.json"
    entries = [{"step": 1, "steps": 5, "descend": True, "lr": 0.1, "before": 9, "after": 4.5, "values": {"x": 2},
                "worker": "any detail", "grads": {"x": 6}}]
    path.write_text(session_doc(program="y = x * x  # \U0001F600", history=entries))  # "\\ud83d\\ude00"
    assert session.read(path).program == "y = x * x  # \U0001F600"
    result = cli("session", "--session", str(path))
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines()[-1].split() == ["1", "5", "descend", "0.1", "9", "4.5"]


def test_a_well_formed_check_is_read_with_nulls_and_without_optional_fields(tmp_path):
    path = tmp_path / "s.json"
    rows = [{"id": 0, "label": "x", "status": "KINK", "analytic": None, "numeric": None, "reason": "a pole"},
            {"id": 1, "label": "y", "status": "FAIL", "analytic": 1, "numeric": 2.5}]
    document = json.loads(with_check(rows=rows))
    del document["check"]["summary"]  # optional
    path.write_text(json.dumps(document))
    check = session.read(path).check
    assert check["rows"] == rows and "summary" not in check


def test_a_huge_integer_in_bindings_is_too_large_not_a_traceback(cli, tmp_path):
    path = tmp_path / "values.json"
    path.write_text('{"a": 1' + "0" * 400 + "}")
    fails(cli("grad", "L = a * 2", "--bindings", str(path)), "the value of `a` is too large")


# -- a file a session names is not quoted -----------------------------------------------------
SECRET = "SECRET_TOKEN=hunter2"


@pytest.mark.parametrize("first_line", [f"{SECRET},x", f"{SECRET}", f"x,{SECRET}", "x,x", "password,,x"],
                         ids=["a key first", "one cell", "a key second", "repeated", "empty cell"])
def test_a_data_file_a_session_names_is_not_quoted_unless_it_is_a_csv_of_columns(cli, tmp_path, first_line):
    """A session (from someone else's clone, say) can name any file the user can read: an error
    about it must not print its first line into a terminal or a CI log (issue 28)."""
    secret = tmp_path / "credentials"
    secret.write_text(first_line + "\n1,2\n")
    path = tmp_path / "s.json"
    path.write_text(json.dumps({"format": 2, "program": "L = sum(w*x)", "values": {"w": 1.0}, "history": [],
                                "data": {"file": str(secret), "sha256": "0" * 64, "columns": ["x"]}}))
    for args in (("grad",), ("session",), ("check",), ("step",), ("dot", "-o", str(tmp_path / "g.gv"))):
        result = cli(*args, "--session", str(path))
        shown = result.stdout + result.stderr
        for cell in first_line.split(","):
            if cell and cell != "x":
                assert cell not in shown, (args, shown)
        assert "hunter2" not in shown and "Traceback" not in shown
        assert f"data file {secret}, line 1" in shown and "header" in shown, (args, shown)


def odd_data_path(kind: str, folder: Path) -> str:
    """A path to a data file, as a session from elsewhere might name it, that cannot be read."""
    if kind == "loop":
        (folder / "loop.csv").symlink_to("loop.csv")
        return str(folder / "loop.csv")
    if kind == "too long":
        return "/" + "a" * 5000 + ".csv"
    if kind == "too deep":
        return str(folder) + "/d" * 3000 + ".csv"
    if kind == "file for a folder":
        (folder / "file").write_text("x\n")
        return str(folder / "file" / "d.csv")
    if kind == "folder":
        (folder / "d.csv").mkdir()
        return str(folder / "d.csv")
    if kind == "named pipe":
        os.mkfifo(folder / "d.csv")
        return str(folder / "d.csv")
    return "/dev/zero"


@POSIX
@pytest.mark.parametrize("kind", ["loop", "too long", "too deep", "file for a folder", "folder", "named pipe", "/dev/zero"])
def test_every_odd_data_file_a_session_names_is_worded(cli, tmp_path, kind):
    """Every path a session file names is read with words for a loop, a name too long, a file
    where a folder should be, ...: the session could come from anywhere."""
    path = tmp_path / "s.json"
    named = odd_data_path(kind, tmp_path)
    path.write_text(json.dumps({"format": 2, "program": "L = sum(w*x)", "values": {"w": 1.0}, "history": [],
                                "data": {"file": named, "sha256": "0" * 64, "columns": ["x"],
                                         "relative": "../" + "b/" * 3000 + "x.csv"}}))
    for args in (("grad",), ("session",), ("step",), ("check",), ("dot", "-o", str(tmp_path / "g.gv"))):
        result = cli(*args, "--session", str(path))  # a traceback would be raised here
        shown = result.stdout + result.stderr
        assert "cannot write the output" not in shown and "Traceback" not in shown
        assert "data file " in shown, (args, shown)
        assert result.exit_code == (0 if args == ("session",) else 2), (args, shown)


def test_a_csv_header_of_names_is_still_quoted_where_it_helps(cli, tmp_path):
    """Once the first row is a header of names, the file is a data file: its column names and
    cells are quoted, as they help to fix it."""
    data = tmp_path / "d.csv"
    data.write_text("x,y\n1,abc\n")
    result = cli("grad", "L = sum(x*y)", "--bindings", str(data), "--no-session")
    assert result.exit_code == 2 and "`abc` is not a number" in result.stderr


@settings(max_examples=60, deadline=None)
@given(cells=st.lists(st.text(st.characters(codec="utf-8", exclude_characters=",\r\n\"\x00"), max_size=12),
                      min_size=1, max_size=4))
def test_no_cell_of_a_first_row_that_is_not_a_header_is_ever_quoted(tmp_path_factory, cells):
    from scalargrad.data import read_columns
    from scalargrad.errors import InputError

    cells = ["Zq9" + cell + "=" for cell in cells]  # never a name: each would be quoted if any were
    path = tmp_path_factory.mktemp("csv") / "data.csv"
    path.write_text(",".join(cells) + "\n1\n", encoding="utf-8")
    with pytest.raises(InputError) as raised:
        read_columns(str(path))
    assert "Zq9" not in raised.value.message and "Zq9" not in raised.value.hint


# -- the lock file -----------------------------------------------------------------------------
@POSIX
def test_a_symlink_as_the_lock_file_is_not_followed(cli, tmp_path):
    path = tmp_path / "s.json"
    session.start(path, LECTURE, {"a": 2.0, "b": -3.0, "c": 10.0, "f": -2.0})
    lock = tmp_path / "s.json.lock"
    assert not lock.exists()  # no lock file is left behind
    victim = tmp_path / "victim"
    lock.symlink_to(victim)
    message = f"the lock file {path}.lock is a symbolic link, not a regular file; scalargrad does not use it"
    # A new program still prints its result; it is not recorded.
    result = cli("grad", "y = x", "--x", "1", "--session", str(path))
    assert result.exit_code == 0 and f"warning: the session was not saved: {message}" in result.stderr
    stepped = cli("step", "--session", str(path))  # the step is shown, and said to be unsaved
    assert stepped.exit_code == 0 and f"warning: the session was not saved: {message}" in stepped.stderr
    fails(cli("session", "--reset", "--session", str(path)), message)
    assert not victim.exists()
    assert path.exists() and lock.is_symlink()


@POSIX
def test_a_named_pipe_as_the_lock_file_is_refused(tmp_path):
    path = tmp_path / "s.json"
    os.mkfifo(str(path) + ".lock")
    result = run_installed("grad", LECTURE, *LECTURE_VALUES, "--session", str(path), timeout=QUICK)
    assert result.exit_code == 0
    assert f"the lock file {path}.lock is a named pipe (FIFO), not a regular file" in result.stderr


# -- temporary files left by a killed writer --------------------------------------------------
def test_stale_temporaries_of_the_target_are_removed_on_the_next_write(cli, tmp_path):
    path = tmp_path / "s.json"
    hour_ago = time.time() - 3600
    planted = {
        ".s.json.abcd_123.tmp": hour_ago,  # ours, old: removed
        ".s.json.zzzz9999.tmp": time.time(),  # ours, fresh: another writer may be busy with it
        ".s.json.notours.tmp": hour_ago,  # not the name mkstemp gives
        ".other.json.abcd1234.tmp": hour_ago,  # another target's
        "s.json.abcd1234.tmp": hour_ago,  # no leading dot
    }
    for name, mtime in planted.items():
        (tmp_path / name).write_text("half a session")
        os.utime(tmp_path / name, (mtime, mtime))
    (tmp_path / ".s.json.dir12345.tmp").mkdir()  # a folder, however named, is not ours
    os.utime(tmp_path / ".s.json.dir12345.tmp", (hour_ago, hour_ago))
    assert cli("grad", LECTURE, *LECTURE_VALUES, "--session", str(path)).exit_code == 0
    left = sorted(p.name for p in tmp_path.iterdir())
    assert left == sorted(set(planted) - {".s.json.abcd_123.tmp"} | {".s.json.dir12345.tmp", "s.json"})


def test_remove_stale_temporaries_respects_the_age(tmp_path):
    target = tmp_path / "graph.svg"
    temporary = tmp_path / ".graph.svg.a1b2c3d4.tmp"
    temporary.write_text("<svg")
    nine_minutes_ago = time.time() - 9 * 60
    os.utime(temporary, (nine_minutes_ago, nine_minutes_ago))
    assert remove_stale_temporaries(target) == []
    eleven_minutes_ago = time.time() - 11 * 60
    os.utime(temporary, (eleven_minutes_ago, eleven_minutes_ago))
    write_text_atomically(target, "<svg/>")
    assert not temporary.exists() and target.read_text() == "<svg/>"
