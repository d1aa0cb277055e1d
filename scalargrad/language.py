"""Text -> Program: the Lark LALR parser with callbacks that build the graph as it parses.

No parse tree is built and no callback recurses, so a flat sum of a million terms or
parentheses nested 100,000 deep parse at the default recursion limit. The grammar is
`grammars/scalargrad.lark`; this module turns its reductions into `Value` nodes. One job,
text -> Program, in three parts: the lexer (`_Tokens`, a regular expression that tokenises as
Lark's would), the builder (`_Builder`, the callbacks that make and count the nodes) and
`parse`, which runs them; its errors are worded by `scalargrad.syntax`.
"""

from __future__ import annotations

import gc
import math
import os
import re
from bisect import bisect_left
from functools import lru_cache, partial
from itertools import chain, takewhile
from operator import itemgetter
from pathlib import Path

from scalargrad import budget
from scalargrad.arrays import (ARRAY_CALLS, ARRAY_FUNCTIONS, AXIS_FUNCTIONS, AlongBuilding, Array, ArrayBuilding, Symbol,
                               along_shape, broadcast, element_names, literal_shape, picked_shape, product_shape, reduced,
                               shape_of, shape_text, size_of)
from scalargrad.engine import Value
from scalargrad.errors import DomainError, NameUsageError, ParseError, ScalarGradError, clip, did_you_mean, odd_line_break, place_at
from scalargrad.ops import CALLS, CONST, CONSTANTS, LEAF, OPS
from scalargrad.program import Program
from scalargrad.syntax import UNEXPECTED as _UNEXPECTED, line_break_error, syntax_error

