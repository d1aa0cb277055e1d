"""`scalargrad explain`: the chain rule written out with the lecture's numbers."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import LECTURE, LECTURE_VALUES, NEURON_VALUES, STATEMENTS, Terminal, read_until_closed
from scalargrad import parse
from scalargrad.explain import backward_steps, count_steps, explain, substitute
from scalargrad.ops import OPS

LECTURE_INPUTS = {"a": 2, "b": -3, "c": 10, "f": -2}
NEURON_STATEMENTS = "n = x1*w1 + x2*w2 + b; o = tanh(n)"


def explained(source: str, values: dict, of: str | None = None) -> dict:
    program = parse(source)
    program.evaluate(values)
    target = program.names[of] if of else None
    return {item.label: item for item in explain(program, target)}


# -- the library --------------------------------------------------------------------------
def test_lecture_terms_are_the_chain_rule_by_hand():
    items = explained(STATEMENTS, LECTURE_INPUTS)
    (a_term,) = items["a"].terms
    assert (a_term.consumer_label, a_term.symbol, a_term.operand) == ("e", "*", "x")
    assert (a_term.formula, a_term.formula_named) == ("y", "b")  # de/da is the other factor, b
    assert (a_term.local, a_term.consumer_grad, a_term.product) == (-3.0, -2.0, 6.0)
    assert items["a"].sum == items["a"].grad == 6.0
    (c_term,) = items["c"].terms
    assert (c_term.consumer_label, c_term.formula, c_term.local, c_term.consumer_grad) == ("d", "1", 1.0, -2.0)
    assert items["c"].sum == -2.0
    assert "passes the gradient through" in c_term.phrase
    (f_term,) = items["f"].terms
    assert (f_term.consumer_label, f_term.formula_named, f_term.local, f_term.product) == ("L", "d", 4.0, 4.0)
    assert items["L"].status == "seed" and items["L"].terms == () and items["L"].sum == 1.0


def test_reused_node_sums_one_term_per_use():
    items = explained("b = a + a", {"a": 3})
    terms = items["a"].terms
    assert [(t.consumer_label, t.operand, t.local, t.product) for t in terms] == [("b", "x", 1.0, 1.0),
                                                                                 ("b", "y", 1.0, 1.0)]
    assert items["a"].sum == items["a"].grad == 2.0


def test_square_names_the_same_operand_in_both_terms():
    items = explained("b = a*a + 3*a", {"a": 2})
    terms = items["a"].terms
    # backward order: 3*a was created last, so it passes its gradient first
    assert [(t.consumer_label, t.formula_named, t.local) for t in terms] == [
        ("3*a", "3", 3.0), ("a*a", "a", 2.0), ("a*a", "a", 2.0)]
    assert items["a"].sum == items["a"].grad == 7.0  # d(a**2 + 3a)/da = 2a + 3 at a = 2


def test_function_node_uses_the_table_formula():
    values = dict(zip(NEURON_VALUES[::2], map(float, NEURON_VALUES[1::2])))
    items = explained(NEURON_STATEMENTS, {k.lstrip("-"): v for k, v in values.items()})
    (term,) = items["n"].terms
    assert term.formula == "1 - tanh(x)**2" == OPS["tanh"].formulas[0]
    assert term.formula_named == "1 - tanh(n)**2"
    assert term.local == pytest.approx(0.5, abs=1e-12)  # tanh(n) = 1/sqrt(2), so 1 - 1/2
    assert items["x1"].grad == pytest.approx(-1.5)  # the lecture's neuron: w1 * 0.5


def test_of_an_intermediate_node_leaves_later_nodes_unreached():
    items = explained(STATEMENTS, LECTURE_INPUTS, of="d")
    assert items["d"].status == "seed"
    assert items["L"].status == "unreached" and items["f"].status == "unreached"
    assert items["f"].grad == 0.0 and items["f"].terms == ()
    assert items["a"].sum == -3.0  # dd/da = de/da = b


def test_constants_get_no_terms():
    items = explained("y = 3*a", {"a": 2})
    assert items["3"].status == "const" and items["3"].terms == ()
    assert items["a"].terms[0].formula_named == "3"


def test_kink_is_flagged_and_said(cli):
    items = explained("y = relu(a)", {"a": 0})
    (term,) = items["a"].terms
    assert term.kink and term.local == 0.0
    assert not explained("y = relu(a)", {"a": 1})["a"].terms[0].kink
    result = cli("explain", "y = relu(a)", "--a", "0", "--node", "a")
    assert "(not differentiable at this point: the table's value 0.0000 is used)" in result.stdout


def test_substitute_parenthesises_compound_labels():
    assert substitute("y", {"x": "a", "y": "b"}) == "b"
    assert substitute("-x/y**2", {"x": "a", "y": "b + c"}) == "-a/(b + c)**2"
    assert substitute("1 - tanh(x)**2", {"x": "w*x + b"}) == "1 - tanh(w*x + b)**2"
    assert substitute("exp(x)", {"x": "e"}) == "exp(e)"  # the x of `exp` is not an operand


def test_every_op_row_has_a_phrase():
    assert all(op.phrase for op in OPS.values())


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(-3, 3, allow_nan=False), min_size=4, max_size=4))
def test_sum_of_terms_is_the_engine_gradient_to_the_bit(xs):
    program = parse("h = tanh(a*b + c); L = h*h*f + exp(a) - a/(c*c + 1)")
    program.evaluate(dict(zip("abcf", xs)))
    for item in explain(program):
        if item.status == "chain":
            assert item.sum == item.grad


def test_trace_runs_in_reverse_topological_order():
    program = parse(STATEMENTS)
    program.evaluate(LECTURE_INPUTS)
    steps = backward_steps(program)
    passes = [(s.node_label, s.target_label, s.term.product, s.after) for s in steps if s.kind == "pass"]
    assert passes == [("L", "d", -2.0, -2.0), ("L", "f", 4.0, 4.0), ("d", "e", -2.0, -2.0),
                      ("d", "c", -2.0, -2.0), ("e", "a", 6.0, 6.0), ("e", "b", -4.0, -4.0)]
    # no node passes its gradient on before every node that uses it has passed theirs
    seen_pass_from = set()
    for step in steps:
        if step.kind == "pass":
            seen_pass_from.add(step.node_id)
            assert step.target_id not in seen_pass_from
    assert len(steps) == count_steps(program)


def test_trace_shows_accumulation_into_a_reused_node():
    program = parse("b = a + a")
    program.evaluate({"a": 3})
    into_a = [(s.before, s.after) for s in backward_steps(program) if s.kind == "pass"]
    assert into_a == [(0.0, 1.0), (1.0, 2.0)]


# -- the command line -----------------------------------------------------------------------
def lines_of(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines()]


def test_cli_explains_the_lecture_nodes(cli):
    result = cli("explain", STATEMENTS, *LECTURE_VALUES, "--node", "c", "--node", "a")
    assert result.exit_code == 0, result.stderr
    lines = lines_of(result.stdout)
    assert "dL/dc = dL/dd * dd/dc = (-2.0000)(1.0000) = -2.0000" in lines
    assert "via d = e + c: dd/dc = 1; + passes the gradient through unchanged" in lines
    assert "dL/da = dL/de * de/da = (-2.0000)(b = -3.0000) = 6.0000" in lines
    assert "via e = a*b: de/da = y = b; * swaps in the other factor" in lines
    assert lines.index("[0] a = 2.0000   grad 6.0000   (input)") < lines.index("[3] c = 10.0000   grad -2.0000   (input)")
    assert "dL/df" not in result.stdout  # only the chosen nodes


def test_cli_unnamed_nodes_use_their_source_text(cli):
    result = cli("explain", LECTURE, *LECTURE_VALUES, "--node", "c")
    assert result.exit_code == 0, result.stderr
    assert "dL/dc = dL/d(a*b + c) * d(a*b + c)/dc = (-2.0000)(1.0000) = -2.0000" in lines_of(result.stdout)


def test_cli_reused_node_shows_both_terms(cli):
    result = cli("explain", "b = a + a", "--a", "3", "--node", "a")
    lines = lines_of(result.stdout)
    assert "db/da = db/db * d(a + a)/da + db/db * d(a + a)/da = (1.0000)(1.0000) + (1.0000)(1.0000) = 2.0000" in lines
    assert "via b = a + a (a as x): db/da = 1; + passes the gradient through unchanged" in lines
    assert "via b = a + a (a as y): db/da = 1; + passes the gradient through unchanged" in lines


def test_cli_tanh_formula_with_its_value(cli):
    result = cli("explain", NEURON_STATEMENTS, *NEURON_VALUES, "--node", "n")
    lines = lines_of(result.stdout)
    assert "do/dn = do/do * d(tanh(n))/dn = (1.0000)(1 - tanh(n)**2 = 0.5000) = 0.5000" in lines


def test_cli_decimals_and_unreached_nodes(cli):
    result = cli("explain", STATEMENTS, *LECTURE_VALUES, "--of", "d", "--decimals", "1")
    lines = lines_of(result.stdout)
    assert "dd/da = dd/de * de/da = (1.0)(b = -3.0) = -3.0" in lines
    assert "d does not depend on L: dd/dL = 0" in lines


def test_cli_trace_order_and_accumulations(cli):
    result = cli("explain", STATEMENTS, *LECTURE_VALUES, "--trace")
    assert result.exit_code == 0, result.stderr
    rows = [line for line in result.stdout.splitlines()[2:] if "+=" in line or "seed" in line]
    into = [next(word for word in row.split() if word.endswith(".grad")) for row in rows]
    assert into == ["L.grad", "d.grad", "f.grad", "e.grad", "c.grad", "a.grad", "b.grad"]
    assert [row.split()[0] for row in rows] == ["1", "2", "3", "4", "5", "6", "7"]
    assert any("a.grad += -2.0000 * -3.0000 -> 6.0000" in row and "de/da = y = b" in row for row in rows)
    assert "reverse topological" in result.stdout.splitlines()[0]


def test_cli_trace_of_one_node(cli):
    result = cli("explain", "b = a*a + 3*a", "--a", "2", "--trace", "--node", "a")
    accumulations = [line.split(" -> ")[1].split()[0] for line in result.stdout.splitlines()
                     if "a.grad += " in line]
    assert accumulations == ["3.0000", "5.0000", "7.0000"]
    steps = [line.split()[0] for line in result.stdout.splitlines() if "a.grad += " in line]
    assert steps == ["4", "5", "6"]  # numbered as in the whole pass: seed 1, b passes 2 and 3


def test_cli_json_has_the_same_terms(cli):
    result = cli("explain", STATEMENTS, *LECTURE_VALUES, "--json")
    assert result.exit_code == 0, result.stderr
    doc = result.json()
    assert doc["schema"] == "scalargrad.explain/1"
    assert doc["of"]["name"] == "L" and doc["of"]["value"] == -8.0
    nodes = {node["label"]: node for node in doc["nodes"]}
    assert len(nodes) == 7
    (term,) = nodes["a"]["terms"]
    assert term["consumer"] == {"id": 2, "label": "e", "text": "a*b", "op": "*"}
    assert (term["formula"], term["formula_named"], term["local"]) == ("y", "b", -3.0)
    assert (term["consumer_grad"], term["product"], nodes["a"]["sum"]) == (-2.0, 6.0, 6.0)
    assert nodes["L"]["status"] == "seed"


def test_cli_trace_json(cli):
    doc = cli("explain", "b = a + a", "--a", "3", "--trace", "--json").json()
    assert doc["schema"] == "scalargrad.trace/1"
    assert [s["kind"] for s in doc["steps"]] == ["seed", "pass", "pass", "visit"]
    assert [(s["before"], s["after"]) for s in doc["steps"] if s["kind"] == "pass"] == [(0.0, 1.0), (1.0, 2.0)]
    assert doc["steps"][1]["term"]["formula"] == "1"


def test_cli_node_by_id(cli):
    result = cli("explain", LECTURE, *LECTURE_VALUES, "--node", "2", "--json")
    (node,) = result.json()["nodes"]
    assert (node["label"], node["grad"]) == ("a*b", -2.0)


@pytest.mark.parametrize("args, message", [
    (["--node", "q"], "error: the program has no node named `q`"),
    (["--node", "cc"], "did you mean `c`?"),
    (["--node", "99"], "error: the program has no node with id 99"),
    (["--of", "x"], "error: the program has no node named `x`"),
    (["--decimals", "-1"], "--decimals"),
])
def test_cli_user_errors(cli, args, message):
    result = cli("explain", STATEMENTS, *LECTURE_VALUES, *args)
    assert result.exit_code == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_cli_domain_error_is_located(cli):
    result = cli("explain", "y = log(a)", "--a", "0")
    assert result.exit_code == 2
    assert "log of a non-positive number" in result.stderr and "hint:" in result.stderr


def test_help_mentions_the_options(cli):
    result = cli("explain", "--help")
    assert result.exit_code == 0
    for option in ("--node", "--trace", "--json", "--of", "--decimals"):
        assert option in result.stdout


def test_deep_chain_is_explained_without_recursion(cli):
    program = "L = a" + " + 1" * 20000
    result = cli("explain", program, "--a", "1")
    assert result.exit_code == 0, result.stderr
    assert "dL/da = dL/d(a + 1) * d(a + 1)/da = (1.0000)(1.0000) = 1.0000" in lines_of(result.stdout)
    trace = cli("explain", program, "--a", "1", "--trace")
    assert trace.exit_code == 0, trace.stderr
    assert "showing the first 200 of 40,001 steps" in trace.stdout


def test_installed_command_prints_plain_text(installed):
    result = installed("explain", STATEMENTS, *LECTURE_VALUES, "--node", "a")
    assert result.exit_code == 0, result.stderr
    assert "dL/da = dL/de * de/da = (-2.0000)(b = -3.0000) = 6.0000" in result.stdout
    assert "\x1b[" not in result.stdout
    assert math.isclose(float(result.stdout.split("grad ")[1].split()[0]), 6.0)


def test_arrays_largest_gradients_are_those_of_the_backward_pass(cli):
    """Each array's line names its elements with the largest |grad|, as `grad` does (not the
    zeros from before the backward pass)."""
    mlp = str(Path(__file__).resolve().parent.parent / "docs" / "examples" / "mlp.sg")
    explained = cli("explain", "--file", mlp, "--no-session")
    assert explained.exit_code == 0, explained.stderr
    table = cli("grad", "--file", mlp, "--no-session").stdout
    lines = {line.split(":")[0].strip(): line.split("largest |grad| ")[1] for line in explained.stdout.splitlines()
             if "largest |grad| " in line}
    assert set(lines) == {"xs (4, 3)", "ys (4,)", "W1 (4, 3)", "b1 (4,)", "W2 (4, 4)", "b2 (4,)", "W3 (1, 4)",
                          "b3 (1,)", "ypred (4,)"}
    assert lines["xs (4, 3)"] == "none (data)"
    assert lines["b3 (1,)"] == "b3[0] -3.977"
    for name, top in lines.items():
        if top != "none (data)":
            assert top in table, name


def test_program_names_x_and_y_are_not_confused_with_the_tables_operands(cli):
    result = cli("explain", "L = (w*x - y)**2", "--w", "0", "--x", "2", "--y", "6", "--node", "w", "--no-session")
    assert result.exit_code == 0, result.stderr
    assert "d(w*x)/dw = x;" in result.stdout  # not "= y = x", where y would read as the input y
    lecture = cli("explain", "e = a*b; d = e + c; L = d * f", "--a", "2", "--b", "-3", "--c", "10", "--f", "-2",
                  "--node", "a", "--no-session")
    assert "de/da = y = b;" in lecture.stdout  # no clash: the table's formula, then the named one


# -- in a terminal, narrow or wide ----------------------------------------------------------
def in_terminal(*args: str, columns: int) -> str:
    """The installed command run in a pseudo-terminal `columns` wide, as a person runs it:
    what the screen shows, colours taken out."""
    import os
    import pty
    import re

    from conftest import installed_command

    command = installed_command()
    env = {**os.environ, "COLUMNS": str(columns), "TERM": "xterm-256color"}
    env.pop("NO_COLOR", None)
    pid, terminal = pty.fork()
    if pid == 0:  # the child: the pseudo-terminal, as wide as a split pane, is its terminal
        import fcntl
        import struct
        import termios

        fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", 24, columns, 0, 0))
        os.execve(command, [command, *args], env)
    screen = read_until_closed(terminal)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0, screen
    return re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", screen.decode()).replace("\r\n", "\n")


LECTURE_NODES = {"a": ("2.0000", "6.0000"), "b": ("-3.0000", "-4.0000"), "c": ("10.0000", "-2.0000"),
                 "f": ("-2.0000", "4.0000")}
terminal_only = pytest.mark.skipif(not hasattr(__import__("os"), "fork"), reason="needs a pseudo-terminal")


@terminal_only
@pytest.mark.parametrize("columns", [40, 60, 80, 120])
def test_explain_in_a_terminal_fits_it_and_loses_no_word(installed, columns):
    shown = in_terminal("explain", LECTURE, *LECTURE_VALUES, "--no-session", columns=columns)
    assert all(len(line) <= columns for line in shown.splitlines()), shown
    plain = installed("explain", LECTURE, *LECTURE_VALUES, "--no-session").stdout
    assert shown.split() == plain.split()  # broken only between words: every number whole
    lines = [line.rstrip() for line in shown.splitlines()]
    for label, (data, grad) in LECTURE_NODES.items():
        assert f"{label} = {data}   grad {grad}   (input)" in shown
        assert any(line.endswith(f"= {grad}") for line in lines)  # the sum, the last part of its equation
    body = lines[lines.index(""):]  # after the heading, only a node's first line starts at the margin
    assert all(not line or line.startswith("[") or line.startswith("    ") for line in body), shown


@terminal_only
def test_chain_rule_in_40_columns_keeps_its_shape(installed):
    """The equation breaks at its `=` signs, each part on a line of its own under the first;
    a `via` line hangs under `via`; nothing wraps back to the left margin."""
    shown = in_terminal("explain", LECTURE, *LECTURE_VALUES, "--no-session", columns=40)
    lines = [line.rstrip() for line in shown.splitlines()]
    a = lines.index("[0] a = 2.0000   grad 6.0000   (input)")
    assert lines[a + 1:a + 6] == [
        "    dL/da = dL/d(a*b) * d(a*b)/da",
        "          = (-2.0000)(b = -3.0000)",
        "          = 6.0000",
        "      via a*b: d(a*b)/da = y = b;",
        "          * swaps in the other factor",
    ]
    f = lines.index("[5] f = -2.0000   grad 4.0000   (input)")
    assert lines[f + 1:f + 4] == ["    dL/df = dL/dL * d((a*b + c) * f)/df",
                                  "          = (1.0000)(a*b + c = 4.0000)",
                                  "          = 4.0000"]
    c = lines.index("[3] c = 10.0000   grad -2.0000   (input)")
    assert "          = -2.0000" in lines[c + 1:c + 8]
    b = lines.index("[1] b = -3.0000   grad -4.0000   (input)")
    assert "          = -4.0000" in lines[b + 1:b + 5]
    assert lines[2].startswith("    dL/dnode = ")  # the heading's rule, on a line of its own


@terminal_only
def test_a_line_that_fits_is_unchanged_and_one_that_does_not_breaks_at_its_equals(installed):
    shown = [line.rstrip() for line in in_terminal("explain", LECTURE, *LECTURE_VALUES, "--no-session",
                                                   columns=80).splitlines()]
    assert "    dL/da = dL/d(a*b) * d(a*b)/da = (-2.0000)(b = -3.0000) = 6.0000" in shown
    assert "      via a*b + c: d(a*b + c)/dc = 1; + passes the gradient through unchanged" in shown
    start = shown.index("    dL/d(a*b + c) = dL/dL * d((a*b + c) * f)/d(a*b + c)")  # 89 columns as one line
    assert shown[start + 1:start + 3] == ["                  = (1.0000)(f = -2.0000)", "                  = -2.0000"]
    assert shown[:2] == ["how each gradient of L = -8.0000 comes about (chain rule):",
                         "    dL/dnode = sum over the nodes that use it of dL/duser * duser/dnode"]


@terminal_only
def test_a_sum_breaks_a_term_a_line(installed):
    shown = [line.rstrip() for line in in_terminal("explain", "b = a + a", "--a", "3", "--node", "a", "--no-session",
                                                   columns=40).splitlines()]
    start = shown.index("    db/da = db/db * d(a + a)/da")
    assert shown[start + 1:start + 5] == ["          + db/db * d(a + a)/da", "          = (1.0000)(1.0000)",
                                          "          + (1.0000)(1.0000)", "          = 2.0000"]


@terminal_only
@pytest.mark.parametrize("columns", [40, 60])
def test_trace_in_a_narrow_terminal(installed, columns):
    shown = in_terminal("explain", LECTURE, *LECTURE_VALUES, "--trace", "--no-session", columns=columns)
    lines = shown.splitlines()
    assert all(len(line) <= columns for line in lines), shown
    said = " ".join(shown.split())
    for accumulation in ("a.grad += -2.0000 * -3.0000 -> 6.0000", "b.grad += -2.0000 * 2.0000 -> -4.0000",
                         "c.grad += -2.0000 * 1.0000 -> -2.0000", "f.grad += 1.0000 * 4.0000 -> 4.0000"):
        assert accumulation in said
    if columns == 40:  # listed: a row's name at the margin, its fields (wrapped too) indented under it
        rows = lines[lines.index("step 1"):]
        names = {"L", "f", "a*b + c", "c", "a*b", "b", "a"} | {f"step {n}" for n in range(1, 8)}
        assert all(line.startswith("  ") or line.rstrip() in names for line in rows), shown
        assert "step " not in [line.rstrip() + " " for line in rows]  # a visit is named by its node


WORDS = st.one_of(st.sampled_from(["dL/da", "=", "*", "(-2.0000)(b", "-3.0000)", "d(a*b", "+", "c)/dc", "6.0000"]),
                  st.text("abcxyz0123456789.-*/()", min_size=1, max_size=50))  # some longer than a line
TEXTS = st.lists(WORDS, min_size=1, max_size=12).map(" ".join)


@settings(max_examples=200, deadline=None)
@given(head=st.one_of(st.just(""), TEXTS), rows=st.lists(st.tuples(st.sampled_from(["", "= ", "+ "]), TEXTS),
                                                         min_size=1, max_size=5),
       indent=st.integers(0, 6), columns=st.integers(20, 130))
@pytest.mark.slow
def test_a_hanging_line_fits_any_terminal_and_keeps_every_character(head, rows, indent, columns):
    import re

    from scalargrad.render import Lines

    lines = Lines()
    lines.add_hanging([head], [(lead, [text]) for lead, text in rows], indent=indent)
    terminal = Terminal()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("COLUMNS", str(columns))
        lines.print(terminal)
    shown = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", terminal.buffer.getvalue())
    whole = lines.lines[0].text()
    assert all(len(line) <= columns for line in shown.splitlines()), shown
    assert "".join(shown.split()) == "".join(whole.split())  # nothing cut, nothing added, in order
    assert all(line.startswith(" " * indent) for line in shown.splitlines()), shown  # never back to the margin
    if len(whole) <= columns:
        assert shown == whole + "\n"  # a line that fits is printed as it is


@terminal_only
def test_the_docs_40_column_picture_is_what_a_terminal_shows():
    import re

    page = (Path(__file__).resolve().parent.parent / "docs" / "explain.md").read_text(encoding="utf-8")
    (picture,) = re.findall(r"```text\n(\[0\] a = .*?)```", page, re.S)
    shown = in_terminal("explain", STATEMENTS, *LECTURE_VALUES, "--node", "c", "--node", "a", "--no-session",
                        columns=40)
    body = "\n".join(line.rstrip() for line in shown.splitlines()[5:]) + "\n"  # after the heading and a blank line
    assert body == picture
