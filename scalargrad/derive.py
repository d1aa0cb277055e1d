"""The derivative as a formula, and how it comes about rule by rule (`scalargrad derive`).

The backward pass of `explain --trace`, run with SymPy expressions in place of numbers: each
node's expression is built forward from its row of the derivative table (a function SymPy has
by name is SymPy's, `relu` and the others stay functions of their own, `ops.DEFINITIONS` says
what they are), then walking the graph backwards each node adds gradient * local derivative
to its operands, the local derivative being the row's own formula (`ops.OPS[...].formulas`).
So every step is one row of the table and one step of `explain --trace`, with the same number
and node ids, and the formula that comes out is what backprop computes, written out.

    >>> from scalargrad import parse
    >>> report = derive(parse("L = (a*b + c) * f"), wrt=["a"])
    >>> [(f.wrt, f.text) for f in report.formulas]
    [('a', 'b*f')]

At a kink the formula keeps the table's convention: the local derivative of relu is
`Heaviside(u, 0)` (0 at u = 0, as backprop uses), never a smooth stand-in. SymPy is imported
here only, when a formula is asked for; `grad` never loads it.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Mapping, Sequence

from scalargrad import expressions
from scalargrad.engine import Value
from scalargrad.errors import DomainError, UsageError, clip
from scalargrad.ops import CALLS, CONST, CONSTANTS, DEFINITIONS, LEAF, OPERAND_NAMES, OPS, RULES, substitute
from scalargrad.program import Program
from scalargrad.render import Lines, Report, Table, number, ref_json

SCHEMA = "scalargrad.derive/1"
READABLE = 2000  # characters: a formula longer than this is refused, never printed as a wall
WRITTEN_OUT = 300  # operations of the differentiated node's expression written out (shared parts repeated)
AT_LIMIT = 3  # inputs listed where a formula is evaluated; past them, "at the values"
STEP_WIDTH = 160  # characters of a gradient shown in a step of the table (--json has them whole)
ARRAY_LIMIT = 8  # formulas shown for a whole array (`--wrt W1`): its first elements
SIMPLIFY_OPS = 80  # SymPy's simplify (seconds on big expressions) is tried on formulas up to this many operations
DIGITS = 30  # a formula is evaluated to this many digits: `1 - tanh(n)**2` keeps its digits where tanh(n) nears 1


@lru_cache(maxsize=None)
def sympy():
    import sympy as module

    return module


# -- the table's rows in SymPy -----------------------------------------------------------------
@lru_cache(maxsize=None)
def function(name: str):
    """The SymPy function of a function row: SymPy's own of that name (`tanh`, `Abs` for abs,
    `Heaviside`, `Min`, `Max`), else one of our own that prints as the language writes it."""
    sp = sympy()
    op = OPS[name]
    if op.called not in DEFINITIONS:
        own = getattr(sp, op.called, None) or getattr(sp, op.called.capitalize(), None)
        if own is not None:
            return own

    def fdiff(self, argindex=1):
        return local_formula(name, argindex - 1, self.args)

    return type(op.called, (sp.Function,), {"nargs": op.arity, "fdiff": fdiff, "__module__": __name__})


def own_functions() -> dict[str, object]:
    """Our own SymPy functions by row name: the rows SymPy has no function for."""
    return {name: function(name) for name in DEFINITIONS if name in OPS}


def _number(value: float):
    """A constant of the program as SymPy reads best: 3, 1/10 (a short decimal), pi, else a float."""
    sp = sympy()
    for name, constant in CONSTANTS.items():
        if value == constant:
            return getattr(sp, name)
    if value.is_integer() and abs(value) < 1e15:
        return sp.Integer(int(value))
    text = repr(value)
    if "e" not in text and len(text.replace("-", "").replace(".", "").strip("0")) <= 6:
        return sp.Rational(text)
    return sp.Float(value, DIGITS)


def to_sympy(tree: expressions.Tree, operands: Mapping[str, object]):
    """A formula of the table (a tree of `expressions`) as SymPy, its x and y the `operands`."""
    kind = tree[0]
    if kind == "number":
        return _number(float(tree[1]))
    if kind == "name":
        return operands[tree[1]]
    if kind == "call":
        args = [to_sympy(arg, operands) for arg in tree[2]]
        return function(CALLS[tree[1]][len(args)].name)(*args)
    if kind == "unary" and tree[1] in "-+":
        inner = to_sympy(tree[2], operands)
        return -inner if tree[1] == "-" else inner
    if kind == "binary" and tree[1] in ("+", "-", "*", "/", "**"):
        return _ARITHMETIC[tree[1]](to_sympy(tree[2], operands), to_sympy(tree[3], operands))
    raise ValueError(f"a formula of the table uses {tree[1]!r}, which has no SymPy form")


_ARITHMETIC = {"+": lambda a, b: a + b, "-": lambda a, b: a - b, "*": lambda a, b: a * b, "/": lambda a, b: a / b,
               "**": lambda a, b: a**b}


@lru_cache(maxsize=None)
def _template(name: str, position: int):
    """The row's d ans / d operand in SymPy over placeholders, with the table's value at a kink."""
    sp = sympy()
    op = OPS[name]
    places = sp.symbols("x_ y_", real=True)[: op.arity]
    formula = to_sympy(expressions.parse(op.formulas[position]), dict(zip(OPERAND_NAMES, places)))
    at_kink = _kink_value(name, position)
    if at_kink is not None and formula.has(sp.Heaviside):
        at_zero = formula.subs({p: 0 for p in places})
        if at_zero.is_finite and at_zero != at_kink:  # relu: heaviside(x) is 1/2 at 0, backprop uses 0
            formula = formula.replace(sp.Heaviside, lambda u, *_: sp.Heaviside(u, at_kink))
    return places, formula


def _kink_value(name: str, position: int):
    """The table's local derivative where the operands are all 0, if that is a kink of the row."""
    op = OPS[name]
    zeros = (0.0,) * op.arity
    if op.kink is None or not op.kink(*zeros):
        return None
    try:
        value = op.local(op.forward(*zeros), *zeros)[position]
    except (DomainError, ArithmeticError, ValueError):
        return None
    return _number(value) if value - value == 0 else None


