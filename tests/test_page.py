"""The interactive page (`scalargrad dot -o graph.html`), opened in a real headless Chromium.

The browser tests use Playwright for Python with the system's Chromium (/usr/bin/chromium,
Debian's `chromium`); no browser is downloaded. Locally they skip with the reason when the
browser is missing; in CI (CI=true) they fail instead, since .ci/run installs it.
"""

from __future__ import annotations

import json
import math
import os
import random
import re
import zlib
from pathlib import Path

import pytest

from conftest import LECTURE, LECTURE_VALUES, STATEMENTS, run_installed
from scalargrad import parse
from scalargrad.check import check_gradients
from scalargrad.errors import DomainError, UsageError
from scalargrad.explain import backward_steps, equation, explain, step_rows
from scalargrad.ops import FUNCTIONS, OPS, Op
from scalargrad import page as pages

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
LECTURE_INPUTS = {"a": 2.0, "b": -3.0, "c": 10.0, "f": -2.0}
TOLERANCE = 1e-12


def browser_missing() -> str:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "Playwright for Python is not installed (pip install -e '.[test]')"
    if not Path(CHROMIUM).exists():
        return f"no Chromium at {CHROMIUM} (apt-get install chromium)"
    return ""


@pytest.fixture(scope="module")
def browser():
    """One headless Chromium for the whole module: pages are cheap, browsers are not."""
    missing = browser_missing()
    if missing:
        if os.environ.get("CI") == "true":
            pytest.fail(f"the browser tests are required in CI: {missing}")
        pytest.skip(missing)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


class Opened:
    """A page open in the browser, with the errors and requests it made."""

    def __init__(self, browser, width: int = 1400, height: int = 900):
        self.tab = browser.new_page(viewport={"width": width, "height": height})
        self.errors: list[str] = []
        self.requests: list[str] = []
        self.tab.on("pageerror", lambda error: self.errors.append(str(error)))
        self.tab.on("console", lambda message: self.errors.append(message.text) if message.type == "error" else None)
        self.blobs: list[str] = []  # the training worker's script, a Blob of the page's own text
        self.tab.on("request", lambda request: (self.blobs if request.url.startswith("blob:") else self.requests)
                    .append(request.url))

    def numbers(self) -> tuple[list[float], list[float]]:
        return self.tab.evaluate("[scalargrad.values(), scalargrad.grads()]")

    def set_input(self, name: str, value: float) -> None:
        self.tab.fill(f'input[type=number][aria-label="{name}"]', repr(value))

    def close(self) -> None:
        self.tab.close()


@pytest.fixture
def opened(browser):
    tabs: list[Opened] = []

    def open_file(path: Path, **size) -> Opened:
        tab = Opened(browser, **size)
        tab.tab.goto(path.as_uri())
        tabs.append(tab)
        return tab

    yield open_file
    for tab in tabs:
        assert tab.errors == [], tab.errors
        tab.close()


@pytest.fixture
def lecture_page(tmp_path) -> Path:
    path = tmp_path / "lecture.html"
    result = run_installed("dot", LECTURE, *LECTURE_VALUES, "-o", str(path), "--no-session")
    assert result.exit_code == 0, result.stderr
    assert "wrote" in result.stderr and "interactive HTML page of 7 nodes" in result.stderr
    return path


def lecture_program():
    program = parse(LECTURE)
    program.run(LECTURE_INPUTS)
    return program


def close(got: float, want: float) -> bool:
    return got == want or abs(got - want) <= TOLERANCE * abs(want)


# -- the table's JavaScript columns ------------------------------------------------------
@pytest.mark.parametrize("name", sorted(OPS))
def test_every_row_has_its_javascript_columns(name):
    op = OPS[name]
    assert op.js_forward, f"the row `{name}` of ops.py has no js_forward"
    assert len(op.js_local) == op.arity, f"the row `{name}` of ops.py needs one js_local per operand"
    assert bool(op.js_kink) == (op.kink is not None), f"the row `{name}` of ops.py: js_kink goes with kink"


