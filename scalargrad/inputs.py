"""What a command runs on: the program text and the value of every input.

The program comes from an argument, `--file PATH`, standard input (`-`), or the session;
values from `--NAME VALUE` and `--set NAME=VALUE`, a `--bindings` file, the session and the
program's own defaults, in that order of precedence. `load` returns them with the warnings
and notes a person should see; it prints nothing and knows no Typer, so Python callers and
every command share it.

    >>> from scalargrad.inputs import Request, load
    >>> loaded = load(Request(command="grad", args=["L = a * b", "--a", "2", "--b", "3"], no_session=True))
    >>> loaded.values
    {'a': 2.0, 'b': 3.0}
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from scalargrad import session as sessions
from scalargrad.arguments import Range, check_option_names, command_line_values, split_arguments
from scalargrad.bindings import elements, read_bindings
from scalargrad.data import DataFile, is_csv, located, read_columns, read_recorded
from scalargrad.errors import InputError, ScalarGradError, SessionWriteError, UsageError
from scalargrad.files import read_text_file
from scalargrad.program import Program

START_HINT = 'scalargrad grad "L = (a*b + c) * f" --a 2 --b -3 --c 10 --f -2'


@dataclass
class Request:
    """Everything a command line says about a command's program and inputs."""

    command: str = "grad"
    args: list[str] = field(default_factory=list)  # beyond the declared options: program, --NAME VALUE
    file: Path | None = None  # --file
    sets: list[str] = field(default_factory=list)  # --set NAME=VALUE
    bindings: str | list[str] | None = None  # --bindings FILE (`-`: stdin): a JSON file, a CSV file, or one of each
    seed: int | None = None  # --seed N: the initialisers' seed (None: 0, or the session's values)
    session: Path | None = None  # --session PATH
    no_session: bool = False  # --no-session
    options: tuple[str, ...] = ()  # the command's own long options, without dashes
    flags: tuple[str, ...] | None = None  # those of them that take no value (`json`), when known
    others: dict[str, str] = field(default_factory=dict)  # other commands' options -> their command
    extra: str | None = None  # what positionals after the program are ("node" for explain), if allowed
    of: str | None = None  # the node the command is about (sweep --of): inputs it does not read need no value
    optional_values: bool = False  # derive, code: a formula or code needs no values (given, it is checked at them)
    ranges: bool = False  # sweep: `--NAME START:STOP:STEP` is a range (`Loaded.ranges`), its start the value
    points: dict[str, list[float]] | None = None  # sweep --points: the columns swept, their first row the values


@dataclass
class Loaded:
    """A parsed program and the values of its inputs, ready to run."""

    program: Program
    values: dict[str, float]
    origin: dict[str, str]  # input name -> "command line" | "bindings" | "session" | "default"
    warnings: list[str]  # for `warning:` lines, and the JSON documents
    notes: list[str]  # for `note:` lines: which session was used or replaced
    session: sessions.SessionUse
    extra: list[str] = field(default_factory=list)  # positionals after the program (explain's nodes)
    data: DataFile | None = None  # the CSV file whose columns the program reads, if any
    ranges: list[Range] = field(default_factory=list)  # the ranges given (`Request.ranges`), in order

    def data_record(self) -> dict | None:
        """What a session keeps of the data file (`session.Session.data`), or None."""
        return data_record(self.data, self.program, self.session.path)


def data_record(data: DataFile | None, program: Program, session: Path | None = None) -> dict | None:
    return data.record(program.data, session) if data is not None and program.data else None


def read_source(program: str | None, file: Path | None, prompt: Callable[[str], None] | None = None) -> str:
    """The program text from an argument, a file, or standard input (`-`). `prompt` is told
    when standard input is a terminal, before it is read."""
    if program is not None and file is not None:
        raise UsageError("give the program either as an argument or with --file, not both")
    if file is not None:
        try:
            return read_text_file(file, f"program file {file}", error=UsageError, kind_hint="give --file a text file")
        except FileNotFoundError:
            raise UsageError(f"program file {file} does not exist", hint="check the path given to --file") from None
    if program == "-":
        if prompt is not None and sys.stdin.isatty():
            prompt("reading the program from standard input; end it with Ctrl-D")
        return read_text_file("-", "the program on standard input", error=UsageError)
    if program is None:
        raise UsageError("no program given",
                         hint=f"write one: {START_HINT} (or --file PROGRAM, or - to read standard input)")
    return _from_command_line(program)


