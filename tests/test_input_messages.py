"""Messages a newcomer meets while giving a program its inputs: each case was seen when someone
tried the tool, and each message says what is wrong and what to type instead."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import LECTURE, run_cli
from scalargrad import ParseError, parse
from scalargrad.arguments import check_option_names, split_arguments
from scalargrad.errors import UsageError


def error(*args: str) -> str:
    result = run_cli("grad", "--no-session", *args)
    assert result.exit_code == 2, result.stdout
    assert "Traceback" not in result.stderr
    return result.stderr


# -- a value forgotten, a name mistyped ---------------------------------------------------------
def test_an_input_without_its_value_needs_a_value_even_when_it_is_close_to_an_option():
    stderr = error(LECTURE, "--a", "2", "--b", "-3", "--c", "10", "--f")
    assert stderr.startswith("error: `--f` needs a value\n")
    assert "hint: write --f VALUE" in stderr and "--of" not in stderr


def test_an_input_without_its_value_before_another_option():
    assert error(LECTURE, "--f", "--a", "2", "--b", "-3", "--c", "10").startswith("error: `--f` needs a value")


def test_a_mistyped_option_that_is_not_an_input_is_still_a_mistyped_option():
    stderr = error("L = a * x", "--a", "2", "--x", "1", "--f")
    assert "`--f` is not an option of grad, nor an input of the program; did you mean `--of`?" in stderr


def test_a_name_without_value_that_is_neither_input_nor_option():
    stderr = error("L = alpha * 2", "--alpah")
    assert "`--alpah` has no value, and the program has no input `alpah`; did you mean `--alpha`?" in stderr


def test_the_decision_is_made_when_the_inputs_are_known():
    args = split_arguments(["L = f * 2", "--f"], options=("of", "json"))
    assert args.valueless == ["f"] and args.values == {}
    with pytest.raises(UsageError, match="`--f` needs a value"):
        check_option_names(args.values, ["f"], ("of", "json"), {}, "grad", valueless=args.valueless)
    with pytest.raises(UsageError, match="did you mean `--of`"):
        check_option_names(args.values, ["x"], ("of", "json"), {}, "grad", valueless=args.valueless)


def test_a_missing_input_points_at_the_name_given_in_another_case():
    stderr = error("L = a*b", "--A", "2", "--b", "3")
    assert ("error: missing value for `a`; `--A` was given, but names are case-sensitive: did you mean `--a`?"
            in stderr)
    assert "warning" not in stderr


def test_a_missing_input_points_at_a_near_miss_given(tmp_path):
    assert "missing value for `alpha`; `--alpah` was given: did you mean `--alpha`?" in error(
        "L = alpha * b", "--alpah", "1", "--b", "2")
    bindings = tmp_path / "values.json"
    bindings.write_text('{"A": 2, "b": 3}')
    assert "`A` (bindings) was given, but names are case-sensitive: did you mean `a`?" in error(
        "L = a*b", "--bindings", str(bindings))


# -- --set and flags ----------------------------------------------------------------------------
@pytest.mark.parametrize("args", [["--set", "a", "2"], ["--set", "a", "=", "2"], ["--set", "a=", "2"]])
def test_set_with_a_space_says_how_to_write_it(args):
    stderr = error("L = a*b", *args, "--b", "3")
    assert stderr.startswith("error: --set takes NAME=VALUE: write --set a=2\n")
    assert "unexpected extra argument" not in stderr


def test_set_without_a_value():
    assert "--set `a=` has no value after `=`" in error("L = a*b", "--set", "a=", "--b", "3")
    stderr = error("L = a*b", "--set", "a", "--b", "3")
    assert "--set `a` is not NAME=VALUE" in stderr and "hint: write --set a=2" in stderr


def test_a_value_after_a_flag_named_like_an_input():
    stderr = error("L = json * 2", "--json", "3")
    assert ("error: `--json` is an option of grad (a flag); to give the input `json` a value use --set json=3"
            in stderr)
    assert run_cli("grad", "--no-session", "L = json * 2", "--set", "json=3", "--json").json()["output"]["value"] == 6


def test_flags_when_known_decide_which_option_took_no_value():
    args = split_arguments(["L = of * a", "--a", "2", "3"])
    assert args.strays == ["3"]
    with pytest.raises(UsageError, match="unexpected extra argument `3`"):
        check_option_names(args.values, ["of", "a"], ("of", "json"), {}, "grad", strays=args.strays, flags=("json",))


def test_a_value_left_over_is_still_an_extra_argument():
    stderr = error("L = a * 2", "--a", "2", "3")
    assert "unexpected extra argument `3`" in stderr and "quote the whole program" in stderr


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


@pytest.mark.parametrize("args, message, hint", [
    (["--a="], "`--a=` has no value after `=`", "write --a=2 or --a 2, with no space after `=`"),
    (["--a=", "5"], "`--a=` has no value after `=`", "write --a=5 or --a 5"),
    (["--a", "=", "5"], "`--a = 5` has a space beside `=`", "write --a=5 or --a 5"),
    (["--a", "=5"], "`--a =5` has a space beside `=`", "write --a=5 or --a 5"),
    (["—a", "5"], "`—a` starts with `—` (U+2014 EM DASH), not `--`", "type two ASCII hyphens: --a"),
    (["–a=5"], "`–a=5` starts with `–` (U+2013 EN DASH), not `--`", "type two ASCII hyphens: --a=5"),
    (["--λ", "5"], "`--λ`: `λ` (U+03BB GREEK SMALL LETTER LAMDA) cannot be part of a name",
     "names are ASCII letters, digits and _"),
    (["--learning-rate", "5"], "unknown option `--learning-rate`", "for an input `learning_rate` write --learning_rate"),
    (["--no-sesion"], "unknown option `--no-sesion`; did you mean `--no-session`?", "see scalargrad grad --help"),
])
def test_option_shapes_a_newcomer_types(args, message, hint):
    stderr = error("L = a * 2", *args)
    assert stderr.startswith(f"error: {message}"), stderr
    assert hint in stderr


def test_a_program_in_typographic_quotes_split_by_the_shell():
    stderr = error("“L", "=", "a*2”", "--a", "2")
    assert "unexpected extra argument `=`" in stderr
    assert "`“` (U+201C LEFT DOUBLE QUOTATION MARK) is not a quote for the shell" in stderr


# -- options that name nodes: element names have commas, array names stand for their elements ----------
ARRAYS = "W = uniform(-1, 1, [2, 2]); v = [1, 2]; b = 0.5; L = sum(W @ v) * b"


def test_an_element_can_be_frozen_from_the_command_line(cli):
    """`--freeze "W[0, 0]"` was split at its comma into `W[0` and `0]`."""
    for spelled in ("W[0, 0]", "W[0,0]", "b,W[0, 0]"):
        result = cli("step", ARRAYS, "--freeze", spelled, "--lr", "0.1", "--json", "--no-session")
        assert result.exit_code == 0, result.stderr
        document = result.json()
        assert "W[0, 0]" in document["frozen"] and document["inputs"]["W[0, 0]"]["after"] == \
            document["inputs"]["W[0, 0]"]["before"]
        assert document["inputs"]["W[1, 1]"]["after"] != document["inputs"]["W[1, 1]"]["before"]


def test_an_array_name_stands_for_all_its_elements_in_every_option(cli):
    elements = ["W[0, 0]", "W[0, 1]", "W[1, 0]", "W[1, 1]"]
    frozen = cli("step", ARRAYS, "--freeze", "W", "--json", "--no-session")
    assert frozen.exit_code == 0 and frozen.json()["frozen"] == elements  # `--freeze W` was refused
    hessian = cli("hessian", ARRAYS, "--wrt", "W,b", "--json", "--no-session")
    assert hessian.exit_code == 0, hessian.stderr  # `--wrt W` was refused
    assert hessian.json()["wrt"] == [*elements, "b"]
    checked = cli("check", ARRAYS, "--nodes", "W[0,1], b", "--json", "--no-session")
    assert [row["label"] for row in checked.json()["rows"]] == ["W[0, 1]", "b"]
    second = cli("check", ARRAYS, "--order", "2", "--nodes", "W", "--json", "--no-session")
    assert second.exit_code == 0, second.stderr
    watched = cli("step", ARRAYS, "--watch", "W[1, 1]", "--json", "--no-session")
    assert list(watched.json()["watch"]) == ["W[1, 1]"]


@pytest.mark.parametrize("given, words", [
    ("W[0", "`W[0` has a `[` that is not closed"),
    ("W]0[", "`W]0[` has a `]` with no `[` before it"),
    ("a,,b", "`a,,b` has an empty name"),
])
def test_a_node_list_that_cannot_be_read_is_an_error(given, words):
    from scalargrad.arguments import name_list

    with pytest.raises(UsageError) as caught:
        name_list([given], "--freeze")
    assert words in caught.value.message


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.from_regex(r"[a-z][a-z0-9_]{0,4}", fullmatch=True),
                          st.tuples(st.from_regex(r"[A-Z]", fullmatch=True), st.integers(0, 12), st.integers(0, 12),
                                    st.sampled_from([",", ", ", " , "]))),
                min_size=1, max_size=6))
def test_any_list_of_names_and_elements_reads_back_as_written(items):
    """Names and element names joined by commas (with any spacing inside the brackets) are read
    back one by one, each element in the program's spelling, none twice."""
    from scalargrad.arguments import name_list

    written, expected = [], []
    for item in items:
        if isinstance(item, tuple):
            name, i, j, comma = item
            written.append(f"{name}[{i}{comma}{j}]")
            item = f"{name}[{i}, {j}]"
        else:
            written.append(item)
        if item not in expected:
            expected.append(item)
    assert name_list([",".join(written)], "--watch") == expected
    assert name_list(written, "--watch") == expected


