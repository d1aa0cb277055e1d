"""Input values from the command line, `--set`, a JSON bindings file and program defaults.

Precedence, highest first: the command line (`--a 2` and `--set a=2`), then the
bindings file, then the program's own defaults (`a = 2`).
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from typing import Iterable

from scalargrad.errors import InputError, UsageError

_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_NAME = re.compile(r"[A-Za-z_][A-Za-z_0-9]*")


_NOT_FINITE = re.compile(r"[+-]?(?:inf|infinity|nan)", re.IGNORECASE)


def looks_like_a_number(text: str) -> bool:
    """A decimal number, or one of the words float() reads (`inf`, `-nan`): after `--NAME` it is
    the value, even when it starts with `-`, never an option."""
    return bool(_NUMBER.fullmatch(text.strip()) or _NOT_FINITE.fullmatch(text.strip()))


_DECIMAL_HINT = "write a decimal number such as 2, -3.5 or 1e-3"


def _fraction(m: re.Match) -> str:
    return f"write the decimal: {float(m[1]) / float(m[2])!r}" if float(m[2]) else "the denominator is 0"


# Near misses of a number, each with what is wrong and what to write instead (from the match).
_NEAR_NUMBERS = [
    (r"([+-]?[0-9]+),([0-9]{1,2}|[0-9]{4,})", "it has a decimal comma", lambda m: f"use a dot for decimals: {m[1]}.{m[2]}"),
    (r"([+-]?[0-9]+),([0-9]{3})", "it has a comma",
     lambda m: f"use a dot for decimals ({m[1]}.{m[2]}), and write thousands without a separator ({m[1]}{m[2]})"),
    (r"[+-]?[0-9]{1,3}(?:,[0-9]{3})+(?:\.[0-9]*)?", "it has thousands separators",
     lambda m: f"write it without commas: {m[0].replace(',', '')}"),
    (r"[+-]?[0-9][0-9_]*(?:\.[0-9_]*)?", "`_` does not separate digits here", lambda m: f"write {m[0].replace('_', '')}"),
    (r"[+-]?0[xX][0-9a-fA-F]+|[+-]?0[oO][0-7]+|[+-]?0[bB][01]+", "only decimal numbers are read",
     lambda m: f"write the decimal: {int(m[0], 0)}"),
    (r"[+-]?\.?", "it has no digits", lambda m: "write a number such as 0.5, .5 or -3"),
    (r"([+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+))[eE][+-]?", "the exponent after `e` has no digits",
     lambda m: f"write e.g. {m[1]}e3 or {m[1]}e-3, or just {m[1]}"),
    (r"[+-]?[0-9]*\.[0-9]*\.[0-9.]*", "it has more than one decimal point", lambda m: "a number has one dot at most, as in 3.25"),
    (r"([+-]?[0-9]+(?:\.[0-9]*)?)\s*/\s*([0-9]+(?:\.[0-9]*)?)", "fractions are not read", _fraction),
    (r"([+-]?[0-9]+(?:\.[0-9]*)?)\s*%", "percentages are not read", lambda m: f"write the decimal: {float(m[1]) / 100!r}"),
    (r"([+-])\s+([0-9.]+(?:[eE][+-]?[0-9]+)?)", "it has a space after the sign", lambda m: f"write {m[1]}{m[2]}"),
    (r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)[eE][+-]?[0-9]*\.[0-9]*", "the exponent must be a whole number",
     lambda m: "write e.g. 1e3 or 3.2e-5"),
    (r"\S+(?:\s+\S+)+", "it has a space inside", lambda m: "write one number, without spaces"),
    (r"([+-]?)((?i:pi|tau|e))", "constants are not read by name",
     lambda m: f"write the number: {m[1]}{getattr(math, m[2].lower())!r}"),
]
# (compiled on first use by `re`'s own cache: only a value that is not a number needs them)


def _not_a_number(text: str) -> tuple[str, str]:
    """Why `text` is not a number, and what to write instead: ('; reason', hint)."""
    from scalargrad.errors import QUOTES, ascii_look_alike, character, type_instead

    stripped = text.strip()
    for char in stripped:
        if char in QUOTES:
            return (f"; it has the typographic quote {character(char)}, which the shell leaves in",
                    f"type straight quotes or none: {''.join(c for c in stripped if c not in QUOTES)}")
        ascii_char = ascii_look_alike(char)
        if ascii_char is not None:
            fixed = "".join(ascii_look_alike(c) or c for c in stripped)
            return f"; {character(char)} is not `{ascii_char}`", f"{type_instead(ascii_char)}: {fixed}"
        if char.isdigit() and not char.isascii():
            return "", f"use the ASCII digits 0-9; {_DECIMAL_HINT}"
    for pattern, reason, hint in _NEAR_NUMBERS:
        match = re.fullmatch(pattern, stripped)
        if match:
            return f"; {reason}", hint(match)
    return "", _DECIMAL_HINT


def parse_number(text: str, what: str) -> float:
    """A finite decimal number, ASCII digits only (`2`, `-3.5`, `.5`, `1e-3`)."""
    finite = "it must be a finite number"
    if not text.strip():
        raise InputError(f"{what} is empty", hint=_DECIMAL_HINT)
    if _NOT_FINITE.fullmatch(text.strip()):
        kind = "is not a number (NaN)" if text.strip().lstrip("+-")[:1] in "nN" else "is infinite"
        raise InputError(f"{what}: `{text}` {kind}; {finite}", hint=_DECIMAL_HINT)
    if not _NUMBER.fullmatch(text.strip()):
        reason, hint = _not_a_number(text)
        raise InputError(f"{what}: `{text}` is not a number{reason}", hint=hint)
    value = float(text)
    if not math.isfinite(value):
        raise InputError(f"{what}: `{text}` is too large for a float (above about 1.8e308); {finite}",
                         hint=_DECIMAL_HINT)
    return value


def join_number_values(args: list[str], declared: Iterable[str] = ()) -> list[str]:
    """`--NAME -inf` as `--NAME=-inf`, for each NAME that is not a `declared` option.

    For the command line parser a token after an undeclared `--NAME` that starts with `-` is a
    bundle of short options: `-inf` holds `-f` (--file), which then takes the next token. Joined
    to its name, a value that looks like a number is read as the value whatever its letters.
    """
    declared = set(declared)
    joined: list[str] = []
    i = 0
    while i < len(args):
        token = args[i]
        if (token.startswith("--") and "=" not in token and token not in declared and i + 1 < len(args)
                and args[i + 1].startswith("-") and looks_like_a_number(args[i + 1])):
            joined.append(f"{token}={args[i + 1]}")
            i += 2
        else:
            joined.append(token)
            i += 1
    return joined


@dataclass
class Arguments:
    """What a command line holds beyond the declared options: a program and values."""

    program: str | None = None
    values: dict[str, str] = field(default_factory=dict)  # name -> text, from --NAME VALUE
    extra: list[str] = field(default_factory=list)  # positionals after the program, where allowed
    # Decided by check_option_names, which knows the program's inputs:
    valueless: list[str] = field(default_factory=list)  # `--NAME` without a value: an input, or a mistyped option?
    strays: list[str] = field(default_factory=list)  # value-like extra positionals: the value of a flag (`--json 3`)?


_SHORT_OPTION = re.compile(r"-[A-Za-z]")
_DASHED = re.compile(r"[\u2010-\u2015\u2212\ufe63\uff0d]+([A-Za-z_][A-Za-z_0-9]*)((?:=.*)?)", re.DOTALL)
_VALUE_LIKE = re.compile(r"[+-]?[.0-9]\S*")


def split_arguments(args: list[str], command: str = "grad", extra: str | None = None,
                    options: tuple[str, ...] = (), sets: Iterable[str] = ()) -> Arguments:
    """Separate the program (one positional, or `-`) from `--NAME VALUE` pairs.

    A token that starts with `-` is the program unless it looks like an option (`-q`,
    `--NAME`): `"-a*2"` is a program. `extra` names what further positionals are (e.g.
    "node" for explain); without it, a second positional is an error. `options` are the
    command's own option names (without dashes), for "did you mean" on a mistyped flag;
    `sets` the `--set` items, for `--set a 2`.
    """
    result = Arguments()
    i = 0
    while i < len(args):
        token = args[i]
        i += 1
        if token.startswith("--") and len(token) > 2:
            name, text = _option_value(token, args[i:], command, options)
            if text is None:
                result.valueless.append(name)
                continue
            if "=" not in token:
                i += 1  # the value was the next argument
            if name in result.values:
                raise UsageError(f"a value for `{name}` is given twice", hint="give each input once")
            result.values[name] = text
        elif token == "-" or not (token.startswith("--") or _SHORT_OPTION.fullmatch(token)):
            if result.program is None:
                result.program = token
            elif extra is not None:
                result.extra.append(token)
            else:
                _stray(token, args[i:], result, command, options, sets)
        else:
            raise UsageError(f"unknown option `{token}`", hint="see --help; inputs are given as --NAME VALUE")
    return result


def _option_value(token: str, rest: list[str], command: str, options: tuple[str, ...]) -> tuple[str, str | None]:
    """The name and the value text of `--NAME=VALUE` or `--NAME VALUE` (the value is `rest[0]`);
    None for the value of a `--NAME` that has none."""
    from scalargrad.errors import character, did_you_mean

    name, eq, text = token[2:].partition("=")
    if not _NAME.fullmatch(name):
        odd = next((char for char in name if not (char.isascii() and (char.isalnum() or char == "_"))), "")
        close = did_you_mean(name, options)
        if odd and not odd.isascii() and not close:
            raise UsageError(f"`{token}`: {character(odd)} cannot be part of a name",
                             hint="names are ASCII letters, digits and _")
        fixed = name.replace("-", "_")
        hint = f"see scalargrad {command} --help for the options; inputs are given as --NAME VALUE"
        if not close and _NAME.fullmatch(fixed):
            hint = f"input names have no `-`: for an input `{fixed}` write --{fixed} VALUE; see scalargrad {command} --help"
        raise UsageError(f"unknown option `{token}`" + (f"; did you mean `--{close}`?" if close else ""), hint=hint)
    following = rest[0] if rest and not rest[0].startswith("--") else None
    if eq and not text:
        value = following or "2"
        raise UsageError(f"`{token}` has no value after `=`",
                         hint=f"write --{name}={value} or --{name} {value}, with no space after `=`")
    if eq:
        return name, text
    if following is not None and following.startswith("="):
        value = following[1:] or (rest[1] if len(rest) > 1 else "") or "2"
        raise UsageError(f"`{' '.join([token, *rest[:2 if following == '=' else 1]])}` has a space beside `=`",
                         hint=f"write --{name}={value} or --{name} {value}")
    return name, following


def _stray(token: str, rest: list[str], result: Arguments, command: str, options: tuple[str, ...],
           sets: Iterable[str]) -> None:
    """A positional after the program where none is allowed: an error that says what it
    probably is, or (if it looks like a value) a stray for check_option_names to explain."""
    from scalargrad.errors import QUOTES, character, did_you_mean

    dashed = _DASHED.fullmatch(token)
    if dashed:
        raise UsageError(f"`{token}` starts with {character(token[0])}, not `--`",
                         hint=f"type two ASCII hyphens: --{dashed[1]}{dashed[2]} (an editor may have joined them "
                              "into one dash)")
    for item in sets:
        name, _, text = item.partition("=")
        if not text and _NAME.fullmatch(name.strip()):
            value = token if token != "=" else (rest[0] if rest else "2")
            raise UsageError(f"--set takes NAME=VALUE: write --set {name.strip()}={value}",
                             hint=f"one word, with no spaces around `=` (or --{name.strip()} {value})")
    if re.fullmatch(r"-[A-Za-z_][A-Za-z_0-9]*", token):
        close = did_you_mean(token[1:], options)
        raise UsageError(f"unknown option `{token}`" + (f"; did you mean `--{close}`?" if close else ""),
                         hint="options and inputs take two dashes: --NAME VALUE")
    if _VALUE_LIKE.fullmatch(token):
        result.strays.append(token)
        return
    quote = result.program[:1] if result.program and result.program[:1] in QUOTES else ""
    if quote:
        raise UsageError(f"unexpected extra argument `{token}`",
                         hint=f"{character(quote)} is not a quote for the shell: quote the whole program with "
                              f'straight quotes: scalargrad {command} "L = a * b" --a 2 --b 3')
    raise UsageError(f"unexpected extra argument `{token}`", hint=_QUOTE_HINT.format(command=command))


_QUOTE_HINT = 'quote the whole program as one argument: scalargrad {command} "L = a * b" --a 2 --b 3'


def name_list(items: Iterable[str] | str | None, option: str) -> list[str]:
    """Names given as `--option a,b`, or repeated `--option a --option b`, once each, in order.
    An empty name (`a,,b`) is an error rather than quietly nothing."""
    if isinstance(items, str):
        items = [items]
    names: list[str] = []
    for item in items or ():
        for name in (part.strip() for part in item.split(",")):
            if not name:
                raise UsageError(f"{option} `{item}` has an empty name",
                                 hint=f"write names separated by commas: {option} a,d")
            if name not in names:
                names.append(name)
    return names


def parse_set(items: list[str]) -> dict[str, str]:
    """`--set name=value` pairs, for names that collide with options (`--set json=1`)."""
    values: dict[str, str] = {}
    for item in items:
        name, eq, text = item.partition("=")
        name = name.strip()
        if not eq or not _NAME.fullmatch(name):
            example = name if _NAME.fullmatch(name) else "name"
            raise UsageError(f"--set `{item}` is not NAME=VALUE", hint=f"write --set {example}=2")
        if not text.strip():
            raise UsageError(f"--set `{item}` has no value after `=`", hint=f"write --set {name}=2, with no space after `=`")
        if name in values:
            raise UsageError(f"a value for `{name}` is given twice", hint="give each input once")
        values[name] = text
    return values


JSON_DEPTH_LIMIT = 64  # nesting levels: our files use 4; Python's json recurses once per level
# A JSON string (an unterminated one runs to the end), or a bracket outside strings.
_JSON_TOKEN = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"?|[\[\]{}]', re.DOTALL)
_ESCAPE = re.compile(r"\\.", re.DOTALL)
_NOT_BRACKET = bytes(byte for byte in range(256) if byte not in b"[]{}")


def check_json_depth(text: str, limit: int = JSON_DEPTH_LIMIT) -> None:
    """Refuse JSON nested deeper than `limit` before `json.loads` recurses into it (a
    RecursionError at a few thousand levels): a JSONDecodeError at the first bracket too deep.

    A loop over the brackets outside strings, found with C-speed string operations: drop
    escapes, keep the text between string quotes, keep its brackets."""
    if text.count("[") + text.count("{") <= limit:
        return
    unescaped = _ESCAPE.sub("", text) if "\\" in text else text
    outside = "".join(unescaped.split('"')[::2])
    depth = 0
    for bracket in outside.encode("utf-8", "surrogatepass").translate(None, _NOT_BRACKET):
        if bracket in b"[{":
            depth += 1
            if depth > limit:
                break
        else:
            depth -= 1
    else:
        return
    depth = 0  # too deep: find where, token by token, for the message
    for token in _JSON_TOKEN.finditer(text):
        if token.group() in ("[", "{"):
            depth += 1
            if depth > limit:
                raise json.JSONDecodeError(f"nested deeper than {limit} levels", text, token.start())
        elif token.group() in ("]", "}"):
            depth -= 1


def strict_json(text: str):
    """`json.loads`, refusing the NaN and Infinity that Python's json accepts but JSON does not,
    and nesting deeper than JSON_DEPTH_LIMIT. A refusal is a ValueError that says why (a
    JSONDecodeError, with its place, for nesting)."""

    def reject_constant(name: str) -> float:
        raise ValueError(f"{name} is not a finite number")

    check_json_depth(text)
    return json.loads(text, parse_constant=reject_constant)


def is_number(value: object) -> bool:
    """A JSON number: an int or float, not a bool (which Python counts as an int)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def read_bindings(path: str) -> dict[str, float]:
    """A JSON object of name -> number, from a file or `-` for standard input."""
    from scalargrad.files import read_text_file

    where = "standard input" if path == "-" else path
    try:
        text = read_text_file(path, f"bindings file {where}", error=InputError, kind_hint="give --bindings a JSON file")
    except FileNotFoundError:
        raise InputError(f"bindings file {where} does not exist", hint="check the path given to --bindings") from None

    try:
        data = strict_json(text)
    except json.JSONDecodeError as error:
        raise InputError(
            f"bindings file {where}, line {error.lineno}, column {error.colno}: {error.msg}",
            hint='a bindings file is a JSON object such as {"a": 2, "b": -3}, or data columns in a file whose name '
                 'ends in .csv' + ("; a program is given with --file" if "=" in text else ""),
        ) from None
    except ValueError as error:
        raise InputError(f"bindings file {where}: {error}", hint="values must be finite numbers") from None
    if not isinstance(data, dict):
        raise InputError(f"bindings file {where} is not a JSON object", hint='write an object such as {"a": 2, "b": -3}')
    values: dict[str, float] = {}
    for name, value in _elements(data):
        if not is_number(value):
            shown = json.dumps(value)
            shown = shown if len(shown) <= 40 else shown[:39] + "…"
            raise InputError(f"bindings file {where}: the value of `{name}` is not a number ({shown})",
                             hint="values must be numbers, not strings or lists")
        try:
            value = float(value)
        except OverflowError:  # an integer with hundreds of digits
            value = math.inf
        if not math.isfinite(value):
            raise InputError(f"bindings file {where}: the value of `{name}` is too large", hint="values must be finite")
        values[name] = value
    return values


