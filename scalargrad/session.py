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
without being told) is optional in the same way.

Nothing is lost and nothing is mixed up:
- every write is atomic (a temporary file in the same folder, then `os.replace`), so a
  reader sees the old file or the new one, never half of one;
- every read-modify-write holds an OS lock on `PATH.lock`, so two
  commands at once each see the other's change;
- a corrupt, unreadable or newer-format file is a `SessionError` that says how to reset it,
  for every command that would read or replace it; nothing overwrites it silently.

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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator, Mapping, TypeVar

from scalargrad.errors import SessionError, SessionWriteError, clip

# Bump when the file changes shape so that an older scalargrad would misread it; a newer file
# is refused, never guessed at. (A field an older one may ignore and drop, like `check`, needs no bump.)
FORMAT = 2
CHECK_STATUSES = ("PASS", "FAIL", "KINK")  # the statuses of `check.rows`, as scalargrad.check names them
DEFAULT_PATH = Path(".scalargrad") / "session.json"
ENV_VAR = "SCALARGRAD_SESSION"
LOCK_TIMEOUT = 10.0  # seconds to wait for another command's read-modify-write
RESET_HINT = "`scalargrad session --reset` forgets it (or add --no-session to ignore it for one command)"
ODD_FILE_HINT = "give --session (or $SCALARGRAD_SESSION) the path of a regular file, such as scalargrad.json"


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
        document = {"format": FORMAT, "program": self.program, "values": self.values, "history": self.history}
        if self.optimizer is not None:
            document["optimizer"] = self.optimizer
        if self.check is not None:
            document["check"] = self.check
        if self.data is not None:
            document["data"] = self.data
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
    """`path` as a person would type it: relative to the current folder when inside it."""
    try:
        return str(Path(path).resolve().relative_to(Path.cwd().resolve()))
    except (ValueError, OSError, RuntimeError):  # RuntimeError: a symlink loop (Python < 3.13)
        return str(path)


# -- where ---------------------------------------------------------------------------------
def resolve_path(option: str | os.PathLike | None = None, *, disabled: bool = False,
                 environ: Mapping[str, str] | None = None) -> Path | None:
    """The session file to use: `--session PATH`, else $SCALARGRAD_SESSION, else
    `.scalargrad/session.json` in the current folder; None with --no-session."""
    from scalargrad.errors import UsageError

    if disabled:
        if option is not None:
            raise UsageError("--session and --no-session contradict each other", hint="give one of them")
        return None
    if option is not None and str(option) != "":
        return Path(option)
    environ = os.environ if environ is None else environ
    if environ.get(ENV_VAR):
        return Path(environ[ENV_VAR])
    return DEFAULT_PATH


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
        raw = read_file_bytes(path, name, error=SessionError, hint=RESET_HINT, kind_hint=ODD_FILE_HINT)
    except FileNotFoundError:
        return None
    try:
        return decode(raw, path)
    except MemoryError:
        raise SessionError(f"out of memory reading {name} ({len(raw) / 1e6:,.0f} MB)", hint=RESET_HINT) from None


def decode(raw: bytes, path: Path) -> Session:
    """Check every field: a hand-edited or damaged file is an error, never a traceback later."""
    where = shown(path)

    def corrupt(why: str) -> SessionError:
        return SessionError(f"session file {where} is corrupt: {why}", hint=RESET_HINT)

    from scalargrad.bindings import strict_json

    try:
        data = strict_json(raw.decode("utf-8"))
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
            hint="upgrade scalargrad to continue it, or " + RESET_HINT,
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
    problem = _bad_data(data.get("data"))
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
    if "data" in check and not _digest(check["data"]):
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


def _bad_data(data: object) -> str:
    """What is wrong with the saved data file, or "": null, or an object with `file` (the
    absolute path of a CSV file, text), `sha256` (the digest of its text, 64 hex digits) and
    `columns` (the names of those the program reads, a list of text)."""
    if data is None:
        return ""
    if not isinstance(data, dict):
        return "is not a JSON object"
    if not (_text(data.get("file")) and data["file"].strip() and "\0" not in data["file"]):
        return "has no `file` (the path of a CSV file)"
    if not _digest(data.get("sha256")):
        return "has no `sha256` (64 hexadecimal digits)"
    columns = data.get("columns")
    if not (isinstance(columns, list) and columns and all(_text(name) for name in columns)):
        return "has no `columns` (a list of names)"
    if "relative" in data and not (_text(data["relative"]) and "\0" not in data["relative"]):
        return "has a `relative` that is not a path"
    return ""


