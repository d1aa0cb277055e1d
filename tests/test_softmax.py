"""softmax, cross_entropy, logsumexp and the reductions along an axis (`sum(W, axis=0)`): built from
the derivative table's rows, stable at any magnitude (values and gradients against mpmath at 50
digits), their node counts known before they are made, their mistakes worded; and a softmax
classifier trained with `step` on a 3-class CSV, equal to the same training written in NumPy."""

from __future__ import annotations

import json
import sys

import mpmath
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import run_cli, run_installed
from scalargrad import ParseError, ScalarGradError, parse
from scalargrad.arrays import along_shape

mp = mpmath.mp
EPS = sys.float_info.epsilon
SUBNORMAL = 5e-324


def _true_softmax(v):
    mp.dps = 50
    big = [mpmath.mpf(x) for x in v]
    total = mpmath.log(mpmath.fsum(mpmath.exp(x) for x in big))
    return total, [mpmath.exp(x - total) for x in big]


def _within(value: float, truth, scale: float) -> bool:
    """Within a few ulps of the inputs' magnitude (v_i - logsumexp(v) is rounded at that scale),
    relative to the true value, or below the smallest subnormal where the truth is."""
    return abs(value - float(truth)) <= 64 * EPS * max(1.0, scale) * abs(float(truth)) + SUBNORMAL


logits = st.lists(st.one_of(st.floats(-30, 30), st.floats(-700, 700), st.sampled_from([0.0, 1e-300, -1e-300, 1e3])),
                  min_size=2, max_size=5)


@settings(max_examples=150, deadline=None)
@given(logits)
def test_softmax_and_its_gradient_are_the_true_ones_at_any_magnitude(v):
    names = [f"v{i}" for i in range(len(v))]
    values = dict(zip(names, v))
    scale = max(abs(x) for x in v)
    total, probabilities = _true_softmax(v)
    program = parse(f"p = softmax([{', '.join(names)}]); L = p[0]")
    program.run(values)
    for i, truth in enumerate(probabilities):
        assert _within(program.names[f"p[{i}]"].data, truth, scale)
    # d p0 / d v_j = p0 (delta_0j - p_j)
    for j, name in enumerate(names):
        truth = probabilities[0] * ((1 if j == 0 else 0) - probabilities[j])
        assert abs(program.inputs[name].grad - float(truth)) <= 64 * EPS * max(1.0, scale) * float(probabilities[0]) + SUBNORMAL


@settings(max_examples=150, deadline=None)
@given(logits, st.data())
def test_cross_entropy_is_logsumexp_minus_the_labels_logit_at_any_magnitude(v, data):
    label = data.draw(st.integers(0, len(v) - 1))
    names = [f"v{i}" for i in range(len(v))]
    values = dict(zip(names, v))
    scale = max(abs(x) for x in v)
    total, probabilities = _true_softmax(v)
    truth = total - mpmath.mpf(v[label])
    hot = [1 if i == label else 0 for i in range(len(v))]
    for label_text in (str(label), f"[{', '.join(map(str, hot))}]"):  # an index, or one-hot
        program = parse(f"L = cross_entropy([{', '.join(names)}], {label_text})")
        program.run(values)
        assert abs(program.output.data - float(truth)) <= 64 * EPS * max(1.0, scale) * max(1.0, abs(float(truth)))
        for j, name in enumerate(names):  # the gradient: softmax - one-hot
            expected = float(probabilities[j] - hot[j])
            assert abs(program.inputs[name].grad - expected) <= 64 * EPS * max(1.0, scale) + SUBNORMAL


def test_the_lectures_kind_of_numbers():
    program = parse("z = [a, b, c]; p = softmax(z); L = cross_entropy(z, 2)")
    program.run({"a": 1.0, "b": 2.0, "c": 3.0})
    # e**k / (e + e**2 + e**3), and the loss -log(p[2]); its gradient is p - (0, 0, 1)
    p = [0.09003057317038046, 0.24472847105479767, 0.6652409557748219]
    assert [program.names[f"p[{i}]"].data for i in range(3)] == pytest.approx(p, rel=1e-15)
    assert program.output.data == pytest.approx(0.4076059644443806, rel=1e-15)
    assert [program.inputs[n].grad for n in "abc"] == pytest.approx([p[0], p[1], p[2] - 1], rel=1e-14)
    huge = parse("L = cross_entropy([a, b], 0)")
    huge.run({"a": 1000.0, "b": -1000.0})  # exp(1000) would overflow; the rows never form it
    assert huge.output.data == 0.0 and huge.inputs["a"].grad == 0.0


