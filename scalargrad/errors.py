"""One exception hierarchy for everything a user can get wrong.

The library raises these; the CLI catches `ScalarGradError` at its edge and prints
`format()` on stderr with `exit_code`. Nothing here imports a third-party library.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Iterable


@dataclass(frozen=True)
class Place:
    """A point in the program text, with what happens there."""

    line: int  # 1-based
    column: int  # 1-based
    note: str = ""
    width: int = 1  # how many characters the caret underlines


# What a line is, for the lexer, the places of errors and every listing of a program: the text
# up to a newline, "\n" (a "\r" before it belongs to the line end, CR LF). Other characters
# that some display takes for a line break (Python's str.splitlines, a terminal, a browser)
# would show a line the parser does not read as one, so a program may not hold them at all:
# `odd_line_break` finds them.
ODD_LINE_BREAKS = {
    "\r": "U+000D CARRIAGE RETURN (CR) alone", "\v": "U+000B LINE TABULATION (VT)",
    "\f": "U+000C FORM FEED (FF)", "\x1c": "U+001C FILE SEPARATOR", "\x1d": "U+001D GROUP SEPARATOR",
    "\x1e": "U+001E RECORD SEPARATOR", "\x85": "U+0085 NEXT LINE (NEL)", "\u2028": "U+2028 LINE SEPARATOR",
    "\u2029": "U+2029 PARAGRAPH SEPARATOR",
}
_ODD_LINE_BREAK = re.compile("\r(?!\n)|[\v\f\x1c\x1d\x1e\x85\u2028\u2029]")


def odd_line_break(text: str) -> int | None:
    """The offset of the first character in `text` that breaks a line for some display but
    is not a newline (U+2028, U+2029, U+0085, VT, FF, a CR alone, ...), else None."""
    found = _ODD_LINE_BREAK.search(text)
    return found.start() if found else None


def source_lines(source: str) -> list[str]:
    """The lines of `source` as the parser reads them: split at each newline, a CR before
    it dropped."""
    return [line[:-1] if line.endswith("\r") else line for line in source.split("\n")]


def place_at(source: str, offset: int, note: str = "", width: int = 1) -> Place:
    """The 1-based line and column of a character offset into `source` (lines as in `source_lines`)."""
    line = source.count("\n", 0, offset) + 1
    line_start = source.rfind("\n", 0, offset) + 1
    return Place(line, offset - line_start + 1, note, max(1, width))


def show_place(source: str, place: Place) -> str:
    """The source line of `place` with a caret under it, like a compiler does. Control
    characters in the line are shown escaped (`\x1b`, `\u2028`), and the caret still points
    at the place: it is measured in what the terminal shows, wide characters counting two."""
    lines = source_lines(source)
    text = lines[place.line - 1] if place.line - 1 < len(lines) else ""
    # Very long lines (generated programs) are cut around the caret.
    start = 0
    if len(text) > 100:
        start = max(0, place.column - 50)
        text = ("…" if start else "") + text[start : start + 100] + ("…" if start + 100 < len(text) else "")
    offset = place.column - 1 - start + (1 if start else 0)
    before, marked = printable(text[:offset]), printable(text[offset : offset + max(1, place.width)])
    gutter = f"{place.line:>4} | "
    caret = " " * (len(gutter) - 2) + "| " + " " * display_width(before) + "^" * min(display_width(marked) or 1, 100)
    if place.note:
        caret += " " + place.note
    return f"{gutter}{printable(text)}\n{caret}"


# Characters that would act on the terminal rather than show: C0 and C1 controls, DEL, the line
# and paragraph separators, and the bidirectional overrides that can make text read differently
# from what it is.
_BIDI = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def printable(text: str, keep: str = "") -> str:
    """`text` with every control character escaped as `\x1b` or `\u202e`, so text from the
    input (a program, a name, a file) can never move the cursor, set a title or clear the
    screen. Characters in `keep` (e.g. a newline between lines) stay as they are."""
    if text.isprintable() and not _BIDI.intersection(text):
        return text
    import unicodedata

    out = []
    for ch in text:
        if ch in keep or (ch not in _BIDI and (ch.isprintable() or unicodedata.category(ch) not in ("Cc", "Zl", "Zp"))):
            out.append(ch)
        else:
            out.append(f"\\x{ord(ch):02x}" if ord(ch) < 0x100 else f"\\u{ord(ch):04x}")
    return "".join(out)


def clip(text: str, width: int, middle: bool = False) -> str:
    """`text` cut to `width` characters with an ellipsis: at the end, or (`middle`) keeping both
    ends, which suits paths and expressions."""
    if len(text) <= width:
        return text
    if middle:
        half = (width - 1) // 2
        return text[:half] + "…" + text[-half:]
    return text[: width - 1] + "…"


def display_width(text: str) -> int:
    """How many terminal columns `text` takes: East Asian wide characters two, combining marks none."""
    if text.isascii():
        return len(text)
    import unicodedata

    return sum(0 if unicodedata.combining(ch) else 2 if unicodedata.east_asian_width(ch) in "WF" else 1
               for ch in text)


def did_you_mean(word: str, choices: Iterable[str]) -> str | None:
    """The closest choice: another case or a transposition (`tahn` -> `tanh`), else difflib's best.

    Every "did you mean" in scalargrad (functions, names, options, commands) comes from here.
    """
    choices = list(choices)
    for choice in choices:
        if choice.lower() == word.lower() or sorted(choice) == sorted(word):
            return choice
    import difflib  # only when a name is wrong: it costs start-up

    close = difflib.get_close_matches(word, choices, n=1)
    return close[0] if close else None


# Characters that a paste or an editor's autocorrect puts where ASCII belongs, and the ASCII
# character meant. Fullwidth forms (`（`, `＋`) and odd spaces are found by NFKC normalisation.
LOOK_ALIKES = {
    "\u2212": "-", "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-", "\u2015": "-",
    "\u00d7": "*", "\u00b7": "*", "\u2022": "*", "\u2217": "*", "\u22c5": "*", "\u2715": "*",
    "\u00f7": "/", "\u2044": "/", "\u2215": "/",
}
QUOTES = "\u2018\u2019\u201a\u201b\u201c\u201d\u201e\u201f\u00ab\u00bb\u2039\u203a\u2032\u2033"
_ASCII_WORDS = {"-": "the ASCII hyphen-minus", "*": "the ASCII asterisk", "/": "the ASCII slash",
                " ": "a plain space", ".": "the ASCII dot"}


def character(char: str) -> str:
    """A character with its code point and Unicode name: `−` (U+2212 MINUS SIGN); an invisible
    one by its name only."""
    named = f"U+{ord(char):04X} {unicodedata.name(char, 'UNNAMED CHARACTER')}"
    return named if char.isspace() or unicodedata.category(char) in ("Cf", "Cc") else f"`{char}` ({named})"


def ascii_look_alike(char: str) -> str | None:
    """The ASCII character `char` stands in for (`−` -> `-`, `×` -> `*`, `（` -> `(`), if any."""
    if char.isascii():
        return None
    if char in LOOK_ALIKES:
        return LOOK_ALIKES[char]
    plain = unicodedata.normalize("NFKC", char)
    return plain if len(plain) == 1 and plain.isascii() and not plain.isalnum() else None


def type_instead(ascii_char: str) -> str:
    """`type - (the ASCII hyphen-minus)`."""
    if ascii_char == " ":
        return "type a plain space"
    words = _ASCII_WORDS.get(ascii_char) or f"the ASCII {unicodedata.name(ascii_char).lower()}"
    return f"type {ascii_char} ({words})"


class ScalarGradError(Exception):
    """Base of every error caused by user input. Never shown as a traceback."""

    exit_code = 2

    def __init__(self, message: str, *, hint: str = "", source: str | None = None, places: tuple[Place, ...] = ()):
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.source = source
        self.places = tuple(places)

    def format(self) -> str:
        """The message as the CLI prints it: where, what, how to fix it (control characters
        from the input escaped: see `printable`)."""
        first = self.places[0] if self.places else None
        where = f"line {first.line}, column {first.column}: " if first else ""
        parts = [f"error: {where}{printable(self.message)}"]
        if self.source is not None:
            parts += [show_place(self.source, place) for place in self.places]
        if self.hint:
            parts.append(f"hint: {printable(self.hint)}")
        return "\n".join(parts)

    def __str__(self) -> str:
        return self.format()


class ParseError(ScalarGradError):
    """The text is not a program: bad syntax, unknown function."""


class NameUsageError(ScalarGradError):
    """A name is assigned twice, read before it is assigned, or defined by itself."""


class DomainError(ScalarGradError):
    """A value left the domain of an operation: log(0), 1/0, overflow, ..."""

    def __init__(self, reason: str, **kwargs):
        super().__init__(reason, **kwargs)
        self.reason = reason
        self.node = None  # the Value where it happened, filled in by the engine
        self.undefined = False  # a gradient with no value here (d/dy of x**y at x < 0), not an overflow
        self.reword = None  # names -> the reason in the operands' own names, where the engine wrote x and y


class InputError(ScalarGradError):
    """Input values are missing, malformed or not finite; a bindings file is bad."""


class UsageError(ScalarGradError):
    """An option or argument of a command is wrong."""


class BudgetError(UsageError):
    """A command would build or compute more than the size budget allows (scalargrad.budget)."""


class SessionError(ScalarGradError):
    """The saved session cannot be read, written or continued (see scalargrad.session)."""


class SessionWriteError(SessionError):
    """The session could not be saved (no permission, disk full, lock busy): the command's
    own result still stands, so recording a session turns this into a warning."""


class OutputError(ScalarGradError):
    """Standard output cannot be written (a full disk, a closed device): the result is lost."""


class RenderError(ScalarGradError):
    """Graphviz could not draw the graph: the renderer failed or cannot be run."""


class NoRendererError(RenderError):
    """No renderer on this machine can write the requested format (the DOT source still can)."""
