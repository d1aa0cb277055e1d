"""`scalargrad derive`: the formula of each gradient, the rule of each step, and the numbers
agreeing with backprop's, on the lecture's examples, at kinks, and on generated programs over
every row of the derivative table."""

import json
import math
import random
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from generated_programs import cases, good_points, program_text
from scalargrad import parse
from scalargrad.derive import ARRAY_LIMIT, READABLE, WRITTEN_OUT, derive, evaluate
from scalargrad.errors import UsageError
from scalargrad.explain import backward_steps
from scalargrad.ops import FUNCTIONS, OPS, RULES

ROOT = Path(__file__).resolve().parent.parent
LECTURE = ["L = (a*b + c) * f", "--a", "2", "--b", "-3", "--c", "10", "--f", "-2"]
RULE_NAMES = set(name for names in RULES.values() for name in names) | {"constant multiple"} \
    | {f"chain rule (outer function {op.called})" for op in FUNCTIONS.values()}


# -- what a person checks by hand ---------------------------------------------------------------
def test_the_first_lecture_function_gives_6x_minus_4(cli):
    result = cli("derive", "y = 3*x**2 - 4*x + 5", "--wrt", "x", "--no-session")
    assert result.exit_code == 0 and result.stdout == "dy/dx = 6*x - 4\n"


def test_the_lecture_expression_gives_b_times_f_beside_backprops_number(cli):
    result = cli("derive", *LECTURE, "--wrt", "a", "--no-session")
    assert result.stdout == "dL/da = b*f\n  at b = -3, f = -2: 6 (backprop: 6)\n"
    every = cli("derive", *LECTURE, "--no-session").stdout
    assert "dL/db = a*f\n" in every and "dL/dc = f\n" in every and "dL/df = a*b + c\n" in every


def test_a_neuron_names_its_shared_part_when_that_is_shorter():
    program = parse("o = tanh(x*w)*tanh(x*w) + tanh(x*w)")
    (formula,) = derive(program, ["w"]).formulas
    assert formula.where == [("t", "tanh(w*x)")] and "t" in formula.text


def test_relu_keeps_its_convention_at_the_kink_and_the_number_there_is_backprops():
    program = parse("h = relu(x); L = h * y")
    report = derive(program, ["x"], values={"x": 0.0, "y": 3.0})
    (formula,) = report.formulas
    assert formula.text == "y*Heaviside(x, 0)"  # 0 at x = 0, as backprop: never a smooth stand-in
    assert formula.value == formula.backprop == 0.0
    assert any("Heaviside(u, h)" in note for note in report.kink_notes())
    assert derive(parse("L = abs(x)"), values={"x": 0.0}).formulas[0].value == 0.0  # sign(0) = 0
    assert derive(parse("L = max(x, y)"), values={"x": 1.0, "y": 1.0}).formulas[0].value == 0.5  # half at a tie


def test_values_missing_give_the_formula_alone(cli):
    result = cli("derive", "L = a * b", "--no-session")
    assert result.exit_code == 0 and result.stdout == "dL/da = b\ndL/db = a\n"


# -- the steps: one rule each, the graph's own order ----------------------------------------------
def test_each_step_names_one_rule_and_follows_explain_trace():
    program = parse("y = 3*x**2 - 4*x + 5")
    report = derive(program, ["x"], values={"x": 3.0})
    assert [(s.number, s.rule) for s in report.steps] == [
        (2, "sum"), (3, "sum"), (4, "sum"), (5, "constant multiple"), (6, "constant multiple"), (7, "power")]
    assert str(report.steps[-1].before) == "-4" and str(report.steps[-1].after) == "6*x - 4"
    trace = [(s.number, s.node_id, s.target_id) for s in backward_steps(program) if s.kind == "pass"]
    assert [(s.number, s.node_id, s.target_id) for s in report.steps] == trace


def test_the_steps_table_shows_before_and_after(cli):
    result = cli("derive", "y = 3*x**2 - 4*x + 5", "--wrt", "x", "--steps", "--no-session")
    assert "7  [3] x**2" in result.stdout and "power" in result.stdout and "dy/dx: -4 -> 6*x - 4" in result.stdout


