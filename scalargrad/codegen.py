"""The backward pass as code (`scalargrad code`): a self-contained function that takes the inputs
and returns the output and every input's gradient, in Python, NumPy, JavaScript or C (and the
forward pass alone in PyTorch or JAX, for users moving on).

Every line comes from the derivative table: a node's value is its row's forward value and each
gradient step its row's local derivative, both from the row's JavaScript columns (`js_forward`,
`js_local`, which the interactive page already runs and its tests check against `forward` and
`local`), read into trees by `scalargrad.expressions` and printed in each language by one
`Printer` per language (`scalargrad.printers`; the emitter table `LANGUAGES` pairs each with its `Writer`). No rule of calculus is written here.

Two shapes of code, chosen by size:
- up to STRAIGHT_LIMIT operations, **straight-line**: one line per node, named after the
  program's names (`e = a * b`), the backward pass one line per step, each with a comment
  tying it to the statement and the rule;
- past it (arrays, `def` calls, a model), **arrays and loops**: each node's value in `v[id]`
  and its gradient in `g[id]` (ids as `grad` shows them), and every run of nodes that repeats
  with ids in steps (a matrix product's chain, an element-wise layer) rolled up into a loop,
  nested where the runs repeat (`scalargrad.reroll`). The backward pass runs the same loops backwards,
  so the gradients are added in the order backprop adds them: the same numbers to the last bit
  where the language's math library agrees with Python's.

The code checks what `grad` checks: every value a finite number (else its error names the
node: outside an operation's domain, or too large), a node whose gradient is 0 passes nothing
on (an infinite local derivative there is never multiplied by 0), an infinite gradient is an
error, an undefined one (nan) is returned as nan, as `grad --json` gives null.

Never run here: `--verify` and the tests run it in another process (`scalargrad.coderun.run`).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

from scalargrad import expressions
from scalargrad.coderun import run
from scalargrad.engine import Value
from scalargrad.errors import UsageError
from scalargrad.ops import CONST, OPERAND_NAMES, OPS, substitute
from scalargrad.printers import ATOM, C, JavaScript, Jax, NumPy, Printer, Python, Torch, safe_local
from scalargrad.program import Program
from scalargrad.render import Report, Table
from scalargrad.reroll import Node, reroll

STRAIGHT_LIMIT = 200  # operations written one named line each; past it, arrays and loops
MAX_NAMES = 16  # inputs taken as named parameters (Python, JavaScript); past it, one mapping of name -> value


# -- naming ------------------------------------------------------------------------------------
def identifier(label: str) -> str:
    """A program's name as an identifier: `W1[0, 2]` is W1_0_2; `__x` and `_X` (reserved in C) get a letter."""
    text = re.sub(r"[^A-Za-z0-9_]+", "_", label).strip("_") or "node"
    if text[0].isdigit() or label.startswith("_"):
        text = "n_" + text
    return text.replace("__", "_u_")


class Names:
    """Identifiers that are unique, never a keyword or a name the generated code uses itself,
    each program name always mapped to the same one."""

    def __init__(self, reserved: frozenset[str]):
        self.reserved, self.taken, self.given = reserved, set(reserved), {}

    def __call__(self, key: object, wanted: str) -> str:
        if key not in self.given:
            name = identifier(wanted)
            while name in self.taken:
                name += "_"
            self.taken.add(name)
            self.given[key] = name
        return self.given[key]


# -- what to emit ------------------------------------------------------------------------------
@dataclass
class Plan:
    """The program as the code sees it: its nodes in order, which are inputs and constants, and
    for each operation node its comment and the steps of its backward pass."""

    program: Program
    of: Value
    nodes: list[Value]  # upstream of `of`, in topological order
    inputs: list[str]  # every input of the program, in order (parameters of the function)
    straight: bool

    def id(self, node: Value) -> int:
        return self.program.node_id(node)

    def operations(self) -> list[Value]:
        return [n for n in self.nodes if n._prev]

    def forward_note(self, node: Value) -> str:
        label = self.program.label(node)
        text = self.program.text(node)
        return f"[{self.id(node)}] {label}" + (f" = {text}" if label != text else "")

    def backward_note(self, node: Value, position: int) -> str:
        from scalargrad.derive import rule
        from scalargrad.explain import d

        labels = {OPERAND_NAMES[i]: self.program.label(p) for i, p in enumerate(node._prev)}
        formula = substitute(OPS[node._op].formulas[position], labels)
        top = d(self.program.label(node)).removeprefix("d")
        operand = d(self.program.label(node._prev[position])).removeprefix("d")
        return f"[{self.id(node)}] {rule(node, position)}: d{top}/d{operand} = {formula}"


def plan(program: Program, of: Value | None = None) -> Plan:
    from scalargrad import budget

    of = of or program.output
    upstream = program.upstream(of)
    nodes = [n for n in program.nodes[: program.node_id(of) + 1] if id(n) in upstream]
    budget.check_nodes(len(nodes), "the code would have lines for each of its", way_around="--of a smaller node")
    operations = sum(1 for n in nodes if n._prev)
    return Plan(program, of, nodes, list(program.inputs), straight=operations <= STRAIGHT_LIMIT)