# -- --of NODE asks only for the inputs that node reads ----------------------------------------------------
PREDICT = "w = 2; b = 1; p = w*x + b; L = (p - y)**2"


def test_grad_check_and_explain_of_a_node_need_only_its_inputs(cli):
    """Each demanded `--y` (`missing value for y`), which `p` does not read."""
    grad = cli("grad", PREDICT, "--x", "3", "--of", "p", "--json", "--no-session")
    assert grad.exit_code == 0, grad.stderr
    document = grad.json()
    assert document["of"]["value"] == 7.0 and document["inputs"]["x"]["grad"] == 2.0
    assert document["inputs"]["y"]["value"] is None and document["output"]["value"] is None
    assert [node["data"] for node in document["nodes"] if node["name"] in ("y", "L")] == [None, None]
    table = cli("grad", PREDICT, "--x", "3", "--of", "p", "--no-session")
    assert "not computed, as they read y, which has no value (p does not need one): y, p - y, L" in table.stdout
    check = cli("check", PREDICT, "--x", "3", "--of", "p", "--json", "--no-session")
    assert check.exit_code == 0 and [row["label"] for row in check.json()["rows"]] == ["w", "b", "x", "p"]
    explain = cli("explain", PREDICT, "--x", "3", "--of", "p", "--no-session")
    assert explain.exit_code == 0 and "dp/dx = dp/d(w*x) * d(w*x)/dx = (1.0000)(w = 2.0000) = 2.0000" in explain.stdout
    assert "nan" not in explain.stdout
    assert "missing value for `y`" in cli("grad", PREDICT, "--x", "3", "--no-session").stderr  # without --of, as before
    named = cli("check", PREDICT, "--x", "3", "--of", "p", "--nodes", "L", "--no-session")
    assert named.exit_code == 2 and "cannot check `L`: it reads y, which has no value" in named.stderr
    explained = cli("explain", PREDICT, "--x", "3", "--of", "p", "L", "--no-session")
    assert explained.exit_code == 2 and "cannot explain `L`: it reads y, which has no value" in explained.stderr