def test_a_row_without_javascript_columns_stops_the_page(monkeypatch):
    bare = Op("erf", "erf", 1, math.erf, lambda ans, x: (2 / math.sqrt(math.pi) * math.exp(-x * x),), ("…",))
    monkeypatch.setitem(OPS, "erf", bare)
    with pytest.raises(UsageError, match="the op `erf` has no JavaScript column"):
        pages.ops_script()


SAMPLES = [-2.5, -1.0, -0.3, 0.0, 0.2, 0.5, 1.0, 1.7, 3.0, 40.0]


def row_samples(op: Op) -> list[tuple[float, ...]]:
    if op.arity == 1:
        return [(x,) for x in SAMPLES]
    return [(x, y) for x in SAMPLES for y in (-2.0, -0.5, 0.0, 0.5, 1.0, 2.0, 2.5, 3.0)]


def python_row(op: Op, args: tuple[float, ...]) -> dict | None:
    try:
        ans = op.forward(*args)
        local = list(op.local(ans, *args))
    except (DomainError, ZeroDivisionError, OverflowError, ValueError):
        return None
    return {"ans": ans, "local": local, "kink": bool(op.kink and op.kink(*args))}


def test_the_javascript_columns_agree_with_the_table(browser):
    """Every row's JS forward, local derivatives and kink test, run in Chromium, against the
    row's Python at sample points: equal to 1e-12 relative (the same value or undefined)."""
    tab = browser.new_page()
    tab.set_content("<script>" + pages.ops_script() + "window.OPS = OPS;</script>")
    cases = [(name, args) for name, op in OPS.items() for args in row_samples(op)]
    results = tab.evaluate("""cases => cases.map(([name, args]) => {
        const op = OPS[name];
        const ans = op.forward(...args);
        return {ans, local: op.local(ans, ...args).map(String), kink: op.kink ? op.kink(...args) : false};
    })""", [[name, list(args)] for name, args in cases])
    tab.close()
    checked = 0
    for (name, args), got in zip(cases, results):
        want = python_row(OPS[name], args)
        if want is None:  # a domain error in Python: not a finite number in the page either
            assert got["ans"] is None or not math.isfinite(got["ans"]), (name, args, got)
            continue
        assert close(got["ans"], want["ans"]), (name, args, got, want)
        for js, py in zip(got["local"], want["local"]):
            js = float(js)
            assert (math.isnan(js) and math.isnan(py)) or close(js, py), (name, args, js, py)
        assert got["kink"] == want["kink"], (name, args)
        checked += 1
    assert checked > 300


# -- the lecture's page ---------------------------------------------------------------------
def test_the_labels_show_the_lectures_values(opened, lecture_page):
    tab = opened(lecture_page)
    texts = tab.tab.evaluate("""() => Array.from(document.querySelectorAll('#sg-graph g.node'))
        .filter(g => /^n\\d+$/.test(g.id))
        .map(g => [g.id, Array.from(g.querySelectorAll('text')).map(t => t.textContent)])""")
    assert dict(texts) == {
        "n0": ["a", "data 2.0000", "grad 6.0000"],
        "n1": ["b", "data -3.0000", "grad -4.0000"],
        "n2": ["a*b", "data -6.0000", "grad -2.0000"],
        "n3": ["c", "data 10.0000", "grad -2.0000"],
        "n4": ["a*b + c", "data 4.0000", "grad -2.0000"],
        "n5": ["f", "data -2.0000", "grad 4.0000"],
        "n6": ["L", "data -8.0000", "grad 1.0000"],
    }
    assert tab.tab.inner_text("#sg-output") == "L = -8.0000"
    assert tab.requests == [lecture_page.as_uri()], "the page fetched something"


def test_hovering_a_shows_its_chain_rule_as_explain_words_it(opened, lecture_page):
    tab = opened(lecture_page)
    program = lecture_program()
    (a,) = explain(program, nodes=[program.names["a"]])
    tab.tab.hover("#n0")
    panel = tab.tab.inner_text("#sg-panel")
    assert "chain rule: " + equation("L", a, 4) in panel
    assert "dL/da = dL/d(a*b) * d(a*b)/da = (-2.0000)(b = -3.0000) = 6.0000" in panel
    assert "via a*b: d(a*b)/da = y = b; * swaps in the other factor" in panel


