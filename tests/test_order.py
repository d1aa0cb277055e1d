"""`grad --order N --wrt x`: exact higher derivatives along one input, from the derivative table's
`taylor` column (truncated Taylor series through every row). Every row against mpmath's Taylor
series at 40 digits; whole programs against SymPy's derivatives; order 1 against `grad`, order 2
against the Hessian's diagonal; the command as a user runs it."""

from __future__ import annotations

import math

import mpmath
import pytest
import sympy

from conftest import run_cli, run_installed
from random_programs import make, sympy_expressions
from scalargrad import UsageError, budget, parse
from scalargrad.errors import BudgetError, DomainError
from scalargrad.gradients import MAX_ORDER, higher
from scalargrad.hessian import hessian
from scalargrad.ops import OPS

mp = mpmath.mp
ORDER = 6

# The rows' functions at 40 digits, as tests/test_numerics.py writes them
UNARY = {
    "neg": lambda x: -x, "=": lambda x: x, "exp": mpmath.exp, "log": mpmath.log, "tanh": mpmath.tanh,
    "relu": lambda x: x if x > 0 else 0 * x, "sigmoid": lambda x: 1 / (1 + mpmath.exp(-x)), "sin": mpmath.sin,
    "cos": mpmath.cos, "tan": mpmath.tan, "sqrt": mpmath.sqrt, "atan": mpmath.atan, "abs": abs,
    "asin": mpmath.asin, "acos": mpmath.acos, "sinh": mpmath.sinh, "cosh": mpmath.cosh, "log1p": mpmath.log1p,
    "expm1": mpmath.expm1, "log2": lambda x: mpmath.log(x, 2), "log10": mpmath.log10,
    "softplus": lambda x: mpmath.log(1 + mpmath.exp(x)), "heaviside": lambda x: 1 + 0 * x if x > 0 else 0 * x,
    "sign": lambda x: 1 + 0 * x if x > 0 else -1 + 0 * x,
}
BINARY = {
    "+": lambda x, y: x + y, "-": lambda x, y: x - y, "*": lambda x, y: x * y, "/": lambda x, y: x / y,
    "**": lambda x, y: x ** y, "min": min, "max": max, "atan2": mpmath.atan2, "hypot": mpmath.hypot,
    "logb": lambda x, y: mpmath.log(x) / mpmath.log(y), "logsumexp": lambda x, y: mpmath.log(mpmath.exp(x) + mpmath.exp(y)),
}
POINTS = (0.3, 0.7, -0.4, 2.5, -3.0)
MOVES = ([1.0, 0.5, -0.2], [-2.0, 0.0, 0.75], [0.0, 0.0, 0.0])  # x(t) - x0: t + t**2/2 - t**3/5, ...


def test_every_row_has_a_taylor_rule_and_a_reference():
    assert all(op.taylor is not None for op in OPS.values())
    assert set(UNARY) | set(BINARY) == set(OPS)


def _reference(f, x0: float, move: list[float], y0: float | None = None, y_move: list[float] | None = None):
    mp.dps = 40

    def along(t):
        x = x0 + sum(mpmath.mpf(c) * t ** (k + 1) for k, c in enumerate(move))
        if y0 is None:
            return f(x)
        return f(x, y0 + sum(mpmath.mpf(c) * t ** (k + 1) for k, c in enumerate(y_move)))

    coefficients = mpmath.taylor(along, 0, ORDER)
    if any(isinstance(c, mpmath.mpc) for c in coefficients):
        return None  # not real around there (a negative base with a moving exponent)
    return [float(c) for c in coefficients]


def _series(x0: float, move: list[float]) -> list[float]:
    return [x0, *move] + [0.0] * (ORDER - len(move))


@pytest.mark.parametrize("name", sorted(UNARY))
def test_each_functions_series_is_mpmaths(name):
    op = OPS[name]
    for x0 in POINTS:
        for move in MOVES[:2]:
            try:
                ans = op.forward(x0)
            except DomainError:
                continue
            ours = op.taylor(ans, _series(x0, move))
            reference = _reference(UNARY[name], x0, move)
            assert all(abs(a - b) <= 1e-12 * max(1.0, abs(b)) for a, b in zip(ours, reference)), (x0, ours, reference)


@pytest.mark.parametrize("name", sorted(BINARY))
def test_each_operators_series_is_mpmaths(name):
    op = OPS[name]
    for x0, y0 in ((0.3, 1.7), (2.5, 0.4), (1.5, 3.0), (-0.5, 2.0), (-1.5, -2.0)):
        for y_move in MOVES:  # the other operand moving too, or constant
            try:
                ans = op.forward(x0, y0)
            except DomainError:
                continue
            reference = _reference(BINARY[name], x0, MOVES[0], y0, y_move)
            ours = op.taylor(ans, _series(x0, MOVES[0]), _series(y0, y_move))
            if reference is None:
                assert ours[0] == ans and all(c != c for c in ours[1:])  # no real series: none given
                continue
            assert all(abs(a - b) <= 1e-12 * max(1.0, abs(b)) for a, b in zip(ours, reference)), (x0, y0, ours)


def test_a_power_at_zero_with_a_whole_exponent_has_its_series():
    # (t + t**2)**3 = t**3 + 3 t**4 + 3 t**5 + t**6
    assert OPS["**"].taylor(0.0, [0.0, 1.0, 1.0, 0.0, 0.0, 0.0, 0.0], [3.0] + [0.0] * 6) == \
        [0.0, 0.0, 0.0, 1.0, 3.0, 3.0, 1.0]