def test_of_a_node_still_needs_every_input_it_reads(cli):
    result = cli("grad", PREDICT, "--of", "p", "--no-session")
    assert result.exit_code == 2 and "missing value for `x`" in result.stderr and "`y`" not in result.stderr


# -- a bindings file saved with a byte-order mark, or not as UTF-8 ------------------------------------------
def test_a_json_file_with_a_byte_order_mark_is_read(cli, tmp_path):
    path = tmp_path / "values.json"
    path.write_bytes(b"\xef\xbb\xbf" + b'{"a": 2, "b": -3}')  # as Notepad saves it: failed with Python's words
    result = cli("grad", "L = a * b", "--bindings", str(path), "--json", "--no-session")
    assert result.exit_code == 0, result.stderr
    assert result.json()["output"]["value"] == -6.0


@pytest.mark.parametrize("encoding, words", [
    ("utf-16", "is UTF-16 (little-endian) text (it starts with that byte-order mark), not UTF-8"),
    ("utf-16-be", "looks like UTF-16 (big-endian) text without a byte-order mark, not UTF-8"),
    ("utf-16-le", "looks like UTF-16 (little-endian) text without a byte-order mark, not UTF-8"),
    ("utf-32", "is UTF-32 (little-endian) text"),
    ("cp1252", "the byte 0xE9 on line 1 is not UTF-8; it looks like Windows-1252 (Latin-1) text"),
])
def test_a_bindings_file_in_another_encoding_is_named(cli, tmp_path, encoding, words):
    path = tmp_path / "values.json"
    path.write_bytes('{"a": 2, "é": 1}'.encode(encoding))
    result = cli("grad", "L = a * 3", "--bindings", str(path), "--no-session")
    assert result.exit_code == 2 and words in result.stderr and "hint: save it as UTF-8" in result.stderr
    assert "Traceback" not in result.stderr