def test_hovering_an_edge_shows_grad_out_times_local(opened, lecture_page):
    tab = opened(lecture_page)
    tab.tab.hover("#e2_0 path")  # a into a*b, as x
    panel = tab.tab.inner_text("#sg-panel")
    assert "grad_out × local = contribution" in panel
    assert "-2.0000 × -3.0000 = 6.0000" in panel


def read_steps(tab, count: int) -> list[dict]:
    seen = []
    for _ in range(count):
        tab.tab.keyboard.press("ArrowRight")
        seen.append(tab.tab.evaluate("""() => {
            const id = (name) => { const e = document.querySelector('#sg-graph .' + name); return e ? e.id : null; };
            return {step: scalargrad.step(), current: id('sg-current'), target: id('sg-target'),
                    active: id('sg-active'), text: scalargrad.stepText()};
        }"""))
    return seen


def test_stepping_visits_the_nodes_in_backwards_order(opened, lecture_page):
    tab = opened(lecture_page)
    steps = backward_steps(lecture_program())
    rows = step_rows(steps, 4)
    seen = read_steps(tab, len(steps) + 1)  # one press more stays on the last step
    assert [s["step"] for s in seen] == list(range(len(steps))) + [len(steps) - 1]
    for step, row, got in zip(steps, rows, seen):
        assert got["current"] == f"n{step.node_id}"
        if step.kind == "pass":
            position = "xy".index(step.term.operand)
            assert (got["target"], got["active"]) == (f"n{step.target_id}", f"e{step.node_id}_{position}")
            assert got["text"] == [row[3], row[4]]
        elif step.kind == "seed":
            assert got["text"][0] == row[3] == "L.grad = 1 (seed: dL/dL)"
    tab.tab.keyboard.press("Escape")
    assert tab.tab.evaluate("scalargrad.step()") == -1
    assert tab.tab.text_content("#n0 text:last-of-type") == "grad 6.0000"


def test_a_node_used_twice_shows_the_gradient_adding_up(opened, tmp_path):
    path = tmp_path / "twice.html"
    program = parse("b = a + a")
    pages.write_page(program, path, {"a": 3.0})
    tab = opened(path)
    texts = [s["text"][0] for s in read_steps(tab, len(backward_steps(program)))]
    assert texts[-3:-1] == ["a.grad += 1.0000 * 1.0000 -> 1.0000",
                          "a.grad += 1.0000 * 1.0000 -> 2.0000   (a is used again: += adds this share to the "
                          "1.0000 it already had)"]
    assert tab.tab.evaluate("scalargrad.grads()[0]") == 2.0


def test_setting_a_to_3_gives_what_grad_gives(opened, lecture_page):
    tab = opened(lecture_page)
    tab.set_input("a", 3)
    result = run_installed("grad", LECTURE, "--a", "3", "--b", "-3", "--c", "10", "--f", "-2", "--json", "--no-session")
    nodes = json.loads(result.stdout)["nodes"]
    values, grads = tab.numbers()
    assert [round(v, 12) for v in values] == [round(n["data"], 12) for n in nodes]
    assert all(close(g, n["grad"]) for g, n in zip(grads, nodes)), (grads, nodes)
    assert tab.tab.input_value('input[type=range][aria-label="a slider"]') == "3"
    assert tab.tab.text_content("#n0 text:last-of-type") == "grad 6.0000"
    assert tab.tab.text_content("#n1 text:last-of-type") == "grad -6.0000"
    assert tab.tab.inner_text("#sg-output") == "L = -2.0000"
    program = parse(LECTURE)
    program.run({**LECTURE_INPUTS, "a": 3.0})
    tab.tab.hover("#n1")
    (b,) = explain(program, nodes=[program.names["b"]])
    assert "chain rule: " + equation("L", b, 4) in tab.tab.inner_text("#sg-panel")


