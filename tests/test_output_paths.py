"""Files we do not own stay as they are: every command that writes, to every kind of path.

The rule (docs/cli.md, "Output files"; `scalargrad.files.destination`): a regular file, or a
link to one, is written atomically at its target, so the link stays a link; a named pipe, a
device or `-` is streamed into, with no temporary file and no rename; anything else is
refused, before any work, with one worded error that names the path. The table below runs
the installed command on each (command, kind of path) and checks, with `os.lstat`, that every
node that was there is of the same kind afterwards, what arrived through links and pipes,
and that each refusal is one `error:` line (and a `hint:`), exit 2.

Running as root, the read-only cases are run with the capability that lets root write
anywhere dropped (`setpriv`), so that a read-only file or folder is read-only for the command
too; where that cannot be done they are skipped, and say so. /dev/null itself is written
in-process with every call that could replace a node refused, so that a regression cannot
replace the machine's /dev/null; the table uses a device node made like it (when the test
may make one), or the real one when the command cannot harm it (not root).
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import socket
import stat
import subprocess
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import installed_command, run_cli
from scalargrad import files, session
from scalargrad.errors import ScalarGradError, UsageError

POSIX = pytest.mark.skipif(os.name != "posix", reason="links, named pipes and devices as POSIX has them")
pytestmark = POSIX
ROOT = hasattr(os, "geteuid") and os.geteuid() == 0
SETPRIV = shutil.which("setpriv")
QUICK = 60  # seconds: a hang-stopper only; every case answers at once
PROGRAM, VALUES = "L = a*b", ["--a", "2", "--b", "3"]


# -- the commands that write ------------------------------------------------------------------
@dataclass(frozen=True)
class Writer:
    name: str
    suffix: str  # the file name's ending the command wants
    args: Callable[[str], list[str]]
    looks_right: Callable[[bytes], bool]  # what it wrote
    stdout: bool = False  # `-` means standard output
    streams: bool = True  # a named pipe or a device may be written
    slow: bool = False  # draws with matplotlib: a second or two
    old: str = "old\n"  # what a file there holds before (a session's place holds a session)


def _json_values(data: bytes) -> bool:
    return json.loads(data) == {"a": 2.03, "b": 3.02}  # one step of 0.01 along (3, 2)


WRITERS = [
    Writer("dot", ".gv", lambda p: ["dot", PROGRAM, *VALUES, "-o", p, "--format", "dot", "--no-session"],
           lambda data: data.startswith(b"digraph {"), stdout=True),
    Writer("page", ".html", lambda p: ["dot", PROGRAM, *VALUES, "-o", p, "--format", "html", "--no-session"],
           lambda data: data.startswith(b"<!DOCTYPE html>"), stdout=True),
    Writer("save", ".json", lambda p: ["step", PROGRAM, *VALUES, "--save", p, "--no-session", "--json"], _json_values),
    Writer("sweep", ".csv", lambda p: ["sweep", "y = x*x", "--x", "0:1:0.5", "-o", p, "--no-session"],
           lambda data: data.splitlines()[0].startswith(b"x,y,") and len(data.splitlines()) == 4, stdout=True),
    Writer("step-plot", ".svg", lambda p: ["step", PROGRAM, *VALUES, "--plot", p, "--no-session", "--json"],
           lambda data: b"<svg" in data[:400], slow=True),
    Writer("sweep-plot", ".svg", lambda p: ["sweep", "y = x*x", "--x", "0:1:0.5", "--plot", p, "--no-session"],
           lambda data: b"<svg" in data[:400], slow=True),
    Writer("sheet", ".html", lambda p: ["quiz", "--sheet", p, "--count", "2", "--seed", "1"],
           lambda data: data.startswith(b"<!doctype html>") and data.count(b'class="exercise"') == 4, stdout=True),
    Writer("session", ".json", lambda p: ["grad", PROGRAM, *VALUES, "--session", p],
           lambda data: json.loads(data)["program"] == PROGRAM, streams=False,
           old='{"format": 2, "program": "y = x", "values": {"x": 1.0}, "history": []}\n'),
]


# -- the kinds of path --------------------------------------------------------------------------
@dataclass
class Place:
    """A kind of path made in `folder`: the argument to give, and what should happen."""

    arg: str
    written: Path | None = None  # where the bytes should arrive (a file, or a pipe to read)
    pipe: bool = False
    stdout: bool = False
    refused: bool = False
    cleanup: list[Callable[[], None]] = field(default_factory=list)


def regular(folder: Path, suffix: str, old: str) -> Place:
    (folder / f"out{suffix}").write_text(old)
    return Place(f"out{suffix}", written=folder / f"out{suffix}")


def link_to_file(folder: Path, suffix: str, old: str) -> Place:
    (folder / f"target{suffix}").write_text(old)
    (folder / f"out{suffix}").symlink_to(f"target{suffix}")
    return Place(f"out{suffix}", written=folder / f"target{suffix}")


def dangling_link(folder: Path, suffix: str, old: str) -> Place:
    (folder / "made").mkdir()
    (folder / f"out{suffix}").symlink_to(f"made/target{suffix}")  # made, as `echo > link` makes it
    return Place(f"out{suffix}", written=folder / "made" / f"target{suffix}")


def link_into_missing_folder(folder: Path, suffix: str, old: str) -> Place:
    (folder / f"out{suffix}").symlink_to(f"missing/target{suffix}")
    return Place(f"out{suffix}", refused=True)


def link_loop(folder: Path, suffix: str, old: str) -> Place:
    (folder / f"out{suffix}").symlink_to(f"back{suffix}")
    (folder / f"back{suffix}").symlink_to(f"out{suffix}")
    return Place(f"out{suffix}", refused=True)


def link_to_folder(folder: Path, suffix: str, old: str) -> Place:
    (folder / "adir").mkdir()
    (folder / f"out{suffix}").symlink_to("adir")
    return Place(f"out{suffix}", refused=True)


def named_pipe(folder: Path, suffix: str, old: str) -> Place:
    os.mkfifo(folder / f"out{suffix}")
    return Place(f"out{suffix}", written=folder / f"out{suffix}", pipe=True)


def null_device(folder: Path, suffix: str, old: str) -> Place:
    """A character device that discards what it is given: a node made like /dev/null where we
    may make one (root), else the real one, which a user's command could not replace anyway."""
    if ROOT:
        try:
            os.mknod(folder / f"null{suffix}", stat.S_IFCHR | 0o666, os.makedev(1, 3))
            return Place(f"null{suffix}")
        except OSError:
            pytest.skip("cannot make a device node here, and writing the real /dev/null as root is no test to risk")
    return Place("/dev/null")


