"""Shared test helpers: the CLI in-process (CliRunner) and the installed command."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import settings
from typer.testing import CliRunner

from scalargrad.cli import app

# In CI (CI=true) every property test draws the same examples on every run, so a submission's
# result does not depend on luck; locally they explore anew each run.
settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")

LECTURE = "L = (a*b + c) * f"
LECTURE_VALUES = ["--a", "2", "--b", "-3", "--c", "10", "--f", "-2"]
STATEMENTS = "e = a*b; d = e + c; L = d * f"
NEURON = "o = tanh(x1*w1 + x2*w2 + b)"
NEURON_VALUES = ["--x1", "2", "--x2", "0", "--w1", "-3", "--w2", "1", "--b", "6.8813735870195432"]


@dataclass
class Run:
    exit_code: int
    stdout: str
    stderr: str

    def json(self):
        return json.loads(self.stdout)


def run_cli(*args: str, input: str | None = None) -> Run:
    """Run scalargrad in-process, as the user would type it."""
    result = CliRunner().invoke(app, list(args), input=input)
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return Run(result.exit_code, result.stdout, result.stderr)


def installed_command() -> str:
    """The `scalargrad` console script of the environment running the tests."""
    found = shutil.which("scalargrad", path=str(Path(sys.executable).parent))
    if found is None:
        pytest.fail("the scalargrad command is not installed next to this Python; pip install -e '.[test]'")
    return found


def run_installed(*args: str, input: str | None = None, cwd: str | os.PathLike | None = None,
                  env: dict | None = None, timeout: float = 120) -> Run:
    """Run the real installed command in a subprocess."""
    proc = subprocess.run([installed_command(), *args], input=input, capture_output=True, text=True,
                          cwd=cwd, env=env, timeout=timeout)
    return Run(proc.returncode, proc.stdout, proc.stderr)


def read_until(terminal: int, pattern: str, timeout: float = 120) -> bytes:
    """What a pseudo-terminal shows until `pattern` (a regular expression) matches it: wait on
    the output, never on the clock (`timeout` only stops a hang, and fails the test)."""
    import re
    import select
    import time

    screen, deadline = b"", time.monotonic() + timeout
    while not re.search(pattern.encode(), screen):
        if time.monotonic() > deadline:
            pytest.fail(f"no {pattern!r} after {timeout:g} s; the screen: {screen.decode(errors='replace')[-2000:]}")
        if select.select([terminal], [], [], 1)[0]:
            try:
                chunk = os.read(terminal, 65536)
            except OSError:  # the child has gone: the pseudo-terminal is closed
                chunk = b""
            if not chunk:
                pytest.fail(f"the command ended before showing {pattern!r}: {screen.decode(errors='replace')[-2000:]}")
            screen += chunk
    return screen


def read_until_closed(terminal: int, timeout: float = 120) -> bytes:
    """What a pseudo-terminal shows until its child closes it (or `timeout` seconds pass)."""
    import select
    import time

    screen, deadline = b"", time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not select.select([terminal], [], [], 1)[0]:
            continue
        try:
            chunk = os.read(terminal, 65536)
        except OSError:  # the child has gone: the pseudo-terminal is closed
            break
        if not chunk:
            break
        screen += chunk
    return screen


class Terminal:
    """A stream that says it is a terminal, as Rich sees one."""

    def __init__(self):
        import io

        self.buffer = io.StringIO()
        self.encoding = "utf-8"

    def isatty(self):
        return True

    def write(self, text):
        return self.buffer.write(text)

    def flush(self):
        pass


@pytest.fixture(autouse=True)
def private_session(tmp_path_factory, monkeypatch):
    """Every test gets its own session file, so no test reads another's (or writes into
    the checkout); tests of the default place remove the variable and chdir."""
    monkeypatch.setenv("SCALARGRAD_SESSION", str(tmp_path_factory.mktemp("session") / "session.json"))


@pytest.fixture
def cli():
    return run_cli


@pytest.fixture
def installed():
    return run_installed


# -- micrograd's own moons training, run beside the suite ----------------------------------------
# micrograd takes about a second per step: its 100 steps start in a second process as soon as
# test_moons.py is collected, so they run on another core while the other tests do.
MICROGRAD_MOONS = Path(__file__).resolve().parent / "micrograd_moons.py"


def pytest_collection_finish(session):
    """micrograd's 100-step run (40 s) starts in the background as soon as a test that needs
    it is selected to run, so that it overlaps the rest of the suite; collecting alone
    (`--collect-only`), or a run that deselects it (`-m "not slow"`), starts nothing."""
    config = session.config
    if config.option.collectonly:
        return
    if any("micrograd_moons" in getattr(item, "fixturenames", ()) for item in session.items):
        config.micrograd_moons = subprocess.Popen([sys.executable, str(MICROGRAD_MOONS), "100"],
                                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def pytest_unconfigure(config):
    running = getattr(config, "micrograd_moons", None)
    if running is not None and running.poll() is None:
        running.kill()
        running.wait()


@pytest.fixture(scope="session")
def micrograd_moons(request):
    """micrograd's starting weights, loss and accuracy before each of 100 steps and after the last."""
    pytest.importorskip("micrograd", reason="the micrograd package is a test dependency: pip install -e '.[test]'")
    running = getattr(request.config, "micrograd_moons", None)
    if running is None:
        pytest.skip("micrograd's run starts only when test_moons.py is collected")
    out, err = running.communicate(timeout=1200)
    assert running.returncode == 0, err
    return json.loads(out)
