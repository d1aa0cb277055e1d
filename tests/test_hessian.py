"""`scalargrad hessian`: second derivatives by forward over reverse from the derivative table's
`second` column, checked against SymPy, mpmath, the engine, and the eigenvalue routine."""

import functools
import random
import subprocess
import sys

import mpmath

import pytest
import sympy
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from scalargrad import parse
from scalargrad.errors import DomainError, UsageError
from scalargrad.hessian import active_part, eigenvalues, hessian, verdict
from scalargrad.ops import OPS

from conftest import LECTURE, LECTURE_VALUES
from test_numerics import REFERENCE, SECOND
from test_properties import SYMBOLS, expressions, near_a_kink, points

SAMPLES = [(0.7, 1.3), (-0.4, 2.5), (1.9, 0.6), (-1.2, -0.3)]


@functools.cache
def formula(op_name: str, operand: int):
    """The row's readable local derivative d ans / d operand, parsed as a program in x and y."""
    return parse(OPS[op_name].formulas[operand])


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
def test_the_forward_tangents_give_the_engines_gradient(expr, point):
    # the forward pass of forward over reverse, one direction per input: the output's tangent is
    # d output / d input, which the engine's backward gives too
    from scalargrad.hessian import _tangents

    program, values = run(expr[0], point)
    assume(program.inputs and not near_a_kink(program, 0.0))
    inputs = list(program.inputs.values())
    part = active_part(program, program.output, inputs)
    if id(program.output) not in part.position:
        return
    tangent = _tangents(part, {part.position[id(node)]: d for d, node in enumerate(inputs) if id(node) in part.position},
                        len(inputs))[part.position[id(program.output)]]
    scale = max(1.0, max(abs(n.grad) for n in program.nodes))
    for d, (name, node) in enumerate(program.inputs.items()):
        got = 0.0 if tangent is None else float(tangent[d])
        assert got == pytest.approx(node.grad, rel=1e-14, abs=1e-300) or abs(got - node.grad) <= 1e-14 * scale, (
            expr[0], name)


@pytest.mark.slow
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


def test_check_order_2_catches_a_wrong_second_derivative(monkeypatch, cli):
    import dataclasses

    # tanh'' is -2 tanh sech**2; a row that says -tanh is caught by the differences of the gradient
    monkeypatch.setitem(OPS, "tanh", dataclasses.replace(OPS["tanh"], second=lambda ans, x: (-ans,)))
    result = cli("check", "--order", "2", "L = tanh(x*y)", "--x", "0.5", "--y", "0.8", "--no-session", "--json")
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


# -- issue 21: exact at every magnitude, from the table's second derivatives ------------------------
ULPS = 8 * sys.float_info.epsilon


def entry(source, values, wrt=None):
    return hessian(parse(source), values, wrt).matrix


def close_to(got, true) -> bool:
    """Within ULPS of the 50-digit truth (one subnormal spacing forgiven)."""
    with mpmath.workdps(50):
        true = mpmath.mpf(true)
        return abs(mpmath.mpf(got) - true) <= ULPS * abs(true) + mpmath.mpf(2) ** -1074


def logsumexp_curve(x, y):
    with mpmath.workdps(50):
        x, y = mpmath.mpf(x), mpmath.mpf(y)
        return 1 / ((1 + mpmath.exp(y - x)) * (1 + mpmath.exp(x - y)))


@pytest.mark.parametrize("x, y", [(36.0, 1.0), (30.0, 0.0), (800.0, 799.0), (700.3, 0.1)])
def test_logsumexp_is_exact_where_its_formula_cancels_or_overflows(x, y):
    # the formula exp(x) / (exp(x) + exp(y)) gave 6.66e-16 at (36, 1) (truth 6.305e-16) and
    # overflowed at (800, 799)
    h = entry("L = logsumexp(x, y)", {"x": x, "y": y})
    truth = logsumexp_curve(x, y)
    assert close_to(h[0][0], truth) and close_to(h[1][1], truth)
    assert close_to(h[0][1], -truth) and h[0][1] == h[1][0]


def test_logsumexp_at_36_and_1_to_the_digit():
    assert entry("L = logsumexp(x, y)", {"x": 36.0, "y": 1.0})[0][0] == 6.305116760146981e-16


def test_atan2_far_out_has_the_right_signs_and_is_symmetric():
    # d2/dxdy = (x**2 - y**2) / (x**2 + y**2)**2 = 1e-300 > 0: was -1e-300 on one side
    report = hessian(parse("L = atan2(x, y)"), {"x": 1e150, "y": 2.0})
    assert report.matrix[0][1] == report.matrix[1][0] == 1e-300 and report.symmetric