def _from_command_line(text: str) -> str:
    """The program as typed. Under an ASCII locale (LC_ALL=C) Python hands over the bytes of
    `# café` it could not decode as lone surrogates: they are the UTF-8 the terminal sent."""
    if not any("\udc80" <= ch <= "\udcff" for ch in text):
        return text
    try:
        return text.encode("utf-8", "surrogateescape").decode("utf-8")
    except UnicodeError:
        raise UsageError("the program given on the command line is not UTF-8 text",
                         hint="set a UTF-8 locale (LC_ALL=C.UTF-8), or put the program in a file: --file PROGRAM") from None


def load(request: Request, prompt: Callable[[str], None] | None = None) -> Loaded:
    """Program text -> Program, and the input values chosen by precedence.

    With a program (argument, `-` or --file) the program and its values become the session;
    without one, the session's program and values are used (values given here override
    them for this run only).
    """
    from scalargrad.language import parse

    args = split_arguments(list(request.args), request.command, request.extra, request.options, request.sets,
                           ranges=request.ranges)
    stdin_program = args.program == "-" or (request.file is not None and str(request.file) == "-")
    json_path, data_path = bindings_files(request.bindings)
    if json_path == "-" and stdin_program:
        raise UsageError("the program and --bindings cannot both read standard input",
                         hint="put one of them in a file: --file PROGRAM or --bindings values.json")
    use = sessions.SessionUse(sessions.resolve_path(request.session, disabled=request.no_session))
    data = read_columns(data_path) if data_path is not None else None
    bound = read_bindings(json_path) if json_path is not None else None
    saved, data_warnings, replaced = None, [], []
    set_names = [item.partition("=")[0].strip() for item in request.sets]
    given = {name.partition("[")[0] for name in (*args.values, *args.ranges, *(request.points or ()), *set_names,
                                                  *(bound or ()))}
    if data is not None and given & set(data.columns):  # values given for columns win over the file's, as numbers
        data = data.only(name for name in data.columns if name not in given)
    if args.program is None and request.file is None and use.path is not None:
        saved = _saved_session(use.path)
        data, data_warnings, replaced = _session_data(saved, data, given, request.command, use.path)
        program = _parse_saved(saved, use.path, data, this_run=data_path is not None)
    else:
        source = read_source(args.program, request.file, prompt)
        try:
            program = parse(source, seed=request.seed or 0, data=data.columns if data else None)
        except MemoryError:
            raise ScalarGradError(f"out of memory parsing a program of {len(source):,} characters",
                                  hint="split the program, or run it on a machine with more memory") from None
        except ScalarGradError as error:
            error.hint = _column_hint(source, data, error) or error.hint
            if is_csv(str(request.file or "")):
                error.hint = (f"{request.file} looks like a data file: give it with --bindings {request.file}, "
                              "and the program with --file PROGRAM")
            raise
    check_option_names(args.values, program.inputs, request.options, request.others, request.command,
                       valueless=args.valueless, strays=args.strays,
                       set_names=set_names, flags=request.flags)
    resolved = _resolve(program, args, request, data, saved, bound, _replaced_hint(replaced, saved),
                        previous=use.path if saved is None and data is None else None)
    resolved.warnings += data_warnings + unread_columns(program, data.columns if data else {}, data and data.path)
    notes: list[str] = []
    if saved is not None:
        use.used, use.session = True, saved
        notes.append(f"using session {sessions.shown(use.path)} ({saved.describe()}"
                     + _this_run(resolved.origin, json_path, data, from_session=data_path is None) + ")")
        if request.seed is not None:
            resolved.warnings.append(f"--seed {request.seed} is not used: the session continues from its saved values; "
                                     "give the program again to start from new ones")
    elif use.path is not None:
        _record(use, program, resolved, notes, data)
    return Loaded(program, resolved.values, resolved.origin, resolved.warnings, notes, use, args.extra,
                  data if program.data else None, list(args.ranges.values()))


