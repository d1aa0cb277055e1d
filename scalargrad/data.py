"""The user's files of values and data, read: their text, the numbers in them, strict JSON with
arrays as nested lists, and CSV data columns with the session's record of a data file.

- **Text** (`read_bytes`, `decode`): UTF-8, with or without the byte-order mark Notepad and
  Excel write. A UTF-16 or UTF-32 file, or text in another encoding, is an error that names
  the encoding, never Python's words.
- **Numbers** (`parse_number`): the one reader of a number a person typed (command line, CSV
  cell, range), with the near misses worded (`1,5`, `1/2`, `pi`, `−3`).
- **JSON** (`strict_json`): no NaN or Infinity, nesting bounded before `json` recurses. An
  array is a nested list of its shape (`{"W": [[1, 2], [3, 4]]}`): `shape_of` reads one,
  `nest` and `flatten` turn element names (`W[0, 1]`) into nested lists and back.
- **CSV** (`read_columns -> DataFile`): the one CSV reader (`--bindings FILE.csv`, sweep's
  `--points` and `--marks`). The dialect comes from the header line: comma, semicolon or tab
  separated, whichever it has most of. CR, LF and CRLF line ends; the header checked in one
  pass; a short or long row, an unclosed quote, a cell too long are worded with their line;
  the size bounded by the budget (`budget.py`) before the rows are read.
- **The session's record** of a data file (`DataFile.record`, `bad_record`, `located`): where
  it is, the digest of its bytes, the columns the program reads; session.py stores it.

Content of a file is quoted in a message only when the file reads as what it should be (a
CSV file with a header of column names): a session can name any file, and its first line must
not end up in a terminal or a CI log.
"""

from __future__ import annotations

import json
import math
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator, Mapping

from scalargrad.errors import InputError, clip

NAME = re.compile(r"[A-Za-z_][A-Za-z_0-9]*")


# -- text ------------------------------------------------------------------------------------
UTF8_BOM = b"\xef\xbb\xbf"
_MARKS = ((b"\x00\x00\xfe\xff", "UTF-32 (big-endian)"), (b"\xff\xfe\x00\x00", "UTF-32 (little-endian)"),
          (b"\xfe\xff", "UTF-16 (big-endian)"), (b"\xff\xfe", "UTF-16 (little-endian)"))
_ICONV = {"UTF-32 (big-endian)": "UTF-32BE", "UTF-32 (little-endian)": "UTF-32LE", "UTF-16 (big-endian)": "UTF-16BE",
          "UTF-16 (little-endian)": "UTF-16LE", "Windows-1252 (Latin-1)": "WINDOWS-1252"}


def read_bytes(path: str | Path, name: str, *, kind_hint: str = "") -> bytes:
    """The bytes of the regular file at `path`, or of standard input for `-`, checked as
    `files.read_file_bytes` checks them (an InputError). A missing file raises
    FileNotFoundError, for the caller to word."""
    from scalargrad.files import READ_LIMIT, read_file_bytes

    if str(path) != "-":
        return read_file_bytes(path, name, error=InputError, kind_hint=kind_hint)
    stream = getattr(sys.stdin, "buffer", None)
    try:
        raw = stream.read(READ_LIMIT + 1) if stream is not None else sys.stdin.read(READ_LIMIT + 1).encode(
            "utf-8", "surrogateescape")
    except (OSError, UnicodeError) as failure:
        raise InputError(f"cannot read {name}: {getattr(failure, 'strerror', None) or failure}") from None
    if len(raw) > READ_LIMIT:
        raise InputError(f"{name} is too large to read (over {READ_LIMIT // (1024 * 1024):,} MiB)")
    return raw


