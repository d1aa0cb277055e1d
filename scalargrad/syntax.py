"""Syntax errors in words, for `language.parse`: what Lark's parser stopped at turned into a
message with a line, a column and a caret, and a hint that says how to fix it (a look-alike
character named and the ASCII one to type, a quote, a superscript power, an unfinished line,
a line break that is not a newline).
"""

from __future__ import annotations

import unicodedata

from scalargrad.errors import (QUOTES, ODD_LINE_BREAKS, ParseError, ascii_look_alike, character, place_at,
                               type_instead)
from scalargrad.ops import FUNCTIONS

UNEXPECTED = "_UNEXPECTED"  # the lexer's token for a character no terminal matches (`language._Tokens`)


def line_break_error(source: str, offset: int) -> ParseError:
    """A line break that is not a newline (U+2028, VT, FF, a CR alone, ...): some displays
    start a new line there and the parser does not, so what a listing shows would not be what
    is computed (the rest of a `# comment` shown as a statement). Refused where it stands."""
    char = source[offset]
    name = ODD_LINE_BREAKS[char]
    hint = "save the text with LF or CR LF line ends (old Mac files end lines with CR alone)" if char == "\r" else \
        f"replace {name} with a newline, or with a space within a line"
    return ParseError(f"{name} is not a newline, but some displays break the line there: a line of a program "
                      "ends at a newline only", hint=hint, source=source, places=(place_at(source, offset),))



_WORDS = {
    "NAME": "a name",
    "NUMBER": "a number",
    "_SEP": "a new line or `;`",
}
_ORDER = ["NUMBER", "NAME", "LPAR", "RPAR", "_SEP", "$END"]


def _describe(terminal: str, lark, what: str) -> str:
    if terminal == "$END":
        return f"the end of the {what}"
    if terminal in _WORDS:
        return _WORDS[terminal]
    for definition in lark.terminals:
        if definition.name == terminal and definition.pattern.type == "str":
            return f"`{definition.pattern.value}`"
    return terminal.lower()


def _expected_words(expected, lark, parens_open: bool, what: str) -> str:
    # the array and function syntax (`[`, `@`, `,`, `]`, `def`) is not offered as a way to go
    # on: the words stay those of scalar arithmetic, which most programs are
    expected = set(expected) - {"LSQB", "RSQB", "AT", "COMMA", "DEF"}
    if what == "expression":  # its LALR states are shared with a statement's, whose lookaheads they carry
        expected -= {"_SEP", "EQUAL"}
    if not parens_open:  # LALR lookaheads may offer `)` where no `(` is open
        expected.discard("RPAR")
    operators = {t for t in expected if t not in _ORDER and t not in ("EQUAL",)}
    words = [_describe(t, lark, what) for t in _ORDER if t in expected]
    if "EQUAL" in expected:
        words.append("`=`")
    words += sorted(_describe(t, lark, what) for t in operators)
    if not words:
        return ""
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " or " + words[-1]


def _unexpected_character(char: str, expected, what: str) -> tuple[str, str, set]:
    """What a character the language does not have is, a hint, and what to list as expected
    (nothing after a look-alike: the fix is to retype the character, not to add another)."""
    ascii_char = ascii_look_alike(char)
    if ascii_char is not None:
        return f"{character(char)} is not `{ascii_char}`", type_instead(ascii_char), set()
    if char in QUOTES or char in "'\"":
        if what == "expression":
            return (f"unexpected quote {character(char)}: an expression has no quotes",
                    'quote the whole expression for the shell with straight quotes: "..."', set())
        return (f"unexpected quote {character(char)}: a program has no quotes",
                'quote the whole program for the shell with straight quotes: "L = a * b"', set())
    plain = unicodedata.normalize("NFKC", char)
    if plain.isascii() and plain.isdigit() and "SUPERSCRIPT" in unicodedata.name(char, ""):
        return f"unexpected character {character(char)}", f"powers are written `x ** {plain}`", expected
    if plain.isascii() and plain.isdigit():
        return f"{character(char)} is not the digit `{plain}`", f"type {plain}", set()
    if char.isdigit():
        return f"unexpected character {character(char)}", "numbers use the digits 0-9 only", expected
    if unicodedata.category(char)[0] in "LM":
        base = unicodedata.normalize("NFKD", char)[:1]
        instead = f": for `{char}` write `{base}`" if base.isascii() and base.isalpha() else ""
        return (f"{character(char)} cannot be part of a name",
                f"names are ASCII letters, digits and _ (not starting with a digit){instead}", set())
    problem = f"unexpected character {character(char)}" if not char.isascii() else f"unexpected character `{char}`"
    hints = {"^": "powers are written `x ** 2`",
             ",": f"each function takes one argument: {', '.join(FUNCTIONS)}",
             "=": "`=` assigns a name (`L = a * b`); there is no comparison"}
    return problem, hints.get(char, "names are letters, digits and _; the operators are + - * / **"), expected


