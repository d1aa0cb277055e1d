"""The language: numbers, precedence, statements, names, and errors shown in words."""

import re
from pathlib import Path

import pytest

from scalargrad import NameUsageError, ParseError, parse
from scalargrad.language import _Builder, grammar_text
from scalargrad.arrays import ARRAY_CALLS, ARRAY_FUNCTIONS
from scalargrad.ops import CALLS, FUNCTIONS, OPS


def value_of(source: str, **values: float) -> float:
    program = parse(source)
    program.run(values)
    return program.output.data


@pytest.mark.parametrize("text, expected", [("2", 2.0), ("0.5", 0.5), (".5", 0.5), ("1e-3", 0.001),
                                            ("2.", 2.0), ("1E2", 100.0), ("3.25e+1", 32.5)])
def test_numbers(text, expected):
    assert value_of(f"y = {text}") == expected


@pytest.mark.parametrize("source, values, expected", [
    ("-a**2", {"a": 3}, -9.0),           # ** binds tighter than unary minus
    ("2**3**2", {}, 512.0),              # and is right-associative
    ("2**-1", {}, 0.5),                  # the exponent may carry a sign
    ("a - b - c", {"a": 1, "b": 2, "c": 3}, -4.0),
    ("a / b / c", {"a": 12, "b": 3, "c": 2}, 2.0),
    ("a + b * c", {"a": 1, "b": 2, "c": 3}, 7.0),
    ("(a + b) * c", {"a": 1, "b": 2, "c": 3}, 9.0),
    ("-2**2", {}, -4.0),
    ("+a - -b", {"a": 1, "b": 2}, 3.0),
    ("a * -b", {"a": 2, "b": 3}, -6.0),
    ("(-2)**2", {}, 4.0),
    ("tanh(0) + exp(0) + log(1) + relu(-1) + sigmoid(0) + sin(0) + cos(0) + tan(0) + sqrt(4) + abs(-3)", {}, 7.5),
])
def test_precedence_and_associativity_follow_python(source, values, expected):
    assert value_of(source, **values) == pytest.approx(expected)


def test_statement_separators_comments_blank_lines_crlf_and_trailing_semicolon():
    source = "# the lecture\r\n\r\ne = a*b  # a product\r\nd = e + c;\n\n;L = d * f;\n"
    program = parse(source)
    program.run({"a": 2, "b": -3, "c": 10, "f": -2})
    assert program.output_name == "L" and program.output.data == -8.0
    assert list(program.names) == ["a", "b", "e", "c", "d", "f", "L"]


def test_bare_expression_as_last_statement_is_the_output():
    program = parse("e = a*b; e + c")
    program.run({"a": 2, "b": 3, "c": 1})
    assert program.output.data == 7.0
    assert program.output_name is None and program.label(program.output) == "e + c"


def test_single_letter_names_and_option_like_names_are_names():
    program = parse("e = 2; f = 3; lr = e * f; json = lr + 1")
    program.run(program.defaults)
    assert program.output.data == 7.0 and set(program.inputs) == {"e", "f"}


def test_plain_number_assignment_is_an_input_with_a_default():
    program = parse("w = -0.5\nb = 2\ny = w * x + b")
    assert program.defaults == {"w": -0.5, "b": 2.0}
    assert list(program.inputs) == ["w", "b", "x"]
    program.run({"w": 3, "b": 2, "x": 4})
    assert program.output.data == 14.0
    assert program.names["w"].grad == 4.0


def test_alias_keeps_both_names_with_an_identity_node():
    program = parse("e = a; L = e * a")
    program.run({"a": 3})
    assert program.names["e"] is not program.names["a"]
    assert program.names["a"].grad == 6.0 and program.names["e"].grad == 3.0


# -- named constants: a name whose value depends on no input is a constant ---------------------
def kinds(source: str) -> dict[str, str]:
    program = parse(source)
    return {name: program.kind(node) for name, node in program.names.items()}


