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


