"""Text from inputs and from models is inert where the tool writes it: no spreadsheet formula
in any CSV cell, no raw HTML in any Markdown export or report."""

from __future__ import annotations

import csv
from datetime import UTC
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from interviewer.cli import app
from interviewer.history.export import collect, render_export
from interviewer.history.store import HistoryStore
from interviewer.safe_text import markdown_text, spreadsheet_cell
from tests.batch_support import bank_rows, write_bank, write_csv
from tests.history_fakes import FAKE_INFO, START, Clock, graded, make_question

runner = CliRunner()
FORMULAS = ('=HYPERLINK("http://x")', "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(A1)", "\t=1", "\r=1")
HTML = '<img src=x onerror="alert(1)"><script>alert(2)</script>'


def _cells(path: Path) -> list[str]:
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return [cell for row in csv.reader(fh) for cell in row]


def _formula(cell: str) -> bool:
    if cell[:1] not in ("=", "+", "-", "@", "\t", "\r"):
        return False
    try:
        float(cell)
    except ValueError:
        return True
    return False


@pytest.mark.parametrize("value", FORMULAS)
def test_spreadsheet_cell_neutralises_formulas_and_keeps_numbers(value: str) -> None:
    assert not _formula(spreadsheet_cell(value))
    assert spreadsheet_cell(value).endswith(value.lstrip("\t\r")[1:])
    assert spreadsheet_cell("-3.5") == "-3.5"
    assert spreadsheet_cell(42) == 42
    assert spreadsheet_cell(None) == ""


def test_every_csv_grade_writes_is_formula_free(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    banks = write_bank(tmp_path / "banks")
    rows = bank_rows(len(FORMULAS))
    for row, formula in zip(rows, FORMULAS, strict=True):
        row["id"] = formula
        row["candidate"] = formula
    rows[0]["answer"] = ""  # a bad row: the errors file carries its id and source
    rows[1]["question_id"] = "=ghost()"
    source = write_csv(Path("=cmd.csv"), rows)
    result: Any = runner.invoke(app, ["grade", str(source), "--out", "out.jsonl", "--bank-dir",
                                      str(banks), "--grader", "offline"])  # fmt: skip
    assert result.exit_code == 2, result.output
    for name in ("out.summary.csv", "out.errors.csv"):
        cells = _cells(tmp_path / name)
        assert "'=cmd.csv" in cells
        assert [c for c in cells if _formula(c)] == []


def test_markdown_text_escapes_html() -> None:
    text = markdown_text(HTML + " & more")
    assert "<" not in text
    assert ">" not in text
    assert "&amp; more" in text


def test_history_markdown_export_carries_no_raw_html(tmp_path: Path) -> None:
    store = HistoryStore(tmp_path / "history.db", clock=Clock(), zone=UTC)
    try:
        question = make_question("q1", question=f"Explain {HTML}", key_points=[HTML, "two"])
        session = store.start_session(mode="practice", grader=FAKE_INFO)
        attempt = store.record_answer(session_id=session, question=question, answer=HTML)
        outcome = graded(70, question)
        assert outcome.grade is not None
        grade = outcome.grade.model_copy(update={"feedback": HTML, "factual_errors": [HTML]})
        store.record_outcome(attempt, outcome.model_copy(update={"grade": grade}))
        follow = store.record_answer(session_id=session, question=question, answer="x",
                                     kind="follow_up", parent_id=attempt, prompt=HTML)  # fmt: skip
        store.record_outcome(follow, graded(50, question))
        store.end_session(session, report={"verdict": HTML, "notes": [HTML]})
        text = render_export(collect(store, now=START), "md")
    finally:
        store.close()
    outside_fences = text.split("```")[::2]
    assert all("<img" not in part and "<script" not in part for part in outside_fences)
    assert "&lt;script&gt;" in text
    assert HTML in text  # the answer itself, verbatim inside its code fence


def test_batch_markdown_report_carries_no_raw_html(tmp_path: Path) -> None:
    banks = write_bank(tmp_path / "banks")
    rows = bank_rows(2)
    for row in rows:
        row["candidate"] = HTML
        row["answer"] = HTML + " " + row["answer"]
    source = write_csv(tmp_path / "in.csv", rows)
    out = tmp_path / "r.jsonl"
    result: Any = runner.invoke(app, ["grade", str(source), "--out", str(out), "--bank-dir",
                                      str(banks), "--grader", "offline"])  # fmt: skip
    assert result.exit_code == 0, result.output
    text = (tmp_path / "r.report.md").read_text(encoding="utf-8")
    assert "<img" not in text
    assert "<script" not in text
    assert "onerror" in text  # the text is kept, only made inert
