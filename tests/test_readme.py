"""The README documents every command the CLI has."""

from __future__ import annotations

import typer.main

from interviewer.cli import app
from tests.conftest import REPO


def test_readme_mentions_every_command_and_subcommand():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    group = typer.main.get_group(app)
    missing = []
    for name, command in group.commands.items():
        if f"interviewer {name}" not in readme:
            missing.append(name)
        for sub in getattr(command, "commands", {}):
            documented = f"{name} {sub}" in readme or any(
                f"| {sub}" in line for line in readme.splitlines() if f"interviewer {name}" in line
            )
            if not documented:
                missing.append(f"{name} {sub}")
    assert not missing, f"README does not document: {missing}"


def test_quick_start_has_the_two_commands():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert "pip install . && interviewer practice" in readme
    assert "pip install -e '.[test]' && pytest" in readme
