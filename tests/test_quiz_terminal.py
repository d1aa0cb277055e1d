"""`scalargrad quiz` at a terminal: the installed command in a pseudo-terminal, as a person runs
it, typing answers at its prompts. Right answers, wrong ones through every hint, `?`, Ctrl-C,
a terminal 40 columns wide; and the same answers in a file (`--answers`) graded alike. The test
waits for each prompt on the screen, never for a time."""

import json
import os
import re

import pytest

from conftest import LECTURE, LECTURE_VALUES, installed_command, read_until, read_until_closed, run_installed

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs a pseudo-terminal")

PROMPT = r"\[\d+\] [^\n]*\.grad = (\x1b\[0m)?$"  # `[4] (a*b + c).grad = `, the prompt waiting
GRADES = {"right first time": "first", "right with hints": "hinted", "answer given": "given", "not answered": "open",
          "not right yet": "open", "not right yet (1 hint shown)": "open", "not right yet (2 hints shown)": "open"}


def plain(screen: bytes) -> str:
    return re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", screen.decode()).replace("\r\n", "\n")


def quiz_at_a_terminal(args, typed, columns=200):
    """Run `scalargrad quiz ARGS` in a pseudo-terminal `columns` wide, typing each of `typed` at a
    prompt (`^C` is Ctrl-C); the screen, colours taken out, and the exit code."""
    import fcntl
    import pty
    import signal
    import struct
    import termios

    command = installed_command()
    env = {**os.environ, "COLUMNS": str(columns), "TERM": "xterm-256color"}
    env.pop("NO_COLOR", None)
    pid, terminal = pty.fork()
    if pid == 0:  # the child: the pseudo-terminal is its terminal, `columns` wide
        signal.signal(signal.SIGINT, signal.SIG_DFL)  # as at a terminal, even when the tests run in the background
        fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", 24, columns, 0, 0))
        os.execve(command, [command, "quiz", *args], env)
    screen = b""
    for text in typed:
        screen += read_until(terminal, PROMPT)
        os.write(terminal, {"^C": b"\x03", "^D": b"\x04"}.get(text, text.encode() + b"\r"))
    screen += read_until_closed(terminal)
    _, status = os.waitpid(pid, 0)
    return plain(screen), os.waitstatus_to_exitcode(status)


LECTURE_ARGS = [LECTURE, *LECTURE_VALUES, "--no-session"]
# the backward order: L, f, a*b + c, c, a*b, b, a with gradients 1, 4, -2, -2, -2, -4, 6


def final_grades(screen: str) -> dict[str, str]:
    """node -> grade from the summary table drawn at the end (the last box on the screen)."""
    box = screen.rsplit("┏", 1)[1]
    grades = {}
    for line in box.splitlines():
        cells = [cell.strip() for cell in line.split("│")]
        if len(cells) == 9 and cells[1].isdigit():
            grades[cells[2]] = GRADES[cells[7]]
    return grades


def test_right_answers_all_first_time():
    screen, code = quiz_at_a_terminal(LECTURE_ARGS, ["1", "4", "-2", "-2", "-2", "-4", "6.0001"])
    assert code == 0, screen
    for prompt, answer in [("[6] L.grad = 1", "right: L.grad = 1"), ("[4] (a*b + c).grad = -2", "right: (a*b + c).grad = -2"),
                           ("[0] a.grad = 6.0001", "right: a.grad = 6")]:
        assert f"{prompt}\n{answer}\n" in screen
    assert set(final_grades(screen).values()) == {"first"}
    assert "right first time 7, right with hints 0, answer given 0, not right yet 0 (of 7)" in screen


def test_wrong_answers_bring_each_hint_in_turn_then_the_answer():
    typed = ["1", "4", "0", "?", "7", "-2", "-2", "-4", "5", "6"]
    screen, code = quiz_at_a_terminal(LECTURE_ARGS, typed)
    assert code == 0, screen
    assert ("[4] (a*b + c).grad = 0\nnot quite, hint 1 of 3 (rule): a*b + c is used once: dL/d(a*b + c) = dL/duser "
            "* duser/d(a*b + c); via L = (a*b + c) * f: d((a*b + c) * f)/d(a*b + c) = y = f (* swaps in the other "
            "factor)\n") in screen
    assert ("[4] (a*b + c).grad = ?\nhint 2 of 3 (product): dL/d(a*b + c) = dL/dL * d((a*b + c) * f)/d(a*b + c) = "
            "(1.0000)(f = -2.0000)\n") in screen
    assert ("[4] (a*b + c).grad = 7\nthe answer: dL/d(a*b + c) = dL/dL * d((a*b + c) * f)/d(a*b + c) = "
            "(1.0000)(f = -2.0000) = -2.0000\n[3] c.grad = ") in screen  # given: the quiz moves on
    assert final_grades(screen) == {"a": "hinted", "b": "first", "a*b": "first", "c": "first", "a*b + c": "given",
                                    "f": "first", "L": "first"}


