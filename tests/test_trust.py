"""What a user can trust whatever the input: gradients that exist are shown even where another
is undefined, output failures are words, interrupted work is kept, text from the input never
reaches the terminal raw."""

import pytest

from conftest import LECTURE, LECTURE_VALUES, Terminal


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


# -- Ctrl-C during a long step keeps the steps taken -----------------------------------------------
def test_ctrl_c_stops_at_a_step_boundary_and_keeps_the_steps_taken(cli, monkeypatch, tmp_path):
    import json

    from scalargrad.program import Program

    backward, calls = Program.backward, []

    def interrupted_on_the_fourth(self, of=None):
        calls.append(1)
        if len(calls) == 4:
            raise KeyboardInterrupt
        return backward(self, of)

    monkeypatch.setattr(Program, "backward", interrupted_on_the_fourth)
    saved = tmp_path / "values.json"
    result = cli("step", LECTURE, *LECTURE_VALUES, "--steps", "10", "--save", str(saved))
    assert result.exit_code == 130
    assert "warning: interrupted after 3 of 10 steps (kept)" in result.stderr
    monkeypatch.setattr(Program, "backward", backward)
    three = cli("step", LECTURE, *LECTURE_VALUES, "--steps", "3", "--no-session", "--json").json()
    assert json.loads(saved.read_text()) == three["values"]  # --save has the three completed steps
    shown = cli("session", "--json").json()
    assert shown["values"] == three["values"] and shown["history"][-1]["steps"] == 3


def test_ctrl_c_before_the_first_step_saves_nothing(cli, monkeypatch):
    from scalargrad.program import Program

    def interrupt(self, of=None):
        raise KeyboardInterrupt

    assert cli("grad", LECTURE, *LECTURE_VALUES).exit_code == 0
    monkeypatch.setattr(Program, "backward", interrupt)
    result = cli("step", "--steps", "10")
    assert result.exit_code == 130 and "interrupted after 0 of 10 steps (nothing changed)" in result.stderr
    monkeypatch.undo()
    assert cli("session", "--json").json()["history"] == []


