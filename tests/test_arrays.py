"""Arrays and functions of one's own: literals, indexing, broadcasting, `@`, reductions,
`def` expanded at each call; every element a scalar node. Values against SymPy and by hand."""

import math

import pytest
import sympy
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scalargrad import ScalarGradError, parse


def run(source: str, **values: float):
    program = parse(source)
    program.run(values)
    return program


def error_of(source: str) -> str:
    with pytest.raises(ScalarGradError) as caught:
        parse(source)
    return caught.value.format()


def test_a_layer_by_hand():
    program = run("x = [2, 3, -1]\nW = [[1, 2, 3], [4, 5, 6]]\nb = [0.5, -0.5]\nh = W @ x + b\nL = sum(h * h)")
    # W @ x = [5, 17]; + b = [5.5, 16.5]
    assert [program.names[f"h[{i}]"].data for i in range(2)] == [5.5, 16.5]
    assert program.output.data == 5.5**2 + 16.5**2
    assert program.arrays["W"] == ((2, 3), ["W[0, 0]", "W[0, 1]", "W[0, 2]", "W[1, 0]", "W[1, 1]", "W[1, 2]"])


@pytest.mark.parametrize("source, expected", [
    ("L = sum([[1, 2], [3, 4]] * [10, 100])", 10 + 200 + 30 + 400),  # a row broadcast over a matrix
    ("L = sum([[1, 2], [3, 4]] + 1)", 14),
    ("L = [1, 2] @ [3, 4]", 11),
    ("L = sum([1, 1] @ [[1, 2], [3, 4]])", 10),
    ("L = sum(transpose([[1, 2], [3, 4]]) @ [1, 0])", 3),
    ("L = [[1, 2], [3, 4]][1, 0] + [[1, 2], [3, 4]][0][1]", 5),
    ("L = mean([1, 2, 6]) + max([1, 5, 2]) + min([4, -1])", 7),
    ("L = logsumexp([1000, 1000])", 1000 + math.log(2)),
    ("L = sum(max([1, 5], [3, 2]))", 8),
    ("L = sum(tanh([0, 0]))", 0),
])
def test_array_values(source, expected):
    assert run(source).output.data == expected


def test_programs_without_arrays_have_no_array_bookkeeping():
    program = run("L = (a*b + c) * f", a=2, b=-3, c=10, f=-2)
    assert program.arrays == {} and program.calls == ()


@pytest.mark.parametrize("source, words, line, column", [
    ("x = [1, 2]\nW = [[1, 2, 3], [4, 5, 6]]\nL = sum(W + x)", "cannot add shapes (2, 3) and (2,)", 3, 11),
    ("x = [1, 2]\nL = x[2]", "index 2 is out of range for shape (2,)", 2, 7),
    ("W = [[1, 2], [3, 4]]\nL = W[0, 5]", "index 5 is out of range for shape (2, 2)", 2, 10),
    ("L = sum([[1, 2], [3, 4]] @ [1, 2, 3])", "cannot multiply shapes (2, 2) and (3,) with @", 1, 26),
    ("L = sum([[1, 2], [3]])", "the elements of an array must have one shape", 1, 18),
    ("L = [1, 2]", "the output is an array of shape (2,)", 1, 1),
])
def test_shape_errors_are_located(source, words, line, column):
    message = error_of(source)
    assert f"line {line}, column {column}: {words}" in message, message


@pytest.mark.parametrize("function", ["sum", "mean", "max", "min", "logsumexp", "transpose"])
def test_a_reduction_of_a_scalar_is_the_scalar_as_in_numpy(function):
    program = run(f"L = 3 * {function}(a)", a=1.5)
    assert program.output.data == 4.5 and program.inputs["a"].grad == 3.0


def test_one_model_def_takes_one_example_or_a_batch():
    model = ("w = [0.5, -2]; c = 0.25\n"
             "def model(X) = relu(X @ w + c)\n")
    batch = run(model + "L = sum(model([[1, 2], [3, 0.5], [-1, 1]]))")
    one = run(model + "L = model([3, 0.5])")
    assert batch.output.data == 0.5 * 3 - 2 * 0.5 + 0.25 + 0 + 0 and one.output.data == 0.75


def test_lecture_neuron_as_a_function():
    program = run("def neuron(x1, x2, w1, w2, b) = tanh(x1*w1 + x2*w2 + b)\nL = neuron(2, 0, w1, w2, b)",
                  w1=-3.0, w2=1.0, b=6.8813735870195432)
    assert program.output.data == pytest.approx(0.7071067811865476, abs=1e-15)
    grads = {name: node.grad for name, node in program.inputs.items()}
    assert grads == pytest.approx({"w1": 1.0, "w2": 0.0, "b": 0.5})
    assert program.text(program.output) == "neuron(2, 0, w1, w2, b)"  # the call's text labels its result


def test_functions_take_and_return_arrays():
    program = run("W = [[1, 2], [3, 4]]\ndef layer(M, v) = tanh(M @ v)\ndef twice(v) = layer(W, layer(W, v))\n"
                  "L = sum(twice([a, 0]))", a=0.1)
    h = [math.tanh(0.1), math.tanh(0.3)]  # layer(W, [0.1, 0])
    expected = math.tanh(1 * h[0] + 2 * h[1]) + math.tanh(3 * h[0] + 4 * h[1])
    assert program.output.data == pytest.approx(expected, rel=1e-15)


def test_ten_thousand_nested_calls_need_no_recursion():
    n = 10_000
    program = run("def f(x) = x * 0.5 + 1\nL = " + "f(" * n + "a" + ")" * n, a=1.0)
    # a, then per call its own 0.5, x * 0.5, 1 and the sum: the calls written out by hand
    assert program.output.data == 2.0 and len(program.nodes) == 4 * n + 1


