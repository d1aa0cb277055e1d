"""The graph you can explore: one self-contained HTML page (`scalargrad dot -o graph.html`).

The page holds three things, and fetches nothing when it opens:

- the picture `draw_dot` draws, as inline SVG rendered through `scalargrad.renderers`
  (or, past `max_nodes` value nodes or without a renderer, a table of the nodes instead);
- the program as data: nodes, operands, labels, the chain rule's wording from
  `scalargrad.explain` and the order of `backward_steps`, in a `<script type="application/json">`
  block with `<`, `>` and `&` written as `\\u003c`, `\\u003e`, `\\u0026`;
- the derivative table as JavaScript, made here from the `js_forward`, `js_local` and `js_kink`
  columns of `scalargrad.ops`: the page's arithmetic is the table's, not a second copy;
- if `scalargrad check` has run on this program (the session's `check`), its verdict per node
  and the values it ran at: the page marks the nodes, and marks the verdicts stale while its
  inputs are not the check's values.

Its script and style (`scalargrad/web/page.js`, `page.css`, `page.html`) are files of the
package, inlined when the page is written. The script re-runs forward and backward when an
input changes, shows a node's chain rule as `explain` words it, and steps through the
backward pass. User text reaches the page only as JSON (set with textContent) or as text
Graphviz escaped inside the SVG; nothing the user wrote is ever evaluated.

    >>> from scalargrad import parse
    >>> from scalargrad.page import build_page
    >>> page = build_page(parse("L = (a*b + c) * f"), {"a": 2, "b": -3, "c": 10, "f": -2}, picture=False)
    >>> page.html.startswith("<!DOCTYPE html>"), page.nodes, page.pictured
    (True, 7, 0)
"""

from __future__ import annotations

import html
import json
import re
from array import array
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path
from typing import Mapping, Sequence

from scalargrad import budget
from scalargrad.engine import Value, neighbours
from scalargrad.errors import BudgetError, NoRendererError, RenderError, UsageError
from scalargrad.explain import OPERAND_NAMES, backward_steps, d, equation, explain, grad_of, is_number, local_formula, \
    term_note
from scalargrad.ops import OPS
from scalargrad.program import Program
from scalargrad.dot import DEFAULT_DEPTH, DEFAULT_MAX_NODES
from scalargrad.renderers import Lookup, Renderer, render

DECIMALS = 4
DETAIL_NODES = 5000  # up to this many nodes the page carries the chain rule's words and the backward steps of each
BYTES_PER_NODE = 700  # about what a node takes in a page: its data, the chain rule's words, its backward steps
TYPED_BYTES_PER_NODE = 40  # past DETAIL_NODES: its typed arrays in base64 (about 31) and its share of the labels
PAGE_BYTES_PER_NODE = 100  # the biggest page, in bytes per node of the size budget: 200 MB by default
_UNSAFE_JSON = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026"}
_SVG_FORBIDDEN = {"script", "foreignObject", "iframe", "object", "embed"}


@dataclass
class Page:
    """A written (or built) page: its HTML and what it shows."""

    html: str
    nodes: int  # value nodes of the program
    pictured: int  # value nodes drawn in the SVG picture; 0 when the page has a table only
    renderer: Renderer | None = None  # what rendered the picture
    warnings: list[str] = field(default_factory=list)  # for `warning:` lines


