"""`scalargrad dot` and `draw_dot`: the lecture's picture, rendered without a system Graphviz."""

from __future__ import annotations

import os
import re
import stat
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from conftest import LECTURE, LECTURE_VALUES, STATEMENTS
from scalargrad import Value, draw_dot, parse
from scalargrad import dot as drawing
from scalargrad import renderers

GOLDEN = Path(__file__).parent / "golden" / "lecture.gv"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
SVG = "{http://www.w3.org/2000/svg}"
posix_only = pytest.mark.skipif(os.name != "posix", reason="fake renderers are shell scripts")


@pytest.fixture
def real_lookup(monkeypatch):
    """The lookup as a user has it after `pip install`: no SCALARGRAD_DOT, no system dot."""
    monkeypatch.delenv("SCALARGRAD_DOT", raising=False)
    monkeypatch.setenv("PATH", os.pathsep.join(p for p in os.environ["PATH"].split(os.pathsep)
                                               if not (Path(p) / "dot").exists()))


@pytest.fixture
def no_bundled(monkeypatch, tmp_path):
    """A machine where graphviz-pure is not installed and no `dot` is on PATH."""
    monkeypatch.setattr(renderers, "bundled_executable", lambda: None)
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    monkeypatch.delenv("SCALARGRAD_DOT", raising=False)


def svg_texts(svg: bytes | str) -> list[str]:
    root = ET.fromstring(svg)
    return [(t.text or "").strip() for t in root.iter(f"{SVG}text")]


def records(source: str) -> dict[str, str]:
    """node id -> record label, from DOT source."""
    return dict(re.findall(r'^\s*(n\d+) \[label="\{ (.*?) \}"', source, re.MULTILINE))


def script(path: Path, body: str) -> Path:
    path.write_text("#!/bin/sh\n" + body + "\n")
    path.chmod(0o755)
    return path


# -- the DOT source ------------------------------------------------------------------------
def test_lecture_dot_source_matches_golden_file(cli):
    first = cli("dot", STATEMENTS, *LECTURE_VALUES, "--format", "dot")
    second = cli("dot", STATEMENTS, *LECTURE_VALUES, "-o", "-", "--format", "dot")
    assert first.exit_code == 0, first.stderr
    assert first.stdout == second.stdout == GOLDEN.read_text(encoding="utf-8")


def test_lecture_records_hold_the_lectures_numbers(cli):
    source = cli("dot", STATEMENTS, *LECTURE_VALUES, "--format", "dot").stdout
    assert "rankdir=LR" in source
    assert sorted(records(source).values()) == sorted([
        "a | data 2.0000 | grad 6.0000",
        "b | data -3.0000 | grad -4.0000",
        "e | data -6.0000 | grad -2.0000",
        "c | data 10.0000 | grad -2.0000",
        "d | data 4.0000 | grad -2.0000",
        "f | data -2.0000 | grad 4.0000",
        "L | data -8.0000 | grad 1.0000",
    ])
    # e = a*b; d = e + c; L = d*f: operands feed op nodes, each op node feeds its result
    ids = {label.split(" | ")[0]: node for node, label in records(source).items()}
    edges = re.findall(r"^\s*(\w+) -> (\w+)", source, re.MULTILINE)
    assert (ids["a"], ids["e"] + "_op") in edges and (ids["b"], ids["e"] + "_op") in edges
    assert (ids["e"], ids["d"] + "_op") in edges and (ids["c"], ids["d"] + "_op") in edges
    assert (ids["d"], ids["L"] + "_op") in edges and (ids["f"], ids["L"] + "_op") in edges
    assert (ids["L"] + "_op", ids["L"]) in edges
    assert re.search(rf'{ids["e"]}_op \[label="\*"\]', source)
    assert re.search(rf'{ids["d"]}_op \[label="\+"\]', source)


