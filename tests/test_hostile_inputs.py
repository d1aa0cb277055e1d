"""Hostile inputs: generated programs with arrays of parameters and data columns, given their
values in JSON and CSV files written every way a person or another program might, right and
wrong: wrong shapes, types and nesting; byte-order marks and other encodings; every dialect
and line end; short and long rows, odd headers, huge cells, stray quotes.

Each case knows from what it wrote whether the files are valid. A valid one must load with
exactly the values written (compared with a reference built from the generated values, never
from the tool), a value given never replaced by a default; an invalid one must be refused with
a worded ScalarGradError. Nothing else may happen: no other exception, no silent default.

The suite runs a small profile. For a long run (the issue asks for ten minutes):

    SCALARGRAD_HOSTILE_SECONDS=600 python -m pytest -p no:cacheprovider -s \\
        tests/test_hostile_inputs.py::test_hostile_inputs_for_a_while

(every twentieth case also through the command), which prints how many cases it tried.
"""

from __future__ import annotations

import gc
import json
import math
import os
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import run_cli
from scalargrad.errors import ScalarGradError
from scalargrad.inputs import Request, load

SHAPES = [(3,), (2, 2), (1, 3), (2, 1), (4,), (1,)]
NUMBERS = st.one_of(st.floats(-1e12, 1e12, allow_nan=False, allow_infinity=False),
                    st.integers(-10**6, 10**6), st.sampled_from([0.0, -0.0, 5e-324, 1e300, -2.5]))


@dataclass
class Case:
    """A program, the files that give it values, and what must come of them."""

    program: str
    arrays: dict[str, tuple[int, ...]]
    json_text: bytes | None = None
    csv_text: bytes | None = None
    args: list[str] = field(default_factory=list)
    expected: dict[str, float] = field(default_factory=dict)  # input -> the value written for it
    columns: dict[str, list[float]] = field(default_factory=dict)  # data column -> the numbers written
    faults: list[str] = field(default_factory=list)  # what makes the files invalid (empty: valid)


def nested(shape, items):
    return list(items) if len(shape) == 1 else [list(items[i * shape[1]:(i + 1) * shape[1]]) for i in range(shape[0])]


def element(name, shape, k):
    return f"{name}[{k}]" if len(shape) == 1 else f"{name}[{k // shape[1]}, {k % shape[1]}]"


@st.composite
def array_values(draw, name, shape, case: Case, values: dict):
    """How the JSON file gives array `name`: whole, element by element, or wrongly."""
    size = math.prod(shape)
    items = draw(st.lists(NUMBERS, min_size=size, max_size=size))
    form = draw(st.sampled_from(["whole", "elements", "loose", "absent"] * 6 + ["ragged", "flat", "scalar", "longer",
                                                                             "bad item", "deeper", "twice"]))
    good = nested(shape, items)
    if form == "whole":
        values[name] = good
        case.expected.update({element(name, shape, k): float(x) for k, x in enumerate(items)})
    elif form in ("elements", "loose"):
        chosen = draw(st.sets(st.integers(0, size - 1), min_size=1))
        for k in sorted(chosen):
            key = element(name, shape, k)
            values[key.replace(", ", ",") if form == "loose" else key] = items[k]
            case.expected[key] = float(items[k])
    elif form == "ragged":
        values[name] = ([items[0], [items[0]]] if len(shape) == 1 else [*good[:-1], good[-1][:-1] or [[1]]])
        case.faults.append(f"{name} ragged")
    elif form == "flat":
        values[name] = list(items) if len(shape) == 2 else [list(items)]
        case.faults.append(f"{name} of shape {shape} given flat or as one row")
    elif form == "scalar":
        values[name] = items[0]
        case.faults.append(f"{name} given one number")
    elif form == "longer":
        values[name] = [*good, good[-1]]
        case.faults.append(f"{name} with a row too many")
    elif form == "bad item":
        bad = draw(st.sampled_from(["x", True, None, {}, "1.5"]))
        flat = list(items)
        flat[draw(st.integers(0, size - 1))] = bad
        values[name] = nested(shape, flat)
        case.faults.append(f"{name} holds {bad!r}")
    elif form == "deeper":
        values[name] = [good]
        case.faults.append(f"{name} nested once more")
    elif form == "twice":
        values[name] = good
        values[element(name, shape, 0)] = items[0]
        case.faults.append(f"{name} and an element of it both given")