@pytest.mark.parametrize("source, constants", [
    ("k = 2*3; j = k*2; L = j*y", {"k", "j"}),
    ("k = 2*3; z = y + 1; j = k*2; L = j*y", {"k", "j"}),  # the same, whatever sits between
    ("h = 2*3; q = h; L = q*y", {"h", "q"}),  # an alias of a constant is a constant
    ("k = 2*3; j = -k; L = x*k", {"k", "j"}),
    ("k = (6); j = sqrt(k) + k; L = y ** j", {"k", "j"}),
    ("a = 2; j = a*3; L = j*y", set()),  # a plain number is an input (with a default): j reads it
])
def test_a_name_computed_from_constants_alone_is_a_constant(source, constants):
    assert {name for name, kind in kinds(source).items() if kind == "const"} == constants


def test_a_named_constant_read_later_stays_in_the_graph():
    # `-k` used to fold k itself away while `x*k` still read it
    program = parse("k = 2*3; j = -k; L = x*k")
    program.run({"x": 1.0})
    k, j, L = (program.names[n] for n in ("k", "j", "L"))
    assert [program.label(node) for node in program.nodes] == ["k", "j", "x", "L"]
    assert (k.data, j.data, L.data) == (6.0, -6.0, 6.0) and L._prev == (program.names["x"], k)
    assert program.names["x"].grad == 6.0


def test_folded_literals_leave_no_node_behind():
    program = parse("k = 2*3; j = (k + 1) * 2; L = x * j")
    assert [program.label(node) for node in program.nodes] == ["k", "j", "x", "L"]
    assert program.names["j"].data == 14.0


def test_reused_operand_keeps_both_edges():
    program = parse("b = a + a")
    program.run({"a": 5})
    assert program.output._prev == (program.names["a"], program.names["a"])
    assert program.names["a"].grad == 2.0


def test_labels_are_bound_names_else_source_text():
    program = parse("L = (a*b + c) * f")
    assert [program.label(node) for node in program.nodes] == ["a", "b", "a*b", "c", "a*b + c", "f", "L"]
    assert [program.node_id(node) for node in program.nodes] == list(range(7))


def test_long_labels_are_cut_in_the_middle():
    program = parse("L = " + " + ".join(f"x{i}" for i in range(200)) + " + 1")
    label = program.label(program.output._prev[0])
    assert len(label) <= 60 and label.startswith("x0 + x1") and label.endswith("+ x199") and "…" in label


# -- errors --------------------------------------------------------------------------------
def error_of(source: str) -> str:
    with pytest.raises((ParseError, NameUsageError)) as caught:
        parse(source)
    return caught.value.format()


@pytest.mark.parametrize("source, words, column", [
    ("a = (b", "unexpected end of the program; expected `)`", 7),
    ("a = b +", "expected a number, a name, `(`, `+` or `-`", 8),
    ("a = b)", "unexpected `)`", 6),
    ("a = 2x", "unexpected `x`", 6),
    ("a = $", "unexpected character `$`", 5),
    ("L = a ^ 2", "unexpected character `^`", 7),
    ("a = = 2", "unexpected `=`", 5),
    ("= 3", "unexpected `=`", 1),
])
def test_syntax_errors_point_at_the_place_in_words(source, words, column):
    message = error_of(source)
    assert words in message
    assert f"line 1, column {column}:" in message
    caret_line = message.splitlines()[2]
    assert caret_line.index("^") - caret_line.index("|") - 2 == column - 1


def test_syntax_errors_never_show_lark_terminal_names():
    for source in ["a = (b", "a = b +", "a = b)", "a = 3 4", "a = = 2", "f(", "a = b;;c = ", "**", ")", "a = tanh()"]:
        message = error_of(source)
        assert not re.search(r"\$END|__ANON|\bRPAR\b|\bLPAR\b|_SEP|\bNAME\b|\bNUMBER\b|STAR|SLASH", message), message


def test_unicode_digits_are_not_numbers():
    assert "numbers use the digits 0-9 only" in error_of("a = ٣")


def test_unknown_function_suggests_the_closest():
    message = error_of("L = tahn(x)")
    assert "unknown function `tahn`; did you mean `tanh`?" in message
    assert "the functions are exp, log, tanh" in message
    assert "did you mean `sigmoid`" in error_of("L = sigmod(x)")


def test_second_line_error_reports_line_and_column():
    message = error_of("a = 1\nb = a +* 2\n")
    assert message.startswith("error: line 2, column 8:")
    assert "   2 | b = a +* 2" in message


