"""The grad command as a user types it: inputs, output forms, and every kind of user error."""

import json
import subprocess
import sys

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from conftest import LECTURE, LECTURE_VALUES, STATEMENTS, installed_command
from scalargrad.cli import app


def grads(result):
    assert result.exit_code == 0, result.stderr
    return result.json()["grads"]


# -- where the program comes from ----------------------------------------------------------
def test_program_from_stdin(cli):
    assert grads(cli("grad", "-", *LECTURE_VALUES, "--json", input=LECTURE))["a"] == 6.0


def test_program_from_file(cli, tmp_path):
    path = tmp_path / "lecture.sg"
    path.write_text(STATEMENTS.replace("; ", "\n") + "\n", encoding="utf-8")
    assert grads(cli("grad", "--file", str(path), *LECTURE_VALUES, "--json"))["e"] == -2.0


@pytest.mark.parametrize("args, message", [
    (["--file", "missing.sg"], "program file missing.sg does not exist"),
    (["--file", "."], "is a directory"),
    ([LECTURE, "--file", "x.sg"], "either as an argument or with --file, not both"),
    ([], "no program given"),
    ([LECTURE, "extra words"], "unexpected extra argument `extra words`"),
])
def test_program_source_errors(cli, args, message):
    result = cli("grad", *args, *LECTURE_VALUES)
    assert result.exit_code == 2 and message in result.stderr


# -- input values --------------------------------------------------------------------------
def test_value_forms(cli):
    result = cli("grad", "L = a*b + c*d", "--a", "-3e-2", "--b=-3", "--c", ".5", "--d=+2", "--json")
    inputs = result.json()["inputs"]
    assert {k: v["value"] for k, v in inputs.items()} == {"a": -0.03, "b": -3.0, "c": 0.5, "d": 2.0}


def test_set_gives_names_that_collide_with_options(cli):
    result = cli("grad", "L = json * lr", "--set", "json=3", "--set", "lr=0.5", "--json")
    assert result.json()["grads"] == {"json": 0.5, "lr": 3.0, "L": 1.0}


def test_precedence_command_line_over_bindings_over_defaults(cli, tmp_path):
    bindings = tmp_path / "values.json"
    bindings.write_text(json.dumps({"a": 10, "b": 20}))
    result = cli("grad", "a = 1; b = 2; c = 3; L = a + b + c", "--bindings", str(bindings), "--a", "100", "--json")
    inputs = result.json()["inputs"]
    assert {k: (v["value"], v["from"]) for k, v in inputs.items()} == {
        "a": (100.0, "command line"), "b": (20.0, "bindings"), "c": (3.0, "default")}


def test_unused_value_is_a_warning_with_a_suggestion(cli):
    result = cli("grad", "L = alpha * b", "--alpah", "1", "--alpha", "2", "--b", "3")
    assert result.exit_code == 0
    assert "warning: `alpah` is not an input of the program" in result.stderr
    assert "did you mean `alpha`?" in result.stderr


def test_missing_values_are_one_error_listing_every_name(cli):
    result = cli("grad", LECTURE, "--a", "2")
    assert result.exit_code == 2
    assert "missing values for `b`, `c`, `f`" in result.stderr
    assert "--b VALUE --c VALUE --f VALUE" in result.stderr


@pytest.mark.parametrize("value, message", [
    ("inf", "`inf` is infinite; it must be a finite number"), ("nan", "`nan` is not a number"), ("1e999", "is too large"),
    ("two", "`two` is not a number"), ("١", "is not a number"), ("1_000", "is not a number"),
])
def test_values_must_be_finite_ascii_numbers(cli, value, message):
    result = cli("grad", "L = a * 2", "--a", value)
    assert result.exit_code == 2 and message in result.stderr


@pytest.mark.parametrize("content, message", [
    (None, "does not exist"),
    ("{", "line 1, column 2"),
    ("[1, 2]", "is not a JSON object"),
    ('{"a": "2"}', "the value of `a` is not a number (\"2\")"),
    ('{"a": true}', "the value of `a` is not a number (true)"),
    ('{"a": NaN}', "NaN is not a finite number"),
    ('{"a": 1e999}', "too large"),
])
def test_bad_bindings_files(cli, tmp_path, content, message):
    path = tmp_path / "values.json"
    if content is not None:
        path.write_text(content)
    result = cli("grad", "L = a * 2", "--bindings", str(path))
    assert result.exit_code == 2 and message in result.stderr, result.stderr


@pytest.mark.parametrize("args, message", [
    (["--a"], "`--a` needs a value"),
    (["--a", "1", "--a", "2"], "a value for `a` is given twice"),
    (["--a", "1", "--set", "a=2"], "a value for `a` is given twice"),
    (["--set", "a"], "is not NAME=VALUE"),
    (["--not-a-name", "1"], "unknown option `--not-a-name`"),
    (["-q"], "unknown option `-q`"),
])
def test_bad_value_options(cli, args, message):
    result = cli("grad", "L = a * 2", *args)
    assert result.exit_code == 2 and message in result.stderr


