"""Sessions: a command given a program records it; a command given none continues it."""

from __future__ import annotations

import inspect
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import LECTURE, LECTURE_VALUES, installed_command
from scalargrad import SessionError, parse, session
from scalargrad.cli import app

LECTURE_INPUTS = {"a": 2.0, "b": -3.0, "c": 10.0, "f": -2.0}
RESET = "scalargrad session --reset"


def plain_env(**extra: str) -> dict:
    """The environment of a user who has not chosen a session file."""
    env = {k: v for k, v in os.environ.items() if k != session.ENV_VAR}
    env.update(extra)
    return env


def rows(stdout: str) -> dict[str, list[str]]:
    """The grad table's rows by node label (plain text, as in a pipe)."""
    return {line.split()[1]: line.split() for line in stdout.splitlines()[2:]}


def saved(path) -> dict:
    return json.loads(Path(path).read_text(encoding="utf-8"))


@pytest.fixture
def session_file():
    """The session file the in-process `cli` fixture uses (set by conftest)."""
    return Path(os.environ[session.ENV_VAR])


# -- continuing ----------------------------------------------------------------------------
def test_grad_then_grad_without_program_through_installed_command(installed, tmp_path):
    first = installed("grad", LECTURE, *LECTURE_VALUES, cwd=tmp_path, env=plain_env())
    assert first.exit_code == 0, first.stderr
    assert "session" not in first.stderr  # recording is quiet; only continuing is announced
    doc = saved(tmp_path / ".scalargrad" / "session.json")
    assert doc == {"format": 2, "program": LECTURE, "values": LECTURE_INPUTS, "history": []}

    again = installed("grad", cwd=tmp_path, env=plain_env())
    assert again.exit_code == 0, again.stderr
    assert again.stdout == first.stdout
    assert rows(again.stdout)["a"][2:4] == ["2", "6"] and rows(again.stdout)["L"][3] == "-8"
    assert again.stderr.strip() == (
        "note: using session .scalargrad/session.json (program: L = (a*b + c) * f, 0 runs of step)")
    # The folder keeps itself out of version control.
    assert (tmp_path / ".scalargrad" / ".gitignore").read_text().splitlines()[-1] == "*"


def test_json_output_has_no_note_and_says_where_values_came_from(cli):
    cli("grad", LECTURE, *LECTURE_VALUES)
    result = cli("grad", "--json")
    assert result.exit_code == 0, result.stderr
    doc = result.json()  # stdout is one JSON document, nothing else
    assert doc["output"]["value"] == -8.0
    assert doc["grads"] == {"a": 6.0, "b": -4.0, "c": -2.0, "f": 4.0, "L": 1.0}
    assert {name: item["from"] for name, item in doc["inputs"].items()} == dict.fromkeys("abcf", "session")
    assert "using session" in result.stderr


def test_program_from_standard_input_is_recorded(cli):
    assert cli("grad", "-", *LECTURE_VALUES, input=LECTURE).exit_code == 0
    assert cli("grad", "--json").json()["output"]["value"] == -8.0


def test_command_line_values_override_the_session_for_one_run(cli, session_file):
    cli("grad", LECTURE, *LECTURE_VALUES)
    result = cli("grad", "--a", "3", "--json")
    assert result.exit_code == 0, result.stderr
    doc = result.json()
    # (3*-3 + 10) * -2 = -2; dL/da = b*f = 6, dL/db = a*f = -6, dL/df = a*b + c = 1
    assert doc["output"]["value"] == -2.0
    assert doc["grads"]["a"] == 6.0 and doc["grads"]["b"] == -6.0 and doc["grads"]["f"] == 1.0
    assert doc["inputs"]["a"]["from"] == "command line" and doc["inputs"]["b"]["from"] == "session"
    assert "for this run a from the command line" in result.stderr
    # Not saved: the session still holds a = 2.
    assert saved(session_file)["values"] == LECTURE_INPUTS
    assert cli("grad", "--json").json()["output"]["value"] == -8.0


def test_bindings_and_set_override_the_session_too(cli, tmp_path):
    cli("grad", LECTURE, *LECTURE_VALUES)
    bindings = tmp_path / "values.json"
    bindings.write_text('{"c": 4}')
    doc = cli("grad", "--bindings", str(bindings), "--set", "f=1", "--json").json()
    assert doc["output"]["value"] == -2.0  # (2*-3 + 4) * 1
    assert doc["inputs"]["c"]["from"] == "bindings" and doc["inputs"]["f"]["from"] == "command line"


def test_a_new_program_replaces_the_session(cli, session_file):
    cli("grad", LECTURE, *LECTURE_VALUES)
    session.record_step(session_file, program=LECTURE, lr=0.01, before=-8.0, after=-7.0, values=LECTURE_INPUTS)
    assert cli("grad", "y = x * x", "--x", "3").exit_code == 0
    assert saved(session_file) == {"format": 2, "program": "y = x * x", "values": {"x": 3.0}, "history": []}
    assert cli("grad", "--json").json()["grads"] == {"x": 6.0, "y": 1.0}


