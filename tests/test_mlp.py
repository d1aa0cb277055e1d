"""The lecture's MLP written in the language (docs/examples/mlp.sg) against the lecture's own
Python code (Neuron, Layer, MLP) run on scalargrad.Value with the same starting weights."""

import json
import random
from pathlib import Path

from scalargrad import Value, parse

from conftest import run_cli

EXAMPLE = Path(__file__).resolve().parent.parent / "docs" / "examples" / "mlp.sg"
XS = [[2.0, 3.0, -1.0], [3.0, -1.0, 0.5], [0.5, 1.0, 1.0], [1.0, 1.0, -1.0]]
YS = [1.0, -1.0, -1.0, 1.0]


class Neuron:
    def __init__(self, nin):
        self.w = [Value(random.uniform(-1, 1)) for _ in range(nin)]
        self.b = Value(random.uniform(-1, 1))

    def __call__(self, x):
        act = sum((wi * xi for wi, xi in zip(self.w, x)), self.b)
        return act.tanh()


class Layer:
    def __init__(self, nin, nout):
        self.neurons = [Neuron(nin) for _ in range(nout)]

    def __call__(self, x):
        outs = [n(x) for n in self.neurons]
        return outs[0] if len(outs) == 1 else outs


class MLP:
    def __init__(self, nin, nouts):
        sz = [nin] + nouts
        self.layers = [Layer(sz[i], sz[i + 1]) for i in range(len(nouts))]

    def __call__(self, x):
        for layer in self.layers:
            x = layer(x)
        return x


def test_the_program_is_at_most_twelve_lines():
    lines = [line for line in EXAMPLE.read_text().splitlines() if line.strip() and not line.startswith("#")]
    assert len(lines) <= 12


def test_the_mlp_program_equals_the_lecture_code(tmp_path):
    random.seed(1337)
    n = MLP(3, [4, 4, 1])
    ypred = [n(x) for x in XS]
    loss = sum((yout - ygt) ** 2 for ygt, yout in zip(YS, ypred))
    loss.backward()
    bindings = {}
    for k, layer in enumerate(n.layers, start=1):
        bindings[f"W{k}"] = [[w.data for w in neuron.w] for neuron in layer.neurons]
        bindings[f"b{k}"] = [neuron.b.data for neuron in layer.neurons]
    (tmp_path / "weights.json").write_text(json.dumps(bindings))
    result = run_cli("grad", "--file", str(EXAMPLE), "--bindings", str(tmp_path / "weights.json"), "--json",
                     "--no-session")
    assert result.exit_code == 0, result.stderr
    grads = result.json()["grads"]
    for k, layer in enumerate(n.layers, start=1):
        for i, neuron in enumerate(layer.neurons):
            for j, w in enumerate(neuron.w):
                assert abs(grads[f"W{k}[{i}, {j}]"] - w.grad) <= 1e-12
            assert abs(grads[f"b{k}[{i}]"] - neuron.b.grad) <= 1e-12
    program = parse(EXAMPLE.read_text())  # the loss itself, through the Python API, same weights
    flat = {}
    for k, layer in enumerate(n.layers, start=1):
        for i, neuron in enumerate(layer.neurons):
            flat.update({f"W{k}[{i}, {j}]": w.data for j, w in enumerate(neuron.w)})
            flat[f"b{k}[{i}]"] = neuron.b.data
    program.run(flat)
    assert abs(program.output.data - loss.data) <= 1e-12


def test_check_passes_for_every_parameter():
    result = run_cli("check", "--file", str(EXAMPLE), "--json", "--no-session")
    assert result.exit_code == 0, result.stderr
    rows = result.json()["rows"]
    assert len([row for row in rows if row["label"].startswith(("W", "b"))]) >= 41
    assert all(row["status"] in ("OK", "ok", "PASS", "pass") for row in rows), {row["status"] for row in rows}


def test_training_continues_in_the_session_from_the_seeded_weights():
    """grad, then step, then grad without the program: the second grad starts where step
    ended, and --seed 1 starts from other weights than the default seed 0."""
    first = run_cli("grad", "--file", str(EXAMPLE), "--json")
    assert first.exit_code == 0, first.stderr
    start = {name: entry["value"] for name, entry in first.json()["inputs"].items()}
    assert start["W1[0, 0]"] == random.Random(0).uniform(-1, 1)
    stepped = run_cli("step", "--steps", "3", "--descend", "--lr", "0.05", "--json")
    assert stepped.exit_code == 0, stepped.stderr
    document = stepped.json()
    from scalargrad.data import flatten  # step's values give each array as a nested list

    assert flatten(document["before"]["values"]) == start
    assert document["after"]["output"] < document["before"]["output"]
    again = run_cli("grad", "--json")
    assert again.exit_code == 0, again.stderr
    continued = {name: entry["value"] for name, entry in again.json()["inputs"].items()}
    assert continued == flatten(document["after"]["values"]) != start
    assert again.json()["output"]["value"] == document["after"]["output"]
    other = run_cli("grad", "--file", str(EXAMPLE), "--seed", "1", "--json", "--no-session")
    seeded = {name: entry["value"] for name, entry in other.json()["inputs"].items()}
    assert seeded["W1[0, 0]"] == random.Random(1).uniform(-1, 1) != start["W1[0, 0]"]


def test_seed_is_not_used_when_a_session_continues():
    run_cli("grad", "--file", str(EXAMPLE))
    result = run_cli("grad", "--seed", "3", "--json")
    assert result.exit_code == 0
    assert "--seed 3 is not used" in result.stderr
    assert result.json()["inputs"]["W1[0, 0]"]["value"] == random.Random(0).uniform(-1, 1)


def test_tables_summarise_each_array_in_one_row_and_all_shows_every_element():
    result = run_cli("grad", "--file", str(EXAMPLE), "--no-session")
    assert result.exit_code == 0, result.stderr
    rows = {line.split()[0]: line for line in result.stdout.splitlines() if line.strip()}
    grads = run_cli("grad", "--file", str(EXAMPLE), "--no-session", "--json").json()["grads"]
    assert len(grads) > 60  # JSON keeps every element
    top = sorted((name for name in grads if name.startswith("W2[")), key=lambda name: -abs(grads[name]))[:3]
    assert rows["W2"].split()[1:4] == ["(4,", "4)", "parameters"]
    assert rows["W2"].endswith(", ".join(f"{name} {grads[name]:.4g}" for name in top))
    assert rows["xs"].split()[3:] == ["data", "-1", "…", "3"]
    program = parse(EXAMPLE.read_text())
    output_id = str(program.node_id(program.output))  # the output's row keeps its id
    assert "W2[0, 0]" not in result.stdout and rows[output_id].split()[1] == "L"
    every = run_cli("grad", "--file", str(EXAMPLE), "--no-session", "--all")
    assert "W2[0, 0]" in every.stdout and "largest |grad|" not in every.stdout
    check = run_cli("check", "--file", str(EXAMPLE), "--no-session")
    assert [line.split()[:5] for line in check.stdout.splitlines() if line.startswith("W1 ")] == \
        [["W1", "(4,", "3)", "12", "12"]]
    step = run_cli("step", "--file", str(EXAMPLE), "--no-session", "--lr", "0.05")
    assert "W1[0, 0]" not in step.stdout and any(line.startswith("W3 ") for line in step.stdout.splitlines())