# -- output --------------------------------------------------------------------------------
def test_table_in_a_pipe_is_plain_text(cli):
    result = cli("grad", STATEMENTS, *LECTURE_VALUES)
    assert result.exit_code == 0 and "\x1b[" not in result.stdout
    lines = result.stdout.splitlines()
    assert lines[0] == "gradients of L = -8"
    assert lines[1].split() == ["id", "node", "op", "data", "grad", "role"]
    rows = {line.split()[1]: line.split()[2:] for line in lines[2:]}
    assert rows["e"] == ["*", "-6", "-2"] and rows["d"] == ["+", "4", "-2"]
    assert rows["a"] == ["2", "6", "input"] and rows["L"] == ["*", "-8", "1", "output"]


def test_precision(cli):
    result = cli("grad", "L = tanh(x)", "--x", "0.5", "--precision", "3")
    assert "0.462" in result.stdout and "0.786" in result.stdout


def test_precision_17_shows_the_shortest_text_that_reads_back(cli):
    result = cli("grad", "L = a", "--a", "0.3", "--precision", "17")
    assert result.stdout.splitlines()[0] == "gradients of L = 0.3"  # not 0.29999999999999999
    assert "0.30000000000000004" in cli("grad", "L = a + b", "--a", "0.1", "--b", "0.2", "--precision", "17").stdout


@given(st.floats(allow_nan=False, allow_infinity=False), st.sampled_from([16, 17]))
@example(2.0**-24, 17)  # 5.9604644775390625e-08 exactly: %.16g rounds its last digit the wrong way for a reader
@example(2.0**-24, 16)
def test_full_precision_reads_back_and_never_shows_float_noise(x, precision):
    from scalargrad.render import number

    text = number(x, precision)
    significant = text.lstrip("-").split("e")[0].replace(".", "").strip("0")
    shortest = repr(abs(x)).split("e")[0].replace(".", "").strip("0")
    assert precision == 16 or float(text) == x
    assert len(significant) <= max(len(shortest), len(f"{abs(x):.0f}") if "e" not in text else 0)


def test_of_differentiates_another_named_node(cli):
    doc = cli("grad", STATEMENTS, *LECTURE_VALUES, "--of", "d", "--json").json()
    assert doc["of"]["name"] == "d" and doc["output"]["name"] == "L"
    assert doc["grads"] == {"a": -3.0, "b": 2.0, "e": 1.0, "c": 1.0, "d": 1.0, "f": 0.0, "L": 0.0}
    result = cli("grad", STATEMENTS, *LECTURE_VALUES, "--of", "D")
    assert result.exit_code == 2 and "no node named `D`; did you mean `d`?" in result.stderr


def test_json_schema(cli):
    doc = cli("grad", "b = a + a; c = 2 * b", "--a", "3", "--json").json()
    assert doc["schema"] == "scalargrad.grad/2"
    assert doc["output"] == {"id": 3, "name": "c", "label": "c", "value": 12.0}
    assert doc["inputs"] == {"a": {"value": 3.0, "grad": 4.0, "from": "command line"}}
    assert doc["nodes"][1] == {"id": 1, "name": "b", "kind": "op", "op": "+", "parents": [0, 0],
                               "data": 6.0, "grad": 2.0, "span": [4, 9]}
    assert doc["nodes"][2]["kind"] == "const" and doc["nodes"][2]["grad"] is None


def test_big_programs_show_named_nodes_with_a_note(cli):
    program = "\n".join(f"y{i} = x * {i} + 1" for i in range(150)) + "\nL = " + " + ".join(f"y{i}" for i in range(150))
    result = cli("grad", program, "--x", "1")
    lines = result.stdout.splitlines()
    assert "showing the 152 named nodes of 750" in lines[-1] and "--all shows every node" in lines[-1]
    assert len(lines) == 2 + 152 + 1
    assert len(cli("grad", program, "--x", "1", "--all").stdout.splitlines()) > 600


def test_huge_programs_keep_a_bounded_table(cli):
    program = "\n".join(f"y{i} = x + {i}" for i in range(1000))
    lines = cli("grad", program, "--x", "1").stdout.splitlines()
    assert len(lines) == 2 + 200 + 1 and "showing 200 of the" in lines[-1]