# -- the two shapes of code, one writer per family of languages --------------------------------
class Writer:
    """Writes the function: its head, the forward pass, the check of the values, the backward
    pass and the return, in the `printer`'s language. Straight-line or arrays and loops, by
    `plan.straight`. Subclasses say how a statement, a loop and the frame look."""

    def __init__(self, plan: Plan, printer: Printer):
        self.plan, self.p = plan, printer
        self.lines: list[str] = []
        self.depth = 1
        self.names = Names(printer.keywords)
        self.declared: set[int] = set()  # gradients given a first value (straight-line)

    # the pieces a language defines
    def statement(self, target: str, value: str, note: str = "", declare: str = "", op: str = "") -> None:
        """`target = value` (declared as a `declare`: "value", "grad" or "" for none), or with
        `op` "+" or "-" `target += value`; `note` as a comment at the end."""
        raise NotImplementedError

    def open_guard(self, gradient: str) -> None:
        """Start a block that runs only where `gradient` is not 0."""
        raise NotImplementedError

    def open_loop(self, var: str, count: int, backward: bool) -> None:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    def line(self, text: str) -> None:
        self.lines.append("    " * self.depth + text if text else "")

    def note(self, text: str) -> None:
        self.line(f"{self.p.comment} {text}" + (" */" if self.p.comment == "/*" else ""))

    # values and gradients: names (straight-line) or array slots (loops)
    def value(self, node: Value) -> tuple[str, int]:
        if node._op == CONST:
            text = self.p.number(node.data)
            return text, (ATOM if node.data >= 0 else 7)
        return self.names(id(node), self.plan.program.label(node) if self.plan.program.is_named(node)
                          else f"t{self.plan.id(node)}"), ATOM

    def gradient(self, node: Value) -> str:
        return self.names(("d", id(node)), "d" + self.value(node)[0])

    def forward_expr(self, node: Value, env: dict) -> str:
        op = OPS[node._op]
        return self.p.expr(expressions.parse(op.js_forward), env)

    def env(self, node: Value, slots=None) -> dict:
        """x, y and ans of a node's row: its operands and itself, as text."""
        slots = slots or [self.value(p) for p in node._prev] + [self.value(node)]
        return {**dict(zip(OPERAND_NAMES, slots[:-1])), "ans": slots[-1]}

    def accumulate(self, target: str, first: bool, gradient: str, local_tree, env: dict, note: str,
                   declare: str = "") -> None:
        """target (+)= gradient * local: `+ 1` and `- 1` written as the sum they are."""
        if local_tree == ("number", "1"):
            value, sign = gradient, "+"
        elif local_tree == ("unary", "-", ("number", "1")):
            value, sign = gradient, "-"
        else:
            value, sign = f"{gradient} * {self.p.wrap(self.p.text(local_tree, env), 7)}", "+"
        if first:
            self.statement(target, value if sign == "+" else f"-{value}", note, declare)
        else:
            self.statement(target, value, note, op=sign)

    def write(self) -> str:
        raise NotImplementedError

    # straight-line: a named line per node
    def straight_forward(self) -> None:
        for node in self.plan.operations():
            self.statement(self.value(node)[0], self.forward_expr(node, self.env(node)), self.plan.forward_note(node),
                           declare="value")

    def straight_backward(self) -> None:
        plan, of = self.plan, self.plan.of
        label = plan.program.label(of)
        if of._op == CONST:  # a number: nothing depends on an input, every gradient is 0
            self.line("pass  # the output is a number: it depends on no input" if self.p.comment == "#"
                      else f"{self.p.comment} the output is a number: it depends on no input" + (" */" if self.p.comment == "/*" else ""))
            return
        self.statement(self.gradient(of), self.p.number(1.0), f"seed: d{label}/d{label} = 1", declare="grad")
        self.declared = {id(of)}
        for node in reversed(plan.nodes):
            if node._prev and id(node) in self.declared:
                self.backward_node(node, [self.value(p) for p in node._prev] + [self.value(node)], self.gradient(node),
                                   {i: self.gradient(p) for i, p in enumerate(node._prev)})

    def backward_node(self, node: Value, slots: list, gradient: str, targets: dict[int, str]) -> None:
        """The steps of one node: its gradient times its row's local derivative, into each operand
        that is not a number, skipped where its gradient is 0 if a local derivative may be infinite."""
        op = OPS[node._op]
        steps = [(i, p) for i, p in enumerate(node._prev) if p._op != CONST]
        trees = {i: expressions.parse(op.js_local[i]) for i, _ in steps}
        guarded = not all(safe_local(tree) for tree in trees.values())
        straight = self.plan.straight
        if guarded:
            for i, p in steps:
                if straight and id(p) not in self.declared:
                    self.statement(targets[i], self.p.number(0.0), declare="grad")
                    self.declared.add(id(p))
            self.open_guard(gradient)
        for i, p in steps:
            first = straight and id(p) not in self.declared
            self.accumulate(targets[i], first, gradient, trees[i], self.env(node, slots),
                            self.plan.backward_note(node, i), declare="grad")
            self.declared.add(id(p))
        if guarded:
            self.close()

    # arrays and loops: v[id], g[id], runs rolled into loops
    def slot(self, array: str, base: int, terms: tuple) -> tuple[str, int]:
        index = str(base)
        for var, coefficient in terms:
            index += f" {'-' if coefficient < 0 else '+'} {'' if abs(coefficient) == 1 else f'{abs(coefficient)}*'}{var}"
        return f"{array}[{index.removeprefix('0 + ')}]", ATOM

    def looped(self, backward: bool) -> None:
        """The forward (or backward) pass over the rolled-up items, every loop written once; the
        backward pass runs each loop from its last turn to its first, its body last line first."""
        by_id = {self.plan.id(n): n for n in self.plan.nodes}
        items = self.items()
        stack = [("item", item, (), 0) for item in (reversed(items) if not backward else items)]
        while stack:
            kind, item, terms, depth = stack.pop()
            if kind == "close":
                self.close()
                continue
            if isinstance(item, Node):
                self.looped_node(by_id[item.id], item, terms or ((),) * len(item.params), backward)
                continue
            var = f"k{depth}"
            self.open_loop(var, item.count, backward)
            stack.append(("close", None, (), depth))
            inner, at = [], 0
            shifts = terms or ((),) * len(item.params)
            for body in item.body:
                width = len(body.params)
                inner.append(("item", body, tuple(shifts[at + j] + ((var, item.strides[at + j]),) if item.strides[at + j]
                                                  else shifts[at + j] for j in range(width)), depth + 1))
                at += width
            stack.extend(inner if backward else reversed(inner))

    def looped_node(self, node: Value, item: Node, terms: tuple, backward: bool) -> None:
        slots = [self.slot("v", base, shift) for base, shift in zip(item.params, terms)]
        ordered = slots[1:] + slots[:1]  # operands, then the node itself (ans)
        if not backward:
            self.statement(slots[0][0], self.forward_expr(node, self.env(node, ordered)), self.plan.forward_note(node))
            return
        grads = [self.slot("g", base, shift)[0] for base, shift in zip(item.params, terms)]
        self.backward_node(node, ordered, grads[0], {i: grads[i + 1] for i in range(len(node._prev))})

    def items(self) -> list:
        if not hasattr(self, "_items"):
            self._items = reroll([Node(self.plan.id(n), n._op, tuple(self.plan.id(p) for p in n._prev))
                                  for n in self.plan.operations()])
        return self._items