def bindings_files(bindings: str | list[str] | None) -> tuple[str | None, str | None]:
    """`--bindings` as given (once, or twice: values and data) -> (the JSON file of values, the
    CSV file of data columns), each None when not given; two of one kind is a usage error."""
    files = [bindings] if isinstance(bindings, str) else list(bindings or ())
    data = [path for path in files if is_csv(path)]
    values = [path for path in files if not is_csv(path)]
    for given, kind in ((values, "JSON files of values"), (data, "CSV files of data columns")):
        if len(given) > 1:
            raise UsageError(f"--bindings names {len(given)} {kind} ({', '.join(given)}); give one",
                             hint="one JSON file of values and one CSV file of data columns may go together")
    return (values[0] if values else None), (data[0] if data else None)


def _this_run(origin: dict[str, str], json_path: str | None, data: DataFile | None, from_session: bool) -> str:
    """What this run takes from elsewhere than the session, for the note that says it is used:
    `; data from moons.csv; for this run b from the command line, w from values.json`
    (`from_session`: the data file is the session's own, not one given to this command)."""
    places = {"command line": "the command line", "bindings": json_path, "default": "the program's defaults",
              "range": "its range", "points file": "the points file"}
    given: dict[str, list[str]] = {}
    for name, source in origin.items():
        if source != "session":
            given.setdefault(source, []).append(name)
    runs = [f"{', '.join(names[:3])}{f' and {len(names) - 3:,} more' if len(names) > 3 else ''} from "
            f"{'their ranges' if source == 'range' and len(names) > 1 else places.get(source, source)}"
            for source, names in given.items()]
    if data is not None and data.columns and not from_session:
        runs.insert(0, f"data from {data.path}")
    text = f"; data from {data.path}" if data is not None and from_session else ""
    return text + (f"; for this run {', '.join(runs)}" if runs else "")


def _resolve(program: Program, args, request: Request, data: DataFile | None, saved: sessions.Session | None,
             bound: dict[str, float] | None, replaced: str = "", previous: Path | None = None):
    """The value of every input, from the layers in order of precedence (`bound`: those of a
    JSON --bindings file, None without one). `replaced`: the hint for a missing value when values given for
    some columns replaced the session's data file; `previous`: the session a new program
    replaces, whose data file may hold the missing values."""
    layers = [("command line", elements(command_line_values(args, request.sets), program.arrays, program.inputs,
                                        "on the command line"))]
    swept = {name: r.start for name, r in args.ranges.items()}  # a sweep's inputs start where it does
    for name, column in (request.points or {}).items():
        if name in layers[0][1] or name in swept:
            raise UsageError(f"`{name}` is a column of the points file and is given a value too",
                             hint=f"drop --{name}, or the column `{name}` from the points file")
        swept[name] = column[0]
    if swept:
        layers.insert(0, ("range" if args.ranges else "points file", swept))
    if bound is not None:
        path = bindings_files(request.bindings)[0]
        where = f"bindings file {'standard input' if path == '-' else path}"
        layers.append(("bindings", elements(bound, program.arrays, program.inputs, where)))
    if saved is not None:  # a name the session kept as a value may be a column of this run's data
        layers.append(("session", {name: value for name, value in saved.values.items() if name not in program.data}))
    try:
        return resolve(program.inputs, program.defaults, layers, names=program.names, options=request.options,
                       command=request.command,
                       needed=set() if request.optional_values else _needed(program, request.of))
    except InputError as error:
        if data is not None:  # the missing name is most likely a column the data file lacks
            error.hint = _column_hint(program.source, data, error) or (
                f"the data file {data.path} has the columns {data.header_text()}: add the missing "
                "one to it, or give its value on the command line (--NAME VALUE)")
        elif replaced:
            error.hint = replaced
        elif previous is not None:
            error.hint = _previous_data_hint(previous, program) or error.hint
        raise


