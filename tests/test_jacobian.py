"""`scalargrad jacobian`: forward mode and reverse mode agree with each other, with torch.func and
with finite differences; every pass and node visit is counted as it runs and equals the count made
before any pass; `auto` runs the cheaper. Also --jvp, --vjp and hessian --hvp, vectors on the
command line, and the Python API's conveniences (Program.grad, repr, the Jupyter pictures)."""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import LECTURE, LECTURE_VALUES, STATEMENTS, run_cli, run_installed
from random_programs import make, torch_function
from scalargrad import UsageError, budget, parse
from scalargrad.errors import BudgetError, InputError
from scalargrad.hessian import hessian, hvp
from scalargrad.jacobian import Cost, jacobian, jvp, named_outputs, vjp

# torch's own modules warn about their deprecated parts as they load: not ours to fix
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

LECTURE_POINT = {"a": 2.0, "b": -3.0, "c": 10.0, "f": -2.0}
GENERATED = [make(seed) for seed in range(200)]  # 2-4 outputs over 2-6 inputs, scalars and small arrays


def close(a: float, b: float, tolerance: float) -> bool:
    return abs(a - b) <= tolerance * max(1.0, abs(a), abs(b))


# -- the lecture's numbers ----------------------------------------------------------------------
def test_the_lecture_is_one_backward_pass_or_four_forward_ones():
    program = parse(STATEMENTS)
    forward = jacobian(program, LECTURE_POINT, mode="forward")
    reverse = jacobian(program, LECTURE_POINT, mode="reverse")
    assert forward.matrix == reverse.matrix == [[6.0, -4.0, -2.0, 4.0]]
    # forward: a and b reach a*b, d and L (4 nodes each, themselves included), c reaches d and L,
    # f reaches L; reverse: one pass from L reaches all 7 nodes
    assert forward.measured == Cost(passes=4, visits=4 + 4 + 3 + 2)
    assert reverse.measured == Cost(passes=1, visits=7)
    auto = jacobian(program, LECTURE_POINT)
    assert auto.mode == "reverse" and auto.auto
    assert auto.why == "1 backward pass takes fewer node visits than 4 forward passes (7 against 13)"


def test_one_input_and_many_outputs_go_forward():
    report = jacobian(parse("y1 = sin(t); y2 = cos(t); y3 = t * t"), {"t": 0.5})
    assert report.mode == "forward" and report.measured == Cost(passes=1, visits=4)
    assert report.costs["reverse"] == Cost(passes=3, visits=6)
    assert report.matrix == [[math.cos(0.5)], [-math.sin(0.5)], [1.0]]


def test_named_outputs_are_the_last_statement_and_every_name_nothing_reads():
    assert [n.label for n in named_outputs(parse(STATEMENTS))] == ["L"]
    program = parse("h = tanh(x); accuracy = h * 2; k = 2 * 3; a = 3; L = h + x * a * k")
    assert [n.label for n in named_outputs(program)] == ["accuracy", "L"]  # not the constant k, nor the input a
    moons = parse(open("docs/examples/moons.sg").read(), data={"x1": [1.0, 2.0], "x2": [0.5, 0.1], "y": [1.0, -1.0]})
    assert [n.label for n in named_outputs(moons)] == ["accuracy", "L"]


# -- 200 generated programs: forward = reverse = torch = finite differences ------------------------
def test_forward_and_reverse_agree_and_count_a_pass_per_input_and_per_output():
    for generated in GENERATED:
        program = parse(generated.source)
        assert sorted(program.inputs) == sorted(generated.inputs)
        forward = jacobian(program, generated.values, generated.outputs, generated.inputs, mode="forward")
        reverse = jacobian(program, generated.values, generated.outputs, generated.inputs, mode="reverse")
        assert forward.measured.passes == len(generated.inputs)
        assert reverse.measured.passes == len(generated.outputs)
        # the visits counted as the passes ran are those counted on the graph before any ran
        assert forward.measured == forward.costs["forward"] and reverse.measured == reverse.costs["reverse"]
        assert forward.costs == reverse.costs
        for row_f, row_r in zip(forward.matrix, reverse.matrix):
            for f, r in zip(row_f, row_r):
                assert close(f, r, 1e-12), (generated.source, f, r)


