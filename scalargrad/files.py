"""Writing files atomically: a temporary file in the target folder, then `os.replace`.

A reader never sees half a file, and an existing file is untouched when anything fails.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import IO, Callable

from scalargrad.errors import ScalarGradError, UsageError


def check_writable(path: str | os.PathLike, what: str = "") -> Path:
    """Fail early, before any work, when `path` can never be written: it is a folder, or its
    folder is missing or is a file. `what` names the option in messages (e.g. "--save")."""
    target = Path(path)
    folder = target.parent if str(target.parent) else Path(".")
    named = f"{what} {target}" if what else str(target)
    if target.is_dir():
        raise UsageError(f"{named} is a folder", hint="give a file name, such as graph.svg or values.json")
    if not folder.exists():
        where = f"the folder of {named}" if what else f"the folder {folder}"
        raise UsageError(f"{where} does not exist", hint="create it first, or write elsewhere")
    if not folder.is_dir():
        raise UsageError(f"{folder} is not a folder", hint="give a path inside an existing folder")
    return target


def write_atomically(path: str | os.PathLike, write: Callable[[IO[bytes]], None], what: str = "the file",
                     *, error: Callable[[str], ScalarGradError] = UsageError, durable: bool = False) -> None:
    """Call `write(stream)` on a temporary file next to `path`, then move it into place.

    A failure raises `error(message)` and leaves any existing file as it was. `durable`
    also flushes the data to disk before the rename (for state that must survive a crash).
    """
    target = Path(path)
    folder = target.parent if str(target.parent) else Path(".")
    try:
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
