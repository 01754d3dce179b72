"""Behaviour every command shares: the version, shell completion and exit statuses."""

from __future__ import annotations

import os
import subprocess
import sys

from typer.testing import CliRunner

from interviewer import __version__
from interviewer.cli import app
from tests.conftest import REPO

runner = CliRunner()


def test_version_prints_the_package_version():
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == f"interviewer {__version__}"


def test_help_offers_shell_completion():
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0, result.output
    assert "--install-completion" in result.output
    assert "--show-completion" in result.output


def test_show_completion_prints_a_script_for_the_named_shell(tmp_path):
    env = {**os.environ, "INTERVIEWER_HOME": str(tmp_path), "COLUMNS": "100"}
    result = subprocess.run(
        [sys.executable, "-m", "interviewer", "--show-completion", "bash"],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=env,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "complete" in result.stdout
    assert "interviewer" in result.stdout


def test_usage_errors_exit_2_and_the_docs_say_so():
    result = runner.invoke(app, ["practice", "--no-such-option"])
    assert result.exit_code == 2, result.output
    docs = (REPO / "docs" / "commands.md").read_text(encoding="utf-8")
    assert "2 on a usage error" in docs


def test_an_error_is_one_line_on_a_narrow_piped_stderr(tmp_path):
    env = {**os.environ, "INTERVIEWER_HOME": str(tmp_path), "COLUMNS": "40"}
    result = subprocess.run(
        [sys.executable, "-m", "interviewer", "bank", "show", "no-such-question-id"],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=env,
        check=False,
    )
    assert result.returncode == 1, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Error: Unknown question id 'no-such-question-id'")
