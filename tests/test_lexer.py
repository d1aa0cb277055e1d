"""The regular-expression lexer (`language._Tokens`) against Lark's own: the same tokens, and
the same programs or the same errors from the parser."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scalargrad import ScalarGradError, parse
from scalargrad.language import _UNEXPECTED, _parser, _Tokens

PIECES = ["    " * 5, "a", "x1", "_b", "def", "define", "f", "tanh", "2", "1e5", ".5", "3.", "0.25E-2", "**", "*", "+", "-", "/",
          "=", "(", ")", ",", "[", "]", "@", ";", "\n", "\r\n", " ", "\t", "\f", "# note", "#", "  "]
ODD = ["$", "²", "\r", "é", "^", "'", "×", "\v", "."]
texts = st.lists(st.sampled_from(PIECES) | st.sampled_from(ODD).filter(lambda _: True), max_size=40).map("".join)
FIELDS = ("type", "value", "start_pos", "end_pos", "line", "column", "end_line", "end_column")


def fields(token) -> tuple:
    return tuple(getattr(token, name) for name in FIELDS)


def lark_tokens(source: str) -> tuple[list, int | None]:
    """Lark's tokens (its basic lexer, with `def` a keyword only where a statement starts, as
    its contextual lexer reads it), and the offset of a character it cannot read."""
    from lark.exceptions import UnexpectedCharacters

    lark = _parser()[0]
    tokens = []
    try:
        for token in lark.lex(source):
            if token.type == "DEF" and tokens and tokens[-1][0] != "_SEP":
                token = token.update("NAME")
            tokens.append(fields(token))
    except UnexpectedCharacters as error:
        return tokens, error.pos_in_stream
    return tokens, None


@settings(max_examples=300, deadline=None)
@given(texts)
def test_the_same_tokens_as_lark(source):
    _, _, pattern, token = _parser()
    ours = [fields(t) for t in _Tokens(source, pattern, token).lex(None)]
    theirs, bad = lark_tokens(source)
    assert ours[: len(theirs)] == theirs
    if bad is None:
        assert len(ours) == len(theirs)
    else:
        assert ours[len(theirs)][0] == _UNEXPECTED and ours[len(theirs)][2] == bad


def outcome(source: str, monkeypatch, lark_lexer: bool, what: str = "program"):
    if lark_lexer:
        monkeypatch.setenv("SCALARGRAD_LARK_LEXER", "1")
    else:
        monkeypatch.delenv("SCALARGRAD_LARK_LEXER", raising=False)
    try:
        program = parse(source, what=what)
    except ScalarGradError as error:
        return error.format()
    return [(node._op, node.data, node.label, span) for node, span in zip(program.nodes, program.spans)]


statements = st.lists(st.sampled_from(["a", "b", "2", "def", "f", "(", ")", "*", "**", "-", "+", "=", ",", ";", "\n",
                                       " ", "tanh(", "$", "# c"]), min_size=1, max_size=25).map("".join)


@settings(max_examples=300, deadline=None)
@given(st.one_of(statements, texts, st.sampled_from(["def f(x) = x * 2; y = f(a)", "L = (a*b + c) * f",
                                                     "x = def + 1", "def = 2", "a = 1;; b = a ** -2 # done\n"])))
def test_the_same_programs_and_errors_as_with_larks_lexer(source):
    with pytest.MonkeyPatch.context() as monkeypatch:
        assert outcome(source, monkeypatch, False) == outcome(source, monkeypatch, True)


@settings(max_examples=300, deadline=None)
@given(st.one_of(statements, texts, st.sampled_from(["def + 1", "def f(x) = x", "1 def", "k = 1", "(k;1)", "2 +\n"])))
def test_the_same_expressions_and_errors_as_with_larks_lexer(source):
    with pytest.MonkeyPatch.context() as monkeypatch:
        assert outcome(source, monkeypatch, False, "expression") == outcome(source, monkeypatch, True, "expression")


@pytest.mark.parametrize("source", ["L = " + " + ".join(f"x{i % 9} * {i}" for i in range(30_000)) + "  # end",
                                    "L = a # " + "x " * 50_000, "def f(x) = x; " * 9_000 + "y = f(2) " * 2 + "\n"])
def test_long_lines_are_read_in_pieces_with_the_same_tokens(source):
    _, _, pattern, token = _parser()
    assert [fields(t) for t in _Tokens(source, pattern, token).lex(None)] == lark_tokens(source)[0]


# -- what a line is: one definition for the lexer, the places of errors and every listing ------------
ODD_BREAKS = ["\u2028", "\u2029", "\x85", "\v", "\f", "\r", "\x1c", "\x1d", "\x1e"]


def test_a_line_separator_in_a_comment_is_refused_where_it_stands():
    source = "a = 2  # a comment\u2028L = 3 * a\nL = a * 5"
    with pytest.raises(ScalarGradError) as refused:
        parse(source)
    message = refused.value.format()
    assert message.startswith("error: line 1, column 19: U+2028 LINE SEPARATOR is not a newline, but some displays "
                              "break the line there"), message
    assert "   1 | a = 2  # a comment\\u2028L = 3 * a\n     |                   ^^^^^^" in message
    assert "hint: replace U+2028 LINE SEPARATOR with a newline, or with a space within a line" in message
    assert "\u2028" not in message  # shown escaped: the excerpt is one line, as the parser reads it


@pytest.mark.parametrize("char", ODD_BREAKS)
@pytest.mark.parametrize("before", ["# note ", "L = a ", "", "x = 1\n# c "])
def test_every_line_break_but_a_newline_is_refused_with_its_place(char, before):
    source = before + char + "L = a"
    with pytest.raises(ScalarGradError) as refused:
        parse(source)
    line = before.count("\n") + 1
    column = len(before.split("\n")[-1]) + 1
    assert (refused.value.places[0].line, refused.value.places[0].column) == (line, column)
    assert "is not a newline, but some displays break the line there" in refused.value.message
    shown = refused.value.format()
    assert char not in shown.replace("\n", "")


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(PIECES + ODD_BREAKS + ["L = a", "# c", "\n"]), max_size=30).map("".join))
def test_the_parser_and_every_display_agree_on_the_lines(source):
    """A program that is read at all has the lines Python's str.splitlines (a terminal, the
    session's listing) shows: a text that would show other lines is refused at the first
    character that would break one."""
    from scalargrad.errors import odd_line_break, source_lines

    try:
        parse(source)
    except ScalarGradError as error:
        odd = odd_line_break(source)
        if odd is not None:
            assert "is not a newline" in error.message
            assert error.places[0].line == source.count("\n", 0, odd) + 1
            return
    lines = source_lines(source)
    assert lines[: len(source.splitlines())] == source.splitlines()
    assert all(line == "" for line in lines[len(source.splitlines()):])


def test_crlf_line_ends_are_newlines():
    source = "a = 2\r\n# c\r\nL = a * 3\r\n"
    program = parse(source)
    start = source.index("a * 3")
    assert program.output.label == "L" and program.spans[-1] == (start, start + 5)