def is_csv(path: str | None) -> bool:
    """Whether `--bindings PATH` names a CSV file of data columns (by its ending)."""
    return path is not None and path.lower().endswith(".csv")


@dataclass(frozen=True)
class DataFile:
    """A CSV file of data columns (`--bindings FILE.csv`) as read: its columns, and a digest
    of its text, by which a session tells later whether the file changed."""

    path: str
    columns: dict[str, list[float]]
    digest: str  # SHA-256 of the text, in hex
    header: tuple[str, ...] = ()  # every column of the file, those left out of `columns` too

    def only(self, names) -> DataFile:
        """The same file with the columns `names` only (those a program reads), in their order."""
        return DataFile(self.path, {name: self.columns[name] for name in names if name in self.columns}, self.digest,
                        self.header)

    def record(self, columns, session=None) -> dict:
        """What a session keeps of it (`session.Session.data`): where it is (and, given the
        session file's path, where relative to it), its digest, and `columns`, those the
        program reads."""
        import os
        from pathlib import Path

        file = Path(os.path.realpath(self.path))  # not Path.resolve(): a loop of links raises there
        record = {"file": str(file), "sha256": self.digest, "columns": list(columns)}
        if session is not None:
            try:
                record["relative"] = os.path.relpath(file, Path(os.path.realpath(session)).parent)
            except ValueError:  # another drive (Windows): no relative path
                pass
        return record


