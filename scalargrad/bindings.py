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

from scalargrad.data import element_key, is_number, looks_like_a_number, parse_number
from scalargrad.errors import InputError, UsageError, clip

_NAME = re.compile(r"[A-Za-z_][A-Za-z_0-9]*")


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


def read_bindings(path: str) -> dict[str, float | GivenArray]:
    """A JSON object of name -> value, from a file or `-` for standard input: a finite number,
    or for an array a nested list of them (`{"W": [[1, 2], [3, 4]]}`, checked against the
    program's shape by `elements`). An element is named as a program names it: "W[0, 1]"
    (or "W[0,1]"). UTF-8 with or without a byte-order mark; another encoding is named."""
    from scalargrad.data import decode, read_bytes, strict_json

    where = "standard input" if path == "-" else path
    name = f"bindings file {where}"
    try:
        text = decode(read_bytes(path, name, kind_hint="give --bindings a JSON file"), name)
    except FileNotFoundError:
        raise InputError(f"{name} does not exist", hint="check the path given to --bindings") from None
    try:
        data = strict_json(text)
    except json.JSONDecodeError as error:
        raise InputError(
            f"{name}, line {error.lineno}, column {error.colno}: {error.msg}",
            hint='a bindings file is a JSON object such as {"a": 2, "b": -3}, or data columns in a file whose name '
                 'ends in .csv' + ("; a program is given with --file" if "=" in text else ""),
        ) from None
    except ValueError as error:
        raise InputError(f"{name}: {error}", hint="values must be finite numbers") from None
    if not isinstance(data, dict):
        raise InputError(f"{name} is not a JSON object", hint='write an object such as {"a": 2, "b": -3}')
    values: dict[str, float | GivenArray] = {}
    for key, value in data.items():
        label = element_key(key)
        if label in values:
            raise InputError(f"{name} gives `{label}` twice", hint="give each input once")
        values[label] = _value(value, label, name)
    return values


@dataclass(frozen=True)
class GivenArray:
    """A nested list given for an array, as read: its shape and its numbers, row-major."""

    shape: tuple[int, ...]
    items: tuple[float, ...]


def _value(value: object, label: str, where: str) -> float | GivenArray:
    """A number, or a nested list of numbers (any shape: the program's is checked later)."""
    from scalargrad.data import finite, index_text, shape_of, unravel

    shape, items = (), [value]
    if isinstance(value, list):
        try:
            shape, items = shape_of(value, label)
        except ValueError as error:
            raise InputError(f"{where}: {error}", hint='an array is a list of rows of one length: '
                             '{"W": [[1, 2], [3, 4]]} for a 2 x 2 matrix, {"v": [1, 2, 3]} for a vector') from None
    numbers = []
    for k, item in enumerate(items):
        number = finite(item)
        if number is None:
            element = index_text(label, unravel(k, shape)) if shape else label
            shown = clip(json.dumps(item), 40)
            if is_number(item):
                raise InputError(f"{where}: the value of `{element}` is too large", hint="values must be finite")
            raise InputError(f"{where}: the value of `{element}` is not a number ({shown})",
                             hint="values are numbers, or for an array nested lists of numbers; not strings, "
                                  "true/false or null")
        numbers.append(number)
    return GivenArray(shape, tuple(numbers)) if shape else numbers[0]


def elements(values: dict[str, float | GivenArray], arrays: dict, inputs, where: str) -> dict[str, object]:
    """`values` as the program's inputs are named: an array of inputs given whole (a nested list
    of exactly its shape, `arrays[name][0]`) as its elements (`W[0, 1]`). A value of another
    shape, one number for an array, or a list for a single number is an InputError that names
    the expected and the given shape; `where` says where the values were given. Values for an
    array the program computes (data, a literal) stay whole, for `resolve` to warn about."""
    result: dict[str, object] = {}
    for name, value in values.items():
        shape, labels = arrays.get(name, ((), [name]))
        pairs = [(name, value)]
        if any(label in inputs for label in labels) and shape:  # an array of inputs
            if not isinstance(value, GivenArray):
                raise InputError(f"{where}: `{name}` is an array of shape {shape}; one number is not spread over "
                                 "its elements", hint=f"give every element, as a nested list of its shape: "
                                 f"{_form(name, shape, [value] * math.prod(shape), where)}"
                                 + ("" if where == "on the command line" else  # `--W[0, 0]` is no option
                                    f"; or one element by its name: {_written(labels[0], _short(value), where)}"))
            if value.shape != shape:
                raise InputError(f"{where}: the value of `{name}` has shape {value.shape}; expected shape {shape}, "
                                 f"the shape of `{name}` in the program",
                                 hint=_shape_hint(name, shape, value, [inputs[label].data for label in labels], where))
            pairs = list(zip(labels, value.items))
        elif isinstance(value, GivenArray) and (name in inputs or name in _element_labels(arrays)):
            raise InputError(f"{where}: `{name}` is a single number in the program; the value given is a list of "
                             f"shape {value.shape}", hint=f"give one number: {_written(name, _short(value.items[0]), where)}")
        for label, number in pairs:
            if label in result:
                raise InputError(f"{where} gives `{label}` twice: alone and in its array", hint="give each input once")
            result[label] = number
    return result