class PythonWriter(Writer):
    """Python and NumPy (the whole function), PyTorch and JAX (the forward pass)."""

    def statement(self, target, value, note="", declare="", op="") -> None:
        guard = getattr(self, "_where", None)
        if guard and op and self.p.name == "numpy":  # element-wise: where the gradient is 0, nothing is added
            value = f"np.where({guard} != 0, {value}, 0)"
        if op and self.p.name == "numpy":  # never `+=`: an array may be another name's too (dx = dt6)
            self.line(f"{target} = {target} {op} {value}" + (f"  # {note}" if note else ""))
            return
        self.line(f"{target} {op}= {value}" + (f"  # {note}" if note else ""))

    def open_guard(self, gradient) -> None:
        if self.p.name == "numpy":
            self._where = gradient
            return
        self.line(f"if {gradient} != 0:")
        self.depth += 1

    def open_loop(self, var, count, backward) -> None:
        self.line(f"for {var} in range({count - 1}, -1, -1):" if backward else f"for {var} in range({count}):")
        self.depth += 1

    def close(self) -> None:
        if getattr(self, "_where", None):
            self._where = None
            return
        self.depth -= 1

    @property
    def gradients_too(self) -> bool:
        return self.p.name in ("python", "numpy")

    def write(self) -> str:
        plan = self.plan
        params = self.parameters()
        out = self.head()
        self.depth = 1
        if plan.straight:
            self.names.taken.update({"inputs"})
        signature = f"def {'forward_backward' if self.gradients_too else 'forward'}({params}):"
        self.lines = [signature, f'    """{self.doc()}"""']
        self.unpack()
        self.forward_block()
        if self.gradients_too:
            self.backward_block()
        else:
            self.line(f"return {self.result()}")
        return out + "\n".join(self.lines) + "\n" + self.tail()

    def parameters(self) -> str:
        plan = self.plan
        if plan.straight and len(plan.inputs) <= MAX_NAMES and all(re.fullmatch(r"[A-Za-z_][A-Za-z_0-9]*", n)
                                                                   for n in plan.inputs):
            self.by_name = True
            return ", ".join(self.value(plan.program.inputs[n])[0] for n in plan.inputs)
        self.by_name = False
        return "inputs"

    def unpack(self) -> None:
        plan = self.plan
        if plan.straight and not self.by_name:
            for name in plan.inputs:
                self.line(f"{self.value(plan.program.inputs[name])[0]} = inputs[{json.dumps(name)}]")
        elif not plan.straight:
            size = len(plan.program.nodes)
            self.line(f"v = [0.0] * {size}  # every node's value, by id (as `scalargrad grad` numbers them)")
            if self.gradients_too:
                self.line(f"g = [0.0] * {size}  # every node's gradient, by id")
            self.line("for name, i in INPUTS:")
            self.line("    v[i] = inputs[name]")
            self.line("for i, value in CONSTANTS:")
            self.line("    v[i] = value")

    def forward_block(self) -> None:
        numeric = self.p.name in ("python", "numpy")
        if numeric:
            self.line('with np.errstate(all="ignore"):' if self.p.name == "numpy" else "try:")
            self.depth += 1
        self.note("forward pass: each node from its operands, in the order of the graph")
        self.straight_forward() if self.plan.straight else self.looped(backward=False)
        if not self.plan.operations():
            self.line("pass  # the output is an input: nothing to compute")
        if not numeric:
            return
        self.depth -= 1
        if self.p.name == "python" and self.plan.straight:
            self.line("except (ArithmeticError, ValueError):  # Python's math refuses: say where")
            self.line("    _check(locals())")
            self.line("    raise")
        elif self.p.name == "python":
            self.line("except (ArithmeticError, ValueError) as error:  # Python's math refuses")
            self.line('    raise DomainError(f"a value is outside the domain of its operation ({error}); '
                      '`scalargrad grad` at these values shows the node") from None')
        self.line(f"_check({'locals()' if self.plan.straight else 'v'})")

    def backward_block(self) -> None:
        if self.p.name == "numpy":
            self.line('with np.errstate(all="ignore"):')
        else:
            self.line("try:")
        self.depth += 1
        self.note("backward pass: each node passes its gradient to its operands, the last node first")
        if self.plan.straight:
            self.straight_backward()
        else:
            self.line(f"g[{self.plan.id(self.plan.of)}] = 1.0  # seed")
            self.looped(backward=True)
        self.depth -= 1
        if self.p.name == "python":
            self.line("except ArithmeticError as error:  # a division by 0: a local derivative is infinite or undefined")
            self.line('    raise DomainError(f"a local derivative is infinite or undefined here ({error})") from None')
        self.line(f"gradients = {self.gradient_map()}")
        self.line("_check_gradients(gradients)")
        self.line(f"return {self.result()}, gradients")

    def result(self) -> str:
        return self.value(self.plan.of)[0] if self.plan.straight else f"v[{self.plan.id(self.plan.of)}]"

    def gradient_map(self) -> str:
        plan = self.plan
        if not plan.straight:
            return "{name: g[i] for name, i in INPUTS}"
        upstream = {id(n) for n in plan.nodes}
        parts = [f"{json.dumps(name)}: {self.gradient(node) if id(node) in upstream else '0.0'}"
                 for name, node in ((n, plan.program.inputs[n]) for n in plan.inputs)]
        return "{" + ", ".join(parts) + "}"

    def doc(self) -> str:
        name = self.plan.program.label(self.plan.of)
        if not self.gradients_too:
            return f"The value of {name}, the forward pass as `scalargrad grad` computes it."
        return (f"({name}, gradients): the value of {name} and d{name}/d(input) of every input, by name; "
                "nan where a gradient is undefined.")

    def head(self) -> str:
        plan, name = self.plan, self.p.name
        lines = [f"# {line}" for line in source_lines(plan.program)]
        label = plan.program.label(plan.of)
        what = "the gradient of every input: the forward pass, then the backward pass" if self.gradients_too \
            else "the forward pass (the framework's autodiff gives the gradients)"
        lines += ["#", f"# The value of {label} and {what}.",
                  f"# Written by `scalargrad code --lang {name}` from the derivative table: each line is a node of",
                  "# the graph (ids as `scalargrad grad` shows them) or a step of the backward pass, its comment",
                  "# the statement or the rule it comes from.", f"# {self.call_example()}", ""]
        imports = {"python": ["import math"], "numpy": ["import numpy as np"], "torch": ["import math", "", "import torch"],
                   "jax": ["import jax.numpy as jnp", "", "# float64, as scalargrad: jax.config.update(\"jax_enable_x64\", True)"]}
        lines += imports[name] + [""]
        if self.gradients_too:
            lines += ["", "class DomainError(ValueError):",
                      '    """A value outside the domain of its operation, or not a finite number; or an infinite gradient."""',
                      "", ""]
        lines += self.tables()
        return "\n".join(lines) + "\n"

    def call_example(self) -> str:
        self.parameters()
        if self.by_name:
            return f"Call: forward_backward({', '.join(f'{n}=...' for n in self.plan.inputs)})." if self.gradients_too \
                else f"Call: forward({', '.join(self.plan.inputs)})."
        return "Call it with a dict of every input's value by name (INPUTS lists them)."

    def tables(self) -> list[str]:
        plan = self.plan
        if plan.straight:
            if not self.gradients_too:
                return []
            rows = [f"    ({json.dumps(self.value(n)[0])}, {json.dumps(plan.forward_note(n))})," for n in plan.operations()]
            return ["# each node's variable and where it comes from, for the errors", "NODES = [", *rows, "]", "", ""]
        inputs = [f"({json.dumps(name)}, {plan.program.node_id(plan.program.inputs[name])})" for name in plan.inputs]
        constants = [f"({plan.id(n)}, {n.data!r})" for n in plan.nodes if n._op == CONST]
        return ["INPUTS = [  # each input's name and node id", *wrapped(inputs), "]",
                "CONSTANTS = [  # each number of the program: its node id and value", *wrapped(constants), "]", "", ""]

    def tail(self) -> str:
        if not self.gradients_too:
            return ""
        array = self.p.name == "numpy"
        finite = "np.all(np.isfinite(value))" if array else "value - value == 0"
        if self.plan.straight:
            check = ["def _check(values):",
                     '    """Every value must be a finite number, as in `scalargrad grad`: the first that is not (or that',
                     '    Python\'s math would not compute) is the error, with its node."""',
                     "    for name, node in NODES:",
                     "        value = values.get(name)",
                     f"        if value is None or not ({finite}):",
                     '            raise DomainError(f"{node}: not a finite number (outside the domain of its operation, '
                     'or too large)")']
        else:
            check = ["def _check(v):",
                     '    """Every value must be a finite number, as in `scalargrad grad`: the first that is not is the error."""',
                     "    for i, value in enumerate(v):",
                     f"        if not ({finite}):",
                     '            raise DomainError(f"node [{i}]: not a finite number (outside the domain of its operation, '
                     'or too large); `scalargrad grad` shows the node")']
        infinite = "np.any(np.isinf(grad))" if array else "grad in (math.inf, -math.inf)"
        check += ["", "", "def _check_gradients(gradients):",
                  '    """An infinite gradient is an error, as in `scalargrad grad`; an undefined one (nan) is returned."""',
                  "    for name, grad in gradients.items():",
                  f"        if {infinite}:",
                  '            raise DomainError(f"the gradient of {name} is infinite or too large for a float here")']
        return "\n\n" + "\n".join(check) + "\n"


