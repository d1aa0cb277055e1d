"""Reading and writing the user's files safely.

Writing is atomic: a temporary file in the target folder, then `os.replace`. A reader never
sees half a file, and an existing file is untouched when anything fails.

Reading takes regular files only, up to a size limit: a named pipe would block forever,
`/dev/zero` would fill the memory, and each is a worded error instead.
"""

from __future__ import annotations

import errno
import os
import re
import stat
import sys
import time
from pathlib import Path
from typing import IO, Callable

from scalargrad.errors import ScalarGradError, UsageError, clip

READ_LIMIT = 256 * 1024 * 1024  # bytes: far beyond any real program, bindings or session file
STALE_TEMPORARY = 10 * 60  # seconds: a temporary file this old was left by a killed writer

_KINDS = ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a named pipe (FIFO)"), (stat.S_ISCHR, "a character device"),
          (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"))


def irregular(mode: int) -> str:
    """What a file of this `st_mode` is when it is not a regular file ("a directory",
    "a named pipe (FIFO)", ...); "" for a regular file."""
    if stat.S_ISREG(mode):
        return ""
    return next((kind for is_kind, kind in _KINDS if is_kind(mode)), "not a regular file")


def _mebibytes(size: int) -> str:
    return f"{size / (1024 * 1024):,.0f} MiB"


def read_file_bytes(path: str | os.PathLike, name: str, *, error: Callable[..., ScalarGradError] = UsageError,
                    hint: str = "", kind_hint: str = "", limit: int = READ_LIMIT) -> bytes:
    """The bytes of the regular file at `path`, which is `name` in messages ("bindings file v.json").

    Opened without blocking and checked with fstat before reading: a directory, named pipe,
    device or socket is `error(...)` with `kind_hint`; a file over `limit` bytes, one that
    cannot be read or does not fit in memory is `error(...)` with `hint`. A missing file
    raises FileNotFoundError, for the caller to word (or to treat as "none yet").
    """
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise
    except OSError as failure:
        kind = ""
        try:
            kind = irregular(os.stat(path).st_mode)  # opening a socket fails; say what it is
        except OSError:
            pass
        if kind:
            raise error(f"{name} is {kind}, not a regular file", hint=kind_hint) from None
        raise error(f"cannot read {name}: {failure.strerror or failure}", hint=hint) from None
    size = 0
    try:
        info = os.fstat(fd)
        kind = irregular(info.st_mode)
        if kind:
            raise error(f"{name} is {kind}, not a regular file", hint=kind_hint)
        size = info.st_size
        if size > limit:
            raise error(f"{name} is too large to read ({_mebibytes(size)}; the limit is {_mebibytes(limit)})",
                        hint=hint)
        data = _read_at_most(fd, limit, size)
    except OSError as failure:
        raise error(f"cannot read {name}: {failure.strerror or failure}", hint=hint) from None
    except MemoryError:
        raise error(f"out of memory reading {name} ({size / 1e6:,.0f} MB)", hint=hint) from None
    finally:
        os.close(fd)
    if len(data) > limit:  # it grew since fstat
        raise error(f"{name} is too large to read (over {_mebibytes(limit)})", hint=hint)
    return data


def _read_at_most(fd: int, limit: int, expected: int) -> bytes:
    """Up to `limit + 1` bytes from `fd`: one read of the expected size, then until the end
    (files in /proc report size 0; a file may grow meanwhile)."""
    parts: list[bytes] = []
    total = 0
    want = min(expected, limit) + 1
    while total <= limit:
        part = os.read(fd, min(want, limit + 1 - total))
        if not part:
            break
        parts.append(part)
        total += len(part)
        want = max(want - len(part), 1 << 20)
    return b"".join(parts)


def read_text_file(path: str | os.PathLike, name: str, *, error: Callable[..., ScalarGradError] = UsageError,
                   hint: str = "", kind_hint: str = "", limit: int = READ_LIMIT) -> str:
    """The UTF-8 text of the regular file at `path`, or of standard input for `-`; checked as
    `read_file_bytes` does (and standard input is cut off past `limit` characters)."""
    if str(path) == "-":
        try:
            text = sys.stdin.read(limit + 1)
        except UnicodeDecodeError:
            raise error(f"{name} is not UTF-8 text", hint=hint) from None
        except MemoryError:
            raise error(f"out of memory reading {name}", hint=hint) from None
        except OSError as failure:
            raise error(f"cannot read {name}: {failure.strerror or failure}", hint=hint) from None
        if len(text) > limit:
            raise error(f"{name} is too large to read (over {_mebibytes(limit)})", hint=hint)
        return text
    data = read_file_bytes(path, name, error=error, hint=hint, kind_hint=kind_hint, limit=limit)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise error(f"{name} is not UTF-8 text", hint=hint) from None
    except MemoryError:
        raise error(f"out of memory reading {name} ({len(data) / 1e6:,.0f} MB)", hint=hint) from None


def check_writable(path: str | os.PathLike, what: str = "") -> Path:
    """Fail early, before any work, when `path` can never be written: it is a folder, or its
    folder is missing or is a file. `what` names the option in messages (e.g. "--save")."""
    target = Path(path)
    folder = target.parent if str(target.parent) else Path(".")
    named = f"{what} {target}" if what else str(target)
    try:
        if target.is_dir():
            raise UsageError(f"{named} is a folder", hint="give a file name, such as graph.svg or values.json")
        if not folder.exists():
            where = f"the folder of {named}" if what else f"the folder {folder}"
            raise UsageError(f"{where} does not exist", hint="create it first, or write elsewhere")
        if not folder.is_dir():
            raise UsageError(f"{folder} is not a folder", hint="give a path inside an existing folder")
    except OSError as failure:  # a name too long for the file system, a loop of links, ...
        raise UsageError(f"cannot write {clip(named, 80, middle=True)}: {failure.strerror or failure}",
                         hint="choose a shorter name" if failure.errno == errno.ENAMETOOLONG
                         else "choose another place") from None
    return target


def write_atomically(path: str | os.PathLike, write: Callable[[IO[bytes]], None], what: str = "the file",
                     *, error: Callable[[str], ScalarGradError] = UsageError, durable: bool = False) -> None:
    """Call `write(stream)` on a temporary file next to `path`, then move it into place.

    A failure raises `error(message)` and leaves any existing file as it was. `durable`
    also flushes the data to disk before the rename (for state that must survive a crash).
    """
    target = Path(path)
    folder = target.parent if str(target.parent) else Path(".")
    remove_stale_temporaries(target)
    try:
        import tempfile  # only when writing: it costs every command's start-up

        handle, temporary = tempfile.mkstemp(dir=folder, prefix=f".{target.name}.", suffix=".tmp")
    except OSError as failure:
        raise error(f"cannot write {what} {target}: {failure.strerror or failure}") from None
    try:
        with os.fdopen(handle, "wb") as stream:
            write(stream)
            if durable:
                stream.flush()
                os.fsync(stream.fileno())
        os.chmod(temporary, _mode_for(target))  # mkstemp makes 0600; keep the usual permissions
        os.replace(temporary, target)
    except OSError as failure:
        _remove(temporary)
        raise error(f"cannot write {what} {target}: {failure.strerror or failure}") from None
    except BaseException:
        _remove(temporary)
        raise


def write_text_atomically(path: str | os.PathLike, text: str, what: str = "the file") -> None:
    write_atomically(path, lambda stream: stream.write(text.encode("utf-8")), what)


def remove_stale_temporaries(target: str | os.PathLike, age: float = STALE_TEMPORARY) -> list[str]:
    """Remove the temporary files that `write_atomically` left next to `target` when its
    process was killed mid-write: named as it names them (`.NAME.xxxxxxxx.tmp`), regular
    files of ours (same owner), unchanged for `age` seconds, so never another process's
    write in progress nor anyone else's file. Returns the names removed; failures are ignored."""
    target = Path(target)
    folder = target.parent if str(target.parent) else Path(".")
    ours = re.compile(re.escape(f".{target.name}.") + r"[a-z0-9_]{8}\.tmp")
    owner = os.getuid() if hasattr(os, "getuid") else None
    cutoff = time.time() - age
    removed: list[str] = []
    try:
        with os.scandir(folder) as entries:
            candidates = [entry for entry in entries if ours.fullmatch(entry.name)]
    except OSError:
        return removed  # tidying is a courtesy: it never stops the write
    for entry in candidates:
        try:
            info = entry.stat(follow_symlinks=False)
            if stat.S_ISREG(info.st_mode) and info.st_mtime < cutoff and owner in (None, info.st_uid):
                os.unlink(entry.path)
                removed.append(entry.name)
        except OSError:
            continue
    return removed


def _mode_for(target: Path) -> int:
    try:
        return target.stat().st_mode & 0o777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def _remove(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass
