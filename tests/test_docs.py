"""The documentation matches the CLI: every command is documented, every example parses.

Each ``interviewer …`` line in a shell block of README.md or docs/*.md is handed to the real
command-line parser with ``--help`` appended: an option or subcommand that does not exist
fails the test, while files named in the example need not exist. Blocks preceded by
``<!-- runs -->`` are executed for real in a scratch directory holding docs/examples/.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from interviewer.cli import app
from tests.conftest import REPO

DOCS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
BLOCK = re.compile(r"(<!-- runs -->\s*\n)?```(?:sh|bash|console)\n(.*?)```", re.S)
SEPARATORS = {"|", "&&", "||", ";", ">", ">>", "<"}


def _command_names(typer_app: typer.Typer) -> list[tuple[str, list[str]]]:
    """(command, [subcommands]) from typer's public registry of the app."""
    found: list[tuple[str, list[str]]] = []
    for info in typer_app.registered_commands:
        name = info.name or (info.callback.__name__.replace("_", "-") if info.callback else "")
        found.append((name, []))
    for group in typer_app.registered_groups:
        sub = group.typer_instance
        assert sub is not None
        assert group.name
        names = [
            c.name or (c.callback.__name__.replace("_", "-") if c.callback else "")
            for c in sub.registered_commands
        ]
        found.append((group.name, names))
    return found


def _blocks() -> list[tuple[Path, bool, str]]:
    blocks = []
    for path in DOCS:
        for match in BLOCK.finditer(path.read_text(encoding="utf-8")):
            blocks.append((path, bool(match.group(1)), match.group(2)))
    return blocks


def _examples() -> list[tuple[str, list[str]]]:
    """Every ``interviewer`` invocation in a shell block, as (where, argv after the name)."""
    examples = []
    for path, _, body in _blocks():
        for line in body.replace("\\\n", " ").splitlines():
            tokens = shlex.split(line, comments=True)
            while "interviewer" in tokens:
                start = tokens.index("interviewer") + 1
                end = start
                while end < len(tokens) and tokens[end] not in SEPARATORS:
                    end += 1
                examples.append((f"{path.name}: {line.strip()[:70]}", tokens[start:end]))
                tokens = tokens[end:]
    return examples


def test_docs_mention_every_command_and_subcommand():
    text = "\n".join(path.read_text(encoding="utf-8") for path in DOCS)
    missing = []
    for name, subcommands in _command_names(app):
        if f"interviewer {name}" not in text:
            missing.append(name)
        missing += [f"{name} {sub}" for sub in subcommands if f"{name} {sub}" not in text]
    assert not missing, f"the docs do not document: {missing}"


def test_the_docs_have_examples():
    # The parse test below passes vacuously if the pattern stops matching the docs.
    assert len(_examples()) >= 40


@pytest.mark.parametrize(("where", "argv"), _examples(), ids=lambda v: str(v)[:60])
def test_every_example_parses(where, argv, tmp_path, monkeypatch):
    monkeypatch.setenv("INTERVIEWER_HOME", str(tmp_path))
    result = CliRunner().invoke(app, [*argv, "--help"])
    assert result.exit_code == 0, f"{where}\n{result.output}"


def test_quick_start_has_the_two_commands():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert "pip install . && interviewer practice" in readme
    assert "pip install -e '.[test]' && pytest" in readme


@pytest.mark.slow
@pytest.mark.parametrize(
    ("where", "body"),
    [(p.name, body) for p, runs, body in _blocks() if runs],
    ids=lambda v: str(v)[:40],
)
def test_runnable_examples_run(where, body, tmp_path):
    shutil.copytree(REPO / "docs" / "examples", tmp_path, dirs_exist_ok=True)
    bindir = Path(sys.executable).parent
    env = {
        **os.environ,
        "INTERVIEWER_HOME": str(tmp_path / "home"),
        "PATH": f"{bindir}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    for name in ("INTERVIEWER_ENDPOINT", "INTERVIEWER_BASE_URL", "OPENAI_BASE_URL"):
        env.pop(name, None)
    result = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", body],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, f"{where}\n{body}\n{result.stdout}\n{result.stderr}"