def _previous_data_hint(path: Path, program: Program) -> str:
    """When the session's program read some of this program's inputs from a data file, how to
    give that file to this one (a program edited and given again, without --bindings)."""
    try:
        previous = sessions.read(path)
    except ScalarGradError:
        return ""
    if previous is None or previous.data is None:
        return ""
    columns = [name for name in previous.data["columns"] if name in program.inputs]
    if not columns:
        return ""
    file = _data_file(previous)
    return (f"the session's program read {', '.join(columns)} from the data file {file}: give it with this program "
            f"too: {_command('--bindings', file)}")


def _replaced_hint(replaced: list[str] | None, saved: sessions.Session | None) -> str:
    if not replaced:
        return ""
    columns = saved.data["columns"]
    return (f"values given for {', '.join(replaced)} replace the data file {_data_file(saved)} "
            f"for this run: give all of {', '.join(columns)} as values, or none of them to read the file")


def _column_hint(source: str, data: DataFile | None, error: ScalarGradError) -> str:
    """A hint for `error` when it is about a name that a column of the data file nearly is
    (`x2` read, the column headed `X2`): the program then reads that name as a number, or
    misses it. Nothing for an error about anything else."""
    from scalargrad.errors import did_you_mean

    if data is None:
        return ""
    words = set(re.findall(r"[A-Za-z_][A-Za-z_0-9]*", source))
    about = set(re.findall(r"`([A-Za-z_][A-Za-z_0-9]*)`", error.message))
    for place in error.places[:1]:  # the word the caret is under
        line = source.split("\n")[place.line - 1] if place.line <= source.count("\n") + 1 else ""
        word = re.match(r"[A-Za-z_][A-Za-z_0-9]*", line[place.column - 1:])
        about |= {word[0]} if word else set()
    for column in data.header or data.columns:
        if column in words:
            continue
        close = did_you_mean(column, sorted(words))
        if close in about:  # only a name the error is about: `id` is no hint for a misplaced `)` near `i`
            return (f"the data file {data.path} has a column `{column}` that the program does not read: is it "
                    f"`{close}`? (a column stands for the name in its header, exactly)")
    return ""


def _session_data(saved: sessions.Session, data: DataFile | None, given: set[str], command: str,
                  path: Path) -> tuple[DataFile | None, list[str], list[str]]:
    """The data file for a command that continues the session: `data` if one was given, else
    the session's read again (its columns only, so that later commands need not repeat
    `--bindings FILE.csv`), with a warning if it changed; none when values are `given` for
    its columns, which then replace it for this run (those columns are the third item)."""
    if data is not None or saved.data is None:
        return data, [], []
    columns = saved.data["columns"]
    replaced = [name for name in columns if name in given]
    if replaced and command == "step":
        raise UsageError(f"values given for {', '.join(replaced)} replace the session's data file, and step would "
                         "move them and save them as parameters",
                         hint="train on data with --bindings FILE.csv; to try values for one run, use grad or check")
    if replaced:
        return None, [], replaced
    shown = _data_file(saved)
    # the command that points this session (the default one, or --session PATH) at a file
    attach = ["scalargrad", "session", *(["--session", str(path)] if path != sessions.DEFAULT_PATH else []), "--data"]
    data = read_recorded(saved.data, shown, missing_hint=f"the session's program reads its data columns from it: if it "
                                                         f"moved, {_command(*attach)} FILE.csv points the session at "
                                                         "it; or give it for one command: --bindings FILE.csv")
    if data.digest == saved.data["sha256"]:
        return data, [], []
    return data, [f"the data file {shown} has changed since the session last read it; this run reads it as it is "
                  f"now ({_command(*attach, shown)} accepts it, and this warning stops)"], []


def _data_file(saved: sessions.Session) -> str:
    """Where the session's data file is (`data.located`), as a person would type it."""
    return sessions.shown(located(saved.data, saved.path))