def test_the_jacobian_is_finite_differences_of_the_outputs():
    for generated in GENERATED:
        program = parse(generated.source)
        matrix = jacobian(program, generated.values, generated.outputs, generated.inputs).matrix
        for j, name in enumerate(generated.inputs):
            h = 1e-6
            moved = [dict(generated.values, **{name: generated.values[name] + s * h}) for s in (1, -1)]
            ends = []
            for values in moved:
                program.evaluate(values)
                ends.append([program.node(out).data for out in generated.outputs])
            for i in range(len(generated.outputs)):
                assert close(matrix[i][j], (ends[0][i] - ends[1][i]) / (2 * h), 1e-6), (generated.source, i, name)


@pytest.mark.slow
def test_forward_and_reverse_equal_torch_jacfwd_and_jacrev():
    torch = pytest.importorskip("torch", reason="torch is not installed: pip install torch==2.13.0 for the reference")
    from torch.func import jacfwd, jacrev

    for generated in GENERATED:
        program = parse(generated.source)
        forward = jacobian(program, generated.values, generated.outputs, generated.inputs, mode="forward").matrix
        reverse = jacobian(program, generated.values, generated.outputs, generated.inputs, mode="reverse").matrix
        f = torch_function(program, generated.inputs, generated.outputs)
        x = torch.tensor([generated.values[name] for name in generated.inputs], dtype=torch.float64)
        for ours, theirs in ((forward, jacfwd(f)(x).tolist()), (reverse, jacrev(f)(x).tolist())):
            for row, reference in zip(ours, theirs):
                for a, b in zip(row, reference):
                    assert close(a, b, 1e-12), (generated.source, a, b)


def test_a_jvp_is_the_jacobian_times_the_direction_in_one_forward_pass():
    for generated in GENERATED[:50]:
        program = parse(generated.source)
        matrix = jacobian(program, generated.values, generated.outputs, generated.inputs).matrix
        direction = {name: (-1.0) ** k * (k + 1) / 4 for k, name in enumerate(generated.inputs)}
        report = jvp(program, generated.values, direction, generated.outputs)
        assert report.measured.passes == 1
        for row, value in zip(matrix, report.result):
            assert close(value, math.fsum(a * direction[name] for a, name in zip(row, generated.inputs)), 1e-12)


def test_a_vjp_is_the_weights_times_the_jacobian_in_one_backward_pass():
    for generated in GENERATED[:50]:
        program = parse(generated.source)
        matrix = jacobian(program, generated.values, generated.outputs, generated.inputs).matrix
        weights = {name: 1.0 - 0.75 * k for k, name in enumerate(generated.outputs)}
        report = vjp(program, generated.values, weights)
        assert report.measured.passes == 1 and report.labels == list(program.inputs)
        for j, name in enumerate(report.labels):
            column = generated.inputs.index(name)
            expected = math.fsum(w * row[column] for w, row in zip(weights.values(), matrix))
            assert close(report.result[j], expected, 1e-12)


def test_the_work_is_refused_before_any_pass_beyond_the_budget():
    program = parse("W = zeros([100]); u = sum(tanh(W)); v = sum(W * W)")
    with budget.limit(5):  # 5,000 node evaluations; forward mode takes 100 passes, ~10,000 visits
        with pytest.raises(BudgetError, match=r"the Jacobian of 2 outputs over 100 inputs in forward mode"):
            jacobian(program, {}, mode="forward")
        assert jacobian(program, {}, mode="reverse").measured.passes == 2


def test_a_program_without_inputs_has_no_jacobian():
    with pytest.raises(UsageError, match="the program has no inputs"):
        jacobian(parse("L = 2 * 3"), {})


def test_an_infinite_derivative_is_the_engines_located_error():
    with pytest.raises(Exception) as raised:
        jacobian(parse("u = sqrt(x); v = x * y"), {"x": 0.0, "y": 1.0}, mode="forward")
    assert "the gradient is infinite here" in raised.value.message and "sqrt(x)" in raised.value.format()