def test_no_program_and_no_session_says_how_to_start_one(installed, tmp_path):
    result = installed("grad", "--a", "2", cwd=tmp_path, env=plain_env())
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        "error: no program given, and no session to continue",
        'hint: start one by giving a program: scalargrad grad "L = (a*b + c) * f" --a 2 --b -3 --c 10 --f -2 '
        "(later commands without a program continue it; it is kept in .scalargrad/session.json)",
    ]
    assert not (tmp_path / ".scalargrad").exists()


# -- where it lives ------------------------------------------------------------------------
def test_no_session_neither_reads_nor_writes(cli, session_file):
    assert cli("grad", LECTURE, *LECTURE_VALUES, "--no-session").exit_code == 0
    assert not session_file.exists()
    cli("grad", LECTURE, *LECTURE_VALUES)
    result = cli("grad", "--no-session")
    assert result.exit_code == 2 and result.stderr.startswith("error: no program given\n")
    cli("grad", "y = x * x", "--x", "3", "--no-session")
    assert saved(session_file)["program"] == LECTURE  # untouched


def test_session_option_and_environment_variable(installed, tmp_path):
    env = plain_env()
    assert installed("grad", LECTURE, *LECTURE_VALUES, "--session", "mine.json", cwd=tmp_path, env=env).exit_code == 0
    assert saved(tmp_path / "mine.json")["program"] == LECTURE
    assert not (tmp_path / ".scalargrad").exists()
    result = installed("grad", "--session", "mine.json", "--json", cwd=tmp_path, env=env)
    assert result.json()["output"]["value"] == -8.0
    assert "using session mine.json" in result.stderr
    # Without the option this folder has no session.
    assert installed("grad", cwd=tmp_path, env=env).exit_code == 2

    env_var = plain_env(SCALARGRAD_SESSION=str(tmp_path / "mine.json"))
    result = installed("grad", "--json", cwd=tmp_path, env=env_var)
    assert result.exit_code == 0 and result.json()["output"]["value"] == -8.0
    # The option wins over the variable.
    installed("grad", "y = x * x", "--x", "3", "--session", "other.json", cwd=tmp_path, env=env_var)
    assert saved(tmp_path / "other.json")["program"] == "y = x * x"
    assert saved(tmp_path / "mine.json")["program"] == LECTURE


def test_session_and_no_session_together_is_a_usage_error(cli):
    result = cli("grad", LECTURE, *LECTURE_VALUES, "--session", "x.json", "--no-session")
    assert result.exit_code == 2
    assert "--session and --no-session contradict each other" in result.stderr


def test_a_session_that_cannot_be_saved_is_a_warning_not_a_failure(cli, tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the session folder should be")
    result = cli("grad", LECTURE, *LECTURE_VALUES, "--session", str(blocker / "session.json"))
    assert result.exit_code == 0
    assert rows(result.stdout)["L"][3] == "-8"
    assert f"warning: the session was not saved: {blocker} is not a folder" in result.stderr
    assert blocker.read_text() == "a file where the session folder should be"


# -- showing and forgetting ----------------------------------------------------------------
def test_session_command_shows_program_values_and_history(cli, session_file):
    cli("grad", LECTURE, *LECTURE_VALUES)
    shown = cli("session")
    assert shown.exit_code == 0
    lines = shown.stdout.splitlines()
    assert lines[1:4] == ["program:", "    L = (a*b + c) * f", "output: L = -8"]
    assert lines[4:6] == ["values", "input  value"]
    assert lines[6:10] == ["a          2", "b         -3", "c         10", "f         -2"]
    assert "no steps yet" in shown.stdout

    session.record_step(session_file, program=LECTURE, lr=0.01, before=-8.0, after=-7.286496,
                        values={"a": 2.06, "b": -3.04, "c": 9.98, "f": -1.96})
    shown = cli("session")
    assert "output: L = -7.286496" in shown.stdout
    assert shown.stdout.splitlines()[-3:] == ["history: 1 run of step", "run  steps  direction    lr  before      after",
                                              "  1      1  ascend     0.01      -8  -7.286496"]
    doc = cli("session", "--json").json()
    assert doc["active"] is True and doc["program"] == LECTURE
    assert doc["output"] == {"label": "L", "value": pytest.approx(-7.286496)}
    assert doc["values"] == {"a": 2.06, "b": -3.04, "c": 9.98, "f": -1.96}
    assert [entry["step"] for entry in doc["history"]] == [1]


def test_reset_forgets_the_session(installed, tmp_path):
    env = plain_env()
    installed("grad", LECTURE, *LECTURE_VALUES, cwd=tmp_path, env=env)
    result = installed("session", "--reset", cwd=tmp_path, env=env)
    assert result.exit_code == 0
    assert result.stdout == "forgot the session in .scalargrad/session.json\n" and result.stderr == ""
    assert not (tmp_path / ".scalargrad" / "session.json").exists()
    assert installed("grad", cwd=tmp_path, env=env).exit_code == 2
    again = installed("session", "--reset", "--json", cwd=tmp_path, env=env)
    assert again.json() == {"schema": "scalargrad.session-reset/1", "path": ".scalargrad/session.json", "forgot": False}
    shown = installed("session", "--json", cwd=tmp_path, env=env).json()
    assert shown["active"] is False and shown["history"] == []


def test_reset_leaves_a_file_that_is_not_a_session(installed, tmp_path):
    """`scalargrad session --reset --session values.json` deleted values.json (issue 21)."""
    values = tmp_path / "values.json"
    values.write_text('{"a": 2, "b": -3}\n')
    result = installed("session", "--reset", "--session", "values.json", cwd=tmp_path, env=plain_env())
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        'error: session file values.json is not a scalargrad session (it does not hold a "format" and a "program"); '
        "not removing it",
        "hint: scalargrad removes only its own session files: give --session the path of one, or remove this file "
        "yourself if you mean to"]
    assert values.read_text() == '{"a": 2, "b": -3}\n'
    assert sorted(p.name for p in tmp_path.iterdir()) == ["values.json"]  # no lock file either