def decode(raw: bytes, name: str) -> str:
    """The text of a file as UTF-8, its byte-order mark dropped if it has one. Another
    encoding is an InputError that names it: by its byte-order mark (UTF-16, UTF-32), by the
    zero bytes of UTF-16 without one, else by the first byte that is not UTF-8."""
    if raw.startswith(UTF8_BOM):
        raw = raw[len(UTF8_BOM):]
    encoding = next((encoding for mark, encoding in _MARKS if raw.startswith(mark)), "")
    if encoding:
        raise InputError(f"{name} is {encoding} text (it starts with that byte-order mark), not UTF-8",
                         hint=_convert_hint(encoding))
    head = raw[:64]
    if len(head) >= 4 and head.count(0) * 3 >= len(head):  # ASCII as UTF-16: every other byte is 0
        encoding = "UTF-16 (little-endian)" if head[1::2].count(0) > head[0::2].count(0) else "UTF-16 (big-endian)"
        raise InputError(f"{name} looks like {encoding} text without a byte-order mark, not UTF-8",
                         hint=_convert_hint(encoding))
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as failure:
        line = raw.count(b"\n", 0, failure.start) + 1
        try:
            raw.decode("cp1252")
            encoding = "Windows-1252 (Latin-1)"
        except UnicodeDecodeError:
            encoding = ""
        guess = f"; it looks like {encoding} text" if encoding else ""
        raise InputError(f"{name} is not UTF-8 text: the byte 0x{raw[failure.start]:02X} on line {line} is not "
                         f"UTF-8{guess}", hint=_convert_hint(encoding)) from None


def _convert_hint(encoding: str) -> str:
    convert = f"iconv -f {_ICONV[encoding]} -t UTF-8 FILE > NEW" if encoding in _ICONV else "iconv -t UTF-8"
    return f"save it as UTF-8 (in Notepad or Excel: Save As, encoding UTF-8), or convert it: {convert}"


# -- numbers ---------------------------------------------------------------------------------
_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_NOT_FINITE = re.compile(r"[+-]?(?:inf|infinity|nan)", re.IGNORECASE)
DECIMAL_HINT = "write a decimal number such as 2, -3.5 or 1e-3"


def looks_like_a_number(text: str) -> bool:
    """A decimal number, or one of the words float() reads (`inf`, `-nan`): after `--NAME` it is
    the value, even when it starts with `-`, never an option."""
    return bool(_NUMBER.fullmatch(text.strip()) or _NOT_FINITE.fullmatch(text.strip()))


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
            return "", f"use the ASCII digits 0-9; {DECIMAL_HINT}"
    for pattern, reason, hint in _NEAR_NUMBERS:
        match = re.fullmatch(pattern, stripped)
        if match:
            return f"; {reason}", hint(match)
    return "", DECIMAL_HINT


def parse_number(text: str, what: str) -> float:
    """A finite decimal number, ASCII digits only (`2`, `-3.5`, `.5`, `1e-3`)."""
    finite = "it must be a finite number"
    if not text.strip():
        raise InputError(f"{what} is empty", hint=DECIMAL_HINT)
    if _NOT_FINITE.fullmatch(text.strip()):
        kind = "is not a number (NaN)" if text.strip().lstrip("+-")[:1] in "nN" else "is infinite"
        raise InputError(f"{what}: `{clip(text, 40)}` {kind}; {finite}", hint=DECIMAL_HINT)
    if not _NUMBER.fullmatch(text.strip()):
        reason, hint = _not_a_number(text) if len(text) <= 1000 else ("", DECIMAL_HINT)
        raise InputError(f"{what}: `{clip(text, 40)}` is not a number{reason}", hint=hint)
    value = float(text)
    if not math.isfinite(value):
        raise InputError(f"{what}: `{clip(text, 40)}` is too large for a float (above about 1.8e308); {finite}",
                         hint=DECIMAL_HINT)
    return value


# -- JSON ------------------------------------------------------------------------------------
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


def finite(value: object) -> float | None:
    """A JSON number as a finite float, or None (not a number, or too large: an integer of 400
    digits overflows)."""
    if not is_number(value):
        return None
    try:
        number = float(value)
    except OverflowError:
        return None
    return number if math.isfinite(number) else None


# -- arrays as nested lists ------------------------------------------------------------------
_ELEMENT = re.compile(r"([A-Za-z_][A-Za-z_0-9]*)\[(0|[1-9][0-9]*)(?:, (0|[1-9][0-9]*))?\]")  # as a program names one
_LOOSE_ELEMENT = re.compile(r"\s*([A-Za-z_][A-Za-z_0-9]*)\s*\[\s*([0-9]+)\s*(?:,\s*([0-9]+)\s*)?\]\s*")