# -- the command ------------------------------------------------------------------------------------
def test_the_command_shows_the_matrix_and_what_each_mode_costs():
    result = run_installed("jacobian", LECTURE, *LECTURE_VALUES, "--no-session")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == (
        "Jacobian of L at a = 2, b = -3, c = 10, f = -2\n"
        "   a   b   c  f\n"
        "L  6  -4  -2  4\n"
        "reverse mode: 1 backward pass (one per output), 7 node visits\n"
        "forward mode would take 4 forward passes, 13 node visits (counted on the graph, not run)\n"
        "auto chose reverse: 1 backward pass takes fewer node visits than 4 forward passes (7 against 13)\n")


def test_the_command_speaks_json_and_csv():
    args = ["jacobian", "u = x*y; v = x + y", "--x", "2", "--y", "3", "--no-session", "--mode", "forward"]
    document = run_cli(*args, "--json").json()
    assert document["schema"] == "scalargrad.jacobian/1"
    assert document["jacobian"] == [[3.0, 2.0], [1.0, 1.0]] and document["wrt"] == ["x", "y"]
    assert [ref["name"] for ref in document["of"]] == ["u", "v"]
    assert (document["mode"], document["auto"], document["passes"], document["visits"]) == ("forward", False, 2, 6)
    assert document["costs"] == {"forward": {"passes": 2, "visits": 6}, "reverse": {"passes": 2, "visits": 6}}
    assert run_cli(*args, "--csv").stdout == "output,x,y\nu,3.0,2.0\nv,1.0,1.0\n"


def test_the_command_takes_arrays_whole_in_of_and_wrt():
    result = run_cli("jacobian", "--file", "docs/examples/mlp.sg", "--of", "ypred", "--wrt", "b3", "--no-session",
                     "--json")
    document = result.json()
    assert [ref["name"] for ref in document["of"]] == ["ypred[0]", "ypred[1]", "ypred[2]", "ypred[3]"]
    assert document["wrt"] == ["b3[0]"] and document["mode"] == "forward"


def test_jvp_and_vjp_on_the_command_line():
    base = ["jacobian", "u = x*y; v = x + y", "--x", "2", "--y", "3", "--no-session"]
    document = run_cli(*base, "--jvp", "x=1, y=0", "--json").json()
    assert document["jvp"] == {"u": 3.0, "v": 1.0} and document["passes"] == 1
    document = run_cli(*base, "--vjp", "u=1, v=2", "--json").json()
    assert document["vjp"] == {"x": 5.0, "y": 4.0} and document["weights"] == {"u": 1.0, "v": 2.0}
    document = run_cli("jacobian", "W = zeros([2, 2]); u = sum(W * W)", "--W", "[[1, 2], [3, 4]]", "--no-session",
                       "--jvp", "W=[[1, 0], [0, 1]]", "--json").json()
    assert document["jvp"] == {"u": 10.0} and document["direction"] == {"W": [[1.0, 0.0], [0.0, 1.0]]}


@pytest.mark.parametrize("extra, message", [
    (["--mode", "sideways"], "error: --mode must be forward, reverse or auto, not `sideways`"),
    (["--jvp", "x=1", "--vjp", "u=1"], "error: give --jvp or --vjp, not both"),
    (["--jvp", "x=1", "--wrt", "x"], "error: --wrt does not apply to --jvp"),
    (["--jvp", "x=1", "--mode", "forward"], "error: --mode does not apply to --jvp: it is one forward pass"),
    (["--vjp", "u=1", "--of", "u"], "error: --of does not apply to --vjp"),
    (["--jvp", "q=1"], "error: --jvp names `q`, which is not an input of the program"),
    (["--jvp", "x"], "error: --jvp `x` is not NAME=VALUE"),
    (["--jvp", "x=1, x=2"], "error: --jvp gives `x` twice"),
    (["--jvp", "x=[1, 2]"], "error: --jvp: `x` is a single number in the program; the value given is a list"),
    (["--json", "--csv"], "error: give --json or --csv, not both"),
])
def test_options_that_do_not_fit_are_refused_in_words(extra, message):
    result = run_cli("jacobian", "u = x*y; v = x + y", "--x", "2", "--y", "3", "--no-session", *extra)
    assert result.exit_code == 2 and result.stderr.startswith(message), result.stderr
    assert "Traceback" not in result.stderr