def test_an_input_outside_the_domain_says_so_and_keeps_the_last_values(opened, tmp_path):
    path = tmp_path / "log.html"
    pages.write_page(parse("y = log(x)"), path, {"x": 2.0})
    tab = opened(path)
    tab.set_input("x", -1)
    assert "`log(x)` has no finite value at these inputs" in tab.tab.inner_text("#sg-error")
    assert tab.numbers()[0] == [2.0, math.log(2.0)]
    tab.set_input("x", 4)
    assert tab.tab.is_hidden("#sg-error") and tab.numbers()[0] == [4.0, math.log(4.0)]


def test_the_screenshot_is_kept(opened, lecture_page, tmp_path):
    tab = opened(lecture_page)
    tab.tab.hover("#n0")
    for _ in range(5):
        tab.tab.keyboard.press("ArrowRight")
    shot = tmp_path / "lecture-page.png"
    tab.tab.screenshot(path=str(shot), full_page=True)
    assert shot.read_bytes().startswith(b"\x89PNG") and shot.stat().st_size > 20_000
    print(f"screenshot: {shot}")


# -- generated programs ----------------------------------------------------------------------
BINARY = ["+", "-", "*", "/", "**"]
UNARY = sorted(op.called for op in FUNCTIONS.values() if op.arity == 1) + ["-"]
BINARY_FUNCTIONS = sorted({op.called for op in FUNCTIONS.values() if op.arity == 2})


def generated_program(rng: random.Random) -> str:
    """Statements over inputs a, b, c built from every row of the table, reusing earlier
    names so that nodes are shared (made in a loop: no recursion)."""
    names = ["a", "b", "c"]
    statements = []
    for k in range(rng.randint(1, 5)):
        expression = rng.choice(names)
        for _ in range(rng.randint(1, 4)):
            if rng.random() < 0.4:
                function = rng.choice(UNARY)
                expression = f"-({expression})" if function == "-" else f"{function}({expression})"
                continue
            if rng.random() < 0.15:  # a function of two arguments: max, atan2, log(x, base), ...
                expression = f"{rng.choice(BINARY_FUNCTIONS)}({expression}, {rng.choice(names)})"
                continue
            op = rng.choice(BINARY)
            other = rng.choice(names) if rng.random() < 0.75 else f"{rng.choice([0.5, 2, 3, 1.5, -1.25])}"
            if op == "**" and rng.random() < 0.7:
                other = rng.choice(["2", "3", "0.5", "-1"])
            expression = f"({expression}) {op} {other}" if rng.random() < 0.5 else f"{other} {op} ({expression})"
        statements.append(f"t{k} = {expression}")
        names.append(f"t{k}")
    return "; ".join(statements)


def python_numbers(program, values: dict) -> tuple[list[float], list[float]] | None:
    try:
        program.run(values)
    except DomainError:
        return None
    return [n.data for n in program.nodes], [n.grad for n in program.nodes]


def random_inputs(rng: random.Random) -> dict:
    return {name: rng.choice([rng.uniform(-3, 3), rng.uniform(0.1, 2)]) for name in "abc"}


def cases(count: int = 200, seed: int = 20240611):
    rng = random.Random(seed)
    made = 0
    while made < count:
        program = parse(generated_program(rng))
        first, second = random_inputs(rng), random_inputs(rng)
        for name in list(first):
            if name not in program.inputs:
                first.pop(name), second.pop(name)
        if python_numbers(program, first) is None:
            continue
        made += 1
        yield program, first, second


def assert_same(got: tuple[list, list], want: tuple[list, list], where: str) -> None:
    for kind, js, py in (("data", got[0], want[0]), ("grad", got[1], want[1])):
        bad = [(i, j, p) for i, (j, p) in enumerate(zip(js, py)) if not close(j, p)]
        assert not bad, f"{where}: {kind} differs at nodes {bad[:3]}"


