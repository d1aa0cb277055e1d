"""`def` adds to the graph exactly what its calls written out by hand would, and nothing else.

The property: a program with functions and the same program with every call replaced by its
body (each parameter by its argument, in parentheses) have the same graph, and every command
says the same of them: grad (table and JSON), check, hessian, sweep and dot.

What "the same" means, exactly: the same nodes in the same order (so the same ids), each with
the same op, value, gradient and operands, the same names, inputs and defaults; and the same
output of every command, except the label of an unnamed node. An unnamed node is labelled
with the text that made it, and that text differs by construction: `x * 0.5` in the body
against `(a) * 0.5` written out, `f(a)` for a call's result against its body. Named nodes
(inputs, bound names, the output) carry the same labels in both.

The programs are generated with the arguments a call can take without its text moving:
names (inputs, bound names, named arrays, a name that is also a function's), numbers and
constant expressions (`2 * 3`, `-1`, `pi`, `[1, 2]`), and, inside a body, the parameters.
An argument that makes nodes (`f(a * b)`) is computed once, before the call, and the call
written out would compute it where the body reads it, as often as it reads it: the same
values, but another order, so not the same ids.
"""

from __future__ import annotations

import json
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import run_cli
from scalargrad import parse
from scalargrad.gradients import gradients

INPUTS = {"a": "0.5", "b": "-1.25", "c": "2"}
NUMBERS = ["2", "0.5", "3", "pi", "(2 * 3)", "-1", "(1 - 1)"]


# -- programs as trees, written with calls or with calls written out ---------------------------
def text(tree, functions: dict, inline: bool, params: dict | None = None) -> str:
    """The expression `tree` as program text: calls as calls, or (`inline`) each replaced by
    its body with its parameters replaced by the arguments, in parentheses."""
    kind = tree[0]
    if kind == "leaf":
        return tree[1]
    if kind == "param":
        return params[tree[1]] if inline else tree[1]
    if kind == "binary":
        return f"({text(tree[2], functions, inline, params)} {tree[1]} {text(tree[3], functions, inline, params)})"
    if kind == "apply":
        return f"{tree[1]}({text(tree[2], functions, inline, params)})"
    if kind == "call":
        arguments = [text(argument, functions, inline, params) for argument in tree[2]]
        if not inline:
            return f"{tree[1]}({', '.join(arguments)})"
        names, body = functions[tree[1]]
        return "(" + text(body, functions, True, {n: f"({a})" for n, a in zip(names, arguments)}) + ")"
    raise AssertionError(kind)


def expressions(draw, depth: int, leaves: list, calls: dict, arguments: list) -> tuple:
    """A scalar expression over `leaves` (trees) calling the functions of `calls` (name ->
    parameters' count) with arguments drawn from `arguments` (trees)."""
    choice = draw(st.sampled_from(["leaf", "binary", "apply", "call", "call"] if depth else ["leaf"]))
    if choice == "call" and calls:
        name = draw(st.sampled_from(sorted(calls)))
        return "call", name, [draw(st.sampled_from(arguments)) for _ in range(calls[name])]
    if choice == "binary":
        op = draw(st.sampled_from(["+", "-", "*"]))
        return ("binary", op, expressions(draw, depth - 1, leaves, calls, arguments),
                expressions(draw, depth - 1, leaves, calls, arguments))
    if choice == "apply":
        return "apply", draw(st.sampled_from(["tanh", "sin"])), expressions(draw, depth - 1, leaves, calls, arguments)
    return draw(st.sampled_from(leaves))