def test_a_real_sigint_stops_a_long_run_and_saves_it(tmp_path):
    """SIGINT sent to the process (as `kill -INT` does) once the steps are under way, which the
    test sees by the progress bar on the terminal the command's stderr is: never after a sleep,
    which on a busy machine may end before the first step (or before Python has started)."""
    import json
    import os
    import pty
    import re
    import signal
    import subprocess

    from conftest import installed_command, read_until, read_until_closed

    session, saved_values = tmp_path / "session.json", tmp_path / "values.json"
    terminal, stderr = pty.openpty()
    proc = subprocess.Popen([installed_command(), "step", LECTURE, *LECTURE_VALUES, "--steps", "100000000",
                             "--lr", "1e-9", "--session", str(session), "--save", str(saved_values)],
                            stdout=subprocess.PIPE, stderr=stderr, text=True,
                            # A shell starting the tests in the background (`pytest &`) ignores SIGINT for
                            # them, and an ignored signal stays ignored across exec: give the command the default.
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    os.close(stderr)
    screen = read_until(terminal, r"stepping: L = ")
    proc.send_signal(signal.SIGINT)
    out = proc.communicate(timeout=120)[0]  # a hang-stopper only
    err = (screen + read_until_closed(terminal)).decode(errors="replace")
    assert proc.returncode == 130, err
    steps = int(re.search(r"interrupted after (\d+) of 100000000 steps \(kept\)", err)[1])
    assert 0 < steps < 100000000 and f"inputs after {steps} steps of lr 1e-09" in out
    saved = json.loads(session.read_text())
    assert saved["history"][-1]["steps"] == steps and saved["values"] == json.loads(saved_values.read_text())


# -- a session that cannot be saved does not cost the result -------------------------------------
def test_a_step_in_a_read_only_session_prints_its_result_and_warns(cli, monkeypatch):
    import errno
    import os

    from scalargrad import session

    assert cli("grad", LECTURE, *LECTURE_VALUES).exit_code == 0
    real_open = os.open

    def read_only(path, flags, *args):
        if str(path).endswith(".lock") or ".tmp" in str(path):
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real_open(path, flags, *args)

    monkeypatch.setattr(session.os, "open", read_only)
    monkeypatch.setattr("tempfile._os.open", read_only, raising=False)
    result = cli("step", "--lr", "0.01")
    assert result.exit_code == 0, result.stderr
    assert "-7.286496" in result.stdout
    assert "warning: the session was not saved: cannot lock session file" in result.stderr
    monkeypatch.undo()
    assert cli("session", "--json").json()["history"] == []  # nothing half-saved


# -- nothing from the input reaches the terminal raw ---------------------------------------------
CONTROLS = [chr(c) for c in [*range(0, 10), *range(11, 32), 127, *range(128, 160)]] + list("\u202e\u2066\u200f")


def raw(text: str) -> set[str]:
    return {ch for ch in text if ch in CONTROLS}


@pytest.mark.parametrize("ch", CONTROLS, ids=lambda ch: f"U+{ord(ch):04X}")
def test_a_control_character_in_a_program_is_shown_escaped_with_the_caret_in_place(cli, ch):
    result = cli("grad", f"L = a {ch}]0;PWNED + b", "--a", "1", "--b", "2", "--no-session")
    if ch in "\t\x0c":  # blanks of the language: the program parses, then stops at `]`
        assert result.exit_code == 2 and not raw(result.stderr)
        return
    assert result.exit_code == 2 and not raw(result.stdout + result.stderr)
    lines = result.stderr.splitlines()
    source, caret = lines[1], lines[2]
    escaped = f"\\x{ord(ch):02x}" if ord(ch) < 0x100 else f"\\u{ord(ch):04x}"
    assert escaped in source
    assert caret.index("^") == source.index(escaped)  # the caret points at the character


# (a control character that some display takes for a line break, U+001D, is refused in a program:
# tests/test_lexer.py)
@pytest.mark.parametrize("ch", [ch for ch in CONTROLS[::7] if ch not in "\x1c\x1d\x1e\x85\v\f\r"],
                         ids=lambda ch: f"U+{ord(ch):04X}")
def test_control_characters_in_comments_bindings_and_sessions_stay_escaped(cli, tmp_path, ch):
    import json

    program = f"L = a * b  # note {ch}[2J"
    bindings = tmp_path / "values.json"
    bindings.write_text(json.dumps({"a": 2, "b": 3, f"c{ch}": 1}))
    result = cli("grad", program, "--bindings", str(bindings))
    assert result.exit_code == 0 and "is not an input" in result.stderr
    shown = cli("session")
    assert shown.exit_code == 0 and "# note" in shown.stdout
    drawn = cli("dot", "--format", "dot")
    step = cli("step", "--steps", "3")
    for run in (result, shown, step):
        assert not raw(run.stdout + run.stderr)
    assert not raw(drawn.stdout + drawn.stderr) - {"\t"}  # DOT source is indented with tabs


def test_the_lecture_output_is_unchanged_by_escaping(cli):
    result = cli("grad", LECTURE, *LECTURE_VALUES, "--no-session")
    assert result.stdout.splitlines()[1].split() == ["id", "node", "op", "data", "grad", "role"]
    assert "a*b + c" in result.stdout


# -- whatever the environment: a full disk, an ASCII terminal, little memory ---------------------
def plain_env(**extra):
    import os

    env = {key: value for key, value in os.environ.items() if not key.startswith(("LC_", "PYTHONIO", "PYTHONUTF8"))}
    return {**env, **extra}


@pytest.mark.skipif(not __import__("os").path.exists("/dev/full"), reason="needs /dev/full")
@pytest.mark.parametrize("args", [
    ["grad", LECTURE, *LECTURE_VALUES], ["grad", LECTURE, *LECTURE_VALUES, "--json"],
    ["check", LECTURE, *LECTURE_VALUES], ["step", LECTURE, *LECTURE_VALUES, "--steps", "3"],
    ["explain", LECTURE, *LECTURE_VALUES], ["dot", LECTURE, *LECTURE_VALUES, "--format", "dot"],
    ["session"],
], ids=lambda args: " ".join(args[:1] + args[-1:]))
def test_a_full_disk_on_stdout_is_an_error_in_words(tmp_path, args):
    import subprocess

    from conftest import installed_command

    with open("/dev/full", "w") as full:
        proc = subprocess.run([installed_command(), *args, "--session", str(tmp_path / "s.json")]
                              if args != ["session"] else [installed_command(), "session", "--session",
                                                           str(tmp_path / "s.json")],
                              stdout=full, stderr=subprocess.PIPE, text=True, timeout=60, env=plain_env())
    assert proc.returncode == 2, proc.stderr  # `session` too: "no session in ..." is its result, on stdout
    assert proc.stderr.startswith("error: cannot write the output: No space left on device"), proc.stderr
    assert "Traceback" not in proc.stderr and "Exception ignored" not in proc.stderr


def test_an_output_name_too_long_for_the_file_system_is_an_error_in_words(cli, tmp_path):
    name = str(tmp_path / ("x" * 300 + ".svg"))
    result = cli("dot", LECTURE, *LECTURE_VALUES, "-o", name, "--no-session")
    assert result.exit_code == 2 and "File name too long" in result.stderr and "hint: choose a shorter name" in result.stderr
    saved = cli("step", LECTURE, *LECTURE_VALUES, "--save", name, "--no-session")
    assert saved.exit_code == 2 and "File name too long" in saved.stderr


@pytest.mark.parametrize("env", [{"LC_ALL": "C", "PYTHONUTF8": "0"}, {"PYTHONIOENCODING": "ascii"}],
                         ids=["C locale", "ascii"])
def test_an_ascii_terminal_gets_ascii_drawing_not_a_crash(installed, tmp_path, env):
    program = "L = (a*b + c) * f  # café, λ"
    stepped = installed("step", program, *LECTURE_VALUES, "--steps", "30", cwd=tmp_path, env=plain_env(**env))
    assert stepped.exit_code == 0, stepped.stderr
    assert "L over 30 steps: ____" in stepped.stdout and "-8 -> 22.0812" in stepped.stdout
    shown = installed("session", cwd=tmp_path, env=plain_env(**env))
    assert shown.exit_code == 0, shown.stderr
    assert "# caf\\xe9, \\u03bb" in shown.stdout  # escaped by the stream, not lost
    again = installed("grad", cwd=tmp_path, env=plain_env())  # and the session reads back as UTF-8
    assert again.exit_code == 0 and "22.0811" in again.stdout


@pytest.mark.slow
@pytest.mark.skipif(__import__("sys").platform != "linux", reason="RLIMIT_AS as on Linux")
def test_running_out_of_memory_is_an_error_in_words(tmp_path):
    import resource
    import subprocess

    from conftest import installed_command

    program = tmp_path / "big.sg"
    defaults = "".join(f"x{i} = 0.5\n" for i in range(50)) + "".join(f"y{i} = 2\n" for i in range(7))
    program.write_text(defaults + "L = " + " + ".join(f"x{i % 50} * y{i % 7}" for i in range(400_000)) + "\n")

    def limit():
        resource.setrlimit(resource.RLIMIT_AS, (300 * 2**20, 300 * 2**20))

    proc = subprocess.run([installed_command(), "grad", "--file", str(program), "--no-session", "--json"],
                          capture_output=True, text=True, timeout=300, preexec_fn=limit, env=plain_env())
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert "out of memory" in proc.stderr and "Traceback" not in proc.stderr


# -- narrow terminals: a number is never cut -------------------------------------------------------
@pytest.mark.parametrize("columns", [20, 40, 60, 120])
def test_a_table_in_a_narrow_terminal_never_wraps_a_number(monkeypatch, columns):
    import re

    from scalargrad import parse
    from scalargrad.gradients import gradients

    monkeypatch.setenv("COLUMNS", str(columns))
    monkeypatch.delenv("NO_COLOR", raising=False)
    report = gradients(parse(LECTURE), {"a": 2, "b": -3, "c": 10, "f": -2.123456789})
    terminal = Terminal()
    report.sections()[0].print(terminal)
    shown = re.sub(r"\x1b\[[0-9;]*m", "", terminal.buffer.getvalue())
    for number in ("6.370370367", "-4.246913578", "-2.123456789", "-8.493827156"):
        assert number in shown, shown  # whole, on one line
    assert all(len(line) <= columns for line in shown.splitlines())
    if columns < 60:
        assert "\na\n  id: 0\n" in shown  # the list form, named by the node


# -- hostile input, generated: whatever it is, a result or a message, never a traceback ---------
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

PIECES = ["a", "b", "x1", "L", " ", "=", "+", "-", "*", "/", "**", "(", ")", ";", "\n", "#", ",", "[", "]",
          "tanh", "log", "exp", "sqrt", "relu", "1", "0", "2.5", "1e308", "1e-320", "-", "−", "λ", "\x1b[2J",
          "\x00", "\u202e", "\ud800", "é", "'", '"', "pi", "def", "atan"]
VALUES = st.one_of(st.floats(allow_nan=True, allow_infinity=True).map(repr),
                   st.sampled_from(["1e999", "-1e-400", "0", "-0", "2,5", "−3", "inf", "-inf", "nan", "", "1_0",
                                    "0x10", "١", "--", "-", "1e", ".", "3 4"]),
                   st.text(max_size=6))


@settings(max_examples=300, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(program=st.lists(st.sampled_from(PIECES), min_size=1, max_size=14).map("".join),
       a=VALUES, b=VALUES, command=st.sampled_from(["grad", "check", "explain", "step", "dot"]),
       extra=st.sampled_from([[], ["--json"], ["--of", "a"], ["--all"]]))
@pytest.mark.slow
def test_generated_hostile_input_gets_a_result_or_a_message(cli, program, a, b, command, extra):
    if command == "dot":
        extra = ["--format", "dot"]
    result = cli(command, program, "--a", a, "--b", b, "--no-session", *extra)  # an exception fails here
    assert result.exit_code in (0, 1, 2), result.stderr
    assert "Traceback" not in result.stderr
    if result.exit_code == 2:  # an error, perhaps after warnings
        assert any(line.startswith("error: ") for line in result.stderr.splitlines()), result.stderr
    assert not raw(result.stderr) and not (command != "dot" and raw(result.stdout))