def test_gradient_colours_and_legend(cli):
    source = cli("dot", STATEMENTS, *LECTURE_VALUES, "--format", "dot").stdout
    line = {m.group(1): m.group(0) for m in re.finditer(r'^\s*\S+ \[label="\{ (\w+) \|.*$', source, re.MULTILINE)}
    assert drawing.POSITIVE[2] in line["a"]  # grad 6 is the largest: strong blue
    assert drawing.NEGATIVE[2] in line["b"]  # grad -4: strong red
    assert drawing.NEGATIVE[1] in line["c"]  # grad -2 is a third of 6: medium red
    assert "shape=Mrecord" in line["a"] and "shape=record" in line["e"]  # inputs are rounded
    assert "penwidth=3" in line["L"] and "penwidth" not in line["d"]  # the output is bold
    assert "legend" in source and "largest 6.0000" in source


def test_plain_is_the_lecture_picture(cli):
    source = cli("dot", LECTURE, *LECTURE_VALUES, "--format", "dot", "--plain").stdout
    assert "fillcolor" not in source and "legend" not in source and "Mrecord" not in source
    assert '[label="{ a*b + c | data 4.0000 | grad -2.0000 }" shape=record]' in source


def test_a_plus_a_draws_two_edges(cli):
    source = cli("dot", "b = a + a", "--a", "3", "--format", "dot").stdout
    ids = {label.split(" | ")[0]: node for node, label in records(source).items()}
    assert records(source)[ids["a"]] == "a | data 3.0000 | grad 2.0000"
    assert source.count(f"{ids['a']} -> {ids['b']}_op") == 2


def test_no_grad_draws_values_only(cli):
    result = cli("dot", LECTURE, *LECTURE_VALUES, "--format", "dot", "--no-grad")
    assert result.exit_code == 0, result.stderr
    assert "grad" not in "".join(records(result.stdout).values())
    assert "a | data 2.0000" in records(result.stdout).values()


def test_constants_are_marked_and_have_no_gradient(cli):
    source = cli("dot", "y = 3 * x", "--x", "2", "--format", "dot").stdout
    assert "3 | data 3.0000 | const" in records(source).values()
    assert "x | data 2.0000 | grad 3.0000" in records(source).values()


def test_cluster_titles_each_statement(cli):
    source = cli("dot", STATEMENTS, *LECTURE_VALUES, "--format", "dot", "--cluster").stdout
    titles = re.findall(r'subgraph (cluster_\d+) \{\s*[^\n]*\blabel="([^"]*)"', source)
    assert [title for _, title in titles] == ["e = a*b", "d = e + c", "L = d * f"]
    first = source[source.index("subgraph cluster_0"): source.index("subgraph cluster_1")]
    assert "{ e |" in first and "{ a |" not in first  # inputs stay outside the boxes


def test_focus_draws_the_neighbourhood(cli):
    source = cli("dot", STATEMENTS, *LECTURE_VALUES, "--format", "dot", "--focus", "d", "--depth", "1").stdout
    names = sorted(label.split(" | ")[0] for label in records(source).values())
    assert names == ["L", "c", "d", "e"]
    assert 'label="a …"' in source and 'label="f …"' in source  # cut operands are named


def test_max_nodes_limit_is_explained(cli):
    result = cli("dot", STATEMENTS, *LECTURE_VALUES, "--max-nodes", "5", "-o", "graph.png")
    assert result.exit_code == 2
    assert "the graph has 7 nodes, more than the limit of 5" in result.stderr
    assert "--focus" in result.stderr and "SVG" in result.stderr
    assert "Traceback" not in result.stderr


def test_user_text_is_escaped_in_records(real_lookup):
    a = Value(2.0, label='a{b}|<c>"d\\')
    b = a * 3
    b.label = "b"
    b.backward()
    svg = b._repr_svg_()
    assert svg is not None
    texts = svg_texts(svg)
    assert 'a{b}|<c>"d\\' in texts  # one field, shown literally
    assert "grad 3.0000" in texts and "data 6.0000" in texts


