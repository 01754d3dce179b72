"""`interviewer history dispute`: a human grade beside the model's, and the one that counts."""

from __future__ import annotations

import json
from datetime import UTC
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from interviewer.cli import app
from interviewer.errors import HistoryError
from interviewer.history.scheduling import AGAIN, EASY
from interviewer.history.store import HistoryStore
from tests.history_fakes import FAKE_INFO, Clock, graded, make_question

runner = CliRunner()


def test_a_human_grade_counts_over_later_model_grades_in_stats_and_schedule(
    tmp_path: Path,
) -> None:
    clock = Clock()
    store = HistoryStore(tmp_path / "h.db", clock=clock, zone=UTC)
    q = make_question()
    sid = store.start_session(mode="practice", grader=FAKE_INFO)
    attempt = store.record_answer(session_id=sid, question=q, answer="x")
    store.record_outcome(attempt, graded(20, q))
    [failed] = store.review_states()
    assert failed.last_rating == AGAIN
    store.record_dispute(attempt, 95, "the grader missed the second half")
    [record] = store.attempts()
    assert record.score == 95
    assert record.grade is not None
    assert record.grade.human
    assert record.grade.note == "the grader missed the second half"
    [disputed] = store.review_states()
    assert (disputed.last_rating, disputed.review_count, disputed.lapses) == (EASY, 1, 0)
    clock.advance(days=1)
    store.record_outcome(attempt, graded(30, q))  # a later regrade does not override a person
    [record] = store.attempts()
    assert record.score == 95
    assert record.grade_count == 3
    [session] = store.sessions()
    assert session.mean_score == 95
    assert store.review_states() == [disputed]
    store.close()


@pytest.mark.parametrize("score", [-1, 100.5])
def test_a_dispute_score_is_0_to_100(tmp_path: Path, score: float) -> None:
    store = HistoryStore(tmp_path / "h.db")
    sid = store.start_session(mode="practice", grader=FAKE_INFO)
    attempt = store.record_answer(session_id=sid, question=make_question(), answer="x")
    with pytest.raises(HistoryError, match="0 to 100"):
        store.record_dispute(attempt, score)
    store.close()


@pytest.fixture
def attempt_id(isolated_home: Path) -> int:
    q = make_question("cli-q")
    with HistoryStore.open_default() as store:
        sid = store.start_session(mode="practice", grader=FAKE_INFO)
        attempt = store.record_answer(session_id=sid, question=q, answer="an answer")
        store.record_outcome(attempt, graded(35, q))
        store.end_session(sid)
    return attempt


def invoke(*args: str) -> Any:
    return runner.invoke(app, list(args))


def test_dispute_then_show_lists_the_human_grade_beside_the_models(attempt_id: int) -> None:
    result = invoke("history", "dispute", str(attempt_id), "--score", "80", "--note", "fair")
    assert result.exit_code == 0, result.output
    assert f"attempt {attempt_id}" in result.stdout
    shown = invoke("history", "show", str(attempt_id))
    assert shown.exit_code == 0, shown.output
    assert "human" in shown.stdout
    assert "Your grade" in shown.stdout
    assert "fair" in shown.stdout
    assert "35" in shown.stdout
    listed = json.loads(invoke("history", "--json").stdout)
    assert listed[0]["score"] == 80
    stats = json.loads(invoke("stats", "--json").stdout)
    assert "80" in json.dumps(stats)


@pytest.mark.parametrize("fmt", ["md", "html"])
def test_exports_show_the_human_grade_and_its_note(
    attempt_id: int, tmp_path: Path, fmt: str
) -> None:
    assert (
        invoke("history", "dispute", str(attempt_id), "--score", "80", "--note", "fair").exit_code
        == 0
    )
    out = tmp_path / f"h.{fmt}"
    result = invoke("export", "--format", fmt, "--out", str(out))
    assert result.exit_code == 0, result.output
    text = out.read_text(encoding="utf-8")
    assert "human" in text
    assert "fair" in text


def test_dispute_of_an_unknown_attempt_is_one_clear_error(attempt_id: int) -> None:
    result = invoke("history", "dispute", str(attempt_id + 100), "--score", "80")
    assert result.exit_code == 1
    assert f"No attempt {attempt_id + 100}" in result.stderr
    bad = invoke("history", "dispute", str(attempt_id), "--score", "120")
    assert bad.exit_code == 2, bad.output  # a usage error: out of range
