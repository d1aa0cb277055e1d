"""`grad --backprop overwrite|no-topo|recursive`: the classic bugs of a backward pass, on purpose.

The lecture's `b = a + a` by hand; 100 generated programs with shared nodes, where the nodes
each bug gets wrong are predicted from the graph's shape alone (who uses whom, and the order a
naive pass runs in) and compared with what the buggy pass computes; and micrograd's own
recursive build_topo, run in a subprocess on both sides of the depth we say it fails at."""

import json
import random
import subprocess
import sys

import pytest

from scalargrad import parse
from scalargrad.bugs import FAILS_FROM, backprop, recursion_depth
from scalargrad.ops import CONST


def test_the_lecture_bug_a_plus_a_gives_1_not_2(cli):
    result = cli("grad", "b = a + a", "--a", "3", "--backprop", "overwrite", "--json", "--no-session")
    assert result.exit_code == 0, result.stderr
    document = result.json()
    a = document["nodes"][0]
    assert (a["label"], a["right"], a["wrong"]) == ("a", 2.0, 1.0)
    assert document["differs"] == [0]
    assert document["first"]["label"] == "a"
    assert "used twice (by b, as both operands)" in document["first"]["why"]
    assert "+=" in document["first"]["why"]


def test_the_table_shows_both_columns_and_names_the_node(cli):
    result = cli("grad", "b = a + a", "--a", "3", "--backprop", "overwrite", "--no-session")
    lines = result.stdout.splitlines()
    assert lines[1].split() == ["id", "node", "data", "right", "overwrite", "differs"]
    assert lines[2].split() == ["0", "a", "3", "2", "1", "yes"]
    assert "first node where they part: a." in result.stdout


def test_no_topo_on_a_node_used_at_two_depths(cli):
    """L = e * d with d = e + c: breadth-first runs e (first reached, from L) before d, which also
    uses e; so e passes on only L's share, and a and b get the wrong gradient."""
    result = cli("grad", "e = a*b; d = e + c; L = e * d", "--a", "2", "--b", "-3", "--c", "10",
                 "--backprop", "no-topo", "--json", "--no-session")
    document = result.json()
    right = {n["label"]: n["right"] for n in document["nodes"]}
    wrong = {n["label"]: n["wrong"] for n in document["nodes"]}
    # dL/de = d + e = 4 - 6 = -2; e ran with L's share only, d = 4: a gets 4 * b = -12, not -2 * -3 = 6
    assert (right["e"], wrong["e"]) == (-2.0, -2.0)  # e's own sum is complete in the end
    assert (right["a"], wrong["a"]) == (6.0, -12.0)
    assert (right["b"], wrong["b"]) == (-4.0, 8.0)
    assert [document["nodes"][i]["label"] for i in document["differs"]] == ["a", "b"]
    assert document["first"]["label"] == "b"
    assert "whose backward ran before d" in document["first"]["why"]


def test_right_is_plain_grad(cli):
    plain = cli("grad", "b = a + a", "--a", "3", "--json", "--no-session").json()
    right = cli("grad", "b = a + a", "--a", "3", "--json", "--backprop", "right", "--no-session").json()
    assert plain == right


def test_an_unknown_mode_is_worded_before_any_work(cli):
    result = cli("grad", "b = a +", "--backprop", "overwrit", "--no-session")  # the program is bad too
    assert result.exit_code == 2
    assert "--backprop takes right, overwrite, no-topo, recursive, not `overwrit`" in result.stderr
    assert "Traceback" not in result.stderr


def test_backprop_and_order_are_one_view_or_the_other(cli):
    result = cli("grad", "L = x**3", "--x", "2", "--order", "2", "--backprop", "overwrite", "--no-session")
    assert result.exit_code == 2 and "give one or the other" in result.stderr


def test_no_difference_is_said_so(cli):
    result = cli("grad", "L = a * b", "--a", "2", "--b", "3", "--backprop", "overwrite", "--json", "--no-session")
    assert result.json()["differs"] == [] and result.json()["first"] is None
    assert "gives the right gradients on this program" in result.json()["verdict"]