@pytest.mark.parametrize("content", [
    b'{"format": 2, "program": "L = a", "values": {"a": 1.0}, "history": []}',  # whole
    b'{\n "format": 2,\n "program": "L = a",\n "values": {',  # cut short, as indented
    b'\xef\xbb\xbf{"format":1,"program":"y = \xff"}',  # a byte-order mark, not UTF-8 inside
    b'{"values": {"a": 1}, "program": "L = a", "format": 2}',  # keys in another order
    b'{"format": 7, "program": "from the future"}',  # newer
], ids=["whole", "cut short", "bom", "reordered", "newer"])
def test_reset_removes_every_recognisable_session(tmp_path, content):
    path = tmp_path / "s.json"
    path.write_bytes(content)
    assert session.is_session(content)
    assert session.reset(path) is True
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("content", [b"", b"{}", b'{"a": 2}', b"[1, 2]", b"L = a * b\n", b"x,y\n1,2\n",
                                     b'{"format": "2", "program": "L = a"}', b'{"format": 2, "values": {}}',
                                     b'{"program": "L = a", "values": {}}', b"\x00" * 100])
def test_reset_refuses_every_other_file(tmp_path, content):
    path = tmp_path / "s.json"
    path.write_bytes(content)
    assert not session.is_session(content)
    with pytest.raises(SessionError, match="is not a scalargrad session .*; not removing it"):
        session.reset(path)
    assert path.read_bytes() == content and sorted(p.name for p in tmp_path.iterdir()) == ["s.json"]


def test_reset_through_a_link_removes_the_session_it_leads_to_and_keeps_the_link(tmp_path):
    real = tmp_path / "shared" / "s.json"
    real.parent.mkdir()
    session.start(real, LECTURE, LECTURE_INPUTS)
    link = tmp_path / "s.json"
    link.symlink_to(real)
    session.start(link, "L = q", {"q": 1.0})  # written where the link leads: the link stays
    assert link.is_symlink() and session.read(real).program == "L = q"
    assert session.reset(link) is True
    assert link.is_symlink() and not real.exists()
    assert session.reset(link) is False  # a link to nothing: nothing to forget
    assert sorted(p.name for p in real.parent.iterdir()) == [] and sorted(p.name for p in tmp_path.iterdir()) == [
        "s.json", "shared"]


HINT_PATHS = {
    "default": None,
    "beside": "s.json",
    "in a folder with a space": "my sessions/s.json",
    "a quote in the name": "it's.json",
    "outside the folder": "../elsewhere/s.json",
}


@pytest.mark.parametrize("where", HINT_PATHS.values(), ids=HINT_PATHS.keys())
@pytest.mark.parametrize("how", ["option", "environment"])
def test_the_corrupt_session_hint_works_when_typed_as_given(installed, tmp_path, where, how):
    """The hint named `scalargrad session --reset` without `--session PATH`, so following it did
    nothing (issue 21). Here it is typed literally, in the same folder and environment."""
    import shlex

    work = tmp_path / "work"
    (work / "my sessions").mkdir(parents=True)
    (tmp_path / "elsewhere").mkdir()
    damaged = work / (where or ".scalargrad/session.json")
    damaged.parent.mkdir(exist_ok=True)
    damaged.write_text('{"format": 2, "program": ')
    env, given = plain_env(), []
    if where is not None and how == "option":
        given = ["--session", where]
    elif where is not None:
        env[session.ENV_VAR] = where
    result = installed("grad", *given, cwd=work, env=env)
    assert result.exit_code == 2
    hint = result.stderr.splitlines()[-1]
    assert hint.startswith("hint: `scalargrad session --reset") and hint.endswith(
        "` forgets it (or add --no-session to ignore it for one command)"), hint
    typed = shlex.split(hint.split("`")[1])
    assert typed[:3] == ["scalargrad", "session", "--reset"]
    assert ("--session" in typed) == (how == "option" and where is not None)  # a bare reset finds the default and $SCALARGRAD_SESSION
    followed = installed(*typed[1:], cwd=work, env=env)
    assert followed.exit_code == 0, followed.stderr
    assert not damaged.exists() and not os.path.exists(str(damaged) + ".lock")
    assert installed("grad", LECTURE, *LECTURE_VALUES, *given, cwd=work, env=env).exit_code == 0
    assert saved(damaged)["program"] == LECTURE