def test_the_pages_numbers_are_pythons_for_generated_programs(browser):
    """200 seeded programs over every row of the table, each at the inputs it was written
    with and at new inputs set through the page's number fields. One page per program, one
    browser for all (without the picture: this is about the numbers)."""
    tab = Opened(browser)
    checked = 0
    for program, first, second in cases():
        where = f"{program.source} at {first} then {second}"
        tab.tab.set_content(pages.build_page(program, first, picture=False).html)
        assert_same(tab.numbers(), python_numbers(program, first), where)
        got = tab.tab.evaluate("""values => {
            for (const [name, value] of Object.entries(values)) {
                const field = document.querySelector(`input[type=number][aria-label="${name}"]`);
                field.value = String(value);
                field.dispatchEvent(new Event('input'));
            }
            return [scalargrad.values(), scalargrad.grads(), !document.getElementById('sg-error').hidden];
        }""", second)
        want = python_numbers(program, second)
        if want is None:
            assert got[2], f"{where}: Python fails there, the page should say so"
        else:
            assert not got[2], where
            assert_same((got[0], got[1]), want, where)
        checked += 1
    assert tab.errors == [], tab.errors
    tab.close()
    assert checked == 200


# -- hostile text ----------------------------------------------------------------------------
def test_script_in_a_comment_stays_inert(opened, tmp_path):
    source = "# </script><script>window.pwned = 1</script><img src=x onerror=\"window.pwned = 2\">\nL = a * b  # &lt; <!--"
    path = tmp_path / "hostile.html"
    pages.write_page(parse(source), path, {"a": 2.0, "b": 3.0})
    text = path.read_text(encoding="utf-8")
    assert "<script>window.pwned" not in text and "<img" not in text
    tab = opened(path)
    assert tab.tab.evaluate("window.pwned") is None
    # the data block, the training worker's text (not run in the page) and the page's script
    assert tab.tab.evaluate("Array.from(document.scripts).map(s => s.type)") == ["application/json", "text/plain", ""]
    assert tab.tab.inner_text("#sg-source") == source
    assert tab.numbers()[0] == [2.0, 3.0, 6.0]


def test_the_json_block_escapes_what_could_end_it():
    text = pages.json_for_html({"source": "</script><!-- & -->"})
    assert text == '{"source":"\\u003c/script\\u003e\\u003c!-- \\u0026 --\\u003e"}'
    assert json.loads(text) == {"source": "</script><!-- & -->"}


# -- the command -----------------------------------------------------------------------------
def test_the_command_writes_the_page_atomically_and_refuses_no_grad(tmp_path, cli):
    path = tmp_path / "graph.html"
    path.write_text("old")
    bad = cli("dot", "y = log(x)", "--x", "-1", "-o", str(path))
    assert bad.exit_code != 0 and path.read_text() == "old"  # a failure leaves the file alone
    refused = cli("dot", LECTURE, *LECTURE_VALUES, "-o", str(path), "--no-grad")
    assert refused.exit_code == 2 and "always runs backward" in refused.stderr
    assert not list(tmp_path.glob(".graph.html.*"))


def test_a_big_graph_is_listed_in_a_table_with_a_warning(tmp_path, cli):
    path = tmp_path / "big.html"
    source = "; ".join(["s0 = a * b"] + [f"s{k} = s{k - 1} * 0.5 + a" for k in range(1, 40)])
    result = cli("dot", source, "--a", "1", "--b", "2", "-o", str(path), "--max-nodes", "20")
    assert result.exit_code == 0, result.stderr
    assert "more than the limit of 20 for a picture" in result.stderr and "listed in a table" in result.stderr
    assert "<svg" not in path.read_text(encoding="utf-8")


def test_the_sessions_steps_are_charted(opened, tmp_path, cli):
    assert cli("grad", LECTURE, *LECTURE_VALUES).exit_code == 0
    for _ in range(3):
        assert cli("step", "--lr", "0.01").exit_code == 0
    path = tmp_path / "steps.html"
    assert cli("dot", "-o", str(path)).exit_code == 0
    tab = opened(path)
    assert tab.tab.is_visible("#sg-chart svg polyline")
    points = tab.tab.get_attribute("#sg-chart polyline", "points").split()
    assert len(points) == 4  # the start and three steps


