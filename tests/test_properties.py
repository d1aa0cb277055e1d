"""Properties over programs generated from the grammar.

Each generated expression is written twice, as scalargrad text and as a SymPy expression;
scalargrad's gradients must match SymPy's symbolic derivatives and central differences.
"""

import math

import pytest
import sympy
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from scalargrad import ParseError, NameUsageError, ScalarGradError, parse

NAMES = ["a", "b", "c"]
SYMBOLS = {name: sympy.Symbol(name, real=True) for name in NAMES}  # real: Abs differentiates to sign

# Every operation appears in a form that stays inside its domain for any real operands,
# so the properties test calculus, not domain errors (those have their own tests).
leaves = st.one_of(
    st.sampled_from(NAMES).map(lambda n: (n, SYMBOLS[n])),
    st.integers(1, 5).map(lambda k: (str(k), sympy.Integer(k))),
    st.sampled_from(["0.5", "1.5", ".25", "2e-1"]).map(lambda t: (t, sympy.Rational(sympy.nsimplify(float(t))))),
)


# Two-argument functions, each kept inside its domain and away from its singular points
# min and max as (l + r -+ |l - r|) / 2, whose slope at a tie is the table's half each.
FUNCTIONS_OF_TWO = {
    "min": (lambda l, r: f"min({l}, {r})", lambda l, r: (l + r - sympy.Abs(l - r)) / 2),
    "max": (lambda l, r: f"max({l}, {r})", lambda l, r: (l + r + sympy.Abs(l - r)) / 2),
    "atan2": (lambda l, r: f"atan2({l}, {r}*{r} + 1)", lambda l, r: sympy.atan2(l, r * r + 1)),
    "hypot": (lambda l, r: f"hypot({l}, {r}*{r} + 1)", lambda l, r: sympy.sqrt(l * l + (r * r + 1) ** 2)),
    "logb": (lambda l, r: f"log({l}*{l} + 1, {r}*{r} + 2)", lambda l, r: sympy.log(l * l + 1, r * r + 2)),
    "logsumexp": (lambda l, r: f"logsumexp({l}, {r})", lambda l, r: sympy.log(sympy.exp(l) + sympy.exp(r))),
}


def _binary(children):
    def build(op, pair):
        (lt, ls), (rt, rs) = pair
        if op == "+":
            return f"({lt} + {rt})", ls + rs
        if op == "-":
            return f"({lt} - {rt})", ls - rs
        if op == "*":
            return f"({lt} * {rt})", ls * rs
        if op in FUNCTIONS_OF_TWO:
            text_form, sym_form = FUNCTIONS_OF_TWO[op]
            return text_form(lt, rt), sym_form(ls, rs)
        # division by something that cannot be 0
        return f"({lt} / ({rt}*{rt} + 1))", ls / (rs * rs + 1)

    operators = list("+-*/") + sorted(FUNCTIONS_OF_TWO)
    return st.tuples(st.sampled_from(operators), st.tuples(children, children)).map(lambda t: build(*t))


def _unary(children):
    forms = {
        "neg": (lambda t: f"-{t}", lambda s: -s),
        "tanh": (lambda t: f"tanh({t})", sympy.tanh),
        "sin": (lambda t: f"sin({t})", sympy.sin),
        "cos": (lambda t: f"cos({t})", sympy.cos),
        "sigmoid": (lambda t: f"sigmoid({t})", lambda s: 1 / (1 + sympy.exp(-s))),
        "exp": (lambda t: f"exp(tanh({t}))", lambda s: sympy.exp(sympy.tanh(s))),
        "log": (lambda t: f"log({t}*{t} + 1)", lambda s: sympy.log(s * s + 1)),
        "sqrt": (lambda t: f"sqrt({t}*{t} + 1)", lambda s: sympy.sqrt(s * s + 1)),
        "square": (lambda t: f"({t})**2", lambda s: s**2),
        "cube": (lambda t: f"({t})**3", lambda s: s**3),
        "power": (lambda t: f"(({t})*({t}) + 1) ** tanh(a)", lambda s: (s * s + 1) ** sympy.tanh(SYMBOLS["a"])),
        # a negative base with a computed (folded) integer exponent
        "negative base": (lambda t: f"(-({t})*({t}) - 1) ** -2", lambda s: (-(s * s) - 1) ** -2),
        "tan": (lambda t: f"tan(tanh({t}))", lambda s: sympy.tan(sympy.tanh(s))),
        # relu as s * H(s) with H(0) = 0: scalargrad's convention at the kink (sympy's Max gives 1/2)
        "relu": (lambda t: f"relu({t})", lambda s: s * sympy.Heaviside(s, 0)),
        "abs": (lambda t: f"abs({t})", sympy.Abs),
        "asin": (lambda t: f"asin(0.9 * tanh({t}))", lambda s: sympy.asin(sympy.Rational(9, 10) * sympy.tanh(s))),
        "acos": (lambda t: f"acos(0.9 * tanh({t}))", lambda s: sympy.acos(sympy.Rational(9, 10) * sympy.tanh(s))),
        "sinh": (lambda t: f"sinh(tanh({t}))", lambda s: sympy.sinh(sympy.tanh(s))),
        "cosh": (lambda t: f"cosh(tanh({t}))", lambda s: sympy.cosh(sympy.tanh(s))),
        "log1p": (lambda t: f"log1p({t}*{t})", lambda s: sympy.log(1 + s * s)),
        "expm1": (lambda t: f"expm1(tanh({t}))", lambda s: sympy.exp(sympy.tanh(s)) - 1),
        "log2": (lambda t: f"log2({t}*{t} + 1)", lambda s: sympy.log(s * s + 1, 2)),
        "log10": (lambda t: f"log10({t}*{t} + 1)", lambda s: sympy.log(s * s + 1, 10)),
        "softplus": (lambda t: f"softplus({t})", lambda s: sympy.log(1 + sympy.exp(s))),
        "pi": (lambda t: f"({t}) * pi", lambda s: s * sympy.pi),
    }

    def build(name, child):
        text_form, sym_form = forms[name]
        return text_form(child[0]), sym_form(child[1])

    return st.tuples(st.sampled_from(sorted(forms)), children).map(lambda t: build(*t))