def element_key(name: str) -> str:
    """An element's name as a program writes it: `W[0,1]` and `W[ 0, 1 ]` are `W[0, 1]`;
    any other name as it is."""
    match = _LOOSE_ELEMENT.fullmatch(name)
    if not match:
        return name
    indices = [str(int(index)) for index in match.groups()[1:] if index is not None]
    return f"{match[1]}[{', '.join(indices)}]"


def index_text(name: str, index: tuple[int, ...]) -> str:
    return f"{name}[{', '.join(map(str, index))}]"


def unravel(position: int, shape: tuple[int, ...]) -> tuple[int, ...]:
    """The index of the `position`-th element, row-major, of an array of `shape`."""
    index = []
    for size in reversed(shape):
        position, rest = divmod(position, size)
        index.append(rest)
    return tuple(reversed(index))


def shape_of(value: object, name: str) -> tuple[tuple[int, ...], list]:
    """The shape of `value` as NumPy gives it (a number: (); a list of n numbers: (n,); a list
    of m lists of n: (m, n) ...) and its items, row-major. A list whose rows differ in length,
    or that mixes numbers and lists, is ragged: a ValueError naming the first row that differs
    (`W[1]` has 1 element, `W[0]` has 2). A loop over the levels, never recursion."""
    level, shape = [value], []
    while level and any(isinstance(item, list) for item in level):
        kinds = [isinstance(item, list) for item in level]
        if not all(kinds):
            odd, row = kinds.index(False), kinds.index(True)
            raise ValueError(f"`{name}` is ragged: `{index_text(name, unravel(odd, tuple(shape)))}` is a number, "
                             f"`{index_text(name, unravel(row, tuple(shape)))}` a list of {len(level[row])}")
        width = len(level[0])
        odd = next((k for k, item in enumerate(level) if len(item) != width), None)
        if odd is not None:
            raise ValueError(f"`{name}` is ragged: `{index_text(name, unravel(odd, tuple(shape)))}` has "
                             f"{_elements(len(level[odd]))}, `{index_text(name, unravel(0, tuple(shape)))}` has {width}")
        shape.append(width)
        level = [item for row in level for item in row]
    return tuple(shape), level


def _elements(count: int) -> str:
    return f"{count} element{'' if count == 1 else 's'}"


def nested(shape: tuple[int, ...], items: list) -> list:
    """`items` (row-major) as a nested list of `shape` (one or two dimensions)."""
    if len(shape) == 1:
        return list(items)
    width = shape[1]
    return [list(items[i * width:(i + 1) * width]) for i in range(shape[0])]


def nest(values: Mapping[str, object]) -> dict:
    """`values` with each whole array as a nested list of its shape, where its first element
    was: {"b": 1, "W[0, 0]": 1, "W[0, 1]": 2, "W[1, 0]": 3, "W[1, 1]": 4} is {"b": 1, "W": [[1,
    2], [3, 4]]}. What is not a whole array (a lone element, a name also given alone) stays."""
    groups: dict[str, dict[tuple[int, ...], str]] = {}
    for name in values:
        match = _ELEMENT.fullmatch(name)
        if match:
            index = tuple(int(i) for i in match.groups()[1:] if i is not None)
            groups.setdefault(match[1], {})[index] = name
    whole: dict[str, list] = {}
    for base, members in groups.items():
        ranks = {len(index) for index in members}
        if base in values or len(ranks) != 1:
            continue
        shape = tuple(max(index[d] for index in members) + 1 for d in range(ranks.pop()))
        if math.prod(shape) == len(members):  # every index from 0 to the largest: the whole array
            whole[base] = nested(shape, [values[members[unravel(k, shape)]] for k in range(len(members))])
    result: dict = {}
    for name, value in values.items():
        match = _ELEMENT.fullmatch(name)
        if match and match[1] in whole:
            result.setdefault(match[1], whole[match[1]])
        else:
            result[name] = value
    return result


