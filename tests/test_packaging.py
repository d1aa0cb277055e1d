"""The grammar ships inside the wheel and loads from every kind of install."""

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import scalargrad

ROOT = Path(__file__).resolve().parent.parent
GRAMMAR_IN_WHEEL = "scalargrad/grammars/scalargrad.lark"
WEB_FILES = ["page.html", "page.js", "page.css", "engine.js", "worker.js"]  # the interactive page: template, scripts, style


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """An sdist, a wheel built from that sdist, and a wheel built from the source tree."""
    out = tmp_path_factory.mktemp("dist")
    from_sdist = out / "from-sdist"
    from_tree = out / "from-tree"
    for args, target in ((["--sdist", "--wheel"], from_sdist), (["--wheel"], from_tree)):
        # --sdist --wheel builds the wheel from the sdist, as pip does from PyPI
        subprocess.run([sys.executable, "-m", "build", "--no-isolation", *args, "--outdir", str(target), str(ROOT)],
                       check=True, capture_output=True, text=True)
    return from_sdist, from_tree


def run_from_wheel(wheel: Path, tmp_path: Path) -> dict:
    unpacked = tmp_path / wheel.stem
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(unpacked)
    script = (
        "import json, scalargrad; p = scalargrad.parse('L = (a*b + c) * f'); "
        "p.run({'a': 2, 'b': -3, 'c': 10, 'f': -2}); "
        "from scalargrad.page import build_page; "
        "page = build_page(p, {'a': 2, 'b': -3, 'c': 10, 'f': -2}, picture=False).html; "
        "print(json.dumps({'file': scalargrad.__file__, 'a': p.names['a'].grad, "
        "'page': 'var OPS = {' in page and 'window.scalargrad = ' in page and 'sg-table' in page}))"
    )
    # -I: ignore the environment and the user site; the unpacked wheel goes first on the path
    proc = subprocess.run([sys.executable, "-c", f"import sys; sys.path.insert(0, {str(unpacked)!r}); {script}"],
                          capture_output=True, text=True, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


@pytest.mark.parametrize("which", ["from-sdist", "from-tree"])
def test_wheel_contains_the_grammar_and_parses(built, tmp_path, which):
    folder = built[0] if which == "from-sdist" else built[1]
    (wheel,) = folder.glob("*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        assert GRAMMAR_IN_WHEEL in names
        assert archive.read(GRAMMAR_IN_WHEEL).decode() == (ROOT / "grammars" / "scalargrad.lark").read_text()
        for name in WEB_FILES:
            assert archive.read(f"scalargrad/web/{name}").decode() == (ROOT / "scalargrad" / "web" / name).read_text()
    result = run_from_wheel(wheel, tmp_path)
    assert result["file"].startswith(str(tmp_path)) and result["a"] == 6.0
    assert result["page"], "the page's template, script and style did not load from the wheel"


def test_sdist_contains_the_grammar_folder(built):
    import tarfile

    (sdist,) = built[0].glob("*.tar.gz")
    with tarfile.open(sdist) as archive:
        assert any(name.endswith("/grammars/scalargrad.lark") for name in archive.getnames())


def test_editable_install_reads_the_grammar_from_the_checkout():
    # The test environment is the README's editable install of this checkout.
    assert Path(scalargrad.__file__).resolve().parent == ROOT / "scalargrad"
    assert not (ROOT / "scalargrad" / "grammars").exists()
    program = scalargrad.parse("L = (a*b + c) * f")
    program.run({"a": 2, "b": -3, "c": 10, "f": -2})
    assert program.names["b"].grad == -4.0


def test_a_plain_install_is_the_fast_one_where_lark_cython_has_wheels(built):
    """lark-cython is a dependency of the wheel, with the marker of the platforms it ships
    wheels for, so `pip install .` parses at its speed there and installs elsewhere too."""
    from packaging.requirements import Requirement

    (wheel,) = built[1].glob("*.whl")
    with zipfile.ZipFile(wheel) as archive:
        metadata = next(archive.read(n).decode() for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
    requires = [Requirement(line.split(":", 1)[1].strip()) for line in metadata.splitlines()
                if line.startswith("Requires-Dist:")]
    fast = [r for r in requires if r.name == "lark-cython"]
    assert len(fast) == 1 and fast[0].marker is not None and "extra" not in str(fast[0].marker)
    linux = {"python_version": "3.11", "sys_platform": "linux", "platform_machine": "x86_64", "extra": ""}
    assert fast[0].marker.evaluate(linux)
    assert not fast[0].marker.evaluate({**linux, "platform_machine": "riscv64"})
    assert not fast[0].marker.evaluate({**linux, "python_version": "3.14"})
    if fast[0].marker.evaluate():  # this machine: the installed parser is the accelerated one
        from scalargrad.language import _accelerator

        assert _accelerator() is not None