expressions = st.recursive(leaves, lambda children: st.one_of(_binary(children), _unary(children)), max_leaves=12)
points = st.fixed_dictionaries({name: st.floats(-2, 2, allow_nan=False) for name in NAMES})


def run(text, point):
    program = parse(text)  # a bare expression is the output
    values = {name: point[name] for name in program.inputs}
    program.run(values)
    return program, values


def real(value) -> float:
    """A SymPy number as a float: its evalf of atan2 can carry an imaginary residue of 1e-21
    (atan2(1, tan(tanh(1)))), which is rounding, not a complex value."""
    z = complex(value)
    assert abs(z.imag) <= 1e-12 * max(1.0, abs(z.real)), value
    return z.real


@pytest.mark.slow
@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(expressions, points)
def test_gradients_match_sympy(expr, point):
    text, symbolic = expr
    program, values = run(text, point)
    assume(program.inputs)
    assume(not near_a_kink(program))  # at a kink SymPy has no derivative; the table's convention is documented
    subs = {SYMBOLS[name]: value for name, value in values.items()}
    expected_value = real(symbolic.evalf(subs=subs))
    assert program.output.data == pytest.approx(expected_value, rel=1e-9, abs=1e-9)
    for name in program.inputs:
        expected = real(sympy.diff(symbolic, SYMBOLS[name]).evalf(subs=subs))
        assert program.names[name].grad == pytest.approx(expected, rel=1e-7, abs=1e-9), (text, name)


@settings(max_examples=120, deadline=None)
@given(expressions, points)
def test_gradients_match_central_differences(expr, point):
    text, _ = expr
    program, values = run(text, point)
    assume(not near_a_kink(program))  # finite differences say nothing there: `check` reports KINK
    analytic = {name: program.names[name].grad for name in program.inputs}
    for name in program.inputs:
        h = 1e-6 * max(1.0, abs(values[name]))
        plus, minus = dict(values), dict(values)
        plus[name] += h
        minus[name] -= h
        program.evaluate(plus)
        up = program.output.data
        program.evaluate(minus)
        down = program.output.data
        numeric = (up - down) / (2 * h)
        assert analytic[name] == pytest.approx(numeric, rel=1e-4, abs=1e-5), (text, name)


def near_a_kink(program, distance: float = 1e-3) -> bool:
    """Whether an op with a kink sees an operand within `distance` of 0 (relu, abs), or two
    operands within `distance` of each other (min, max)."""
    from scalargrad.ops import OPS

    def near(node):
        if len(node._prev) == 1:
            return abs(node._prev[0].data) < distance
        return abs(node._prev[0].data - node._prev[1].data) < distance  # min and max at a tie

    return any(OPS[node._op].kink is not None and near(node) for node in program.nodes if node._prev)


@st.composite
def statement_programs(draw):
    """A few statements, each built from the inputs and the names bound before it."""
    lines, env = [], dict(SYMBOLS)
    for i in range(draw(st.integers(1, 4))):
        text, symbolic = draw(expressions)
        if i and draw(st.booleans()):
            previous = f"v{draw(st.integers(0, i - 1))}"
            text, symbolic = f"({text}) * {previous}", symbolic * sympy.Symbol(previous)
        lines.append(f"v{i} = {text}")
        env[f"v{i}"] = symbolic.subs({sympy.Symbol(k): v for k, v in env.items() if k.startswith("v")})
    return "\n".join(lines), env[f"v{len(lines) - 1}"]