def local_formula(name: str, position: int, args: Sequence[object]):
    """d op / d operand `position` of row `name`, at the SymPy expressions `args`."""
    places, formula = _template(name, position)
    return formula.xreplace(dict(zip(places, args)))


def forward_formula(name: str, args: Sequence[object]):
    """The row's value at `args`: a function as itself, an operator from its JavaScript form."""
    op = OPS[name]
    if op.is_function:
        return function(name)(*args)
    return to_sympy(expressions.parse(op.js_forward), dict(zip(OPERAND_NAMES, args)))


# -- the derivation ----------------------------------------------------------------------------
@dataclass(frozen=True)
class Step:
    """One accumulation of the backward pass, as a rule: `target`'s gradient goes from `before`
    to `after` by gradient-of-`node` * `local`. Numbered as `explain --trace` numbers it."""

    number: int
    node_id: int
    node_label: str
    node_text: str
    target_id: int
    target_label: str
    rule: str  # "sum", "product", ..., "chain rule (outer function tanh)"
    local: str  # the local derivative, in the program's names (as explain writes it)
    before: object  # SymPy
    after: object


@dataclass
class Formula:
    wrt: str
    expr: object  # SymPy, simplified
    text: str  # what is printed: the formula, in terms of `where` when that is shorter
    where: list[tuple[str, str]]
    value: float | None = None  # the formula at the program's values, when every input has one
    backprop: float | None = None  # backprop's gradient there


def written_out(program: Program, of: Value, limit: int) -> int:
    """Operations of `of`'s expression written out (shared sub-expressions counted at each use),
    counted up to just past `limit`: a loop over the graph, never the expression itself."""
    size: dict[int, int] = {}
    upstream = program.upstream(of)
    for node in program.nodes[: program.node_id(of) + 1]:
        if id(node) in upstream:
            size[id(node)] = min(limit + 1, 1 + sum(size[id(p)] for p in node._prev))
    return size[id(of)]