def test_hypot_and_sigmoid_keep_their_tiny_second_derivatives():
    assert entry("L = hypot(x, y)", {"x": 1e20, "y": 1e-20})[0][0] == 1e-100
    for x in (1e-20, -3e-100, 1e-300):
        (got,), = entry("L = sigmoid(x)", {"x": x})
        assert got != 0 and close_to(got, -mpmath.mpf(x) / 8), x  # s(1-s)(1-2s) = -x/8 near 0


@pytest.mark.parametrize("source, values, wrt, expected", [
    ("L = logsumexp(x, y)", {"x": 800.0, "y": 799.0}, None, [[0.19661193324148185, -0.19661193324148185],
                                                           [-0.19661193324148185, 0.19661193324148185]]),
    ("L = x**0 + x*x", {"x": 0.0}, None, [[2.0]]),
    ("L = x**y", {"x": 0.0, "y": 2.0}, ["x"], [[2.0]]),
    ("L = x**y", {"x": -2.0, "y": 3.0}, ["x"], [[-12.0]]),
    ("L = x**y", {"x": 0.0, "y": 2.0}, None, [[2.0, 0.0], [0.0, 0.0]]),
    ("L = atan(x)", {"x": 1e300}, None, [[0.0]]),  # -2e-900: below every float
    ("L = x/y", {"x": 1e200, "y": 1e200}, None, [[0.0, 0.0], [0.0, 0.0]]),  # -1e-400, 2e-400
    ("L = atan2(x, y)", {"x": 1e200, "y": 1e200}, None, [[0.0, 0.0], [0.0, 0.0]]),
    ("L = x/y", {"x": 1e-200, "y": 1e-200}, ["x"], [[0.0]]),
    ("L = atan2(x, y)", {"x": 1e-150, "y": 2e-150}, None, [[-1.6e299, -1.2e299], [-1.2e299, 1.6e299]]),
])
def test_hessians_that_were_refused_although_they_exist(source, values, wrt, expected):
    got = entry(source, values, wrt)
    assert [[close_to(g, e) for g, e in zip(row, want)] for row, want in zip(got, expected)] == \
           [[True] * len(row) for row in expected], got


@pytest.mark.parametrize("source", ["L = x/y", "L = atan2(x, y)"])
def test_second_derivatives_beyond_the_floats_are_an_error_in_words(source, cli):
    # at (1e-200, 1e-200) the mixed entries are about 1e400: no float holds them; it said
    # "division by zero"
    result = cli("hessian", source, "--x", "1e-200", "--y", "1e-200", "--no-session")
    assert result.exit_code == 2 and "Traceback" not in result.stderr
    assert "the second derivative is too large here" in result.stderr
    assert "exceeds the largest float (about 1.8e308) at x = 1e-200, y = 1e-200" in result.stderr
    assert "hint: the true second derivative cannot be represented as a float" in result.stderr


def test_an_undefined_second_derivative_is_an_error_in_words(cli):
    # x**y at (0, 1): d/dx is 1 there but 0 for y > 1 and infinite for y < 1
    result = cli("hessian", "L = x**y", "--x", "0", "--y", "1", "--no-session")
    assert result.exit_code == 2
    assert "the second derivative is undefined here: d2/dx dy is undefined at x = 0, y = 1" in result.stderr


def test_a_verdict_within_rounding_is_undecided():
    # t is -2 up to rounding, so L = (d + 2) sin(-2) is linear in d: H is 0, computed as about 1e-16
    report = hessian(parse("t = d/(d - 1.5*d); L = (d - t) * sin(t)"), {"d": 2.3426107181619447})
    assert abs(report.matrix[0][0]) < 1e-15 and report.verdict == "undecided"
    assert abs(report.eigenvalues[0]) <= report.zero


