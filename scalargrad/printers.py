"""One `Printer` per language: the derivative table's expression trees (`expressions`, read
from its JavaScript columns) printed as JavaScript, C, Python, NumPy, PyTorch or JAX, with each
language's precedence, functions, literals and function header. For `scalargrad code` (`codegen`).
"""

from __future__ import annotations

import math

from scalargrad.errors import UsageError
from scalargrad.program import balanced


# -- expressions, printed per language ---------------------------------------------------------
ATOM = 9
_PRECEDENCE = {"choose": 0, "||": 1, "&&": 2, "===": 3, "!==": 3, "<": 4, "<=": 4, ">": 4, ">=": 4, "+": 5, "-": 5,
               "*": 6, "/": 6, "unary": 7, "**": 8}
_CONSTANTS = {"Math.LN2": math.log(2.0), "Math.LN10": math.log(10.0)}


class Printer:
    """How one language writes the table's expressions and the function around them. The base
    writes JavaScript-like text; each language overrides what it writes differently."""

    name = ""
    comment = "//"
    functions: dict[str, str] = {}  # `Math.exp` -> the language's spelling of the call
    operators = {"===": "==", "!==": "!="}
    keywords: frozenset[str] = frozenset()
    infinity, nan = "Infinity", "NaN"
    precedence = _PRECEDENCE

    def number(self, x: float) -> str:
        text = repr(float(x))
        return text[:-2] if text.endswith(".0") and abs(x) < 1e15 else text

    def call(self, name: str, args: list[str]) -> str:
        if name not in self.functions:
            raise UsageError(f"the {self.name} printer has no spelling of {name}")
        return f"{self.functions[name]}({', '.join(args)})"

    def power(self, base: str, exponent: str, exponent_tree) -> str:
        return f"{base} ** {exponent}"

    def choose(self, condition: str, then: str, otherwise: str) -> str:
        return f"{condition} ? {then} : {otherwise}"

    def unary(self, op: str, operand: str) -> str:
        return f"{'!' if op == '!' else op}{operand}"

    def expr(self, tree, env: dict[str, tuple[str, int]]) -> str:
        return self.text(tree, env)[0]

    def text(self, tree, env: dict[str, tuple[str, int]]) -> tuple[str, int]:
        """(text, precedence) of a tree, the names in `env` ((text, precedence) each) filled in."""
        kind = tree[0]
        if kind == "number":
            return self.number(float(tree[1])), ATOM
        if kind == "name":
            if tree[1] in env:
                return env[tree[1]]
            if tree[1] in _CONSTANTS:
                return self.number(_CONSTANTS[tree[1]]), ATOM
            return {"Infinity": self.infinity, "NaN": self.nan}[tree[1]], ATOM
        if kind == "call":
            return self.call(tree[1], [self.text(arg, env)[0] for arg in tree[2]]), ATOM
        if kind == "unary":
            return self.unary(tree[1], self.wrap(self.text(tree[2], env), ATOM)), self.precedence["unary"]
        if kind == "choose":
            parts = [self.wrap(self.text(part, env), 1) for part in tree[1:]]
            return self.choose(*parts), self.precedence["choose"]
        op, left, right = tree[1], self.text(tree[2], env), self.text(tree[3], env)
        level = self.precedence[op]
        if op == "**":
            return self.power(self.wrap(left, level + 1), self.wrap(right, level), tree[3]), level
        return f"{self.wrap(left, level)} {self.operators.get(op, op)} {self.wrap(right, level + 1)}", level

    @staticmethod
    def wrap(part: tuple[str, int], level: float) -> str:
        text, precedence = part
        return text if precedence >= level else f"({text})"


_MATH = ("exp", "log", "tanh", "sin", "cos", "tan", "sqrt", "atan", "asin", "acos", "sinh", "cosh", "log1p",
         "expm1", "log2", "log10", "atan2", "hypot", "floor")


class JavaScript(Printer):
    name = "javascript"
    functions = {f"Math.{f}": f"Math.{f}" for f in (*_MATH, "abs", "max", "min")}
    operators = {}
    keywords = frozenset(
        "break case catch class const continue debugger default delete do else enum export extends false finally for "
        "function if import in instanceof new null return super switch this throw true try typeof var void while with "
        "yield let static implements interface package private protected public await arguments eval undefined NaN "
        "Infinity Math Object Number Error DomainError inputs forwardBackward Float64Array NODES INPUTS CONSTANTS "
        "gradients name grad value i v g module require".split())