def wrapped(items: list[str], indent: str = "    ", width: int = 100) -> list[str]:
    """Items of a table, comma separated, as lines of at most `width` characters."""
    lines, line = [], indent
    for item in items:
        if len(line) + len(item) + 2 > width and line.strip():
            lines.append(line.rstrip())
            line = indent
        line += item + ", "
    if line.strip():
        lines.append(line.rstrip())
    return lines


def source_lines(program: Program, limit: int = 20) -> list[str]:
    """The program's text for a comment: control characters escaped, and nothing that could end a
    comment in any language (`*/`, a trailing backslash, `??` trigraphs)."""
    from scalargrad.errors import printable

    lines = program.source.splitlines() or [""]
    shown = [printable(line).replace("*/", "* /").replace("??", "? ?").rstrip("\\ ") for line in lines[:limit]]
    return shown + ([f"... ({len(lines) - limit} more lines)"] if len(lines) > limit else [])


class CWriter(Writer):
    """C99 and JavaScript: braces, a declaration per first value, the checks written out."""

    @property
    def c(self) -> bool:
        return self.p.name == "c"

    def statement(self, target, value, note="", declare="", op="") -> None:
        kind = ("const double " if declare == "value" else "double ") if self.c else \
            ("const " if declare == "value" else "let ")
        prefix = kind if declare and not op else ""
        end = f" {self.p.comment} {note}" + (" */" if self.c else "") if note else ""
        self.line(f"{prefix}{target} {op}= {value};{end}")

    def open_guard(self, gradient) -> None:
        self.line(f"if ({gradient} != 0.0) {{" if self.c else f"if ({gradient} !== 0) {{")
        self.depth += 1

    def open_loop(self, var, count, backward) -> None:
        kind = "int" if self.c else "let"
        self.line(f"for ({kind} {var} = {count - 1}; {var} >= 0; {var}--) {{" if backward
                  else f"for ({kind} {var} = 0; {var} < {count}; {var}++) {{")
        self.depth += 1

    def close(self) -> None:
        self.depth -= 1
        self.line("}")

    def write(self) -> str:
        self.names.taken.update({"inputs", "gradients", "values"})
        head = self.head()
        self.lines = []
        self.depth = 1
        self.unpack()
        self.note("forward pass: each node from its operands, in the order of the graph")
        self.straight_forward() if self.plan.straight else self.looped(backward=False)
        self.check_values()
        self.note("backward pass: each node passes its gradient to its operands, the last node first")
        if self.plan.straight:
            self.straight_backward()
        else:
            self.line(f"g[{self.plan.id(self.plan.of)}] = 1.0;{' /* seed */' if self.c else ' // seed'}")
            self.looped(backward=True)
        self.finish()
        return head + "\n".join(self.lines) + "\n}\n" + self.tail()

    def unpack(self) -> None:
        plan, c = self.plan, self.c
        if plan.straight:
            upstream = {id(n) for n in plan.nodes}
            for i, name in enumerate(plan.inputs):
                node = plan.program.inputs[name]
                if id(node) in upstream:
                    source = f"in[{i}]" if c else f"inputs[{json.dumps(name)}]"
                    self.statement(self.value(node)[0], source, name, declare="value")
            if c and not any(id(plan.program.inputs[n]) in upstream for n in plan.inputs):
                self.line("(void)in;")
            return
        size = len(plan.program.nodes)
        if c:
            self.line(f"double *v = calloc(2 * (size_t){size}, sizeof(double)); /* values, then gradients, by node id */")
            self.line("if (v == NULL)")
            self.line('    return fail(error, "out of memory");')
            self.line(f"double *g = v + {size};")
            self.line("for (int i = 0; i < N_INPUTS; i++)")
            self.line("    v[INPUT_IDS[i]] = in[i];")
            self.line("for (int i = 0; i < N_CONSTANTS; i++)")
            self.line("    v[CONSTANT_IDS[i]] = CONSTANT_VALUES[i];")
        else:
            self.line(f"const v = new Float64Array({size}); // every node's value, by id (as `scalargrad grad` numbers them)")
            self.line(f"const g = new Float64Array({size}); // every node's gradient, by id")
            self.line("for (const [name, i] of INPUTS) v[i] = inputs[name];")
            self.line("for (const [i, value] of CONSTANTS) v[i] = value;")

    def check_values(self) -> None:
        self.note("every value must be a finite number, as in `scalargrad grad`: the first that is not is the error")
        if not self.plan.straight:
            size = len(self.plan.program.nodes)
            if self.c:
                self.line(f"for (int i = 0; i < {size}; i++)")
                self.line("    if (!isfinite(v[i])) {")
                self.line("        free(v);")
                self.line("        return fail_node(error, i);")
                self.line("    }")
            else:
                self.line("v.forEach((value, i) => { if (!Number.isFinite(value)) throw new DomainError(`node [${i}]: "
                          "not a finite number (outside the domain of its operation, or too large)`); });")
            return
        values = [self.value(n)[0] for n in self.plan.operations()]
        if self.c:
            count = len(values)
            self.line("{")
            self.line(f"    const double values[{count}] = {{{', '.join(values)}}};")
            self.line(f"    for (int i = 0; i < {count}; i++)")
            self.line("        if (!isfinite(values[i]))")
            self.line("            return fail(error, NODES[i]);")
            self.line("}")
        else:
            self.line(f"[{', '.join(values)}].forEach((value, i) => {{ if (!Number.isFinite(value)) "
                      "throw new DomainError(NODES[i]); });")

    def finish(self) -> None:
        plan, c = self.plan, self.c
        upstream = {id(n) for n in plan.nodes}
        if plan.straight:
            grads = [self.gradient(plan.program.inputs[n]) if id(plan.program.inputs[n]) in upstream else "0.0"
                     for n in plan.inputs]
            out = self.value(plan.of)[0]
        else:
            grads = None
            out = f"v[{plan.id(plan.of)}]"
        if c:
            if grads is None:
                self.line("for (int i = 0; i < N_INPUTS; i++)")
                self.line("    grad[i] = g[INPUT_IDS[i]];")
            else:
                for i, grad in enumerate(grads):
                    self.line(f"grad[{i}] = {grad};")
            self.line(f"*out = {out};")
            if grads is None:
                self.line("free(v);")
            self.line("for (int i = 0; i < N_INPUTS; i++)")
            self.line("    if (isinf(grad[i]))")
            self.line('        return fail(error, "a gradient is infinite or too large for a float here");')
            self.line("return 0;")
            return
        if grads is None:
            self.line("const gradients = Object.fromEntries(INPUTS.map(([name, i]) => [name, g[i]]));")
        else:
            self.line("const gradients = {" + ", ".join(f"{json.dumps(n)}: {g}" for n, g in zip(plan.inputs, grads)) + "};")
        self.line("for (const [name, grad] of Object.entries(gradients))")
        self.line("  if (grad === Infinity || grad === -Infinity)")
        self.line("    throw new DomainError(`the gradient of ${name} is infinite or too large for a float here`);")
        self.line(f"return {{value: {out}, gradients}};")

    def head(self) -> str:
        plan, c = self.plan, self.c
        lines = [f"// {line}" for line in source_lines(plan.program)]
        name = plan.program.label(plan.of)
        if c:
            lines += ["//", f"// The value of {name} and the gradient of every input: the forward pass, then the backward pass.",
                      "// Written by `scalargrad code --lang c` from the derivative table: each line is a node of the",
                      "// graph (ids as `scalargrad grad` shows them) or a step of the backward pass, its comment the",
                      "// statement or the rule it comes from. C99: cc -O2 -std=c99 -c, and link with -lm.",
                      "// int forward_backward(const double *in, double *out, double *grad, const char **error): in[]",
                      "// and grad[] hold the inputs in the order of scalargrad_input_names; returns 0, or 1 with *error.",
                      "#include <math.h>", "#include <stddef.h>"]
            if not plan.straight:
                lines += ["#include <stdio.h>", "#include <stdlib.h>"]
            lines += ["", f"#define N_INPUTS {len(plan.inputs)}", "",
                      "const char *const scalargrad_input_names[N_INPUTS] = {",
                      *wrapped([json.dumps(n) for n in plan.inputs]), "};", ""]
        else:
            lines += ["//", f"// The value of {name} and the gradient of every input: the forward pass, then the backward pass.",
                      "// Written by `scalargrad code --lang javascript` from the derivative table: each line is a node",
                      "// of the graph (ids as `scalargrad grad` shows them) or a step of the backward pass, its comment",
                      "// the statement or the rule it comes from.",
                      "// Call: forwardBackward({" + ", ".join(f"{json.dumps(n)}: ..." for n in plan.inputs[:4])
                      + (", ..." if len(plan.inputs) > 4 else "") + "}) -> {value, gradients}.",
                      '"use strict";', "", "class DomainError extends Error {}", ""]
        lines += self.tables()
        lines += self.helpers()
        signature = "int forward_backward(const double *in, double *out, double *grad, const char **error)" if c \
            else "function forwardBackward(inputs) {"
        return "\n".join(lines) + "\n" + signature + ("\n{\n" if c else "\n")

    def tables(self) -> list[str]:
        plan, c = self.plan, self.c
        if plan.straight:
            notes = [json.dumps(f"{plan.forward_note(n)}: not a finite number (outside the domain of its operation, "
                                "or too large)") for n in plan.operations()]
            if c:
                return [f"static const char *const NODES[{max(1, len(notes))}] = {{", *(f"    {n}," for n in notes), "};", ""]
            return ["const NODES = [", *(f"  {n}," for n in notes), "];", ""]
        ids = [str(plan.program.node_id(plan.program.inputs[n])) for n in plan.inputs]
        constants = [n for n in plan.nodes if n._op == CONST]
        if c:
            rows = ["static const int INPUT_IDS[N_INPUTS] = {", *wrapped(ids), "};", f"#define N_CONSTANTS {len(constants)}"]
            if constants:
                rows += ["static const int CONSTANT_IDS[N_CONSTANTS] = {", *wrapped([str(plan.id(n)) for n in constants]),
                         "};", "static const double CONSTANT_VALUES[N_CONSTANTS] = {",
                         *wrapped([repr(n.data) for n in constants]), "};"]
            else:
                rows += ["static const int CONSTANT_IDS[1] = {0};", "static const double CONSTANT_VALUES[1] = {0.0};"]
            return rows + [""]
        return ["const INPUTS = [  // each input's name and node id",
                *wrapped([f"[{json.dumps(n)}, {i}]" for n, i in zip(plan.inputs, ids)], "  "), "];",
                "const CONSTANTS = [  // each number of the program: its node id and value",
                *wrapped([f"[{plan.id(n)}, {n.data!r}]" for n in constants], "  "), "];", ""]

    def helpers(self) -> list[str]:
        if not self.c:
            return []
        lines = ["static int fail(const char **error, const char *message)", "{", "    if (error != NULL)",
                 "        *error = message;", "    return 1;", "}", ""]
        if not self.plan.straight:
            lines += ["static int fail_node(const char **error, int i)", "{", "    static char message[160];",
                      '    snprintf(message, sizeof message, "node [%d]: not a finite number (outside the domain of its '
                      'operation, or too large)", i);', "    return fail(error, message);", "}", ""]
        return lines

    def tail(self) -> str:
        if self.c:
            return ""
        return '\nif (typeof module !== "undefined") module.exports = { forwardBackward, DomainError };\n'