def _element_labels(arrays: dict) -> set[str]:
    return {label for _, labels in arrays.values() for label in labels}


def _shape_hint(name: str, shape: tuple[int, ...], given: GivenArray, current: list[float], where: str = "") -> str:
    """How to write `name` whole: the numbers given, when there are as many as it has
    elements, else its current values, as a nested list of its shape."""
    if len(given.items) == math.prod(shape):
        return f"the {len(given.items)} numbers given, as a nested list of shape {shape}: " \
               f"{_form(name, shape, list(given.items), where)}"
    rows = f"{shape[0]} rows of {shape[1]} numbers" if len(shape) == 2 else f"a list of {shape[0]} numbers"
    return f"write `{name}` as {rows}, as its values are now: {_form(name, shape, current, where)}"


def _short(x: float) -> str:
    return str(int(x)) if x.is_integer() and abs(x) < 1e15 else repr(x)


def _written(name: str, text: str, where: str) -> str:
    """A value as it is written where it was given: `{"W": [[1, 2]]}` in a JSON file, `--W "[[1, 2]]"`
    on the command line, `W=[[1, 2]]` in an option's vector (`--jvp`)."""
    if where == "on the command line":
        return f'--{name} "{text}"' if " " in text or "[" in text else f"--{name} {text}"
    if where.startswith("--"):
        return f"{name}={text}"
    return f'{{"{name}": {text}}}'


def _form(name: str, shape: tuple[int, ...], items: list[float], where: str = "", shown: int = 4) -> str:
    """`{"W": [[1, 2], [3, 4]]}` (as `_written` writes it where it was given), with `...` past
    `shown` rows or numbers a row."""
    from scalargrad.data import nested

    def row_text(row) -> str:
        return "[" + ", ".join(_short(x) for x in row[:shown]) + (", ..." if len(row) > shown else "") + "]"

    rows = nested(shape, items)
    text = row_text(rows) if len(shape) == 1 else \
        "[" + ", ".join(row_text(row) for row in rows[:shown]) + (", ..." if len(rows) > shown else "") + "]"
    return _written(name, text, where)


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


def command_line_values(args: Arguments, sets: list[str]) -> dict[str, float | GivenArray]:
    """The values given on the command line: numbers, or for an array a nested list of numbers
    (`--x "[1, 2, 3]"`, `--set W=[[1,2],[3,4]]`), whose shape `elements` checks as it checks a
    bindings file's."""
    texts = dict(args.values)
    for name, text in parse_set(sets).items():
        if name in texts:
            raise UsageError(f"a value for `{name}` is given twice", hint="give each input once")
        texts[name] = text
    return {name: value_text(text, element_key(name), "on the command line") for name, text in texts.items()}


_LIST_HINT = 'write a vector as [1, 2, 3] and a matrix as rows of one length, [[1, 2], [3, 4]] (quoted for the shell)'


def value_text(text: str, label: str, where: str) -> float | GivenArray:
    """A value typed as text: a number, or (starting with `[`) a nested list of numbers read as
    JSON, as in a bindings file."""
    from scalargrad.data import strict_json

    if not text.lstrip().startswith("["):
        return parse_number(text, f"the value of `{label}`")
    try:
        value = strict_json(text)
    except json.JSONDecodeError as error:
        raise InputError(f"{where}: the value of `{label}`, `{clip(text, 40)}`, is not a list of numbers "
                         f"({error.msg.lower()} at character {error.pos + 1})", hint=_LIST_HINT) from None
    except ValueError as error:
        raise InputError(f"{where}: the value of `{label}`: {error}", hint=_LIST_HINT) from None
    if isinstance(value, list) and not value:
        raise InputError(f"{where}: the value of `{label}` is an empty list", hint=_LIST_HINT)
    return _value(value, label, where)


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
