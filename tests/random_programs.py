"""Programs made at random for the Jacobian and Taylor tests, and the same graphs in torch and SymPy.

`make(seed, ...)` writes a program of scalar inputs and small arrays of inputs (`v = zeros([2])`),
a few intermediate statements and several outputs, with the inputs' values; `torch_function`
and `sympy_expressions` translate a parsed program's graph node by node, so the references
compute exactly what scalargrad's graph computes, with their own derivative rules.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

# Smooth everywhere on the values drawn (no kink, no domain edge), so every derivative exists.
UNARY = ["tanh({})", "sin({})", "cos({})", "exp({} / 4)", "sigmoid({})", "atan({})", "softplus({})",
         "sqrt(1 + {}**2)", "log(1 + {}**2)", "({})**2", "({})**3", "-({})", "log1p({}**2)", "sinh({} / 2)",
         "cosh({} / 2)", "expm1({} / 3)", "asin(tanh({}) / 2)", "tan({} / 4)"]
BINARY = ["{} + {}", "{} - {}", "{} * {}", "{} / (1 + {}**2)", "logsumexp({}, {})", "hypot(1 + {}**2, {})",
          "atan2(2 + {}**2, {})", "({}) * tanh({})", "exp(({}) * ({}) / 8)", "(2 + {}**2) ** sigmoid({})",
          "log(2 + {}**2, 3 + {}**2)"]


@dataclass
class Generated:
    source: str
    values: dict[str, float]  # every input element's value
    outputs: list[str]  # the names differentiated
    inputs: list[str]  # every input element, in the program's order


def make(seed: int, outputs: tuple[int, int] = (2, 4), inputs: tuple[int, int] = (2, 6),
         arrays: bool = True) -> Generated:
    """A program with between outputs[0] and outputs[1] outputs over between inputs[0] and
    inputs[1] input elements (scalars, and with `arrays` small vectors and matrices of inputs)."""
    rng = random.Random(seed)
    lines: list[str] = []
    values: dict[str, float] = {}
    terms: list[str] = []
    target = rng.randint(*inputs)
    count = 0
    while count < target:
        kind = rng.choice(["scalar", "scalar", "vector", "matrix"] if arrays else ["scalar"])
        kind = kind if {"vector": 2, "matrix": 4}.get(kind, 1) <= target - count else "scalar"
        name = f"{'xvW'[['scalar', 'vector', 'matrix'].index(kind)]}{len(lines) + len(values)}"
        if kind == "vector":
            lines.append(f"{name} = zeros([2])")
            for i in range(2):
                values[f"{name}[{i}]"] = round(rng.uniform(-1.5, 1.5), 3)
            terms += [f"{name}[0]", f"sum({name} * {name}) / 3", f"logsumexp({name})"]
            count += 2
        elif kind == "matrix":
            lines.append(f"{name} = zeros([2, 2])")
            for i in range(2):
                for j in range(2):
                    values[f"{name}[{i}, {j}]"] = round(rng.uniform(-1.5, 1.5), 3)
            terms += [f"{name}[1, 0]", f"sum({name} @ [0.5, -0.25])", f"mean(tanh({name}))"]
            count += 4
        else:
            values[name] = round(rng.uniform(-1.5, 1.5), 3)
            terms.append(name)
            count += 1
    unread = [term for term in terms if "[" not in term and "(" not in term]  # scalars: read, or not inputs
    for j in range(max(len(unread), rng.randint(2, 5))):
        form = rng.choice(UNARY) if j < len(unread) else None
        lines.append(f"t{j} = {form.format(unread[j]) if form else _expression(rng, terms)}")
        terms.append(f"t{j}")
    names = []
    for k in range(rng.randint(*outputs)):
        lines.append(f"out{k} = {_expression(rng, terms)}")
        names.append(f"out{k}")
    order = list(values)
    return Generated("\n".join(lines), values, names, order)


def _expression(rng: random.Random, terms: list[str]) -> str:
    if rng.random() < 0.4:
        return rng.choice(UNARY).format(rng.choice(terms))
    form = rng.choice(BINARY)
    return form.format(*(rng.choice(terms) for _ in range(form.count("{}"))))


# -- the same graph in torch and SymPy -------------------------------------------------------------
def torch_function(program, inputs: list[str], outputs: list[str]):
    """f(x) -> the outputs as a torch vector, x the inputs in `inputs` order: the program's graph
    node by node, each op torch's own."""
    import torch

    ops = {
        "+": lambda x, y: x + y, "-": lambda x, y: x - y, "*": lambda x, y: x * y, "/": lambda x, y: x / y,
        "**": torch.pow, "neg": torch.neg, "=": lambda x: x, "exp": torch.exp, "log": torch.log,
        "tanh": torch.tanh, "sigmoid": torch.sigmoid, "sin": torch.sin, "cos": torch.cos, "tan": torch.tan,
        "atan": torch.atan, "asin": torch.asin, "sqrt": torch.sqrt, "sinh": torch.sinh, "cosh": torch.cosh,
        "log1p": torch.log1p, "expm1": torch.expm1, "softplus": lambda x: torch.logaddexp(x, torch.zeros_like(x)),
        "logsumexp": torch.logaddexp, "hypot": torch.hypot, "atan2": torch.atan2,
        "logb": lambda x, y: torch.log(x) / torch.log(y), "max": torch.maximum, "min": torch.minimum, "relu": torch.relu,
    }
    place = {name: i for i, name in enumerate(inputs)}
    wanted = [program.node(name) for name in outputs]

    def f(x):
        value = {}
        for node in program.nodes:
            if node._op == "":
                value[id(node)] = x[place[node.label]]
            elif node._op == "const":
                value[id(node)] = torch.tensor(node.data, dtype=torch.float64)
            else:
                value[id(node)] = ops[node._op](*(value[id(p)] for p in node._prev))
        return torch.stack([value[id(node)] for node in wanted])

    return f


def sympy_expressions(program, outputs: list[str]):
    """Each output as a SymPy expression of the inputs' symbols (named as the inputs, `W[0, 1]`
    too), the program's graph node by node."""
    import sympy

    ops = {
        "+": lambda x, y: x + y, "-": lambda x, y: x - y, "*": lambda x, y: x * y, "/": lambda x, y: x / y,
        "**": lambda x, y: x ** y, "neg": lambda x: -x, "=": lambda x: x, "exp": sympy.exp, "log": sympy.log,
        "tanh": sympy.tanh, "sigmoid": lambda x: 1 / (1 + sympy.exp(-x)), "sin": sympy.sin, "cos": sympy.cos,
        "tan": sympy.tan, "atan": sympy.atan, "asin": sympy.asin, "sqrt": sympy.sqrt, "sinh": sympy.sinh,
        "cosh": sympy.cosh, "log1p": lambda x: sympy.log(1 + x), "expm1": lambda x: sympy.exp(x) - 1,
        "softplus": lambda x: sympy.log(1 + sympy.exp(x)), "logsumexp": lambda x, y: sympy.log(sympy.exp(x) + sympy.exp(y)),
        "hypot": lambda x, y: sympy.sqrt(x ** 2 + y ** 2), "atan2": sympy.atan2,
        "logb": lambda x, y: sympy.log(x) / sympy.log(y),
    }
    value = {}
    for node in program.nodes:
        if node._op == "":
            value[id(node)] = sympy.Symbol(node.label, real=True)
        elif node._op == "const":
            value[id(node)] = sympy.Float(node.data, 30)
        else:
            value[id(node)] = ops[node._op](*(value[id(p)] for p in node._prev))
    return [value[id(program.node(name))] for name in outputs]