def _check_size(program: Program, of: Value) -> None:
    size = written_out(program, of, WRITTEN_OUT)
    if size > WRITTEN_OUT:
        named = [name for name, node in program.names.items() if name not in program.inputs and node is not of
                 and node._op != CONST and program.node_id(node) < program.node_id(of)][:6]
        raise UsageError(
            f"the formula of {program.label(of)} would be too long to read: written out, its expression has more "
            f"than {WRITTEN_OUT} operations",
            hint=("differentiate a smaller node with --of NODE" + (f" (named nodes: {', '.join(named)})" if named else "")
                  + "; `scalargrad explain` and `grad` give the numbers of any size"))


def derive(program: Program, wrt: Sequence[str] | None = None, of: Value | None = None,
           values: Mapping[str, float] | None = None, *, steps: bool = False,
           warnings: list[str] | None = None) -> DeriveReport:
    """The formula of d of / d input for each input in `wrt` (names, elements `W[0, 1]` or whole
    arrays `W`; default every input), the steps that build it, and with `values` (all the
    inputs it reads) each formula evaluated beside backprop's gradient; `steps` shows the steps
    in the table and LaTeX too (JSON always has them)."""
    of = of or program.output
    chosen, note = choose_inputs(program, wrt)
    _check_size(program, of)
    build = _Derivation(program, of)
    formulas = [Formula(name, *readable(build.gradient(program.inputs[name]), build)) for name in chosen]
    for formula in formulas:
        if len(formula.text) + sum(len(a) + len(b) for a, b in formula.where) > READABLE:
            raise UsageError(f"the formula of {_ratio(program, of, formula.wrt)} has more than {READABLE:,} characters: "
                             "too long to read", hint="differentiate a smaller node with --of NODE; `scalargrad explain` "
                                                      "gives the numbers")
    report = DeriveReport(program, of, formulas, build.steps_for(chosen), steps, warnings=list(warnings or []))
    if note:
        report.notes.append(note)
    if values is not None:
        _evaluate(report, values)
    return report


def choose_inputs(program: Program, wrt: Sequence[str] | None) -> tuple[list[str], str]:
    """The inputs asked for, in order, once each: names, elements (`W1[0,1]` is `W1[0, 1]`) and
    whole arrays; past ARRAY_LIMIT of them, the first ARRAY_LIMIT and a note saying so."""
    if not wrt:
        names = list(program.inputs)
    else:
        names = []
        for text in (w.strip() for w in wrt):
            if text in program.arrays:
                names += [label for label in program.arrays[text][1] if label in program.inputs]
                continue
            if "[" in text and text not in program.inputs:
                node = program.node(text)  # `W1[0,1]`: the element's name as the program writes it
                text = node.label if program.is_named(node) else text
            names.append(program.input(text, "differentiate by").label)
        names = list(dict.fromkeys(names))
    if len(names) <= ARRAY_LIMIT:
        return names, ""
    return names[:ARRAY_LIMIT], (f"showing the formulas of the first {ARRAY_LIMIT} of {len(names):,} inputs (at most "
                                 f"{ARRAY_LIMIT} at once); choose others with --wrt, e.g. --wrt \"{names[ARRAY_LIMIT]}\"")