# -- errors reach the user as messages -----------------------------------------------------
@pytest.mark.parametrize("program, values, message", [
    ("L = log(x)", ["--x", "0"], "log of a non-positive number (0) in `log(x)` (bound to `L`)"),
    ("L = sqrt(x) * 2", ["--x", "-1"], "sqrt of a negative number (-1) in `sqrt(x)`"),
    ("L = a / b", ["--a", "1", "--b", "0"], "division by zero in `a / b`"),
    ("L = x ** -1", ["--x", "0"], "0 raised to a negative power in `x ** -1`"),
    ("L = x ** 0.5", ["--x", "-4"], "a negative number raised to a fractional power"),
    ("L = exp(x)", ["--x", "1000"], "exp(1000) is too large (overflow)"),
    ("L = x * x * x", ["--x", "1e200"], "the result is not finite (overflow) in `x * x`"),
    ("L = sqrt(x)", ["--x", "0"], "the gradient is infinite here: the local derivative d/dx = 1 / (2*sqrt(x))"),
])
def test_domain_errors_name_the_node_and_point_at_it(cli, program, values, message):
    result = cli("grad", program, *values)
    assert result.exit_code == 2
    assert message in result.stderr, result.stderr
    assert "^" in result.stderr and "Traceback" not in result.stderr


def test_syntax_error_through_the_cli(cli):
    result = cli("grad", "L = (a * b", "--a", "1", "--b", "2")
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.splitlines() == [
        "error: line 1, column 11: unexpected end of the program; expected `)`",
        "   1 | L = (a * b",
        "     |           ^",
        "hint: a `(` is not closed",
    ]


@pytest.mark.parametrize("program, message", [
    ("a = x\nb = 2\na = 3", "error: line 3, column 1: `a` is assigned twice"),
    ("b = a * 2\na = 1", "error: line 2, column 1: `a` is read before it is assigned"),
    ("x = x + 1", "error: line 1, column 5: `x` is defined in terms of itself"),
    ("L = tahn(x)", "error: line 1, column 5: unknown function `tahn`; did you mean `tanh`?"),
    ("a + b; c = 1", "error: line 1, column 1: only the last statement may be a bare expression"),
])
def test_name_errors_through_the_cli(cli, program, message):
    result = cli("grad", program, "--x", "1", "--a", "1", "--b", "1")
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.startswith(message) and "^" in result.stderr and "hint: " in result.stderr


def test_user_text_is_never_rich_markup(monkeypatch):
    """A table cell that looks like Rich markup is printed as it is, in a real terminal too."""
    import io

    from scalargrad.render import Table

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    screen = Terminal()
    monkeypatch.setenv("COLUMNS", "120")
    table = Table(["node", "data"], title="[red]title[/red]")
    table.add("[bold]x[/bold]", "1")
    table.notes.append("[link=http://example.com]note[/link]")
    table.print(screen)
    text = screen.getvalue()
    assert "\x1b[" in text  # it did draw with Rich
    assert "[bold]x[/bold]" in text and "[red]title[/red]" in text and "[link=http://example.com]note[/link]" in text


def test_every_command_has_help(cli):
    import typer.main

    group = typer.main.get_command(app)
    assert "grad" in group.commands
    for name in group.commands:
        result = cli(name, "--help")
        assert result.exit_code == 0 and "Usage" in result.stdout, name


def test_installed_command_errors_without_traceback(installed):
    result = installed("grad", "L = log(x)", "--x", "-1")
    assert result.exit_code == 2 and "Traceback" not in result.stderr
    assert result.stderr.startswith("error: line 1, column 5: log of a non-positive number (-1)")


def test_python_dash_m(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "scalargrad", "grad", LECTURE, *LECTURE_VALUES, "--json"],
                          capture_output=True, text=True, cwd=tmp_path)
    assert proc.returncode == 0 and json.loads(proc.stdout)["grads"]["f"] == 4.0


def test_version(installed):
    result = installed("--version")
    assert result.exit_code == 0 and result.stdout.strip() == "scalargrad 0.1.0"


def test_a_reader_that_stops_early_is_not_an_error(installed, tmp_path):
    program = "\n".join(f"y{i} = x * {i}" for i in range(3000))
    (tmp_path / "big.sg").write_text(program)
    proc = subprocess.Popen([installed_command(), "grad", "--file", str(tmp_path / "big.sg"), "--x", "1", "--all",
                             "--no-session"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    first = proc.stdout.readline()
    proc.stdout.close()  # like `| head -1`
    stderr = proc.stderr.read()
    assert proc.wait(timeout=60) == 0
    assert first.startswith("gradients of y2999") and stderr == ""


def test_an_input_is_marked_default_only_when_its_default_is_used(cli):
    given = cli("grad", "x = 1; L = x*x", "--x", "5", "--no-session")
    assert given.exit_code == 0 and given.stdout.splitlines()[2].split() == ["0", "x", "5", "10", "input"]
    kept = cli("grad", "x = 1; L = x*x", "--no-session")
    assert kept.stdout.splitlines()[2].split() == ["0", "x", "1", "2", "input", "(default)"]
