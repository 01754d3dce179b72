"""`grade` writes only to files that are its own: never the history database, an input or any
other file that happens to sit where an output would go.

A results file is recognised by its content (its lines are result records); the summary CSV,
errors CSV, reports and Batch API exports by how they begin. Anything else is refused with one
line naming the file and the fix, exit 1, and the file is left byte for byte as it was.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from interviewer.cli import app
from tests.batch_support import bank_rows, read_results, write_bank, write_csv

runner = CliRunner()


def grade(*args: str | Path) -> Any:
    return runner.invoke(app, ["grade", *[str(a) for a in args]])


@pytest.fixture
def setup(tmp_path: Path) -> dict[str, Path]:
    rows = bank_rows(3)
    rows[1]["question_id"] = "ghost"  # one bad row, so that an errors file is written
    return {
        "banks": write_bank(tmp_path / "banks"),
        "csv": write_csv(tmp_path / "answers.csv", rows),
        "dir": tmp_path,
    }


def _offline(setup: dict[str, Path], out: Path, *extra: str | Path) -> Any:
    return grade(setup["csv"], "--out", out, "--bank-dir", setup["banks"], "--grader", "offline",
                 *extra)  # fmt: skip


def _history_db(path: Path) -> Path:
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE attempts (id INTEGER PRIMARY KEY, answer TEXT)")
    conn.execute("INSERT INTO attempts (answer) VALUES ('a long answer')")
    conn.commit()
    conn.close()
    return path


def _refused(result: Any, path: Path) -> str:
    assert result.exit_code == 1, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    message = " ".join(result.stderr.split())
    assert str(path) in message
    assert "Traceback" not in result.output
    return message


@pytest.mark.parametrize(
    "content",
    [
        b"",  # replaced below by a real SQLite database
        b"id,answer\n1,keep me\n2,and me",  # a torn-looking last line must not be cut
        b'{"not": "a result"}\n{"half": ',
        b"notes without a newline",
    ],
)
def test_out_that_is_not_a_results_file_is_refused_untouched(
    setup: dict[str, Path], content: bytes
) -> None:
    out = setup["dir"] / "history.db"
    if content:
        out.write_bytes(content)
    else:
        _history_db(out)
    before = out.read_bytes()
    message = _refused(_offline(setup, out), out)
    assert "not a results file" in message
    assert "--out" in message
    assert out.read_bytes() == before
    assert not (setup["dir"] / "history.summary.csv").exists()


def test_an_existing_results_file_and_an_empty_file_are_used(setup: dict[str, Path]) -> None:
    out = setup["dir"] / "results.jsonl"
    out.touch()
    first = _offline(setup, out)
    assert first.exit_code == 2, first.output  # one bad row
    # a results file killed mid-line is still ours: the torn line is cut, the run resumes
    with out.open("ab") as fh:
        fh.write(b'{"key":"abc","hash":"')
    again = _offline(setup, out)
    assert again.exit_code == 2, again.output
    assert len(read_results(out)) == 2


@pytest.mark.parametrize("which", ["summary.csv", "errors.csv", "report.md", "report.html"])
def test_reports_never_replace_a_foreign_file(setup: dict[str, Path], which: str) -> None:
    out = setup["dir"] / "results.jsonl"
    foreign = setup["dir"] / f"results.{which}"
    foreign.write_text("my own notes\n", encoding="utf-8")
    message = _refused(_offline(setup, out), foreign)
    assert "not written by `interviewer grade`" in message
    assert foreign.read_text(encoding="utf-8") == "my own notes\n"
    assert not out.exists()


def test_reports_of_an_earlier_run_are_replaced(setup: dict[str, Path]) -> None:
    out = setup["dir"] / "results.jsonl"
    assert _offline(setup, out).exit_code == 2
    assert _offline(setup, out, "--retry-ungraded").exit_code == 2
    names = sorted(p.name for p in setup["dir"].iterdir() if p.name.startswith("results."))
    assert names == [
        "results.errors.csv",
        "results.gradebook.csv",  # the rows name candidates
        "results.jsonl",
        "results.report.html",
        "results.report.md",
        "results.summary.csv",
    ]


def test_export_never_replaces_a_foreign_file(setup: dict[str, Path]) -> None:
    target = _history_db(setup["dir"] / "batch.jsonl")
    before = target.read_bytes()
    result = grade(setup["csv"], "--out", setup["dir"] / "r.jsonl", "--bank-dir", setup["banks"],
                   "--grader", "llm", "--base-url", "http://127.0.0.1:9/v1", "--model", "m",
                   "--export-batch", target)  # fmt: skip
    _refused(result, target)
    assert target.read_bytes() == before


def test_report_dir_that_is_a_file_is_one_line(setup: dict[str, Path]) -> None:
    blocker = setup["dir"] / "reports"
    blocker.write_text("x", encoding="utf-8")
    result = _offline(setup, setup["dir"] / "r.jsonl", "--report-dir", blocker)
    message = _refused(result, blocker)
    assert "--report-dir" in message
    assert not (setup["dir"] / "r.jsonl").exists()


def test_history_export_never_replaces_a_database(tmp_path: Path) -> None:
    from interviewer.errors import HistoryError
    from interviewer.history.export import write_export

    target = _history_db(tmp_path / "history.db")
    before = target.read_bytes()
    with pytest.raises(HistoryError) as caught:
        write_export("# Interview history\n", target)
    assert str(target) in str(caught.value)
    assert "--out" in str(caught.value)
    assert target.read_bytes() == before
    plain = tmp_path / "old.md"
    plain.write_text("an earlier export\n", encoding="utf-8")
    write_export("# Interview history\n", plain)
    assert plain.read_text(encoding="utf-8") == "# Interview history\n"


def test_eval_out_that_is_not_a_results_file_is_refused_untouched(tmp_path: Path) -> None:
    from tests.conftest import REPO

    sample = REPO / "tests" / "data" / "offline" / "saf-en-sample.jsonl"
    out = _history_db(tmp_path / "history.db")
    before = out.read_bytes()
    result = runner.invoke(app, ["eval", str(sample), "--grader", "offline", "--out", str(out),
                                 "--bootstrap", "0"])  # fmt: skip
    message = _refused(result, out)
    assert "not a results file" in message
    assert out.read_bytes() == before


def test_a_last_line_that_is_not_a_record_is_not_cut(setup: dict[str, Path]) -> None:
    out = setup["dir"] / "results.jsonl"
    assert _offline(setup, out).exit_code == 2
    with out.open("ab") as fh:
        fh.write(b"my notes, typed at the end without a newline")
    before = out.read_bytes()
    message = _refused(_offline(setup, out), out)
    assert "last line" in message
    assert out.read_bytes() == before