def dash(folder: Path, suffix: str, old: str) -> Place:
    return Place("-", stdout=True)


def a_folder(folder: Path, suffix: str, old: str) -> Place:
    (folder / f"out{suffix}").mkdir()
    return Place(f"out{suffix}", refused=True)


def a_socket(folder: Path, suffix: str, old: str) -> Place:
    server = socket.socket(socket.AF_UNIX)
    os.chdir(folder)  # a socket's path must be short: bind it by its name
    server.bind(f"out{suffix}")
    return Place(f"out{suffix}", refused=True, cleanup=[server.close])


def read_only_file(folder: Path, suffix: str, old: str) -> Place:
    (folder / f"out{suffix}").write_text(old)
    (folder / f"out{suffix}").chmod(0o444)
    return Place(f"out{suffix}", refused=True)


def read_only_folder(folder: Path, suffix: str, old: str) -> Place:
    (folder / "locked").mkdir()
    (folder / "locked" / f"old{suffix}").write_text("old\n")
    (folder / "locked").chmod(0o555)
    place = Place(f"locked/out{suffix}", refused=True)
    place.cleanup.append(lambda: (folder / "locked").chmod(0o755))
    return place


def file_in_read_only_folder(folder: Path, suffix: str, old: str) -> Place:
    """A writable file whose folder is read-only: it cannot be replaced atomically."""
    (folder / "locked").mkdir()
    (folder / "locked" / f"out{suffix}").write_text(old)
    (folder / "locked").chmod(0o555)
    place = Place(f"locked/out{suffix}", refused=True)
    place.cleanup.append(lambda: (folder / "locked").chmod(0o755))
    return place


KINDS = {f.__name__: f for f in (regular, link_to_file, dangling_link, link_into_missing_folder, link_loop,
                                   link_to_folder, named_pipe, null_device, dash, a_folder, a_socket,
                                   read_only_file, read_only_folder, file_in_read_only_folder)}
READ_ONLY = {"read_only_file", "read_only_folder", "file_in_read_only_folder"}