def flatten(values: Mapping[str, object]) -> dict:
    """The inverse of `nest`: each nested list as its elements, named as a program names them
    (`W[0, 1]`). A ValueError says what is wrong with a list that is not an array: ragged,
    empty, or of more than two dimensions; or an element given twice."""
    flat: dict = {}
    for name, value in values.items():
        if not isinstance(value, list):
            if name in flat:
                raise ValueError(f"`{name}` is given twice, alone and in its array")
            flat[name] = value
            continue
        shape, items = shape_of(value, name)
        if not 1 <= len(shape) <= 2 or 0 in shape:
            raise ValueError(f"`{name}` has shape {shape}: an array is a vector or a matrix with at least one element")
        for k, item in enumerate(items):
            element = index_text(name, unravel(k, shape))
            if element in flat or element in values:
                raise ValueError(f"`{element}` is given twice, alone and in `{name}`")
            flat[element] = item
    return flat


# -- CSV -------------------------------------------------------------------------------------
SEPARATORS = {",": "comma", ";": "semicolon", "\t": "tab"}  # the dialects read, in order of preference
HEADER_SHOWN = 8  # column names listed in a message before `...`


@dataclass(frozen=True)
class DataFile:
    """A CSV file of data columns (`--bindings FILE.csv`) as read: its columns, and a digest
    of its bytes, by which a session tells later whether the file changed."""

    path: str
    columns: dict[str, list[float]]
    digest: str  # SHA-256 of the file's bytes, in hex
    header: tuple[str, ...] = ()  # every column of the file, those left out of `columns` too
    separator: str = ","  # the dialect found in the header line: "," ";" or "\t"

    def only(self, names: Iterable[str]) -> DataFile:
        """The same file with the columns `names` only (those a program reads), in their order."""
        return DataFile(self.path, {name: self.columns[name] for name in names if name in self.columns}, self.digest,
                        self.header, self.separator)

    def record(self, columns: Iterable[str], session: str | Path | None = None) -> dict:
        """What a session keeps of it (`session.Session.data`): where it is (and, given the
        session file's path, where relative to it), its digest, and `columns`, those the
        program reads. `bad_record` checks one read back."""
        import os

        file = Path(os.path.realpath(self.path))  # not Path.resolve(): a loop of links raises there
        record = {"file": str(file), "sha256": self.digest, "columns": list(columns)}
        if session is not None:
            try:
                record["relative"] = os.path.relpath(file, Path(os.path.realpath(session)).parent)
            except ValueError:  # another drive (Windows): no relative path
                pass
        return record

    def header_text(self) -> str:
        """The file's columns for a message: `x1, x2, y`, the first few of a wide file."""
        return columns_text(self.header or tuple(self.columns))


def columns_text(names: tuple[str, ...] | list[str]) -> str:
    shown = ", ".join(names[:HEADER_SHOWN])
    return shown + (f", ... ({len(names):,} columns)" if len(names) > HEADER_SHOWN else "")


def is_csv(path: str | None) -> bool:
    """Whether `--bindings PATH` names a CSV file of data columns (by its ending)."""
    return path is not None and str(path).lower().endswith(".csv")


def read_columns(path: str | Path, missing_hint: str = "", option: str = "--bindings",
                 name: str = "") -> DataFile:
    """A CSV file with a header row: each column's numbers by its header (`x` in the program,
    a column `x` in the file). `name` is the file in messages (default `data file PATH`). Every
    problem is an InputError naming the line: a cell that is empty or not a number, a row
    with fewer or more cells than the header names, an unclosed quote, a cell too long."""
    import hashlib

    name = name or f"data file {path}"
    try:
        raw = read_bytes(path, name, kind_hint=f"give {option} a CSV file")
    except FileNotFoundError:
        raise InputError(f"{name} does not exist", hint=missing_hint or f"check the path given to {option}") from None
    header, columns, separator = parse_csv(decode(raw, name), name)
    return DataFile(str(path), columns, hashlib.sha256(raw).hexdigest(), header, separator)