def test_a_word_that_is_not_a_number_is_said_so_and_not_graded():
    screen, code = quiz_at_a_terminal(LECTURE_ARGS, ["one", "1", "4", "-2", "-2", "-2", "-4", "6"])
    assert "the answer: `one` is not a number" in screen
    assert set(final_grades(screen).values()) == {"first"} and code == 0


def test_ctrl_c_ends_with_the_summary_so_far_and_exit_130():
    screen, code = quiz_at_a_terminal(LECTURE_ARGS, ["1", "3", "^C"])
    assert code == 130, screen
    assert final_grades(screen) == {"a": "open", "b": "open", "a*b": "open", "c": "open", "a*b + c": "open",
                                    "f": "open", "L": "first"}
    assert "stopped (Ctrl-C); so far: right first time 1, right with hints 0, answer given 0, not right yet 6 (of 7)" \
        in " ".join(screen.split())
    assert "Traceback" not in screen


def test_ctrl_d_ends_with_the_summary_and_exit_0():
    screen, code = quiz_at_a_terminal(LECTURE_ARGS, ["?", "?", "?", "^D"])
    assert code == 0, screen
    assert "hint 1 of 3 (rule): L is the node differentiated: the backward pass starts with dL/dL" in screen
    assert "the answer: dL/dL = 1: the backward pass starts here" in screen
    assert final_grades(screen)["L"] == "given" and "not right yet 6 (of 7)" in screen


def test_a_narrow_terminal_keeps_every_line_in_it_and_every_word():
    typed = ["1", "4", "0", "?", "7", "-2", "-2", "-4", "5", "6"]
    narrow, code = quiz_at_a_terminal(LECTURE_ARGS, typed, columns=40)
    assert code == 0
    assert all(len(line) <= 40 for line in narrow.splitlines()), narrow
    wide, _ = quiz_at_a_terminal(LECTURE_ARGS, typed, columns=200)
    hint = re.search(r"hint 2 of 3 \(product\): (.*)\n", wide)[1]
    assert "".join(hint.split()) in "".join(narrow.split())  # wrapped, not cut
    assert "answer given 1" in " ".join(narrow.split())


@pytest.mark.parametrize("typed", [
    ["1", "4", "0", "?", "7", "-2", "-2", "-4", "5", "6"],
    ["0", "0", "0", "?", "4", "-2", "?", "?", "?", "-2", "1", "1", "-4", "6"],
    ["1", "4", "-2", "-2", "-2", "0", "^C"],
])
def test_a_file_of_the_same_answers_gets_the_same_grades(typed, tmp_path):
    """The interactive run's attempts per node, written as a file (`?` as null), graded by --answers."""
    screen, _ = quiz_at_a_terminal(LECTURE_ARGS, typed)
    attempts: dict[str, list] = {}
    for label, answer in re.findall(r"\[\d+\] \(?(.*?)\)?\.grad = (\?|-?[0-9.]+)\n", screen):  # not the ^C echoed
        attempts.setdefault(label, []).append(None if answer == "?" else float(answer))
    path = tmp_path / "answers.json"
    path.write_text(json.dumps(attempts))
    result = run_installed("quiz", *LECTURE_ARGS, "--answers", str(path), "--json")
    graded = {q["label"]: q["grade"] for q in json.loads(result.stdout)["questions"]}
    assert graded == final_grades(screen)


def test_free_order_takes_node_equals_gradient():
    import fcntl  # noqa: F401  (the same pseudo-terminal as above, with its own prompt)

    screen, code = quiz_at_free_order(["a = 6", "? b", "b = -4", "L = 1", "[5] = 4", "c = -2", "a*b + c = -2",
                                       "a*b = -2"])
    assert code == 0, screen
    assert "right: a.grad = 6" in screen
    assert "hint 1 of 3 (rule): b is used once" in screen
    assert "right first time 6, right with hints 1" in " ".join(screen.split())


def quiz_at_free_order(typed):
    import pty

    command = installed_command()
    env = {**os.environ, "COLUMNS": "200", "TERM": "xterm-256color"}
    pid, terminal = pty.fork()
    if pid == 0:
        os.execve(command, [command, "quiz", *LECTURE_ARGS, "--order", "free"], env)
    screen = b""
    for text in typed:
        screen += read_until(terminal, r"node = gradient: (\x1b\[0m)?$")
        os.write(terminal, text.encode() + b"\r")
    screen += read_until_closed(terminal)
    _, status = os.waitpid(pid, 0)
    return plain(screen), os.waitstatus_to_exitcode(status)