class _Derivation:
    """The expressions of the nodes (forward) and of the gradients (backward), with the steps."""

    def __init__(self, program: Program, of: Value):
        sp = sympy()
        self.program, self.of = program, of
        upstream = program.upstream(of)
        self.nodes = [n for n in program.nodes[: program.node_id(of) + 1] if id(n) in upstream]
        self.expr: dict[int, object] = {}
        for node in self.nodes:
            if node._op == LEAF:
                self.expr[id(node)] = sp.Symbol(node.label, real=True)
            elif node._op == CONST:
                self.expr[id(node)] = _number(node.data)
            else:
                self.expr[id(node)] = forward_formula(node._op, [self.expr[id(p)] for p in node._prev])
        self.grads: dict[int, object] = {id(of): sp.Integer(1)}
        self.steps: list[Step] = []
        self._backward()

    def _backward(self) -> None:
        program, number = self.program, 1
        for node in reversed(self.nodes):
            if node._op == CONST or not node._prev:
                continue
            gradient = self.grads.get(id(node), 0)
            labels = {OPERAND_NAMES[i]: program.label(p) for i, p in enumerate(node._prev)}
            for position, operand in enumerate(node._prev):
                if operand._op == CONST:
                    continue
                number += 1
                local = local_formula(node._op, position, [self.expr[id(p)] for p in node._prev])
                before = self.grads.get(id(operand), sympy().Integer(0))
                self.grads[id(operand)] = before + gradient * local
                self.steps.append(Step(number, program.node_id(node), program.label(node), program.text(node),
                                       program.node_id(operand), program.label(operand), rule(node, position),
                                       substitute(OPS[node._op].formulas[position], labels), before,
                                       self.grads[id(operand)]))

    def gradient(self, node: Value):
        return self.grads.get(id(node), sympy().Integer(0))

    def steps_for(self, names: Sequence[str]) -> list[Step]:
        """The steps into nodes that depend on one of the inputs `names` (the others do not
        lead to their formulas)."""
        chosen = {id(self.program.inputs[name]) for name in names}
        leads: set[int] = set()
        for node in self.nodes:
            if id(node) in chosen or any(id(p) in leads for p in node._prev):
                leads.add(id(node))
        by_id = {self.program.node_id(node): node for node in self.nodes}
        return [step for step in self.steps if id(by_id[step.target_id]) in leads]


def rule(node: Value, position: int) -> str:
    """The rule of differentiation a step applies: the operator's (`ops.RULES`; a product or
    quotient by a number is the constant multiple rule), or the chain rule with the function
    as the outer one."""
    op = OPS[node._op]
    if op.is_function:
        return f"chain rule (outer function {op.called})"
    named = RULES[op.name][position]
    other = node._prev[1 - position] if len(node._prev) == 2 else None
    if named in ("product", "quotient") and other is not None and other._op == CONST \
            and (named == "product" or position == 0):
        return "constant multiple"
    return named


# -- a formula a person can read ---------------------------------------------------------------
def readable(expr, build: _Derivation | None = None) -> tuple[object, str, list[tuple[str, str]]]:
    """The shortest of a few SymPy forms of `expr`, and its text: with shared sub-expressions
    named (`where t = tanh(n)`, the program's own name where it has one) when that is shorter."""
    sp = sympy()
    candidates = [sp.factor_terms(expr), expr]  # on a tie the factored form: 3*(1 - tanh(u)**2)
    if sp.count_ops(expr) <= SIMPLIFY_OPS:
        try:
            candidates.append(sp.simplify(expr))
        except (TypeError, ValueError, NotImplementedError, RecursionError):  # SymPy gives up on some forms
            pass
    # a form that brings in a function the formula has not (cosh for 1 - tanh(x)**2, a Piecewise
    # for a Heaviside) reads less like the table it comes from: only the formula's own functions
    own = {type(f) for f in expr.atoms(sp.Function)}
    candidates = [c for c in candidates if {type(f) for f in c.atoms(sp.Function)} <= own]
    best = min(candidates, key=lambda e: (sp.count_ops(e), candidates.index(e)))
    text, where = str(best), []
    named = _named_form(best, build)
    if named is not None and len(named[0]) + sum(len(n) + len(t) + 5 for n, t in named[1]) < len(text):
        text, where = named
    return best, text, where


def _named_form(expr, build: _Derivation | None):
    """`expr` with its repeated sub-expressions replaced by names (SymPy's cse), each the
    program's own name when a node of the program computes it, else t, t1, ...; None if none repeats."""
    sp = sympy()
    taken = {str(s) for s in expr.free_symbols}
    if build is not None:
        taken |= set(build.program.names)
    fresh = (f"t{i}" if i else "t" for i in range(10_000))
    symbols = (sp.Symbol(name, real=True) for name in fresh if name not in taken)
    replacements, reduced = sp.cse(expr, symbols=symbols, optimizations=None)
    if not replacements:
        return None
    own = {}
    if build is not None:
        for node in build.nodes:
            if build.program.is_named(node) and node._op not in (LEAF, CONST):
                own.setdefault(build.expr[id(node)], node.label)
    renames = {}
    for symbol, value in replacements:
        value = value.xreplace(renames)
        name = own.get(value)
        if name is not None:
            renames[symbol] = sp.Symbol(name, real=True)
    where = [(str(renames.get(symbol, symbol)), str(value.xreplace(renames))) for symbol, value in replacements]
    return str(reduced[0].xreplace(renames)), where