def test_no_command_leaves_a_lock_file(installed, tmp_path):
    env = plain_env()
    (tmp_path / "d.csv").write_text("x,y\n1,2\n2,4\n")
    for args in (["grad", "L = sum((w*x - y)**2)", "--w", "1", "--bindings", "d.csv"], ["step", "--descend"],
                 ["check"], ["session"], ["session", "--data", "d.csv"], ["dot", "-o", "g.gv"],
                 ["explain", "--of", "w"], ["hessian"], ["session", "--reset"],
                 ["grad", LECTURE, *LECTURE_VALUES, "--session", "s.json"], ["step", "--session", "s.json"]):
        result = installed(*args, cwd=tmp_path, env=env)
        assert result.exit_code in (0, 1), (args, result.stderr)
        assert [p for p in tmp_path.rglob("*") if p.name.endswith((".lock", ".tmp"))] == [], args


# -- damaged files -------------------------------------------------------------------------
CORRUPT = {
    "not JSON": (b'{"format": 1, "program": ', "is corrupt: line 1, column 26: Expecting value"),
    "bad value": (b'{"format": 1, "program": "y = x", "values": {"x": "1"}}',
                  "is corrupt: the value of `x` is not a finite number"),
    "NaN": (b'{"format": 1, "program": "y = x", "values": {"x": NaN}}', "is corrupt: NaN is not a finite number"),
    "bad history": (b'{"format": 1, "program": "y = x", "values": {"x": 1}, "history": [3]}',
                    "is corrupt: its history is not a list of objects"),
    "not UTF-8": (b'{"format": 1, "program": "\xff"}', "is corrupt: it is not UTF-8 text"),
    "newer format": (b'{"format": %d, "program": "y = x", "values": {"x": 1}, "history": []}' % (session.FORMAT + 1),
                     f"was written by a newer scalargrad (format {session.FORMAT + 1}; this one reads format "
                     f"{session.FORMAT})"),
    "program no longer parses": (b'{"format": 1, "program": "y = (x", "values": {"x": 1}}',
                                 "does not parse: "),
}


@pytest.mark.parametrize("content, message", CORRUPT.values(), ids=CORRUPT.keys())
def test_a_damaged_session_is_a_clear_error_saying_how_to_reset(cli, session_file, content, message):
    session_file.write_bytes(content)
    result = cli("grad")
    assert result.exit_code == 2
    assert message in result.stderr and RESET in result.stderr
    assert "Traceback" not in result.stderr


NOT_SESSIONS = {
    "not an object": (b"[1, 2]", "is not a scalargrad session (it is not a JSON object)"),
    "no format": (b'{"program": "y = x", "values": {"x": 1}}', "is not a scalargrad session (it has no format version)"),
    "no program": (b'{"format": 1, "values": {}}', "is not a scalargrad session (it has no program text)"),
    "values": (b'{"a": 2, "b": -3}', "is not a scalargrad session (it has no format version)"),
    "a program": (b"L = (a*b + c) * f\n", "is not a scalargrad session (line 1, column 1: Expecting value)"),
}


@pytest.mark.parametrize("content, message", NOT_SESSIONS.values(), ids=NOT_SESSIONS.keys())
def test_a_file_that_is_not_a_session_is_neither_read_replaced_nor_reset(cli, session_file, content, message):
    session_file.write_bytes(content)
    for args in (("grad",), ("grad", LECTURE, *LECTURE_VALUES), ("session",), ("session", "--reset")):
        result = cli(*args)
        assert result.exit_code == 2
        assert message in result.stderr or "not removing it" in result.stderr, result.stderr
        assert "--reset" not in result.stderr.split("hint:")[-1]  # the hint never sends the user to reset it
    assert session_file.read_bytes() == content


def test_a_damaged_session_is_not_overwritten_but_can_be_reset(installed, tmp_path):
    env = plain_env()
    damaged = tmp_path / ".scalargrad" / "session.json"
    damaged.parent.mkdir()
    damaged.write_text('{"format": 1, "program": ')
    for args in (("grad",), ("grad", LECTURE, *LECTURE_VALUES), ("session",)):
        result = installed(*args, cwd=tmp_path, env=env)
        assert result.exit_code == 2, args
        assert result.stderr.splitlines() == [
            "error: session file .scalargrad/session.json is corrupt: line 1, column 26: Expecting value",
            f"hint: `{RESET}` forgets it (or add --no-session to ignore it for one command)",
        ]
    assert damaged.read_text() == '{"format": 1, "program": '
    assert installed("grad", LECTURE, *LECTURE_VALUES, "--no-session", cwd=tmp_path, env=env).exit_code == 0
    assert installed("session", "--reset", cwd=tmp_path, env=env).exit_code == 0
    assert installed("grad", LECTURE, *LECTURE_VALUES, cwd=tmp_path, env=env).exit_code == 0
    assert saved(damaged)["program"] == LECTURE


