"""`scalargrad hessian`: second derivatives built from the derivative table's formulas
(reverse over reverse), checked against SymPy, the engine, and the eigenvalue routine."""

import math
import random
import subprocess
import sys

import pytest
import sympy
from hypothesis import HealthCheck, assume, given, settings

from scalargrad import parse
from scalargrad.errors import DomainError, UsageError
from scalargrad.hessian import eigenvalues, formula, gradient_nodes, hessian, verdict
from scalargrad.ops import OPS

from conftest import LECTURE, LECTURE_VALUES
from test_properties import SYMBOLS, expressions, near_a_kink, points

SAMPLES = [(0.7, 1.3), (-0.4, 2.5), (1.9, 0.6), (-1.2, -0.3)]


@pytest.mark.parametrize("name", sorted(OPS))
def test_every_formula_is_an_expression_in_x_and_y_that_gives_the_local_derivative(name):
    op = OPS[name]
    for i in range(op.arity):
        template = formula(name, i)
        assert set(template.inputs) <= {"x", "y"}, op.formulas[i]
        for x, y in SAMPLES:
            args = (x, y)[: op.arity]
            if (op.kink and op.kink(*args)) or (name == "**" and x < 0) or (name == "logb" and min(x, y) <= 0):
                continue
            try:
                ans = op.forward(*args)
            except DomainError:
                continue
            template.evaluate({"x": x, "y": y})
            assert template.output.data == pytest.approx(op.local(ans, *args)[i], rel=1e-12, abs=1e-15), (name, i)


def lecture_point():
    return {LECTURE_VALUES[k][2:]: float(LECTURE_VALUES[k + 1]) for k in range(0, len(LECTURE_VALUES), 2)}


def test_the_lecture_hessian_is_sympys_exactly():
    a, b, c, f = sympy.symbols("a b c f")
    L = (a * b + c) * f
    point = lecture_point()
    expected = [[float(sympy.diff(L, u, v).subs({sympy.Symbol(k): w for k, w in point.items()}))
                 for v in (a, b, c, f)] for u in (a, b, c, f)]
    report = hessian(parse(LECTURE), point)
    assert report.matrix == expected and report.symmetric and report.verdict == "saddle"


@pytest.mark.parametrize("source, expected", [("L = x**2 + y**2", "minimum"), ("L = x**2 - y**2", "saddle"),
                                              ("L = -x**2 - y**2", "maximum"), ("L = x**2 + y", "undecided")])
def test_the_verdict_at_the_origin(source, expected):
    assert hessian(parse(source), {"x": 0.0, "y": 0.0}).verdict == expected


def test_wrt_picks_and_orders_inputs_and_refuses_computed_names():
    report = hessian(parse("L = x**3 * y"), {"x": 2.0, "y": 5.0}, ["y", "x"])
    assert report.wrt == ["y", "x"] and report.matrix == [[0.0, 12.0], [12.0, 60.0]]
    with pytest.raises(UsageError, match="computed by the program"):
        hessian(parse("z = x*y; L = z*z"), {"x": 1.0, "y": 1.0}, ["z"])


@pytest.mark.parametrize("source, values", [("L = relu(x) * y", {"x": 0.0, "y": 1.0}),
                                            ("L = abs(x - y) * x", {"x": 1.0, "y": 1.0})])
def test_a_hessian_at_a_kink_is_a_located_error(source, values):
    with pytest.raises(DomainError, match="the Hessian does not exist here") as raised:
        hessian(parse(source), values)
    assert raised.value.places


def test_the_cli(cli):
    result = cli("hessian", LECTURE, *LECTURE_VALUES, "--no-session", "--json")
    assert result.exit_code == 0
    doc = result.json()
    assert doc["schema"] == "scalargrad.hessian/1" and doc["wrt"] == ["a", "b", "c", "f"]
    assert doc["hessian"][0] == [0.0, -2.0, 0.0, -3.0] and doc["verdict"] == "saddle" and doc["symmetric"]
    kink = cli("hessian", "L = relu(x) * y", "--x", "0", "--y", "1", "--no-session")
    assert kink.exit_code == 2 and "^^^^^^^" in kink.stderr and "kink" in kink.stderr


def test_eigenvalues_match_sympy_on_random_symmetric_matrices():
    rng = random.Random(7)
    for n in (1, 2, 3, 5, 8):
        rows = [[rng.randint(-9, 9) for _ in range(n)] for _ in range(n)]
        sym = [[rows[i][j] + rows[j][i] for j in range(n)] for i in range(n)]
        expected = sorted(float(sympy.re(v)) for v in sympy.Matrix(sym).eigenvals(multiple=True))
        assert eigenvalues(sym) == pytest.approx(expected, rel=1e-10, abs=1e-10)


