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


def imported_modules(args: list[str], home: str, stdin: str = "") -> set[str]:
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
            names.add(line.rsplit("|", 1)[1].strip().split(".")[0])
    assert "interviewer" in names  # the measurement itself worked
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