# -- whole programs ----------------------------------------------------------------------------------
def test_known_derivatives_by_hand():
    report = higher(parse("y = x**3"), {"x": 2.0}, "x", 4)
    assert report.derivatives == [12.0, 12.0, 6.0, 0.0]
    report = higher(parse("y = sin(x)"), {"x": 0.5}, "x", MAX_ORDER)
    cycle = [math.cos(0.5), -math.sin(0.5), -math.cos(0.5), math.sin(0.5)]
    assert all(abs(d - cycle[k % 4]) <= 1e-12 for k, d in enumerate(report.derivatives))
    report = higher(parse("L = exp(2 * x) * y"), {"x": 0.0, "y": 3.0}, "x", 5)
    assert report.derivatives == [3.0 * 2 ** k for k in range(1, 6)]


@pytest.mark.slow
def test_the_third_derivative_is_sympys_on_100_generated_programs():
    for seed in range(100):
        generated = make(1000 + seed, outputs=(1, 1))
        program = parse(generated.source)
        wrt = generated.inputs[seed % len(generated.inputs)]
        ours = higher(program, generated.values, wrt, 3, program.node(generated.outputs[0])).derivatives
        (expression,) = sympy_expressions(program, generated.outputs)
        symbols = {symbol.name: symbol for symbol in expression.free_symbols}
        if wrt not in symbols:  # the output does not read it
            assert ours == [0.0, 0.0, 0.0]
            continue
        point = {symbols[name]: sympy.Float(value, 30) for name, value in generated.values.items() if name in symbols}
        for k, value in enumerate(ours, 1):
            reference = float(sympy.diff(expression, symbols[wrt], k).evalf(30, subs=point))
            assert abs(value - reference) <= 1e-9 * max(1.0, abs(reference)), (generated.source, wrt, k)


def test_order_one_is_grads_gradient_and_order_two_the_hessians_diagonal():
    for seed in range(40):
        generated = make(2000 + seed, outputs=(1, 1))
        program = parse(generated.source)
        of = program.node(generated.outputs[0])
        matrix = hessian(program, generated.values, of=of).matrix
        names = list(program.inputs)
        program.run(generated.values, of)
        gradient = {name: program.inputs[name].grad for name in names}
        for i, name in enumerate(names):
            first, second = higher(program, generated.values, name, 2, of).derivatives
            assert abs(first - gradient[name]) <= 1e-12 * max(1.0, abs(first))
            assert abs(second - matrix[i][i]) <= 1e-12 * max(1.0, abs(second))


def test_a_kink_has_no_higher_derivatives_and_says_where():
    with pytest.raises(DomainError) as raised:
        higher(parse("y = relu(x) ** 3"), {"x": 0.0}, "x", 3)
    assert raised.value.message.startswith("derivatives of order 2 and more do not exist here: relu has a kink at (0)")
    assert higher(parse("y = relu(x) ** 3"), {"x": 0.0}, "x", 1).derivatives == [0.0]  # the first, as grad gives it


def test_an_exponent_at_a_negative_base_has_no_series_and_says_so():
    with pytest.raises(DomainError) as raised:
        higher(parse("L = x**y"), {"x": -2.0, "y": 3.0}, "y", 2)
    assert raised.value.message.startswith("the derivative of order 1 is undefined here: ** has no series")
    assert raised.value.hint == OPS["**"].hints[1]
    assert higher(parse("L = x**y"), {"x": -2.0, "y": 3.0}, "x", 3).derivatives == [12.0, -12.0, 6.0]


def test_the_series_work_is_refused_before_it_starts_beyond_the_budget():
    program = parse("W = zeros([40]); L = sum(tanh(W * x))")
    with budget.limit(10):
        with pytest.raises(BudgetError, match="a Taylor series of order 20 through a"):
            higher(program, {"x": 1.0}, "x", 20)


# -- the command -------------------------------------------------------------------------------------
def test_the_command_shows_each_order():
    result = run_installed("grad", "L = x**3 * y", "--x", "2", "--y", "3", "--order", "3", "--wrt", "x",
                           "--no-session")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == (
        "derivatives of L = 24 in x at x = 2\n"
        "order  derivative  value\n"
        "    1  dL/dx          36\n"
        "    2  d2L/dx2        36\n"
        "    3  d3L/dx3        18\n"
        "the other input held at its value\n"
        "exact: one forward pass carrying each node's Taylor series to order 3 (3 node visits)\n")


def test_the_command_speaks_json():
    document = run_cli("grad", "y = exp(x)", "--x", "0", "--order", "4", "--no-session", "--json").json()
    assert document["schema"] == "scalargrad.order/1" and document["wrt"] == "x"
    assert document["derivatives"] == [1.0, 1.0, 1.0, 1.0]
    assert document["taylor"] == [1.0, 1.0, 0.5, 1 / 6, 1 / 24]


@pytest.mark.parametrize("args, message", [
    (["--order", "0", "--wrt", "x"], "error: --order must be from 1 to 20, not 0"),
    (["--order", "21", "--wrt", "x"], "error: --order must be from 1 to 20, not 21"),
    (["--order", "2"], "error: --order 2 needs the input to differentiate by: --wrt NAME"),
    (["--wrt", "x"], "error: --wrt goes with --order"),
    (["--order", "2", "--wrt", "L"], "error: cannot differentiate by `L`: it is computed by the program, not an input"),
    (["--order", "2", "--wrt", "x", "--all"], "error: --all does not apply to --order"),
])
def test_orders_that_do_not_fit_are_refused_in_words(args, message):
    result = run_cli("grad", "L = x**3 * y", "--x", "2", "--y", "3", "--no-session", *args)
    assert result.exit_code == 2 and result.stderr.startswith(message), result.stderr


def test_an_order_is_refused_as_a_usage_error_from_python():
    with pytest.raises(UsageError):
        higher(parse("y = x"), {"x": 1.0}, None, 0)
