"""The engine by hand (the lecture's Value) and at sizes no recursive engine survives."""

import math
import sys

import pytest

from scalargrad import DomainError, Value, parse, topological_order
from scalargrad.ops import FUNCTIONS
from test_seed_replay import lecture_graph


def test_value_by_hand_like_the_lecture():
    g = lecture_graph()  # a, b, c, f by hand; e = a*b, d = e + c, L = d * f, labelled
    L = g["L"]
    assert repr(L) == "Value(data=-8.0)"
    L.backward()
    assert [g[n].grad for n in "abcedfL"] == [6.0, -4.0, -2.0, -2.0, -2.0, 4.0, 1.0]
    assert L._op == "*" and L._prev == (g["d"], g["f"])


def test_operands_keep_order_and_duplicates():
    a = Value(3.0, label="a")
    b = a + a
    assert b._prev == (a, a)
    b.backward()
    assert a.grad == 2.0


def test_backward_is_idempotent():
    a = Value(3.0)
    y = a * a + a
    y.backward()
    first = a.grad
    y.backward()
    assert a.grad == first == 7.0


def test_numbers_mix_in_from_either_side():
    a = Value(2.0)
    for y, expected_value, expected_grad in [
        (2 * a, 4.0, 2.0), (a * 2, 4.0, 2.0), (1 - a, -1.0, -1.0), (a - 1, 1.0, 1.0),
        (8 / a, 4.0, -2.0), (a / 4, 0.5, 0.25), (a ** 3, 8.0, 12.0), (2 ** a, 4.0, 4 * math.log(2)),
        (-a, -2.0, -1.0), (+a, 2.0, 1.0), (abs(-a), 2.0, 1.0),
    ]:
        y.backward()
        assert (y.data, a.grad) == pytest.approx((expected_value, expected_grad)), y


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_every_function_is_a_value_method_matching_the_language(name):
    op = FUNCTIONS[name]
    x, other = Value(0.7), Value(1.3)
    y = getattr(x, name)(*[other][:op.arity - 1])
    y.backward()
    program = parse(f"out = {op.usage}")
    program.run({"x": 0.7, "y": 1.3})
    assert y.data == program.output.data
    assert x.grad == program.names["x"].grad
    if op.arity == 2:
        assert other.grad == program.names["y"].grad


def test_lecture_neuron_by_hand():
    x1, x2, w1, w2 = Value(2.0), Value(0.0), Value(-3.0), Value(1.0)
    b = Value(6.8813735870195432)
    o = (x1 * w1 + x2 * w2 + b).tanh()
    o.backward()
    assert o.data == pytest.approx(0.7071, abs=1e-4)
    assert (x1.grad, w1.grad, x2.grad, w2.grad) == pytest.approx((-1.5, 1.0, 0.5, 0.0))


def test_domain_error_by_hand_names_the_operation():
    with pytest.raises(DomainError, match="log of a non-positive number"):
        Value(-1.0).log()


# -- sizes ---------------------------------------------------------------------------------
@pytest.fixture(autouse=True)
def default_recursion_limit():
    """Every size test runs at Python's default limit, and nothing raises it."""
    assert sys.getrecursionlimit() == 1000
    yield
    assert sys.getrecursionlimit() == 1000


def test_hand_built_chain_100000_deep():
    x = Value(0.5)
    y = x
    for _ in range(100_000):
        y = y * 1.0 + 0.0
    assert len(topological_order(y)) == 400_001  # x, then per step: 1.0, *, 0.0, +
    y.backward()
    assert x.grad == 1.0


def test_nested_parentheses_100000_deep():
    program = parse("L = " + "(" * 100_000 + "x" + ")" * 100_000 + " * 3")
    program.run({"x": 2})
    assert program.output.data == 6.0 and program.names["x"].grad == 3.0


def test_nested_calls_100000_deep():
    program = parse("L = " + "relu(" * 100_000 + "x" + ")" * 100_000)
    program.run({"x": 2})
    assert len(program.nodes) == 100_001
    assert program.output.data == 2.0 and program.names["x"].grad == 1.0


def test_unary_minus_chain_100000_deep():
    program = parse("L = " + "-" * 100_000 + "x")
    program.run({"x": 2})
    assert program.output.data == 2.0 and program.names["x"].grad == 1.0


def test_right_nested_sum_100000_deep():
    program = parse("L = " + "(x + " * 100_000 + "1" + ")" * 100_000)
    program.run({"x": 1})
    assert program.output.data == 100_001 and program.names["x"].grad == 100_000


@pytest.mark.slow
def test_chain_of_100000_statements():
    lines = ["x0 = a"] + [f"x{i} = x{i - 1} + a" for i in range(1, 100_000)]
    program = parse("\n".join(lines))
    program.run({"a": 1})
    assert program.output.data == 100_000 and program.names["a"].grad == 100_000


@pytest.mark.slow
def test_flat_sum_of_a_million_terms():
    program = parse("L = " + " + ".join(f"x{i % 1000}" for i in range(1_000_000)))
    assert len(program.nodes) > 1_000_000
    program.run({f"x{i}": i for i in range(1000)})
    assert program.output.data == 1000 * sum(range(1000))
    assert program.names["x7"].grad == 1000.0