# -- hessian --hvp ----------------------------------------------------------------------------------
def test_a_hessian_vector_product_is_the_matrix_times_the_direction():
    for generated in GENERATED[:40]:
        program = parse(generated.source)
        of = program.node(generated.outputs[0])
        matrix = hessian(program, generated.values, of=of).matrix
        names = list(program.inputs)
        direction = {name: 0.5 - k / 3 for k, name in enumerate(names)}
        product = hvp(program, generated.values, direction, of=of).product
        for row, value in zip(matrix, product):
            assert close(value, math.fsum(h * direction[name] for h, name in zip(row, names)), 1e-12)


def test_hvp_on_the_command_line():
    result = run_installed("hessian", "L = x**2*y + sin(y)", "--x", "1", "--y", "2", "--hvp", "x=1", "--no-session",
                           "--json")
    assert result.exit_code == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["schema"] == "scalargrad.hvp/1"
    assert document["hvp"] == {"x": 4.0, "y": 2.0} and document["direction"] == {"x": 1.0}


MOONS_SMALL = """W1 = uniform(-1, 1, [4, 2]); b1 = uniform(-0.1, 0.1, [4])
W2 = uniform(-1, 1, [4, 4]); b2 = uniform(-0.1, 0.1, [4])
W3 = uniform(-1, 1, [4]); b3 = zeros([1])
def model(X) = relu(relu(X @ transpose(W1) + b1) @ transpose(W2) + b2) @ W3 + b3[0]
score = model(transpose([x1, x2]))
data_loss = mean(relu(1 - y * score))
reg_loss = 1e-4 * (sum(W1*W1) + sum(b1*b1) + sum(W2*W2) + sum(b2*b2) + sum(W3*W3) + sum(b3*b3))
L = data_loss + reg_loss"""


@pytest.mark.slow
def test_the_hessian_of_a_small_moons_model_is_torchs():
    torch = pytest.importorskip("torch", reason="torch is not installed: pip install torch==2.13.0 for the reference")
    import csv

    with open("docs/examples/moons.csv") as file:
        rows = list(csv.DictReader(file))[:20]
    data = {column: [float(row[column]) for row in rows] for column in ("x1", "x2", "y")}
    program = parse(MOONS_SMALL, seed=3, data=data)
    names = list(program.inputs)
    values = {name: program.inputs[name].data for name in names}
    ours = hessian(program, values).matrix
    f = torch_function(program, names, ["L"])
    point = torch.tensor([values[name] for name in names], dtype=torch.float64)
    theirs = torch.autograd.functional.hessian(lambda x: f(x)[0], point).tolist()
    assert len(ours) == 8 + 4 + 16 + 4 + 4 + 1 and any(abs(x) > 1e-3 for row in ours for x in row)
    for row, reference in zip(ours, theirs):
        for a, b in zip(row, reference):
            assert close(a, b, 1e-9)


# -- vectors on the command line ----------------------------------------------------------------------
def test_an_array_on_the_command_line_is_its_nested_list(tmp_path):
    program = "W = zeros([2, 2]); v = zeros([3]); L = sum(W @ [1, 2]) + sum(v * v)"
    given = run_cli("grad", program, "--W", "[[1, 2], [3, 4]]", "--v", "[1,-2, 0.5]", "--no-session", "--json").json()
    bound = tmp_path / "values.json"
    bound.write_text('{"W": [[1, 2], [3, 4]], "v": [1, -2, 0.5]}')
    from_file = run_cli("grad", program, "--bindings", str(bound), "--no-session", "--json").json()
    assert given["grads"] == from_file["grads"] and given["grads"]["W[1, 0]"] == 1.0
    assert {name: record["value"] for name, record in given["inputs"].items()} == \
        {"W[0, 0]": 1.0, "W[0, 1]": 2.0, "W[1, 0]": 3.0, "W[1, 1]": 4.0, "v[0]": 1.0, "v[1]": -2.0, "v[2]": 0.5}
    assert run_cli("grad", program, "--set", "W=[[1,2],[3,4]]", "--v", "[1, -2, 0.5]", "--no-session",
                   "--json").json()["grads"] == given["grads"]