def test_a_newer_session_is_left_alone(cli, session_file):
    newer = '{"format": 7, "program": "y = x", "values": {"x": 1}, "whatever": "comes next"}'
    session_file.write_text(newer)
    result = cli("grad", LECTURE, *LECTURE_VALUES)
    assert result.exit_code == 2
    assert "upgrade scalargrad to continue it, or `scalargrad session --reset` forgets it" in result.stderr
    assert session_file.read_text() == newer


def test_a_folder_in_place_of_the_session_file(cli, tmp_path):
    result = cli("grad", "--session", str(tmp_path))
    assert result.exit_code == 2 and "is a directory" in result.stderr


# -- the library API for step --------------------------------------------------------------
def nudge(program_text: str, values: dict[str, float], lr: float) -> tuple[float, float, dict[str, float]]:
    """What `step` does (the lecture's `a.data += 0.01 * a.grad`), through the library."""
    program = parse(program_text)
    program.run(values)
    before = program.output.data
    nudged = {name: node.data + lr * node.grad for name, node in program.inputs.items()}
    program.evaluate(nudged)
    return before, program.output.data, nudged


def test_two_lecture_steps_saved_through_record_step(cli, session_file):
    assert cli("grad", LECTURE, *LECTURE_VALUES).exit_code == 0
    for _ in range(2):
        current = session.read(session_file)
        before, after, values = nudge(current.program, current.values, 0.01)
        session.record_step(session_file, program=current.program, lr=0.01, before=before, after=after,
                            values=values)
    current = session.read(session_file)
    assert [(e["step"], e["lr"]) for e in current.history] == [(1, 0.01), (2, 0.01)]
    assert current.history[0]["before"] == -8.0
    assert current.history[0]["after"] == pytest.approx(-7.286496, abs=1e-12)
    assert current.history[1]["before"] == current.history[0]["after"]
    assert current.history[1]["after"] == pytest.approx(-6.597755834428276, abs=1e-12)
    assert current.values == pytest.approx({"a": 2.119584, "b": -3.080376, "c": 9.9604, "f": -1.922824}, abs=1e-12)
    assert current.history[1]["values"] == current.values
    # The next command without a program continues from the nudged values.
    doc = cli("grad", "--json").json()
    assert doc["output"]["value"] == pytest.approx(-6.597755834428276, abs=1e-12)
    assert "2 runs of step" in cli("grad").stderr


def test_record_step_refuses_a_session_that_changed_meanwhile(cli, session_file):
    cli("grad", "y = x * x", "--x", "3")
    with pytest.raises(SessionError, match="changed while this step ran") as raised:
        session.record_step(session_file, program=LECTURE, lr=0.01, before=-8.0, after=-7.0, values=LECTURE_INPUTS)
    assert raised.value.hint == "run the step again"
    assert saved(session_file)["values"] == {"x": 3.0} and saved(session_file)["history"] == []
    session_file.unlink()
    with pytest.raises(SessionError, match="no session"):
        session.record_step(session_file, program=LECTURE, lr=0.01, before=-8.0, after=-7.0, values=LECTURE_INPUTS)


def test_record_step_keeps_extra_details(tmp_path):
    path = tmp_path / "s.json"
    session.start(path, LECTURE, LECTURE_INPUTS)
    result = session.record_step(path, program=LECTURE, lr=0.01, before=-8.0, after=-7.0, values=LECTURE_INPUTS,
                                 of="L", grads={"a": 6.0})
    assert result.history[-1] == {"step": 1, "lr": 0.01, "before": -8.0, "after": -7.0, "values": LECTURE_INPUTS,
                                  "of": "L", "grads": {"a": 6.0}}
    assert session.read(path).history == result.history


def test_transaction_writes_nothing_when_its_block_fails(tmp_path):
    path = tmp_path / "s.json"
    session.start(path, LECTURE, LECTURE_INPUTS)
    before = path.read_bytes()
    with pytest.raises(RuntimeError):
        with session.transaction(path) as current:
            current.values["a"] = 99.0
            raise RuntimeError("a step failed half-way")
    assert path.read_bytes() == before


