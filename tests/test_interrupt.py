"""Ctrl-C in the middle of an answer: the session ends, and what was typed is saved."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time

from tests.conftest import REPO
from tests.processes import child, stop


def test_ctrl_c_mid_answer_saves_the_partial_answer_ungraded(tmp_path):
    env = {**os.environ, "INTERVIEWER_HOME": str(tmp_path), "COLUMNS": "100"}
    cmd = [sys.executable, "-m", "interviewer", "practice", "--bank", "llm-en", "-n", "2"]
    pipes = {"stdin": subprocess.PIPE, "stdout": subprocess.PIPE, "stderr": subprocess.PIPE}
    with child(cmd, cwd=REPO, env=env, **pipes) as proc:
        assert proc.stdin is not None
        assert proc.stdout is not None
        assert proc.stderr is not None
        seen: list[bytes] = []
        stdout = proc.stdout
        reader = threading.Thread(target=lambda: seen.extend(iter(stdout.readline, b"")))
        reader.start()
        try:
            proc.stdin.write(b"Half of my answer about random assignment\n")
            proc.stdin.flush()
            # Interrupt only once the session waits for the rest of the answer.
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and not any(b"Your answer" in s for s in seen):
                time.sleep(0.05)
            time.sleep(0.5)
            proc.send_signal(signal.SIGINT)
            proc.wait(timeout=30)
        finally:
            # The reader ends at end of output, which comes once the process is gone.
            stop(proc)
            reader.join(timeout=30)
        output = b"".join(seen).decode() + proc.stderr.read().decode()
    assert proc.returncode == 130, output
    assert "Traceback" not in output
    assert "Session summary" in output
    conn = sqlite3.connect(tmp_path / "history.db")
    try:
        answers = conn.execute("SELECT answer FROM attempts").fetchall()
        grades = conn.execute("SELECT COUNT(*) FROM grades").fetchone()[0]
    finally:
        conn.close()
    assert answers == [("Half of my answer about random assignment",)]
    assert grades == 0  # saved, not graded: `interviewer regrade` grades it later
