"""The derivative table's text columns as trees: its formulas (`y * x**(y-1)`), definitions
(`max(x, 0)`) and JavaScript (`x > 0 ? 1 : 0`), for `derive` (as SymPy) and `code` (as code).

One small precedence-climbing parser reads both: the formulas are expressions of the language,
the JavaScript columns add comparisons, `&&`, `||`, `!` and `c ? a : b`. The texts are the
table's own, never a user's; a tree is plain tuples:

    ("number", "0.5")  ("name", "x")  ("call", "Math.exp", (tree, ...))
    ("unary", "-", tree)  ("binary", "*", left, right)  ("choose", condition, then, otherwise)

    >>> parse("x > 0 ? 1 : 0")
    ('choose', ('binary', '>', ('name', 'x'), ('number', '0')), ('number', '1'), ('number', '0'))

Nothing here recurses over a user's program: the trees are a row's few operations, and a
tree's depth is bounded by its text (a few dozen characters).
"""

from __future__ import annotations

import re
from functools import lru_cache

Tree = tuple

_TOKEN = re.compile(r"\s*(?:([0-9]*\.?[0-9]+(?:[eE][+-]?[0-9]+)?)|([A-Za-z_][A-Za-z_0-9]*(?:\.[A-Za-z_][A-Za-z_0-9]*)*)"
                    r"|(\*\*|===|!==|<=|>=|&&|\|\||[-+*/()<>,?:!]))")
# binding power of each binary operator, loosest first (JavaScript's order; `**` binds right)
BINARY = {"||": 1, "&&": 2, "===": 3, "!==": 3, "<": 4, "<=": 4, ">": 4, ">=": 4, "+": 5, "-": 5, "*": 6, "/": 6,
          "**": 8}
UNARY = 7  # -x binds looser than ** (-x**2 is -(x**2)) and tighter than * and /
CHOOSE = 0  # c ? a : b, the loosest


def tokens(text: str) -> list[str]:
    found, at = [], 0
    text = text.rstrip()
    while at < len(text):
        match = _TOKEN.match(text, at)
        if match is None:
            raise ValueError(f"cannot read {text[at:]!r} in the table's expression {text!r}")
        found.append(match.group(match.lastindex))
        at = match.end()
    return found


@lru_cache(maxsize=None)
def parse(text: str) -> Tree:
    """The tree of one of the table's expressions (cached: each row's few texts are read once)."""
    reader = _Reader(tokens(text), text)
    tree = reader.expression(CHOOSE)
    if reader.at != len(reader.tokens):
        raise ValueError(f"unexpected {reader.tokens[reader.at]!r} in the table's expression {text!r}")
    return tree


class _Reader:
    def __init__(self, found: list[str], text: str):
        self.tokens, self.text, self.at = found, text, 0

    def peek(self) -> str | None:
        return self.tokens[self.at] if self.at < len(self.tokens) else None

    def take(self, expected: str | None = None) -> str:
        token = self.peek()
        if token is None or (expected is not None and token != expected):
            raise ValueError(f"expected {expected or 'more'} in the table's expression {self.text!r}")
        self.at += 1
        return token

    def expression(self, floor: int) -> Tree:
        left = self.operand()
        while True:
            token = self.peek()
            if token == "?" and floor <= CHOOSE:
                self.take()
                then = self.expression(CHOOSE)
                self.take(":")
                left = ("choose", left, then, self.expression(CHOOSE))
            elif token in BINARY and BINARY[token] > floor:
                self.take()
                power = BINARY[token]
                right = self.expression(power - 1 if token == "**" else power)  # ** groups to the right
                left = ("binary", token, left, right)
            else:
                return left

    def operand(self) -> Tree:
        token = self.take()
        if token in ("-", "+", "!"):
            return ("unary", token, self.expression(UNARY))
        if token == "(":
            inside = self.expression(CHOOSE)
            self.take(")")
            return inside
        if token[0].isdigit() or token[0] == ".":
            return ("number", token)
        if not (token[0].isalpha() or token[0] == "_"):
            raise ValueError(f"unexpected {token!r} in the table's expression {self.text!r}")
        if self.peek() == "(":
            self.take()
            args = []
            while self.peek() != ")":
                args.append(self.expression(CHOOSE))
                if self.peek() == ",":
                    self.take()
            self.take(")")
            return ("call", token, tuple(args))
        return ("name", token)


def names(tree: Tree) -> set[str]:
    """The names a tree reads (x, y, ans, Infinity, ...), calls left out."""
    found, stack = set(), [tree]
    while stack:
        node = stack.pop()
        if node[0] == "name":
            found.add(node[1])
        elif node[0] == "call":
            stack.extend(node[2])
        elif node[0] in ("unary", "binary", "choose"):
            stack.extend(part for part in node[1:] if isinstance(part, tuple))
    return found


def calls(tree: Tree) -> set[str]:
    """The functions a tree calls (`Math.exp`, `tanh`)."""
    found, stack = set(), [tree]
    while stack:
        node = stack.pop()
        if node[0] == "call":
            found.add(node[1])
            stack.extend(node[2])
        elif node[0] in ("unary", "binary", "choose"):
            stack.extend(part for part in node[1:] if isinstance(part, tuple))
    return found