LANGUAGES: dict[str, tuple[type[Printer], type[Writer]]] = {
    "python": (Python, PythonWriter), "numpy": (NumPy, PythonWriter), "javascript": (JavaScript, CWriter),
    "c": (C, CWriter), "torch": (Torch, PythonWriter), "jax": (Jax, PythonWriter),
}


def emit_code(program: Program, language: str, of: Value | None = None) -> str:
    """The code of `program` in `language` (a key of LANGUAGES)."""
    if language not in LANGUAGES:
        raise UsageError(f"no language `{language}`", hint=f"choose one of {', '.join(LANGUAGES)}")
    if not program.inputs:
        raise UsageError("the program has no inputs: it has no gradient to compute",
                         hint="read an input, as in `L = a * 2`")
    printer, writer = LANGUAGES[language]
    return writer(plan(program, of), printer()).write()


# -- the report ---------------------------------------------------------------------------------
SCHEMA = "scalargrad.code/1"
TOLERANCE = 1e-12  # relative: the code's gradient against backprop's, in --verify


class Text:
    """A section that is the code itself, printed exactly (no styling, no wrapping)."""

    def __init__(self, text: str):
        self.text = text

    def print(self, stream=None) -> None:
        import sys

        (stream or sys.stdout).write(self.text)


def code(program: Program, language: str, of: Value | None = None, *,
         warnings: list[str] | None = None) -> CodeReport:
    """`scalargrad code`: the code of `program` in `language`, as a report."""
    made = plan(program, of)
    text = emit_code(program, language, of)
    return CodeReport(program, made.of, language, text, "straight-line" if made.straight else "loops",
                      by_name=_by_name(made, language), warnings=list(warnings or []))


