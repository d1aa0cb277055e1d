"""A parsed program: its graph in topological order, its names, and how to run it.

Built once by `scalargrad.language.parse`; evaluated and differentiated as often as
needed with new input values (check and step re-run it many times, never re-parse).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Iterable, Mapping

from scalargrad import engine
from scalargrad.engine import Value
from scalargrad.errors import DomainError, InputError, UsageError, clip, did_you_mean, place_at
from scalargrad.ops import CONST, LEAF

_ELEMENT_SPACING = re.compile(r"\s*,\s*")  # between an element's indices: `W[0,1]` is `W[0, 1]`

LABEL_WIDTH = 60  # longest sub-expression label shown before it is shortened


@dataclass
class Program:
    source: str
    nodes: list[Value]  # every node, operands before their results: a topological order
    spans: list[tuple[int, int]]  # source text of each node: source[start:end]
    names: dict[str, Value]  # inputs and bound names, in order of first appearance
    inputs: dict[str, Value]  # names read but never assigned
    defaults: dict[str, float]  # inputs given a value in the program (`a = 2`)
    output: Value
    _ids: dict[int, int] | None = field(default=None, repr=False)
    # arrays by name: their shape and their elements' names (`W[0, 2]`), row-major
    arrays: dict[str, tuple[tuple[int, ...], list[str]]] = field(default_factory=dict)
    # each expanded call of a `def`: (first node id, last + 1, call start, call end), in the
    # order the calls finished; and the body's span of a node whose span became its call's
    calls: tuple[tuple[int, int, int, int], ...] = ()
    body_spans: dict[int, tuple[int, int]] = field(default_factory=dict)
    # the data columns (from a CSV file) the program reads as vectors of constants
    data: tuple[str, ...] = ()
    # the initialisers in the order they drew (`uniform`, `normal`, `zeros`): (kind, low or mean,
    # high or deviation, the names of the parameters drawn), for a page that draws them again
    initialisers: tuple[tuple[str, float, float, tuple[str, ...]], ...] = ()
    # the node whose gradients `.grad` holds (set by `backward`, cleared by `evaluate`): `grad`
    # refuses to read gradients that are not there
    differentiated: Value | None = field(default=None, repr=False)

    def __repr__(self) -> str:
        """Short: the program's first statement, its size, its inputs (an array of them by its name
        and shape) and its output."""
        lines = [line.strip() for line in self.source.splitlines() if line.strip() and not line.strip().startswith("#")]
        first = shorten(lines[0] if lines else "", 40) + (" ..." if len(lines) > 1 else "")
        elements = {label for _, labels in self.arrays.values() for label in labels}
        inputs = [f"{name} {shape}" for name, (shape, labels) in self.arrays.items() if labels[0] in self.inputs]
        inputs += [name for name in self.inputs if name not in elements]
        shown = ", ".join(inputs[:6]) + (", ..." if len(inputs) > 6 else "")
        return (f"<Program {first!r}: {len(self.nodes):,} nodes, {len(self.inputs):,} inputs ({shown or 'none'}), "
                f"output {self.label(self.output)}>")

    # -- identities and labels --------------------------------------------------------
    def node_id(self, node: Value) -> int:
        """The stable id of a node: its index in the topological order."""
        if self._ids is None:
            self._ids = dict(zip(map(id, self.nodes), range(len(self.nodes))))  # built in C
        return self._ids[id(node)]

    def is_named(self, node: Value) -> bool:
        return bool(node.label) and self.names.get(node.label) is node

    @property
    def output_name(self) -> str | None:
        return self.output.label if self.is_named(self.output) else None

    def text(self, node: Value) -> str:
        """The source text of the sub-expression that made `node`, on one line."""
        start, end = self.spans[self.node_id(node)]
        return source_label(self.source, start, end)

    def label(self, node: Value) -> str:
        """What a person calls a node: its bound name, else its source text."""
        return node.label if self.is_named(node) else self.text(node)

    # -- finding a node ---------------------------------------------------------------
    def node(self, key: str | int) -> Value:
        """The node a person means: a bound name (`d`), or an id as `grad` and `explain` show
        it (`4` or `[4]`). Anything else is a UsageError with "did you mean"."""
        text = str(key).strip()
        if text.startswith("[") and text.endswith("]"):
            text = text[1:-1]
        if text.isdigit() and text.isascii():
            index = int(text)
            if index >= len(self.nodes):
                raise UsageError(f"the program has no node with id {index}",
                                 hint=f"ids go from 0 to {len(self.nodes) - 1}; `scalargrad grad` shows them")
            return self.nodes[index]
        node = self.names.get(text) or self.names.get(_ELEMENT_SPACING.sub(", ", text))  # `W[0,1]` is `W[0, 1]`
        if node is None:
            close = did_you_mean(text, self.names)
            shown = [name for name in self.names if "[" not in name] + [f"{name}[...]" for name in self.arrays]
            raise UsageError(
                f"the program has no node named `{text}`" + (f"; did you mean `{close}`?" if close else ""),
                hint=f"named nodes: {', '.join(shown[:20])}" + (", ..." if len(shown) > 20 else ""),
            )
        return node

    def input(self, name: str, action: str) -> Value:
        """The input called `name`, for an option that only inputs make sense for; `action`
        says what in the message (`cannot {action} `name`: ...`)."""
        if name in self.inputs:
            return self.inputs[name]
        inputs = ", ".join(list(self.inputs)[:20]) or "none"
        if name in self.names:
            raise UsageError(f"cannot {action} `{name}`: it is computed by the program, not an input",
                             hint=f"only inputs move, so only inputs can be chosen: {inputs}")
        close = did_you_mean(name, self.inputs)
        raise UsageError(f"cannot {action} `{name}`: the program has no input of that name"
                         + (f"; did you mean `{close}`?" if close else ""), hint=f"inputs: {inputs}")

    def kind(self, node: Value) -> str:
        if node._op == CONST:
            return "const"
        if node._op == LEAF:
            return "input"
        return "op"

    # -- running ----------------------------------------------------------------------
    def filled(self, values: Mapping[str, float], names: Iterable[str] | None = None) -> dict[str, float]:
        """The value of each input of `names` (default: every input): from `values`, else its
        default in the program (`a = 2`); one with neither is an InputError."""
        names = list(self.inputs if names is None else names)
        missing = [name for name in names if name not in values and name not in self.defaults]
        if missing:
            raise InputError(f"missing values for {', '.join(missing)}")
        return {name: float(values[name] if name in values else self.defaults[name]) for name in names}

    def evaluate(self, values: Mapping[str, float], of: Value | None = None) -> None:
        """Set the inputs to `values` (else their defaults) and recompute every node.

        With `of`, the inputs that `of` does not read may have no value: each node that reads
        one is not computed, and its value is nan (which no computed node has: forward never
        passes one on). `computed` tells them apart."""
        missing = {id(node): name for name, node in self.inputs.items() if name not in values and name not in self.defaults}
        if missing:
            upstream = self.upstream(of) if of is not None else missing
            read = [name for key, name in missing.items() if key in upstream]
            if read:
                raise InputError(f"missing values for {', '.join(read)}")
        self.differentiated = None
        for name, node in self.inputs.items():
            node.data = float(values[name] if name in values else self.defaults.get(name, math.nan))
        if not missing:
            self.forward(self.nodes)
            return
        unknown = set(missing)
        for node in self.nodes:
            if node._prev and any(id(parent) in unknown for parent in node._prev):
                unknown.add(id(node))
                node.data = math.nan
        self.forward([node for node in self.nodes if id(node) not in unknown])

    @staticmethod
    def computed(node: Value) -> bool:
        """Whether `evaluate` computed `node` (false only for a node that reads an input that had
        no value, which `evaluate(values, of)` allows for inputs `of` does not read)."""
        return node.data == node.data

    def forward(self, nodes: list[Value]) -> None:
        """Recompute `nodes` (a slice of the order), turning a domain error into one that
        shows where in the program it happened."""
        try:
            engine.forward(nodes)
        except DomainError as error:
            raise self.locate(error) from None

    def backward(self, of: Value | None = None) -> None:
        """Gradients of `of` (default: the output) with respect to every node."""
        try:
            engine.backward(of or self.output, self.nodes)
        except DomainError as error:
            raise self.locate(error) from None
        self.differentiated = of or self.output

    def run(self, values: Mapping[str, float], of: Value | None = None) -> None:
        self.evaluate(values)
        self.backward(of)

    def grad(self, name: str):
        """The gradient of a name after `run` or `backward`: a float for a scalar, and for an array
        (`W1`) a NumPy array shaped like it, element by element (`program.grad("W1")[0, 2]` is the
        gradient of `W1[0, 2]`). A UsageError before any gradient was computed."""
        if self.differentiated is None:
            raise UsageError(f"no gradients yet to read for `{name}`",
                             hint="run the program first: program.run({...values...}), then program.grad(name)")
        if name not in self.arrays:
            return self.node(name).grad
        import numpy as np  # only for an array's gradient

        shape, labels = self.arrays[name]
        return np.array([self.names[label].grad for label in labels], dtype=float).reshape(shape)

    def call_site(self, i: int) -> tuple[int, int, int, int] | None:
        """(call start, end, body start, end) of the innermost call of a `def` that made node
        `i`, else None. A call's nodes are consecutive: one range per call, not a record per
        node (a model's `def` may make most of a big graph)."""
        inner = None
        for first, stop, start, end in self.calls:
            if first <= i < stop and (inner is None or stop - first < inner[1] - inner[0]):
                inner = (first, stop, start, end)
        if inner is None:
            return None
        return (inner[2], inner[3], *self.body_spans.get(i, self.spans[i]))

    def locate(self, error: DomainError) -> DomainError:
        """The same error, naming the node and pointing at its source text."""
        node = error.node
        if node is None or self._index_or_none(node) is None:
            return error
        start, end = self.spans[self.node_id(node)]
        name = f" (bound to `{node.label}`)" if self.is_named(node) else ""
        places = [place_at(self.source, start, width=end - start)]
        site = self.call_site(self.node_id(node))
        if site is not None:  # made by a call of a `def`: its place in the body, and the call
            call_start, call_end, body_start, body_end = site
            places = [place_at(self.source, body_start, width=body_end - body_start),
                      place_at(self.source, call_start, "called here", call_end - call_start)]
        reason = error.reword([self.label(p) for p in node._prev]) if error.reword else error.reason
        located = DomainError(
            f"{reason} in `{self.text(node)}`{name}",
            hint=error.hint or "change the input values so that every operation stays in its domain",
            source=self.source,
            places=tuple(places),
        )
        located.node, located.undefined = node, error.undefined
        return located

    def _index_or_none(self, node: Value) -> int | None:
        try:
            return self.node_id(node)
        except KeyError:
            return None

    def downstream(self, node: Value) -> list[Value]:
        """The nodes whose value depends on `node`, in order."""
        return engine.descendants(self.nodes[self.node_id(node) + 1 :], node)

    def upstream(self, node: Value) -> set[int]:
        """Python ids of the nodes `node` depends on, itself included."""
        return engine.ancestors(self.nodes[: self.node_id(node) + 1], node)


def source_label(source: str, start: int, end: int, width: int = LABEL_WIDTH) -> str:
    """source[start:end] on one line, outer parentheses dropped, cut to `width` characters.

    Reads at most a few times `width` characters, whatever the length of the span: a
    million-term sum has a million nested sub-expressions, and labelling each must not
    cost its length.
    """
    if end - start <= 4 * width:
        return shorten(source[start:end], width)
    half = (width - 1) // 2
    head = " ".join(source[start : start + 2 * width].split())[:half]
    tail = " ".join(source[end - 2 * width : end].split())[-half:]
    return head + "…" + tail


def shorten(text: str, width: int = LABEL_WIDTH) -> str:
    text = " ".join(text.split())
    while len(text) >= 2 and text[0] == "(" and text[-1] == ")" and balanced(text[1:-1]):
        text = text[1:-1].strip()
    return clip(text, width, middle=True)


def balanced(text: str) -> bool:
    """Whether the parentheses of `text` close as they open (`a) * (b` does not)."""
    depth = 0
    for ch in text:
        depth += (ch == "(") - (ch == ")")
        if depth < 0:
            return False
    return depth == 0