class C(Printer):
    name = "c"
    comment = "/*"
    functions = {**{f"Math.{f}": f for f in _MATH}, "Math.abs": "fabs", "Math.max": "fmax", "Math.min": "fmin"}
    infinity, nan = "INFINITY", "NAN"
    keywords = frozenset(
        "auto break case char const continue default do double else enum extern float for goto if inline int long "
        "register restrict return short signed sizeof static struct switch typedef union unsigned void volatile while "
        "_Bool _Complex _Imaginary bool true false NULL main in out grad error v g k fail fabs fmax fmin pow isfinite "
        "INFINITY NAN isnan errno isinf calloc free snprintf size_t fail_node NODES INPUT_IDS CONSTANT_IDS "
        "CONSTANT_VALUES N_INPUTS N_CONSTANTS values scalargrad_input_names forward_backward".split()) | frozenset(_MATH)

    def number(self, x: float) -> str:
        return repr(float(x))  # 3.0, never 3: 1 / 2 is 0 in C

    def power(self, base, exponent, exponent_tree) -> str:
        return f"pow({_bare(base)}, {_bare(exponent)})"


class Python(Printer):
    name = "python"
    comment = "#"
    functions = {**{f"Math.{f}": f"math.{f}" for f in _MATH}, "Math.abs": "abs", "Math.max": "max", "Math.min": "min"}
    operators = {"===": "==", "!==": "!=", "&&": "and", "||": "or"}
    infinity, nan = "math.inf", "math.nan"
    keywords = frozenset(
        "False None True and as assert async await break class continue def del elif else except finally for from "
        "global if import in is lambda nonlocal not or pass raise return try while with yield math abs max min "
        "float dict range DomainError forward_backward inputs v g locals ArithmeticError ValueError gradients "
        "error NODES INPUTS CONSTANTS name value i".split())

    def choose(self, condition, then, otherwise) -> str:
        return f"{then} if {condition} else {otherwise}"

    def unary(self, op, operand) -> str:
        return f"not {operand}" if op == "!" else f"{op}{operand}"

    def power(self, base, exponent, exponent_tree) -> str:
        # float ** float is complex for a negative base; math.pow raises instead (a domain error)
        if exponent_tree[0] == "name" and exponent.isdigit():
            return f"{base} ** {exponent}"
        return f"math.pow({_bare(base)}, {_bare(exponent)})"


class NumPy(Python):
    name = "numpy"
    functions = {**{f"Math.{f}": f"np.{f}" for f in _MATH}, "Math.abs": "np.abs", "Math.max": "np.maximum",
                 "Math.min": "np.minimum", "Math.atan": "np.arctan", "Math.asin": "np.arcsin",
                 "Math.acos": "np.arccos", "Math.atan2": "np.arctan2"}
    operators = {"===": "==", "!==": "!=", "&&": "&", "||": "|"}
    # & and | bind tighter than comparisons in Python: their operands are parenthesised
    precedence = {**_PRECEDENCE, "&&": 4.6, "||": 4.5}
    infinity, nan = "np.inf", "np.nan"
    keywords = Python.keywords | {"np", "numpy"}
    module = "np"

    def choose(self, condition, then, otherwise) -> str:
        return f"{self.module}.where({_bare(condition)}, {_bare(then)}, {_bare(otherwise)})"

    def unary(self, op, operand) -> str:
        return f"~{operand}" if op == "!" else f"{op}{operand}"

    def power(self, base, exponent, exponent_tree) -> str:
        return f"{base} ** {exponent}"


class Torch(NumPy):
    name = "torch"
    module = "torch"
    functions = {**{f"Math.{f}": f"torch.{f}" for f in _MATH}, "Math.abs": "torch.abs",
                 "Math.max": "torch.maximum", "Math.min": "torch.minimum"}
    infinity, nan = "math.inf", "math.nan"
    keywords = Python.keywords | {"torch", "forward"}

    def call(self, name, args) -> str:
        if len(args) == 2:  # torch's functions of two tensors take no plain numbers
            args = [f"torch.as_tensor({_bare(arg)})" for arg in args]
        return super().call(name, args)


class Jax(NumPy):
    name = "jax"
    module = "jnp"
    functions = {f"Math.{f}": spelling.replace("np.", "jnp.") for f, spelling in
                 ((name.removeprefix("Math."), s) for name, s in NumPy.functions.items())}
    infinity, nan = "jnp.inf", "jnp.nan"
    keywords = Python.keywords | {"jax", "jnp", "forward"}


def _bare(text: str) -> str:
    """An argument needs no parentheses of its own: `pow(a * b, 2.0)`, not `pow((a * b), 2.0)`."""
    if text.startswith("(") and text.endswith(")") and balanced(text[1:-1]):
        return text[1:-1]
    return text


def safe_local(tree) -> bool:
    """Whether a local derivative is finite wherever its operands and output are: built from them,
    numbers, signs and choices only. Any other may be infinite (1/x at a subnormal x), so a node
    whose gradient is 0 must not multiply it (0 * inf is nan): the code skips it, as backprop does."""
    stack = [tree]
    while stack:
        node = stack.pop()
        if node[0] == "choose":
            stack.extend(node[2:])
        elif node[0] == "unary" and node[1] == "-":
            stack.append(node[2])
        elif node[0] == "number" or (node[0] == "name" and node[1] in ("x", "y", "ans")):
            continue
        else:
            return False
    return True
