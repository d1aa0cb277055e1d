"""The command line's own tokens: the program, `--NAME VALUE` pairs, `--set NAME=VALUE`, the
ranges `--NAME START:STOP:STEP` (sweep), node lists (`--wrt a,b`), option vectors (`--jvp
"x=1, y=0"`), and the checks that a `--NAME` is an input rather than a mistyped option.

Values typed here are read as numbers or nested lists by `bindings.value_text` and shaped by
`bindings.elements`, as a bindings file's are; which value wins is `inputs.resolve`'s.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Iterable

from scalargrad.bindings import GivenArray, elements, value_text
from scalargrad.data import element_key, looks_like_a_number, parse_number
from scalargrad.errors import UsageError, clip

_NAME = re.compile(r"[A-Za-z_][A-Za-z_0-9]*")
_RANGE = re.compile(r"([^:]*):([^:]*):([^:]*)")


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
    ranges: dict[str, Range] = field(default_factory=dict)  # name -> START:STOP:STEP, where allowed (sweep)
    # Decided by check_option_names, which knows the program's inputs:
    valueless: list[str] = field(default_factory=list)  # `--NAME` without a value: an input, or a mistyped option?
    strays: list[str] = field(default_factory=list)  # value-like extra positionals: the value of a flag (`--json 3`)?


_SHORT_OPTION = re.compile(r"-[A-Za-z]")
_DASHED = re.compile(r"[\u2010-\u2015\u2212\ufe63\uff0d]+([A-Za-z_][A-Za-z_0-9]*)((?:=.*)?)", re.DOTALL)
_VALUE_LIKE = re.compile(r"[+-]?[.0-9]\S*")


def split_arguments(args: list[str], command: str = "grad", extra: str | None = None,
                    options: tuple[str, ...] = (), sets: Iterable[str] = (), ranges: bool = False) -> Arguments:
    """Separate the program (one positional, or `-`) from `--NAME VALUE` pairs.

    A token that starts with `-` is the program unless it looks like an option (`-q`,
    `--NAME`): `"-a*2"` is a program. `extra` names what further positionals are (e.g.
    "node" for explain); without it, a second positional is an error. `options` are the
    command's own option names (without dashes), for "did you mean" on a mistyped flag;
    `sets` the `--set` items, for `--set a 2`. With `ranges`, a value with a colon is a range
    (`--x -5:5:0.25`), read here (`parse_range`) into `Arguments.ranges`.
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
            if name in result.values or name in result.ranges:
                raise UsageError(f"a value for `{name}` is given twice", hint="give each input once")
            if ranges and ":" in text:
                result.ranges[name] = parse_range(name, text)
            else:
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


def name_list(items: Iterable[str] | str | None, option: str, arrays: dict | None = None) -> list[str]:
    """Node names given as `--option a,b`, or repeated `--option a --option b`, once each, in
    order: the one reader of every option that names nodes (--freeze, --watch, --nodes, --wrt).

    Commas inside brackets belong to an element's name (`W[0, 1]`, also written `W[0,1]`);
    an array's name (one of `arrays`: the program's) stands for all its elements. An empty
    name (`a,,b`) or an unclosed bracket is an error rather than quietly something else."""
    if isinstance(items, str):
        items = [items]
    names: list[str] = []
    for item in items or ():
        for name in _split_names(item, option):
            if not name:
                raise UsageError(f"{option} `{item}` has an empty name",
                                 hint=f"write names separated by commas: {option} a,d")
            name = element_key(name)
            for each in (arrays[name][1] if arrays and name in arrays else [name]):
                if each not in names:
                    names.append(each)
    return names


def _split_names(item: str, option: str) -> list[str]:
    """`a, W[0, 1],b` -> ["a", "W[0, 1]", "b"]: split on the commas outside brackets."""
    names, depth, start = [], 0, 0
    for i, char in enumerate(item):
        if char == "[":
            depth += 1
        elif char == "]":
            depth -= 1
            if depth < 0:
                raise UsageError(f"{option} `{item}` has a `]` with no `[` before it",
                                 hint=f"name an element as the program does: {option} W[0, 1]")
        elif char == "," and depth == 0:
            names.append(item[start:i].strip())
            start = i + 1
    if depth:
        raise UsageError(f"{option} `{item}` has a `[` that is not closed",
                         hint=f"name an element as the program does: {option} W[0, 1] (quoted for the shell)")
    return [*names, item[start:].strip()]


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