def parse_csv(text: str, name: str) -> tuple[tuple[str, ...], dict[str, list[float]], str]:
    """(header, columns, separator) of CSV text; `name` says which file in messages."""
    import csv
    import io

    from scalargrad import budget

    text = text.removeprefix("\ufeff")  # a byte-order mark, if `decode` has not dropped it
    first = re.search(r"[^\r\n]+", text)  # the header line
    separator = max(SEPARATORS, key=first[0].count) if first else ","  # the first of the most frequent
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=separator, strict=True)
    rows = _rows(reader, name, separator)
    line, row = next(((line, row) for line, row in rows if row), (1, []))
    header = _header(row, name, f"{name}, line {line}", separator)
    lines = text.count("\n") + text.count("\r") - text.count("\r\n") + (not text.endswith(("\n", "\r")))
    budget.check_nodes((lines - 1) * len(header), f"{name} has {lines - 1:,} lines of {len(header):,} columns "
                       "under its header, values for", way_around="keep only the columns the program reads")
    columns: dict[str, list[float]] = {column: [] for column in header}
    lists = list(columns.values())
    count = 0
    for line, row in rows:
        if not any(cell.strip() for cell in row):
            continue  # a blank line
        count += 1
        if len(row) != len(header):
            raise _row_length(row, header, name, f"row {count} (line {line})", separator)
        for cell, column, values in zip(row, header, lists):
            if _NUMBER.fullmatch(cell.strip()) and math.isfinite(number := float(cell)):
                values.append(number)
            else:
                values.append(_bad_cell(cell, f"{name}, row {count} (line {line}), column `{column}`", separator))
    if not count:
        raise InputError(f"{name} has no rows of data", hint="write a header row, then rows of numbers")
    return tuple(header), columns, separator


def _rows(reader, name: str, separator: str) -> Iterator[tuple[int, list[str]]]:
    """(line, cells) of each row of a csv.reader: the line where the row starts; a csv.Error
    as an InputError that says what is wrong, in words, with the line."""
    import csv

    while True:
        line = reader.line_num + 1
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as failure:
            why = str(failure)
            if "field larger" in why:
                raise InputError(f"{name}, line {line}: a cell is longer than {csv.field_size_limit():,} characters",
                                 hint="a cell of a data file holds one number") from None
            if "unexpected end of data" in why:
                raise InputError(f"{name}, line {line}: a quoted cell is never closed (its `\"` has no closing `\"`)",
                                 hint='close the quote, or remove it: numbers need no quotes') from None
            if "expected after" in why:
                raise InputError(f"{name}, line {line}: a quoted cell has more text after its closing `\"`",
                                 hint=f"quote the whole cell, or nothing: 1.5 or \"1.5\"; cells are separated "
                                      f"by {_separator_text(separator)}") from None
            raise InputError(f"{name}, line {line}: {why}", hint="it is not a CSV file that can be read") from None
        yield line, row


def _separator_text(separator: str) -> str:
    return "tabs" if separator == "\t" else f"`{separator}`"


def _others(text: str, separator: str, what: str = "this line", skip: str = "") -> str:
    """`; the header is comma-separated, and this line has `;``: for a message about text that
    holds another dialect's separator (a file of two dialects), else "". `skip`: a separator
    not to mention (a comma in a cell of a semicolon-separated file is a decimal comma)."""
    other = next((mark for mark in SEPARATORS if mark not in (separator, skip) and mark in text), None)
    if other is None:
        return ""
    shown = "a tab" if other == "\t" else f"`{other}`"
    return f"; the header is {SEPARATORS[separator]}-separated, and {what} has {shown}"


def _header(row: list[str], name: str, where: str, separator: str) -> list[str]:
    """The column names of the first row (`where`: the file and its line), checked in one pass:
    each a name, none repeated. A first line with no name at all is not quoted: it may be any
    file's first line."""
    names = [cell.strip() for cell in row]
    if not any(names):
        raise InputError(f"{name} has no header row" if names else f"{name} is empty",
                         hint="its first line names the columns, as in: x1,x2,y")
    if not any(NAME.fullmatch(column) for column in names):
        raise InputError(f"{where} is not a header row of column names",
                         hint="its first line names the columns as the program reads them, separated by commas, "
                              "semicolons or tabs: x1,x2,y")
    seen: dict[str, int] = {}
    for number, column in enumerate(names, 1):
        if not column:
            raise InputError(f"{where}: column {number} of the header has no name",
                             hint="name every column, or remove the separator too many (at the end of the line?)")
        if not NAME.fullmatch(column):  # not quoted: until its header reads, it may be any file (a key, a password list)
            raise InputError(f"{where}: column {number} of the header is not a name"
                             + _others(column, separator, "it"),
                             hint="the first row names the columns as the program reads them: x1,x2,y "
                                  "(letters, digits and _, separated by commas, semicolons or tabs, one kind per file)")
        if column in seen:
            raise InputError(f"{where}: columns {seen[column]} and {number} of the header have the same name",
                             hint="give each column its own name")
        seen[column] = number
    return names


