"""The session: the last program and its current values, kept between commands.

Storage only: the file format, the lock, atomic writes, transactions and the history
entry (`StepEntry`); showing a session is the `session` command's business. A command
given a program records it (`start`); a command given none continues from the saved one
(`read`); `step` runs under the lock and saves nudged values with a history entry
(`run_step`; `record_step` saves a step computed elsewhere); `check` saves its verdicts
(`record_check`), for the interactive page. The file stores the program *text*, never a
parsed graph: it is parsed again on load.

    .scalargrad/session.json      (or --session PATH, or $SCALARGRAD_SESSION)
    {"format": 2, "program": "L = (a*b + c) * f",
     "values": {"a": 2.0, "b": -3.0, "c": 10.0, "f": -2.0},
     "history": [{"step": 1, "lr": 0.01, "before": -8.0, "after": -7.286496, ...}],
     "optimizer": {"name": "adam", "t": 1, "m": {...}, "v": {...}},
     "check": {"program": "L = (a*b + c) * f", "values": {...}, "of": 6, "summary": "ok: ...",
               "rows": [{"id": 0, "label": "a", "status": "PASS", "analytic": 6.0, "numeric": 6.0}, ...]},
     "data": {"file": "/home/me/moons.csv", "sha256": "9f86d0...", "columns": ["x1", "x2", "y"]}}

Format 2 added `optimizer` (after a step: the optimiser's state, see `optimizers.State`,
which checks it when `step` continues it: this module stores it unread);
a format 1 file is read as before, as a session whose optimiser starts fresh. `check` (the
last `scalargrad check`: its verdict per node and the program and values it ran at) is
optional and kept the format at 2: a scalargrad that does not know it reads the file all
the same and drops it when it next writes, which is right, since every write it can make (a
new program, a step) moves the session away from where the check ran. `data` (the CSV file
whose columns the program reads, `--bindings FILE.csv`, so that later commands read it again
without being told) is optional in the same way; `data.py` owns that record and checks it.
Format 3 writes an array of values (`W[0, 0]` ... `W[1, 1]`) as a nested list of its shape,
`"W": [[1.0, 2.0], [3.0, 4.0]]`, as `--bindings` reads it, in `values` and in every other
map of values (the history's, the optimiser's, the check's); a session without arrays is
still written as format 2. Element names are read in every format.

Nothing is lost and nothing is mixed up:
- every write is atomic (a temporary file beside the file, then `os.replace`: see
  `files.write_atomically`), so a reader sees the old file or the new one, never half of one;
  a session path that is a symbolic link stays one, and the file it leads to is written;
- every read-modify-write holds an OS lock on `PATH.lock` (beside the file a link leads
  to), so two commands at once each see the other's change; the lock file is removed when
  the lock is let go, so none is left behind;
- a corrupt, unreadable or newer-format file is a `SessionError` that says how to reset it
  (`reset_hint`: the command to type, with `--session PATH` when it is needed), for every
  command that would read or replace it; nothing overwrites it silently. A file that is not
  a scalargrad session at all (`is_session`) is neither read, replaced nor reset.

From Python:

    from scalargrad import session
    path = session.resolve_path()                 # where this folder's session lives
    session.start(path, "L = a * b", {"a": 2.0, "b": 3.0})
    session.read(path).values                     # {'a': 2.0, 'b': 3.0}
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator, Mapping, TypeVar

from scalargrad.data import bad_record, flatten, is_digest, nest, strict_json
from scalargrad.errors import SessionError, SessionWriteError, UsageError, clip

# Bump when the file changes shape so that an older scalargrad would misread it; a newer file
# is refused, never guessed at. (A field an older one may ignore and drop, like `check`, needs no bump.)
FORMAT = 3
CHECK_STATUSES = ("PASS", "FAIL", "KINK", "UNDEFINED")  # the statuses of `check.rows`, as scalargrad.check names them
DEFAULT_PATH = Path(".scalargrad") / "session.json"
ENV_VAR = "SCALARGRAD_SESSION"
LOCK_TIMEOUT = 10.0  # seconds to wait for another command's read-modify-write
ODD_FILE_HINT = "give --session (or $SCALARGRAD_SESSION) the path of a regular file, such as scalargrad.json"
NOT_SESSION_HINT = ("give --session (or $SCALARGRAD_SESSION) the path of a session file, or add --no-session; "
                    "scalargrad neither replaces nor removes this file")
# How every session scalargrad writes begins (`json.dumps` keeps `format` and `program` first):
# a damaged one that begins so is still recognisably a session, which `reset` may remove.
_SESSION_START = re.compile(rb'\s*\{\s*"format"\s*:\s*-?[0-9]+\s*,\s*"program"\s*:')


@dataclass
class Session:
    """What the session file holds."""

    program: str  # the program text, as given
    values: dict[str, float]  # a value for every input of the program
    history: list[dict] = field(default_factory=list)  # one entry per step, oldest first
    path: Path | None = None  # where it was read from or written to
    optimizer: dict | None = None  # the optimiser's state after the last step (format 2)
    check: dict | None = None  # the last check's verdicts, and the program and values it ran at
    data: dict | None = None  # the CSV file the program reads data columns from: {"file", "sha256", "columns"}

    def describe(self) -> str:
        """One line for notes: `program: L = (a*b + c) * f, 2 runs of step`."""
        runs = len(self.history)
        return f"program: {one_line(self.program)}, {runs} run{'' if runs == 1 else 's'} of step"

    def to_json(self) -> dict:
        """The file's document: each array of values as a nested list of its shape (format 3);
        a session without arrays is written as format 2, which older versions read too."""
        document = {"format": FORMAT, "program": self.program, "values": self.values, "history": self.history}
        if self.optimizer is not None:
            document["optimizer"] = self.optimizer
        if self.check is not None:
            document["check"] = self.check
        if self.data is not None:
            document["data"] = self.data
        document = _arrays(document, nest)
        if not any(isinstance(value, list) for value in document["values"].values()):
            document["format"] = 2
        return document


_VALUE_MAPS = ("values",)  # the maps of input name -> number in the document, a history entry and the check


def _arrays(document: object, change: Callable[[dict], dict]) -> object:
    """`document` (a session file's, else left as it is) with `change` applied to each map of
    input values in it: `data.nest` (arrays as nested lists) to write, `data.flatten` to read.
    The history's entries, the optimiser's state and the check are copied, never changed."""
    if not isinstance(document, dict):
        return document

    def changed(part: object, keys=_VALUE_MAPS) -> object:
        if not isinstance(part, dict):
            return part
        return {key: change(value) if (keys is None or key in keys) and isinstance(value, dict) else value
                for key, value in part.items()}

    document = changed(document)
    if isinstance(document.get("history"), list):
        document["history"] = [changed(entry) for entry in document["history"]]
    if "check" in document:
        document["check"] = changed(document["check"])
    if "optimizer" in document:  # its maps are the optimiser's business (scalargrad.optimizers): each by input name
        document["optimizer"] = changed(document["optimizer"], None)
    return document


@dataclass
class SessionUse:
    """How a command used the session (carried by `inputs.Loaded`)."""

    path: Path | None  # None with --no-session
    used: bool = False  # the program (and values not given) came from the saved session
    recorded: bool = False  # this command saved its program and values as the session
    session: Session | None = None  # as read (used) or as written (recorded)

    @property
    def active(self) -> bool:
        """There is a session to save into (false with --no-session, or when it could not be saved)."""
        return self.path is not None and (self.used or self.recorded)


def one_line(text: str, width: int = 60) -> str:
    """A program in one line for notes: its statements joined by `;`, comments dropped (a
    `#` would otherwise seem to comment out the rest), cut to `width`."""
    statements = [line.split("#", 1)[0].strip() for line in text.splitlines()]
    return clip(" ".join("; ".join(s for s in statements if s).split()), width)


def shown(path: Path) -> str:
    """`path` as a person would type it: relative to the current folder when inside it. Its
    links are not followed: a message names the path the user gave, not where a link leads."""
    try:
        return str(Path(os.path.abspath(path)).relative_to(Path.cwd()))
    except (ValueError, OSError):
        return str(path)


# -- where ---------------------------------------------------------------------------------
def resolve_path(option: str | os.PathLike | None = None, *, disabled: bool = False,
                 environ: Mapping[str, str] | None = None) -> Path | None:
    """The session file to use: `--session PATH`, else $SCALARGRAD_SESSION, else
    `.scalargrad/session.json` in the current folder; None with --no-session."""
    if disabled:
        if option is not None:
            raise UsageError("--session and --no-session contradict each other", hint="give one of them")
        return None
    environ = os.environ if environ is None else environ
    chosen = str(option) if option is not None and str(option) != "" else environ.get(ENV_VAR) or None
    if chosen == "-":
        where = "--session" if option is not None and str(option) != "" else f"${ENV_VAR}"
        raise UsageError(f"{where} is `-`: a session is a file that scalargrad reads and writes back, which standard "
                         "input and output cannot be", hint="give it a file path, such as session.json (./- for a file "
                         "called -), or add --no-session")
    return Path(chosen) if chosen is not None else DEFAULT_PATH


def reset_hint(path: str | os.PathLike) -> str:
    """How to forget the session at `path`, as a command to type here: `--session PATH` is in
    it unless a bare `scalargrad session --reset` would reset that very file."""
    import shlex

    command = "scalargrad session --reset"
    try:
        bare = resolve_path()
    except UsageError:  # $SCALARGRAD_SESSION itself is unusable: name the path
        bare = None
    if bare is None or Path(path) != bare:
        command += f" --session {shlex.quote(shown(Path(path)))}"
    return f"`{command}` forgets it (or add --no-session to ignore it for one command)"


def is_session(raw: bytes) -> bool:
    """Whether `raw` is recognisably a scalargrad session, even a damaged one: it begins as
    scalargrad writes one (`{"format": N, "program": ...`), or it is a JSON object with a
    whole-number `format` and a `program` (its markers, whatever their values). A file of
    values, a program, a CSV file is not."""
    raw = raw.removeprefix(b"\xef\xbb\xbf")
    if _SESSION_START.match(raw[:4096]):
        return True
    try:
        data = strict_json(raw.decode("utf-8"))
    except (ValueError, RecursionError, MemoryError):  # ValueError: JSONDecodeError and UnicodeDecodeError too
        return False
    version = data.get("format") if isinstance(data, dict) else None
    return isinstance(version, int) and not isinstance(version, bool) and "program" in data


# -- reading -------------------------------------------------------------------------------
def read(path: str | os.PathLike) -> Session | None:
    """The session saved at `path`, or None when there is none.

    No lock is needed to read: writes replace the whole file atomically. Only a regular file
    of at most `files.READ_LIMIT` bytes is read: a named pipe, a device or a directory there
    is an error, never a hang or a flood.
    """
    from scalargrad.files import read_file_bytes

    path = Path(path)
    name = f"session file {shown(path)}"
    try:
        raw = read_file_bytes(path, name, error=SessionError, hint=reset_hint(path), kind_hint=ODD_FILE_HINT)
    except FileNotFoundError:
        return None
    try:
        return decode(raw, path)
    except MemoryError:
        raise SessionError(f"out of memory reading {name} ({len(raw) / 1e6:,.0f} MB)", hint=reset_hint(path)) from None


def decode(raw: bytes, path: Path) -> Session:
    """Check every field: a hand-edited or damaged file is an error, never a traceback later."""
    where = shown(path)

    def corrupt(why: str) -> SessionError:
        if not is_session(raw):  # someone else's file: say so, and never send the user to reset it
            return SessionError(f"session file {where} is not a scalargrad session ({why})", hint=NOT_SESSION_HINT)
        return SessionError(f"session file {where} is corrupt: {why}", hint=reset_hint(path))

    try:
        data = _arrays(strict_json(raw.decode("utf-8")), flatten)  # format 3: arrays as nested lists
    except UnicodeDecodeError:
        raise corrupt("it is not UTF-8 text") from None
    except json.JSONDecodeError as error:
        raise corrupt(f"line {error.lineno}, column {error.colno}: {error.msg}") from None
    except ValueError as error:
        raise corrupt(str(error)) from None
    if not isinstance(data, dict):
        raise corrupt("it is not a JSON object")
    version = data.get("format")
    if isinstance(version, bool) or not isinstance(version, int):
        raise corrupt("it has no format version")
    if version < 1:
        raise corrupt(f"its format version ({version}) is not 1 or more")
    if version > FORMAT:
        raise SessionError(
            f"session file {where} was written by a newer scalargrad (format {version}; this one reads "
            f"format {FORMAT})",
            hint="upgrade scalargrad to continue it, or " + reset_hint(path),
        )
    program = data.get("program")
    if not isinstance(program, str) or not program.strip():
        raise corrupt("it has no program text")
    if not _encodable(program):
        raise corrupt("the program text has an invalid character (a lone UTF-16 surrogate)")
    problem = _bad_values(data.get("values"))
    if problem:
        raise corrupt(problem)
    history = data.get("history", [])
    if not isinstance(history, list) or not all(isinstance(entry, dict) for entry in history):
        raise corrupt("its history is not a list of objects")
    for number, entry in enumerate(history, 1):
        problem = _bad_entry(entry)
        if problem:
            raise corrupt(f"history entry {number}: {problem}")
    optimizer = data.get("optimizer") if version >= 2 else None
    problem = _bad_optimizer(optimizer)
    if problem:
        raise corrupt(f"its `optimizer` {problem}")
    check = data.get("check")
    problem = _bad_check(check)
    if problem:
        raise corrupt(f"its `check` {problem}")
    problem = bad_record(data.get("data"))
    if problem:
        raise corrupt(f"its `data` {problem}")
    values = {name: float(value) for name, value in data["values"].items()}
    return Session(program, values, history, path, optimizer, check, data.get("data"))


def _finite(value: object) -> bool:
    """A JSON number that is a finite float (an integer of 400 digits is not: it overflows)."""
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:
        return False


def _encodable(text: str) -> bool:
    """No lone surrogate (JSON's `\\ud800`), which cannot be printed or written as UTF-8."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _bad_values(values: object, field: str = "its values") -> str:
    """What is wrong with a `values` object (name -> finite number), or ""."""
    if not isinstance(values, dict):
        return f"{field} are not a JSON object"
    for name, value in values.items():
        if not _encodable(name):
            return f"a name in {field} has an invalid character (a lone UTF-16 surrogate)"
        if not _finite(value):
            return f"the value of `{name}` is not a finite number"
    return ""


def _positive_whole(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1


def _bad_optimizer(state: object) -> str:
    """What is wrong with the optimiser's state, or "": null, or an object. What is in it is
    the optimisers' business: `optimizers.check_state` checks it when `step` continues it."""
    return "" if state is None or isinstance(state, dict) else "is not a JSON object"


def _bad_check(check: object) -> str:
    """What is wrong with the saved check, or "": null, or an object with `program` (text),
    `values` (as the session's), `of` (the id of the node differentiated, a whole number of
    0 or more), the optional `summary` (text) and `rows`: a list of objects with `id` (a whole
    number of 0 or more), `label` (text), `status` (one of CHECK_STATUSES), `analytic` and
    `numeric` (finite numbers, or null where there was none) and the optional `reason` (text)."""
    if check is None:
        return ""
    if not isinstance(check, dict):
        return "is not a JSON object"
    if not (isinstance(check.get("program"), str) and check["program"].strip() and _encodable(check["program"])):
        return "has no program text"
    problem = _bad_values(check.get("values"), "its values")
    if problem:
        return "is wrong: " + problem
    if not _whole(check.get("of")):
        return "has no `of` (the id of a node, a whole number of 0 or more)"
    if "summary" in check and not _text(check["summary"]):
        return "has a `summary` that is not text"
    if "data" in check and not is_digest(check["data"]):
        return "has a `data` that is not a digest (64 hexadecimal digits)"
    rows = check.get("rows")
    if not isinstance(rows, list) or not all(isinstance(row, dict) for row in rows):
        return "has no `rows` (a list of objects)"
    for number, row in enumerate(rows, 1):
        if not _whole(row.get("id")):
            problem = "`id` is not a whole number of 0 or more"
        elif not _text(row.get("label")) or ("reason" in row and not _text(row["reason"])):
            problem = "`label` or `reason` is not text"
        elif row.get("status") not in CHECK_STATUSES:
            problem = f"`status` is not one of {', '.join(CHECK_STATUSES)}"
        else:
            problem = next((f"`{key}` is not a finite number or null" for key in ("analytic", "numeric")
                            if not (key in row and (row[key] is None or _finite(row[key])))), "")
        if problem:
            return f"row {number}: {problem}"
    return ""


def _whole(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _text(value: object) -> bool:
    return isinstance(value, str) and _encodable(value)


def _bad_entry(entry: dict) -> str:
    """What is wrong with one history entry, or "": step (a positive whole number), lr,
    before and after (finite numbers), values (as the session's), and the optional steps
    (a positive whole number, 1 when absent), descend and zero_grad (true or false),
    optimizer and lr_expression (text)."""
    if not _positive_whole(entry.get("step")):
        return "`step` is not a whole number of 1 or more"
    if "steps" in entry and not _positive_whole(entry["steps"]):
        return "`steps` is not a whole number of 1 or more"
    for key in ("lr", "before", "after"):
        if not _finite(entry.get(key)):
            return f"`{key}` is not a finite number"
    for key in ("descend", "zero_grad"):
        if key in entry and not isinstance(entry[key], bool):
            return f"`{key}` is not true or false"
    for key in ("optimizer", "lr_expression"):
        if key in entry and not _text(entry[key]):
            return f"`{key}` is not text"
    return _bad_values(entry.get("values"), "its `values`")


# -- writing -------------------------------------------------------------------------------
@contextlib.contextmanager
def locked(path: str | os.PathLike, timeout: float = LOCK_TIMEOUT) -> Iterator[None]:
    """Hold the session's lock (`PATH.lock`, beside the file a link at PATH leads to) for a
    read-modify-write; the lock file is removed when the lock is let go.

    An OS lock on the lock file (flock on POSIX, msvcrt.locking on Windows): the system lets
    it go when the process ends, even by a crash, so a lock file left by a killed command
    never blocks anyone (the next command takes it, and removes it). Removing it is safe
    because only the holder removes it, while holding it: a command that was waiting on the
    removed file finds, once it holds that lock, that the path no longer leads to the file it
    locked, and starts again on the new one (`_take_lock`). Written with the standard library
    rather than the `filelock` package, whose import alone cost 12 ms of every command's start-up.
    """
    path = Path(path)
    _make_folder(path.parent)
    lock_path = _lock_path(path)
    fd = _take_lock(path, lock_path, timeout)
    try:
        yield
    finally:
        _let_go(fd, lock_path)


def _lock_path(path: Path) -> str:
    """`PATH.lock` beside the session file itself: a session reached through two links has one lock."""
    from scalargrad.files import follow

    target, _info, _linked = follow(path, "session file", error=SessionWriteError)
    return str(target) + ".lock"


def _take_lock(path: Path, lock_path: str, timeout: float) -> int:
    """Open the lock file (making it when needed) and lock it, waiting up to `timeout`
    seconds in all; returns the descriptor, locked, of the file that is at `lock_path` now."""
    import time

    deadline = time.monotonic() + timeout
    while True:
        fd = _open_lock(path, lock_path)
        try:
            while not _try_lock(fd):
                if time.monotonic() > deadline:
                    raise SessionWriteError(
                        f"session file {shown(path)} is busy: another scalargrad command held it for {timeout:g} seconds",
                        hint="wait for that command to finish, or add --no-session",
                    )
                time.sleep(0.005)
            if _same_file(fd, lock_path):
                return fd
            _unlock(fd)  # its holder removed it meanwhile: lock the one there now
        except BaseException:
            os.close(fd)
            raise
        os.close(fd)


def _open_lock(path: Path, lock_path: str) -> int:
    """The lock file, opened (made when missing) and checked: a regular file of our own."""
    # Never through a symbolic link (it could make the lock create or lock any file), never
    # blocking on a named pipe: only a regular file of our own is a lock.
    flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    odd = ""
    try:
        fd = os.open(lock_path, flags, 0o644)
    except OSError as error:
        if os.path.islink(lock_path):
            odd = "a symbolic link"
        else:
            raise SessionWriteError(f"cannot lock session file {shown(path)}: {error.strerror or error}",
                                    hint="choose a writable place with --session PATH, or add --no-session") from None
    else:
        from scalargrad.files import irregular

        odd = irregular(os.fstat(fd).st_mode)
        if odd:
            os.close(fd)
    if odd:
        lock_name = shown(Path(lock_path.removesuffix(".lock"))) + ".lock"  # as named, not where a link leads
        raise SessionWriteError(f"the lock file {lock_name} is {odd}, not a regular file; scalargrad does not use it",
                                hint=f"remove {lock_name} (scalargrad makes it again), "
                                "or choose another place with --session PATH")
    return fd


def _same_file(fd: int, lock_path: str) -> bool:
    """Whether `lock_path` is still the file open at `fd` (not removed, nor made anew)."""
    try:
        here, held = os.lstat(lock_path), os.fstat(fd)
    except OSError:
        return False
    return (here.st_dev, here.st_ino) == (held.st_dev, held.st_ino)


def _let_go(fd: int, lock_path: str) -> None:
    """Remove the lock file (still holding its lock, on POSIX), then let the lock go."""
    try:
        if os.name != "nt" and _same_file(fd, lock_path):
            with contextlib.suppress(OSError):
                os.unlink(lock_path)
        _unlock(fd)
    finally:
        os.close(fd)
    if os.name == "nt":  # pragma: no cover - Windows removes no open file: fails while another waits on it
        with contextlib.suppress(OSError):
            os.unlink(lock_path)


if os.name == "nt":  # pragma: no cover - exercised on Windows only
    import msvcrt

    def _try_lock(fd: int) -> bool:
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True

    def _unlock(fd: int) -> None:
        os.lseek(fd, 0, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)

else:
    import fcntl

    def _try_lock(fd: int) -> bool:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    def _unlock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_UN)


@contextlib.contextmanager
def transaction(path: str | os.PathLike) -> Iterator[Session | None]:
    """Read, change and save the session under its lock.

    Yields the current session (None when there is none); changes made to it in place are
    written atomically when the block ends without an exception, and nothing is written
    when it raises. To replace the whole session use `start`.

        with session.transaction(path) as current:
            current.values["a"] += 0.01 * grad_a
            current.history.append({...})
    """
    path = Path(path)
    _refuse_odd(path)
    with locked(path):
        current = read(path)
        yield current
        if current is not None:
            write(path, current)


def write(path: str | os.PathLike, current: Session) -> None:
    """Save `current` atomically. Call it under `locked(path)` (as `transaction` does)."""
    from scalargrad.files import write_atomically

    path = Path(path)
    # Indented for a person to read; past a thousand values, compact: json's C encoder only
    # runs without `indent`, and a big model's session would otherwise cost a visible pause.
    checked = len(current.check["rows"]) if current.check else 0
    readable = len(current.values) + len(current.history) + checked <= 1000
    try:
        text = json.dumps(current.to_json(), indent=1 if readable else None, allow_nan=False) + "\n"
    except ValueError as error:  # inf or nan: never written; the file stays as it was
        raise SessionError(f"not saving session file {shown(path)}: {error}", hint="a number that is not finite "
                           "reached the session, which is a bug in scalargrad; please report it") from None
    _make_folder(path.parent)

    def failed(message: str, hint: str = "") -> SessionWriteError:
        return SessionWriteError(message, hint=hint or "choose a writable place with --session PATH, or add --no-session")

    # a link stays a link (the file it leads to is written); a pipe or device is refused, not written into
    write_atomically(path, lambda stream: stream.write(text.encode("utf-8")), "session file",
                     error=failed, durable=True, streams=False)
    current.path = path


def _make_folder(folder: Path) -> None:
    """Create scalargrad's own `.scalargrad/` folder when needed; any other folder must exist,
    as for every other file scalargrad writes."""
    try:
        if folder.is_dir():
            return
        there = folder.exists()
    except OSError as error:  # a name too long, a folder on the way that cannot be searched
        raise SessionWriteError(f"cannot use the session folder {shown(folder)}: {error.strerror or error}",
                                hint="choose another place with --session PATH, or add --no-session") from None
    if there:
        raise SessionWriteError(f"cannot create the session folder {shown(folder)}: a file is in the way",
                                hint="choose another place with --session PATH, or add --no-session")
    if folder.name != DEFAULT_PATH.parent.name:
        raise SessionWriteError(f"the folder of session file {shown(folder)} does not exist",
                                hint="create it first, choose another place with --session PATH, or add --no-session")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise SessionWriteError(f"cannot create the session folder {shown(folder)}: {error.strerror or error}",
                           hint="choose a writable place with --session PATH, or add --no-session") from None
    if folder.name == DEFAULT_PATH.parent.name:
        # Our own folder: keep it out of version control, as pytest does with its cache (made
        # whole, and only where nothing is: never over a file someone put there).
        from scalargrad.files import write_new

        write_new(folder / ".gitignore", b"# made by scalargrad: session state, not source\n*\n")


def start(path: str | os.PathLike, program: str, values: Mapping[str, float],
          data: dict | None = None) -> tuple[Session, Session | None]:
    """Make `program` with `values` the session, with an empty history (and `data`, the CSV
    file it reads data columns from: {"file": absolute path, "sha256": digest of its text,
    "columns": the names it reads}).

    Returns the new session and the one it replaced (None if there was none). A corrupt or
    newer-format file in the way is an error (reset it first), not overwritten.
    """
    path = Path(path)
    fresh = Session(program, {name: float(value) for name, value in values.items()}, [], path, data=data)
    _refuse_odd(path)
    with locked(path):
        previous = read(path)  # raises on a file we must not overwrite silently
        write(path, fresh)
    return fresh, previous


T = TypeVar("T")


@dataclass
class StepEntry:
    """One run of `step` in the history: its settings and the output before and after.

    Saved as `{"step": N, "lr", "steps", "descend", "before", "after", **details, "values"}`
    (`steps` and `descend` only when given; `details` are further JSON values)."""

    lr: float
    before: float
    after: float
    steps: int | None = None
    descend: bool | None = None
    details: dict = field(default_factory=dict)

    def to_json(self, number: int, values: Mapping[str, float]) -> dict:
        entry: dict = {"step": number, "lr": self.lr}
        if self.steps is not None:
            entry["steps"] = self.steps
        if self.descend is not None:
            entry["descend"] = self.descend
        return {**entry, "before": self.before, "after": self.after, **self.details, "values": dict(values)}


def record_step(path: str | os.PathLike, *, program: str, lr: float, before: float, after: float,
                values: Mapping[str, float], **details) -> Session:
    """Save the values a step produced and append its history entry, in one locked write.

    `program` is the text the step ran; if the session now holds another program (another
    command started a new one meanwhile), nothing is saved and a SessionError says so.
    `before`/`after` are the output before and after the nudge; `details` (e.g. `steps=1`)
    are stored in the entry as given and must be JSON values.
    Returns the saved session; its last history entry is this step, numbered from 1.
    """
    path = Path(path)
    with transaction(path) as current:
        _save_step(path, current, program, values, StepEntry(lr, before, after, details=details))
    return current


def run_step(path: str | os.PathLike, *, program: str, values: Mapping[str, float], origin: Mapping[str, str],
             run: Callable[[dict[str, float], dict | None], T],
             outcome: Callable[[T], tuple[Mapping[str, float], StepEntry | None, dict | None]],
             data: dict | None = None) -> T:
    """Run a step under the session's lock, starting from the values and optimiser state saved
    there now, and save what it produced: steps run at the same time add up, and none is lost.

    `run(values, optimizer)` does the work (`optimizer`: the saved state, or None);
    `outcome(result)` gives the new input values, the history entry (None: save nothing) and
    the optimiser's new state. `data` (as `Session.data`): the data file the step trained on,
    which becomes the session's, since its values now come from that data. Returns `run`'s result.
    """
    path = Path(path)
    with transaction(path) as current:
        result = run(fresh_values(values, origin, current), current.optimizer if current is not None else None)
        new_values, entry, state = outcome(result)
        if entry is not None:  # None: nothing to save (interrupted before a step completed)
            _save_step(path, current, program, new_values, entry)
            current.optimizer = state
            if data is not None:
                current.data = dict(data)
    return result


def _save_step(path: Path, current: Session | None, program: str, values: Mapping[str, float],
               entry: StepEntry) -> None:
    _still_there(path, current, program, "step")
    current.values = {name: float(value) for name, value in values.items()}
    current.history.append(entry.to_json(len(current.history) + 1, current.values))


def _still_there(path: Path, current: Session | None, program: str, what: str) -> None:
    """Refuse to save a command's result into a session that is gone, or that holds another
    program now (another command started one while this one ran)."""
    if current is None:
        raise SessionError(f"there is no session at {shown(path)} to save this {what} in",
                           hint="it was reset meanwhile; run the command again with the program")
    if current.program != program:
        raise SessionError(
            f"the session at {shown(path)} changed while this {what} ran (it now holds "
            f"`{one_line(current.program, 40)}`); the {what} was not saved",
            hint=f"run the {what} again",
        )


def record_check(path: str | os.PathLike, check: Mapping) -> Session:
    """Save a check's verdicts (`scalargrad.check.CheckReport.record()`: the program and
    values it ran at, `of`, `summary` and `rows`) as the session's `check`, replacing the
    last one, in one locked atomic write. The values and history are left as they are: the
    page compares the check's values with its own to tell whether the verdicts still apply.
    A SessionError if the session is gone or now holds another program.
    """
    path = Path(path)
    with transaction(path) as current:
        _still_there(path, current, check["program"], "check")
        current.check = dict(check)
    return current


def record_data(path: str | os.PathLike, program: str, data: dict) -> Session:
    """Point the session at another data file (`scalargrad session --data FILE.csv`): `data`
    as `Session.data`, in one locked atomic write. A SessionError if the session is gone or
    now holds another program. Values, history and check stay as they are."""
    path = Path(path)
    with transaction(path) as current:
        _still_there(path, current, program, "change of data file")
        current.data = dict(data)
    return current


def fresh_values(values: Mapping[str, float], origin: Mapping[str, str], current: Session | None) -> dict[str, float]:
    """`values` with each one that came from the session (origin "session") re-read from
    `current`: inside a `transaction`, this is where a step must start from when another
    step may have saved new values since the command loaded them."""
    if current is None:
        return dict(values)
    return {name: current.values.get(name, value) if origin.get(name) == "session" else value
            for name, value in values.items()}


def reset(path: str | os.PathLike) -> bool:
    """Forget the session at `path` (even a damaged one). True if there was one.

    Removes only a file that is recognisably a scalargrad session (`is_session`): a file of
    values, a program, a folder, a named pipe, a device, a loop of links is left alone, with
    an error that says what it is. A symbolic link is followed, as every write follows it:
    the session it leads to is removed and the link stays (the next session is written
    where it leads).
    """
    path = Path(path)
    if _removable(path) is None:
        return False
    with locked(path):
        target = _removable(path)
        if target is None:
            return False
        if not _is_session_file(path, target):
            raise SessionError(f"session file {shown(path)} is not a scalargrad session (it does not hold a \"format\" "
                               "and a \"program\"); not removing it",
                               hint="scalargrad removes only its own session files: give --session the path of one, "
                                    "or remove this file yourself if you mean to")
        try:
            os.unlink(target)
        except FileNotFoundError:
            return False
        except OSError as error:
            raise SessionError(f"cannot remove session file {shown(path)}: {error.strerror or error}",
                               hint="remove it yourself, or check the folder's permissions") from None
    return True


def _removable(path: Path) -> Path | None:
    """The file to remove for the session at `path` (where its links lead); None when nothing
    is there; a SessionError for anything but a regular file in its place."""
    import stat

    from scalargrad.files import follow, irregular

    target, info, _linked = follow(path, "session file", error=SessionError)
    if info is None:
        return None
    if stat.S_ISREG(info.st_mode):
        return target
    # A named pipe or socket may be a stray left in our folder; a directory or device is a wrong path.
    hint = ("if nothing else uses it, remove it yourself" if stat.S_ISFIFO(info.st_mode) or stat.S_ISSOCK(info.st_mode)
            else "give --session (or $SCALARGRAD_SESSION) the path of a regular file")
    raise SessionError(f"session file {shown(path)} is {irregular(info.st_mode)}, not a session; not removing it",
                       hint=hint)


def _is_session_file(path: Path, target: Path) -> bool:
    """`is_session` for the file at `target`: its beginning, or (past that) the whole file."""
    from scalargrad.files import READ_LIMIT, read_file_bytes

    name = f"session file {shown(path)}"
    if _SESSION_START.match(_head(target, name).removeprefix(b"\xef\xbb\xbf")):
        return True
    try:
        return is_session(read_file_bytes(target, name, error=SessionError, limit=READ_LIMIT))
    except SessionError:  # too large to be anything scalargrad wrote that does not begin as a session
        return False


def _head(target: Path, name: str, size: int = 4096) -> bytes:
    """The first `size` bytes of the regular file at `target`."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(target, flags)
        try:
            return os.read(fd, size)
        finally:
            os.close(fd)
    except OSError as error:
        raise SessionError(f"cannot read {name}: {error.strerror or error}",
                           hint="check its permissions; scalargrad removes only a session it can read") from None


def _refuse_odd(path: Path) -> None:
    """Before taking the lock (which makes `PATH.lock`): refuse a session path that leads to a
    folder, a named pipe, a device, a loop of links or a link into a missing folder, as `read`
    or `write` would, without leaving a lock file next to it."""
    from scalargrad.files import follow, irregular

    # a path that cannot lead to a file (a loop, a file for a folder) cannot be saved to: for a
    # command given a new program, a warning, as for a missing folder
    target, info, linked = follow(path, "session file", error=SessionWriteError)
    if info is None:
        if linked and not os.path.isdir(target.parent):
            raise SessionWriteError(f"session file {shown(path)} is a link to {target}, whose folder does not exist",
                               hint="create that folder, point the link elsewhere, or choose another place with "
                                    "--session PATH")
        return
    kind = irregular(info.st_mode)
    if kind:
        raise SessionError(f"session file {shown(path)} is {kind}, not a regular file", hint=ODD_FILE_HINT)
