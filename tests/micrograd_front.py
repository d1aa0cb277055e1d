"""The benchmark's reference for end-to-end speed: the micrograd package driven by a small
hand-written front end, text -> micrograd `Value`s -> `backward()`.

    python tests/micrograd_front.py PROGRAM.sg VALUES.json   # prints {name: grad} as JSON

Not scalargrad's code and not a test: what a person could write in an afternoon to get every
gradient of a big program with micrograd. Statements `name = expr` (or a bare last
expression) one a line or separated by `;`; numbers, names, `+ - * / **`, unary `-` and `+`,
parentheses and calls of one argument. A `re` scanner, then operator precedence with explicit
stacks (shunting-yard), no recursion. Names read before they are assigned are inputs, their
values from the JSON file.

micrograd has `+`, `*`, `**` (a number exponent), `relu`, and `-`, `/` made from them. The
lecture's `tanh`, and `exp` and `log`, are added below as the lecture adds tanh: a node with
its own `_backward` closure. micrograd's topological sort is recursive, so everything runs in
a thread with a large stack and a raised recursion limit (as the benchmark's ENGINE_SCRIPT).
"""

import json
import math
import re
import sys
import threading

from micrograd.engine import Value

TOKEN = re.compile(r"[ \t]*(?:((?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?)|([A-Za-z_][A-Za-z_0-9]*)"
                   r"|(\*\*|[-+*/(),=]))")


def _unary(x, value, derivative, op):
    """A micrograd node of one operand: `derivative(out_data, x_data)` is d out / d x."""
    if not isinstance(x, Value):
        return value(x)
    out = Value(value(x.data), (x,), op)

    def _backward():
        x.grad += derivative(out.data, x.data) * out.grad

    out._backward = _backward
    return out


FUNCTIONS = {
    "tanh": lambda x: _unary(x, math.tanh, lambda t, _: 1 - t * t, "tanh"),
    "exp": lambda x: _unary(x, math.exp, lambda e, _: e, "exp"),
    "log": lambda x: _unary(x, math.log, lambda _, v: 1 / v, "log"),
    "relu": lambda x: x.relu() if isinstance(x, Value) else max(0.0, x),
}

# binary operators: precedence, right-associative?
BINARY = {"+": (1, False), "-": (1, False), "*": (2, False), "/": (2, False), "**": (4, True)}
NEG, POS, PREFIX = "neg", "pos", 3


def _apply(op, values):
    if op == NEG:
        values.append(-values.pop())
        return
    if op == POS:
        return
    b = values.pop()
    a = values.pop()
    if op == "+":
        values.append(a + b)
    elif op == "-":
        values.append(a - b)
    elif op == "*":
        values.append(a * b)
    elif op == "/":
        values.append(a / b)
    else:  # micrograd raises to a number only
        values.append(a ** (b.data if isinstance(b, Value) else b))


def expression(tokens, start, names, inputs, bindings):
    """The value of tokens[start:] (numbers stay floats until they meet a Value, as in
    micrograd's `2 * a`)."""
    values, ops = [], []  # ops: operators, "(" and function calls (their name)
    operand = True  # an operand is expected next
    i, n = start, len(tokens)
    while i < n:
        number, name, symbol = tokens[i]
        i += 1
        if operand:
            if number:
                values.append(float(number))
                operand = False
            elif name and i < n and tokens[i][2] == "(":
                ops.append(FUNCTIONS[name])
                i += 1
            elif name:
                node = names.get(name)
                if node is None:
                    node = names[name] = inputs[name] = Value(float(bindings[name]))
                values.append(node)
                operand = False
            elif symbol == "(":
                ops.append("(")
            elif symbol in ("-", "+"):
                ops.append(NEG if symbol == "-" else POS)
            else:
                raise SyntaxError(f"unexpected {symbol!r}")
        elif symbol == ")":
            while ops[-1] != "(" and not callable(ops[-1]):
                _apply(ops.pop(), values)
            opened = ops.pop()
            if callable(opened):
                values.append(opened(values.pop()))
        else:
            precedence, right = BINARY[symbol]
            while ops and ops[-1] not in ("(",) and not callable(ops[-1]):
                top = PREFIX if ops[-1] in (NEG, POS) else BINARY[ops[-1]][0]
                if top > precedence or (top == precedence and not right):
                    _apply(ops.pop(), values)
                else:
                    break
            ops.append(symbol)
            operand = True
    while ops:
        _apply(ops.pop(), values)
    (value,) = values
    return value


def run(source, bindings):
    names, inputs = {}, {}
    last = None
    for line in source.replace(";", "\n").splitlines():
        tokens = TOKEN.findall(line)
        if not tokens:
            continue
        if len(tokens) > 1 and tokens[1][2] == "=":
            last = names[tokens[0][1]] = expression(tokens, 2, names, inputs, bindings)
        else:
            last = expression(tokens, 0, names, inputs, bindings)
    last.backward()
    return {name: node.grad for name, node in names.items() if isinstance(node, Value)}


def main():
    program_file, bindings_file = sys.argv[1], sys.argv[2]
    with open(program_file, encoding="utf-8") as file:
        source = file.read()
    with open(bindings_file, encoding="utf-8") as file:
        bindings = json.load(file)
    result = {}
    sys.setrecursionlimit(10**8)  # micrograd's topological sort recurses as deep as the graph
    threading.stack_size(1 << 30)
    thread = threading.Thread(target=lambda: result.update(run(source, bindings)))
    thread.start()
    thread.join()
    if not result:
        raise SystemExit("failed")
    sys.stdout.write(json.dumps(result))


if __name__ == "__main__":
    main()