def _by_name(made: Plan, language: str) -> bool:
    """Whether the Python function takes the inputs as named parameters (else one mapping)."""
    if language in ("javascript", "c"):
        return False
    writer = PythonWriter(made, LANGUAGES[language][0]())
    writer.parameters()
    return writer.by_name


def verify(report: CodeReport, values: dict[str, float]) -> None:
    """Run the report's code at `values` in another process and compare every gradient with
    backprop's (scalargrad's own, `program.run`): `report.rows`, `report.verdict`."""
    import tempfile

    from scalargrad.errors import DomainError

    program = report.program
    missing = [name for name in program.inputs if name not in values]
    if missing:
        raise UsageError(f"--verify runs the code at the inputs' values: missing values for {', '.join(missing[:10])}",
                         hint="give them as --NAME VALUE (or run without --verify to print the code)")
    expected, refused = None, None
    try:
        program.run(values, report.of)
        expected = {name: node.grad for name, node in program.inputs.items()}
    except DomainError as error:
        refused = error.message
    with tempfile.TemporaryDirectory(prefix="scalargrad-code-") as folder:
        result = run(report.code, report.language, list(program.inputs), dict(values), folder)
    report.result, report.refused = result, refused
    if "unavailable" in result:
        raise UsageError(f"cannot verify the {report.language} code here: {result['unavailable']}",
                         hint="install it, or verify another language (--lang python, numpy, javascript or c)")
    report.rows = _compare(expected, result, report.of.data if expected else None)