def read_columns(path: str, missing_hint: str = "", option: str = "--bindings") -> DataFile:
    """A CSV file with a header row: each column's numbers by its header, for the data a
    program reads (`x` in the program, a column `x` in the file). A cell that is missing,
    empty or not a number is an error naming its row and column."""
    import hashlib

    from scalargrad.files import read_text_file

    try:
        text = read_text_file(path, f"data file {path}", error=InputError, kind_hint=f"give {option} a CSV file")
    except FileNotFoundError:
        raise InputError(f"data file {path} does not exist",
                         hint=missing_hint or f"check the path given to {option}") from None
    digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
    columns = _columns(text, path)
    return DataFile(path, columns, digest, tuple(columns))


def _columns(text: str, path: str) -> dict[str, list[float]]:
    import csv
    import io

    reader = csv.reader(io.StringIO(text.removeprefix("\ufeff")))
    header = [cell.strip() for cell in next(reader, [])]
    for number, name in enumerate(header, 1):
        # Until the first row is a header of names, the file is not known to be a data file (a
        # session may name any file: a key, a password list), so nothing of it is quoted.
        if not re.fullmatch(r"[A-Za-z_][A-Za-z_0-9]*", name) or header.count(name) > 1:
            problem = (f"columns {header.index(name) + 1} and {number} of its first row have the same name"
                       if header.count(name) > 1 else f"column {number} of its first row is not a name")
            raise InputError(f"data file {path} is not a CSV file of data columns: {problem}",
                             hint="the first row names the columns as the program reads them, each once, in "
                                  "letters, digits and _: x1,x2,y")
    columns: dict[str, list[float]] = {name: [] for name in header}
    for row in reader:
        if not any(cell.strip() for cell in row):
            continue  # a blank line
        number = len(columns[header[0]]) + 1 if header else 1
        where = f"data file {path}, row {number} (line {reader.line_num})"
        if len(row) > len(header):
            raise InputError(f"{where} has {len(row)} cells; the header names {len(header)} columns",
                             hint="give every row one number per column")
        for i, name in enumerate(header):
            cell = row[i] if i < len(row) else ""
            columns[name].append(parse_number(cell, f"{where}, column `{name}`"))
    if not header or not columns[header[0]]:
        raise InputError(f"data file {path} has no rows of data", hint="write a header row, then rows of numbers")
    return columns


