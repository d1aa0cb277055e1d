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