def test_soft_labels_are_probabilities():
    program = parse("L = cross_entropy([a, b, c], [0.25, 0.5, 0.25])")
    program.run({"a": 1.0, "b": 2.0, "c": 3.0})
    total, probabilities = _true_softmax([1.0, 2.0, 3.0])
    truth = sum(p * (total - x) for p, x in zip([0.25, 0.5, 0.25], [1, 2, 3]))
    assert abs(program.output.data - float(truth)) <= 1e-15 * float(truth)


MATRIX = [[1.0, -2.0, 0.5], [3.0, 0.25, -1.0]]


@pytest.mark.parametrize("function", ["sum", "mean", "max", "min", "logsumexp"])
@pytest.mark.parametrize("axis", [0, 1, -1])
def test_reductions_along_an_axis_are_numpys(function, axis):
    program = parse(f"W = [[a, b, c], [d, e, f]]; r = {function}(W, axis={axis}); L = sum(r)")
    names = "abcdef"
    program.run(dict(zip(names, [x for row in MATRIX for x in row])))
    reference = {"sum": np.sum, "mean": np.mean, "max": np.max, "min": np.min,
                 "logsumexp": lambda a, axis: np.log(np.sum(np.exp(a), axis=axis))}[function](np.array(MATRIX), axis=axis)
    assert [program.names[f"r[{i}]"].data for i in range(len(reference))] == pytest.approx(reference.tolist(), rel=1e-15)


@pytest.mark.parametrize("axis", [0, 1, -1])
def test_softmax_along_an_axis_sums_to_one_along_it(axis):
    program = parse(f"W = [[a, b, c], [d, e, f]]; S = softmax(W, axis={axis}); L = S[0, 0]")
    program.run(dict(zip("abcdef", [x for row in MATRIX for x in row])))
    s = np.array([[program.names[f"S[{i}, {j}]"].data for j in range(3)] for i in range(2)])
    e = np.exp(np.array(MATRIX))
    assert np.allclose(s, e / e.sum(axis=axis, keepdims=True), rtol=1e-14, atol=0)


@pytest.mark.parametrize("text, shapes, axis, literal", [
    ("sum(W, axis=0)", [(2, 3)], 0, 0), ("mean(W, axis=1)", [(2, 3)], 1, 0), ("logsumexp(W, axis=-1)", [(2, 3)], -1, 0),
    ("max(v, axis=0)", [(3,)], 0, 0), ("softmax(W, axis=0)", [(2, 3)], 0, 0), ("softmax(v)", [(3,)], None, 0),
    ("cross_entropy(W, [0, 2])", [(2, 3), (2,)], None, 2),
    ("cross_entropy(W, [[0, 1, 0], [1, 0, 0]])", [(2, 3), (2, 3)], None, 6),
    ("cross_entropy(v, 1)", [(3,), ()], None, 0),  # a lone label is read, and leaves no node
])
def test_the_nodes_counted_before_are_the_nodes_made(text, shapes, axis, literal):
    base = parse("W = [[a, b, c], [d, e, f]]; v = [a, b, c]; L = a")
    program = parse(f"W = [[a, b, c], [d, e, f]]; v = [a, b, c]; q = {text}; L = a")
    made = len(program.nodes) - len(base.nodes) - literal  # a label's literal numbers are constants of the graph
    assert made == along_shape(text.split("(")[0], shapes, axis)[1]


def test_a_def_body_along_an_axis_is_counted_and_expanded():
    program = parse("def norm(X) = X - logsumexp(X, axis=1)\ndef probs(X) = softmax(X)\n"
                    "W = [[a, b], [c, d]]; L = sum(norm(W)) + sum(probs(W))")
    program.run({"a": 1.0, "b": 2.0, "c": -1.0, "d": 0.0})
    e = np.exp(np.array([[1.0, 2.0], [-1.0, 0.0]]))
    norm = np.log(e / e.sum(axis=1, keepdims=True))
    assert program.output.data == pytest.approx(norm.sum() + 2.0, rel=1e-15)