def test_assigning_twice_shows_both_places():
    message = error_of("a = x\nb = 2\na = 3")
    assert "`a` is assigned twice" in message
    assert "line 3, column 1" in message and "   1 | a = x" in message and "first assigned here" in message


def test_reading_before_assignment_shows_both_places():
    message = error_of("b = a * 2\na = 1")
    assert "`a` is read before it is assigned" in message
    assert "   2 | a = 1" in message and "   1 | b = a * 2" in message and "read here first" in message


def test_a_cycle_is_an_error():
    assert "`x` is defined in terms of itself" in error_of("x = x + 1")


def test_only_the_last_statement_may_be_bare():
    assert "only the last statement may be a bare expression" in error_of("a + b; c = 1")


def test_empty_program():
    assert "the program is empty" in error_of("# nothing\n\n")


def test_a_number_too_large():
    assert "too large" in error_of("a = 1e999 * x")


# -- the grammar and the table agree -------------------------------------------------------
def test_every_function_in_the_table_is_reachable_from_the_grammar():
    for name, op in FUNCTIONS.items():
        program = parse(f"out = {op.usage}")
        assert program.output._op == name and op.is_function


def test_every_operator_alias_in_the_grammar_has_a_callback_and_a_rule():
    aliases = set(re.findall(r"->\s*(\w+)", grammar_text()))
    for alias in aliases:
        assert callable(getattr(_Builder, alias, None)), alias
    symbols = {"add": "+", "sub": "-", "mul": "*", "div": "/", "pow": "**", "neg": "neg"}
    for alias, op in symbols.items():
        assert alias in aliases and op in OPS


def test_grammar_file_is_the_one_in_grammars_folder():
    checkout = Path(__file__).resolve().parent.parent / "grammars" / "scalargrad.lark"
    assert grammar_text() == checkout.read_text(encoding="utf-8")


# -- the optional lark-cython accelerator gives the same results and the same errors -------
@pytest.mark.parametrize("pure", ["1", ""])
def test_parser_with_and_without_the_accelerator(monkeypatch, pure):
    from scalargrad import language

    monkeypatch.setenv("SCALARGRAD_PURE_PARSER", pure)
    language._parser.cache_clear()
    try:
        program = parse("e = a*b; d = e + c\r\nL = d * f  # lecture\n")
        program.run({"a": 2, "b": -3, "c": 10, "f": -2})
        assert [program.label(n) for n in program.nodes] == ["a", "b", "e", "c", "d", "f", "L"]
        assert program.names["a"].grad == 6.0
        assert "unexpected end of the program; expected `)`" in error_of("a = (b")
        assert "unexpected character `$`" in error_of("a = $")
        assert "did you mean `tanh`" in error_of("L = tahn(x)")
        assert list(parse("0.1 / (1 + k)", what="expression").inputs) == ["k"]
        with pytest.raises(ParseError, match="unexpected `=`"):
            parse("k = 1", what="expression")
    finally:
        language._parser.cache_clear()


@pytest.mark.parametrize("source, hint", [
    ("L = tanh x", "functions are called with parentheses: `tanh(x)`"),
    ("2L = x", "a name cannot start with a digit"),
    ("L = tanh(x, y)", "call it as `tanh(x)`"),
    ("b = a + (\nL = b", "a `(` is not closed on this line"),
    ("b = (a + 1\nL = b", "a `(` is not closed on this line"),
    ("L = a = b", "a statement assigns one name"),
])
def test_common_mistakes_get_a_hint(source, hint):
    assert f"hint: {hint}" in error_of(source)


# -- one expression (`step --lr`): parse(what="expression") -----------------------------------
def test_an_expression_is_read_as_a_program_whose_output_it_is():
    program = parse("0.1 / (1 + k)", what="expression")
    program.run({"k": 4})
    assert list(program.inputs) == ["k"] and program.output.data == pytest.approx(0.02)
    assert program.label(program.output) == "0.1 / (1 + k)"


def test_in_an_expression_def_is_a_name():
    assert list(parse("def * 2", what="expression").inputs) == ["def"]


def test_what_is_a_program_or_an_expression():
    with pytest.raises(ValueError, match="what must be one of program, expression, not 'statement'"):
        parse("1", what="statement")


KNOWN_FUNCTIONS = ", ".join(dict.fromkeys([*CALLS, *ARRAY_FUNCTIONS, *ARRAY_CALLS]))  # as the parser lists them