def _elements(data: dict):
    """Name -> value pairs, an array given whole (`"W": [[1, 2], [3, 4]]`) as its elements
    (`W[0, 0]`, ...), the names a program's tables use."""
    for name, value in data.items():
        if isinstance(value, list) and value and all(isinstance(row, list) for row in value):
            yield from ((f"{name}[{i}, {j}]", x) for i, row in enumerate(value) for j, x in enumerate(row))
        elif isinstance(value, list) and value:
            yield from ((f"{name}[{i}]", x) for i, x in enumerate(value))
        else:
            yield name, value


@dataclass
class Resolved:
    values: dict[str, float]  # a value for every input
    origin: dict[str, str]  # input name -> "command line" | "bindings" | "default" | another source
    warnings: list[str]


def check_option_names(given, inputs, options: tuple[str, ...], others: dict[str, str], command: str, *,
                       valueless: Iterable[str] = (), strays: Iterable[str] = (), set_names: Iterable[str] = (),
                       flags: Iterable[str] | None = None) -> None:
    """A `--NAME` on the command line that is not an input of the program but looks like an
    option (`--step 5` for step's `--steps`, or explain's `--node` given to grad) is an
    error, never silently an input value.

    Decided here rather than when the command line is split, because only now the inputs are
    known: a `--f` without a value (`valueless`) needs its value if `f` is an input, and is a
    mistyped `--of` if not; a value left over (`strays`) beside an input named like one of the
    command's flags (`L = json * 2` with `--json 3`) was meant for that input. `flags` are the
    options that take no value; when not known, any option is taken for one (an option that
    takes a value would have taken the stray as its value).
    """
    from scalargrad.errors import did_you_mean

    for name in valueless:
        if name in inputs:
            raise UsageError(f"`--{name}` needs a value", hint=f"write --{name} VALUE, e.g. --{name} 2")
        _check_not_an_option(name, options, others, command)
        close = did_you_mean(name, inputs)
        raise UsageError(f"`--{name}` has no value, and the program has no input `{name}`"
                         + (f"; did you mean `--{close}`?" if close else ""),
                         hint=f"see scalargrad {command} --help; inputs are given as --NAME VALUE")
    for name in given:
        if name not in inputs:
            _check_not_an_option(name, options, others, command, value=True)
    strays = list(strays)
    if strays:
        token, named = strays[0], set(given) | set(set_names)
        flags = set(options if flags is None else flags)
        for name in inputs:
            if name in flags and name not in named:
                raise UsageError(f"`--{name}` is an option of {command} (a flag); to give the input `{name}` a value "
                                 f"use --set {name}={token}", hint=f"--{name} takes no value, so `{token}` was left over")
        raise UsageError(f"unexpected extra argument `{token}`", hint=_QUOTE_HINT.format(command=command))