@pytest.mark.parametrize("source, words", [
    ("def f(x) = f(x)\nL = f(a)", "`f` calls itself: a definition cannot be recursive"),
    ("def f(x) = g(x)\ndef g(y) = y\nL = f(a)", "`g` is called before it is defined"),
    ("def f(x, y) = x*y\nL = f(a)", "`f` takes 2 arguments, not 1"),
    ("def f(x) = x + q\nL = f(a)", "`q` is not a parameter of `f`"),
    ("def tanh(x) = x\nL = tanh(a)", "`tanh` is already a built-in function"),
    ("def f(x) = x\n", "the program ends with a definition"),
])
def test_definition_errors_are_located(source, words):
    message = error_of(source)
    assert words in message and "^" in message, message


def test_an_error_inside_a_body_shows_the_body_and_the_call():
    message = error_of("def f(x) = log(x - 3)\nL = f(2)")
    assert "   1 | def f(x) = log(x - 3)\n     |            ^^^^^^^^^^" in message
    assert "   2 | L = f(2)\n     |     ^^^^ called here" in message
    program = parse("def f(x) = log(x - 3)\nL = f(a) * 2")
    with pytest.raises(Exception) as raised:
        program.run({"a": 2.0})
    text = raised.value.format()
    assert "def f(x) = log(x - 3)" in text and "^^^^ called here" in text


def test_calls_are_kept_as_ranges_and_a_folded_result_leaves_its_call():
    nested = parse("def f(x) = log(x - 1)\nL = 2 * f(f(a))")
    with pytest.raises(Exception) as raised:
        nested.run({"a": 1.5})  # the outer call fails: log(log(0.5) - 1)
    assert "   2 | L = 2 * f(f(a))\n     |         ^^^^^^^ called here" in raised.value.format()
    # two(a) comes to the constant 2, folded away with `- 2`: the nodes after it are not the call's
    folded = parse("def two(x) = 1 + 1\nL = log(two(a) - 2 + a)")
    with pytest.raises(Exception) as raised:
        folded.run({"a": 0.0})
    assert "called here" not in raised.value.format() and "log(two(a) - 2 + a)" in raised.value.format()
    assert all(stop <= len(folded.nodes) for _, stop, _, _ in folded.calls)


# -- generated programs against SymPy ---------------------------------------------------------
@st.composite
def layer_programs(draw):
    m, n = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    numbers = st.integers(-3, 3).map(lambda k: k / 2)
    W = [[draw(numbers) for _ in range(n)] for _ in range(m)]
    b = [draw(numbers) for _ in range(m)]
    fn = draw(st.sampled_from(["tanh", "sigmoid", "softplus", "sin"]))
    reduction = draw(st.sampled_from(["sum", "mean", "logsumexp"]))
    return W, b, fn, reduction


SYMPY = {"tanh": sympy.tanh, "sin": sympy.sin, "sigmoid": lambda s: 1 / (1 + sympy.exp(-s)),
         "softplus": lambda s: sympy.log(1 + sympy.exp(s))}


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(layer_programs(), st.lists(st.floats(-2, 2), min_size=3, max_size=3))
def test_a_layer_through_a_function_matches_sympy(generated, point):
    W, b, fn, reduction = generated
    n = len(W[0])
    inputs = [f"x{j}" for j in range(n)]
    source = (f"W = {W}\nb = {b}\ndef layer(v) = {fn}(W @ v + b)\n"
              f"L = {reduction}(layer([{', '.join(inputs)}]) * x0)")
    program = parse(source)
    values = dict(zip(inputs, point))
    program.run(values)
    xs = [sympy.Symbol(name, real=True) for name in inputs]
    h = [SYMPY[fn](sum(sympy.nsimplify(W[i][j]) * xs[j] for j in range(n)) + sympy.nsimplify(b[i])) * xs[0]
         for i in range(len(W))]
    L = {"sum": sum(h), "mean": sum(h) / len(h), "logsumexp": sympy.log(sum(sympy.exp(t) for t in h))}[reduction]
    subs = {s: values[s.name] for s in xs}
    assert program.output.data == pytest.approx(float(L.evalf(subs=subs)), rel=1e-9, abs=1e-12)
    for s in xs:
        assert program.inputs[s.name].grad == pytest.approx(float(sympy.diff(L, s).evalf(subs=subs)),
                                                            rel=1e-8, abs=1e-12), source


def test_initialisers_make_named_parameters_from_the_seed():
    import random

    program = parse("W = uniform(-1, 1, [2, 3])\nb = zeros([2])\nL = sum(tanh(W @ [1, 2, 3] + b))")
    rng = random.Random(0)
    assert [program.defaults[f"W[{i}, {j}]"] for i in range(2) for j in range(3)] == \
        [rng.uniform(-1, 1) for _ in range(6)]
    assert program.defaults["b[1]"] == 0.0 and "W[1, 2]" in program.inputs
    assert parse("W = normal(0, 1, [2])\nL = sum(W)", seed=5).defaults["W[0]"] == random.Random(5).gauss(0, 1)


@pytest.mark.parametrize("source, words", [
    ("W = uniform(-1, 1, [100000, 100000])\nL = sum(W)", "makes 10,000,000,000 parameters, which would bring the program to "
     "10,000,000,000 nodes; the budget is 2,000,000"),
    ("L = sum(uniform(-1, 1, [2]))", "parameters must be named"),
    ("W = uniform(-1, 1)\nL = sum(W)", "`uniform` takes 3 arguments, not 2"),
])
def test_initialiser_errors_are_located(source, words):
    message = error_of(source)
    assert words in message and "^" in message, message