def test_two_thousand_nodes_open_and_follow_a_slider(opened, tmp_path, cli):
    """The size the page is built for without a picture; its timing is measured by hand
    (docs/page.md), not asserted here."""
    path = tmp_path / "big.html"
    source = "; ".join(["s0 = a * b"] + [f"s{k} = tanh(s{k - 1}) * a + b * 0.5" for k in range(1, 420)])
    assert cli("dot", source, "--a", "0.5", "--b", "0.2", "-o", str(path)).exit_code == 0
    tab = opened(path)
    nodes = tab.tab.evaluate("scalargrad.nodes.length")
    assert nodes >= 2000
    tab.set_input("a", 0.7)
    program = parse(source)
    assert_same(tab.numbers(), python_numbers(program, {"a": 0.7, "b": 0.2}), "2,000 nodes")
    assert tab.tab.evaluate("document.querySelectorAll('#sg-table tbody tr').length") == nodes


def test_the_chart_counts_steps_not_runs_and_keeps_its_labels_inside(opened, tmp_path, cli):
    assert cli("grad", LECTURE, *LECTURE_VALUES).exit_code == 0
    assert cli("step", "--lr", "0.01", "--steps", "30").exit_code == 0
    assert cli("step", "--lr", "0.01", "--steps", "10").exit_code == 0
    path = tmp_path / "runs.html"
    assert cli("dot", "-o", str(path)).exit_code == 0
    tab = opened(path)
    labels = tab.tab.eval_on_selector_all("#sg-chart text", "nodes => nodes.map(n => n.textContent)")
    assert "step 0" in labels and "step 40" in labels  # 30 + 10 steps, in two runs
    assert "-8.0000" in labels  # the whole label: nothing cut at the left edge
    left = tab.tab.eval_on_selector_all("#sg-chart text", "nodes => nodes.map(n => n.getBBox().x)")
    assert min(left) >= 0


# -- check's verdicts ------------------------------------------------------------------------
def marks(tab) -> dict[str, str]:
    """The word on each node's check mark, by node id (`n0`)."""
    return dict(tab.tab.evaluate("""() => Array.from(document.querySelectorAll('#sg-marks g[data-node]'))
        .map(g => ['n' + g.dataset.node, g.textContent])"""))


def check_column(tab) -> dict[str, str]:
    """The table's check column, by node label, where it says something."""
    rows = tab.tab.evaluate("""() => Array.from(document.querySelectorAll('#sg-table tbody tr'))
        .map(r => [r.cells[1].textContent, r.cells.length > 5 ? r.cells[5].textContent : ''])""")
    return {label: word for label, word in rows if word}


def installed_page(tmp_path: Path, name: str, *commands: list[str]) -> Path:
    """Run each command as a user would (the installed scalargrad, this test's session), then
    write the session's page."""
    path = tmp_path / name
    for command in [*commands, ["dot", "-o", str(path)]]:
        result = run_installed(*command)
        assert result.exit_code == 0, (command, result.stderr)
    return path


LECTURE_MARKS = {"n0": "PASS", "n1": "PASS", "n3": "PASS", "n5": "PASS", "n6": "PASS"}  # a, b, c, f, L