def command_line_values(args: Arguments, sets: list[str]) -> dict[str, float | GivenArray]:
    """The values given on the command line: numbers, or for an array a nested list of numbers
    (`--x "[1, 2, 3]"`, `--set W=[[1,2],[3,4]]`), whose shape `elements` checks as it checks a
    bindings file's."""
    texts = dict(args.values)
    for name, text in parse_set(sets).items():
        if name in texts or name in args.ranges:
            raise UsageError(f"a value for `{name}` is given twice", hint="give each input once")
        texts[name] = text
    return {name: value_text(text, element_key(name), "on the command line") for name, text in texts.items()}


def vector_option(text: str, option: str, arrays: dict, nodes: dict, kind: str) -> dict[str, float]:
    """An option's vector over some nodes, `x=1, y=0` or `W=[[1, 0], [0, 1]], b=0` (`--jvp`,
    `--vjp`, `--hvp`), as {element name: number}. Each name is one of `nodes` (`kind` says what
    they are: "input", "output"), an array whole or an element by its name, given once; an
    array's value is a nested list of its shape, checked as `--bindings` checks it."""
    from scalargrad.errors import did_you_mean

    values: dict[str, float | GivenArray] = {}
    pieces = _split_names(text, option)
    if pieces == [""]:
        raise UsageError(f"{option} is empty", hint=f"give a value to each {kind} it moves: {option} \"x=1, y=0\"")
    known = set(nodes) | {name for name, (_, labels) in arrays.items() if any(label in nodes for label in labels)}
    for piece in pieces:
        name, eq, value = piece.partition("=")
        name = element_key(name.strip())
        if not eq or not name or not value.strip():
            raise UsageError(f"{option} `{clip(piece, 40)}` is not NAME=VALUE",
                             hint=f"write {option} \"x=1, y=0\": a number for each {kind}, a list for an array")
        if name not in known:
            close = did_you_mean(name, sorted(known))
            shown = ", ".join(sorted(known)[:10]) or "none"
            article = "an" if kind[:1] in "aeiou" else "a"
            raise UsageError(f"{option} names `{name}`, which is not {article} {kind} of the program"
                             + (f"; did you mean `{close}`?" if close else ""), hint=f"the {kind}s: {shown}")
        if name in values:
            raise UsageError(f"{option} gives `{name}` twice", hint=f"give each {kind} once")
        values[name] = value_text(value.strip(), name, option)
    return elements(values, arrays, nodes, option)


# -- ranges --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Range:
    """start:stop:step, stop included when it lands on the grid."""

    name: str
    start: float
    stop: float  # as given: the last point when it lands on the grid
    step: float
    count: int

    def values(self, np):
        steps = np.arange(self.count)
        with np.errstate(over="ignore", invalid="ignore"):
            axis = self.start + steps * self.step
            if not np.all(np.isfinite(axis)):  # -1e308:1e308:1e307: 20 steps overflow on the way; halves do not
                axis = (self.start / 2 + steps * (self.step / 2)) * 2
        if abs(axis[-1] - self.stop) <= 1e-9 * abs(self.step):
            axis[-1] = self.stop  # -1:1:0.1 ends at 1, not at 1.0000000000000009
        return axis


def parse_range(name: str, text: str) -> Range:
    """`-5:5:0.25` for input `name`; a malformed range, a step of 0 or of the wrong sign is a
    UsageError that shows the range."""
    where = f"the range of `{name}` (`--{name} {text}`)"
    match = _RANGE.fullmatch(text.strip())
    if not match:
        raise UsageError(f"{where} is not START:STOP:STEP",
                         hint=f"write three numbers with colons, as in --{name} -5:5:0.25 (stop included)")
    start, stop, step = (parse_number(part, f"{where}: the {what}")
                         for part, what in zip(match.groups(), ("start", "stop", "step")))
    if step == 0:
        raise UsageError(f"{where} has a step of 0", hint=f"give a step that moves, as in --{name} {start:g}:{stop:g}:0.5")
    if stop != start and (stop > start) != (step > 0):
        raise UsageError(f"{where} never reaches {stop:g} with a step of {step:g}: the step has the wrong sign",
                         hint=f"write --{name} {start:g}:{stop:g}:{-step:g}")
    width = stop - start  # -1e308:1e308 is wider than a float: then its steps are counted from each end
    steps = width / step if math.isfinite(width) else stop / step - start / step
    if not math.isfinite(steps):  # 0:1:1e-320: more steps than a float can count
        raise UsageError(f"{where} has more points than can be counted", hint="use a larger step")
    nearest = round(steps)  # 0:1:0.1 has 11 points, not 10 (its 9.999999999999998 steps are 10)
    count = (nearest if abs(steps - nearest) <= 1e-9 * max(1.0, abs(steps)) else math.floor(steps)) + 1
    return Range(name, start, stop, step, count)