def _check_not_an_option(name: str, options: tuple[str, ...], others: dict[str, str], command: str,
                         value: bool = False) -> None:
    """`--NAME`, not an input of the program: an error if it is another command's option or a
    near miss of one of this command's."""
    from scalargrad.errors import did_you_mean

    if name in others:
        raise UsageError(f"{command} has no `--{name}`, and the program has no input of that name",
                         hint=f"`--{name}` is an option of {others[name]}; see scalargrad {command} --help")
    option = did_you_mean(name, options)
    if option:
        raise UsageError(f"`--{name}` is not an option of {command}, nor an input of the program; "
                         f"did you mean `--{option}`?",
                         hint=f"to give an input named `{name}`, write --set {name}=VALUE" if value
                         else f"see scalargrad {command} --help")


def resolve(inputs, defaults: dict[str, float], layers: list[tuple[str, dict[str, float]]], *,
            names=(), options: tuple[str, ...] = (), command: str = "", needed: set[str] | None = None) -> Resolved:
    """Choose each input's value from `layers` (highest precedence first), then defaults.

    Every missing input (of those `needed`, when given) is reported in one error; a value for a name the program does
    not read is a warning, unless the name is a near miss of one of the command's `options`
    (`--step 5` for `--steps 5`), which is an error. `names` are the program's names, for
    "did you mean" on a missing input that is a misspelt bound name.
    """
    from scalargrad.errors import did_you_mean

    values: dict[str, float] = {}
    origin: dict[str, str] = {}
    warnings: list[str] = []
    unused: dict[str, str] = {}  # a name given that the program does not read -> where it was given
    for source, layer in layers:
        for name, value in layer.items():
            if name not in inputs:
                if name not in unused:
                    unused[name] = source
                    close = did_you_mean(name, inputs) if inputs else None
                    guess = f" (did you mean `{close}`?)" if close else ""
                    warnings.append(f"`{name}` is not an input of the program; its value ({source}) is ignored{guess}")
                continue
            if name not in values:
                values[name] = value
                origin[name] = source
    for name in inputs:
        if name not in values and name in defaults:
            values[name] = defaults[name]
            origin[name] = "default"
    missing = [name for name in inputs if name not in values and (needed is None or name in needed)]
    if missing:
        raise _missing_values(missing, [n for n in names if n not in inputs], options, command, unused)
    return Resolved(values, origin, warnings)


