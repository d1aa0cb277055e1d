"""Values given as numbers and nested lists, checked against the program's shapes: a JSON
bindings file (`read_bindings`), a value typed as text (`value_text`: `2`, `[[1, 2], [3, 4]]`),
and an array given whole spread into its elements (`elements`), refused in NumPy's words
(expected and given shape) when its shape is not the program's.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass

from scalargrad.data import element_key, is_number, parse_number
from scalargrad.errors import InputError, clip


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