def evaluate(expr, point: Mapping[str, float]) -> float | None:
    """`expr` at `point` to DIGITS digits (our own functions through their definitions), as a
    float; nan where it is undefined or not real, inf where infinite, None if an input is missing."""
    sp = sympy()
    symbols = expr.free_symbols
    if any(str(s) not in point for s in symbols):
        return None
    for name, cls in own_functions().items():
        if expr.has(cls):
            tree = expressions.parse(DEFINITIONS[name])
            expr = expr.replace(cls, lambda *args, tree=tree: to_sympy(tree, dict(zip(OPERAND_NAMES, args))))
    value = expr.xreplace({s: sp.Float(point[str(s)], DIGITS) for s in symbols}).evalf(DIGITS)
    if value.has(sp.zoo) or value in (sp.oo, -sp.oo):
        return math.inf
    if not value.is_number or value.has(sp.nan) or value.is_real is False or not value.is_finite:
        return math.nan
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def _evaluate(report: DeriveReport, values: Mapping[str, float]) -> None:
    """Each formula at `values`, beside backprop's gradient there (when every input has a value)."""
    program = report.program
    if any(name not in values for name in program.inputs):
        return
    try:
        program.run(values, report.of)
    except DomainError as error:
        report.notes.append(f"no numbers: {error.message}")
        return
    for formula in report.formulas:
        formula.backprop = program.inputs[formula.wrt].grad
        formula.value = evaluate(formula.expr, values)


def _ratio(program: Program, of: Value, wrt: str) -> str:
    from scalargrad.explain import d

    return f"{d(program.label(of))}/{d(wrt)}"


