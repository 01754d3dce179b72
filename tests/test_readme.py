"""The README documents every command the CLI has."""

from __future__ import annotations

import typer

from interviewer.cli import app
from tests.conftest import REPO


def command_names(group: typer.Typer) -> list[str]:
    """The names of a typer app's own commands, as the command line spells them."""
    names = []
    for info in group.registered_commands:
        # Unnamed commands are called after their function, underscores turned into dashes.
        callback_name = getattr(info.callback, "__name__", "")
        names.append(info.name or callback_name.replace("_", "-"))
    return names


def command_tree(group: typer.Typer) -> dict[str, list[str]]:
    """Every top-level command name with its subcommands (none for a plain command)."""
    tree: dict[str, list[str]] = {name: [] for name in command_names(group)}
    for info in group.registered_groups:
        sub_app = info.typer_instance
        assert sub_app is not None
        name = info.name or sub_app.info.name
        assert isinstance(name, str), "every command group is registered with a name"
        tree[name] = command_names(sub_app)
    return tree


def test_the_command_tree_has_the_groups_and_their_subcommands():
    tree = command_tree(app)
    assert {"practice", "grade", "bank", "history"} <= set(tree)
    assert {"list", "show", "import", "validate"} <= set(tree["bank"])
    assert tree["practice"] == []


def test_readme_mentions_every_command_and_subcommand():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    missing = []
    for name, subcommands in command_tree(app).items():
        if f"interviewer {name}" not in readme:
            missing.append(name)
        for sub in subcommands:
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