# -- 100 generated programs with shared nodes ---------------------------------------------------
def shared_program(seed: int) -> tuple[str, dict[str, float]]:
    """Statements over a, b, c, each reading two earlier names (often the same one twice, often
    one read by several later statements), with + * and tanh: nodes used more than once at
    different depths."""
    rng = random.Random(seed)
    names = ["a", "b", "c"]
    statements = []
    for i in range(rng.randint(3, 6)):
        x, y = rng.choice(names), rng.choice(names[-3:] + [names[0]])
        form = rng.choice(["{} + {}", "{} * {}", "tanh({}) * {}", "{} * {} + 0.5", "tanh({} + {})"])
        statements.append(f"t{i} = " + form.format(x, y))
        names.append(f"t{i}")
    statements.append(f"L = {names[-1]} * {rng.choice(names[:-1])}")
    values = {name: round(rng.uniform(-1.5, 1.5), 3) or 0.5 for name in "abc"}
    return "; ".join(statements), values


def graph_facts(program, of):
    """Users per node id (with repeats), the reached ids, and the breadth-first order, worked
    out here on their own from `_prev`."""
    ids = {id(n): i for i, n in enumerate(program.nodes)}
    reached, frontier = {ids[id(of)]}, [of]
    while frontier:
        frontier = [p for n in frontier for p in n._prev if ids[id(p)] not in reached]
        reached.update(ids[id(p)] for p in frontier)
    users = {i: [] for i in reached}
    for i in reached:
        for p in program.nodes[i]._prev:
            users[ids[id(p)]].append(i)
    order, queue = [], [ids[id(of)]]
    while queue:
        i = queue.pop(0)
        if i in order:
            continue
        order.append(i)
        queue += [ids[id(p)] for p in program.nodes[i]._prev if ids[id(p)] not in order]
    return users, reached, order


def below(program, starts):
    """Ids of every node that the nodes `starts` read, directly or through others (not the starts)."""
    ids = {id(n): i for i, n in enumerate(program.nodes)}
    found, frontier = set(), [program.nodes[i] for i in starts]
    while frontier:
        frontier = [p for n in frontier for p in n._prev if ids[id(p)] not in found]
        found.update(ids[id(p)] for p in frontier)
    return found


def shared_nodes(text: str) -> int:
    """How many nodes (not numbers) the program's output reaches through more than one use."""
    program = parse(text)
    users, _, _ = graph_facts(program, program.output)
    return sum(len(u) > 1 and program.nodes[i]._op != CONST for i, u in users.items())


def first_shared(count: int) -> list[tuple[str, dict[str, float]]]:
    """The first `count` generated programs with a node used more than once (nearly all are)."""
    found, seed = [], 0
    while len(found) < count:
        text, values = shared_program(seed)
        if shared_nodes(text):
            found.append((text, values))
        seed += 1
    return found


PROGRAMS = first_shared(100)


def test_the_generated_programs_share_nodes_in_many_ways():
    counts = [shared_nodes(text) for text, _ in PROGRAMS]
    assert min(counts) >= 1 and sum(c >= 2 for c in counts) >= 50


@pytest.mark.parametrize("text, values", PROGRAMS, ids=[f"seed{i}" for i in range(100)])
def test_overwrite_differs_exactly_on_nodes_used_more_than_once_and_what_they_read(text, values):
    """overwrite differs exactly on the nodes used more than once (each keeps its last share) and
    on every node those read, directly or through others (they pass a wrong gradient on)."""
    program = parse(text)
    report = backprop(program, values, "overwrite")
    users, reached, _ = graph_facts(program, program.output)
    many = {i for i in reached if len(users[i]) > 1}
    expected = {i for i in many | below(program, many) if program.nodes[i]._op != CONST}
    assert set(report.differing()) == expected, text
    if expected:
        first = program.node_id(report.parting.node)
        assert first == max(many)  # in backward order, the first node used more than once
    else:
        assert report.parting is None


@pytest.mark.parametrize("text, values", PROGRAMS, ids=[f"seed{i}" for i in range(100)])
def test_no_topo_differs_exactly_below_a_node_run_before_its_users(text, values):
    """no-topo (breadth-first, each node once) differs exactly on the nodes read, directly or
    through others, by a node whose backward ran before one of its users' had: that node passed
    on a part of its gradient. Its own gradient is complete in the end (the late user adds to it)."""
    program = parse(text)
    report = backprop(program, values, "no-topo")
    users, reached, order = graph_facts(program, program.output)
    early = {i for i in reached if any(order.index(u) > order.index(i) for u in users[i])}
    expected = {i for i in below(program, early) if program.nodes[i]._op != CONST}
    assert set(report.differing()) == expected, text
    assert not (early - below(program, early)) & set(report.differing())  # the early node itself ends right