@pytest.mark.parametrize("source, message", [
    ("L = sum([a, b], axis=1)", "axis 1 is out of range for shape (2,)"),
    ("L = sum(a, axis=0)", "`sum` needs an array, not a scalar (a scalar has no axis)"),
    ("L = tanh(a, axis=0)", "`tanh` takes no keyword arguments"),
    ("L = sum([a, b], ax=0)", "`sum` has no keyword `ax`"),
    ("L = sum([a, b], axis=0, axis=0)", "`axis=` is given twice"),
    ("L = sum([a, b], axis=1.5)", "`axis=` takes a whole number, not `1.5`"),
    ("L = cross_entropy([a, b], 3)", "the label of cross_entropy must be a class index from 0 to 1, a constant, not 3"),
    ("L = cross_entropy([a, b], a)", "the label of cross_entropy must be a class index from 0 to 1, known when the "
                                     "program is read"),
    ("L = cross_entropy([a, b], [a, b, a])", "cross_entropy cannot pair logits of shape (2,) with a label of shape (3,)"),
    ("L = softmax(a)", "`softmax` needs an array, not a scalar"),
    ("L = cross_entropy([a, b])", "`cross_entropy` takes 2 arguments, not 1"),
    ("def softmax(x) = x; L = a", "`softmax` is already a built-in function"),
])
def test_mistakes_along_an_axis_are_worded(source, message):
    with pytest.raises(ScalarGradError) as raised:
        parse(source)
    assert raised.value.message == message


def test_a_keyword_before_the_array_says_where_keywords_go():
    with pytest.raises(ParseError) as raised:
        parse("L = sum(axis=0)")
    assert raised.value.hint == "`=` inside a call is a keyword argument, after the array: `sum(W, axis=0)`; there " \
                                "is no comparison"


# -- the softmax classifier of docs/examples ------------------------------------------------------------
def _numpy_training(steps: int, lr: float):
    """The same classifier and the same gradient descent, by hand in NumPy."""
    data = np.genfromtxt("docs/examples/softmax.csv", delimiter=",", names=True)
    x = np.stack([data["x1"], data["x2"]], axis=1)
    labels = data["label"].astype(int)
    n = len(labels)
    w, b = np.zeros((3, 2)), np.zeros(3)
    losses = []
    for step in range(steps + 1):
        logits = x @ w.T + b
        top = logits.max(axis=1, keepdims=True)
        total = top[:, 0] + np.log(np.exp(logits - top).sum(axis=1))
        losses.append(float(np.mean(total - logits[np.arange(n), labels])))
        if step == steps:
            break
        g = np.exp(logits - total[:, None])
        g[np.arange(n), labels] -= 1.0
        g /= n
        w, b = w - lr * g.T @ x, b - lr * g.sum(axis=0)
    return losses, w, b


def test_the_softmax_classifier_trains_as_numpy_does():
    result = run_installed("step", "--file", "docs/examples/softmax.sg", "--bindings", "docs/examples/softmax.csv",
                           "--descend", "--lr", "0.5", "--steps", "20", "--no-session", "--json")
    assert result.exit_code == 0, result.stderr
    document = json.loads(result.stdout)
    losses, w, b = _numpy_training(20, 0.5)
    assert len(document["history"]) == 21
    for ours, theirs in zip(document["history"], losses):
        assert abs(ours - theirs) <= 1e-12 * abs(theirs)
    assert np.allclose(document["after"]["values"]["W"], w, rtol=1e-12, atol=1e-15)
    assert np.allclose(document["after"]["values"]["b"], b, rtol=1e-12, atol=1e-14)
    assert losses[0] == pytest.approx(np.log(3.0), rel=1e-15) and losses[-1] < 0.25


def test_the_classifiers_gradient_is_numpys():
    document = run_cli("grad", "--file", "docs/examples/softmax.sg", "--bindings", "docs/examples/softmax.csv",
                       "--no-session", "--json").json()
    data = np.genfromtxt("docs/examples/softmax.csv", delimiter=",", names=True)
    x = np.stack([data["x1"], data["x2"]], axis=1)
    labels = data["label"].astype(int)
    p = np.full((len(labels), 3), 1 / 3)
    p[np.arange(len(labels)), labels] -= 1.0
    gradient = p.T @ x / len(labels)
    for i in range(3):
        for j in range(2):
            assert document["grads"][f"W[{i}, {j}]"] == pytest.approx(gradient[i, j], rel=1e-13, abs=1e-16)
