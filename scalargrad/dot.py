"""Drawing the graph: the lecture's `draw_dot`, rendered on any machine after `pip install`.

`draw_dot(program_or_value)` builds a `graphviz.Digraph` as the lecture does: left to
right, one record `{ label | data %.4f | grad %.4f }` per value, a small node per
operation joined to its result, one edge per operand (`a + a` has two). Node ids are
topological indexes, so the same program gives byte-identical DOT every run.

Rendering (DOT -> SVG, PNG, PDF) needs a Graphviz `dot` program. The lookup order is
`SCALARGRAD_DOT=/path/to/dot`, then the `graphviz-pure` renderer installed with
scalargrad (found through its distribution's files, not PATH, so pipx and non-activated
virtualenvs work), then a system `dot` on PATH. `SCALARGRAD_DOT=none` turns rendering
off. When nothing can render, `save` writes the DOT source next to the requested file.

The `graphviz` package is imported only when a graph is drawn.
"""

from __future__ import annotations

import html
import os
import re
import shutil
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from scalargrad.engine import Value, topological_order
from scalargrad.errors import NoRendererError, RenderError, ScalarGradError, UsageError
from scalargrad.ops import CONST, LEAF, OPS
from scalargrad.render import fixed

if TYPE_CHECKING:
    import graphviz

    from scalargrad.program import Program

DEFAULT_MAX_NODES = 500  # past this a picture is unreadable; --focus draws a part
DEFAULT_DEPTH = 2
PNG_LARGE = 100  # a PNG of more value nodes than this is megabytes: say so
# Past this many value nodes, Graphviz's layout search (network simplex, spline routing)
# grows steeply: 161 nodes took 22 s and 311 nodes over 300 s with graphviz-pure. A bounded
# search and straight edges keep them to seconds (3 s and 18 s for 521 nodes).
LARGE_LAYOUT = 50
FAST_LAYOUT = {"nslimit": "1", "nslimit1": "1", "splines": "line"}
# A PNG is a bitmap: without a cap, 521 nodes asked for a 23 GB image. Scale it down to
# at most this many inches a side (SVG is never capped).
PNG_SIZE = "150,150"
RENDER_TIMEOUT = 600  # seconds; Graphviz on thousands of nodes is slow but finishes

ENV_RENDERER = "SCALARGRAD_DOT"
BUNDLED = "graphviz-pure"

# -o extension -> format given to `dot -T`
EXTENSIONS = {".svg": "svg", ".png": "png", ".pdf": "pdf", ".gv": "dot", ".dot": "dot"}
FORMATS = ("svg", "png", "pdf", "dot")
FORMAT_NAMES = {"svg": "SVG", "png": "PNG", "pdf": "PDF", "dot": "DOT source"}

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


def _near(view: _View, focus: Value, depth: int) -> set[int]:
    """Indexes of the nodes at most `depth` edges from `focus`, either way (a loop, no recursion)."""
    users: dict[int, list[int]] = {}
    for i, node in enumerate(view.nodes):
        for parent in node._prev:
            users.setdefault(view.id(parent), []).append(i)
    start = view.id(focus)
    reached = {start}
    frontier = [start]
    for _ in range(depth):
        following = []
        for i in frontier:
            for j in [view.id(p) for p in view.nodes[i]._prev] + users.get(i, []):
                if j not in reached:
                    reached.add(j)
                    following.append(j)
        frontier = following
    return reached


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


# -- the DOT graph ---------------------------------------------------------------------------
_RECORD_SPECIAL = re.compile(r'([{}|<>"\\])')


def record_text(text: str) -> str:
    """User text made literal inside a record label: `{ } | < > "` and backslash escaped."""
    return _RECORD_SPECIAL.sub(r"\\\1", " ".join(text.split()))