# -- running and looking --------------------------------------------------------------------------
def snapshot(folder: Path) -> dict[str, tuple]:
    """Every node under `folder`: its kind, where a link points, a file's bytes and mode."""
    nodes: dict[str, tuple] = {}
    for path in sorted(folder.rglob("*")):
        info = os.lstat(path)
        kind = stat.S_IFMT(info.st_mode)
        detail = os.readlink(path) if stat.S_ISLNK(info.st_mode) else \
            (path.read_bytes(), stat.S_IMODE(info.st_mode)) if stat.S_ISREG(info.st_mode) else stat.S_IMODE(info.st_mode)
        nodes[str(path.relative_to(folder))] = (kind, detail)
    return nodes


class PipeReader:
    """Reads a named pipe in a thread, as `cat pipe` would, until its writer closes it.

    The pipe is opened here, before any writer (without waiting), so that a writer always
    finds its reader: no race with the thread, whatever the machine's load."""

    def __init__(self, path: Path):
        self.path, self.data = path, b""
        self.fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        import select

        poller = select.poll()
        poller.register(self.fd, select.POLLIN | select.POLLHUP)
        try:
            while True:
                poller.poll()  # until a writer writes or, having opened, closes
                try:
                    chunk = os.read(self.fd, 1 << 16)
                except BlockingIOError:
                    continue
                if not chunk:
                    return
                self.data += chunk
        finally:
            os.close(self.fd)

    def finish(self) -> bytes:
        """The bytes read; a reader still waiting (nothing was written) is let go with an empty read."""
        try:
            os.close(os.open(self.path, os.O_WRONLY | os.O_NONBLOCK))
        except OSError as error:
            assert error.errno == errno.ENXIO  # no reader left: it had its data already
        self.thread.join(QUICK)
        assert not self.thread.is_alive()
        return self.data


def run(args: list[str], cwd: Path, drop_root: bool = False) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != session.ENV_VAR}
    prefix = [SETPRIV, "--bounding-set", "-dac_override,-dac_read_search",
              "--inh-caps", "-dac_override,-dac_read_search"] if drop_root else []
    return subprocess.run([*prefix, installed_command(), *args], cwd=cwd, env=env, capture_output=True,
                          timeout=QUICK)


def one_worded_refusal(result: subprocess.CompletedProcess, place: Place) -> None:
    """Exit 2 and one `error:` line naming the path, then at most one `hint:` line."""
    stderr = result.stderr.decode()
    lines = stderr.splitlines()
    assert result.returncode == 2, stderr
    assert 1 <= len(lines) <= 2 and lines[0].startswith("error: "), stderr
    assert len(lines) == 1 or lines[1].startswith("hint: "), stderr
    assert place.arg in lines[0] or Path(place.arg).name in lines[0], stderr
    assert "Traceback" not in stderr


def one_worded_warning(result: subprocess.CompletedProcess, place: Place) -> None:
    """A session that cannot be saved: the command's result stands (exit 0), and one warning says why."""
    stderr = result.stderr.decode()
    assert result.returncode == 0, stderr
    assert stderr.splitlines() == [stderr.strip()] and stderr.startswith("warning: the session was not saved: "), stderr
    assert place.arg in stderr or Path(place.arg).name in stderr, stderr


# The developer's loop (-m "not slow") runs the first writer through every kind of path and
# every writer through a link: the rule lives in files.py, so these catch a writer that goes
# around it; the whole table runs in CI.
CASES = [pytest.param(writer, kind, id=f"{writer.name}-{kind}",
                      marks=[] if (writer is WRITERS[0] or kind == "link_to_file") and not writer.slow
                      else [pytest.mark.slow])
         for writer in WRITERS for kind in KINDS]