@pytest.mark.parametrize("args", [
    ["hessian", "L = 1e160 * x * y", "--x", "1", "--y", "1"],
    ["hessian", "L = exp(x)", "--x", "700"],
    ["check", "--order", "2", "L = exp(x)", "--x", "700"],
])
def test_huge_entries_have_eigenvalues_not_an_overflow(args):
    result = subprocess.run([sys.executable, "-m", "scalargrad", *args, "--no-session"], capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr
    if args[0] == "hessian":
        assert ("saddle" if "1e160" in args[1] else "minimum") in result.stdout


def test_eigenvalues_at_any_magnitude():
    for scale in (1e-320, 1e-300, 1e-150, 1.0, 1e150, 1e300):
        values = eigenvalues([[2 * scale, scale], [scale, 2 * scale]])
        assert values == pytest.approx([scale, 3 * scale], rel=1e-12 if scale > 1e-300 else 1e-2), scale


def test_subnormal_entries_are_symmetric_to_rounding():
    # entries about 1e-321 carry a few subnormal spacings of rounding: "NOT symmetric" before
    report = hessian(parse("L = x*x*y*1e-321 + x*y*y*1e-321"), {"x": 0.3, "y": 0.7})
    assert 0 < abs(report.matrix[0][1]) < 1e-320 and report.symmetric
    assert "symmetric to rounding" in report.symmetry_note()


def test_a_wrong_mixed_entry_is_not_symmetric():
    from scalargrad.hessian import symmetry

    assert not symmetry([[1.0, 2.0], [2.0 + 1e-9, 1.0]], [1e-15, 1e-15])[2]
    assert symmetry([[1.0, 2.0], [2.0 + 4e-16, 1.0]], [1e-15, 1e-15])[2]


# -- work: bounded before it starts, shown while it runs, stopped by Ctrl-C ------------------------
WIDE = "W = uniform(-1, 1, [4, 5]); v = uniform(-1, 1, [5]); L = sum(tanh(W @ v) * tanh(W @ v)) + sum(v*v*v)"


def test_directions_in_chunks_give_the_same_matrix_and_progress_reaches_the_end():
    from scalargrad import budget

    program = parse(WIDE)
    values = {}
    whole = hessian(program, values).matrix
    calls = []
    with budget.limit(60):  # a few floats of tangent per node: one or two directions per pass
        chunked = hessian(program, values, progress=lambda done, total: calls.append((done, total))).matrix
    assert chunked == whole
    totals = {total for _, total in calls}
    assert len(totals) == 1 and calls[-1][0] == calls[-1][1]
    assert [done for done, _ in calls] == sorted(done for done, _ in calls)
    assert len(calls) > 10  # many passes, each reported


def test_a_hessian_over_the_budget_is_refused_before_any_work(cli):
    program = "v = uniform(-1, 1, [600]); L = sum(v*v*v)"
    result = cli("hessian", program, "--budget", "2500", "--no-session")
    assert result.exit_code == 2 and result.stdout == ""
    # 600 directions * 2 sweeps * 2,399 nodes (600 inputs, 1,200 products, 599 sums) + 600**2 entries
    assert "error: the Hessian over 600 inputs (a 2,399-node part of the graph, 600 Hessian-vector products) is " \
           "3,238,800 node evaluations; the budget allows 2,500,000" in result.stderr, result.stderr
    assert "hint: choose fewer inputs with --wrt a,b (check --order 2: --nodes a,b), or raise it with --budget 3239" \
        in result.stderr
    check = cli("check", "--order", "2", program, "--budget", "2500", "--no-session")
    assert check.exit_code == 2 and "two gradients per input to compare with) is" in check.stderr
    assert cli("hessian", program, "--budget", "2500", "--wrt", "v[0]", "--no-session").exit_code == 0


@pytest.mark.parametrize("args, words", [
    (["hessian", "L = x*y"], "interrupted: the Hessian was not finished (Ctrl-C)"),
    (["check", "--order", "2", "L = x*y"], "interrupted: the second-derivative check was not finished (Ctrl-C)"),
])
def test_ctrl_c_stops_cleanly(cli, monkeypatch, args, words):
    import scalargrad.hessian as module

    def interrupted(*_, **__):
        raise KeyboardInterrupt

    monkeypatch.setattr(module, "_adjoint_tangents", interrupted)
    result = cli(*args, "--x", "1", "--y", "2", "--no-session")
    assert result.exit_code == 130 and result.stdout == ""
    assert result.stderr.strip() == words


@pytest.mark.slow
def test_the_moons_hessian_at_a_terminal_shows_progress_and_ctrl_c_stops_it():
    """The installed command in a pseudo-terminal: after a second a progress bar; Ctrl-C (the
    byte the keyboard sends) ends it with 130 and one line. The budget keeps the passes narrow
    (four directions each), so the work lasts far longer than the second before the bar."""
    import os
    import pty
    import time
    from pathlib import Path

    from conftest import installed_command, read_until_closed

    examples = Path(__file__).resolve().parent.parent / "docs" / "examples"
    args = [installed_command(), "hessian", "--file", str(examples / "moons.sg"), "--bindings",
            str(examples / "moons.csv"), "--budget", "66100", "--no-session"]
    pid, terminal = pty.fork()
    if pid == 0:
        os.execv(args[0], args)
    screen, deadline = b"", time.monotonic() + 300  # a hang-stopper, not a timing
    while b"Hessian-vector products" not in screen and time.monotonic() < deadline:
        screen += os.read(terminal, 65536)
    assert b"Hessian-vector products" in screen, screen
    os.write(terminal, b"\x03")  # Ctrl-C
    screen += read_until_closed(terminal)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 130
    text = screen.decode(errors="replace")
    assert "interrupted: the Hessian was not finished (Ctrl-C)" in text and "Traceback" not in text


# -- properties: the rounding bound holds, and symmetry is right at every magnitude -----------------
def exact_hessian(program, names):
    """The Hessian of the program's output over `names` at the floats its nodes hold, in
    60-digit arithmetic: forward over reverse through the same graph with test_numerics'
    50-digit references of each row's local and second derivatives at those values. What is
    left between it and the computed Hessian is the rounding of the derivative passes and of
    the table, which `bounds` must cover."""
    inputs = [program.inputs[name] for name in names]
    part = active_part(program, program.output, inputs)
    n, size = len(names), len(part.order)
    with mpmath.workdps(60):
        zero = [mpmath.mpf(0)] * n
        first, second, tangent = [None] * size, [None] * size, [None] * size
        for k, node in enumerate(part.order):
            if not node._prev:
                tangent[k] = [mpmath.mpf(int(node is x)) for x in inputs]
                continue
            args = [mpmath.mpf(p.data) for p in node._prev]
            first[k], second[k] = REFERENCE[node._op][1](*args), SECOND[node._op](*args)
            tangent[k] = list(zero)
            for j, d in zip(part.operands[k], first[k]):
                if j >= 0:
                    tangent[k] = [t + d * u for t, u in zip(tangent[k], tangent[j])]
        adjoint, carried = [mpmath.mpf(0)] * size, [list(zero) for _ in range(size)]
        adjoint[-1] = mpmath.mpf(1)
        for k in range(size - 1, -1, -1):
            operands = part.operands[k]
            h = second[k]
            matrix = [] if h is None else [[h[0]]] if len(h) == 1 else [[h[0], h[1]], [h[1], h[2]]]
            for i, j in enumerate(operands):
                if j < 0:
                    continue
                adjoint[j] += adjoint[k] * first[k][i]
                bent = list(zero)
                for m, other in enumerate(operands):
                    if other >= 0:
                        bent = [b + matrix[i][m] * t for b, t in zip(bent, tangent[other])]
                carried[j] = [c + first[k][i] * a + adjoint[k] * b for c, a, b in zip(carried[j], carried[k], bent)]
        return [carried[part.position[id(x)]] if id(x) in part.position else zero for x in inputs]


@settings(max_examples=60, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(expressions, points)
def test_each_rows_error_is_within_its_rounding_bound(expr, point):
    text, _ = expr
    program, values = run(text, point)
    assume(program.inputs and not near_a_kink(program))
    report = hessian(program, values)
    truth = exact_hessian(program, report.wrt)
    with mpmath.workdps(60):
        for i, name in enumerate(report.wrt):
            error = sum(abs(mpmath.mpf(got) - true) for got, true in zip(report.matrix[i], truth[i]))
            assert error <= report.bounds[i], (text, name, float(error), report.bounds[i])


@settings(max_examples=40, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(expressions, points, st.sampled_from([-1070, -1040, -1000, -600, 0, 600, 1000]))
def test_a_hessian_scaled_by_a_power_of_two_stays_symmetric(expr, point, k):
    # 2**k * L: every entry scales by 2**k, exactly while the terms stay normal floats; in the
    # subnormals they round, within both rounding bounds, and the bound still calls H symmetric
    program, values = run(expr[0], point)
    assume(program.inputs and not near_a_kink(program))
    plain = hessian(program, values)
    largest = max(abs(x) for row in plain.matrix for x in row)
    assume(largest * 2.0**k < 1e300)
    scaled = hessian(parse(f"L = ({expr[0]}) * {2.0**k!r}"), values)
    assert scaled.symmetric, (expr[0], k, scaled.matrix, scaled.bounds)
    with mpmath.workdps(60):
        for i, row in enumerate(plain.matrix):
            error = sum(abs(mpmath.mpf(s) - mpmath.ldexp(x, k)) for s, x in zip(scaled.matrix[i], row))
            assert error <= scaled.bounds[i] + mpmath.ldexp(plain.bounds[i], k), (expr[0], k, i)