def syntax_error(source: str, error, lark, what: str) -> ParseError:
    from lark.exceptions import UnexpectedCharacters, UnexpectedToken

    expected = getattr(error, "expected", None) or getattr(error, "allowed", None) or set()
    token = getattr(error, "token", None)
    if token is not None and token.type != "$END":
        # Lark's contextual lexer rejects a token that no terminal of the state matches,
        # listing what the state accepts but the end; `_Tokens` lets the parser reject it
        expected = set(expected) - {"$END"}
        if token.type == "NAME" and token.value == "def":
            token.type = "DEF"  # and where no name is expected, reads `def` as the keyword
    if isinstance(error, UnexpectedCharacters) or token is not None and token.type == UNEXPECTED:
        offset = error.pos_in_stream if token is None else token.start_pos
        problem, hint, expected = _unexpected_character(source[offset], expected, what)
        width = 1
    elif isinstance(error, UnexpectedToken) and error.token.type == "$END":
        if what == "expression" and not source.strip():  # (an empty program parses: `program` words it)
            return ParseError("the expression is empty")
        offset, width = len(source.rstrip()), 1
        problem, hint = f"unexpected end of the {what}", _unfinished_hint(source, what)
    else:
        token = error.token
        offset = token.start_pos
        width = max(1, len(token.value))
        shown = "end of the line" if token.type == "_SEP" and token.value != ";" else f"`{token.value}`"
        problem, hint = f"unexpected {shown}", _token_hint(source, token, expected, what)
    line_start = source.rfind("\n", 0, offset) + 1
    parens_open = source.count("(", line_start, offset) > source.count(")", line_start, offset)
    words = _expected_words(expected, lark, parens_open, what)
    message = f"{problem}; expected {words}" if words else problem
    return ParseError(message, hint=hint, source=source, places=(place_at(source, offset, width=width),))


def _unfinished_hint(source: str, what: str) -> str:
    """The hint where the text ends before its last expression does."""
    if source.count("(") > source.count(")"):
        return "a `(` is not closed"
    if source.count("[") > source.count("]"):
        return "a `[` is not closed"
    return "the last statement is not finished: complete the expression" if what == "program" else ""


def _token_hint(source: str, token, expected, what: str) -> str:
    """The hint for a token the grammar has no place for: the mistake it most likely is."""
    offset = token.start_pos
    before = source[:offset].rstrip()
    word_before = before.split()[-1] if before.split() else ""
    line_start = source.rfind("\n", 0, offset) + 1
    if token.type == "RPAR" and "RPAR" not in expected:
        return "this `)` has no matching `(`"
    if token.type == "_SEP" and what == "expression":
        return "an expression stays on one line, without `;`"
    if token.type == "_SEP" and source.count("(", line_start, offset) > source.count(")", line_start, offset):
        return "a `(` is not closed on this line (a statement stays on one line)"
    if token.type == "NAME" and before and before[-1].isdigit() and offset == len(before):
        return "a name cannot start with a digit; for a product write `2 * x`"
    if token.type in ("NAME", "NUMBER") and word_before in FUNCTIONS:
        return f"functions are called with parentheses: `{word_before}(x)`"
    if token.type in ("NAME", "NUMBER"):
        return "write `*` for multiplication: `2 * x`, not `2x`"
    if token.type == "EQUAL" and source.count("(", line_start, offset) > source.count(")", line_start, offset):
        return "`=` inside a call is a keyword argument, after the array: `sum(W, axis=0)`; there is no comparison"
    if token.type == "EQUAL":
        return "a statement assigns one name: `L = a * b`" if what == "program" else \
            "an expression assigns no name: write the value alone"
    return ""
