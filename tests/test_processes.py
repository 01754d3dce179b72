"""The child-process helper the other tests rely on, and that they all use it."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.processes import child

TESTS = Path(__file__).resolve().parent


def test_a_child_still_running_when_the_test_fails_is_killed_and_reaped():
    sleeper = [sys.executable, "-c", "import time; time.sleep(600)"]
    with (
        pytest.raises(RuntimeError, match="the test failed"),
        child(sleeper, stdout=subprocess.PIPE) as proc,
    ):
        raise RuntimeError("the test failed")
    assert proc.returncode is not None  # waited for: no leftover process, no ResourceWarning
    assert proc.returncode != 0
    assert proc.stdout is not None
    assert proc.stdout.closed


def test_a_child_that_exits_keeps_its_exit_code():
    with child([sys.executable, "-c", "raise SystemExit(3)"]) as proc:
        proc.wait(timeout=60)
    assert proc.returncode == 3


def test_no_test_starts_a_process_it_might_not_wait_for():
    # subprocess.run waits by itself, also on a timeout; a bare Popen is only safe in child().
    offenders = [
        f"{path.name}:{number}"
        for path in sorted(TESTS.glob("*.py"))
        if path.name != "processes.py"
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if re.search(r"\bPopen\(|os\.fork\(|pty\.spawn\(", line) and "re.search" not in line
    ]
    assert offenders == []
