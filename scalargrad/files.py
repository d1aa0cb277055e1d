"""Reading and writing the user's files safely: the one place where scalargrad touches a path.

Writing follows one rule for every output (`destination`, below): a regular file is written
atomically at the place a link leads (a temporary file beside it, then `os.replace`), so a
reader never sees half a file, an existing file is untouched when anything fails, and a link
stays a link; a named pipe, a device or standard output is streamed into, never replaced; a
folder, a loop of links and every other odd path is a worded error, before any work.

Reading takes regular files only, up to a size limit: a named pipe would block forever,
`/dev/zero` would fill the memory, and each is a worded error instead.
"""

from __future__ import annotations

import errno
import io
import os
import re
import stat
import sys
import time
from dataclasses import dataclass
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


def _unreadable(name: str, failure: OSError, error: Callable[..., ScalarGradError]) -> ScalarGradError | None:
    """A path that cannot be opened for a reason the caller's hint would not fix, in words."""
    number = failure.errno
    if number == errno.ELOOP:
        return error(f"{name} is a loop of symbolic links", hint=LOOP_HINT)
    if number == errno.ENAMETOOLONG:
        return error(f"cannot read {clip(name, 80, middle=True)}: {failure.strerror or 'the name is too long'}",
                     hint="check the path")
    if number == errno.ENOTDIR:
        return error(f"cannot read {name}: {_blocker(str(failure.filename or ''))} is not a folder", hint="check the path")
    if number in (errno.EACCES, errno.EPERM):
        return error(f"cannot read {name}: permission denied",
                     hint="make it readable (chmod u+r), or give another path")
    return None


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
        worded = _unreadable(name, failure, error)
        if worded is not None:
            raise worded from None
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


# -- writing: the output-path rule -------------------------------------------------------------
# Every file scalargrad writes (dot -o, step --save and --plot, sweep -o and --plot, the page,
# the session) goes through `write_atomically`, and is checked first, before any work, by
# `check_writable`: both apply `destination`, the one rule for output paths (docs/cli.md,
# "Output files"):
#   - a regular file, a new file, or a link to either: written atomically AT ITS TARGET (a
#     temporary file beside the target, then `os.replace` onto it), so a link stays a link and
#     the file keeps its permissions;
#   - a named pipe, a character device (/dev/null, a terminal), an open descriptor
#     (/dev/stdout, /dev/fd/N) or `-` where the command takes it: streamed straight in, with no
#     temporary file, no rename and no truncation;
#   - anything else is refused with one worded error naming the path: a folder (or a link to
#     one), a loop of links, a link into a folder that does not exist, a socket, a block
#     device, a read-only file or folder, a name too long. Nothing that is not a regular file
#     we were asked to write is ever removed, renamed over or truncated.
MAX_LINKS = 40  # links followed before a chain is called a loop (as Linux does)
LOOP_HINT = "point the link at a file, or give another path"
_FOLDER_HINT = "give a file name, such as graph.svg or values.json"
_PROC_FD = re.compile(r"/proc/(self|thread-self|[0-9]+)(?:/task/[0-9]+)?/fd")


@dataclass(frozen=True)
class Destination:
    """Where an output goes, as `destination` decided it."""

    named: str  # the path as given, with what it is for ("--save values.json"): for messages
    kind: str  # "file" (replaced atomically at `target`), "stream" (a named pipe or character device
    #            at `target`), "descriptor" (`fd`, an open file of this process) or "stdout" (`-`)
    target: Path | None = None  # the path with its links followed: where the bytes go
    fd: int | None = None  # "descriptor" only
    exists: bool = True  # False: a new file (or the missing target of a link) is made

    @property
    def streamed(self) -> bool:
        """Written straight in, with no temporary file and no rename."""
        return self.kind != "file"


def check_writable(path: str | os.PathLike, what: str = "", *, stdout: bool = False, streams: bool = True,
                   error: Callable[..., ScalarGradError] = UsageError) -> Destination:
    """Fail early, before any work, when `path` could not be written by `write_atomically`
    (the same rule, `destination`). `what` names it in messages (e.g. "--save")."""
    return destination(path, what, stdout=stdout, streams=streams, error=error)