def data_file(session: Session) -> str:
    """Where the session's data file is, as a person would type it: its absolute path; else,
    when that is gone but the file is where it was relative to the session file (the project
    folder moved or was renamed, the session with it), that place."""
    saved = Path(session.data["file"])
    if not saved.exists() and session.data.get("relative") and session.path is not None:
        moved = Path(session.path).resolve().parent / session.data["relative"]
        if moved.is_file():
            return shown(moved)
    return shown(saved)


def read_data(session: Session, missing_hint: str = ""):
    """The session's data file read again (`bindings.DataFile`), with the columns its program
    reads only; a file that is gone or cannot be read is the error that says so."""
    from scalargrad.bindings import read_columns

    return read_columns(data_file(session), missing_hint=missing_hint, option="session --data").only(
        session.data["columns"])


def _digest(value: object) -> bool:
    """A SHA-256 digest in hex, as `bindings.DataFile.digest` writes it."""
    return isinstance(value, str) and len(value) == 64 and all(c in "0123456789abcdef" for c in value)


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
    """Hold the session's lock (`PATH.lock`) for a read-modify-write.

    An OS lock on the lock file (flock on POSIX, msvcrt.locking on Windows): the system lets
    it go when the process ends, even by a crash, so a stale lock file never blocks anyone.
    Written with the standard library rather than the `filelock` package, whose import alone
    cost 12 ms of every command's start-up.
    """
    import time

    path = Path(path)
    _make_folder(path.parent)
    lock_path = str(path) + ".lock"
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
        lock_name = shown(path) + ".lock"  # as named, not where a link leads
        raise SessionWriteError(f"the lock file {lock_name} is {odd}, not a regular file; scalargrad does not use it",
                                hint=f"remove {lock_name} (scalargrad makes it again), "
                                "or choose another place with --session PATH")
    try:
        deadline = time.monotonic() + timeout
        while not _try_lock(fd):
            if time.monotonic() > deadline:
                raise SessionWriteError(
                    f"session file {shown(path)} is busy: another scalargrad command held it for {timeout:g} seconds",
                    hint="wait for that command to finish, or add --no-session",
                )
            time.sleep(0.005)
        try:
            yield
        finally:
            _unlock(fd)
    finally:
        os.close(fd)


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

    def failed(message: str) -> SessionWriteError:
        return SessionWriteError(message, hint="choose a writable place with --session PATH, or add --no-session")

    write_atomically(path, lambda stream: stream.write(text.encode("utf-8")), "session file",
                     error=failed, durable=True)
    current.path = path


def _make_folder(folder: Path) -> None:
    """Create scalargrad's own `.scalargrad/` folder when needed; any other folder must exist,
    as for every other file scalargrad writes."""
    if folder.is_dir():
        return
    if folder.exists():
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
        # Our own folder: keep it out of version control, as pytest does with its cache.
        with contextlib.suppress(OSError):
            (folder / ".gitignore").write_text("# made by scalargrad: session state, not source\n*\n",
                                               encoding="utf-8")


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
    """Forget the session at `path` (even a corrupt one). True if there was a file.

    Removes a regular file, or a symbolic link (the link, even a broken or looping one;
    never what it points to). A directory, named pipe, device or socket is not a session
    scalargrad wrote: it is left alone, with an error.
    """
    path = Path(path)
    if not _removable(path):
        return False
    with locked(path):
        try:
            if not _removable(path):
                return False
            path.unlink()
        except FileNotFoundError:
            return False
        except OSError as error:
            raise SessionError(f"cannot remove session file {shown(path)}: {error.strerror or error}") from None
    # The lock file stays: removing it while another process waits on it would split the lock.
    return True


def _removable(path: Path) -> bool:
    """True when a session file (or a link) is at `path` to remove, False when nothing is;
    a SessionError for anything else in its place."""
    import stat

    from scalargrad.files import irregular

    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return False
    except OSError as error:
        raise SessionError(f"cannot remove session file {shown(path)}: {error.strerror or error}") from None
    if stat.S_ISLNK(mode) or stat.S_ISREG(mode):
        return True
    # A named pipe or socket may be a stray left in our folder; a directory or device is a wrong path.
    hint = ("if nothing else uses it, remove it yourself" if stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode)
            else "give --session (or $SCALARGRAD_SESSION) the path of a regular file")
    raise SessionError(f"session file {shown(path)} is {irregular(mode)}, not a session; not removing it", hint=hint)


def _refuse_odd(path: Path) -> None:
    """Before taking the lock (which creates `PATH.lock`): refuse a session path that is a
    directory, named pipe or device, as `read` would, without leaving a lock file next to it."""
    from scalargrad.files import irregular

    try:
        mode = os.stat(path).st_mode
    except OSError:
        return  # missing (a new session), a loop, no permission: `read` says which, under the lock
    kind = irregular(mode)
    if kind:
        raise SessionError(f"session file {shown(path)} is {kind}, not a regular file", hint=ODD_FILE_HINT)