def test_deep_chain_draws_without_recursion(cli):
    program = "x0 = a\n" + "\n".join(f"x{i} = x{i - 1} + 1" for i in range(1, 3000))
    result = cli("dot", program, "--a", "1", "--format", "dot", "--max-nodes", "10000")
    assert result.exit_code == 0, result.stderr
    assert "x2999 | data 3000.0000 | grad 1.0000" in records(result.stdout).values()


# -- the Python API ----------------------------------------------------------------------------
def test_draw_dot_of_a_hand_built_value_is_a_graphviz_digraph():
    import graphviz

    a = Value(2.0, label="a")
    b = Value(-3.0, label="b")
    L = a * b
    L.label = "L"
    L.backward()
    graph = draw_dot(L, plain=True)
    assert isinstance(graph, graphviz.Digraph)
    assert records(graph.source) == {"n0": "a | data 2.0000 | grad -3.0000", "n1": "b | data -3.0000 | grad 2.0000",
                                     "n2": "L | data -6.0000 | grad 1.0000"}
    assert graph.source == draw_dot(L, plain=True).source


def test_draw_dot_of_a_program_matches_the_command(cli):
    program = parse(STATEMENTS)
    program.run({"a": 2, "b": -3, "c": 10, "f": -2})
    assert draw_dot(program).source == GOLDEN.read_text(encoding="utf-8")


def test_importing_scalargrad_does_not_import_graphviz():
    code = "import sys, scalargrad; print('graphviz' in sys.modules); scalargrad.draw_dot; print('graphviz' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["False", "False"]  # the draw_dot attribute is lazy too; graphviz loads on drawing


# -- rendering through the real lookup --------------------------------------------------------
def test_bundled_renderer_is_found_through_its_distribution():
    from packaging.markers import Marker

    pyproject = (Path(__file__).resolve().parent.parent / "pyproject.toml").read_text()
    marker = re.search(r'"graphviz-pure[^;"]*;\s*([^"]+)"', pyproject).group(1)
    if not Marker(marker).evaluate():
        pytest.skip("graphviz-pure has no wheel for this platform, so scalargrad does not install it here")
    found = renderers.bundled_executable()
    assert found is not None, "graphviz-pure should be installed with scalargrad on this platform"
    path, version = found
    assert Path(path).name.startswith("graphviz-pure")
    proc = subprocess.run([path, "-V"], capture_output=True, text=True)
    assert "graphviz-pure" in proc.stderr + proc.stdout and version in proc.stderr + proc.stdout


def test_svg_of_the_lecture(cli, tmp_path, real_lookup):
    target = tmp_path / "graph.svg"
    result = cli("dot", STATEMENTS, *LECTURE_VALUES, "-o", str(target))
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""
    assert f"wrote {target}: SVG of 7 nodes with graphviz-pure" in result.stderr
    texts = svg_texts(target.read_bytes())
    for label in ["a", "b", "c", "d", "e", "f", "L", "*", "+"]:
        assert label in texts
    for number in ["data 2.0000", "grad 6.0000", "grad -4.0000", "data -8.0000", "grad 4.0000", "data 10.0000"]:
        assert number in texts
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(target.stat().st_mode) == 0o666 & ~umask  # the usual mode, not mkstemp's 0600
    assert [p.name for p in tmp_path.iterdir()] == ["graph.svg"]  # no temporary file left


def test_svg_on_stdout(cli, real_lookup):
    result = cli("dot", LECTURE, *LECTURE_VALUES, "-o", "-")
    assert result.exit_code == 0, result.stderr
    assert "grad 6.0000" in svg_texts(result.stdout)


def test_png_magic_bytes(cli, tmp_path, real_lookup):
    target = tmp_path / "graph.png"
    result = cli("dot", LECTURE, *LECTURE_VALUES, "-o", str(target))
    assert result.exit_code == 0, result.stderr
    assert target.read_bytes()[:8] == PNG_MAGIC


