"""Messages a newcomer meets while giving a program its inputs: each case was seen when someone
tried the tool, and each message says what is wrong and what to type instead."""

import pytest

from conftest import LECTURE, run_cli
from scalargrad import ParseError, parse
from scalargrad.bindings import check_option_names, split_arguments
from scalargrad.errors import UsageError


def error(*args: str) -> str:
    result = run_cli("grad", "--no-session", *args)
    assert result.exit_code == 2, result.stdout
    assert "Traceback" not in result.stderr
    return result.stderr


# -- look-alike characters ---------------------------------------------------------------------
@pytest.mark.parametrize("value, words, hint", [
    ("2,5", "it has a decimal comma", "use a dot for decimals: 2.5"),
    ("−3", "`−` (U+2212 MINUS SIGN) is not `-`", "type - (the ASCII hyphen-minus): -3"),
    ("–3", "`–` (U+2013 EN DASH) is not `-`", "type - (the ASCII hyphen-minus): -3"),
    ("—0.5", "`—` (U+2014 EM DASH) is not `-`", "type - (the ASCII hyphen-minus): -0.5"),
    ("“2”", "the typographic quote `“` (U+201C LEFT DOUBLE QUOTATION MARK)", "type straight quotes or none: 2"),
    ("١", "`١` is not a number", "use the ASCII digits 0-9"),
])
def test_values_with_pasted_characters(value, words, hint):
    stderr = error("L = a * b", "--a", "1", "--b", value)
    assert stderr.startswith(f"error: the value of `b`: `{value}` is not a number"), stderr
    assert words in stderr and f"hint: {hint}" in stderr


def program_error(source: str) -> str:
    with pytest.raises(ParseError) as caught:
        parse(source)
    return caught.value.format()


def caret_column(message: str) -> int:
    caret_line = message.splitlines()[2]
    return caret_line.index("^") - caret_line.index("|") - 1


@pytest.mark.parametrize("source, words, hint, column", [
    ("L = a − b", "`−` (U+2212 MINUS SIGN) is not `-`", "type - (the ASCII hyphen-minus)", 7),
    ("L = a – b", "`–` (U+2013 EN DASH) is not `-`", "type - (the ASCII hyphen-minus)", 7),
    ("L = a — b", "`—` (U+2014 EM DASH) is not `-`", "type - (the ASCII hyphen-minus)", 7),
    ("L = a × b", "`×` (U+00D7 MULTIPLICATION SIGN) is not `*`", "type * (the ASCII asterisk)", 7),
    ("L = a ÷ b", "`÷` (U+00F7 DIVISION SIGN) is not `/`", "type / (the ASCII slash)", 7),
    ("L = a ⋅ b", "`⋅` (U+22C5 DOT OPERATOR) is not `*`", "type * (the ASCII asterisk)", 7),
    ("L = （a + b)", "`（` (U+FF08 FULLWIDTH LEFT PARENTHESIS) is not `(`", "type ( (the ASCII left parenthesis)", 5),
    ("L = a *\u00a0b", "U+00A0 NO-BREAK SPACE is not ` `", "type a plain space", 8),
    ("“L = a * b”", "unexpected quote `“` (U+201C LEFT DOUBLE QUOTATION MARK): a program has no quotes",
     "straight quotes", 1),
    ("λ = 2*x", "`λ` (U+03BB GREEK SMALL LETTER LAMDA) cannot be part of a name",
     "names are ASCII letters, digits and _", 1),
    ("L = 2 * xλ", "`λ` (U+03BB GREEK SMALL LETTER LAMDA) cannot be part of a name",
     "names are ASCII letters, digits and _", 10),
    ("b = 1\nL = café * 2", "`é` (U+00E9 LATIN SMALL LETTER E WITH ACUTE) cannot be part of a name", "write `e`", 8),
    ("L = x²", "unexpected character `²` (U+00B2 SUPERSCRIPT TWO)", "powers are written `x ** 2`", 6),
    ("L = x₁ * 2", "`₁` (U+2081 SUBSCRIPT ONE) is not the digit `1`", "type 1", 6),
])
def test_programs_with_pasted_characters_name_them_and_point_at_them(source, words, hint, column):
    message = program_error(source)
    line = source.count("\n") + 1  # the character is on the last line
    assert message.startswith(f"error: line {line}, column {column}: {words}"), message
    assert "\nhint: " in message and hint in message
    assert caret_column(message) == column
    assert "; expected" not in message.splitlines()[0] or "²" in source  # the fix is to retype, not to add


def test_ascii_unexpected_characters_keep_their_words():
    assert program_error("a = $").startswith("error: line 1, column 5: unexpected character `$`; expected")


# -- values that are nearly numbers --------------------------------------------------------------
@pytest.mark.parametrize("value, words, hint", [
    ("1,000", "it has a comma", "use a dot for decimals (1.000), and write thousands without a separator (1000)"),
    ("1,234,567.5", "it has thousands separators", "write it without commas: 1234567.5"),
    ("1_000", "`_` does not separate digits here", "write 1000"),
    ("0x10", "only decimal numbers are read", "write the decimal: 16"),
    ("0b101", "only decimal numbers are read", "write the decimal: 5"),
    (".", "it has no digits", "write a number such as 0.5, .5 or -3"),
    ("-.", "it has no digits", "write a number such as 0.5, .5 or -3"),
    ("1e", "the exponent after `e` has no digits", "write e.g. 1e3 or 1e-3, or just 1"),
    ("-2.5E+", "the exponent after `e` has no digits", "write e.g. -2.5e3 or -2.5e-3, or just -2.5"),
    ("1e3.5", "the exponent must be a whole number", "write e.g. 1e3"),
    ("1.2.3", "it has more than one decimal point", "a number has one dot at most"),
    ("1/4", "fractions are not read", "write the decimal: 0.25"),
    ("50%", "percentages are not read", "write the decimal: 0.5"),
    ("pi", "constants are not read by name", "write the number: 3.141592653589793"),
    ("- 3", "it has a space after the sign", "write -3"),
    ("2 5", "it has a space inside", "write one number, without spaces"),
])
def test_near_numbers_say_what_to_write(value, words, hint):
    stderr = error("L = a * 2", "--a", value)
    assert stderr.startswith(f"error: the value of `a`: `{value}` is not a number; {words}\n"), stderr
    assert f"hint: {hint}" in stderr


def test_an_empty_value():
    assert error("L = a * 2", "--a", "").startswith("error: the value of `a` is empty")