def test_a_failed_write_leaves_the_old_file_and_no_temporary_file(tmp_path, monkeypatch):
    path = tmp_path / "s.json"
    session.start(path, LECTURE, LECTURE_INPUTS)
    before = path.read_bytes()

    def disk_full(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(session.os, "replace", disk_full)
    with pytest.raises(SessionError, match="cannot write session file .*No space left on device"):
        session.record_step(path, program=LECTURE, lr=0.01, before=-8.0, after=-7.0, values={"a": 1.0})
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.json"]  # nor a lock file


WORKER = """
import sys
from scalargrad import session
path, worker, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
for i in range(count):
    current = session.read(path)
    values = {"a": current.values["a"] + 1}
    session.record_step(path, program=current.program, lr=0.01, before=0.0, after=1.0, values=values,
                        worker=worker, i=i)
"""


def test_concurrent_read_modify_writes_lose_nothing(tmp_path):
    path = tmp_path / "s.json"
    session.start(path, LECTURE, LECTURE_INPUTS)
    workers, count = 8, 10
    procs = [subprocess.Popen([sys.executable, "-c", WORKER, str(path), str(w), str(count)],
                              stderr=subprocess.PIPE, text=True) for w in range(workers)]
    for proc in procs:
        assert proc.wait(timeout=120) == 0, proc.stderr.read()
    current = session.read(path)  # a valid file: read() checks every field
    assert len(current.history) == workers * count
    assert [entry["step"] for entry in current.history] == list(range(1, workers * count + 1))
    seen = {(entry["worker"], entry["i"]) for entry in current.history}
    assert seen == {(str(w), i) for w in range(workers) for i in range(count)}
    # Each worker's own entries are in its order.
    for w in range(workers):
        mine = [entry["i"] for entry in current.history if entry["worker"] == str(w)]
        assert mine == list(range(count))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.json"]  # removed by each holder, left by none


def test_concurrent_commands_leave_a_valid_session(tmp_path):
    env = plain_env()
    procs = [subprocess.Popen([installed_command(), "grad", LECTURE, "--a", str(a), "--b", "-3", "--c", "10",
                               "--f", "-2"], cwd=tmp_path, env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, text=True) for a in range(6)]
    for proc in procs:
        assert proc.wait(timeout=120) == 0, proc.stderr.read()
    current = session.read(tmp_path / ".scalargrad" / "session.json")
    assert current.program == LECTURE and current.values["a"] in {float(a) for a in range(6)}
    assert [p.name for p in (tmp_path / ".scalargrad").iterdir() if p.name.endswith(".tmp")] == []


# -- every program command takes the options ----------------------------------------------
def test_every_program_command_takes_session_options():
    for command in app.registered_commands:
        parameters = inspect.signature(command.callback).parameters
        if "file" in parameters:  # a command that loads a program
            assert {"session", "no_session"} <= set(parameters), command.callback.__name__


def test_help_mentions_the_session(cli):
    assert "--no-session" in cli("grad", "--help").stdout
    result = cli("session", "--help")
    assert result.exit_code == 0 and "--reset" in result.stdout


def test_fresh_values_rereads_only_what_came_from_the_session(tmp_path):
    path = tmp_path / "s.json"
    session.start(path, LECTURE, LECTURE_INPUTS)
    loaded_values = {"a": 5.0, "b": -3.0, "c": 10.0, "f": -2.0}
    origin = {"a": "command line", "b": "session", "c": "session", "f": "session"}
    session.record_step(path, program=LECTURE, lr=0.01, before=-8.0, after=-7.286496,
                        values={"a": 2.06, "b": -3.04, "c": 9.98, "f": -1.96})
    with session.transaction(path) as current:
        assert session.fresh_values(loaded_values, origin, current) == {"a": 5.0, "b": -3.04, "c": 9.98, "f": -1.96}
    assert session.fresh_values(loaded_values, origin, None) == loaded_values


def test_session_use_is_active_only_when_there_is_a_file_to_save_into(tmp_path):
    from scalargrad.session import SessionUse

    assert not SessionUse(None).active
    assert not SessionUse(tmp_path / "s.json").active  # could not be saved: neither used nor recorded
    assert SessionUse(tmp_path / "s.json", recorded=True).active
    assert SessionUse(tmp_path / "s.json", used=True).active


def test_a_long_history_shows_its_last_steps(cli, session_file):
    cli("grad", "y = x * x", "--x", "1")
    for i in range(60):
        session.record_step(session_file, program="y = x * x", lr=0.5, before=float(i), after=float(i + 1),
                            values={"x": float(i + 2)})
    lines = cli("session").stdout.splitlines()
    assert lines[-1] == "showing the last 50 of 60 runs; --json gives them all"
    assert lines[-51].split() == ["11", "1", "ascend", "0.5", "10", "11"]
    assert lines[-2].split() == ["60", "1", "ascend", "0.5", "59", "60"]
    assert len(cli("session", "--json").json()["history"]) == 60


# -- step continues the session (the design's own example) ---------------------------------
def test_two_steps_after_grad_follow_the_lecture(installed, tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "SCALARGRAD_SESSION"}
    first = installed("grad", "L = (a*b + c) * f", "--a", "2", "--b", "-3", "--c", "10", "--f", "-2",
                      cwd=tmp_path, env=env)
    assert first.exit_code == 0, first.stderr
    one = installed("step", "--lr", "0.01", "--json", cwd=tmp_path, env=env)
    assert one.exit_code == 0, one.stderr
    assert "using session .scalargrad/session.json" in one.stderr
    doc = json.loads(one.stdout)
    assert doc["before"]["output"] == -8.0 and doc["after"]["output"] == pytest.approx(-7.286496, abs=1e-12)
    two = installed("step", "--lr", "0.01", "--json", cwd=tmp_path, env=env)
    doc = json.loads(two.stdout)
    assert doc["after"]["output"] == pytest.approx(-6.597755834428276, abs=1e-12)
    assert doc["values"] == pytest.approx({"a": 2.119584, "b": -3.080376, "c": 9.9604, "f": -1.922824}, abs=1e-12)
    shown = installed("session", "--json", cwd=tmp_path, env=env)
    saved = json.loads(shown.stdout)
    assert [entry["after"] for entry in saved["history"]] == pytest.approx([-7.286496, -6.597755834428276])
    assert saved["values"] == pytest.approx(doc["values"])
    grad = installed("grad", "--json", cwd=tmp_path, env=env)
    assert json.loads(grad.stdout)["output"]["value"] == pytest.approx(-6.597755834428276)


def test_step_override_is_saved(cli, tmp_path):
    path = str(tmp_path / "s.json")
    assert cli("grad", "L = a * b", "--a", "1", "--b", "2", "--session", path).exit_code == 0
    result = cli("step", "--b", "10", "--lr", "0.1", "--session", path, "--json")
    assert result.exit_code == 0, result.stderr
    assert result.json()["values"] == {"a": 2.0, "b": 10.1}
    assert cli("session", "--session", path, "--json").json()["values"] == {"a": 2.0, "b": 10.1}


def test_concurrent_steps_all_land_in_the_history(installed, tmp_path):
    path = str(tmp_path / "s.json")
    assert installed("grad", "L = x", "--x", "0", "--session", path).exit_code == 0
    command = [installed_command(), "step", "--lr", "1", "--session", path, "--json"]
    procs = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(6)]
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
    saved = installed("session", "--session", path, "--json").json()
    assert [entry["step"] for entry in saved["history"]] == [1, 2, 3, 4, 5, 6]
    # each step nudged x by 1 * dL/dx = 1 from the value the previous one saved
    assert saved["values"] == {"x": 6.0}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.json"]  # the lock file went with the last step