@pytest.mark.slow
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(statement_programs(), points)
def test_statement_programs_match_sympy(generated, point):
    source, symbolic = generated
    program = parse(source)
    values = {name: point[name] for name in program.inputs if name in point}  # `v0 = 2` is a default
    program.run(values)
    assume(not near_a_kink(program))  # at a kink SymPy has no derivative; the table's convention is documented
    subs = {SYMBOLS[name]: value for name, value in values.items()}
    assert program.output.data == pytest.approx(float(symbolic.evalf(subs=subs)), rel=1e-9, abs=1e-9)
    for name in values:
        expected = float(sympy.diff(symbolic, SYMBOLS[name]).evalf(subs=subs))
        assert program.names[name].grad == pytest.approx(expected, rel=1e-7, abs=1e-9), (source, name)


@settings(max_examples=60, deadline=None)
@given(expressions, points)
def test_backward_twice_gives_the_same_gradients(expr, point):
    program, values = run(expr[0], point)
    first = [node.grad for node in program.nodes]
    program.backward()
    assert [node.grad for node in program.nodes] == first


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="ab(x)e1.2+-*/ =;\n#\t", max_size=40))
def test_any_text_parses_or_raises_a_user_error(text):
    try:
        program = parse(text)
    except (ParseError, NameUsageError) as error:
        message = error.format()
        assert message.startswith("error: ")
        assert "$END" not in message and "__ANON" not in message
        return
    try:
        program.run({name: 1.5 for name in program.inputs})
    except ScalarGradError:
        return
    assert math.isfinite(program.output.data)


# -- constants, aliases and inputs mixed: the constant rule, whatever the neighbours ----------
@st.composite
def constant_programs(draw):
    """Statements mixing named constants (`k = 2*3`), aliases (`q = k`), defaults (`a = 2`),
    and expressions over the inputs x, y and earlier names; with, for each name, whether its
    value depends on an input (x, y or a default), which is what makes it not a constant."""
    lines, depends = [], {}
    for i in range(draw(st.integers(1, 6))):
        name = f"v{i}"
        kind = draw(st.sampled_from(["default", "constant", "alias", "expression", "expression"]))
        earlier = sorted(depends)
        if kind == "default":
            text, uses_input = str(draw(st.integers(-3, 3))), True
        elif kind == "constant":
            text, uses_input = f"{draw(st.integers(1, 4))} * {draw(st.integers(1, 4))}", False
        elif kind == "alias":
            target = draw(st.sampled_from(earlier + ["x"]))
            text, uses_input = target, depends.get(target, True)
        else:
            terms = draw(st.lists(st.sampled_from(earlier + ["x", "y", "1", "2", "3"]), min_size=1, max_size=3))
            ops = draw(st.lists(st.sampled_from(["+", "-", "*"]), min_size=len(terms) - 1, max_size=len(terms) - 1))
            text = terms[0] + "".join(f" {op} {term}" for op, term in zip(ops, terms[1:]))
            text = draw(st.sampled_from(["{}", "-({})", "tanh({})", "({}) * 2"])).format(text)
            # a plain number (`v0 = 2`) is an input with a default, not a constant
            uses_input = text.isdigit() or any(depends.get(term, term in ("x", "y")) for term in terms)
        lines.append(f"{name} = {text}")
        depends[name] = uses_input
    return "; ".join(lines), depends


@pytest.mark.slow
@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(constant_programs())
def test_a_name_is_a_constant_exactly_when_it_depends_on_no_input(generated):
    from conftest import run_cli

    source, depends = generated
    program = parse(source)
    values = [arg for name in program.inputs if name not in program.defaults for arg in (f"--{name}", "0.5")]
    result = run_cli("grad", source, *values, "--json")
    assert result.exit_code == 0, (source, result.stderr)
    doc = result.json()
    nodes = doc["nodes"]
    by_name = {node["name"]: node for node in nodes if node["name"] is not None}
    for node in nodes:
        assert all(0 <= parent < node["id"] for parent in node["parents"]), (source, node)
    assert set(doc["grads"]) == set(depends) | {name for name in ("x", "y") if name in program.inputs}
    for name, uses_input in depends.items():
        constant = not uses_input
        assert (by_name[name]["kind"] == "const") == constant, (source, name)
        assert (doc["grads"][name] is None) == constant, (source, name)
    drawn = run_cli("dot", source, *values, "--format", "dot")
    assert drawn.exit_code == 0 and drawn.stdout.startswith("digraph"), (source, drawn.stderr)
    rows = run_cli("check", source, *values, "--json").json()["rows"]
    assert {row["label"] for row in rows} == {name for name in by_name if by_name[name]["kind"] != "const"}
