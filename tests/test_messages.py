"""Messages a newcomer meets: the command line parser's own errors speak like every other error
(`error:` and `hint:` lines, no box), and values that look like options are still values."""

import subprocess

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import LECTURE, LECTURE_VALUES, installed_command


@pytest.mark.parametrize("args, error, hint", [
    (["grda"], "error: no command `grda`; did you mean `grad`?", "hint: the commands are grad, check, step"),
    ([LECTURE, *LECTURE_VALUES], "error: no command `L = (a*b + c) * f`",
     'hint: start with a command, as in: scalargrad grad "L = (a*b + c) * f"'),
    (["step", LECTURE, *LECTURE_VALUES, "--steps", "0"], "error: `--steps` must be 1 or more, not 0",
     "hint: see scalargrad step --help"),
    (["step", LECTURE, *LECTURE_VALUES, "--every", "0"], "error: `--every` must be 1 or more, not 0", "hint: "),
    (["check", LECTURE, *LECTURE_VALUES, "--nodes"], "error: `--nodes` needs a value", "hint: write --nodes VALUE"),
    (["grad", LECTURE, *LECTURE_VALUES, "--precision", "x"], "error: `--precision` takes a whole number, not `x`",
     "hint: see scalargrad grad --help"),
    (["grad", LECTURE, *LECTURE_VALUES, "--precision", "30"], "error: `--precision` must be from 1 to 17, not 30",
     "hint: "),
    (["session", "--frobnicate"], "error: unknown option `--frobnicate`", "hint: see scalargrad session --help"),
])
def test_parser_errors_are_words_not_a_box(cli, args, error, hint):
    if args[0] in ("grad", "check", "step"):
        args = [args[0], "--no-session", *args[1:]]
    result = cli(*args)
    assert result.exit_code == 2
    assert result.stderr.startswith(error), result.stderr
    assert hint in result.stderr
    assert "╭" not in result.stderr and "Usage:" not in result.stderr


@pytest.mark.parametrize("value", ["-inf", "-nan", "inf"])
def test_a_non_finite_value_after_its_name_is_a_value(cli, value):
    result = cli("grad", "L = a * b", "--a", value, "--b", "1", "--no-session")
    assert result.exit_code == 2
    assert "the value of `a`" in result.stderr and "it must be a finite number" in result.stderr


def test_help_into_a_pipe_that_closes_early_is_not_an_error():
    with subprocess.Popen([installed_command(), "--help"], stdout=subprocess.PIPE, stderr=subprocess.PIPE) as proc:
        proc.stdout.read(10)
        proc.stdout.close()
        assert proc.wait(timeout=60) == 0
        assert proc.stderr.read() == b""


# -- help a person can read ----------------------------------------------------------------------
def command_names():
    import typer.main

    from scalargrad.cli import app

    return list(typer.main.get_command(app).commands)


@pytest.mark.parametrize("command", command_names())
def test_help_text_is_whole_and_every_value_has_a_named_metavar(command):
    import typer.main

    from scalargrad.cli import app

    click_command = typer.main.get_command(app).commands[command]
    for param in click_command.params:
        help_text = getattr(param, "help", "") or ""
        assert "[" not in help_text.replace("\\[", ""), f"{param.name}: Rich would eat `[...]` in {help_text!r}"
        if getattr(param, "is_flag", False) or param.param_type_name != "option":
            continue
        metavar = param.metavar or ""
        assert metavar and (metavar.isupper() or "|" in metavar or "=" in metavar), f"--{param.name}: {metavar!r}"


# -- found by a newcomer's run-through ------------------------------------------------------------
@pytest.mark.parametrize("args, error, hint", [
    (["dot", "L = a*b", "--a", "1", "--b", "2", "--json"], "error: dot has no `--json`",
     "hint: `--json` is an option of grad, check, step, hessian, jacobian, sweep, explain, derive, quiz, code, session"),
    (["step", "L = a*b", "--a", "1", "--b", "2", "--lr", "2,5"], "error: `--lr` takes a number, not `2,5`; "
     "use a dot for decimals: 2.5", "hint: see scalargrad step --help"),
    (["step", "L = a*b", "--a", "1", "--b", "2", "--lr", "inf"],
     "error: the learning rate must be a finite, positive number, not inf", "hint: give --lr a small positive"),
    (["grad", LECTURE, "--a", "2", "--b", "-3", "--c", "10"], "error: missing value for `f`",
     "or as defaults in the program (`f = 2`)"),
    (["grad", "L = a*b +"], "error: line 1, column 10: unexpected end of the program",
     "hint: the last statement is not finished"),
])
def test_newcomer_messages(cli, args, error, hint):
    result = cli(args[0], "--no-session", *args[1:])
    assert result.exit_code == 2
    assert result.stderr.startswith(error), result.stderr
    assert hint in result.stderr


def test_program_and_bindings_both_from_stdin_says_what_to_do(cli):
    result = cli("grad", "-", "--bindings", "-", "--no-session", input="L = a")
    assert result.exit_code == 2 and "hint: put one of them in a file" in result.stderr


# -- formulas in messages are in the program's own names ----------------------------------------
@pytest.mark.parametrize("program, values, says", [
    ("L = atan2(y, x)", ["--x", "0", "--y", "0"],
     "the local derivative d/dy = x / (y**2 + x**2) is undefined at y = 0, x = 0 in `atan2(y, x)`"),
    ("L = x ** z", ["--x", "-30", "--z", "3"], "the local derivative d/dz = x**z * log(x) is undefined at x = -30, z = 3"),
    ("L = (a*b) ** (c+1)", ["--a", "-3", "--b", "10", "--c", "2"],
     "d/d(c+1) = (a*b)**(c+1) * log(a*b) is undefined at a*b = -30, c+1 = 3"),
    ("L = sqrt(p*q)", ["--p", "0", "--q", "1"], "d/d(p*q) = 1 / (2*sqrt(p*q)) is infinite at p*q = 0"),
])
def test_a_local_derivative_in_a_message_names_the_users_operands(cli, program, values, says):
    result = cli("grad", program, *values, "--no-session")
    assert says in result.stderr, result.stderr


_BINARY = ["{p} / {q}", "{p} ** {q}", "atan2({p}, {q})", "hypot({p}, {q})", "log({p}, {q})", "logsumexp({p}, {q})",
           "{p} * {q}", "sqrt({p}) * {q}", "log({p}) + {q}", "{p} ** 0.5 + {q}"]
_EDGES = [0.0, -0.0, 1.0, -1.0, -30.0, 1e-320, -1e-320, 1e-200, 1e200, 1.7e308, -1.7e308]


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(_BINARY), st.sampled_from(_EDGES), st.sampled_from(_EDGES),
       st.sampled_from([("p", "q"), ("u", "v"), ("y", "x"), ("x", "w")]))
def test_no_message_speaks_of_an_x_or_y_the_program_does_not_have(template, p, q, names):
    """Whatever goes wrong at the edges, a message's formulas and values name the program's
    operands, never the table's x and y (here x and y are the user's own names, or absent)."""
    import re

    from scalargrad import parse
    from scalargrad.errors import ScalarGradError

    first, second = names
    program = parse(f"L = {template.format(p=first, q=second)}")
    try:
        program.run({first: p, second: q})
        return
    except ScalarGradError as error:
        text = error.format()
    used = {first, second}
    for stray in {"x", "y"} - used:
        assert not re.search(rf"\b{stray}\b(?! ?\()", text.split("\n")[0]), text
