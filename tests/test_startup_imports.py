"""Commands that need no endpoint never import the heavy endpoint stack.

`import openai` alone costs seconds on a small machine; `--help`, `bank list` and an offline
practice session must not pay it. Checked in a real subprocess with -X importtime, which
lists every module the process imported.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.conftest import REPO

HEAVY = ("openai", "tiktoken", "httpx2")


def imported_modules(
    args: list[str], home: str, stdin: str = "", *, full: bool = False
) -> set[str]:
    env = {**os.environ, "INTERVIEWER_HOME": home}
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "interviewer", *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=REPO,
        env=env,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    names = set()
    for line in result.stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            name = line.rsplit("|", 1)[1].strip()
            names.add(name if full else name.split(".")[0])
    assert "interviewer" in names or "interviewer.cli" in names  # the measurement worked
    return names


@pytest.mark.parametrize(
    ("args", "stdin"),
    [
        (["--help"], ""),
        (["bank", "list"], ""),
        (["bank", "show", "llm-en-41"], ""),
        (["practice", "--bank", "llm-en", "-n", "1", "--follow-ups", "0"], "An answer.\n.\n"),
    ],
)
def test_no_endpoint_stack_without_an_endpoint(tmp_path, args, stdin):
    names = imported_modules(args, str(tmp_path), stdin)
    assert not names & set(HEAVY), sorted(names & set(HEAVY))
    # The terminal prompt is for a person at a terminal only; piped input never loads it.
    assert "prompt_toolkit" not in names


def test_piped_bank_list_on_a_warm_index_skips_yaml_models_and_rich_tables(tmp_path):
    """The bank index and plain columns are what make `bank list` start quickly."""
    imported_modules(["bank", "list"], str(tmp_path))  # the first run fills the index
    names = imported_modules(["bank", "list"], str(tmp_path), full=True)
    assert "interviewer.bank.index" in names
    slow = {"yaml", "interviewer.bank.library", "interviewer.config", "rich.console", "rich.table"}
    assert not names & slow, sorted(names & slow)
