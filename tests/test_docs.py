"""The docs describe the tool as it is: every function, every command, the README's commands."""

import re
import shlex
from pathlib import Path

import pytest
import typer.main

from scalargrad.cli import app
from scalargrad.ops import FUNCTIONS

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"


def test_language_reference_lists_every_function_with_its_formula():
    text = (DOCS / "language.md").read_text()
    for name, op in FUNCTIONS.items():
        assert f"| `{op.usage}` | {op.derivatives}" in text, name


def test_cli_reference_lists_every_command():
    text = (DOCS / "cli.md").read_text()
    for name in typer.main.get_command(app).commands:
        assert f"| `{name}` |" in text, name


def test_readme_has_the_two_setup_commands_and_ci_runs_them():
    readme = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```\n(python3 -m venv .*?)\n```", readme)
    assert len(blocks) == 2
    assert "scalargrad grad" in blocks[0] and "pytest" in blocks[1]
    ci = (ROOT / ".ci" / "run").read_text()
    for block in blocks:
        assert block in ci


def test_readme_example_output_is_real(cli):
    readme = (ROOT / "README.md").read_text()
    command, output = re.search(r"```\n\$ (scalargrad grad [^\n]*)\n(.*?)```", readme, re.S).groups()
    result = cli(*shlex.split(command)[1:])
    assert result.exit_code == 0 and result.stdout == output


def test_relative_links_in_docs_resolve():
    for page in [ROOT / "README.md", *DOCS.glob("*.md")]:
        for target in re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", page.read_text()):
            assert (page.parent / target).exists(), f"{page.name}: {target}"


def console_blocks(page: Path) -> list[tuple[str, str]]:
    """Each `$ scalargrad ...` command of the ```console blocks of a page, with what it shows.
    A block may hold several commands, each followed by its output (a session, told as a
    terminal shows it)."""
    commands = []
    for block in page.read_text(encoding="utf-8").split("```console\n")[1:]:
        for line in block.split("```", 1)[0].splitlines(keepends=True):
            if line.startswith("$ "):
                commands.append([line[2:].rstrip("\n"), ""])
            elif commands:
                commands[-1][1] += line
    return [(command, shown) for command, shown in commands]


PAGES_WITH_EXAMPLES = sorted(page for page in [ROOT / "README.md", *DOCS.glob("*.md")] if console_blocks(page))
LONG_PAGES = {"tutorial.md", "derive.md"}  # seconds each (the whole lecture; SymPy): `-m slow`, and CI


@pytest.mark.parametrize("page", [pytest.param(page, marks=pytest.mark.slow) if page.name in LONG_PAGES else page
                                  for page in PAGES_WITH_EXAMPLES], ids=lambda page: page.name)
def test_console_examples_are_what_the_tool_prints(page, cli, tmp_path, monkeypatch):
    """Every command of the ```console blocks, run in order in one fresh folder and session,
    shows exactly what the page shows: what a terminal shows, its stderr (notes, warnings,
    errors) and then its stdout. A line `...` stands for any lines. (```text blocks are
    illustrations and are not run.)"""
    import shutil

    import scalargrad.render

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SCALARGRAD_SESSION", raising=False)  # the default session, as a user has it
    monkeypatch.setattr(scalargrad.render, "at_a_terminal", lambda stream: True)  # the pages show a terminal's rows
    shutil.copytree(DOCS / "examples", tmp_path / "docs" / "examples")  # paths as from the repository's root
    for command, shown in console_blocks(page):
        args = shlex.split(command, comments=True)
        while "=" in args[0] and args[0].split("=")[0].isupper():  # `SCALARGRAD_DOT=none scalargrad ...`
            name, _, value = args.pop(0).partition("=")
            monkeypatch.setenv(name, value)
        assert args[0] == "scalargrad", command
        result = cli(*args[1:])
        printed = result.stderr + result.stdout
        assert same_but_renderer_version(printed, shown), f"{page.name}: {command}\n{printed}"


def matches(printed: str, shown: str) -> bool:
    """`printed` is `shown`, where a line `...` in `shown` stands for any number of lines."""
    lines = shown.splitlines(keepends=True)
    if "...\n" not in lines:
        return printed == shown
    pattern = "".join(r"(?:.*\n)*?" if line == "...\n" else re.escape(line) for line in lines)
    return re.fullmatch(pattern, printed) is not None


def same_but_renderer_version(printed: str, shown: str) -> bool:
    """Equal, except for the version of the renderer that `dot` reports using."""
    version = re.compile(r"(graphviz-pure|Graphviz dot) [0-9][0-9.]*")
    return matches(version.sub(r"\1 VERSION", printed), version.sub(r"\1 VERSION", shown))


def test_the_lecture_picture_in_the_docs_is_what_the_tool_draws(cli, tmp_path):
    from conftest import LECTURE_VALUES, STATEMENTS

    result = cli("dot", STATEMENTS, *LECTURE_VALUES, "-o", str(tmp_path / "lecture.svg"), "--no-session")
    assert result.exit_code == 0, result.stderr
    # the same texts in the same order: labels, data and grad of every node, ops, legend
    # (the layout itself belongs to the renderer and may change with its version)
    from test_dot import svg_texts

    drawn = svg_texts((tmp_path / "lecture.svg").read_bytes())
    assert drawn == svg_texts((DOCS / "lecture.svg").read_bytes())
    assert "grad 6.0000" in drawn and "data -8.0000" in drawn