@pytest.mark.parametrize("writer, kind", CASES)
def test_every_writer_to_every_kind_of_path(tmp_path, monkeypatch, writer, kind):
    folder = tmp_path / "work"
    folder.mkdir()
    drop_root = False
    if kind in READ_ONLY and ROOT:
        if SETPRIV is None:
            pytest.skip("running as root without setpriv: a read-only file is writable for root")
        drop_root = True
    monkeypatch.chdir(tmp_path)  # a_socket moves into the folder; come back after
    place = KINDS[kind](folder, writer.suffix, writer.old)
    before = snapshot(folder)
    reader = PipeReader(place.written) if place.pipe else None
    try:
        result = run(writer.args(place.arg), folder, drop_root)
        arrived = reader.finish() if reader else None
        after = snapshot(folder)
    finally:
        for undo in place.cleanup:
            undo()
    stderr = result.stderr.decode()

    # Every node that was there is there, of the same kind (a link still a link, to the same place).
    for name, (node_kind, detail) in before.items():
        assert name in after, f"{name} was removed: {stderr}"
        assert after[name][0] == node_kind, f"{name} changed kind: {stderr}"
        if stat.S_ISLNK(node_kind) or not stat.S_ISREG(node_kind):
            assert after[name][1] == detail, f"{name} changed: {stderr}"
    new = set(after) - set(before)

    refused = (place.refused or (place.stdout and not writer.stdout)
               or (not writer.streams and (place.pipe or kind == "null_device"))
               or (place.arg == "/dev/null" and writer.suffix == ".svg"))  # --plot wants a name ending .svg
    if refused:
        assert after == before, f"a refused write changed something: {stderr}"  # no temporary or lock file either
        assert arrived in (None, b"")
        if writer.name == "session" and result.returncode == 0:
            one_worded_warning(result, place)  # a new program's result stands; see docs/sessions.md
        else:
            one_worded_refusal(result, place)
        return
    assert result.returncode == 0, stderr
    assert "error" not in stderr and "warning" not in stderr, stderr
    if place.stdout:
        assert writer.looks_right(result.stdout)
        assert not new
    elif place.pipe:
        assert writer.looks_right(arrived)
        assert not new
    elif place.written is not None:
        written = place.written.read_bytes()
        assert writer.looks_right(written), written[:200]
        assert stat.S_ISREG(os.lstat(place.written).st_mode)
        made = {str(place.written.relative_to(folder))} - set(before)
        assert new == made, new  # the file made through a dangling link, and nothing else
    else:  # the device: nothing to read back, nothing made
        assert not new


# -- /dev/null itself, and /dev/stdout --------------------------------------------------------------
def refuse_to_replace(monkeypatch) -> None:
    """Any call that could replace, remove or create a node in /dev fails the test instead."""
    def guard(real):
        def checked(*args, **kwargs):
            paths = [str(a) for a in args if isinstance(a, (str, os.PathLike))] + [str(kwargs.get("dir", ""))]
            assert not any(p.startswith("/dev") for p in paths), f"{real.__name__}{args} would change /dev"
            return real(*args, **kwargs)
        return checked

    import tempfile

    for name in ("replace", "rename", "unlink", "remove", "link", "mkdir"):
        monkeypatch.setattr(os, name, guard(getattr(os, name)))
    monkeypatch.setattr(tempfile, "mkstemp", guard(tempfile.mkstemp))


@pytest.mark.skipif(not os.path.exists("/dev/null"), reason="needs /dev/null")
@pytest.mark.parametrize("args", [
    ["dot", PROGRAM, *VALUES, "-o", "/dev/null", "--format", "dot"],
    ["dot", PROGRAM, *VALUES, "-o", "/dev/null", "--format", "html"],
    ["step", PROGRAM, *VALUES, "--save", "/dev/null"],
    ["sweep", "y = x*x", "--x", "0:1:0.5", "-o", "/dev/null"],
], ids=["dot", "page", "save", "sweep"])
def test_dev_null_is_written_into_never_replaced(monkeypatch, args):
    refuse_to_replace(monkeypatch)
    before = os.lstat("/dev/null")
    result = run_cli(*args, "--no-session")
    assert result.exit_code == 0, result.stderr
    after = os.lstat("/dev/null")
    assert stat.S_ISCHR(after.st_mode) and (after.st_ino, after.st_rdev) == (before.st_ino, before.st_rdev)


@pytest.mark.skipif(not os.path.exists("/dev/null"), reason="needs /dev/null")
def test_dev_null_as_a_plot_or_a_session_is_refused_and_left(monkeypatch):
    refuse_to_replace(monkeypatch)
    plot = run_cli("step", PROGRAM, *VALUES, "--plot", "/dev/null", "--no-session")
    assert plot.exit_code == 2 and plot.stderr.startswith("error: --plot writes .svg or .png files, not `null`")
    saved = run_cli("grad", PROGRAM, *VALUES, "--session", "/dev/null")
    assert saved.exit_code == 2 and saved.stderr.splitlines()[0] == \
        "error: session file /dev/null is a character device, not a regular file"
    assert stat.S_ISCHR(os.lstat("/dev/null").st_mode)


