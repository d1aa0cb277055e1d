"""Drawing the graph: the lecture's `draw_dot`, rendered on any machine after `pip install`.

`draw_dot(program_or_value)` builds a `graphviz.Digraph` as the lecture does: left to
right, one record `{ label | data %.4f | grad %.4f }` per value, a small node per
operation joined to its result, one edge per operand (`a + a` has two). Node ids are
topological indexes, so the same program gives byte-identical DOT every run.

Rendering (DOT -> SVG, PNG, PDF) is `scalargrad.renderers`' business.

The `graphviz` package is imported only when a graph is drawn.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Callable

from scalargrad.engine import Value, neighbours, topological_order
from scalargrad.errors import ScalarGradError, UsageError, printable
from scalargrad.ops import CONST, LEAF, OPS
from scalargrad.render import fixed
from scalargrad.renderers import render

if TYPE_CHECKING:
    import graphviz

    from scalargrad.program import Program

DEFAULT_MAX_NODES = 500  # past this a picture is unreadable; --focus draws a part
DEFAULT_DEPTH = 2
# Past this many value nodes, Graphviz's layout search (network simplex, spline routing)
# grows steeply: 161 nodes took 22 s and 311 nodes over 300 s with graphviz-pure. A bounded
# search and straight edges keep them to seconds (3 s and 18 s for 521 nodes).
LARGE_LAYOUT = 50
FAST_LAYOUT = {"nslimit": "1", "nslimit1": "1", "splines": "line"}

# Fill colours by the sign of the gradient (ColorBrewer RdBu, light to strong), so the
# picture reads at a glance: blue pushes the output up, red pushes it down.
POSITIVE = ("#d1e5f0", "#92c5de", "#4393c3")
NEGATIVE = ("#fddbc7", "#f4a582", "#d6604d")
ZERO = "#ffffff"
STRONG, MEDIUM = 0.5, 0.1  # |grad| relative to the largest |grad| drawn


# -- what is drawn ------------------------------------------------------------------------
@dataclass
class _View:
    """The nodes to draw and how to name them, from a Program or a hand-built Value."""

    nodes: list[Value]  # topological order; a node's id is its index here
    index: dict[int, int]  # id(node) -> index
    label: Callable[[Value], str]
    output: Value
    program: Program | None

    def id(self, node: Value) -> int:
        return self.index[id(node)]


def _view(root) -> _View:
    from scalargrad.program import Program

    if isinstance(root, Program):
        nodes = root.nodes
        return _View(nodes, {id(v): i for i, v in enumerate(nodes)}, root.label, root.output, root)
    if isinstance(root, Value):
        nodes = topological_order(root)
        return _View(nodes, {id(v): i for i, v in enumerate(nodes)}, _value_label, root, None)
    raise TypeError(f"draw_dot draws a Value or a Program, not {type(root).__name__}")


def _value_label(node: Value) -> str:
    if node.label:
        return node.label
    return f"{node.data:g}" if node._op == CONST else ""


def _statements(view: _View, drawn: set[int]) -> list[tuple[str, list[int]]]:
    """Each statement's title and the drawn nodes it computed (inputs stay outside)."""
    program = view.program
    roots = [node for name, node in program.names.items() if name not in program.inputs]
    if all(root is not program.output for root in roots) and program.output._op not in (LEAF, CONST):
        roots.append(program.output)
    groups = []
    last = -1
    for root in roots:
        end = view.id(root)
        if end <= last:
            continue
        members = [i for i in range(last + 1, end + 1) if i in drawn and view.nodes[i]._op != LEAF]
        last = end
        if not members:
            continue
        if root._op == "=" or not program.is_named(root):
            title = program.text(root)  # `e = a` already spans the whole statement
        else:
            title = f"{root.label} = {program.text(root)}"
        groups.append((title, members))
    return groups


def _arrays(view: _View, drawn: set[int]) -> list[tuple[str, list[int]]]:
    """Each array's title (`W1 (4, 3)`) and its drawn elements, each element in one box only."""
    from scalargrad.arrays import shape_text

    program, seen, groups = view.program, set(), []
    for name, (shape, elements) in getattr(program, "arrays", {}).items():
        members = []
        for element in elements:
            node = program.names.get(element)
            i = view.index.get(id(node)) if node is not None else None
            if i is not None and i in drawn and i not in seen:
                seen.add(i)
                members.append(i)
        if members:
            groups.append((f"{name} {shape_text(shape)}", members))
    return groups


# -- the DOT graph ---------------------------------------------------------------------------
_RECORD_SPECIAL = re.compile(r'([{}|<>"\\])')


def record_text(text: str) -> str:
    """User text made literal inside a record label: `{ } | < > "` and backslash escaped, and
    control characters shown escaped (`errors.printable`)."""
    return _RECORD_SPECIAL.sub(r"\\\1", printable(" ".join(text.split())))