def test_check_marks_the_lectures_nodes_and_a_slider_makes_them_stale(opened, tmp_path):
    path = installed_page(tmp_path, "checked.html", ["grad", LECTURE, *LECTURE_VALUES], ["check"])
    tab = opened(path)
    assert marks(tab) == LECTURE_MARKS
    assert tab.tab.evaluate("document.querySelectorAll('#sg-graph g.node.sg-check-pass').length") == 5
    assert check_column(tab) == {"a": "PASS", "b": "PASS", "c": "PASS", "f": "PASS", "L": "PASS"}
    legend = tab.tab.inner_text("#sg-check")
    assert legend.startswith("scalargrad check ran at these values (a = 2, b = -3, c = 10, f = -2): "
                             "5 checked, 5 PASS, 0 FAIL, 0 KINK.")
    assert "Nodes without a mark were not checked (scalargrad check --all" in legend  # a*b and a*b + c
    tab.tab.hover("#n0")
    assert re.search(r"check: PASS\s+analytic 6\s+numeric 6\n", tab.tab.inner_text("#sg-panel") + "\n")

    slider = 'input[type=range][aria-label="a slider"]'
    tab.tab.focus(slider)
    tab.tab.keyboard.press("ArrowRight")  # a moves one notch: 2.02
    assert tab.numbers()[0][0] == 2.02
    assert marks(tab) == {node: "was PASS" for node in LECTURE_MARKS}
    assert tab.tab.evaluate("document.querySelectorAll('#sg-marks .sg-stale, #sg-graph g.sg-check-stale').length") == 10
    assert tab.tab.inner_text("#sg-check").startswith("Stale: scalargrad check ran at a = 2 (now 2.02). Its verdicts "
                                                      "(grey, marked \u201cwas\u201d) held there, not at these values")
    assert check_column(tab)["a"] == "was PASS"
    tab.tab.hover("#sg-marks g[data-node='0']")  # the mark belongs to its node
    panel = tab.tab.inner_text("#sg-panel")
    assert panel.startswith("[0] a") and "check at a = 2, not here: was PASS" in panel
    shot = tmp_path / "checked-page.png"
    tab.tab.screenshot(path=str(shot), full_page=True)
    print(f"screenshot: {shot}")

    tab.tab.focus(slider)
    tab.tab.keyboard.press("ArrowLeft")  # back at the check's values: its verdicts hold again
    assert tab.numbers()[0][0] == 2.0 and marks(tab) == LECTURE_MARKS
    assert tab.tab.inner_text("#sg-check").startswith("scalargrad check ran at these values")


def test_a_kink_is_marked_kink_with_its_reason(opened, tmp_path):
    path = installed_page(tmp_path, "kink.html", ["check", "L = relu(a) * b", "--a", "0", "--b", "3"])
    tab = opened(path)
    assert marks(tab) == {"n0": "KINK", "n2": "PASS", "n3": "PASS"}
    assert "3 checked, 2 PASS, 0 FAIL, 1 KINK" in tab.tab.inner_text("#sg-check")
    tab.tab.hover("#n0")
    panel = tab.tab.inner_text("#sg-panel")
    assert re.search(r"check: KINK\s+analytic 0\s+numeric 1.5", panel)
    assert "not differentiable here: relu has a kink at (0) in `relu(a)`" in panel
    shot = tmp_path / "kink-page.png"
    tab.tab.screenshot(path=str(shot), full_page=True)
    print(f"screenshot: {shot}")


def test_a_check_at_other_values_is_stale_from_the_start(opened, tmp_path):
    path = installed_page(tmp_path, "other.html", ["grad", LECTURE, *LECTURE_VALUES], ["check", "--a", "3"],
                          ["step", "--lr", "0.01"])
    tab = opened(path)  # the page starts at the session's values after the step: a = 2.06
    assert marks(tab) == {node: "was PASS" for node in LECTURE_MARKS}
    assert tab.tab.inner_text("#sg-check").startswith(
        "Stale: scalargrad check ran at a = 3 (now 2.06), b = -3 (now -3.04), c = 10 (now 9.98), f = -2 (now -1.96).")
    for name, value in {"a": 3, "b": -3, "c": 10, "f": -2}.items():
        tab.set_input(name, value)
    assert marks(tab) == LECTURE_MARKS  # at the check's values, its verdicts apply


def test_a_check_of_another_node_or_program_is_not_marked(opened, tmp_path):
    path = installed_page(tmp_path, "of.html", ["grad", STATEMENTS, *LECTURE_VALUES], ["check", "--of", "d"])
    tab = opened(path)
    assert marks(tab) == {} and check_column(tab) == {}
    assert tab.tab.inner_text("#sg-check") == ("scalargrad check ran on the gradients of d; this page shows those of "
                                               "L, so its verdicts are not marked (give dot the same --of).")
    of_d = tmp_path / "of-d.html"
    assert run_installed("dot", "--of", "d", "-o", str(of_d)).exit_code == 0
    assert marks(opened(of_d)) == {f"n{i}": "PASS" for i in range(7)}  # f and L too: d does not depend on them
    other = installed_page(tmp_path, "new.html", ["grad", LECTURE, *LECTURE_VALUES])  # a new session: no check
    tab = opened(other)
    assert marks(tab) == {} and tab.tab.is_hidden("#sg-check")