@pytest.mark.skipif(not os.path.exists("/dev/stdout"), reason="needs /dev/stdout")
def test_dev_stdout_is_standard_output_whatever_it_is(tmp_path):
    """/dev/stdout leads to this process's descriptor 1: written there (a pipe here, a file
    below), never replaced, and never a file made in /proc."""
    piped = run(["dot", PROGRAM, *VALUES, "-o", "/dev/stdout", "--format", "dot", "--no-session"], tmp_path)
    assert piped.returncode == 0 and piped.stdout.startswith(b"digraph {"), piped.stderr
    with open(tmp_path / "out.gv", "wb") as redirected:
        proc = subprocess.run([installed_command(), "sweep", "y = x*x", "--x", "0:1:0.5", "-o", "/dev/stdout",
                               "--no-session", "--json"], cwd=tmp_path, stdout=redirected, stderr=subprocess.PIPE,
                              timeout=QUICK)
    assert proc.returncode == 0, proc.stderr
    text = (tmp_path / "out.gv").read_text()
    assert text.startswith("x,y,") and '"schema"' in text  # the CSV, then the report, in one file, in order
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.gv"]


# -- the examples, as a user types them ------------------------------------------------------
def test_a_link_stays_a_link_and_its_target_is_written(tmp_path):
    """`ln -s target.svg link.svg; scalargrad dot -o link.svg` replaced the link and left target.svg stale."""
    (tmp_path / "target.gv").write_text("stale\n")
    (tmp_path / "link.gv").symlink_to("target.gv")
    result = run(["dot", PROGRAM, *VALUES, "-o", "link.gv", "--no-session"], tmp_path)
    assert result.returncode == 0, result.stderr
    assert os.readlink(tmp_path / "link.gv") == "target.gv"
    assert (tmp_path / "target.gv").read_text().startswith("digraph {")
    assert 'label="{ L | data 6.0000 | grad 1.0000 }"' in (tmp_path / "target.gv").read_text()


def test_a_named_pipe_gets_the_picture_and_stays_a_pipe(tmp_path):
    """`mkfifo out; cat out & scalargrad dot -o out --format svg` replaced the pipe; its reader got nothing."""
    os.mkfifo(tmp_path / "out")
    reader = PipeReader(tmp_path / "out")
    result = run(["dot", PROGRAM, *VALUES, "-o", "out", "--format", "dot", "--no-session"], tmp_path)
    assert result.returncode == 0, result.stderr
    assert reader.finish().startswith(b"digraph {")
    assert stat.S_ISFIFO(os.lstat(tmp_path / "out").st_mode)


def test_a_failure_lets_a_waiting_reader_go(tmp_path):
    """A pipe whose writer fails after the check: its reader gets an empty read, not a wait for ever
    (as `false > pipe` gives)."""
    os.mkfifo(tmp_path / "out.gv")
    reader = PipeReader(tmp_path / "out.gv")
    with pytest.raises(UsageError, match="the renderer failed"):
        files.write_atomically(tmp_path / "out.gv", lambda stream: (_ for _ in ()).throw(UsageError("the renderer failed")))
    reader.thread.join(QUICK)
    assert not reader.thread.is_alive() and reader.data == b""


def test_a_written_file_keeps_its_permissions_and_a_link_its_target(tmp_path):
    target = tmp_path / "target.json"
    target.write_text("{}")
    target.chmod(0o640)
    (tmp_path / "link.json").symlink_to(target)
    files.write_text_atomically(tmp_path / "link.json", '{"a": 1}\n')
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o640
    assert os.readlink(tmp_path / "link.json") == str(target) and target.read_text() == '{"a": 1}\n'


# -- the rule as a property: any web of links ------------------------------------------------------
NAMES = ["n0", "n1", "n2", "n3"]
NODE = st.one_of(
    st.just(("file",)), st.just(("folder",)), st.just(("absent",)),
    st.tuples(st.just("link"), st.sampled_from(NAMES + ["missing/x", "n0/x", "gone"]), st.booleans()),
)