def test_a_function_step_is_the_chain_rule_with_the_function_named():
    report = derive(parse("n = x*w; o = tanh(n)"), ["w"])
    assert report.steps[0].rule == "chain rule (outer function tanh)"
    assert report.steps[0].local == "1 - tanh(n)**2"


# -- sizes and arrays ------------------------------------------------------------------------------
def test_a_formula_too_long_to_read_is_refused_with_a_hint(cli):
    result = cli("derive", "--file", str(ROOT / "docs" / "examples" / "mlp.sg"), "--no-session")
    assert result.exit_code == 2 and "too long to read" in result.stderr and f"{WRITTEN_OUT}" in result.stderr
    assert "--of NODE" in result.stderr and "ypred[0]" in result.stderr


@pytest.mark.slow
def test_an_element_of_an_array_and_a_whole_array_bounded(cli):
    text = "W = uniform(-1, 1, [3, 4]); x = [1, 2, 3, 4]; L = sum(tanh(W @ x))"
    one = cli("derive", text, "--wrt", "W[0,1]", "--no-session")
    assert one.exit_code == 0 and one.stdout.startswith("dL/d(W[0, 1]) = 2*(1 - tanh(W[0, 0] + 2*W[0, 1] + 3*W[0, 2] + 4*W[0, 3])**2)\n")
    whole = cli("derive", text, "--wrt", "W", "--no-session")
    assert whole.stdout.count("dL/d(W[") == ARRAY_LIMIT
    assert f"showing the formulas of the first {ARRAY_LIMIT} of 12 inputs (at most {ARRAY_LIMIT} at once)" in whole.stdout


def test_an_unknown_input_is_an_error_with_the_inputs(cli):
    result = cli("derive", "L = a * b", "--wrt", "q", "--no-session")
    assert result.exit_code == 2 and "cannot differentiate by `q`" in result.stderr and "inputs: a, b" in result.stderr
    computed = cli("derive", "e = a * b; L = e + 1", "--wrt", "e", "--no-session")
    assert computed.exit_code == 2 and "computed by the program, not an input" in computed.stderr


def test_of_a_node(cli):
    result = cli("derive", "e = a*b; d = e + c; L = d * f", "--of", "d", "--wrt", "a", "--no-session")
    assert result.stdout == "dd/da = b\n"


# -- output formats ------------------------------------------------------------------------------
def test_json_has_the_formula_as_text_and_srepr_and_the_steps(cli):
    document = json.loads(cli("derive", *LECTURE, "--wrt", "a", "--json", "--no-session").stdout)
    assert document["schema"] == "scalargrad.derive/1"
    (formula,) = document["formulas"]
    assert formula["text"] == "b*f" and formula["srepr"] == "Mul(Symbol('b', real=True), Symbol('f', real=True))"
    assert formula["value"] == formula["backprop"] == 6.0 and formula["latex"] == "b f"
    assert [step["rule"] for step in document["steps"]] == ["product", "sum", "product"]


def test_latex_is_an_align_block(cli):
    result = cli("derive", *LECTURE, "--wrt", "a", "--latex", "--no-session")
    assert result.stdout == "\\begin{align*}\n\\frac{\\partial L}{\\partial a} &= b f\n\\end{align*}\n"
    both = cli("derive", *LECTURE, "--latex", "--json", "--no-session")
    assert both.exit_code == 2 and "give --json or --latex, not both" in both.stderr


@pytest.mark.skipif(shutil.which("pdflatex") is None, reason="no TeX installed (pdflatex)")
def test_latex_output_compiles(cli, tmp_path):
    block = cli("derive", "h = relu(x*w); L = h * data_loss + sigmoid(w)", "--steps", "--latex", "--no-session").stdout
    (tmp_path / "f.tex").write_text("\\documentclass{article}\n\\usepackage{amsmath}\n\\begin{document}\n"
                                    + block + "\\end{document}\n")
    done = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "f.tex"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout[-2000:]