def build_page(program: Program, values: Mapping[str, float] | None = None, *, of: Value | None = None,
               history: Sequence[Mapping] = (), check: Mapping | None = None, picture: bool = True,
               plain: bool = False, cluster: bool = False, focus: Value | None = None, depth: int = DEFAULT_DEPTH,
               max_nodes: int = DEFAULT_MAX_NODES, lookup: Lookup | None = None, seed: int | None = 0) -> Page:
    """The page of `program` at `values` (default: the inputs' current values).

    `of` is the node differentiated (default: the output); `history` the session's step
    entries, charted when there are any; `check` a check's verdicts as the session keeps them
    (`CheckReport.record()`), marked on the nodes when they are of this program (ignored when
    not); `plain`, `cluster`, `focus` and `depth` are `draw_dot`'s; `seed` the seed the
    parameters' starting values were drawn with (`--seed`; kept only if they are its draws).
    A picture of more than `max_nodes` value nodes is not laid out (Graphviz takes minutes
    there): the page lists the nodes in a table and a warning says so.
    """
    afford(program)
    if values is None:
        values = {name: node.data for name, node in program.inputs.items()}
    program.run(values, of=of)
    of = of or program.output
    warnings: list[str] = []
    svg, renderer, pictured = "", None, 0
    if picture:
        svg, renderer, pictured = _picture(program, of, warnings, lookup, plain=plain, cluster=cluster,
                                           focus=focus, depth=depth, max_nodes=max_nodes)
        program.run(values, of=of)  # drawing reads the gradients; leave them as the page starts
    data = page_data(program, of, history=history, check=check, decorate=not plain, seed=seed)
    return Page(_fill(program, data, svg), len(program.nodes), pictured, renderer, warnings)