def test_twenty_inputs_have_eigenvalues_and_more_have_none():
    names = [f"x{i}" for i in range(21)]
    source = "L = " + " + ".join(f"{n}*{n}" for n in names)
    values = {n: 1.0 for n in names}
    assert hessian(parse(source), values).eigenvalues is None
    report = hessian(parse(source), values, names[:20])
    assert report.eigenvalues == [2.0] * 20 and verdict(report.eigenvalues) == "minimum"


def run(text, point):
    program = parse(text)
    values = {name: point[name] for name in program.inputs}
    program.run(values)
    return program, values


@settings(max_examples=80, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(expressions, points)
def test_first_derivatives_built_as_nodes_equal_the_engines(expr, point):
    program, values = run(expr[0], point)
    assume(program.inputs and not near_a_kink(program, 0.0))
    nodes, _ = gradient_nodes(program)
    for name, node in program.inputs.items():
        built = nodes[id(node)].data if id(node) in nodes else 0.0
        assert built == pytest.approx(node.grad, rel=1e-14, abs=1e-300) or abs(built - node.grad) <= 1e-14 * max(
            1.0, max(abs(n.grad) for n in program.nodes)), (expr[0], name)


@settings(max_examples=60, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(expressions, points)
def test_hessians_match_sympy(expr, point):
    text, symbolic = expr
    program, values = run(text, point)
    assume(program.inputs)
    assume(not near_a_kink(program))
    report = hessian(program, values)
    subs = {SYMBOLS[name]: value for name, value in values.items()}
    for i, u in enumerate(report.wrt):
        for j, v in enumerate(report.wrt):
            expected = float(sympy.diff(symbolic, SYMBOLS[u], SYMBOLS[v]).evalf(subs=subs))
            assert report.matrix[i][j] == pytest.approx(expected, rel=1e-7, abs=1e-8), (text, u, v)
    assert report.asymmetry <= 1e-12, text


def test_grad_imports_nothing_new():
    code = ("import sys; from scalargrad.cli import main; sys.argv = ['scalargrad', 'grad', 'L = x*y', '--x', '1', "
            "'--y', '2', '--no-session']\ntry:\n    main()\nexcept SystemExit:\n    pass\n"
            "print(sorted(m for m in sys.modules if m.startswith('scalargrad.') and not m.startswith('scalargrad.commands') and m.split('.')[-1] in "
            "('hessian', 'expect', 'check')), 'numpy' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().splitlines()[-1] == "[] False"


@settings(max_examples=100, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(expressions, points)
def test_check_order_2_has_no_false_alarms_on_smooth_programs(expr, point):
    from scalargrad.hessian_check import check_hessian

    program, values = run(expr[0], point)
    assume(program.inputs and not near_a_kink(program))
    report = check_hessian(program, values)
    assert report.ok, (expr[0], values, [(r.row, r.column, r.analytic, r.numeric, r.reason) for r in report.rows])


def test_check_order_2_catches_a_wrong_formula(monkeypatch, cli):
    import dataclasses

    monkeypatch.setitem(OPS, "tanh", dataclasses.replace(OPS["tanh"], formulas=("1 - tanh(x)",)))
    formula.cache_clear()
    try:
        result = cli("check", "--order", "2", "L = tanh(x*y)", "--x", "0.5", "--y", "0.8", "--no-session", "--json")
    finally:
        formula.cache_clear()
    assert result.exit_code == 1
    doc = result.json()
    assert doc["order"] == 2 and doc["summary"]["failed"] == 4 and not doc["ok"]


def test_check_order_2_at_a_kink_says_kink(cli):
    result = cli("check", "--order", "2", "h = relu(x); L = h * y", "--x", "0", "--y", "3", "--no-session", "--json")
    assert result.exit_code == 0 and {row["status"] for row in result.json()["rows"]} == {"KINK"}


def test_past_twelve_inputs_the_table_lists_the_largest_entries(cli):
    program = "W = uniform(-1, 1, [4, 4]); L = sum(W*W*W) + 5 * W[0, 0] * W[1, 1]"
    result = cli("hessian", program, "--no-session")
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "Hessian of L over 16 inputs at their values: its 17 largest entries, 0s left out"
    document = cli("hessian", program, "--no-session", "--json").json()
    matrix, wrt = document["hessian"], document["wrt"]
    rows = [line.rsplit(None, 1) for line in lines[2:19]]
    shown = [abs(float(value)) for _, value in rows]
    assert shown == sorted(shown, reverse=True) and len(shown) == 17
    assert any(label.split() == ["W[0,", "0]", "W[1,", "1]"] and float(value) == 5.0 for label, value in rows)
    assert 16 == sum(1 for i in range(16) if matrix[i][i] != 0)
    assert lines[19] == "16 x 16 = 256 entries, 238 of them 0; the whole matrix is in --json, a block of it with --wrt a,b,..."
    assert len(wrt) == 16 and max(len(line) for line in lines[1:19]) < 40  # the rows stay narrow
