"""micrograd's own demo (demo.ipynb): the moons data set, MLP(2, [16, 16, 1]), the max-margin
loss with L2 regularisation, 100 steps of SGD with learning rate 1.0 - 0.9*k/100, trained with
the installed `scalargrad step` and compared step by step with the micrograd package."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import run_installed

EXAMPLES = Path(__file__).resolve().parent.parent / "docs" / "examples"
TRAIN = ["step", "--file", str(EXAMPLES / "moons.sg"), "--bindings", str(EXAMPLES / "moons.csv"), "--seed", "1337",
         "--descend", "--lr", "1.0 - 0.9*k/100", "--watch", "accuracy", "--no-session", "--json"]


def micrograd_names() -> list[str]:
    """micrograd's `model.parameters()` order (layer by layer, each neuron's weights then its
    bias) in the names of moons.sg."""
    names = []
    for layer, (inputs, neurons) in enumerate([(2, 16), (16, 16), (16, 1)], start=1):
        for i in range(neurons):
            if layer == 3:
                names += [f"W3[{j}]" for j in range(inputs)] + ["b3[0]"]
            else:
                names += [f"W{layer}[{i}, {j}]" for j in range(inputs)] + [f"b{layer}[{i}]"]
    return names


def test_the_first_loss_is_the_notebooks_own():
    # demo.ipynb prints "step 0 loss 0.8958441028683222, accuracy 50.0%": the data set and the
    # starting weights of --seed 1337 are micrograd's.
    run = run_installed("grad", *TRAIN[1:7], "--no-session", "--json")
    assert run.exit_code == 0, run.stderr
    doc = run.json()
    assert doc["output"]["value"] == 0.8958441028683222
    accuracy = [node for node in doc["nodes"] if node.get("name") == "accuracy"]
    assert [node["data"] for node in accuracy] == [0.5]


@pytest.mark.slow  # micrograd's own 100 steps take 40 s
def test_moons_trained_100_steps_matches_micrograd_at_every_step(micrograd_moons):
    run = run_installed(*TRAIN, "--steps", "100")
    assert run.exit_code == 0, run.stderr
    doc = run.json()
    from scalargrad.data import flatten  # step's values give each array as a nested list

    before, after = flatten(doc["before"]["values"]), flatten(doc["after"]["values"])
    names = micrograd_names()
    assert len(names) == len(before) == 337
    # the same starting weights: --seed 1337 draws micrograd's, in its order
    assert [before[name] for name in names] == micrograd_moons["start"]
    ours, theirs = doc["history"], micrograd_moons["losses"]
    assert len(ours) == len(theirs) == 101
    worst = max(abs(a - b) for a, b in zip(ours, theirs))
    assert worst <= 1e-9, f"largest difference from micrograd's loss: {worst:g}"
    assert doc["watch"]["accuracy"] == micrograd_moons["accuracies"]
    assert doc["watch"]["accuracy"][-1] == 1.0 and ours[-1] < 0.011
    assert doc["lr_expression"] == "1.0 - 0.9*k/100" and doc["rates"][0] == 1.0 and doc["rates"][-1] == 1.0 - 0.9 * 99 / 100
    # the trained weights are micrograd's too
    final = [after[name] for name in names]
    assert max(abs(a - b) for a, b in zip(final, micrograd_moons["final"])) <= 1e-9