@st.composite
def json_file(draw, case: Case, values: dict):
    """The JSON text of `values`, saved one way or another."""
    if draw(st.booleans()):
        values["not_read"] = 1  # a name the program does not read: a warning, not an error
    text = json.dumps(values, indent=draw(st.sampled_from([None, 1])))
    form = draw(st.sampled_from(["utf-8"] * 24 + ["utf-8-sig"] * 6 + ["utf-16", "utf-16-le", "utf-32", "garbage", "trailing",
                                                  "nan", "list", "empty", "deep", "huge int"]))
    if form in ("utf-8", "utf-8-sig"):
        return text.encode(form)
    case.faults.append(f"the JSON file: {form}")
    if form in ("utf-16", "utf-16-le", "utf-32"):
        return text.encode(form)
    return {"garbage": b"\x80\x81" + text.encode(), "trailing": (text + " }").encode(),
            "nan": text.replace("{", '{"nan_value": NaN, ', 1).encode(), "list": b"[1, 2]", "empty": b"",
            "deep": ("[" * 200 + "]" * 200).encode(), "huge int": text.replace("{", '{"huge": 1' + "0" * 400 + ", ", 1).encode(),
            }[form]


@st.composite
def csv_file(draw, case: Case, names: list[str], rows: int):
    """A CSV file of the data columns `names`, written in some dialect, maybe wrongly."""
    columns = {name: draw(st.lists(NUMBERS, min_size=rows, max_size=rows)) for name in names}
    case.columns = {name: [float(x) for x in column] for name, column in columns.items()}
    header = list(names) + (["extra"] if draw(st.booleans()) else [])  # an unread column: a warning
    table = [[repr(x) if isinstance(x, float) else str(x) for x in row] for row in zip(*columns.values())]
    if "extra" in header:
        table = [[*row, "0"] for row in table]
    separator, newline = draw(st.sampled_from([",", ";", "\t"])), draw(st.sampled_from(["\n", "\r\n", "\r"]))
    if draw(st.booleans()):
        table = [[f'"{cell}"' if draw(st.booleans()) else f" {cell} " for cell in row] for row in table]
    fault = draw(st.sampled_from([None] * 40 + ["short row", "long row", "empty cell", "not a number", "decimal comma",
                                              "huge cell", "bad name", "repeated name", "no name", "missing column",
                                              "utf-16", "nul", "unclosed quote", "latin-1"]))
    blank = draw(st.booleans())  # a blank line between rows: read past
    fault, header, table = _spoil(fault, header, table, names, draw)
    lines = [separator.join(header), *(separator.join(row) for row in table)]
    if blank and len(lines) > 2:
        lines.insert(2, "")
    text = newline.join(lines) + (newline if draw(st.booleans()) else "")
    if fault is not None:
        case.faults.append(f"the CSV file: {fault}")
    if fault == "utf-16":
        return text.encode("utf-16")
    if fault == "latin-1":
        return text.replace(header[0], header[0] + "é", 1).encode("latin-1")
    return (b"\xef\xbb\xbf" if draw(st.booleans()) else b"") + text.encode()


def _spoil(fault, header, table, names, draw):
    """The header and rows with `fault` made in them (None: as they are)."""
    row = draw(st.integers(0, len(table) - 1))
    if fault in ("short row", "empty cell") and len(header) == 1:
        fault = "long row"  # a row of one cell made shorter or empty is a blank line, which is skipped
    if fault == "short row":
        table[row] = table[row][:-1]
    elif fault == "long row":
        table[row] = [*table[row], "1"]
    elif fault in ("empty cell", "not a number", "decimal comma", "huge cell", "nul", "unclosed quote"):
        cell = {"empty cell": "", "not a number": draw(st.sampled_from(["abc", "1/2", "pi", "0x1F", "1.2.3", "--1"])),
                "decimal comma": '"1,5"', "huge cell": "9" * 200_000, "nul": "1\x002",
                "unclosed quote": '"1'}[fault]
        table[row] = [cell, *table[row][1:]]
    elif fault == "bad name":
        header = [header[0] + draw(st.sampled_from(["-1", " x", ".", "é", "["])), *header[1:]]
    elif fault == "repeated name":
        header = [*header, header[0]]
        table = [[*r, "1"] for r in table]
    elif fault == "no name":
        header = [*header, ""]
        table = [[*r, "1"] for r in table]
    elif fault == "missing column":
        header, table = header[1:], [r[1:] for r in table]
    return fault, header, table