def destination(path: str | os.PathLike, what: str = "", *, stdout: bool = False, streams: bool = True,
                error: Callable[..., ScalarGradError] = UsageError) -> Destination:
    """Where writing `path` goes, by the output-path rule (see above); a refusal is
    `error(message, hint=...)`. `stdout`: `-` means standard output (else it is refused);
    `streams`: a named pipe or a device may be written (the session, which is read back, may not)."""
    text = os.fspath(path)
    named = _named(what, text)
    if text == "-":
        if stdout:
            return Destination(named, "stdout")
        raise error(f"{what or 'this output'} does not write to standard output (`-`)",
                    hint="give a file name (./- names a file called -)")
    if not text or "\0" in text:
        raise error(f"{what or 'the output path'} is {'empty' if not text else 'not a path (it holds a NUL character)'}",
                    hint=_FOLDER_HINT)
    current, info, linked, fd = _walk(named, text, error)
    if fd is not None:
        if not streams:
            raise error(f"{named} is an open file of this process (descriptor {fd}), not a regular file",
                        hint=_FOLDER_HINT)
        return Destination(named, "descriptor", fd=fd)
    if info is None:
        return _new(named, current, linked, error, bool(what))
    return _existing(named, current, info, linked, streams, error)


def follow(path: str | os.PathLike, what: str = "", *,
           error: Callable[..., ScalarGradError] = UsageError) -> tuple[Path, os.stat_result | None, bool]:
    """Where `path` leads, its links followed one by one: (the final path, its `lstat`, or
    None when nothing is there, whether a link was followed). A loop of links, a name too
    long, a file in place of a folder, a folder that cannot be searched or an open descriptor
    of this process (/dev/stdout, which is no place to keep a file) is `error(...)`."""
    text = os.fspath(path)
    named = _named(what, text)
    current, info, linked, fd = _walk(named, text, error)
    if fd is not None:
        raise error(f"{named} is an open file of this process (descriptor {fd}), not a regular file",
                    hint=_FOLDER_HINT)
    return Path(current), info, linked


def _walk(named: str, text: str,
          error: Callable[..., ScalarGradError]) -> tuple[str, os.stat_result | None, bool, int | None]:
    """Follow the links from `text`: (the final path, its lstat or None, linked, descriptor)."""
    current, linked = text, False
    for _ in range(MAX_LINKS + 1):
        fd = _descriptor(named, current, error)
        if fd is not None:
            return current, None, linked, fd
        try:
            info = os.lstat(current)
            if not stat.S_ISLNK(info.st_mode):
                return current, info, linked, None
            current, linked = os.path.join(os.path.dirname(current), os.readlink(current)), True
        except FileNotFoundError:
            return current, None, linked, None
        except OSError as failure:
            raise _unreachable(named, current, failure, error) from None
    raise error(f"{named} is a loop of symbolic links", hint=LOOP_HINT)


def _named(what: str, text: str) -> str:
    shown_path = clip(text, 160, middle=True)
    return f"{what} {shown_path}" if what else shown_path


def _descriptor(named: str, current: str, error: Callable[..., ScalarGradError]) -> int | None:
    """The descriptor N when `current` is /proc/self/fd/N (where /dev/stdout and /dev/fd/N
    lead): an open file of this process, written as `>&N` would, never replaced."""
    name = os.path.basename(current)
    if not name.isdigit():
        return None
    folder = _PROC_FD.fullmatch(os.path.realpath(os.path.dirname(current) or "."))
    if folder is None:
        return None
    if folder.group(1).isdigit() and int(folder.group(1)) != os.getpid():
        raise error(f"{named} is an open file of another process", hint="give a file name, or - for standard output")
    try:
        os.fstat(int(name))
    except OSError:
        raise error(f"{named} is descriptor {name}, which is not open", hint="give a file name") from None
    return int(name)


def _existing(named: str, current: str, info: os.stat_result, linked: bool, streams: bool,
              error: Callable[..., ScalarGradError]) -> Destination:
    """A node is at the end of the links: a regular file is replaced, a pipe or device
    streamed into (where `streams`), anything else refused."""
    mode, target = info.st_mode, Path(current)
    through = f" (where the link leads: {clip(current, 160, middle=True)})" if linked else ""
    if stat.S_ISDIR(mode):
        raise error(f"{named} is a {'link to a ' if linked else ''}folder{through}", hint=_FOLDER_HINT)
    streamable = stat.S_ISFIFO(mode) or stat.S_ISCHR(mode)
    if not (stat.S_ISREG(mode) or (streams and streamable)):
        raise error(f"{named} is {irregular(mode)}{through}, not a regular file", hint=_FOLDER_HINT)
    if not os.access(current, os.W_OK):
        raise error(f"{named} is read-only{through}",
                    hint="make it writable (chmod u+w), or write elsewhere; scalargrad does not write over it")
    if streamable:
        return Destination(named, "stream", target)
    folder = os.path.dirname(current) or "."
    if not os.access(folder, os.W_OK | os.X_OK):
        raise error(f"cannot write {named}: its folder {clip(folder, 160, middle=True)} is read-only (the file is "
                    "replaced whole, through a new file beside it)", hint="make the folder writable, or write elsewhere")
    return Destination(named, "file", target)