def oracle(path: Path) -> str:
    """What the operating system says `path` leads to: the rule's expected answer."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        return "write" if os.path.isdir(os.path.dirname(os.path.realpath(path))) else "refuse"
    except OSError:  # a loop, a file for a folder
        return "refuse"
    return "write" if stat.S_ISREG(info.st_mode) else "refuse"


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(web=st.fixed_dictionaries({name: NODE for name in NAMES}), start=st.sampled_from(NAMES))
def test_any_web_of_links_is_written_at_its_end_or_refused_in_words(tmp_path_factory, web, start):
    folder = tmp_path_factory.mktemp("web")
    for name, node in web.items():
        if node[0] == "file":
            (folder / name).write_text("old")
        elif node[0] == "folder":
            (folder / name).mkdir()
        elif node[0] == "link":
            (folder / name).symlink_to(str(folder / node[1]) if node[2] else node[1])
    expected = oracle(folder / start)
    before = snapshot(folder)
    try:
        place = files.write_text_atomically(folder / start, "new")
    except ScalarGradError as error:
        assert expected == "refuse", error.message
        assert "\n" not in error.message and error.hint
        assert snapshot(folder) == before  # refused: nothing at all changed
        return
    assert expected == "write"
    assert place.kind == "file" and place.target.read_text() == "new"
    assert os.path.realpath(place.target) == os.path.realpath(folder / start)
    after = snapshot(folder)
    for name, (kind, detail) in before.items():  # only the target's bytes changed
        assert after[name][0] == kind
        if Path(folder / name) != place.target:
            assert after[name] == (kind, detail)


# -- one place writes ----------------------------------------------------------------------------
OS_WRITES = {"replace", "rename", "renames", "unlink", "remove", "rmdir", "link", "symlink", "mkfifo", "mknod", "chmod",
             "chown", "mkdir", "makedirs", "truncate", "ftruncate", "move", "copy", "copyfile", "rmtree",
             "mkstemp", "mkdtemp", "NamedTemporaryFile"}  # of os, shutil and tempfile
METHOD_WRITES = {"write_text", "write_bytes", "unlink", "mkdir", "touch", "symlink_to", "hardlink_to", "savefig",
                 "rmdir", "chmod"}  # of a Path (or a figure), on any receiver
# Where the package may change the file system, and why; anything new goes through files.py.
ALLOWED_WRITES = {
    ("files", "os.replace"), ("files", "os.unlink"), ("files", "tempfile.mkstemp"), ("files", "os.chmod"),
    ("files", "os.chown"), ("files", "os.link"),  # write_atomically, write_new, remove_stale_temporaries
    ("files", "os.open for writing"),  # a named pipe or device, streamed into; a pipe's waiting reader let go
    ("session", "os.unlink"),  # the lock file, removed by its holder; reset, of a recognised session
    ("session", "os.open for writing"),  # the lock file
    ("session", ".mkdir"),  # scalargrad's own .scalargrad/ folder
    ("plot", ".savefig"),  # into the stream write_atomically gives it
    ("commands.shared", "os.open for writing"),  # /dev/null in place of a standard output that went away
    ("frames", ".mkdir"),  # explain --trace --frames DIR: the folder, made if missing; each frame by write_atomically
    ("coderun", ".write_text"),  # code --verify: the code to run, in a temporary folder of its own (TemporaryDirectory)
}


def writing_calls() -> set[tuple[str, str]]:
    """(module, call) for every call in the package that can change the file system: os,
    shutil and tempfile functions, Path methods, open() and os.open() for writing."""
    import ast

    package = Path(files.__file__).parent
    found = set()
    for path in package.rglob("*.py"):
        module = ".".join(path.relative_to(package).with_suffix("").parts)
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for function in ast.walk(tree):  # an os.open whose flags, anywhere in its function, write
            if isinstance(function, ast.FunctionDef) and any(
                    flag in ast.dump(function) for flag in ("O_CREAT", "O_WRONLY", "O_RDWR")) and any(
                    isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute) and call.func.attr == "open"
                    and isinstance(call.func.value, ast.Name) and call.func.value.id == "os" for call in ast.walk(function)):
                found.add((module, "os.open for writing"))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            name = getattr(func, "attr", None) or getattr(func, "id", None)
            owner = func.value.id if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) else ""
            if owner in ("os", "shutil", "tempfile") and name in OS_WRITES:
                found.add((module, f"{owner}.{name}"))
            elif isinstance(func, ast.Attribute) and name in METHOD_WRITES:
                found.add((module, f".{name}"))
            elif name == "open" and owner != "os" and any(isinstance(arg, ast.Constant) and isinstance(arg.value, str)
                                                          and set(arg.value) & set("wax+") for arg in node.args[1:]):
                found.add((module, "open for writing"))
    return found


def test_every_write_goes_through_files_py():
    """The output-path rule holds only if nothing writes around it: each place that changes
    the file system is listed here with its reason."""
    assert writing_calls() == ALLOWED_WRITES
