"""Text -> Program: the Lark LALR parser with callbacks that build the graph as it parses.

No parse tree is built and no callback recurses, so a flat sum of a million terms or
parentheses nested 100,000 deep parse at the default recursion limit. The grammar is
`grammars/scalargrad.lark`; this module turns its reductions into `Value` nodes and its
errors into messages with a line, a column and a caret.
"""

from __future__ import annotations

import math
import os
import re
from functools import lru_cache
from pathlib import Path

from scalargrad.engine import Value
from scalargrad.errors import DomainError, NameUsageError, ParseError, did_you_mean, place_at
from scalargrad.ops import CALLS, CONST, CONSTANTS, FUNCTIONS, LEAF, OPS
from scalargrad.program import Program

GRAMMAR_FILE = "scalargrad.lark"
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


class _Builder:
    """The parser's callbacks: each reduction adds at most one node.

    Callbacks return (node, start, end): the node and the source span of the
    sub-expression, so unnamed nodes can be labelled with their own text.
    """

    def reset(self, source: str) -> None:
        self.source = source
        self.nodes: list[Value] = []
        self.spans: list[tuple[int, int]] = []
        self.names: dict[str, Value] = {}
        self.inputs: dict[str, Value] = {}
        self.defaults: dict[str, float] = {}
        self.assigned_at: dict[str, int] = {}
        self.first_read: dict[str, int] = {}

    def _add(self, node: Value, start: int, end: int):
        self.nodes.append(node)
        self.spans.append((start, end))
        return node, start, end

    def _operation(self, op: str, operands: tuple[Value, ...], start: int, end: int):
        """A node for `op` applied to `operands`; with constants only, the constant it comes to.

        Folding `-1` or `(1 + 1)` into one constant matters beyond tidiness: constants get no
        gradient, so a negative base with a literal exponent, `x ** -1`, never asks for the
        derivative with respect to the exponent (which exists only for a positive base).
        Named constants fold too, wherever they were assigned (`k = 2*3; j = -k` makes j the
        constant -6), so a value that depends on no input is a constant whatever surrounds it.
        """
        if all(v._op == CONST for v in operands):
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
                    del self.nodes[-1]
                    del self.spans[-1]
            return self._add(Value(value, (), CONST), start, end)
        return self._add(Value(0.0, operands, op), start, end)

    def _error(self, cls, message: str, offset: int, width: int = 1, hint: str = "", more=()):
        places = (place_at(self.source, offset, width=width), *more)
        return cls(message, hint=hint, source=self.source, places=places)

    # -- atoms ------------------------------------------------------------------------
    def number(self, children):
        (tok,) = children
        value = float(tok.value)
        if math.isinf(value):
            raise self._error(ParseError, f"the number {tok.value} is too large", tok.start_pos, len(tok.value),
                              hint="numbers must be below about 1.8e308")
        return self._add(Value(value, (), CONST), tok.start_pos, tok.end_pos)

    def name(self, children):
        (tok,) = children
        name = tok.value
        node = self.names.get(name)
        if node is None:
            if name in CONSTANTS:  # `pi`: a constant node each time it is read
                return self._add(Value(CONSTANTS[name], (), CONST), tok.start_pos, tok.end_pos)
            node = Value(0.0, (), LEAF, name)
            self.names[name] = self.inputs[name] = node
            self.first_read[name] = tok.start_pos
            self._add(node, tok.start_pos, tok.end_pos)
        return node, tok.start_pos, tok.end_pos

    def call(self, children):
        fname, rpar = children[0], children[-1]
        arguments = children[2:-1:2]
        rows = CALLS.get(fname.value)
        op = rows.get(len(arguments)) if rows else None
        if op is None:
            raise self._unknown_call(fname, arguments, rpar, rows)
        operands = tuple(argument[0] for argument in arguments)
        return self._operation(op.name, operands, fname.start_pos, rpar.end_pos)

    def _unknown_call(self, fname, arguments, rpar, rows):
        """The error for a call of no row: an unknown name, or a known one with the wrong number
        of arguments (the caret under the whole call)."""
        if rows:
            counts = " or ".join(str(count) for count in sorted(rows))
            plural = "" if counts == "1" else "s"
            usage = " or ".join(f"`{op.usage}`" for op in rows.values())
            return self._error(ParseError, f"`{fname.value}` takes {counts} argument{plural}, not {len(arguments)}",
                               fname.start_pos, rpar.end_pos - fname.start_pos, hint=f"call it as {usage}")
        close = did_you_mean(fname.value, CALLS)
        suggestion = f"; did you mean `{close}`?" if close else ""
        return self._error(ParseError, f"unknown function `{fname.value}`{suggestion}", fname.start_pos,
                           len(fname.value), hint=f"the functions are {', '.join(CALLS)}")

    def paren(self, children):
        lpar, inner, rpar = children
        return inner[0], lpar.start_pos, rpar.end_pos

    # -- operators ----------------------------------------------------------------------
    def _binary(op):
        def build(self, children):
            left, _, right = children
            return self._operation(op, (left[0], right[0]), left[1], right[2])

        build.__name__ = op
        return build

    add, sub, mul, div, pow = _binary("+"), _binary("-"), _binary("*"), _binary("/"), _binary("**")

    def neg(self, children):
        minus, operand = children
        return self._operation("neg", (operand[0],), minus.start_pos, operand[2])

    def pos(self, children):
        plus, operand = children
        return operand[0], plus.start_pos, operand[2]

    # -- statements ---------------------------------------------------------------------
    def assign(self, children):
        name_tok, _, expr = children
        name, at = name_tok.value, name_tok.start_pos
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
        node = expr[0]
        default = self._plain_number(node, expr[1], expr[2])
        if default is not None:
            # `a = 2`: an input with a default value that the command line may override.
            del self.nodes[-1]
            del self.spans[-1]
            node = Value(default, (), LEAF, name)
            self.inputs[name] = node
            self.defaults[name] = default
            self._add(node, at, expr[2])
        elif node.label and node._op == CONST:
            # `q = k` with k a named constant: q is the same constant, folded like `q = k + 0`.
            node = self._add(Value(node.data, (), CONST), at, expr[2])[0]
        elif node.label:
            # `e = a` names a node that already has a name: an identity node keeps both.
            node = self._add(Value(0.0, (node,), "="), at, expr[2])[0]
        self.names[name] = node
        node.label = name
        return node, at, expr[2], name

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
        output = statements[-1][0]
        return Program(self.source, self.nodes, self.spans, self.names, self.inputs, self.defaults, output)