def _missing_values(missing: list[str], assigned: list[str], options: tuple[str, ...], command: str,
                    unused: dict[str, str]) -> InputError:
    """One error for every missing input, with what each was probably meant as: a misspelt
    `assigned` name, an input named like an option, or a near miss that was given (`--A` for `a`)."""
    from scalargrad.errors import did_you_mean

    listed = ", ".join(f"`{name}`" for name in missing[:20])
    if len(missing) > 20:
        listed += f" and {len(missing) - 20:,} more"
    example = " ".join(f"--{name} VALUE" for name in missing[:6]) + (" ..." if len(missing) > 6 else "")
    notes = []
    for name in missing[:20]:
        bound = did_you_mean(name, assigned)
        if bound:
            notes.append(f"`{name}` is read but never assigned: did you mean `{bound}`?")
        if name in options:
            notes.append(f"`--{name}` is an option of {command or 'this command'}: give the input with "
                         f"--set {name}=VALUE")
        given = did_you_mean(name, unused)
        if given:
            notes.append(_given_instead(given, name, unused[given]))
    them = "them" if len(missing) > 1 else "it"
    return InputError(
        f"missing value{'s' if len(missing) > 1 else ''} for {listed}" + "".join(f"; {n}" for n in notes),
        hint=f"give {them} on the command line ({example}), with --set NAME=VALUE, "
        f"in a JSON file with --bindings FILE, or as defaults in the program (`{missing[0]} = 2`)",
    )


def _given_instead(given: str, name: str, source: str) -> str:
    """`--A` was given, but names are case-sensitive: did you mean `--a`?"""
    shown, meant = (f"`--{given}`", f"`--{name}`") if source == "command line" else (f"`{given}` ({source})", f"`{name}`")
    if given.lower() == name.lower():
        return f"{shown} was given, but names are case-sensitive: did you mean {meant}?"
    return f"{shown} was given: did you mean {meant}?"


def command_line_values(args: Arguments, sets: list[str]) -> dict[str, float]:
    """The values given on the command line, as numbers."""
    texts = dict(args.values)
    for name, text in parse_set(sets).items():
        if name in texts:
            raise UsageError(f"a value for `{name}` is given twice", hint="give each input once")
        texts[name] = text
    return {name: parse_number(text, f"the value of `{name}`") for name, text in texts.items()}