def test_dot_after_step_draws_the_nudged_values(cli, tmp_path):
    path = str(tmp_path / "s.json")
    assert cli("grad", LECTURE, *LECTURE_VALUES, "--session", path).exit_code == 0
    assert cli("step", "--lr", "0.01", "--session", path).exit_code == 0
    result = cli("dot", "-o", str(tmp_path / "graph.gv"), "--session", path)
    assert result.exit_code == 0, result.stderr
    source = (tmp_path / "graph.gv").read_text()
    assert "{ a | data 2.0600 | grad " in source and "{ L | data -7.2865 | grad 1.0000 }" in source


def test_a_new_program_says_which_session_with_steps_it_replaced(cli, tmp_path):
    path = str(tmp_path / "s.json")
    cli("grad", LECTURE, *LECTURE_VALUES, "--session", path)
    cli("step", "--session", path)
    result = cli("grad", "L = q * q", "--q", "3", "--session", path)
    assert result.exit_code == 0
    assert result.stderr == (f"note: a new session replaced the one in {path} "
                             "(program: L = (a*b + c) * f, 1 run of step)\n")
    assert cli("session", "--json", "--session", path).json()["program"] == "L = q * q"


# -- check's verdicts, kept for the page -----------------------------------------------------
def test_check_keeps_its_verdicts_in_the_session(cli, session_file):
    assert cli("grad", LECTURE, *LECTURE_VALUES).exit_code == 0
    result = cli("check")
    assert result.exit_code == 0, result.stderr
    kept = saved(session_file)["check"]
    assert kept["program"] == LECTURE and kept["values"] == LECTURE_INPUTS and kept["of"] == 6
    assert kept["summary"].startswith("ok: 5 checked, 5 passed, 0 failed (central differences")
    assert [(row["id"], row["label"], row["status"], row["analytic"]) for row in kept["rows"]] == [
        (0, "a", "PASS", 6.0), (1, "b", "PASS", -4.0), (3, "c", "PASS", -2.0), (5, "f", "PASS", 4.0),
        (6, "L", "PASS", 1.0)]
    assert all(abs(row["numeric"] - row["analytic"]) < 1e-9 for row in kept["rows"])
    assert "reason" not in kept["rows"][0]
    assert session.read(session_file).check == kept
    assert saved(session_file)["values"] == LECTURE_INPUTS  # check moves nothing


def test_a_check_is_kept_at_the_values_it_ran_at_and_goes_with_its_program(cli, session_file):
    assert cli("grad", LECTURE, *LECTURE_VALUES).exit_code == 0
    assert cli("check", "--a", "3", "--all").exit_code == 0  # a = 3 for this run only
    document = saved(session_file)
    assert document["values"]["a"] == 2.0 and document["check"]["values"]["a"] == 3.0
    assert len(document["check"]["rows"]) == 7
    assert cli("step", "--lr", "0.01").exit_code == 0  # a step keeps it; its values now differ
    document = saved(session_file)
    assert document["values"]["a"] == 2.06 and document["check"]["values"]["a"] == 3.0
    assert cli("check", "--order", "2").exit_code == 0  # the Hessian's check is not per node: not kept
    assert saved(session_file)["check"]["values"]["a"] == 3.0
    assert cli("grad", LECTURE, *LECTURE_VALUES).exit_code == 0  # the program again: a new session
    assert "check" not in saved(session_file)


def test_a_kink_is_kept_with_its_reason(cli, session_file):
    assert cli("check", "L = relu(a) * 2", "--a", "0").exit_code == 0
    (a, L) = saved(session_file)["check"]["rows"]
    assert (a["label"], a["status"]) == ("a", "KINK") and "relu has a kink" in a["reason"]
    assert L["status"] == "PASS"