def plain_text(text: str) -> str:
    """User text made literal inside an ordinary quoted label (cluster titles, stubs)."""
    return " ".join(text.split()).replace("\\", "\\\\")


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
    depth: int = DEFAULT_DEPTH,
    max_nodes: int | None = None,
) -> graphviz.Digraph:
    """The graph of `root` (a Value built by hand, or a parsed Program) as a `graphviz.Digraph`.

    Like the lecture's draw_dot: call `backward()` (or `program.run(...)`) first, then
    `draw_dot(L)` shows every node's data and grad. `grad=False` shows values only; `of`
    marks the node whose gradients these are (default: the output); `plain=True` is the
    lecture's picture exactly (no colours, marks or legend); `cluster=True` boxes each
    statement of a Program; `focus`/`depth` draw only the nodes near one node; a graph
    of more than `max_nodes` value nodes is refused with a UsageError.

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
    of = view.output if of is None else of
    if cluster and view.program is None:
        raise UsageError("clusters group a program's statements; a hand-built Value has none",
                         hint="draw a parsed program (scalargrad.parse) to use cluster=True")
    if focus is not None:
        if id(focus) not in view.index:
            raise UsageError("the focus node is not part of this graph")
        drawn = _near(view, focus, depth)
    else:
        drawn = set(range(len(view.nodes)))
    if max_nodes is not None and len(drawn) > max_nodes:
        raise UsageError(
            f"the graph has {len(drawn):,} nodes, more than the limit of {max_nodes:,}",
            hint="draw part of it with --focus NAME --depth K, or raise the limit with --max-nodes N",
        )

    order = sorted(drawn)
    layout = {"rankdir": "LR"}
    if len(order) > LARGE_LAYOUT:
        layout.update(FAST_LAYOUT)
    graph = _drawing_class()(format="svg", graph_attr=layout)
    largest = max((abs(view.nodes[i].grad) for i in order if view.nodes[i]._op != CONST), default=0.0)
    decorate = not plain
    used = set()  # which marks appear, so the legend explains only those

    def value_node(target, i: int) -> None:
        node = view.nodes[i]
        fields = [record_text(view.label(node)), f"data {fixed(node.data)}"]
        if node._op == CONST and decorate:
            fields.append("const")
        elif grad:
            fields.append(f"grad {fixed(node.grad)}")
        attrs = {"shape": "record"}
        if decorate:
            if node._op == LEAF:
                attrs["shape"] = "Mrecord"
                used.add("input")
            if node._op == CONST:
                attrs.update(style="dashed", fontcolor="gray35")
                used.add("const")
            elif grad:
                attrs.update(style="filled", fillcolor=fill_colour(node.grad, largest))
                used.add("grad")
            if node is of:
                attrs["penwidth"] = "3"
                used.add("of")
        target.node(f"n{i}", label="{ " + " | ".join(fields) + " }", **attrs)
        if node._prev:
            symbol = OPS[node._op].symbol if node._op in OPS else node._op
            target.node(f"n{i}_op", label=symbol)
            target.edge(f"n{i}_op", f"n{i}")

    def operand_edges(i: int) -> None:
        for parent in view.nodes[i]._prev:  # duplicates kept: `a + a` draws two edges
            j = view.id(parent)
            if j in drawn:
                graph.edge(f"n{j}", f"n{i}_op")
            else:
                graph.node(f"n{j}_cut", label=plain_text(view.label(parent)) + " …", shape="plaintext",
                           fontcolor="gray35")
                graph.edge(f"n{j}_cut", f"n{i}_op", style="dashed")
                used.add("cut")

    if cluster:
        grouped = set()
        for k, (title, members) in enumerate(_statements(view, drawn)):
            with graph.subgraph(name=f"cluster_{k}") as box:
                box.attr(label=plain_text(title), style="rounded", color="gray60", labeljust="l")
                for i in members:
                    value_node(box, i)
            grouped.update(members)
        for i in order:
            if i not in grouped:
                value_node(graph, i)
    else:
        for i in order:
            value_node(graph, i)
    for i in order:
        operand_edges(i)
    if decorate:
        _legend(graph, used, largest, view.label(of))
    graph.value_nodes = len(order)  # for the caller's size warnings
    return graph


def _legend(graph, used: set[str], largest: float, of_label: str) -> None:
    rows = []
    if "grad" in used:
        rows.append(f'<tr><td bgcolor="{POSITIVE[2]}">grad &gt; 0</td><td bgcolor="{NEGATIVE[2]}">grad &lt; 0</td>'
                    f'<td bgcolor="{ZERO}">grad = 0</td></tr>')
        rows.append(f'<tr><td colspan="3">paler: smaller |grad| (largest {fixed(largest)})</td></tr>')
    if "input" in used:
        rows.append('<tr><td colspan="3">rounded: input</td></tr>')
    if "of" in used:
        rows.append(f'<tr><td colspan="3">bold: {html.escape(of_label)} (grad 1)</td></tr>')
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


# -- finding a renderer ----------------------------------------------------------------------
@dataclass(frozen=True)
class Renderer:
    path: str
    origin: str  # how it was found, for messages


def bundled_executable() -> tuple[str, str] | None:
    """The graphviz-pure executable installed with scalargrad, and its version, or None.

    Found through the distribution's file list: it sits in the environment's bin/ (or
    Scripts\\) even when that folder is not on PATH (pipx, a virtualenv not activated).
    """
    from importlib import metadata

    try:
        dist = metadata.distribution(BUNDLED)
    except metadata.PackageNotFoundError:
        return None
    for file in dist.files or ():
        if file.name in (BUNDLED, BUNDLED + ".exe") and file.parent.name in ("bin", "Scripts"):
            path = Path(dist.locate_file(file)).resolve()
            if path.is_file() and os.access(path, os.X_OK):
                return str(path), dist.version
    return None


@dataclass
class Lookup:
    renderers: list[Renderer]  # to try, in order
    seen: list[str]  # what the lookup found missing, for the "no renderer" message
    problems: list[str]  # a SCALARGRAD_DOT that cannot be used: worth a warning


def find_renderers() -> Lookup:
    """The renderers to try: SCALARGRAD_DOT, then the bundled graphviz-pure, then `dot` on PATH."""
    found: list[Renderer] = []
    seen: list[str] = []
    problems: list[str] = []
    explicit = os.environ.get(ENV_RENDERER, "").strip()
    if explicit.lower() == "none":
        return Lookup([], [f"{ENV_RENDERER}=none turns rendering off"], [])
    if explicit:
        path = Path(explicit).expanduser()
        if path.is_file() and os.access(path, os.X_OK):
            found.append(Renderer(str(path), f"{ENV_RENDERER}={explicit}"))
        else:
            what = "is not an executable file" if path.exists() else "does not exist"
            seen.append(f"{ENV_RENDERER}={explicit} {what}")
            problems.append(f"{ENV_RENDERER}={explicit} {what}; looking for another renderer")
    else:
        seen.append(f"{ENV_RENDERER} is not set")
    bundled = bundled_executable()
    if bundled is not None:
        found.append(Renderer(bundled[0], f"{BUNDLED} {bundled[1]}"))
    else:
        seen.append(f"{BUNDLED} is not installed")
    system = shutil.which("dot")
    if system is not None:
        found.append(Renderer(system, "Graphviz dot on PATH"))
    else:
        seen.append("no `dot` on PATH")
    unique: list[Renderer] = []
    for renderer in found:
        if all(os.path.realpath(r.path) != os.path.realpath(renderer.path) for r in unique):
            unique.append(renderer)
    return Lookup(unique, seen, problems)


INSTALL_HINT = (
    f"install a renderer: `pip install {BUNDLED}` (wheels for Linux x86_64/aarch64, macOS, Windows), "
    f"or Graphviz from your package manager or graphviz.org; or point {ENV_RENDERER} at a `dot` program"
)


def render(source: str, fmt: str, lookup: Lookup | None = None) -> tuple[bytes, Renderer]:
    """Run DOT `source` through the first renderer that can write `fmt` (svg, png, pdf).

    Raises NoRendererError when none is found or none knows the format, RenderError
    when one fails.
    """
    import subprocess

    lookup = lookup or find_renderers()
    if not lookup.renderers:
        raise NoRendererError(
            f"no Graphviz renderer found to write {FORMAT_NAMES[fmt]} ({'; '.join(lookup.seen)})", hint=INSTALL_HINT
        )
    lacking = []
    for renderer in lookup.renderers:
        try:
            size = [f"-Gsize={PNG_SIZE}"] if fmt == "png" else []
            proc = subprocess.run([renderer.path, f"-T{fmt}", *size], input=source.encode("utf-8"),
                                  capture_output=True, timeout=RENDER_TIMEOUT)
        except OSError as error:
            raise RenderError(f"cannot run the renderer {renderer.path} ({renderer.origin}): {error.strerror}",
                              hint=INSTALL_HINT) from None
        except subprocess.TimeoutExpired:
            raise RenderError(f"the renderer {renderer.origin} took more than {RENDER_TIMEOUT} s",
                              hint="draw part of the graph with --focus NAME --depth K") from None
        errors = proc.stderr.decode("utf-8", "replace")
        if proc.returncode == 0 and proc.stdout:
            return proc.stdout, renderer
        if re.search(rf'format:?\s*"?{fmt}"?\s+not recognized', errors, re.IGNORECASE):
            known = re.search(r"use one of:?\s*(.*)", errors, re.IGNORECASE)
            formats = [f for f in FORMATS if known and re.search(rf"\b{f}\b", known.group(1))]
            lacking.append(f"{renderer.origin} writes {', '.join(formats) or 'other formats'}")
            continue
        raise RenderError(
            f"the renderer {renderer.origin} failed (exit code {proc.returncode}): {summarise(errors)}",
            hint=f"the renderer is {renderer.path}; set {ENV_RENDERER} to use another, "
            "or write the DOT source with -o graph.gv",
        )
    raise NoRendererError(
        f"no renderer here can write {FORMAT_NAMES[fmt]} ({'; '.join(lacking)})",
        hint=f"write SVG instead (-o graph.svg: it scales and prints well), or install Graphviz from your "
             f"package manager or graphviz.org (it writes {FORMAT_NAMES[fmt]}) and point {ENV_RENDERER} at its `dot`",
    )


def summarise(stderr: str, limit: int = 300) -> str:
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    text = " / ".join(lines[:3]) or "no message"
    return text if len(text) <= limit else text[: limit - 1] + "…"


# -- writing ---------------------------------------------------------------------------------
def choose_format(output: str | None, fmt: str | None) -> str:
    """The format to write: --format if given, else from the -o extension (SVG on stdout)."""
    if fmt is not None:
        fmt = fmt.lower().lstrip(".")
        fmt = "dot" if fmt == "gv" else fmt
        if fmt not in FORMATS:
            raise UsageError(f"unknown format `{fmt}`", hint="use svg, png, pdf or dot")
    if output is None or output == "-":
        return fmt or "svg"
    suffix = Path(output).suffix.lower()
    from_name = EXTENSIONS.get(suffix)
    if fmt is None:
        if from_name is None:
            known = " ".join(EXTENSIONS)
            what = f"the extension `{suffix}`" if suffix else "a name with no extension"
            raise UsageError(f"cannot tell the format of {output}: {what} is not one of {known}",
                             hint="name the file graph.svg, graph.png, graph.pdf or graph.gv, or add --format")
        return from_name
    if from_name is not None and from_name != fmt:
        raise UsageError(f"--format {fmt} does not match the extension of {output}",
                         hint="drop --format, or change the file name")
    return fmt


def write_atomic(path: Path, produce: Callable[[], bytes]) -> None:
    """Write `produce()` to `path` through a temporary file in the same folder and a rename.

    The temporary file is made first, so an unwritable folder fails before any
    rendering; if anything fails, an existing file at `path` is untouched.
    """
    from scalargrad.files import check_writable, write_atomically

    check_writable(path)
    write_atomically(path, lambda stream: stream.write(produce()), "the picture")


def fallback_path(path: Path) -> Path:
    """Where the DOT source goes when `path` cannot be rendered: beside it, never over a user's file."""
    return path.with_name(path.name + ".gv")