@pytest.mark.parametrize("value, message", [
    ("[1, 2, 3, 4]", "the value of `W` has shape (4,); expected shape (2, 2), the shape of `W` in the program"),
    ("[[1, 2], [3]]", "`W` is ragged: `W[1]` has 1 element, `W[0]` has 2"),
    ("[[1, 2], [3, true]]", "the value of `W[1, 1]` is not a number (true)"),
    ("3", "`W` is an array of shape (2, 2); one number is not spread over its elements"),
])
def test_a_wrong_array_is_refused_as_a_bindings_file_refuses_it(value, message, tmp_path):
    program = "W = zeros([2, 2]); L = sum(W * W)"
    typed = run_cli("grad", program, "--W", value, "--no-session")
    bound = tmp_path / "values.json"
    bound.write_text('{"W": %s}' % value)
    filed = run_cli("grad", program, "--bindings", str(bound), "--no-session")
    assert typed.exit_code == filed.exit_code == 2
    assert typed.stderr.startswith(f"error: on the command line: {message}\n"), typed.stderr
    assert filed.stderr.startswith(f"error: bindings file {bound}: {message}\n"), filed.stderr


def test_a_list_that_is_not_json_is_worded():
    result = run_cli("grad", "W = zeros([2]); L = sum(W)", "--W", "[1, 2", "--no-session")
    assert result.exit_code == 2
    assert result.stderr.startswith("error: on the command line: the value of `W`, `[1, 2`, is not a list of numbers")
    assert "hint: write a vector as [1, 2, 3]" in result.stderr


# -- the Python API ---------------------------------------------------------------------------------
def test_a_gradient_is_shaped_like_its_parameter():
    program = parse(open("docs/examples/mlp.sg").read())
    with pytest.raises(UsageError, match="no gradients yet"):
        program.grad("W1")
    program.run({name: node.data for name, node in program.inputs.items()})
    w1 = program.grad("W1")
    assert w1.shape == (4, 3) and w1[2, 1] == program.names["W1[2, 1]"].grad
    assert program.grad("b3").shape == (1,) and program.grad("L") == 1.0
    program.evaluate({name: node.data for name, node in program.inputs.items()})
    with pytest.raises(UsageError):  # values changed: the gradients are stale
        program.grad("W1")


def test_a_program_has_a_short_repr_and_pictures_for_jupyter():
    program = parse(LECTURE)
    assert repr(program) == "<Program 'L = (a*b + c) * f': 7 nodes, 4 inputs (a, b, c, f), output L>"
    mlp = parse(open("docs/examples/mlp.sg").read())
    assert repr(mlp).startswith("<Program 'xs = [[2, 3, -1], [") and "41 inputs (W1 (4, 3), b1 (4,)," in repr(mlp)
    assert len(repr(mlp)) < 200
    program.run(LECTURE_POINT)
    svg = program._repr_svg_()
    assert svg is not None and "<svg" in svg and "grad 6.0000" in svg
    page = program._repr_html_()
    assert page.startswith('<iframe srcdoc="&lt;!DOCTYPE html&gt;') and "</iframe>" in page



numbers = st.floats(-1e6, 1e6, allow_nan=False).map(lambda x: round(x, 3))
nested = st.one_of(numbers, st.lists(numbers, min_size=1, max_size=3),
                   st.lists(st.lists(numbers, min_size=1, max_size=3), min_size=1, max_size=3))


@settings(max_examples=200, deadline=None)
@given(nested, st.sampled_from([(2,), (3,), (2, 2), (2, 3), ()]))
def test_a_value_typed_is_taken_or_refused_as_the_same_value_in_a_file(value, shape):
    """One rule for an array's value, wherever it is given: typed on the command line, or in a
    bindings file, the same elements or the same message (but for where it was given)."""
    from scalargrad.bindings import _value, elements, value_text

    declaration = f"W = zeros({list(shape)})" if shape else "W = 1"
    program = parse(f"{declaration}; L = sum(W * W)")
    outcomes = []
    for where, read in (("on the command line", lambda: value_text(json.dumps(value), "W", "on the command line")),
                        ("bindings file b.json", lambda: _value(value, "W", "bindings file b.json"))):
        try:
            outcomes.append(elements({"W": read()}, program.arrays, program.inputs, where))
        except InputError as error:
            outcomes.append(error.message.removeprefix(where))
    assert outcomes[0] == outcomes[1]