@pytest.mark.parametrize("source, message, hint", [
    ("(1 + k", "unexpected end of the expression; expected `)`", "a `(` is not closed"),
    ("1 +", "unexpected end of the expression; expected a number, a name, `(`, `+` or `-`", ""),
    ("k = 1", "unexpected `=`; expected `(`, `**`, `*`, `+`, `-` or `/`",
     "an expression assigns no name: write the value alone"),
    ("1; 2", "unexpected `;`", "an expression stays on one line, without `;`"),
    ("(1\n+ k)", "unexpected end of the line; expected `)`", "an expression stays on one line, without `;`"),
    ("tanh k", "unexpected `k`; expected `(`, `**`, `*`, `+`, `-` or `/`",
     "functions are called with parentheses: `tanh(x)`"),
    ("1 + k)", "unexpected `)`", "this `)` has no matching `(`"),
    ("'k'", "unexpected quote `'` (U+0027 APOSTROPHE): an expression has no quotes",
     'quote the whole expression for the shell with straight quotes: "..."'),
    ("[k, 1]", "the expression is an array of shape (2,); it must be a scalar",
     "reduce it to one number, e.g. `sum(...)` or `mean(...)`"),
    ("sum(uniform(0, 1, [2]))", "`uniform` makes parameters, which an expression cannot have", ""),
    ("f(k) + def f(k)", "unknown function `f`", f"the functions are {KNOWN_FUNCTIONS}"),  # `def` is a name here
    (" ", "the expression is empty", ""),
])
def test_an_expressions_errors_are_worded_for_an_expression(source, message, hint):
    with pytest.raises(ParseError) as caught:
        parse(source, what="expression")
    assert (caught.value.message, caught.value.hint) == (message, hint)
    assert "program" not in caught.value.format() and "statement" not in caught.value.format()


# -- functions of two arguments, constants, the stable forms ---------------------------------
def test_the_stable_forms_stay_finite_and_exact_far_out():
    import math

    assert value_of("softplus(x)", x=800) == 800.0
    assert value_of("softplus(x)", x=-800) == 0.0
    assert value_of("logsumexp(x, y)", x=1000, y=1000) == 1000 + math.log(2)
    program = parse("L = softplus(x)")
    program.run({"x": 800.0})
    assert program.inputs["x"].grad == 1.0


@pytest.mark.parametrize("source, values, expected", [
    ("max(a, b)", {"a": 2, "b": -3}, 2.0),
    ("min(a, b)", {"a": 2, "b": -3}, -3.0),
    ("atan2(a, b)", {"a": 1, "b": -1}, 3 * 3.141592653589793 / 4),
    ("hypot(a, b)", {"a": 3, "b": 4}, 5.0),
    ("log(a, b)", {"a": 8, "b": 2}, 3.0),
    ("log(a, 10) - log10(a)", {"a": 1000}, 0.0),
    ("2 * pi", {}, 2 * 3.141592653589793),
])
def test_functions_of_two_arguments_and_pi(source, values, expected):
    assert value_of(source, **values) == pytest.approx(expected, abs=1e-15)


def test_max_passes_the_gradient_to_the_larger_and_halves_it_at_a_tie():
    program = parse("L = max(a, b)")
    program.run({"a": 2.0, "b": -3.0})
    assert (program.inputs["a"].grad, program.inputs["b"].grad) == (1.0, 0.0)
    program.run({"a": 2.0, "b": 2.0})
    assert (program.inputs["a"].grad, program.inputs["b"].grad) == (0.5, 0.5)


@pytest.mark.parametrize("source, words, column, width", [
    ("L = tanh(a, b)", "`tanh` takes 1 argument, not 2", 5, 10),
    ("L = log(a, b, c)", "`log` takes 1 or 2 arguments, not 3", 5, 12),
])
def test_a_wrong_number_of_arguments_is_located(source, words, column, width):
    message = error_of(source)
    assert f"line 1, column {column}: {words}" in message
    assert "\n     |     " + "^" * width + "\n" in message


def test_pi_is_a_constant_that_cannot_be_assigned():
    assert "`pi` is a built-in constant and cannot be assigned" in error_of("pi = 3\nL = pi * a")
    program = parse("L = pi * a")
    assert list(program.inputs) == ["a"]
