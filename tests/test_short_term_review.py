"""Short-term review: a failed question comes back minutes later, in `due` and `practice --due`."""

from __future__ import annotations

import re
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

from typer.testing import CliRunner

from interviewer.bank.library import load_library
from interviewer.cli import app
from interviewer.config import bank_paths, db_path, load_config
from interviewer.history.store import HistoryStore
from tests.history_fakes import FAKE_INFO, graded

runner = CliRunner()


def fail_llm_en_41(minutes_ago: float) -> None:
    """Record a failed (Again) answer to llm-en-41 given ``minutes_ago`` minutes ago."""
    library = load_library(bank_paths(load_config()))
    question = next(q for q in library.questions if q.id == "llm-en-41")
    moment = datetime.now(UTC) - timedelta(minutes=minutes_ago)
    with HistoryStore(db_path(), clock=lambda: moment) as store:
        sid = store.start_session(mode="practice", grader=FAKE_INFO)
        attempt = store.record_answer(session_id=sid, question=question, answer="no idea")
        store.record_outcome(attempt, graded(15, question))
        store.end_session(sid)


def test_due_shows_a_failed_question_coming_back_in_minutes(isolated_home: Path) -> None:
    fail_llm_en_41(minutes_ago=4)
    result = runner.invoke(app, ["due", "--bank", "llm-en"])
    assert result.exit_code == 0, result.output
    assert "Coming up: 1" in result.stdout
    assert "in 6 min" in result.stdout
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d", result.stdout), result.stdout
    assert "llm-en-41" in result.stdout


def test_practice_due_asks_a_failed_question_once_its_step_is_due(isolated_home: Path) -> None:
    fail_llm_en_41(minutes_ago=12)
    due = runner.invoke(app, ["due", "--bank", "llm-en"])
    assert "Due now: 1" in due.stdout, due.output
    result = runner.invoke(
        app,
        ["practice", "--due", "--bank", "llm-en", "-n", "1", "--follow-ups", "0"],
        input="A/B testing splits users randomly.\n.\n",
    )
    assert result.exit_code == 0, result.output
    conn = sqlite3.connect(db_path())
    asked = conn.execute("SELECT question_id FROM attempts ORDER BY id DESC LIMIT 1").fetchone()
    conn.close()
    assert asked == ("llm-en-41",)