def _command(*words: str) -> str:
    """A command line a person can paste: each word quoted for the shell where it needs it."""
    import shlex

    return " ".join(shlex.quote(word) for word in words)


def _needed(program: Program, of: str | None) -> set[str] | None:
    """The inputs the node `of` depends on (None: all of them, as without `of`); for an
    array, those its elements depend on (the command then says what it takes)."""
    if of is None:
        return None
    from scalargrad.engine import ancestors

    targets = [program.node(label) for label in program.arrays[of][1]] if of in program.arrays else [program.node(of)]
    reached = ancestors(program.nodes, *targets)
    return {name for name, node in program.inputs.items() if id(node) in reached}


def _saved_session(path: Path) -> sessions.Session:
    saved = sessions.read(path)
    if saved is None:
        raise UsageError(
            "no program given, and no session to continue",
            hint=f"start one by giving a program: {START_HINT} "
            f"(later commands without a program continue it; it is kept in {sessions.shown(path)})",
        )
    return saved


def unread_columns(program: Program, columns: dict[str, list[float]], path: str | None) -> list[str]:
    """A warning for each column of the data file that the program does not read as data."""
    from scalargrad.errors import did_you_mean

    warnings = []
    read = set(program.data)
    unread = [name for name in columns if name not in read]
    for name in unread[:UNREAD_SHOWN]:
        close = did_you_mean(name, program.inputs) if program.inputs and name not in program.names else None
        guess = f" (did you mean `{close}`?)" if close else ""
        why = "assigned by the program" if name in program.names or name in program.arrays else "not read by the program"
        warnings.append(f"the column `{name}` of {path} is {why}; it is ignored{guess}")
    if len(unread) > UNREAD_SHOWN:  # a wide file: one line for the rest, not a line each
        warnings.append(f"{len(unread) - UNREAD_SHOWN:,} more columns of {path} are not read by the program "
                        f"({', '.join(unread[UNREAD_SHOWN:UNREAD_SHOWN + 3])}, ...); they are ignored")
    return warnings


UNREAD_SHOWN = 5  # unread columns warned about one by one


def _parse_saved(saved: sessions.Session, path: Path, data: DataFile | None = None, this_run: bool = False) -> Program:
    """The session's program parsed again, on `data` (`this_run`: a file given to this command,
    not the session's own); when it fails, the error says whose fault it is."""
    from scalargrad.language import parse

    try:
        return parse(saved.program, data=data.columns if data else None)
    except ScalarGradError as error:
        columns = _column_hint(saved.program, data, error)
        if columns or this_run:  # the data file is at fault, not the session
            error.hint = columns or (f"this run's data file {data.path} has the columns {data.header_text()}, "
                                     "which the session's program then reads as data: give the file it was written "
                                     "for, or leave --bindings out")
            raise
        error.message = f"the program saved in session {sessions.shown(path)} does not parse: {error.message}"
        error.hint = sessions.reset_hint(path) if data is not None else (
            "if it reads columns of a CSV file, give the file: --bindings FILE.csv; " + sessions.reset_hint(path))
        raise


def _record(use: sessions.SessionUse, program: Program, resolved, notes: list[str], data: DataFile | None) -> None:
    """Make this program and its values the session, with the data file it reads columns from
    (if any); a session that cannot be saved is a warning, not a failure: the command's own
    result still stands."""
    try:
        use.session, previous = sessions.start(use.path, program.source, resolved.values,
                                               data_record(data, program, use.path))
        use.recorded = True
        if previous is not None and previous.history and previous.program != program.source:
            notes.append(f"a new session replaced the one in {sessions.shown(use.path)} ({previous.describe()})")
    except SessionWriteError as error:
        resolved.warnings.append(f"the session was not saved: {error.message}")


# -- precedence ------------------------------------------------------------------------------
@dataclass
class Resolved:
    values: dict[str, float]  # a value for every input
    origin: dict[str, str]  # input name -> "command line" | "bindings" | "default" | another source
    warnings: list[str]


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
