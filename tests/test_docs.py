"""The docs describe the tool as it is: every function, every command, the README's commands."""

import re
import shlex
from pathlib import Path

import typer.main

from scalargrad.cli import app
from scalargrad.ops import FUNCTIONS

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"


def test_language_reference_lists_every_function_with_its_formula():
    text = (DOCS / "language.md").read_text()
    for name, op in FUNCTIONS.items():
        assert f"| `{name}(x)` | {op.formulas[0]}" in text, name


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