# -- the report --------------------------------------------------------------------------------
@dataclass
class DeriveReport(Report):
    program: Program
    of: Value
    formulas: list[Formula]
    steps: list[Step]
    show_steps: bool = False
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def ratio(self, wrt: str) -> str:
        return _ratio(self.program, self.of, wrt)

    def sections(self) -> list:
        lines = Lines()
        for formula in self.formulas:
            lines.add((f"{self.ratio(formula.wrt)} = ", "bold"), (formula.text, "bold cyan"))
            for i, (name, text) in enumerate(formula.where):
                lines.add(f"  {'where' if i == 0 else '     '} {name} = {text}")
            if formula.backprop is not None:
                lines.add(("  " + self.at(formula), "dim"))
        for note in self.notes + self.kink_notes():
            lines.add((note, "dim"))
        if not self.show_steps:
            return [lines]
        return [lines, self.steps_table()]

    def at(self, formula: Formula) -> str:
        names = sorted({str(s) for s in formula.expr.free_symbols}, key=list(self.program.inputs).index)
        where = "the values" if len(names) > AT_LIMIT else ", ".join(f"{n} = {number(self.program.inputs[n].data, self.precision)}" for n in names)
        value = "undefined" if formula.value is None or formula.value != formula.value else number(formula.value, self.precision)
        grad = "undefined" if formula.backprop != formula.backprop else number(formula.backprop, self.precision)
        return f"{'at ' + where + ': ' if where else '= '}{value} (backprop: {grad})"

    def kink_notes(self) -> list[str]:
        sp = sympy()
        found = set()
        for formula in self.formulas:
            if formula.expr.has(sp.Heaviside):
                found.add("Heaviside(u, h) is 0 where u < 0 and 1 where u > 0; at u = 0, where the function has a kink, "
                          "it is h, the value backprop uses there (h = 1/2 when not written)")
            if formula.expr.has(sp.sign):
                found.add("sign(u) is -1 where u < 0, 1 where u > 0, and 0 at u = 0 (the kink), as backprop uses")
        return sorted(found)

    def steps_table(self) -> Table:
        table = Table(["step", "node", "rule", "local derivative", "gradient"], right={"step"}, hanging=True,
                      title=f"how the formulas come about: the backward pass of {self.program.label(self.of)}, a rule "
                            f"a step (numbered as `explain --trace` numbers them)", key="node", text_width=12)
        table.add("1", f"[{self.program.node_id(self.of)}] {self.program.label(self.of)}", "seed",
                  f"{self.ratio(self.program.label(self.of))} = 1", "")
        for step in self.steps:
            node = f"[{step.node_id}] {step.node_label}"
            local = f"d{_wrap(step.node_label)}/d{_wrap(step.target_label)} = {step.local}"
            before, after = clip(str(step.before), STEP_WIDTH, middle=True), clip(str(step.after), STEP_WIDTH, middle=True)
            change = f"{self.ratio(step.target_label)}: {before} -> {after}"
            table.add(str(step.number), node, step.rule, local, change)
        return table

    def to_json(self) -> dict:
        sp = sympy()
        return {
            "schema": SCHEMA,
            "output": ref_json(self.program, self.program.output),
            "of": ref_json(self.program, self.of),
            "formulas": [{"wrt": f.wrt, "text": f.text, "where": [{"name": n, "text": t} for n, t in f.where],
                          "formula": str(f.expr), "srepr": sp.srepr(f.expr), "latex": self.latex(f.expr),
                          "value": _json_number(f.value), "backprop": _json_number(f.backprop)}
                         for f in self.formulas],
            "steps": [{"number": s.number, "node": {"id": s.node_id, "label": s.node_label},
                       "target": {"id": s.target_id, "label": s.target_label}, "rule": s.rule, "local": s.local,
                       "before": str(s.before), "after": str(s.after)} for s in self.steps],
            "notes": self.notes + self.kink_notes(),
            "warnings": self.warnings,
        }

    def latex(self, expr) -> str:
        sp = sympy()
        return sp.latex(expr, symbol_names={s: latex_name(str(s)) for s in expr.free_symbols})

    def write_latex(self, stream) -> None:
        stream.write(self.to_latex())

    def to_latex(self) -> str:
        """The formulas (and with --steps the steps) as a LaTeX `align*` block (amsmath)."""
        rows = []
        for formula in self.formulas:
            rows.append(f"\\frac{{\\partial {latex_name(self.program.label(self.of))}}}"
                        f"{{\\partial {latex_name(formula.wrt)}}} &= {self.latex(formula.expr)}")
        if self.show_steps:
            for step in self.steps:
                rows.append(f"&\\text{{step {step.number}, {step.rule}:}}\\quad "
                            f"\\frac{{\\partial {latex_name(self.program.label(self.of))}}}"
                            f"{{\\partial {latex_name(step.target_label)}}} = {self.latex(step.after)}")
        return "\\begin{align*}\n" + " \\\\\n".join(rows) + "\n\\end{align*}\n"


def latex_name(name: str) -> str:
    """A name or label as LaTeX: one letter as it is, a longer name in italics with its
    underscores escaped (`data_loss` is not data with a subscript), a sub-expression's text in
    typewriter letters, in parentheses."""
    if len(name) == 1 and name.isalpha():
        return name
    escaped = "".join(_LATEX_ESCAPES.get(c, c) for c in name)
    if re.fullmatch(r"[A-Za-z_][A-Za-z_0-9]*(\[[0-9, ]+\])?", name):
        return f"\\mathit{{{escaped}}}"
    return f"(\\texttt{{{escaped}}})"


_LATEX_ESCAPES = {"_": "\\_", "#": "\\#", "$": "\\$", "%": "\\%", "&": "\\&", "{": "\\{", "}": "\\}",
                  "~": "\\textasciitilde{}", "^": "\\textasciicircum{}", "\\": "\\textbackslash{}"}


def _wrap(label: str) -> str:
    from scalargrad.explain import d

    return d(label)[1:]


def _json_number(x: float | None) -> float | str | None:
    if x is None:
        return None
    return x if x - x == 0 else ("undefined" if x != x else "infinite")