def test_check_without_a_session_keeps_nothing(cli, session_file):
    assert cli("check", LECTURE, *LECTURE_VALUES, "--no-session").exit_code == 0
    assert not session_file.exists()


def test_a_check_on_data_is_kept_with_the_datas_digest_and_applies_to_that_data_only(cli, session_file, tmp_path):
    """Verdicts on data columns hold for that data: kept with the digest of the file read, shown
    as applying while the session's data is that file, as "on other data" after a check on another."""
    import hashlib

    text = "x,y\n1,2\n2,3\n"
    (tmp_path / "data.csv").write_text(text)
    fit = "w = 0.5; L = mean((w * x - y) ** 2)"
    assert cli("check", fit, "--bindings", str(tmp_path / "data.csv")).exit_code == 0
    kept = saved(session_file)
    assert kept["program"] == fit and kept["check"]["data"] == hashlib.sha256(text.encode()).hexdigest()
    assert kept["data"]["sha256"] == kept["check"]["data"]
    (w, L) = kept["check"]["rows"]
    assert (w["label"], w["status"], w["analytic"]) == ("w", "PASS", -5.5)  # mean of 2(wx - y)x: (-3 - 8) / 2
    assert "last check, at the session's values" in cli("session").stdout
    (tmp_path / "other.csv").write_text("x,y\n1,1\n")
    assert cli("check", "--bindings", str(tmp_path / "other.csv")).exit_code == 0
    assert "last check, on other data" in cli("session").stdout
    assert cli("session", "--json").json()["check"]["current"] is False


def test_a_check_that_cannot_be_saved_still_shows_its_result(cli, session_file, monkeypatch):
    assert cli("grad", LECTURE, *LECTURE_VALUES).exit_code == 0
    real_open = os.open

    def no_lock(path, flags, *args):
        if str(path).endswith(".lock"):
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path, flags, *args)

    monkeypatch.setattr(session.os, "open", no_lock)
    result = cli("check", "--json")
    assert result.exit_code == 0, result.stderr
    message = "the check was not saved in the session: cannot lock session file"
    assert f"warning: {message}" in result.stderr
    assert result.json()["summary"]["passed"] == 5 and any(message in w for w in result.json()["warnings"])
    monkeypatch.setattr(session.os, "open", real_open)
    assert session.read(session_file).check is None


def test_a_check_is_not_saved_into_a_session_that_changed_meanwhile(tmp_path):
    path = tmp_path / "s.json"
    session.start(path, "L = q * q", {"q": 3.0})
    record = {"program": LECTURE, "values": LECTURE_INPUTS, "of": 6, "rows": []}
    with pytest.raises(SessionError, match=r"changed while this check ran \(it now holds `L = q \* q`\); "
                                           "the check was not saved"):
        session.record_check(path, record)
    session.reset(path)
    with pytest.raises(SessionError, match="there is no session at .* to save this check in"):
        session.record_check(path, record)


def test_a_session_without_check_reads_as_no_check(tmp_path):
    path = tmp_path / "s.json"
    path.write_text('{"format": 1, "program": "y = x", "values": {"x": 1}}')
    assert session.read(path).check is None


def test_session_shows_the_last_check_and_whether_it_still_applies(cli):
    from conftest import LECTURE, LECTURE_VALUES

    assert cli("check", LECTURE, *LECTURE_VALUES).exit_code == 0
    shown = cli("session").stdout
    assert "last check, at the session's values" in shown and "a     PASS          6        6" in shown
    assert cli("session", "--json").json()["check"]["current"] is True
    assert cli("step", "--lr", "0.01").exit_code == 0
    shown = cli("session").stdout
    assert "last check, at other values: a = 2 (now 2.06), b = -3 (now -3.04)" in shown
    doc = cli("session", "--json").json()
    assert doc["check"]["current"] is False and [row["status"] for row in doc["check"]["rows"]] == ["PASS"] * 5


def test_session_history_shows_a_schedule_as_written(cli):
    assert cli("step", "L = (w - 3)**2", "--w", "0", "--descend", "--steps", "3", "--lr", "0.1 / (1 + k)").exit_code == 0
    shown = cli("session").stdout
    assert "0.1 / (1 + k)" in shown.splitlines()[-1]


def test_the_session_shows_an_array_of_values_as_one_row(cli):
    program = "W = uniform(-1, 1, [3, 2]); b = zeros([1]); c = 2; L = sum(W * W) + b[0] * c"
    assert cli("grad", program).exit_code == 0
    shown = cli("session").stdout.splitlines()
    start = shown.index("values")
    values = cli("session", "--json").json()["values"]  # an array as a nested list of its shape
    assert [len(row) for row in values["W"]] == [2, 2, 2] and values["b"] == [0.0] and values["c"] == 2
    low, high = min(min(row) for row in values["W"]), max(max(row) for row in values["W"])
    assert shown[start + 2].split() == ["W", "(3,", "2)", f"{low:.4g}", "…", f"{high:.4g}"]
    assert shown[start + 3].split() == ["b[0]", "0"] and shown[start + 4].split() == ["c", "2"]
    assert shown[start + 5] == "arrays are summarised, one row each; --json gives every value"
    assert len(values) == 3