def _row_length(row: list[str], header: list[str], name: str, where: str, separator: str) -> InputError:
    """A row with fewer or more cells than the header names, said as such."""
    count = len(row)
    what = (f"it has {count} cell{'s' * (count != 1)}; the header names {len(header):,} columns "
            f"({columns_text(header)})")
    if count < len(header):
        hint = f"give every row one number per column: the cells from `{header[count]}` on are missing"
    else:
        hint = (f"give every row one number per column: it has {count - len(header)} too many "
                f"(a decimal comma in a comma-separated file? write 1.5, not 1,5)")
    return InputError(f"{name}, {where} is a {'short' if count < len(header) else 'long'} row: {what}"
                      + _others(separator.join(row), separator), hint=hint)


def _bad_cell(cell: str, where: str, separator: str) -> float:
    """The number in `cell`, else the InputError that says why not (parse_number's words, and
    the dialect when the cell holds another dialect's separator)."""
    try:
        return parse_number(cell, where)
    except InputError as error:
        error.message += _others(cell, separator, "the cell", skip="," if separator == ";" else "")
        if not cell.strip():
            error.hint = "give every row one number in each column: a missing number is not guessed"
        raise


# -- the session's record of a data file -----------------------------------------------------
def bad_record(record: object) -> str:
    """What is wrong with a session's record of its data file, or "": null, or an object with
    `file` (the absolute path of a CSV file, text), `sha256` (the digest of its bytes, 64 hex
    digits), `columns` (the names of those the program reads, a list of text) and the optional
    `relative` (its path relative to the session file's folder)."""
    if record is None:
        return ""
    if not isinstance(record, dict):
        return "is not a JSON object"
    if not (_text(record.get("file")) and record["file"].strip() and "\0" not in record["file"]):
        return "has no `file` (the path of a CSV file)"
    if not is_digest(record.get("sha256")):
        return "has no `sha256` (64 hexadecimal digits)"
    columns = record.get("columns")
    if not (isinstance(columns, list) and columns and all(_text(name) for name in columns)):
        return "has no `columns` (a list of names)"
    if "relative" in record and not (_text(record["relative"]) and "\0" not in record["relative"]):
        return "has a `relative` that is not a path"
    return ""


def is_digest(value: object) -> bool:
    """A SHA-256 digest in hex, as `DataFile.digest` writes it."""
    return isinstance(value, str) and len(value) == 64 and all(c in "0123456789abcdef" for c in value)


def _text(value: object) -> bool:
    if not isinstance(value, str):
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate, from JSON's \ud800
        return False
    return True


def located(record: Mapping, session: str | Path | None) -> Path:
    """Where a session's data file is: its absolute path; else, when that is gone but the file
    is where it was relative to the session file (the project folder moved or was renamed,
    the session with it), that place."""
    saved = Path(record["file"])
    if not _there(saved) and record.get("relative") and session is not None:
        moved = Path(os.path.realpath(session)).parent / record["relative"]  # realpath: a loop is no error
        if _there(moved, regular=True):
            return moved
    return saved


def _there(path: Path, regular: bool = False) -> bool:
    """Whether something (a regular file) is at `path`, which a session file names: a name too
    long or a folder that cannot be searched is not there (reading it then says why), never a
    traceback."""
    import stat

    try:
        mode = os.stat(path).st_mode
    except (OSError, ValueError):
        return False
    return stat.S_ISREG(mode) or not regular


def read_recorded(record: Mapping, where: str, missing_hint: str = "") -> DataFile:
    """A session's data file read again at `where` (`located`, as shown to a person), with the
    columns its program reads only."""
    return read_columns(where, missing_hint=missing_hint, option="session --data").only(record["columns"])
