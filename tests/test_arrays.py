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


@pytest.mark.slow
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


# -- values given for an array: exactly its shape, as nested lists ---------------------------------------
LAYER = "W = zeros([2,2]); v = [100,10]; L = sum(W @ v)"  # L = 110 * (W[0, 0] + W[1, 0]) + ... by hand below


def grad_with(tmp_path, values, *args: str):
    from conftest import run_cli

    path = tmp_path / "values.json"
    path.write_text(values if isinstance(values, str) else __import__("json").dumps(values))
    return run_cli("grad", LAYER, "--bindings", str(path), "--no-session", *args)


@pytest.mark.parametrize("given, words", [
    # each was read before: L = 420 (the missing element kept its default), L = 120, L = 0 with a
    # warning that W[0] is not an input, and "W is not an input", which is false
    ({"W": [[1, 2], [3]]}, "`W` is ragged: `W[1]` has 1 element, `W[0]` has 2"),
    ({"W": [[1, 2]]}, "the value of `W` has shape (1, 2); expected shape (2, 2)"),
    ({"W": [1, 2, 3, 4]}, "the value of `W` has shape (4,); expected shape (2, 2)"),
    ({"W": 5}, "`W` is an array of shape (2, 2); one number is not spread over its elements"),
    ({"W": [[[1, 2], [3, 4]]]}, "the value of `W` has shape (1, 2, 2); expected shape (2, 2)"),
    ({"W": [[1, 2], 3]}, "`W` is ragged: `W[1]` is a number, `W[0]` a list of 2"),
    ({"W": []}, "the value of `W` has shape (0,); expected shape (2, 2)"),
    ({"W": [[1, 2], [3, True]]}, "the value of `W[1, 1]` is not a number (true)"),
    ({"W": [[1, 2], [3, 4]], "W[0, 1]": 7}, "gives `W[0, 1]` twice"),
    ({"v": 1, "L": [1, 2]}, None),  # data and a computed name: warnings, as for any name that is not an input
])
def test_a_value_for_an_array_must_have_its_shape(tmp_path, given, words):
    result = grad_with(tmp_path, given)
    if words is None:
        assert result.exit_code == 0 and "`v` is not an input" in result.stderr and "`L` is not an input" in result.stderr
        return
    assert result.exit_code == 2 and words in result.stderr and "hint:" in result.stderr, result.stderr
    assert result.stdout == ""


def test_the_hint_shows_the_nested_form_of_the_numbers_given(tmp_path):
    flat = grad_with(tmp_path, {"W": [1, 2, 3, 4]})
    assert 'hint: the 4 numbers given, as a nested list of shape (2, 2): {"W": [[1, 2], [3, 4]]}' in flat.stderr
    one = grad_with(tmp_path, {"W": 5})
    assert '{"W": [[5, 5], [5, 5]]}' in one.stderr and '{"W[0, 0]": 5}' in one.stderr


def test_an_array_of_the_right_shape_and_its_elements_by_name_are_read(tmp_path):
    whole = grad_with(tmp_path, {"W": [[1, 2], [3, 4]]}, "--json")
    assert whole.exit_code == 0, whole.stderr
    assert whole.json()["output"]["value"] == (1 * 100 + 2 * 10) + (3 * 100 + 4 * 10)
    one = grad_with(tmp_path, {"W[0,1]": 3, "W[ 1, 0 ]": 2}, "--json")  # spacing as the user likes it
    assert one.exit_code == 0 and one.json()["output"]["value"] == 3 * 10 + 2 * 100


def test_one_number_for_an_array_on_the_command_line_is_refused(cli):
    result = cli("grad", LAYER, "--W", "5", "--no-session")
    assert result.exit_code == 2 and "on the command line: `W` is an array of shape (2, 2)" in result.stderr


def test_step_save_and_the_session_keep_arrays_as_nested_lists_and_read_them_back(cli, tmp_path):
    import json
    import os

    program = "W = uniform(-1, 1, [2, 3]); b = zeros([2]); c = 1; L = sum((W @ [1, 2, 3] + b - c) ** 2)"
    saved = tmp_path / "values.json"
    first = cli("step", program, "--descend", "--lr", "0.01", "--save", str(saved), "--json")
    assert first.exit_code == 0, first.stderr
    values = json.loads(saved.read_text())
    assert [len(row) for row in values["W"]] == [3, 3] and len(values["b"]) == 2 and set(values) == {"W", "b", "c"}
    assert first.json()["after"]["values"] == values == first.json()["values"]
    session = json.loads(open(os.environ["SCALARGRAD_SESSION"]).read())
    assert session["format"] == 3 and session["values"] == values and session["history"][0]["values"] == values
    again = cli("grad", program, "--bindings", str(saved), "--json", "--no-session")  # read back the same way
    flat = {f"W[{i}, {j}]": values["W"][i][j] for i in range(2) for j in range(3)}
    assert {name: record["value"] for name, record in again.json()["inputs"].items()} == \
        {**flat, "b[0]": values["b"][0], "b[1]": values["b"][1], "c": values["c"]}
    shown = cli("session", "--json").json()
    assert shown["schema"] == "scalargrad.session/2" and shown["values"] == values


def test_a_session_saved_with_element_names_is_read_and_written_back_nested(cli, tmp_path):
    import json
    import os

    path = os.environ["SCALARGRAD_SESSION"]
    old = {"W[0]": 1.5, "W[1]": -2.0, "c": 3.0}  # as format 2 wrote it
    with open(path, "w") as stream:
        json.dump({"format": 2, "program": "W = zeros([2]); c = 1; L = sum(W) * c", "values": old, "history": []}, stream)
    assert cli("grad", "--json").json()["output"]["value"] == (1.5 - 2.0) * 3
    assert cli("step", "--lr", "0.1").exit_code == 0
    written = json.loads(open(path).read())  # each W moves by 0.1 * c = 0.3, c by 0.1 * sum(W) = -0.05
    assert written["format"] == 3 and written["values"] == {"W": [pytest.approx(1.8), pytest.approx(-1.7)],
                                                            "c": pytest.approx(2.95)}


@settings(max_examples=60, deadline=None)
@given(st.sampled_from([(3,), (2, 2), (1, 3), (3, 1)]),
       st.recursive(st.integers(-9, 9), lambda inner: st.lists(inner, max_size=4), max_leaves=12))
def test_a_given_value_is_read_exactly_or_refused_naming_both_shapes(shape, given):
    """Over generated nested values: the elements equal the numbers given, row-major, when the
    shape is the array's; otherwise an error that names the given shape and the expected one."""
    import json

    from scalargrad.bindings import GivenArray, _value, elements
    from scalargrad.errors import InputError

    program = parse(f"W = zeros({list(shape)}); L = sum(W)")
    try:
        value = _value(json.loads(json.dumps(given)), "W", "bindings file v.json")
        result = elements({"W": value}, program.arrays, program.inputs, "bindings file v.json")
    except InputError as error:
        message = error.message
        assert "ragged" in message or "is not a number" in message or \
            (f"expected shape {shape}" in message and "has shape" in message) or "one number is not spread" in message
        return
    assert isinstance(value, GivenArray) and value.shape == shape
    numpy_like = [x for row in given for x in row] if len(shape) == 2 else given
    assert result == dict(zip(program.arrays["W"][1], map(float, numpy_like)))