@st.composite
def cases(draw) -> Case:
    shapes = draw(st.lists(st.sampled_from(SHAPES), max_size=2))
    data = [f"d{j}" for j in range(draw(st.integers(0, 2)))]
    rows = draw(st.integers(1, 4))
    arrays = {f"W{k}": shape for k, shape in enumerate(shapes)}
    terms = [f"sum(W{k})" for k in range(len(shapes))] + ["a * b"] + [f"sum({name})" for name in data]
    lines = [f"W{k} = uniform(-1, 1, {list(shape)})" for k, shape in enumerate(shapes)] + ["a = 1.5"]
    case = Case("\n".join([*lines, "L = " + " + ".join(terms)]), arrays)
    values: dict = {}
    for name, shape in arrays.items():
        draw(array_values(name, shape, case, values))
    b = draw(NUMBERS)
    where = draw(st.sampled_from(["json", "command line", "both"] * 4 + ["nowhere", "json as a list", "json as text"]))
    if where in ("json", "both"):
        values["b"] = b
    if where in ("command line", "both"):
        case.args = ["--b", repr(float(b))]
    if where == "nowhere":
        case.faults.append("b has no value")
    elif where == "json as a list":
        values["b"] = [b]
        case.faults.append("b given a list")
    elif where == "json as text":
        values["b"] = str(b)
        case.faults.append("b given as text")
    case.expected["b"] = float(b)
    if draw(st.booleans()) or values:
        case.json_text = draw(json_file(case, values))
    if data:
        case.csv_text = draw(csv_file(case, data, rows))
    return case


def outcome(case: Case, folder: Path):
    """`inputs.load` on the case's files: the Loaded, or the ScalarGradError it raised."""
    files = []
    for text, name in ((case.json_text, "values.json"), (case.csv_text, "data.csv")):
        if text is not None:
            (folder / name).write_bytes(text)
            files.append(str(folder / name))
    request = Request(command="grad", args=[case.program, *case.args], bindings=files, no_session=True)
    try:
        return load(request), files
    except ScalarGradError as error:
        return error, files


def judge(case: Case, folder: Path) -> None:
    result, files = outcome(case, folder)
    if isinstance(result, ScalarGradError):
        assert result.message.strip() and "Traceback" not in result.format(), result.format()
        assert case.faults, f"a valid case was refused: {result.format()}\n{case}"
        return
    assert not case.faults, f"invalid files were read without an error ({case.faults}):\n{case}"
    for name, value in case.expected.items():  # every value written is the value used, never a default
        assert result.values[name] == value and result.origin[name] in ("bindings", "command line"), name
    program = result.program
    for name, column in case.columns.items():
        assert program.arrays[name][0] == (len(column),)
        assert [program.names[label].data for label in program.arrays[name][1]] == column, name
    program.evaluate(result.values)
    terms = [*(result.values[label] for name in case.arrays for label in program.arrays[name][1]),
             1.5 * case.expected["b"], *(x for column in case.columns.values() for x in column)]
    scale = math.fsum(abs(term) for term in terms)  # what rounding in another order of summing can move
    assert abs(program.output.data - math.fsum(terms)) <= 1e-12 * scale


def judge_cli(case: Case, folder: Path) -> None:
    """The same case through the command, as a user runs it: exit 0 with the output, or 2 with
    one worded error; never a traceback."""
    _, files = outcome(case, folder)
    arguments = ["grad", case.program, *case.args, *(f"--bindings={path}" for path in files), "--no-session", "--json"]
    result = run_cli(*arguments)
    gc.unfreeze()  # the command freezes its heap for the rest of its process: here the process goes on
    assert "Traceback" not in result.stderr
    if case.faults:
        assert result.exit_code == 2 and result.stderr.count("error: ") == 1 and "hint: " in result.stderr, result
    else:
        assert result.exit_code == 0, result.stderr
        assert all(result.json()["inputs"][name]["value"] == value for name, value in case.expected.items())


def check_case(case: Case, through_cli: bool = False) -> None:
    with tempfile.TemporaryDirectory() as folder:
        judge(case, Path(folder))
        if through_cli:
            judge_cli(case, Path(folder))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(cases())
def test_hostile_inputs_load_exactly_or_are_refused_in_words(case):
    check_case(case)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(cases())
def test_hostile_inputs_through_the_command(case):
    check_case(case, through_cli=True)


def test_hostile_inputs_for_a_while():
    """SCALARGRAD_HOSTILE_SECONDS=600: new random examples until the time is up (every 20th
    through the command too), then how many were tried."""
    seconds = float(os.environ.get("SCALARGRAD_HOSTILE_SECONDS", "0") or 0)
    if not seconds:
        pytest.skip("set SCALARGRAD_HOSTILE_SECONDS to run the hostile inputs for that long")
    tried = {"cases": 0, "refused": 0}

    @settings(max_examples=500, deadline=None, database=None, derandomize=False,
              suppress_health_check=list(HealthCheck))
    @given(cases())
    def batch(case):
        tried["cases"] += 1
        tried["refused"] += bool(case.faults)
        check_case(case, through_cli=tried["cases"] % 20 == 0)

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        batch()
    print(f"\nhostile inputs: {tried['cases']:,} cases in {seconds:g} s, {tried['refused']:,} of them invalid files")