def test_repr_svg_for_jupyter(real_lookup):
    a, b, c, f = Value(2.0, label="a"), Value(-3.0, label="b"), Value(10.0, label="c"), Value(-2.0, label="f")
    L = (a * b + c) * f
    L.backward()
    texts = svg_texts(L._repr_svg_())
    assert "grad 6.0000" in texts and "data -8.0000" in texts
    assert "image/svg+xml" in draw_dot(L)._repr_mimebundle_()


@posix_only
def test_scalargrad_dot_env_comes_first(cli, tmp_path, real_lookup, monkeypatch):
    bundled, _ = renderers.bundled_executable()
    log = tmp_path / "used"
    wrapper = script(tmp_path / "my-dot", f'echo used > "{log}"\nexec "{bundled}" "$@"')
    monkeypatch.setenv("SCALARGRAD_DOT", str(wrapper))
    result = cli("dot", LECTURE, *LECTURE_VALUES, "-o", str(tmp_path / "g.svg"))
    assert result.exit_code == 0, result.stderr
    assert log.exists() and f"with SCALARGRAD_DOT={wrapper}" in result.stderr


@posix_only
def test_system_dot_on_path_comes_last(cli, tmp_path, no_bundled, monkeypatch):
    from importlib import metadata

    dist = metadata.distribution("graphviz-pure")
    real = next(Path(dist.locate_file(f)).resolve() for f in dist.files if f.name == "graphviz-pure")
    bin_dir = tmp_path / "empty-bin"
    bin_dir.mkdir()
    script(bin_dir / "dot", f'exec "{real}" "$@"')
    result = cli("dot", LECTURE, *LECTURE_VALUES, "-o", str(tmp_path / "g.png"))
    assert result.exit_code == 0, result.stderr
    assert "with Graphviz dot on PATH" in result.stderr
    assert (tmp_path / "g.png").read_bytes()[:8] == PNG_MAGIC


# -- no renderer, failures, and files never lost ---------------------------------------------
def test_no_renderer_writes_the_dot_source_beside_the_file(cli, tmp_path, no_bundled, monkeypatch):
    monkeypatch.setenv("SCALARGRAD_DOT", str(tmp_path / "missing-dot"))
    target = tmp_path / "graph.svg"
    target.write_text("my old picture")
    result = cli("dot", STATEMENTS, *LECTURE_VALUES, "-o", str(target))
    assert result.exit_code == 2
    assert f"SCALARGRAD_DOT={tmp_path / 'missing-dot'} does not exist" in result.stderr
    assert "graphviz-pure is not installed" in result.stderr and "no `dot` on PATH" in result.stderr
    spare = tmp_path / "graph.svg.gv"
    assert f"wrote the DOT source to {spare} instead" in result.stderr
    assert f"dot -Tsvg {spare} -o {target}" in result.stderr and "pip install graphviz-pure" in result.stderr
    assert "Traceback" not in result.stderr and "sudo" not in result.stderr
    assert spare.read_text() == GOLDEN.read_text()
    assert target.read_text() == "my old picture"


def test_no_renderer_on_stdout_suggests_dot_format(cli, no_bundled):
    result = cli("dot", LECTURE, *LECTURE_VALUES, "-o", "-")
    assert result.exit_code == 2 and result.stdout == ""
    assert "no Graphviz renderer found to write SVG" in result.stderr
    assert "--format dot writes the DOT source to standard output" in result.stderr


def test_pdf_needs_a_renderer_that_writes_pdf(cli, tmp_path, real_lookup):
    # graphviz-pure writes svg and png but not pdf; with no system dot nothing can.
    target = tmp_path / "graph.pdf"
    result = cli("dot", LECTURE, *LECTURE_VALUES, "-o", str(target))
    if result.exit_code == 0:  # a future graphviz-pure that writes PDF
        assert target.read_bytes()[:5] == b"%PDF-"
        return
    assert result.exit_code == 2
    assert "no renderer here can write PDF (graphviz-pure" in result.stderr and "writes svg, png" in result.stderr
    assert (tmp_path / "graph.pdf.gv").exists() and not target.exists()