@st.composite
def programs(draw) -> tuple[str, str]:
    """(the program with `def`, the same program with every call written out)."""
    lines = [f"{name} = {value}" for name, value in INPUTS.items()]
    numbers = [("leaf", n) for n in NUMBERS]
    names = [("leaf", name) for name in INPUTS]
    if draw(st.booleans()):  # a name that is also a function's (`f0` the value, `f0(...)` the call)
        lines.append("f0 = 0.75")
        names.append(("leaf", "f0"))
    functions: dict[str, tuple[list[str], tuple]] = {}
    for k in range(draw(st.integers(1, 4))):
        name = f"f{k}"
        # parameters may look like the function itself, an earlier function, or an input they hide
        candidates = ["p", "q", name, "a", *functions]
        params = draw(st.lists(st.sampled_from(candidates), min_size=1, max_size=2, unique=True))
        own = [("param", p) for p in params]
        outer = [leaf for leaf in names if leaf[1] not in params]
        body_leaves = own + outer + numbers if draw(st.booleans()) else numbers  # some bodies are constant
        calls = {other: len(functions[other][0]) for other in functions}
        body = expressions(draw, 3, body_leaves, calls, own + outer + numbers)
        lines.append(f"def {name}({', '.join(params)}) = {text(body, functions, False)}")
        functions[name] = (params, body)
    calls = {name: len(params) for name, (params, _) in functions.items()}
    statements = []
    for k in range(draw(st.integers(0, 2))):
        statements.append((f"t{k}", expressions(draw, 3, names + numbers, calls, names + numbers)))
        names = names + [("leaf", f"t{k}")]
    statements.append(("L", ("binary", "+", expressions(draw, 3, names + numbers, calls, names + numbers),
                             ("leaf", "a"))))  # an input to differentiate
    with_def = "\n".join(lines + [f"{name} = {text(tree, functions, False)}" for name, tree in statements])
    head = [line for line in lines if not line.startswith("def ")]
    written_out = "\n".join(head + [f"{name} = {text(tree, functions, True)}" for name, tree in statements])
    return with_def, written_out


ARRAY_PROGRAM = """a = 0.5
b = -1.25
w = [1.5, -2]
v = [a, b]
def h(x) = sum(x * w)
def d(x) = x * 2 + w
def s(x) = x @ w
def unused(x) = x @ x * 3
L = {}"""
ARRAY_OUTPUTS = [("h(v) + s(d(w))", "(sum((v) * w)) + ((((w) * 2 + w)) @ w)"),
                 ("h([1, 2]) * a", "(sum(([1, 2]) * w)) * a"),
                 ("sum(d([a, 3]) * d(v)) + s([0.5, pi])", "sum((([a, 3]) * 2 + w) * ((v) * 2 + w)) + (([0.5, pi]) @ w)")]


# -- the same graph ---------------------------------------------------------------------------------
def unnamed(program) -> set[int]:
    return {i for i, node in enumerate(program.nodes) if not program.is_named(node)}


def graph(program) -> list:
    """Every node as (op, value, gradient, operand ids, name), with the program's names."""
    program.run({})
    nodes = [(node._op, node.data, node.grad, [program.node_id(p) for p in node._prev],
              node.label if program.is_named(node) else None) for node in program.nodes]
    return [nodes, {name: program.node_id(node) for name, node in program.names.items()},
            list(program.inputs), program.defaults, program.arrays]


def table(program) -> list:
    """grad's table, rows and notes, with the label of an unnamed node left out."""
    section = gradients(program, {}).sections()[0]
    hidden = {str(i) for i in unnamed(program)}
    return [section.title, section.notes, [[cell if k != 1 or row[0] not in hidden else "·"
                                            for k, cell in enumerate(row)] for row in section.rows]]


def masked(document, hidden: set[int]):
    """A command's JSON with the text of unnamed nodes (and every source span) left out."""
    if isinstance(document, list):
        return [masked(item, hidden) for item in document]
    if not isinstance(document, dict):
        return document
    result = {key: masked(value, hidden) for key, value in document.items() if key not in ("span", "text")}
    if result.get("id") in hidden and "label" in result:
        result["label"] = "·"
    return result


def dot_masked(source: str, hidden: set[int]) -> str:
    return re.sub(r'n(\d+) \[label="\{ (.*?) \| data',
                  lambda m: f'n{m[1]} [label="{{ {"·" if int(m[1]) in hidden else m[2]} | data', source)