def _new(named: str, current: str, linked: bool, error: Callable[..., ScalarGradError], option: bool) -> Destination:
    """Nothing is at `current` (the path, or where a dangling link leads): a new file, made
    when its folder exists and may be written (a dangling link's target is made, as `echo >
    link` does)."""
    folder = os.path.dirname(current) or "."
    shown_folder = clip(folder, 160, middle=True)
    try:
        info = os.stat(folder)
    except FileNotFoundError:
        if linked:
            raise error(f"{named} is a link to {clip(current, 160, middle=True)}, whose folder does not exist",
                        hint="create that folder, point the link elsewhere, or write elsewhere") from None
        where = f"the folder of {named}" if option else f"the folder {shown_folder}"
        raise error(f"{where} does not exist", hint="create it first, or write elsewhere") from None
    except OSError as failure:
        raise _unreachable(named, folder, failure, error) from None
    if not stat.S_ISDIR(info.st_mode):
        raise error(f"{shown_folder} is not a folder", hint="give a path inside an existing folder")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise error(f"cannot write {named}: the folder {shown_folder} is read-only", hint="write elsewhere")
    return Destination(named, "file", Path(current), exists=False)


def _unreachable(named: str, current: str, failure: OSError, error: Callable[..., ScalarGradError]) -> ScalarGradError:
    """A path that cannot even be looked at, in words."""
    number = failure.errno
    if number == errno.ELOOP:
        return error(f"{named} is a loop of symbolic links", hint=LOOP_HINT)
    if number == errno.ENAMETOOLONG:
        return error(f"cannot write {clip(named, 80, middle=True)}: {failure.strerror or 'the name is too long'}",
                     hint="choose a shorter name")
    if number == errno.ENOTDIR:
        return error(f"{_blocker(current)} is not a folder", hint="give a path inside an existing folder")
    if number in (errno.EACCES, errno.EPERM):
        return error(f"cannot write {named}: permission denied (a folder on the way cannot be opened)",
                     hint="choose another place")
    return error(f"cannot write {named}: {failure.strerror or failure}", hint="choose another place")


def _blocker(path: str) -> str:
    """The first part of `path` that is a file where a folder should be."""
    for parent in reversed(Path(path).parents):
        try:
            if not stat.S_ISDIR(os.stat(parent).st_mode):
                return clip(str(parent), 160, middle=True)
        except OSError:
            break
    return f"a part of {clip(path, 160, middle=True)}"


def write_atomically(path: str | os.PathLike, write: Callable[[IO[bytes]], None], what: str = "the file",
                     *, error: Callable[..., ScalarGradError] = UsageError, durable: bool = False,
                     stdout: bool = False, streams: bool = True) -> Destination:
    """Call `write(stream)` and put what it wrote at `path`, by the output-path rule
    (`destination`, with `stdout` and `streams` as there); returns where it went.

    A file is written to a temporary file beside its target, then moved onto the target: a
    failure raises `error(message)` and leaves any existing file as it was, a link stays a
    link, and the file keeps its permissions. `durable` also flushes the data to disk before
    the rename (for state that must survive a crash). A named pipe, a device, a descriptor or
    standard output gets the bytes straight, once `write` has finished (a pipe waits for its
    reader, as `cat > pipe` does; Ctrl-C stops the wait).
    """
    place = destination(path, what, stdout=stdout, streams=streams, error=error)
    if place.streamed:
        _stream(place, write, error)
    else:
        _replace(place, write, error, durable)
    return place


def write_text_atomically(path: str | os.PathLike, text: str, what: str = "the file") -> Destination:
    return write_atomically(path, lambda stream: stream.write(text.encode("utf-8")), what)