def afford(program: Program) -> None:
    """Refuse, before any of it is made, a page bigger than the size budget allows (every
    node is in the page, whatever its picture shows): PAGE_BYTES_PER_NODE per node of budget."""
    per_node = BYTES_PER_NODE if len(program.nodes) <= DETAIL_NODES else TYPED_BYTES_PER_NODE
    estimate = len(program.nodes) * per_node + len(program.source)
    allowed = budget.nodes() * PAGE_BYTES_PER_NODE
    if estimate > allowed:
        needed = -(-estimate // PAGE_BYTES_PER_NODE)
        raise BudgetError(f"the page of {len(program.nodes):,} nodes would be about {_megabytes(estimate)}; the "
                          f"budget allows {_megabytes(allowed)} ({PAGE_BYTES_PER_NODE} bytes per node of "
                          f"{budget.OPTION} {budget.nodes():,})",
                          hint=f"a page holds every node of the program: draw a smaller one, or raise the budget with "
                               f"{budget.OPTION} {needed} (or {budget.ENV_VAR}={needed})")


def _megabytes(size: int) -> str:
    return f"{size / 1e6:,.0f} MB" if size >= 1e7 else f"{size / 1e6:.1f} MB"


def inline_page(program: Program, height: int = 720) -> str | None:
    """The page of `program` at its inputs' current values, in an iframe of its own (`srcdoc`,
    which JupyterLab and the classic Notebook both show, scripts and worker included): what
    `Program._repr_html_` shows. None when the page cannot be made (Jupyter then shows the repr)."""
    from scalargrad.errors import ScalarGradError

    try:
        page = build_page(program)
    except ScalarGradError:
        return None
    return (f'<iframe srcdoc="{html.escape(page.html, quote=True)}" title="scalargrad: {html.escape(repr(program))}" '
            f'style="width: 100%; height: {height}px; border: 0"></iframe>')


def write_page(program: Program, path: str | Path, values: Mapping[str, float] | None = None, **options) -> Page:
    """Build the page (`build_page`'s options) and write it to `path` atomically."""
    from scalargrad.files import check_writable, write_atomically

    check_writable(path)
    page = build_page(program, values, **options)
    write_atomically(path, lambda stream: stream.write(page.html.encode("utf-8")), "the page")
    return page


# -- the picture --------------------------------------------------------------------------
def _picture(program: Program, of: Value, warnings: list[str], lookup: Lookup | None, *, focus: Value | None,
             depth: int, max_nodes: int, **options) -> tuple[str, Renderer | None, int]:
    """The inline SVG, its renderer and how many value nodes it draws; ("", None, 0) when the
    graph is too big to lay out or nothing can render it (with a warning saying so)."""
    from scalargrad.dot import draw_dot

    drawn = len(neighbours(program.nodes, focus, depth)) if focus is not None else len(program.nodes)
    if drawn > max_nodes:
        warnings.append(f"the graph has {drawn:,} nodes, more than the limit of {max_nodes:,} for a picture: the page "
                        "lists them in a table instead (laying out thousands of nodes takes Graphviz minutes); "
                        "--max-nodes N draws them, --focus NAME --depth K draws a part")
        return "", None, 0
    graph = draw_dot(program, of=of, focus=focus, depth=depth, ids=True, **options)
    try:
        svg, renderer = render(graph.source, "svg", lookup)
    except NoRendererError as error:
        warnings.append(f"{error.message}: the page lists the nodes in a table, without the picture")
        return "", None, 0
    return inline_svg(svg), renderer, graph.value_nodes


def inline_svg(svg: bytes) -> str:
    """The renderer's SVG as an element to put inside HTML: the XML prolog and doctype
    dropped, and checked to hold no script, embedded document or event handler."""
    import xml.etree.ElementTree as ET

    text = svg.decode("utf-8")
    start = text.find("<svg")
    if start < 0:
        raise RenderError("the renderer wrote no SVG element", hint="try another renderer with SCALARGRAD_DOT")
    text = text[start:]
    for element in ET.fromstring(text).iter():
        tag = element.tag.rpartition("}")[2]
        odd = [name for name in element.attrib if name.rpartition("}")[2].lower().startswith("on")
               or name.endswith("href")]
        if tag in _SVG_FORBIDDEN or odd:
            raise RenderError(f"the renderer's SVG holds `{tag}` {' '.join(odd)}, which the page does not embed",
                              hint="try another renderer with SCALARGRAD_DOT")
    return text


# -- the data -----------------------------------------------------------------------------
def page_data(program: Program, of: Value, *, history: Sequence[Mapping] = (), check: Mapping | None = None,
              decorate: bool = True, seed: int | None = None) -> dict:
    """Everything the page's script needs, as JSON values: the graph as typed arrays
    (`graph_data`), the inputs, the arrays, training's settings, and the check's verdicts; up
    to DETAIL_NODES nodes also the chain rule's wording of each node and the backward steps."""
    from scalargrad import dot

    common = {
        "source": program.source,
        "decimals": DECIMALS,
        "of": program.node_id(of),
        "of_label": program.label(of),
        "output": program.node_id(program.output),
        "decorate": decorate,
        "colours": {"positive": dot.POSITIVE, "negative": dot.NEGATIVE, "zero": dot.ZERO,
                    "strong": dot.STRONG, "medium": dot.MEDIUM},
        "graph": graph_data(program),
        "inputs": [{"name": name, "id": program.node_id(node), "value": node.data}
                   for name, node in program.inputs.items()],
        "arrays": arrays_data(program),
        "named": [program.node_id(node) for name, node in program.names.items()
                  if "[" not in name and node._prev],
        "training": training_data(program, seed),
        "fit": fit_data(program),
        "history": _runs(history),
        "check": _verdicts(program, check),
    }
    if len(program.nodes) > DETAIL_NODES:
        return {**common, "nodes": None, "steps": None}
    items = explain(program, of)
    nodes = [_node_data(program, node, item, of) for node, item in zip(program.nodes, items)]
    for item in items:
        for term in item.terms:
            node = nodes[term.consumer_id]
            node["locals"][OPERAND_NAMES.index(term.operand)] = \
                f"{d(term.consumer_label)}/{d(item.label)} = {local_formula(term)}"
    steps = [[step.kind, step.node_id, step.target_id,
              OPERAND_NAMES.index(step.term.operand) if step.term is not None else None]
             for step in backward_steps(program, of)]
    return {**common, "nodes": nodes, "steps": steps}


def _base64(values: "array") -> str:
    import base64
    import sys

    if sys.byteorder != "little":  # typed arrays in every browser read little-endian bytes
        values = array(values.typecode, values)
        values.byteswap()
    return base64.b64encode(values.tobytes()).decode("ascii")


def graph_data(program: Program) -> dict:
    """The graph as typed arrays, base64 (little-endian): per node its op (an index into
    `ops`), its operands (`a`, `b`: node ids, -1 for none), its kind (0 op, 1 input, 2 a
    number), its value (float64) and its label (an index into `labels`, each label once)."""
    from scalargrad.engine import CONST, LEAF

    nodes = program.nodes
    ops = list(OPS)
    code = {name: i for i, name in enumerate(ops)}
    ids = {id(node): i for i, node in enumerate(nodes)}
    op, first, second = array("B"), array("i"), array("i")
    kind, value, label = array("B"), array("d"), array("i")
    labels: list[str] = []
    known: dict[object, int] = {}  # a label's text (or an unnamed node's span) -> its index in labels
    names = program.names
    for i, node in enumerate(nodes):
        prev = node._prev
        op.append(code[node._op] if prev else 0)
        first.append(ids[id(prev[0])] if prev else -1)
        second.append(ids[id(prev[1])] if len(prev) == 2 else -1)
        kind.append(2 if node._op == CONST else 1 if node._op == LEAF else 0)
        value.append(node.data)
        key = node.label if node.label and names.get(node.label) is node else program.spans[i]
        index = known.get(key)
        if index is None:
            text = key if isinstance(key, str) else program.text(node)
            index = known[key] = known.setdefault(text, len(labels))
            if index == len(labels):
                labels.append(text)
        label.append(index)
    return {"count": len(nodes), "ops": ops, "op": _base64(op), "a": _base64(first), "b": _base64(second),
            "kind": _base64(kind), "value": _base64(value), "label": _base64(label), "labels": labels}


def arrays_data(program: Program) -> list[dict]:
    """Each array of the program: its name, shape, element ids, and its role: `input` (an
    array of parameters), `data` (a column of the data file) or `value` (computed)."""
    result = []
    for name, (shape, labels) in program.arrays.items():
        ids = [program.node_id(program.names[label]) for label in labels]
        role = "data" if name in program.data else "input" if labels and labels[0] in program.inputs else "value"
        result.append({"name": name, "shape": list(shape), "ids": ids, "role": role})
    return result


def drawn(initialisers: Sequence, seed: int) -> dict[str, float]:
    """The starting values the initialisers draw with `seed`, as the parser draws them."""
    import random

    made, values = random.Random(seed), {}
    for kind, low, high, names in initialisers:
        for name in names:
            values[name] = made.uniform(low, high) if kind == "uniform" else made.gauss(low, high) \
                if kind == "normal" else 0.0
    return values


def training_data(program: Program, seed: int | None) -> dict | None:
    """What the training panel needs: the optimisers with their settings' defaults
    (scalargrad.optimizers' table), the CLI's default learning rate, the language's functions
    and constants (for a rate that is an expression of k), the initialisers, and the seed the
    starting values were drawn with: None when the parameters are not at its draws (values
    from a session or a file). None without inputs. The panel moves every input, as `step`."""
    from scalargrad.ops import CONSTANTS
    from scalargrad.optimizers import ROWS
    from scalargrad.step import DEFAULT_LR

    if not program.inputs:
        return None
    functions: dict[str, dict[int, str]] = {}
    for op in OPS.values():
        if op.is_function:
            functions.setdefault(op.spelling or op.name, {})[op.arity] = op.name
    if seed is not None and program.initialisers:
        current = {name: program.inputs[name].data for *_, names in program.initialisers for name in names}
        if drawn(program.initialisers, seed) != current:
            seed = None
    return {"lr": f"{DEFAULT_LR:g}", "seed": seed if program.initialisers else None,
            "initialisers": [list(entry[:3]) + [list(entry[3])] for entry in program.initialisers],
            "functions": functions, "constants": dict(CONSTANTS),
            "optimizers": {name: {setting.name: setting.default for setting in row.settings}
                           for name, row in ROWS.items()}}


def fit_data(program: Program) -> dict | None:
    """For a program that reads data columns and computes, per row, a named vector from one or
    two of them (the moons' `score` from x1 and x2): that vector, the columns it reads, the
    column it does not (the labels, for the points' colours), and the nodes of its first
    element, in order, which the page re-evaluates over a grid (the decision boundary) or a
    line (the fitted curve). None otherwise."""
    if not program.data:
        return None
    rows = len(program.arrays[program.data[0]][1])
    first = {program.node_id(program.names[program.arrays[name][1][0]]): name for name in program.data}
    found = []
    for name, (shape, labels) in program.arrays.items():
        if name in program.data or tuple(shape) != (rows,) or labels[0] in program.inputs:
            continue
        out = program.names[labels[0]]
        upstream = program.upstream(out)
        ids = [i for i, node in enumerate(program.nodes[: program.node_id(out) + 1]) if id(node) in upstream]
        read = [first[i] for i in ids if i in first]
        if 1 <= len(read) <= 2:
            rest = [column for column in program.data if column not in read]
            found.append({"name": name, "ids": [program.node_id(program.names[label]) for label in labels],
                          "columns": read, "target": rest[0] if rest else None, "sub": ids,
                          "data": {column: [program.node_id(program.names[label])
                                            for label in program.arrays[column][1]] for column in program.data}})
    # a model's output leaves a column to compare with (`f` of x against y), a residual `f - y` does not
    return next((fit for fit in found if fit["target"]), found[0] if found else None)


def _verdicts(program: Program, check: Mapping | None) -> dict | None:
    """The check's verdicts for the page: {values, of, summary, rows: [[id, status, analytic,
    numeric, reason]]}; None when there is none, or when it is not of this program (another
    text, or other inputs; `page_for` drops one made on other data).
    Whether its values are the page's current ones, the page decides as its inputs change."""
    if (check is None or check["program"] != program.source or set(check["values"]) != set(program.inputs)
            or check["of"] >= len(program.nodes)):
        return None
    rows = [[row["id"], row["status"], row["analytic"], row["numeric"], row.get("reason", "")]
            for row in check["rows"] if row["id"] < len(program.nodes)]
    return {"values": dict(check["values"]), "of": check["of"], "summary": check.get("summary", ""), "rows": rows}


def _runs(history: Sequence[Mapping]) -> list[list[float]]:
    """Each run of step as [steps before it, steps after it, output before, output after]: the
    chart's x axis counts steps (a run of `--steps 30` spans 30), not runs."""
    runs, done = [], 0
    for entry in history:
        if {"before", "after"} <= set(entry):
            steps = int(entry.get("steps", 1))
            runs.append([done, done + steps, entry["before"], entry["after"]])
            done += steps
    return runs


def _node_data(program: Program, node: Value, item, of: Value) -> dict:
    """One node: what it is, how it is called, and the chain rule's wording around its numbers."""
    label = program.label(node)
    symbol = OPS[node._op].symbol if node._op in OPS else ""
    data = {
        "label": label, "text": program.text(node), "kind": item.kind, "op": node._op if node._prev else "",
        "symbol": symbol, "prev": [program.node_id(p) for p in node._prev], "data": node.data,
        "d": d(label), "grad_of": grad_of(label), "status": item.status, "locals": [None] * len(node._prev),
    }
    if item.status != "chain":
        data["line"] = equation(program.label(of), item, DECIMALS)  # no number that changes
        return data
    top = d(program.label(of))
    data["symbolic"] = " + ".join(f"{top}/{d(t.consumer_label)} * {d(t.consumer_label)}/{d(label)}"
                                  for t in item.terms)
    data["terms"] = [[t.consumer_id, OPERAND_NAMES.index(t.operand),
                      None if is_number(t.formula_named) else t.formula_named,
                      term_note(item, replace(t, kink=False), DECIMALS)] for t in item.terms]
    return data


# -- the page -----------------------------------------------------------------------------
def ops_script() -> str:
    """The derivative table as JavaScript, from the JS columns of every row of `ops.py`."""
    rows = []
    for op in OPS.values():
        if not op.js_forward or len(op.js_local) != op.arity or bool(op.js_kink) != (op.kink is not None):
            raise UsageError(f"the op `{op.name}` has no JavaScript column in the derivative table",
                             hint="give its row js_forward and js_local (and js_kink where it has a kink) in ops.py")
        params = "x, y" if op.arity == 2 else "x"
        kink = f"function ({params}) {{ return {op.js_kink}; }}" if op.js_kink else "null"
        rows.append(f"  {json.dumps(op.name)}: {{\n    symbol: {json.dumps(op.symbol)}, arity: {op.arity},\n"
                    f"    forward: function ({params}) {{ return {op.js_forward}; }},\n"
                    f"    local: function (ans, {params}) {{ return [{', '.join(op.js_local)}]; }},\n"
                    f"    kink: {kink}\n  }}")
    code = "// The derivative table of scalargrad/ops.py: each row's js_forward, js_local and js_kink.\n" \
           "var OPS = {\n" + ",\n".join(rows) + "\n};\n"
    if "</" in code:
        raise UsageError("a JavaScript column of ops.py holds `</`, which would end the page's script")
    return code


def json_for_html(data: dict) -> str:
    """`data` as JSON that cannot end its `<script>` block nor open a tag: `<`, `>` and `&`
    written as JSON escapes (JSON.parse reads them back as the same characters)."""
    text = json.dumps(data, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    return re.sub(r"[<>&]", lambda m: _UNSAFE_JSON[m.group(0)], text)


def web_file(name: str) -> str:
    """A file of the package's `web/` folder (the page's template, script and style)."""
    return (resources.files("scalargrad") / "web" / name).read_text(encoding="utf-8")


def _fill(program: Program, data: dict, svg: str) -> str:
    from scalargrad.session import one_line

    scripts = {key: web_file(name) for key, name in (("JS", "page.js"), ("ENGINE", "engine.js"),
                                                       ("WORKER", "worker.js"))}
    for key, script in scripts.items():
        if "</script" in script.lower():
            raise UsageError(f"a script of scalargrad/web/ holds `</script`, which would end the page's script")
    parts = {
        "TITLE": html.escape(f"scalargrad: {one_line(program.source, 80)}"),
        "CSS": web_file("page.css"),
        "DATA": json_for_html(data),
        "OPS": ops_script(),
        **scripts,
        "SVG": svg,
    }
    # one pass: text put in a placeholder (a label, the SVG) is never searched for another
    return re.sub(r"\{\{([A-Z]+)\}\}", lambda m: parts[m.group(1)], web_file("page.html"))


def page_for(loaded, output: str | None, *, of: str | None = None, focus: str | None = None,
             depth: int | None = None, **options) -> Page:
    """What `scalargrad dot -o graph.html` does with a loaded program (`inputs.Loaded`):
    nodes named as on the command line, the session's steps charted and its check marked, the
    page written to `output` (`-` or None: standard output)."""
    import sys

    program = loaded.program
    saved = loaded.session.session
    ours = saved is not None and saved.program == program.source
    # verdicts on data columns hold for that data: the file read now must be the one checked
    checked = saved.check if ours and (saved.check or {}).get("data") == (loaded.data and loaded.data.digest) else None
    settings = dict(values=loaded.values, of=program.node(of) if of else None,
                    focus=program.node(focus) if focus else None, depth=DEFAULT_DEPTH if depth is None else depth,
                    history=saved.history if ours else (), check=checked, **options)
    if output is None or output == "-":
        page = build_page(program, **settings)
        sys.stdout.write(page.html)
        return page
    return write_page(program, output, **settings)