def _accelerator():
    """lark-cython's LALR plugin when installed (`pip install 'scalargrad[fast]'`): the same
    grammar and callbacks, about twice as fast. SCALARGRAD_PURE_PARSER=1 turns it off."""
    if os.environ.get("SCALARGRAD_PURE_PARSER"):
        return None
    try:
        import lark_cython
    except ImportError:
        return None
    return lark_cython.plugins


@lru_cache(maxsize=1)
def _parser():
    from lark import Lark  # imported on first parse only

    builder = _Builder()
    plugins = _accelerator()
    options = {"_plugins": plugins} if plugins else {}
    lark = Lark(grammar_text(), start="program", parser="lalr", transformer=builder,
                cache=True, maybe_placeholders=False, **options)
    return lark, builder


def parse(source: str) -> Program:
    """Parse program text into a Program (raises ParseError or NameUsageError)."""
    from lark.exceptions import UnexpectedInput

    if source.startswith("\ufeff"):
        source = source[1:]
    lark, builder = _parser()
    builder.reset(source)
    try:
        return lark.parse(source)
    except UnexpectedInput as error:
        raise _syntax_error(source, error, lark) from None
    finally:
        builder.reset("")


# -- syntax errors in words ------------------------------------------------------------------
_WORDS = {
    "NAME": "a name",
    "NUMBER": "a number",
    "_SEP": "a new line or `;`",
    "$END": "the end of the program",
}
_ORDER = ["NUMBER", "NAME", "LPAR", "RPAR", "_SEP", "$END"]


def _describe(terminal: str, lark) -> str:
    if terminal in _WORDS:
        return _WORDS[terminal]
    for definition in lark.terminals:
        if definition.name == terminal and definition.pattern.type == "str":
            return f"`{definition.pattern.value}`"
    return terminal.lower()


def _expected_words(expected, lark, parens_open: bool) -> str:
    expected = set(expected)
    if not parens_open:  # LALR lookaheads may offer `)` where no `(` is open
        expected.discard("RPAR")
    operators = {t for t in expected if t not in _ORDER and t not in ("EQUAL",)}
    words = [_describe(t, lark) for t in _ORDER if t in expected]
    if "EQUAL" in expected:
        words.append("`=`")
    words += sorted(_describe(t, lark) for t in operators)
    if not words:
        return ""
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " or " + words[-1]


def _syntax_error(source: str, error, lark) -> ParseError:
    from lark.exceptions import UnexpectedCharacters, UnexpectedToken

    expected = getattr(error, "expected", None) or getattr(error, "allowed", None) or set()
    hint = ""
    if isinstance(error, UnexpectedCharacters):
        offset = error.pos_in_stream
        char = source[offset]
        what = f"unexpected character `{char}`"
        if char.isdigit():
            hint = "numbers use the digits 0-9 only"
        elif char in "^":
            hint = "powers are written `x ** 2`"
        elif char == ",":
            hint = f"each function takes one argument: {', '.join(FUNCTIONS)}"
        elif char == "=":
            hint = "`=` assigns a name (`L = a * b`); there is no comparison"
        else:
            hint = "names are letters, digits and _; the operators are + - * / **"
        width = 1
    elif isinstance(error, UnexpectedToken) and error.token.type == "$END":
        offset = len(source.rstrip())
        what = "unexpected end of the program"
        width = 1
        if source.count("(") > source.count(")"):
            hint = "a `(` is not closed"
    else:
        token = error.token
        offset = token.start_pos
        width = max(1, len(token.value))
        shown = "end of the line" if token.type == "_SEP" and token.value != ";" else f"`{token.value}`"
        what = f"unexpected {shown}"
        before = source[:offset].rstrip()
        word_before = before.split()[-1] if before.split() else ""
        if token.type == "RPAR" and "RPAR" not in expected:
            hint = "this `)` has no matching `(`"
        elif token.type == "_SEP" and source.count("(", source.rfind("\n", 0, offset) + 1, offset) > \
                source.count(")", source.rfind("\n", 0, offset) + 1, offset):
            hint = "a `(` is not closed on this line (a statement stays on one line)"
        elif token.type == "NAME" and before and before[-1].isdigit() and offset == len(before):
            hint = "a name cannot start with a digit; for a product write `2 * x`"
        elif token.type in ("NAME", "NUMBER") and word_before in FUNCTIONS:
            hint = f"functions are called with parentheses: `{word_before}(x)`"
        elif token.type in ("NAME", "NUMBER"):
            hint = "write `*` for multiplication: `2 * x`, not `2x`"
        elif token.type == "EQUAL":
            hint = "a statement assigns one name: `L = a * b`"
    line_start = source.rfind("\n", 0, offset) + 1
    parens_open = source.count("(", line_start, offset) > source.count(")", line_start, offset)
    words = _expected_words(expected, lark, parens_open)
    message = f"{what}; expected {words}" if words else what
    return ParseError(message, hint=hint, source=source, places=(place_at(source, offset, width=width),))