GRAMMAR_FILE = "scalargrad.lark"
# What the text may be, and the grammar's rule that reads it: a program of statements, or one
# expression (`step --lr`), a program's output with no statements around it.
_STARTS = {"program": "program", "expression": "expr"}
_SCALAR_CALLS = {name: rows[1].name for name, rows in CALLS.items() if 1 in rows}  # `tanh` -> its row
_SIGNED_NUMBER = re.compile(r"[-+]?\s*(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


def grammar_text() -> str:
    """The grammar, from the installed package or, in a source checkout, from grammars/.

    The wheel carries it as scalargrad/grammars/; an editable install runs from the
    checkout, where it sits in the top-level grammars/ folder.
    """
    here = Path(__file__).resolve().parent
    for candidate in (here / "grammars" / GRAMMAR_FILE, here.parent / "grammars" / GRAMMAR_FILE):
        if candidate.is_file():
            return candidate.read_text(encoding="utf-8")
    raise FileNotFoundError(f"scalargrad's grammar {GRAMMAR_FILE} is missing from {here}: reinstall scalargrad")


class _Function:
    """A `def`: its parameters and its body recorded as steps, expanded at each call.

    A step is a kind and its arguments, symbols standing for the parameters and earlier
    steps' results: `constant` (a number in the body), `use` (a parameter read), `outer` (a
    name assigned above the `def`), `column` (a data column), `call` (a function defined
    above), or an array primitive (`elementwise`, ...). Recording makes no node: a function
    never called adds nothing to the graph. A call of another function stays one step, so a
    body's record is as long as its text, however deep the calls go.
    """

    def __init__(self, name: str, parameters: list[str], offset: int):
        self.name, self.parameters, self.offset = name, parameters, offset
        self.steps: list[tuple[str, tuple]] = []
        self.output: Symbol | None = None
        # the `use` and `call` steps whose result goes straight into a call or out as the
        # output: a constant argument passes through them unmade (see `_Literal`)
        self.passed: set[int] = set()


class _Keyword:
    """A keyword argument as read (`axis=-1`): its name, its whole number, its place."""

    __slots__ = ("name", "value", "start", "end")

    def __init__(self, name: str, value: int, start: int, end: int):
        self.name, self.value, self.start, self.end = name, value, start, end


class _Literal:
    """A constant argument of a call (`f(2)`, `f([1, 2])`, `f(2 * pi)`): its numbers and the
    places of their text, made into new constant nodes wherever the body reads the parameter,
    as the call written out by hand would make them; not at all where the body ignores it."""

    __slots__ = ("shape", "numbers", "spans")

    def __init__(self, shape: tuple[int, ...], numbers: list[float], spans: list[tuple[int, int]]):
        self.shape, self.numbers, self.spans = shape, numbers, spans


class _Builder(ArrayBuilding, AlongBuilding):
    """The parser's callbacks: each reduction of scalars adds at most one node.

    Callbacks return (node, start, end): the node and the source span of the
    sub-expression, so unnamed nodes can be labelled with their own text. The node is a
    `Value`, an `Array` of them, or, inside a `def` body, a `Symbol`; anything but two
    Values leaves the scalar fast path for the array primitives (`ArrayBuilding`).
    """

    seed = 0

    def reset(self, source: str, seed: int = 0, data: dict[str, list[float]] | None = None,
              what: str = "program") -> None:
        self.source, self.seed, self.data, self.what = source, seed, data or {}, what
        self.nodes: list[Value] = []
        self.spans: list[tuple[int, int]] = []
        self.names: dict[str, Value] = {}
        self.inputs: dict[str, Value] = {}
        self.defaults: dict[str, float] = {}
        self.assigned_at: dict[str, int] = {}
        self.first_read: dict[str, int] = {}
        self.arrays: dict[str, Array] = {}
        self.read_data: list[str] = []  # the data columns the program reads, in order
        self.functions: dict[str, _Function] = {}
        self.recording: _Function | None = None
        self.shadowed: dict[str, Value | None] = {}
        self.calls: list[tuple[int, int, int, int]] = []  # Program.calls
        self.body_spans: dict[int, tuple[int, int]] = {}  # Program.body_spans
        self._random = None  # random.Random(seed), made when an initialiser first draws
        self.drawn: list[tuple[str, float, float, tuple[Value, ...]]] = []  # Program.initialisers, as nodes
        self.limit = budget.nodes() if source else 0  # the most nodes the graph may have
        self._sizes: dict[tuple, tuple[int, tuple | None]] = {}  # `_call_size` of (function, arguments)

    def _add(self, node: Value, start: int, end: int):
        self.nodes.append(node)
        self.spans.append((start, end))
        return node, start, end

    def _drop_last(self) -> None:
        """Take back the last node added (a folded literal, an initialiser's argument); a call
        that ended with it now ends before it. (Calls end in order, so only the last few can.)"""
        del self.nodes[-1]
        del self.spans[-1]
        count, calls = len(self.nodes), self.calls
        for j in range(len(calls) - 1, -1, -1):
            if calls[j][1] <= count:
                break
            calls[j] = (calls[j][0], count, *calls[j][2:])

    def _operation(self, op: str, operands: tuple[Value, ...], start: int, end: int):
        """A node for `op` applied to `operands`; with constants only, the constant it comes to.

        Folding `-1` or `(1 + 1)` into one constant matters beyond tidiness: constants get no
        gradient, so a negative base with a literal exponent, `x ** -1`, never asks for the
        derivative with respect to the exponent (which exists only for a positive base).
        Named constants fold too, wherever they were assigned (`k = 2*3; j = -k` makes j the
        constant -6), so a value that depends on no input is a constant whatever surrounds it.
        """
        if operands[0]._op == CONST and all(v._op == CONST for v in operands):
            try:
                value = OPS[op].forward(*(v.data for v in operands))
            except DomainError as error:
                raise self._error(DomainError, f"{error.reason} in `{self.source[start:end]}`", start,
                                  end - start, hint="a constant expression must stay in the domain of its operations")
            if value - value != 0:
                raise self._error(DomainError, f"`{self.source[start:end]}` is too large (overflow)", start,
                                  end - start, hint="numbers must be below about 1.8e308")
            # The literals folded away are the last nodes added; a named constant stays, since
            # other statements may read it (and the graph shows every name).
            for operand in reversed(operands):
                if not operand.label and self.nodes and self.nodes[-1] is operand:
                    self._drop_last()
            return self._add(Value(value, (), CONST), start, end)
        node = Value(0.0, operands, op)  # `_add`, inline: this is the path of nearly every node
        self.nodes.append(node)
        self.spans.append((start, end))
        return node, start, end

    def _error(self, cls, message: str, offset: int, width: int = 1, hint: str = "", more=()):
        places = (place_at(self.source, offset, width=width), *more)
        return cls(message, hint=hint, source=self.source, places=places)

    # -- the size budget --------------------------------------------------------------------
    def _afford(self, count: int, start: int, end: int, at: int, width: int,
                way_around: str = "use smaller shapes", unit: str = "nodes") -> None:
        """Refuse, before making any, the `count` nodes that `source[start:end]` would add
        when they would take the graph over the size budget (scalargrad.budget)."""
        total = len(self.nodes) + count
        if total > self.limit:
            text = clip(" ".join(self.source[start:end].split()), 60, middle=True)
            budget.check_nodes(total, f"`{text}` makes {count:,} {unit}, which would bring the program to",
                               source=self.source, places=(place_at(self.source, at, width=width),),
                               way_around=way_around)

    def within_budget(self, offset: int) -> None:
        """Between lines (the lexer calls it): refuse a program whose text alone has made
        more nodes than the budget, by the line that starts at `offset`."""
        if len(self.nodes) > self.limit:
            budget.check_nodes(len(self.nodes), "by this line the program has", source=self.source,
                               places=(place_at(self.source, offset),))

    # -- atoms ------------------------------------------------------------------------
    def number(self, children):
        (tok,) = children
        value = float(tok.value)
        if math.isinf(value):
            raise self._error(ParseError, f"the number {tok.value} is too large", tok.start_pos, len(tok.value),
                              hint="numbers must be below about 1.8e308")
        if self.recording is not None:
            return self._record("constant", value, tok.start_pos, tok.end_pos), tok.start_pos, tok.end_pos
        return self._add(Value(value, (), CONST), tok.start_pos, tok.end_pos)

    def name(self, children):
        (tok,) = children
        name = tok.value
        if self.recording is not None:
            return self._read_in_body(tok), tok.start_pos, tok.end_pos
        node = self.names.get(name)
        if node is None:
            if name in CONSTANTS:  # `pi`: a constant node each time it is read
                return self._add(Value(CONSTANTS[name], (), CONST), tok.start_pos, tok.end_pos)
            if name in self.arrays:
                return self.arrays[name], tok.start_pos, tok.end_pos
            if name in self.data:
                return self._data(name, tok.start_pos, tok.end_pos), tok.start_pos, tok.end_pos
            node = Value(0.0, (), LEAF, name)
            self.names[name] = self.inputs[name] = node
            self.first_read[name] = tok.start_pos
            self._add(node, tok.start_pos, tok.end_pos)
        return node, tok.start_pos, tok.end_pos

    def call(self, children):
        if len(children) == 4:  # one argument, a scalar: the hot path, as lean as before arrays
            fname, _, argument, rpar = children
            name = _SCALAR_CALLS.get(fname.value)
            if name is not None and argument[0].__class__ is Value:
                return self._operation(name, (argument[0],), fname.start_pos, rpar.end_pos)
        return self._call(children)

    def _call(self, children):
        fname, rpar = children[0], children[-1]
        arguments = children[2:-1:2]
        if arguments[-1][0].__class__ is _Keyword:
            return self._keyword_call(fname, arguments, rpar), fname.start_pos, rpar.end_pos
        rows = CALLS.get(fname.value)
        op = rows.get(len(arguments)) if rows else None
        if op is None:
            return self._other_call(fname, arguments, rpar, rows), fname.start_pos, rpar.end_pos
        operands = tuple(argument[0] for argument in arguments)
        if operands[0].__class__ is Value and (len(operands) == 1 or operands[1].__class__ is Value):
            return self._operation(op.name, operands, fname.start_pos, rpar.end_pos)
        value = self.elementwise(op.name, operands, fname.start_pos, rpar.end_pos, fname.start_pos, len(fname.value))
        return value, fname.start_pos, rpar.end_pos

    def _other_call(self, fname, arguments, rpar, rows):
        """A call of a function of one's own, of an array function (sum, transpose, ...), or
        an error: unknown, recursive, defined later, or the wrong number of arguments."""
        name, start, end = fname.value, fname.start_pos, rpar.end_pos
        function = self.functions.get(name)
        if function is not None:
            if len(arguments) != len(function.parameters):
                raise self._error(ParseError, f"`{name}` takes {len(function.parameters)} argument"
                                  f"{'' if len(function.parameters) == 1 else 's'}, not {len(arguments)}", start,
                                  end - start, hint=f"it is defined as `{name}({', '.join(function.parameters)})`",
                                  more=(place_at(self.source, function.offset, "defined here", len(name)),))
            return self._call_function(function, tuple(argument[0] for argument in arguments), start, end)
        if name in INITIALISERS:
            return self._initialise(name, arguments, start, end)
        if name in ARRAY_CALLS:
            if len(arguments) != ARRAY_CALLS[name].count(",") + 1:
                raise self._unknown_call(fname, arguments, rpar, rows)
            return self.along(name, tuple(argument[0] for argument in arguments), None, start, end, len(name))
        if name in ARRAY_FUNCTIONS and len(arguments) == 1:
            return self.reduce(name, arguments[0][0], start, end, len(name))
        if name in ARRAY_FUNCTIONS and not rows:
            raise self._error(ParseError, f"`{name}` takes 1 argument (an array), not {len(arguments)}", start,
                              end - start, hint=f"call it as `{name}(x)` with x an array such as [a, b, c]")
        if self.recording is not None and name == self.recording.name:
            raise self._error(ParseError, f"`{name}` calls itself: a definition cannot be recursive", start, len(name),
                              hint="a program is a graph: write the repetition out, or as calls of another function",
                              more=(place_at(self.source, self.recording.offset, "defined here", len(name)),))
        later = re.compile(rf"\bdef[ \t\f]+{re.escape(name)}[ \t\f]*\(").search(self.source, end)
        if later and not rows and self.what == "program":  # an expression defines nothing: `def` is a name
            raise self._error(ParseError, f"`{name}` is called before it is defined", start, len(name),
                              hint="define a function above its first use",
                              more=(place_at(self.source, later.start(), "defined here", later.end() - later.start()),))
        raise self._unknown_call(fname, arguments, rpar, rows)

    def _unknown_call(self, fname, arguments, rpar, rows):
        """The error for a call of no row: an unknown name, or a known one with the wrong number
        of arguments (the caret under the whole call)."""
        if fname.value in ARRAY_CALLS:
            usage = ARRAY_CALLS[fname.value]
            count = usage.count(",") + 1
            return self._error(ParseError, f"`{fname.value}` takes {count} argument{'s' * (count > 1)}, not "
                               f"{len(arguments)}", fname.start_pos, rpar.end_pos - fname.start_pos,
                               hint=f"call it as `{usage}`")
        if rows:
            counts = " or ".join(str(count) for count in sorted(rows))
            plural = "" if counts == "1" else "s"
            usage = " or ".join(f"`{op.usage}`" for op in rows.values())
            return self._error(ParseError, f"`{fname.value}` takes {counts} argument{plural}, not {len(arguments)}",
                               fname.start_pos, rpar.end_pos - fname.start_pos, hint=f"call it as {usage}")
        known = list(dict.fromkeys([*CALLS, *ARRAY_FUNCTIONS, *ARRAY_CALLS, *self.functions]))  # once each
        close = did_you_mean(fname.value, known)
        suggestion = f"; did you mean `{close}`?" if close else ""
        return self._error(ParseError, f"unknown function `{fname.value}`{suggestion}", fname.start_pos,
                           len(fname.value), hint=f"the functions are {', '.join(known)}")

    def keyword(self, children):
        """`axis=0`, `axis=-1`: a keyword argument, its value a whole number read from the text."""
        name, value = children[0], children[-1]
        sign = -1 if len(children) == 4 else 1
        if not value.value.isdigit():
            raise self._error(ParseError, f"`{name.value}=` takes a whole number, not `{value.value}`", value.start_pos,
                              len(value.value), hint=f"write `{name.value}=0` or `{name.value}=-1`")
        return _Keyword(name.value, sign * int(value.value), name.start_pos, value.end_pos), name.start_pos, value.end_pos

    def _keyword_call(self, fname, arguments, rpar):
        """A call with keyword arguments: only `axis=` of a function along an axis (sum, mean, max,
        min, logsumexp, softmax), after one array."""
        name, start, end = fname.value, fname.start_pos, rpar.end_pos
        keywords = [argument[0] for argument in arguments if argument[0].__class__ is _Keyword]
        positional = [argument[0] for argument in arguments if argument[0].__class__ is not _Keyword]
        takes = name in AXIS_FUNCTIONS or name == "softmax"
        for keyword in keywords:
            if not takes or keyword.name != "axis":
                what = f"`{name}` takes no keyword arguments" if not takes else f"`{name}` has no keyword `{keyword.name}`"
                raise self._error(ParseError, what, keyword.start, keyword.end - keyword.start,
                                  hint=f"`axis=` goes with {', '.join(AXIS_FUNCTIONS)} and softmax: `sum(W, axis=0)`")
        if len(keywords) > 1:
            raise self._error(ParseError, "`axis=` is given twice", keywords[1].start, keywords[1].end - keywords[1].start,
                              hint="give one axis")
        if len(positional) != 1:
            raise self._error(ParseError, f"`{name}(..., axis=)` takes 1 array, not {len(positional)}", start,
                              end - start, hint=f"call it as `{name}(W, axis=0)`")
        return self.along(name, tuple(positional), keywords[0].value, start, end, len(name))

    def paren(self, children):
        lpar, inner, rpar = children
        return inner[0], lpar.start_pos, rpar.end_pos

    # -- operators ----------------------------------------------------------------------
    def _binary(op):
        def build(self, children):
            left, token, right = children
            a, b = left[0], right[0]
            if a.__class__ is Value and b.__class__ is Value:
                if a._op != CONST or b._op != CONST:  # `_operation`'s path of nearly every node, inline
                    node = Value(0.0, (a, b), op)
                    self.nodes.append(node)
                    self.spans.append((left[1], right[2]))
                    return node, left[1], right[2]
                return self._operation(op, (a, b), left[1], right[2])
            return self.elementwise(op, (a, b), left[1], right[2], token.start_pos, len(token.value)), left[1], right[2]

        build.__name__ = op
        return build

    add, sub, mul, div, pow = _binary("+"), _binary("-"), _binary("*"), _binary("/"), _binary("**")

    def neg(self, children):
        minus, operand = children
        if operand[0].__class__ is Value:
            return self._operation("neg", (operand[0],), minus.start_pos, operand[2])
        return self.elementwise("neg", (operand[0],), minus.start_pos, operand[2], minus.start_pos, 1), \
            minus.start_pos, operand[2]

    def pos(self, children):
        plus, operand = children
        return operand[0], plus.start_pos, operand[2]

    # -- arrays -------------------------------------------------------------------------
    def matmul(self, children):
        left, token, right = children
        return self.matrix_product(left[0], right[0], left[1], right[2], token.start_pos), left[1], right[2]

    def array(self, children):
        lsqb, rsqb = children[0], children[-1]
        elements = children[1:-1:2]
        items = tuple(element[0] for element in elements)
        offsets = tuple(element[1] for element in elements)
        return self.literal(items, lsqb.start_pos, rsqb.end_pos, offsets), lsqb.start_pos, rsqb.end_pos

    def index(self, children):
        value, rsqb = children[0], children[-1]
        tokens = children[2:-1:2]
        for token in tokens:
            if not token.value.isdigit():
                raise self._error(ParseError, f"an index is a whole number from 0, not `{token.value}`",
                                  token.start_pos, len(token.value), hint="write `x[0]`, `W[1, 2]`")
        indices = tuple(int(token.value) for token in tokens)
        offsets = tuple(token.start_pos for token in tokens)
        return self.pick(value[0], indices, offsets, value[1], rsqb.end_pos), value[1], rsqb.end_pos

    # -- data and parameters --------------------------------------------------------------
    def _data(self, name: str, start: int, end: int) -> Array:
        """A name the program reads, never assigns, and a CSV file has a column of: that
        column as a vector of constants (`x[0]`, `x[1]`, ...), data that nothing moves."""
        self._afford(len(self.data[name]), start, end, start, end - start, way_around="use a smaller data file")
        items = []
        for label, number in zip(element_names(name, (len(self.data[name]),)), self.data[name]):
            node = self._add(Value(number, (), CONST, label), start, end)[0]
            self.names[label] = node
            items.append(node)
        self.arrays[name] = Array((len(items),), tuple(items))
        self.first_read[name] = start
        self.read_data.append(name)
        return self.arrays[name]

    # -- parameters -----------------------------------------------------------------------
    def _initialise(self, name: str, arguments, start: int, end: int) -> Array:
        """`uniform(low, high, [4, 3])`, `normal(mean, deviation, [4])`, `zeros([4])`: an array
        of new inputs (parameters), their defaults drawn from random.Random(seed) in program
        order, row-major. Named by the assignment that takes it (`W1 = uniform(...)`)."""
        if self.what == "expression":  # its parameters would have no names: an expression assigns none
            raise self._error(ParseError, f"`{name}` makes parameters, which an expression cannot have", start,
                              len(name))
        usage = INITIALISERS[name]
        count = 1 if name == "zeros" else 3
        if len(arguments) != count:
            raise self._error(ParseError, f"`{name}` takes {count} argument{'s' * (count > 1)}, not {len(arguments)}",
                              start, end - start, hint=f"call it as `{usage}`")
        *numbers, shape = (argument[0] for argument in arguments)
        if self.recording is not None or any(v.__class__ is not Value or v._op != CONST for v in numbers) or not (
                isinstance(shape, Array) and len(shape.shape) == 1 and shape.shape[0] <= 2
                and all(v._op == CONST and v.data == int(v.data) >= 1 for v in shape.items)):
            raise self._error(ParseError, f"`{name}` needs numbers and a shape of one or two sizes", start,
                              end - start, hint=f"call it as `{usage}` outside a `def`, e.g. `W = {usage}`")
        sizes = tuple(int(v.data) for v in shape.items)
        count = sizes[0] * (sizes[1] if len(sizes) == 2 else 1)
        low, high = (v.data for v in numbers) if numbers else (0.0, 0.0)
        spent = {id(v) for v in (*numbers, *shape.items)}  # the arguments are read, not part of the graph
        while self.nodes and id(self.nodes[-1]) in spent:
            self._drop_last()
        self._afford(count, start, end, start, end - start, unit="parameters")
        if self._random is None:
            import random

            self._random = random.Random(self.seed)
        draw = {"uniform": lambda: self._random.uniform(low, high), "normal": lambda: self._random.gauss(low, high),
                "zeros": lambda: 0.0}[name]
        items = tuple(self._add(Value(draw(), (), LEAF), start, end)[0] for _ in range(count))
        self.drawn.append((name, low, high, items))
        return Array(sizes, items)

    # -- functions of one's own ----------------------------------------------------------
    def def_head(self, children):
        name_tok, parameters = children[1], children[3:-2:2]
        name = name_tok.value
        if name in CALLS or name in ARRAY_FUNCTIONS or name in ARRAY_CALLS or name in self.functions:
            what = "a function of your own" if name in self.functions else "a built-in function"
            raise self._error(NameUsageError, f"`{name}` is already {what}", name_tok.start_pos, len(name),
                              hint="give the function another name")
        seen = set()
        for token in parameters:
            if token.value in seen or token.value in CONSTANTS:
                raise self._error(NameUsageError, f"`{token.value}` cannot be a parameter here (a repeated "
                                  "parameter, or a built-in constant)", token.start_pos, len(token.value),
                                  hint="give each parameter its own name")
            seen.add(token.value)
        self.recording = _Function(name, [token.value for token in parameters], name_tok.start_pos)
        # parameters shadow the program's names while the body is read: `name` finds them first
        for i, token in enumerate(parameters):
            self.shadowed[token.value] = self.names.get(token.value)
            self.names[token.value] = Symbol(i)
        return children[0].start_pos

    def define(self, children):
        start, body = children
        function, self.recording = self.recording, None
        for parameter, previous in self.shadowed.items():
            if previous is None:
                del self.names[parameter]
            else:
                self.names[parameter] = previous
        self.shadowed = {}
        function.output = body[0]
        self._passing(function, (function.output,))
        self.functions[function.name] = function
        return None, start, body[2], ""

    def _record(self, primitive: str, *arguments):
        """A step of the body being read; the Symbol standing for its result."""
        function = self.recording
        function.steps.append((primitive, arguments))
        return Symbol(len(function.parameters) + len(function.steps) - 1)

    @staticmethod
    def _passing(function: _Function, symbols) -> None:
        """`symbols` go straight into a call, or out as the output: a `use` or `call` step
        that makes one of them passes a constant argument on unmade."""
        base = len(function.parameters)
        for symbol in symbols:
            step = symbol.index - base
            if step >= 0 and function.steps[step][0] in ("use", "call"):
                function.passed.add(step)

    def _read_in_body(self, tok) -> Symbol:
        """A name read in the body being recorded: a parameter, a name assigned above the
        `def`, a built-in constant or a data column; each a step, none a node yet."""
        name = tok.value
        node = self.names.get(name)
        if node.__class__ is Symbol:
            return self._record("use", node.index)
        if node is not None:
            return self._record("outer", node)
        if name in CONSTANTS:
            return self._record("constant", CONSTANTS[name], tok.start_pos, tok.end_pos)
        if name in self.arrays:
            return self._record("outer", self.arrays[name])
        if name in self.data:
            return self._record("column", name, tok.start_pos, tok.end_pos)
        raise self._free_name(tok)

    def _free_name(self, token):
        function = self.recording
        return self._error(NameUsageError, f"`{token.value}` is not a parameter of `{function.name}` and not "
                           "defined above it", token.start_pos, len(token.value),
                           hint=f"the parameters are {', '.join(function.parameters)}; a body may also read "
                                "names assigned before the `def`")

    def _call_function(self, function: _Function, arguments: tuple, start: int, end: int):
        """A call of a `def`: in a body being recorded, one step; elsewhere its expansion, once
        the nodes it will make are counted (`_call_size`) and found within the budget."""
        if self.recording is not None:
            self._passing(self.recording, arguments)
            return self._record("call", function, arguments, start, end)
        arguments = self._literals(arguments)
        self._afford(self._call_size(function, arguments), start, end, start, end - start,
                     way_around="call it with smaller arrays, or fewer times")
        first = len(self.nodes)
        output = self._expand(function, arguments, start, end)
        if first < len(self.nodes):
            self.calls.append((first, len(self.nodes), start, end))
            made = {id(v) for v in (output.items if isinstance(output, Array) else (output,))}
            for i in range(first, len(self.nodes)):
                if id(self.nodes[i]) in made:  # the call's result is labelled with the call's text
                    self.body_spans.setdefault(i, self.spans[i])
                    self.spans[i] = (start, end)
        return output

    def _expand(self, function: _Function, arguments: tuple, start: int, end: int):
        """A call: the body's steps replayed with the arguments for the parameters. The calls
        in a body are frames on a stack, not recursion, so calls nest to any depth."""
        frames = [(function, list(arguments), start, end)]
        try:
            while True:
                function, results = frames[-1][:2]
                step = len(results) - len(function.parameters)
                if step < len(function.steps):
                    kind, recorded = function.steps[step]
                    if kind == "call":
                        callee, symbols, call_start, call_end = recorded
                        given = self._literals(tuple(results[symbol.index] for symbol in symbols))
                        frames.append((callee, list(given), call_start, call_end))
                        continue
                    value = self._step(kind, recorded, results)
                else:  # the function is done: its output is the result of the caller's `call` step
                    value = results[function.output.index]
                    frames.pop()
                    if not frames:
                        return self._made(value)
                    function, results = frames[-1][:2]
                    step = len(results) - len(function.parameters)
                results.append(value if step in function.passed else self._made(value))
        except ScalarGradError as error:
            error.places = (*error.places, *(place_at(self.source, call_start, "called here", call_end - call_start)
                                             for *_, call_start, call_end in reversed(frames)))
            raise

    def _step(self, kind: str, recorded: tuple, results: list):
        """One recorded step of a body, replayed with `results` for its symbols."""
        if kind == "constant":
            number, start, end = recorded
            return self._add(Value(number, (), CONST), start, end)[0]
        if kind == "use":
            return results[recorded[0]]
        if kind == "outer":
            return recorded[0]
        if kind == "column":
            name, start, end = recorded
            return self.arrays[name] if name in self.arrays else self._data(name, start, end)
        assert kind in _PRIMITIVES, kind
        return getattr(self, kind)(*(_resolve(argument, results) for argument in recorded))

    def _made(self, value):
        """`value`, with a constant argument (`_Literal`) made into new constant nodes here."""
        if value.__class__ is not _Literal:
            return value
        items = [self._add(Value(number, (), CONST), *span)[0] for number, span in zip(value.numbers, value.spans)]
        return Array(value.shape, tuple(items)) if value.shape else items[0]

    def _literals(self, arguments: tuple) -> tuple:
        """The arguments of a call, each constant one (new constant nodes that no name holds,
        the last ones made) taken back out of the graph as a `_Literal`."""
        constant = [argument.__class__ is not _Literal and all(
            v.__class__ is Value and v._op == CONST and not v.label for v in _elements(argument))
            for argument in arguments]
        if not any(constant):
            return arguments
        ids = {id(v) for argument, is_constant in zip(arguments, constant) if is_constant for v in _elements(argument)}
        spans = self._take_back(ids)
        if spans is None:
            return arguments
        return tuple(_Literal(shape_of(argument), [v.data for v in _elements(argument)],
                              [spans[id(v)] for v in _elements(argument)]) if is_constant else argument
                     for argument, is_constant in zip(arguments, constant))

    def _take_back(self, ids: set[int]) -> dict[int, tuple[int, int]] | None:
        """Remove the nodes of `ids` from the end of the graph (they are among the last made,
        and no node left holds them): their spans, or None when they cannot be."""
        nodes, spans = self.nodes, self.spans
        low, found = len(nodes), 0
        while found < len(ids) and low > 0:
            low -= 1
            found += id(nodes[low]) in ids
        tail = range(low, len(nodes))
        if found < len(ids) or any(id(p) in ids for i in tail if id(nodes[i]) not in ids for p in nodes[i]._prev):
            return None
        taken = {id(nodes[i]): spans[i] for i in tail if id(nodes[i]) in ids}
        kept = [i for i in tail if id(nodes[i]) not in ids]
        removed = {i for i in tail if id(nodes[i]) in ids}
        nodes[low:], spans[low:] = [nodes[i] for i in kept], [spans[i] for i in kept]

        def moved(i: int) -> int:  # where a node at i (or the end of a range at i) is now
            return i if i < low else low + bisect_left(kept, i)

        calls = self.calls
        for j in range(len(calls) - 1, -1, -1):
            if calls[j][1] <= low:
                break
            calls[j] = (moved(calls[j][0]), moved(calls[j][1]), *calls[j][2:])
        # body_spans' keys grow as calls finish: those at or after `low` are the last ones
        later = {i: self.body_spans.pop(i) for i in list(takewhile(lambda i: i >= low, reversed(self.body_spans)))}
        for i in sorted(later):
            if i not in removed:
                self.body_spans[moved(i)] = later[i]
        return taken

    def _call_size(self, function: _Function, arguments: tuple) -> int:
        """The most nodes a call of `function` with `arguments` makes, counted from the
        shapes through every call in its body, before any is made. Each function is counted
        once per shape of its arguments, so a chain of functions each calling the one before
        twice is counted in a step per function, not per call. Where a shape does not fit, the
        count stops there: the expansion will make no more before it says where."""
        memo = self._sizes
        root = (function, tuple(_sized(argument) for argument in arguments))
        stack = [[root, list(root[1]), 0]]  # (function, arguments), results, nodes so far
        while True:
            key, results, count = frame = stack[-1]
            function = key[0]
            step = len(results) - len(function.parameters)
            if step == len(function.steps):
                memo[key] = (count, results[function.output.index])
                stack.pop()
                if not stack:
                    output = memo[key][1]
                    return count + (size_of(output[0]) if output[2] else 0)  # a constant made at the end
                continue
            kind, recorded = function.steps[step]
            if kind == "call":
                inner = (recorded[0], tuple(_as_argument(results[symbol.index]) for symbol in recorded[1]))
                if inner not in memo:
                    stack.append([inner, list(inner[1]), 0])
                    continue
                made, out = memo[inner]
            else:
                made, out = self._step_size(kind, recorded, results)
            if out is None:  # a shape that does not fit: the count so far
                memo[key] = (count + made, None)
                return sum(frame[2] for frame in stack) + made
            if kind in ("use", "call") and step not in function.passed and out[2]:
                made, out = made + size_of(out[0]), (out[0], True, False)  # a constant argument made here
            results.append(out)
            frame[2] = count + made

    def _step_size(self, kind: str, recorded: tuple, results: list) -> tuple[int, tuple | None]:
        """The nodes one step makes at most, and its result as (shape, a new constant, an
        unmade constant argument); None for the result when shapes do not fit."""
        if kind == "constant":
            return 1, ((), True, False)
        if kind == "use":
            return 0, results[recorded[0]]
        if kind == "outer":
            return 0, (shape_of(recorded[0]), False, False)
        if kind == "column":
            length, name = len(self.data[recorded[0]]), recorded[0]
            return (0 if name in self.arrays else length), ((length,), False, False)
        values = [results[a.index] if a.__class__ is Symbol else (shape_of(a), False, False)
                  for a in _symbols(kind, recorded)]
        shapes, fresh = [v[0] for v in values], all(v[1] for v in values)
        if kind == "elementwise":
            shape: tuple | None = ()
            for each in shapes:
                shape = broadcast(shape, each) if shape is not None else None
            return (0, None) if shape is None else (size_of(shape), (shape, fresh, False))
        if kind == "matrix_product":
            fits = product_shape(*shapes)
            return (0, None) if fits is None else (fits[1], (fits[0], fresh, False))
        if kind == "literal":
            shape = literal_shape(shapes)
            return 0, None if shape is None else (shape, fresh, False)
        if kind == "pick":
            shape = picked_shape(shapes[0], recorded[1])
            return 0, None if shape is None else (shape, fresh, False)
        if kind == "along":
            fits = along_shape(recorded[0], shapes, recorded[2])
            return (0, None) if fits is None else (fits[1], (fits[0], fresh, False))
        shape, made = reduced(recorded[0], shapes[0])  # reduce
        return made, (shape, fresh, False)

    # -- statements ---------------------------------------------------------------------
    def _assignable(self, name: str, at: int) -> None:
        if name in CONSTANTS:
            raise self._error(NameUsageError, f"`{name}` is a built-in constant and cannot be assigned", at, len(name),
                              hint="give this value another name")
        if name in self.assigned_at:
            first = place_at(self.source, self.assigned_at[name], "first assigned here", len(name))
            raise self._error(NameUsageError, f"`{name}` is assigned twice", at, len(name),
                              hint="give each value its own name", more=(first,))
        if name in self.first_read:
            read = self.first_read[name]
            if read > at:
                raise self._error(NameUsageError, f"`{name}` is defined in terms of itself", read, len(name),
                                  hint="a program cannot contain a cycle; use a new name for the new value")
            read_place = place_at(self.source, read, "read here first", len(name))
            raise self._error(NameUsageError, f"`{name}` is read before it is assigned", at, len(name),
                              hint=f"move the assignment of `{name}` above its first use", more=(read_place,))
        self.assigned_at[name] = at

    def assign(self, children):
        name_tok, _, expr = children
        name, at = name_tok.value, name_tok.start_pos
        self._assignable(name, at)
        node = expr[0]
        if node.__class__ is not Value:
            return self._assign_array(name, at, node, expr[2])
        default = self._plain_number(node, expr[1], expr[2])
        if default is not None:
            # `a = 2`: an input with a default value that the command line may override.
            self._drop_last()
            node = Value(default, (), LEAF, name)
            self.inputs[name] = node
            self.defaults[name] = default
            self._add(node, at, expr[2])
        else:
            node = self._named(node, at, expr[2])
        self.names[name] = node
        node.label = name
        return node, at, expr[2], name

    def _named(self, node: Value, at: int, end: int) -> Value:
        """The node to bind a name to: `node`, or a new one when it has a name already."""
        if node.label and node._op == CONST:
            # `q = k` with k a named constant: q is the same constant, folded like `q = k + 0`.
            return self._add(Value(node.data, (), CONST), at, end)[0]
        if node.label:
            # `e = a` names a node that already has a name: an identity node keeps both.
            return self._add(Value(0.0, (node,), "="), at, end)[0]
        return node

    def _assign_array(self, name: str, at: int, array: Array, end: int):
        """`W = [[...]]`: each element named as a program writes it, `W[0, 2]`."""
        items = []
        for label, node in zip(element_names(name, array.shape), array.items):
            if node._op == LEAF and not node.label:  # a parameter from an initialiser
                self.inputs[label] = node
                self.defaults[label] = node.data
            node = self._named(node, at, end)
            self.names[label] = node
            node.label = label
            items.append(node)
        self.arrays[name] = Array(array.shape, tuple(items))
        return self.arrays[name], at, end, name

    def _plain_number(self, node: Value, start: int, end: int) -> float | None:
        """The value of `2` or `-0.5` written alone (a default), else None (`2 * 3` is a named
        constant, not an input)."""
        if node._op == CONST and self.nodes and self.nodes[-1] is node and _SIGNED_NUMBER.fullmatch(
                self.source, start, end):
            return node.data
        return None

    def bare(self, children):
        return (*children[0], None)

    def program(self, statements):
        if not statements:
            raise ParseError("the program is empty", hint='write at least one statement, e.g. "L = a * b"')
        for node, start, end, name in statements[:-1]:
            if name is None:
                raise self._error(ParseError, "only the last statement may be a bare expression",
                                  start, end - start, hint="give this value a name: `name = ...`")
        output, start, end, _ = statements[-1]
        if output is None:
            raise self._error(ParseError, "the program ends with a definition", start, end - start,
                              hint="add a statement after it that calls the function: its value is the output")
        if output.__class__ is not Value:
            whole, example = ("the output", "`L = sum(...)` or `L = mean(...)`") if self.what == "program" else (
                "the expression", "`sum(...)` or `mean(...)`")
            raise self._error(ParseError, f"{whole} is an array of shape {shape_text(output.shape)}; it must be a "
                              "scalar", start, end - start, hint=f"reduce it to one number, e.g. {example}")
        if len(self.nodes) > self.limit:
            budget.check_nodes(len(self.nodes), "the program has", source=self.source,
                               places=(place_at(self.source, start, width=end - start),))
        unnamed = next((i for i, node in enumerate(self.nodes) if node._op == LEAF and not node.label), None)
        if unnamed is not None:
            start, end = self.spans[unnamed]
            raise self._error(ParseError, "parameters must be named: assign the initialiser to a name", start,
                              end - start, hint="write `W = uniform(-1, 1, [4, 3])`, then use W")
        arrays = {name: (array.shape, [node.label for node in array.items]) for name, array in self.arrays.items()}
        drawn = tuple((kind, low, high, tuple(node.label for node in items)) for kind, low, high, items in self.drawn)
        return Program(self.source, self.nodes, self.spans, self.names, self.inputs, self.defaults, output,
                       arrays=arrays, calls=tuple(self.calls), body_spans=self.body_spans, data=tuple(self.read_data),
                       initialisers=drawn)


# Initialisers make parameters (inputs with seeded defaults); their usage, for messages.
INITIALISERS = {"uniform": "uniform(low, high, [m, n])", "normal": "normal(mean, deviation, [m, n])",
                "zeros": "zeros([m, n])"}

# The builder's methods a recorded body step may name (never text from the program).
_PRIMITIVES = frozenset({"elementwise", "matrix_product", "literal", "pick", "reduce", "along"})


def _elements(value) -> tuple:
    """The scalar nodes of a value: an array's items, or the value itself."""
    return value.items if value.__class__ is Array else (value,)


def _sized(argument) -> tuple:
    """A call's argument as `_call_size` counts it: (shape, a new constant, an unmade constant)."""
    if argument.__class__ is _Literal:
        return argument.shape, True, True
    return shape_of(argument), False, False


def _as_argument(value: tuple) -> tuple:
    """A result passed to a call: a new constant becomes a constant argument (`_literals`)."""
    return (value[0], True, True) if value[1] else value


def _symbols(kind: str, recorded: tuple) -> list:
    """The operands of a recorded array primitive (symbols, or values from outside the body)."""
    if kind == "elementwise":
        return list(recorded[1])
    if kind == "matrix_product":
        return [recorded[0], recorded[1]]
    if kind == "literal":
        return list(recorded[0])
    if kind == "along":
        return list(recorded[1])
    return [recorded[0] if kind == "pick" else recorded[1]]


def _resolve(argument, results: list):
    """A recorded argument with its symbols replaced by their values (one level of tuples:
    the operands of a step)."""
    if argument.__class__ is Symbol:
        return results[argument.index]
    if argument.__class__ is tuple:
        return tuple(results[item.index] if item.__class__ is Symbol else item for item in argument)
    return argument


def _accelerator():
    """lark-cython's LALR plugin when installed (a dependency where it has wheels): the same
    grammar and callbacks, about twice as fast. SCALARGRAD_PURE_PARSER=1 turns it off."""
    if os.environ.get("SCALARGRAD_PURE_PARSER"):
        return None
    try:
        import lark_cython
    except ImportError:
        return None
    return lark_cython.plugins


class _Tokens:
    """The program's tokens from one compiled regular expression: the same types, values and
    positions (offsets, lines, columns) as Lark's lexer, made at C speed by `re.finditer`,
    line by line (so memory stays that of one line's tokens). Lark's LALR parser reads them:
    its pure parser through `lex`, lark-cython's through `next_token`.

    Lark's contextual lexer reads `def` as DEF where a statement starts, else as a name; so
    does this (with `keywords` false, for an expression, which has no statements, always a
    name). A character no terminal matches becomes an `_UNEXPECTED` token, which the parser
    rejects at the same point as Lark's lexer would (`syntax.syntax_error` words both alike).
    SCALARGRAD_LARK_LEXER=1 uses Lark's own lexer instead (the tests compare them).
    """

    def __init__(self, source: str, pattern: re.Pattern, token, keywords: bool = True, between=None):
        self.source, self.pattern, self.token, self.keywords = source, pattern, token, keywords
        self.between = between  # called with a line's offset before its tokens (the size budget's check)
        self.tokens = self._tokens()
        self.next_token = partial(next, chain(self.tokens, _end_of_tokens()))  # called with the parser's state

    def lex(self, parser_state):
        return self.tokens

    def _tokens(self):
        source, finditer, token = self.source, self.pattern.finditer, self.token
        start, line, line_start, last = 0, 1, 0, "_SEP"
        while start < len(source):
            if self.between is not None and start:
                self.between(line_start)
            end = source.find("\n", start, start + _CHUNK) + 1
            if not end:  # a long line: cut at a space, unless a comment may hold it
                cut = source.rfind(" ", start + 1, start + _CHUNK)
                end = cut if cut > 0 and source.find("#", line_start, cut) < 0 else \
                    source.find("\n", start) + 1 or len(source)
            column = 1 - line_start  # offset + column = the 1-based column
            tokens = [token(m.lastgroup, m[m.lastindex], (at := m.end(1)), line, at + column, line,
                            (after := m.end()) + column, after)
                      for m in finditer(source, start, end) if m.lastindex != 1]
            if tokens:
                if tokens[-1].value[-1:] == "\n":  # Lark's lines end after the newline
                    tokens[-1].end_line, tokens[-1].end_column = line + 1, 1
                if self.keywords and source.find("def", start, end) >= 0:
                    _keywords(tokens, last)
                last = tokens[-1].type
            yield from tokens
            if source[end - 1] == "\n":
                line, line_start = line + 1, end
            start = end


_CHUNK = 1 << 16  # characters read at a time at most, where a line is longer: its tokens are in memory


def _end_of_tokens():
    raise EOFError  # how lark-cython's parser learns that the tokens are over
    yield


def _keywords(tokens: list, before: str) -> None:
    """`def` where a statement starts (after a new line or `;`) is DEF, as Lark's contextual
    lexer reads it; elsewhere it is a name. `before`: the type of the token before these."""
    for i, token in enumerate(tokens):
        if token.type == "NAME" and token.value == "def" and (tokens[i - 1].type if i else before) == "_SEP":
            token.type = "DEF"




def _token_pattern(terminals, ignore) -> re.Pattern:
    """The grammar's terminals as one regular expression: ignored text (an atomic group, as
    a lookahead and a back-reference), then one token, named by its terminal. The one
    unnamed group is the ignored text: a match whose last group it is holds no token."""
    terminals = sorted(terminals, key=lambda t: (-t.priority, -t.pattern.max_width, -len(t.pattern.value), t.name))
    skip = "|".join(t.pattern.to_regexp() for t in terminals if t.name in ignore)
    tokens = "|".join(f"(?P<{t.name}>{t.pattern.to_regexp()})" for t in terminals
                      if t.name not in ignore and t.name != "DEF")
    # `\\Z`: ignored text at the end is a match of no token (dropped), never skipped into
    return re.compile(f"(?=((?:{skip})*))\\1(?:{tokens}|(?P<{_UNEXPECTED}>[\\s\\S])|\\Z)")


@lru_cache(maxsize=1)
def _parser():
    from lark import Lark  # imported on first parse only

    builder = _Builder()
    plugins = _accelerator()
    options = {"_plugins": plugins} if plugins else {}
    lark = Lark(grammar_text(), start=list(_STARTS.values()), parser="lalr", transformer=builder,
                cache=True, maybe_placeholders=False, **options)
    if plugins:
        from lark_cython import Token
    else:
        from lark import Token
    pattern = _token_pattern(lark.terminals, set(lark.lexer_conf.ignore))
    _lean_reductions(lark)
    return lark, builder, pattern, Token


class _Reduction:
    """A grammar rule as Lark's LALR loop reads it on each reduction: `len(expansion)`,
    `origin.name`, and as the key of its callback. Lark's `Rule` compares and hashes in
    Python (its loop checks `arg != end_state` on every step, and looks the callback up),
    a Python call or two per reduction; this is compared and hashed by identity, in C."""

    __slots__ = ("origin", "expansion", "rule")

    def __init__(self, rule):
        self.origin, self.expansion, self.rule = rule.origin, rule.expansion, rule


def _lean_reductions(lark) -> None:
    """Lark's LALR table, each reduction's rule replaced by a `_Reduction` with the same
    callback. The same table and the same callbacks, with two exceptions in how they are
    called: a `?rule` with one symbol (`?sum: product`, the precedence ladder's steps, two
    thirds of all reductions) passes its one child up by `itemgetter(0)`, in C, rather than
    by Lark's `ExpandSingleChild`, a Python call that does the same for one child."""
    from lark.grammar import Rule
    from lark.parse_tree_builder import ExpandSingleChild

    callbacks = lark.parser.parser_conf.callbacks  # the dict the LALR loop reads
    lean = {}
    for rule, callback in list(callbacks.items()):
        if isinstance(rule, Rule):
            lean[rule] = reduction = _Reduction(rule)
            one_child = isinstance(callback, ExpandSingleChild) and len(rule.expansion) == 1
            callbacks[reduction] = itemgetter(0) if one_child else callback
    for actions in lark.parser.parser._parse_table.states.values():
        for terminal, (action, argument) in actions.items():
            if isinstance(argument, Rule):
                actions[terminal] = (action, lean[argument])


def parse(source: str, seed: int = 0, data: dict[str, list[float]] | None = None, what: str = "program") -> Program:
    """Parse program text into a Program (raises ParseError or NameUsageError). `seed` picks
    the starting values of parameters made by initialisers (`uniform(-1, 1, [4, 3])`);
    `data` holds columns (a CSV file's) that names read but never assigned stand for.
    `what="expression"` reads one expression, its value the output, and words the errors for
    an expression: it has no statements, no `=`, no `;` and no `def`."""
    from lark.exceptions import UnexpectedInput

    if what not in _STARTS:
        raise ValueError(f"what must be one of {', '.join(_STARTS)}, not {what!r}")
    if source.startswith("\ufeff"):
        source = source[1:]
    odd = odd_line_break(source)
    if odd is not None:
        raise line_break_error(source, odd)
    lark, builder, pattern, token = _parser()
    builder.reset(source, seed, data, what)
    # Every object made while parsing stays alive (it is the graph), so the cycle collector,
    # which runs again and again as a big graph grows, would find nothing: a third of the
    # time of a 1e5-node parse. Paused here, as it was found.
    collecting = gc.isenabled()
    gc.disable()
    try:
        start = _STARTS[what]
        if os.environ.get("SCALARGRAD_LARK_LEXER"):
            parsed = lark.parse(source, start=start)
        else:
            tokens = _Tokens(source, pattern, token, keywords=what == "program", between=builder.within_budget)
            parsed = lark.parser.parser.parse(tokens, start)
        return parsed if what == "program" else builder.program([(*parsed, None)])
    except UnexpectedInput as error:
        raise syntax_error(source, error, lark, what) from None
    finally:
        builder.reset("")
        if collecting:
            gc.enable()
