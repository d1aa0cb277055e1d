"""The lecture's way of working, replayed on scalargrad's own `Value`.

The user's notes (../shared/seed/000_f6dcaf2447a318f0.txt) build the lecture's expression by
hand with a small `Value` class, fill in gradients by hand, check them by nudging `.data`
by a small h, let the chain rule fill them in, and finally nudge the inputs along their
gradients to make L less negative. Each test below does one of those steps with
`from scalargrad import Value` and expects the numbers printed in the notes.

The notes also draw the graph with `draw_dot(L)` after filling in gradients by hand; so
does `test_draw_dot_shows_the_hand_made_gradients`, with `from scalargrad import draw_dot`.
"""

from __future__ import annotations

import pytest

from scalargrad import Value, draw_dot

H = 0.0001  # the step of the notes' numeric derivatives
NUDGE = 0.01  # the step size of the notes' "towards training" update


def lecture_graph() -> dict[str, Value]:
    """a, b, c, f, then e = a*b, d = e + c, L = d * f, labelled as in the notes."""
    a = Value(2.0, label="a")
    b = Value(-3.0, label="b")
    c = Value(10.0, label="c")
    e = a * b
    e.label = "e"
    d = e + c
    d.label = "d"
    f = Value(-2.0, label="f")
    L = d * f
    L.label = "L"
    return {"a": a, "b": b, "c": c, "e": e, "d": d, "f": f, "L": L}


def loss_after_bumping(name: str, h: float) -> float:
    """Build the graph again, adding h to the `.data` of node `name` as soon as it exists,
    so that everything computed after it sees the change. Returns L's data.

    This is what each of the notes' `dl_d...()` helpers does for one node (they write the
    intermediate nodes d and e as plain numbers -6.0 and 4.0, which is the same value)."""
    data = {"a": 2.0, "b": -3.0, "c": 10.0, "f": -2.0}
    leaves = {}
    for leaf in ("a", "b", "c", "f"):
        leaves[leaf] = Value(data[leaf], label=leaf)
        if leaf == name:
            leaves[leaf].data += h
    e = leaves["a"] * leaves["b"]
    if name == "e":
        e.data += h
    d = e + leaves["c"]
    if name == "d":
        d.data += h
    L = d * leaves["f"]
    if name == "L":
        L.data += h
    return L.data


def numeric_derivative(name: str, h: float = H) -> float:
    """(L(node + h) - L(node)) / h, as the notes compute it."""
    return (loss_after_bumping(name, h) - loss_after_bumping(name, 0.0)) / h


def test_the_forward_pass_builds_L_with_labels():
    g = lecture_graph()
    assert repr(g["L"]) == "Value(data=-8.0)"
    assert {name: node.data for name, node in g.items()} == {
        "a": 2.0, "b": -3.0, "c": 10.0, "e": -6.0, "d": 4.0, "f": -2.0, "L": -8.0}
    assert {name: node.label for name, node in g.items()} == {name: name for name in g}
    assert g["L"]._prev == (g["d"], g["f"]) and g["L"]._op == "*"
    assert g["d"]._prev == (g["e"], g["c"]) and g["d"]._op == "+"
    assert all(node.grad == 0.0 for node in g.values())


def test_gradients_filled_in_by_hand():
    g = lecture_graph()
    a, b, c, e, d, f, L = (g[n] for n in "abcedfL")
    L.grad = 1.0
    # L = d * f: the derivative with respect to one factor is the other factor
    d.grad = f.data
    f.grad = d.data
    assert (L.grad, d.grad, f.grad) == (1.0, -2.0, 4.0)
    # d = e + c: a sum hands its gradient to both terms unchanged (local derivative 1)
    c.grad = d.grad
    e.grad = d.grad
    assert (e.grad, c.grad) == (-2.0, -2.0)
    # e = a * b: chain rule, dL/da = dL/de * de/da = dL/de * b
    a.grad = e.grad * b.data
    b.grad = e.grad * a.data
    assert (a.grad, b.grad) == (6.0, -4.0)


def test_draw_dot_shows_the_hand_made_gradients():
    g = lecture_graph()
    L, d, f = g["L"], g["d"], g["f"]
    L.grad, d.grad, f.grad = 1.0, f.data, d.data  # the first hand-filled gradients of the notes
    dot = draw_dot(L)
    assert dot.graph_attr["rankdir"] == "LR"
    source = dot.source
    # the notes' picture at that point: L, d and f have gradients, the rest still 0
    for record in ["{ a | data 2.0000 | grad 0.0000 }", "{ e | data -6.0000 | grad 0.0000 }",
                   "{ d | data 4.0000 | grad -2.0000 }", "{ f | data -2.0000 | grad 4.0000 }",
                   "{ L | data -8.0000 | grad 1.0000 }"]:
        assert record in source, record
    assert source.count('label="*"') == 2 and source.count('label="+"') == 1


# The notes print these difference quotients; exact float equality holds, no tolerance needed.
NOTES_NUMERIC = {
    "L": 0.9999999999976694,
    "f": 3.9999999999995595,
    "d": -1.9999999999953388,
    "c": -1.9999999999953388,
    "e": -1.9999999999953388,
    "a": 6.000000000021544,
    "b": -4.000000000008441,
}


@pytest.mark.parametrize("name", list(NOTES_NUMERIC))
def test_numeric_derivatives_match_the_notes_exactly(name):
    assert numeric_derivative(name) == NOTES_NUMERIC[name]


def test_backward_gives_the_hand_made_gradients_and_agrees_with_the_numeric_ones():
    by_hand = {"L": 1.0, "d": -2.0, "f": 4.0, "c": -2.0, "e": -2.0, "a": 6.0, "b": -4.0}
    g = lecture_graph()
    g["L"].backward()
    assert {name: g[name].grad for name in by_hand} == by_hand
    for name, grad in by_hand.items():
        assert numeric_derivative(name) == pytest.approx(grad, abs=1e-6)
    g["L"].backward()  # a second call recomputes, it does not accumulate
    assert g["a"].grad == 6.0


def test_nudging_the_inputs_along_their_gradients_improves_L():
    g = lecture_graph()
    g["L"].backward()
    a, b, c, f = (g[n] for n in "abcf")
    for leaf in (a, b, c, f):
        leaf.data += NUDGE * leaf.grad
    # the forward pass again, on the nudged leaves
    e = a * b
    d = e + c
    L = d * f
    # exact: the notes print -7.286496, and so does repr of the float computed here
    assert L.data == -7.286496
    assert repr(L) == "Value(data=-7.286496)"
    assert L.data > -8.0
