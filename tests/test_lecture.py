"""The lecture's own numbers, through the library and through the command line."""

import pytest

from conftest import LECTURE, LECTURE_VALUES, NEURON, NEURON_VALUES, STATEMENTS
from scalargrad import parse

LECTURE_INPUTS = {"a": 2, "b": -3, "c": 10, "f": -2}


def test_lecture_expression_gradients():
    program = parse(LECTURE)
    program.run(LECTURE_INPUTS)
    assert program.output.data == -8.0
    grads = {name: node.grad for name, node in program.names.items()}
    assert grads == {"a": 6.0, "b": -4.0, "c": -2.0, "f": 4.0, "L": 1.0}


def test_lecture_statements_name_the_intermediate_nodes():
    program = parse(STATEMENTS)
    program.run(LECTURE_INPUTS)
    data = {name: node.data for name, node in program.names.items()}
    grads = {name: node.grad for name, node in program.names.items()}
    assert data == {"a": 2.0, "b": -3.0, "e": -6.0, "c": 10.0, "d": 4.0, "f": -2.0, "L": -8.0}
    assert grads == {"a": 6.0, "b": -4.0, "e": -2.0, "c": -2.0, "d": -2.0, "f": 4.0, "L": 1.0}


def test_lecture_neuron():
    program = parse(NEURON)
    program.run({"x1": 2, "x2": 0, "w1": -3, "w2": 1, "b": 6.8813735870195432})
    assert program.output.data == pytest.approx(0.7071, abs=1e-4)
    grads = {name: node.grad for name, node in program.names.items()}
    assert grads["x1"] == pytest.approx(-1.5)
    assert grads["w1"] == pytest.approx(1.0)
    assert grads["x2"] == pytest.approx(0.5)
    assert grads["w2"] == 0.0


def test_grad_json_through_cli(cli):
    result = cli("grad", STATEMENTS, *LECTURE_VALUES, "--json")
    assert result.exit_code == 0, result.stderr
    doc = result.json()
    assert doc["output"]["name"] == "L" and doc["output"]["value"] == -8.0
    assert doc["grads"] == {"a": 6.0, "b": -4.0, "e": -2.0, "c": -2.0, "d": -2.0, "f": 4.0, "L": 1.0}
    by_id = {node["id"]: node for node in doc["nodes"]}
    L = by_id[doc["output"]["id"]]
    assert [by_id[p]["name"] for p in L["parents"]] == ["d", "f"]


def test_neuron_through_cli(cli):
    doc = cli("grad", NEURON, *NEURON_VALUES, "--json").json()
    assert doc["output"]["value"] == pytest.approx(0.70710678)
    assert doc["grads"]["x1"] == pytest.approx(-1.5) and doc["grads"]["w2"] == 0.0


def test_grad_table_through_installed_command(installed):
    result = installed("grad", LECTURE, *LECTURE_VALUES)
    assert result.exit_code == 0, result.stderr
    rows = {line.split()[1]: line.split() for line in result.stdout.splitlines()[2:]}
    assert rows["a"][2:4] == ["2", "6"]
    assert rows["f"][2:4] == ["-2", "4"]
    assert rows["L"][-1] == "output"
    assert "\x1b[" not in result.stdout  # a pipe gets plain text