def _compare(expected: dict[str, float] | None, result: dict, value: float | None) -> list[tuple[str, str, str, bool]]:
    """(what, scalargrad's, the code's, agree) for the output and each gradient, or for the error."""
    if expected is None or "error" in result:
        ours = "refused" if expected is None else "computed"
        theirs = f"error: {result['error']}" if "error" in result else "computed"
        return [("result", ours, theirs, expected is None and "error" in result)]
    rows = [("value", repr(value), result["value"], _close(value, float(result["value"])))]
    for name, grad in expected.items():
        got = float(result["gradients"][name])
        rows.append((name, repr(grad), result["gradients"][name], _close(grad, got)))
    if result.get("warnings"):
        rows.append(("compiler", "no warnings", result["warnings"].strip()[:300], False))
    return rows


def _close(a: float, b: float) -> bool:
    if a != a or b != b:
        return a != a and b != b  # both undefined
    return a == b or abs(a - b) <= TOLERANCE * max(abs(a), abs(b))


@dataclass
class CodeReport(Report):
    program: Program
    of: Value
    language: str
    code: str
    shape: str  # "straight-line" or "loops"
    by_name: bool = False
    warnings: list[str] = field(default_factory=list)
    rows: list[tuple[str, str, str, bool]] | None = None  # --verify: what, scalargrad's, the code's, agree
    result: dict | None = None
    refused: str | None = None

    @property
    def agrees(self) -> bool:
        return self.rows is None or all(row[3] for row in self.rows)

    @property
    def exit_code(self) -> int:
        return 0 if self.agrees else 1

    def sections(self) -> list:
        if self.rows is None:
            return [Text(self.code)]
        table = Table(["", "scalargrad", self.language, "verdict"], key="",
                      title=f"the {self.language} code ({self.shape}) run at the values, against backprop "
                            f"(to {TOLERANCE:g} relative)")
        for what, ours, theirs, agree in self.rows:
            table.add(what, ours, theirs, "ok" if agree else "DIFFERS", style="" if agree else "bold red")
        if self.refused:
            table.notes.append(f"scalargrad: {self.refused}")
        if self.refused and self.agrees:
            table.notes.append("both refuse these values, as they should")
        else:
            table.notes.append("every gradient agrees" if self.agrees else "the code does NOT agree with backprop")
        return [table]

    def to_json(self) -> dict:
        from scalargrad.render import ref_json

        verified = None if self.rows is None else {
            "agrees": self.agrees, "tolerance": TOLERANCE, "refused": self.refused,
            "rows": [{"what": w, "scalargrad": o, "code": t, "agrees": a} for w, o, t, a in self.rows]}
        return {"schema": SCHEMA, "output": ref_json(self.program, self.program.output),
                "of": ref_json(self.program, self.of), "language": self.language, "shape": self.shape,
                "inputs": list(self.program.inputs), "code": self.code, "verify": verified, "warnings": self.warnings}