def plain_text(text: str) -> str:
    """User text made literal inside an ordinary quoted label (cluster titles, stubs)."""
    return printable(" ".join(text.split())).replace("\\", "\\\\")


def fill_colour(grad: float, largest: float) -> str:
    if grad == 0 or largest == 0:
        return ZERO
    shades = POSITIVE if grad > 0 else NEGATIVE
    ratio = abs(grad) / largest
    return shades[2] if ratio >= STRONG else shades[1] if ratio >= MEDIUM else shades[0]


def draw_dot(
    root,
    *,
    grad: bool = True,
    of: Value | None = None,
    plain: bool = False,
    cluster: bool = False,
    focus: Value | None = None,
    depth: int = DEFAULT_DEPTH, max_nodes: int | None = None,
    ids: bool = False,  # name the SVG elements for scalargrad.page (see below)
) -> graphviz.Digraph:
    """The graph of `root` (a Value built by hand, or a parsed Program) as a `graphviz.Digraph`.

    Like the lecture's draw_dot: call `backward()` (or `program.run(...)`) first, then
    `draw_dot(L)` shows every node's data and grad. `grad=False` shows values only; `of`
    marks the node whose gradients these are (default: the output); `plain=True` is the
    lecture's picture exactly (no colours, marks or legend); `cluster=True` boxes each
    statement of a Program; `focus`/`depth` draw only the nodes near one node; a graph
    of more than `max_nodes` value nodes is refused with a UsageError. `ids=True` names the SVG
    elements for `scalargrad.page`: node `n4`, its op `n4_op`, operand p's edge into it `e4_p`.

    >>> from scalargrad import Value, draw_dot
    >>> a = Value(2.0, label="a"); b = Value(-3.0, label="b")
    >>> L = a * b; L.label = "L"; L.backward()
    >>> print(draw_dot(L, plain=True).source)  # doctest: +NORMALIZE_WHITESPACE
    digraph {
        graph [rankdir=LR]
        n0 [label="{ a | data 2.0000 | grad -3.0000 }" shape=record]
        n1 [label="{ b | data -3.0000 | grad 2.0000 }" shape=record]
        n2 [label="{ L | data -6.0000 | grad 1.0000 }" shape=record]
        n2_op [label="*"]
        n2_op -> n2
        n0 -> n2_op
        n1 -> n2_op
    }
    """
    view = _view(root)
    if cluster and view.program is None:
        raise UsageError("clusters group a program's statements; a hand-built Value has none",
                         hint="draw a parsed program (scalargrad.parse) to use cluster=True")
    if focus is not None and id(focus) not in view.index:
        raise UsageError("the focus node is not part of this graph")
    drawn = neighbours(view.nodes, focus, depth) if focus is not None else set(range(len(view.nodes)))
    if max_nodes is not None and len(drawn) > max_nodes:
        raise UsageError(
            f"the graph has {len(drawn):,} nodes, more than the limit of {max_nodes:,}",
            hint="draw part of it with --focus NAME --depth K, or raise the limit with --max-nodes N",
        )
    painter = _Painter(view, drawn, grad=grad, of=view.output if of is None else of, decorate=not plain, ids=ids)
    painter.clusters(_statements(view, drawn) if cluster else _arrays(view, drawn) if view.program else [])
    for i in painter.order:
        painter.operand_edges(i)
    if painter.decorate:
        _legend(painter.graph, painter.used, painter.largest, view.label(painter.of))
    painter.graph.value_nodes = len(painter.order)  # for the caller's size warnings
    return painter.graph