def test_a_check_on_data_is_marked_only_on_a_page_of_the_same_data(opened, tmp_path):
    data, other = tmp_path / "data.csv", tmp_path / "other.csv"
    data.write_text("x,y\n1,2\n2,3\n")
    other.write_text("x,y\n1,1\n")
    fit = "w = 0.5; L = mean((w * x - y) ** 2)"
    same = installed_page(tmp_path, "same.html", ["check", fit, "--bindings", str(data)])
    assert check_column(opened(same)) == {"w": "PASS", "L": "PASS"}
    # checked on other data: the page of the session (its data file) has no verdicts to show
    elsewhere = installed_page(tmp_path, "elsewhere.html", ["check", "--bindings", str(other)])
    tab = opened(elsewhere)
    assert check_column(tab) == {} and marks(tab) == {} and tab.tab.is_hidden("#sg-check")


def test_plain_pages_and_tables_show_the_verdicts_without_marks(opened, tmp_path):
    program = parse(LECTURE)
    record = check_gradients(program, LECTURE_INPUTS).record()
    hostile = '</script><img src=x onerror="window.pwned = 1"> & <!--'  # a hand-edited session's reason
    record["rows"][0]["reason"] = hostile
    plain, table = tmp_path / "plain.html", tmp_path / "table.html"
    pages.write_page(program, plain, LECTURE_INPUTS, check=record, plain=True)
    pages.write_page(program, table, LECTURE_INPUTS, check=record, picture=False)
    for path in (plain, table):
        tab = opened(path)
        assert marks(tab) == {}  # --plain: the lecture's picture, nothing added
        assert check_column(tab) == {"a": "PASS", "b": "PASS", "c": "PASS", "f": "PASS", "L": "PASS"}
        assert tab.tab.inner_text("#sg-check").startswith("scalargrad check ran at these values")
        tab.tab.evaluate("document.getElementById('sg-table-box').open = true")
        tab.tab.hover("#sg-table tr[data-node='0']")
        assert hostile in tab.tab.inner_text("#sg-panel") and tab.tab.evaluate("window.pwned") is None


def test_only_a_check_of_the_same_program_and_inputs_reaches_the_page():
    program = parse(LECTURE)
    record = check_gradients(program, LECTURE_INPUTS).record()
    kept = pages.page_data(program, program.output, check=record)["check"]
    assert kept["values"] == LECTURE_INPUTS and kept["of"] == 6
    assert kept["rows"][0][:2] == [0, "PASS"] and len(kept["rows"]) == 5
    for other in ({**record, "program": LECTURE + "  # changed"}, {**record, "values": {"a": 2.0}},
                  {**record, "of": 99}):
        assert pages.page_data(program, program.output, check=other)["check"] is None


def test_a_very_large_page_is_written_with_a_warning_that_says_how_to_draw_a_part(cli, tmp_path, monkeypatch):
    import scalargrad.commands.dot as dot_command

    monkeypatch.setattr(dot_command, "PAGE_LARGE", 300_000)
    small = cli("dot", LECTURE, *LECTURE_VALUES, "-o", str(tmp_path / "small.html"), "--no-session")
    assert small.exit_code == 0 and "warning" not in small.stderr
    path = tmp_path / "big.html"
    wide = "a = 2; b = 3\nL = " + " + ".join(f"a*b*{i}" for i in range(1500))  # 6,000 nodes: 0.4 MB
    result = cli("dot", wide, "-o", str(path), "--no-session")
    assert result.exit_code == 0 and path.stat().st_size > 350_000, result.stderr
    megabytes = f"{path.stat().st_size / 1e6:.1f}"
    assert result.stderr.splitlines()[-1] == (f"warning: the page is {megabytes} MB: a browser takes a while to open "
                                              "it; --focus NODE --depth N makes a page of the part of the graph around "
                                              "a node")