@posix_only
def test_failing_renderer_leaves_the_existing_file_untouched(cli, tmp_path, monkeypatch):
    broken = script(tmp_path / "broken-dot", 'echo "<svg>half" ; echo "Error: <stdin>: syntax error in line 3" >&2; exit 3')
    monkeypatch.setenv("SCALARGRAD_DOT", str(broken))
    target = tmp_path / "graph.svg"
    target.write_text("my old picture")
    result = cli("dot", LECTURE, *LECTURE_VALUES, "-o", str(target))
    assert result.exit_code == 2
    assert f"the renderer SCALARGRAD_DOT={broken} failed (exit code 3): Error: <stdin>: syntax error in line 3" \
        in result.stderr
    assert target.read_text() == "my old picture"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["broken-dot", "graph.svg"]  # no temporary file left


@pytest.mark.parametrize(
    ("output", "extra", "message"),
    [
        (".", [], "is a folder"),
        ("graph.jpg", [], "the extension `.jpg` is not one of .svg .png .pdf .gv .dot"),
        ("no-such-folder/graph.svg", [], "the folder no-such-folder does not exist"),
        ("graph.svg", ["--format", "png"], "--format png does not match the extension of graph.svg"),
        ("graph.svg", ["--format", "gif"], "unknown format `gif`"),
        ("graph.svg", ["--depth", "3"], "--depth needs --focus NODE"),
        ("graph.svg", ["--focus", "q"], "the program has no node named `q`"),
        ("file.txt/graph.svg", [], "file.txt is not a folder"),
    ],
)
def test_bad_targets_are_clear_errors(cli, tmp_path, monkeypatch, output, extra, message):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "file.txt").write_text("x")
    result = cli("dot", LECTURE, *LECTURE_VALUES, "-o", output, *extra)
    assert result.exit_code == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file.txt"]


def test_write_atomic_keeps_the_old_file_when_producing_fails(tmp_path):
    target = tmp_path / "graph.svg"
    target.write_bytes(b"old")

    def explode() -> bytes:
        raise renderers.RenderError("the renderer failed")

    with pytest.raises(renderers.RenderError):
        renderers.write_atomic(target, explode)
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["graph.svg"]


def test_dot_help(cli):
    result = cli("dot", "--help")
    assert result.exit_code == 0
    for option in ["--output", "--format", "--no-grad", "--cluster", "--focus", "--depth", "--max-nodes"]:
        assert option in result.stdout


def test_installed_command_draws_svg(installed, tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "SCALARGRAD_DOT"}
    env["PATH"] = str(tmp_path)  # no system dot: the bundled renderer, found without PATH
    result = installed("dot", STATEMENTS, *LECTURE_VALUES, "-o", "lecture.svg", cwd=tmp_path, env=env)
    assert result.exit_code == 0, result.stderr
    texts = svg_texts((tmp_path / "lecture.svg").read_bytes())
    assert "grad 6.0000" in texts and "grad -4.0000" in texts and "L" in texts


def test_installed_command_without_renderer(installed, tmp_path):
    env = dict(os.environ, SCALARGRAD_DOT="none")
    result = installed("dot", STATEMENTS, *LECTURE_VALUES, "-o", "lecture.png", cwd=tmp_path, env=env)
    assert result.exit_code == 2
    assert result.stderr.startswith("error: no Graphviz renderer found to write PNG (SCALARGRAD_DOT=none")
    assert (tmp_path / "lecture.png.gv").read_text() == GOLDEN.read_text()
    assert not (tmp_path / "lecture.png").exists()


def test_big_graphs_get_the_bounded_layout(cli):
    small = cli("dot", LECTURE, *LECTURE_VALUES, "--format", "dot").stdout
    assert "nslimit" not in small and "splines" not in small  # the lecture's layout untouched
    program = "x0 = a\n" + "\n".join(f"x{i} = x{i - 1} * a" for i in range(1, 60))
    big = cli("dot", program, "--a", "1", "--format", "dot").stdout
    assert "graph [nslimit=1 nslimit1=1 rankdir=LR splines=line]" in big