def save(source: str, path: Path, fmt: str, lookup: Lookup | None = None) -> Renderer | None:
    """Write DOT `source` to `path` as `fmt`; returns the renderer used (None for DOT).

    When no renderer can write `fmt`, the DOT source is written to `fallback_path(path)`
    and the NoRendererError says where and how to render it later.
    """
    if fmt == "dot":
        write_atomic(path, lambda: source.encode("utf-8"))
        return None
    used: list[Renderer] = []

    def rendered() -> bytes:
        data, renderer = render(source, fmt, lookup)
        used.append(renderer)
        return data

    try:
        write_atomic(path, rendered)
    except NoRendererError as error:
        spare = fallback_path(path)
        write_atomic(spare, lambda: source.encode("utf-8"))
        raise NoRendererError(
            f"{error.message}; wrote the DOT source to {spare} instead",
            hint=f"render it later with `dot -T{fmt} {spare} -o {path}`; {error.hint}",
        ) from None
    return used[0]


def svg_or_none(value: Value) -> str | None:
    """The SVG picture of `value`'s graph when a renderer is present, else None (for Jupyter)."""
    try:
        graph = draw_dot(value, max_nodes=DEFAULT_MAX_NODES)
        svg, _renderer = render(graph.source, "svg")
    except ScalarGradError:
        return None
    return svg.decode("utf-8")