COMMANDS = [["grad", "--json"], ["check", "--json"], ["hessian", "--json"], ["sweep", "--a", "-1:1:0.5", "--json"],
            ["dot", "--format", "dot"]]


def outputs(source: str) -> list:
    hidden = unnamed(parse(source))
    results = []
    for command in COMMANDS:
        result = run_cli(command[0], source, *command[1:], "--no-session")
        assert "Traceback" not in result.stderr
        shown = masked(json.loads(result.stdout), hidden) if "--json" in command else dot_masked(result.stdout, hidden)
        results.append((command[0], result.exit_code, shown if result.exit_code in (0, 1) else None))
    return results


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(programs())
def test_a_program_with_def_has_the_graph_of_its_calls_written_out(pair):
    with_def, written_out = pair
    ours, theirs = parse(with_def), parse(written_out)
    assert graph(ours) == graph(theirs), f"{with_def}\n---\n{written_out}"
    assert table(ours) == table(theirs)


@pytest.mark.slow
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(programs())
def test_every_command_says_the_same_of_a_def_and_its_calls_written_out(pair):
    with_def, written_out = pair
    assert outputs(with_def) == outputs(written_out), f"{with_def}\n---\n{written_out}"


@pytest.mark.parametrize("output, written_out", ARRAY_OUTPUTS)
def test_functions_of_arrays_have_the_graph_of_their_calls_written_out(output, written_out):
    ours, theirs = ARRAY_PROGRAM.format(output), ARRAY_PROGRAM.format(written_out).replace("def unused", "# ")
    assert graph(parse(ours)) == graph(parse(theirs))
    assert outputs(ours) == outputs(theirs)


# -- the issue's examples ---------------------------------------------------------------------------
LEAK = "def f(p) = 1; def g(p) = f(p) * 2; L = f(2)"


def test_a_function_never_called_adds_no_node():
    program = parse(LEAK)
    assert [(program.label(n), n._op, n.data) for n in program.nodes] == [("L", "const", 1.0)]
    # the body's `x * x` and `2` are not made: x and the identity node L = x only
    assert len(parse("x = 3; def g(p) = x * x + 2; L = x").nodes) == len(parse("x = 3; L = x").nodes) == 2


@pytest.mark.parametrize("command", [["grad"], ["grad", "--json"], ["check"], ["check", "--json"], ["hessian"],
                                     ["hessian", "--json"], ["explain"], ["dot", "--format", "dot"]])
def test_every_command_runs_the_leaking_program_of_the_issue(command):
    result = run_cli(command[0], LEAK, *command[1:], "--no-session")
    assert result.exit_code == 0, result.stderr
    assert "f(p) * 2" not in result.stdout and "Traceback" not in result.stderr
    if "--json" in command:
        json.loads(result.stdout)


def test_sweep_runs_a_program_with_an_unused_function():
    result = run_cli("sweep", "def f(p) = 1; def g(p) = f(p) * 2; L = f(2) * x", "--x", "0:1:0.5", "--json",
                     "--no-session")
    assert result.exit_code == 0, result.stderr
    assert result.json()["values"] == [0.0, 0.5, 1.0]


def test_a_constant_argument_is_made_where_the_body_reads_it():
    program = parse("x = 1.5\ndef f(p) = x * p + p\nL = f(2)")
    program.run({})
    assert [(n._op, n.data) for n in program.nodes] == [("", 1.5), ("const", 2.0), ("*", 3.0), ("const", 2.0),
                                                         ("+", 5.0)]
    assert program.text(program.nodes[1]) == "2"  # labelled with the argument's own text


def test_an_unused_constant_argument_is_no_node():
    program = parse("def f(p, q) = q * 3\nL = f(7, a)")
    assert [program.label(n) for n in program.nodes] == ["a", "3", "L"]