def test_no_topo_order_matters_in_some_programs_and_not_in_others():
    outcomes = {bool(backprop(parse(text), values, "no-topo").differing()) for text, values in PROGRAMS}
    assert outcomes == {True, False}


# -- micrograd's recursive build_topo -----------------------------------------------------------
MICROGRAD_SCRIPT = """
import json, sys
from micrograd.engine import Value
nodes = []
for op, operands, data in json.loads(sys.stdin.read()):
    if op is None:
        nodes.append(Value(data))
    elif op == "+":
        nodes.append(nodes[operands[0]] + nodes[operands[1]])
    else:
        nodes.append(nodes[operands[0]] * nodes[operands[1]])
try:
    nodes[-1].backward()
except RecursionError:
    print("RecursionError")
else:
    print("ok")
"""


def micrograd_runs(program) -> str:
    ids = {id(n): i for i, n in enumerate(program.nodes)}
    graph = [[None if not n._prev else n._op, [ids[id(p)] for p in n._prev], n.data] for n in program.nodes]
    proc = subprocess.run([sys.executable, "-c", MICROGRAD_SCRIPT], input=json.dumps(graph), capture_output=True,
                          text=True, timeout=120)
    return proc.stdout.strip() or proc.stderr


@pytest.mark.parametrize("depth", [FAILS_FROM - 1, FAILS_FROM])
def test_the_depth_we_report_is_where_micrograd_itself_fails(depth, cli):
    text = "L = a" + " + 1" * (depth - 1)  # a chain: L, then one call deeper per addition, down to a
    program = parse(text)
    program.evaluate({"a": 1.0})
    assert recursion_depth(program.output) == depth
    assert micrograd_runs(program) == ("ok" if depth < FAILS_FROM else "RecursionError")
    document = cli("grad", text, "--a", "1", "--backprop", "recursive", "--json", "--no-session").json()
    assert document["depth"] == depth
    assert ("fails with RecursionError" in document["verdict"]) == (depth >= FAILS_FROM)
    assert document["differs"] == []


@pytest.mark.slow
def test_recursive_reports_a_deep_chain_without_recursing(cli):
    """100,000 levels: counted with a list, at Python's default recursion limit."""
    text = "L = a" + " + 1" * 100_000
    result = cli("grad", text, "--a", "1", "--backprop", "recursive", "--json", "--no-session")
    document = result.json()
    assert document["depth"] == 100_001
    assert f"({100_001 - FAILS_FROM + 1:,} levels too deep)" in document["verdict"]
    assert sys.getrecursionlimit() == 1000


def test_recursive_depth_counts_calls_on_visited_nodes():
    """build_topo is called on a visited node too (it returns at once): `a * a` has a's call open
    twice in turn, so the depth is 2; `L = (a*b) * a` reaches a second time one level up."""
    program = parse("L = a * a")
    assert recursion_depth(program.output) == 2
    program = parse("t = a * b; L = t * a")
    assert recursion_depth(program.output) == 3


# -- the same statements, over programs Hypothesis draws --------------------------------------
from hypothesis import assume, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


def shares_are_sizeable(program, values) -> bool:
    """Every local derivative on the way is far from 0. A saturated tanh passes on 1e-7 of a
    gradient, and a bug's difference through it is below what `differs` counts as apart (1e-9
    relative): the exact statement holds where no share all but vanishes."""
    from scalargrad.ops import OPS

    program.run(values)
    for node in program.nodes:
        if node._prev:
            local = OPS[node._op].local(node.data, *(p.data for p in node._prev))
            if any(abs(d) < 1e-4 for p, d in zip(node._prev, local) if p._op != CONST):
                return False
    return True


@settings(max_examples=100, deadline=None)
@given(st.integers(min_value=100, max_value=10**9))
def test_both_bugs_differ_where_the_graph_says_on_any_drawn_program(seed):
    text, values = shared_program(seed)
    program = parse(text)
    assume(shares_are_sizeable(program, values))
    users, reached, order = graph_facts(program, program.output)
    many = {i for i in reached if len(users[i]) > 1}
    overwrite = backprop(program, values, "overwrite")
    assert set(overwrite.differing()) == {i for i in many | below(program, many) if program.nodes[i]._op != CONST}
    early = {i for i in reached if any(order.index(u) > order.index(i) for u in users[i])}
    no_topo = backprop(parse(text), values, "no-topo")
    assert set(no_topo.differing()) == {i for i in below(program, early) if program.nodes[i]._op != CONST}