class _Painter:
    """Puts the nodes and edges of a view into a Digraph, noting which marks it used so the
    legend explains only those."""

    def __init__(self, view: _View, drawn: set[int], *, grad: bool, of: Value, decorate: bool, ids: bool = False):
        self.view, self.drawn, self.grad, self.of, self.decorate = view, drawn, grad, of, decorate
        self.ids = ids
        self.order = sorted(drawn)
        layout = {"rankdir": "LR"}
        if len(self.order) > LARGE_LAYOUT:
            layout.update(FAST_LAYOUT)
        self.graph = _drawing_class()(format="svg", graph_attr=layout)
        self.largest = max((abs(view.nodes[i].grad) for i in self.order if view.nodes[i]._op != CONST),
                           default=0.0)
        self.used: set[str] = set()

    def value_node(self, target, i: int) -> None:
        node = self.view.nodes[i]
        fields = [record_text(self.view.label(node)), f"data {fixed(node.data)}"]
        if node._op == CONST and self.decorate:
            fields.append("const")
        elif self.grad:
            fields.append(f"grad {fixed(node.grad)}")
        attrs = self.marks(node) if self.decorate else {"shape": "record"}
        target.node(f"n{i}", label="{ " + " | ".join(fields) + " }", **attrs, **self.named(f"n{i}"))
        if node._prev:
            symbol = OPS[node._op].symbol if node._op in OPS else node._op
            target.node(f"n{i}_op", label=symbol, **self.named(f"n{i}_op"))
            target.edge(f"n{i}_op", f"n{i}")

    def marks(self, node: Value) -> dict[str, str]:
        attrs = {"shape": "record"}
        if node._op == LEAF:
            attrs["shape"] = "Mrecord"
            self.used.add("input")
        if node._op == CONST:
            attrs.update(style="dashed", fontcolor="gray35")
            self.used.add("const")
        elif self.grad:
            attrs.update(style="filled", fillcolor=fill_colour(node.grad, self.largest))
            self.used.add("grad")
        if node is self.of:
            attrs["penwidth"] = "3"
            self.used.add("of")
        return attrs

    def named(self, name: str) -> dict[str, str]:
        """The `id` attribute that names an SVG element for the page, when asked for."""
        return {"id": name} if self.ids else {}

    def operand_edges(self, i: int) -> None:
        view = self.view
        for position, parent in enumerate(view.nodes[i]._prev):  # duplicates kept: `a + a` draws two edges
            j = view.id(parent)
            if j in self.drawn:
                self.graph.edge(f"n{j}", f"n{i}_op", **self.named(f"e{i}_{position}"))
            else:
                self.graph.node(f"n{j}_cut", label=plain_text(view.label(parent)) + " …", shape="plaintext",
                                fontcolor="gray35")
                self.graph.edge(f"n{j}_cut", f"n{i}_op", style="dashed", **self.named(f"e{i}_{position}"))
                self.used.add("cut")

    def clusters(self, groups: list[tuple[str, list[int]]]) -> None:
        """Each group's nodes in a box titled with the group's title (a statement's text, an
        array's name and shape); a node in none of them outside."""
        grouped = set()
        for k, (title, members) in enumerate(groups):
            with self.graph.subgraph(name=f"cluster_{k}") as box:
                box.attr(label=plain_text(title), style="rounded", color="gray60", labeljust="l")
                for i in members:
                    self.value_node(box, i)
            grouped.update(members)
        for i in self.order:
            if i not in grouped:
                self.value_node(self.graph, i)


def _legend(graph, used: set[str], largest: float, of_label: str) -> None:
    rows = []
    if "grad" in used:
        rows.append(f'<tr><td bgcolor="{POSITIVE[2]}">grad &gt; 0</td><td bgcolor="{NEGATIVE[2]}">grad &lt; 0</td>'
                    f'<td bgcolor="{ZERO}">grad = 0</td></tr>')
        rows.append(f'<tr><td colspan="3">paler: smaller |grad| (largest {fixed(largest)})</td></tr>')
    if "input" in used:
        rows.append('<tr><td colspan="3">rounded: input</td></tr>')
    if "of" in used:
        rows.append(f'<tr><td colspan="3">bold: {html.escape(printable(of_label))} (grad 1)</td></tr>')
    if "const" in used:
        rows.append('<tr><td colspan="3">dashed: constant</td></tr>')
    if "cut" in used:
        rows.append('<tr><td colspan="3">… : graph cut by --depth</td></tr>')
    if not rows:
        return
    table = '<table border="0" cellborder="1" cellspacing="0" cellpadding="4">' + "".join(rows) + "</table>"
    with graph.subgraph(name="legend") as legend:
        legend.attr(rank="sink")
        legend.node("legend", label=f"<{table}>", shape="plaintext")


@lru_cache(maxsize=1)
def _drawing_class():
    import graphviz

    class Drawing(graphviz.Digraph):
        """A graphviz.Digraph that Jupyter shows through scalargrad's renderer lookup,
        so no system Graphviz is needed."""

        def _repr_mimebundle_(self, include=None, exclude=None, **_):
            try:
                svg, _renderer = render(self.source, "svg")
            except ScalarGradError as error:
                return {"text/plain": error.format()}
            return {"image/svg+xml": svg.decode("utf-8")}

    return Drawing


def draw_program(program: Program, values, *, grad: bool = True, of: Value | None = None, fmt: str = "svg",
                 **options) -> graphviz.Digraph:
    """Run `program` at `values` (backward too, unless `grad` is False) and draw it; `options`
    are draw_dot's. A refusal for size says what helps for the format `fmt`."""
    if grad:
        program.run(values, of=of)
    else:
        program.evaluate(values)
    try:
        return draw_dot(program, grad=grad, of=of, **options)
    except UsageError as error:
        if fmt == "png" and "--max-nodes" in error.hint:
            error.hint += "; a PNG of thousands of nodes is huge: SVG (-o graph.svg) stays small and zooms"
        raise


def svg_or_none(value: Value) -> str | None:
    """The SVG picture of `value`'s graph when a renderer is present, else None (for Jupyter)."""
    try:
        graph = draw_dot(value, max_nodes=DEFAULT_MAX_NODES)
        svg, _renderer = render(graph.source, "svg")
    except ScalarGradError:
        return None
    return svg.decode("utf-8")