def test_sympy_is_imported_by_derive_only():
    code = ("import sys; from scalargrad.cli import main; sys.argv = ['scalargrad', 'grad', 'L = a*b', '--a', '2', "
            "'--b', '3', '--no-session']\ntry:\n    main()\nexcept SystemExit:\n    pass\n"
            "print('sympy' in sys.modules, file=sys.stderr)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stderr.strip().endswith("False"), result.stderr


def test_the_installed_command(installed, tmp_path):
    result = installed("derive", "y = 3*x**2 - 4*x + 5", "--wrt", "x", "--x", "3", cwd=tmp_path)
    assert result.exit_code == 0 and result.stdout == "dy/dx = 6*x - 4\n  at x = 3: 14 (backprop: 14)\n"


# -- the table's own forms: SymPy's functions are the rows', our own functions are their definitions
@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_each_function_row_in_sympy_has_the_rows_value(name):
    op = OPS[name]
    program = parse(f"L = {op.usage}")
    for point in ({"x": 0.7, "y": 0.4}, {"x": 0.3, "y": 1.5}):
        program.run(point)
        (formula,) = [f for f in derive(program, ["x"]).formulas]
        assert math.isclose(evaluate(formula.expr, point), program.inputs["x"].grad, rel_tol=1e-12, abs_tol=1e-15)


# -- the property: each formula is backprop's gradient, on generated programs -----------------------
def agrees(formula_value: float | None, backprop: float, scale: float) -> bool:
    """Equal to 1e-9 relative; where the formula is exactly 0 (`z/(y*z)` does not depend on z)
    backprop's rounding leaves a trace, allowed to 1e-9 of the largest gradient at the point."""
    value = 0.0 if formula_value is None else formula_value
    return abs(value - backprop) <= 1e-9 * max(abs(value), abs(backprop)) or abs(value - backprop) <= 1e-9 * scale


def check_program(text: str, points: list[dict[str, float]]) -> None:
    program = parse(text)
    report = derive(program)
    for step in report.steps:
        assert step.rule in RULE_NAMES, step.rule
    for point in points:
        program.run(point)
        scale = max(abs(node.grad) for node in program.inputs.values())
        for formula in report.formulas:
            value = evaluate(formula.expr, point)
            assert agrees(value, program.inputs[formula.wrt].grad, scale), (text, point, formula.wrt, formula.text)


FEW = cases(25, 5, seed=7)


@pytest.mark.parametrize("text, points", FEW, ids=[f"program-{i}" for i in range(len(FEW))])
def test_formulas_equal_backprop_on_generated_programs(text, points):
    check_program(text, points)


@pytest.mark.slow  # 300 programs through SymPy: about a minute
def test_formulas_equal_backprop_on_300_generated_programs_over_every_builtin():
    many = cases(300, 5)
    assert {op.called for op in FUNCTIONS.values()} <= {word for text, _ in many for word in
                                                        text.replace("(", " ").split()}
    for text, points in many:
        check_program(text, points)


@settings(max_examples=15, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 10_000), st.sampled_from(sorted(FUNCTIONS)))
def test_formulas_equal_backprop_property(seed, row):
    rng = random.Random(seed)
    text = program_text(rng, row)
    points = good_points(text, rng, 2)
    if points:
        check_program(text, points)


def test_the_readable_limit_is_documented():
    text = (ROOT / "docs" / "derive.md").read_text(encoding="utf-8")
    assert f"{READABLE:,} characters" in text and f"{WRITTEN_OUT} operations" in text and f"{ARRAY_LIMIT}" in text


def test_usage_errors_are_worded():
    with pytest.raises(UsageError, match="has no input of that name"):
        derive(parse("L = a * b"), ["c"])


def test_the_latex_document_in_the_docs_is_the_tools_output_and_compiles(cli, tmp_path):
    page = (ROOT / "docs" / "derive.md").read_text(encoding="utf-8")
    document = page.split("```text\n\\documentclass", 1)[1].split("```", 1)[0]
    block = cli("derive", *LECTURE, "--wrt", "a", "--latex", "--no-session").stdout
    assert block in document
    if shutil.which("pdflatex") is None:
        pytest.skip("no TeX installed (pdflatex): the block is checked, not compiled")
    (tmp_path / "doc.tex").write_text("\\documentclass" + document)
    done = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "doc.tex"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout[-2000:]
