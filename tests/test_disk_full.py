"""A full disk during `grade`: one line naming the file, exit 1, and the rows already written
are kept so that re-running the same command finishes the batch.

The full disk is real as far as the process can tell: the child runs under RLIMIT_FSIZE (with
SIGXFSZ ignored), so a write past the limit fails with EFBIG exactly where ENOSPC would, in
the file system call itself. Mounting a tiny tmpfs would need privileges tests do not have.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.batch_support import bank_rows, read_results, write_bank, write_csv
from tests.processes import child

LIMITED = (
    "import resource, runpy, signal, sys\n"
    "signal.signal(signal.SIGXFSZ, signal.SIG_IGN)\n"
    "limit = int(sys.argv.pop(1))\n"
    "resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))\n"
    "sys.argv[0] = 'interviewer'\n"
    "runpy.run_module('interviewer', run_name='__main__')\n"
)


def _grade(tmp_path: Path, limit: int, *args: str) -> tuple[int, str]:
    env = {"HOME": str(tmp_path / "home"), "PATH": "/usr/bin:/bin", "NO_COLOR": "1",
           "COLUMNS": "200"}  # fmt: skip
    command = [sys.executable, "-c", LIMITED, str(limit), "grade", *args]
    with child(command, cwd=tmp_path, env=env, stdout=subprocess.PIPE,
               stderr=subprocess.PIPE, text=True) as proc:  # fmt: skip
        _out, err = proc.communicate(timeout=300)
    return proc.returncode, err


@pytest.mark.slow
def test_full_disk_is_one_line_and_a_rerun_finishes(tmp_path: Path) -> None:
    banks = write_bank(tmp_path / "banks")
    source = write_csv(tmp_path / "in.csv", bank_rows(150))
    args = [str(source), "--out", "out.jsonl", "--bank-dir", str(banks), "--grader", "offline"]
    code, err = _grade(tmp_path, 50_000, *args)
    assert code == 1, err
    assert "Traceback" not in err
    message = " ".join(err.split())
    assert "out.jsonl" in message
    assert "re-run" in message
    kept = (tmp_path / "out.jsonl").stat().st_size
    assert 0 < kept <= 50_000
    code, err = _grade(tmp_path, 1 << 30, *args)
    assert code == 0, err
    records = read_results(tmp_path / "out.jsonl")
    assert sorted(r["row"] for r in records) == list(range(1, 151))