def _replace(place: Destination, write: Callable[[IO[bytes]], None], error: Callable[..., ScalarGradError],
             durable: bool) -> None:
    target = place.target
    remove_stale_temporaries(target)
    try:
        import tempfile  # only when writing: it costs every command's start-up

        handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    except OSError as failure:
        raise error(f"cannot write {place.named}: {failure.strerror or failure}") from None
    try:
        with os.fdopen(handle, "wb") as stream:
            write(stream)
            if durable:
                stream.flush()
                os.fsync(stream.fileno())
        _keep_owner_and_mode(temporary, target)
        os.replace(temporary, target)
    except OSError as failure:
        _remove(temporary)
        raise error(f"cannot write {place.named}: {failure.strerror or failure}") from None
    except BaseException:
        _remove(temporary)
        raise


class _Kept(io.BytesIO):
    """The bytes for a stream, kept whole until `write` is done (a text wrapper that closes
    its stream when collected cannot throw them away)."""

    def close(self) -> None:
        pass


def _stream(place: Destination, write: Callable[[IO[bytes]], None], error: Callable[..., ScalarGradError]) -> None:
    """Write into a pipe, a device, a descriptor or standard output: no temporary file, no
    rename, no truncation. The bytes are made first, so a failure writes nothing (and a pipe's
    reader is let go with an empty read, as `false > pipe` does)."""
    kept = _Kept()
    try:
        write(kept)
    except BaseException:
        if place.kind == "stream":
            _let_reader_go(place.target)
        raise
    data = kept.getvalue()
    try:
        if place.kind == "stream":
            fd = _open_stream(place)
            try:
                _write_all(fd, data)
            finally:
                os.close(fd)
            return
        sys.stdout.flush()  # what was printed before goes first
        fd = sys.stdout.fileno() if place.kind == "stdout" else place.fd
        _write_all(fd, data)
    except BrokenPipeError:
        if place.kind != "stream":
            raise  # standard output: the command's edge treats it as `| head` having had enough
        # a named pipe's reader that stops early has what it wanted
    except OSError as failure:
        raise error(f"cannot write {place.named}: {failure.strerror or failure}",
                    hint="write it somewhere with room, or to another file") from None


def _open_stream(place: Destination) -> int:
    """Open a named pipe or device for writing without truncating or creating anything; a
    pipe with no reader yet is waited for, with a note saying so."""
    flags = os.O_WRONLY | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
    if not stat.S_ISFIFO(os.stat(place.target).st_mode):
        return os.open(place.target, flags)
    try:
        fd = os.open(place.target, flags | os.O_NONBLOCK)
    except OSError as failure:
        if failure.errno != errno.ENXIO:
            raise
        print(f"note: waiting for a reader of the named pipe {place.target} (Ctrl-C stops)", file=sys.stderr,
              flush=True)
        return os.open(place.target, flags)
    os.set_blocking(fd, True)
    return fd


def _let_reader_go(target: Path | None) -> None:
    """A pipe's reader already waiting sees the end of the data instead of waiting for ever."""
    try:
        if stat.S_ISFIFO(os.stat(target).st_mode):
            os.close(os.open(target, os.O_WRONLY | os.O_NONBLOCK))
    except (OSError, TypeError, AttributeError):
        pass


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def write_new(path: str | os.PathLike, data: bytes) -> bool:
    """Write `data` as a new file at `path`, only when nothing is there (not even a link):
    never over anything. True if written. For files of scalargrad's own, such as the session
    folder's .gitignore; any failure is False."""
    target = Path(path)
    try:
        import tempfile

        handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    except OSError:
        return False
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
        os.chmod(temporary, _mode_for(target))
        os.link(temporary, target)  # fails when anything is at `target`: nothing is replaced
        return True
    except OSError:
        return False
    finally:
        _remove(temporary)


def _keep_owner_and_mode(temporary: str, target: Path) -> None:
    """Give the new file the old one's permissions (mkstemp makes 0600), and its owner when we
    may (root writing a user's file)."""
    os.chmod(temporary, _mode_for(target))
    try:
        old = os.stat(target)
        new = os.stat(temporary)
        if (old.st_uid, old.st_gid) != (new.st_uid, new.st_gid) and hasattr(os, "chown"):
            os.chown(temporary, old.st_uid, old.st_gid)
    except OSError:
        pass


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
