"""Statistics per topic and difficulty: what counts, means, best, trend and weekly series."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, timedelta
from pathlib import Path

import pytest

from interviewer.history.stats import compute_stats, review_overview, trend
from interviewer.history.store import HistoryStore
from tests.history_fakes import FAKE_INFO, START, Clock, graded, make_question, ungraded


@pytest.fixture
def store(tmp_path: Path) -> Iterator[tuple[HistoryStore, Clock]]:
    clock = Clock()
    s = HistoryStore(tmp_path / "history.db", clock=clock, zone=UTC)
    yield s, clock
    s.close()


def answer(
    store: HistoryStore,
    sid: str,
    qid: str,
    score: float | None,
    *,
    topic: str = "rag",
    difficulty: str = "medium",
    bank: str = "test",
    final: float | None = None,
) -> int:
    q = make_question(qid, topic=topic, difficulty=difficulty, bank=bank)
    attempt = store.record_answer(session_id=sid, question=q, answer="x")
    outcome = graded(score, q) if score is not None else ungraded()
    store.record_outcome(attempt, outcome, final_score=final)
    return attempt


def test_trend_compares_halves_and_skips_the_middle() -> None:
    assert trend([]) is None
    assert trend([50]) is None
    assert trend([40, 60]) == {"earlier_mean": 40.0, "later_mean": 60.0, "change": 20.0}
    # The middle score (100) belongs to neither half.
    assert trend([40, 100, 60]) == {"earlier_mean": 40.0, "later_mean": 60.0, "change": 20.0}
    assert trend([80, 70, 50, 40]) == {"earlier_mean": 75.0, "later_mean": 45.0, "change": -30.0}


def test_stats_per_topic_and_difficulty(store: tuple[HistoryStore, Clock]) -> None:
    s, clock = store
    sid = s.start_session(mode="practice", grader=FAKE_INFO)
    answer(s, sid, "r1", 40, difficulty="easy")
    clock.advance(days=7)
    answer(s, sid, "r2", 90, difficulty="hard", final=70)  # two hints: 70 counts
    answer(s, sid, "t1", None, topic="tuning")  # ungraded: counted, never averaged
    s.record_skip(session_id=sid, question=make_question("t2", topic="tuning"))
    clock.advance(days=7)
    answer(s, sid, "r1", 80, difficulty="easy")
    result = compute_stats(s, zone=UTC)

    totals = result["totals"]
    assert (totals["attempts"], totals["graded"], totals["ungraded"], totals["skipped"]) == (
        5,
        3,
        1,
        1,
    )
    assert totals["mean"] == round((40 + 70 + 80) / 3, 1)
    assert totals["best"] == 80
    assert totals["latest"] == 80
    assert totals["recent"] == [40.0, 70.0, 80.0]
    assert totals["trend"] == {"earlier_mean": 40.0, "later_mean": 80.0, "change": 40.0}
    assert [(w["week"], w["graded"], w["mean"]) for w in totals["weekly"]] == [
        ("2025-W10", 1, 40.0),
        ("2025-W11", 1, 70.0),
        ("2025-W12", 1, 80.0),
    ]

    by_topic = {g["topic"]: g for g in result["by_topic"]}
    assert list(by_topic) == ["rag", "tuning"]
    assert (by_topic["rag"]["attempts"], by_topic["rag"]["mean"], by_topic["rag"]["best"]) == (
        3,
        63.3,
        80,
    )
    assert by_topic["tuning"]["mean"] is None
    assert by_topic["tuning"]["trend"] is None
    assert (by_topic["tuning"]["ungraded"], by_topic["tuning"]["skipped"]) == (1, 1)

    assert [g["difficulty"] for g in result["by_difficulty"]] == ["easy", "medium", "hard"]
    easy = result["by_difficulty"][0]
    assert (easy["graded"], easy["mean"], easy["trend"]["change"]) == (2, 60.0, 40.0)
    pairs = [(g["topic"], g["difficulty"]) for g in result["by_topic_difficulty"]]
    assert pairs == [("rag", "easy"), ("rag", "hard"), ("tuning", "medium")]
    # Plain data all the way down.
    assert json.loads(json.dumps(result)) == result


def test_stats_count_the_latest_successful_grade_only(store: tuple[HistoryStore, Clock]) -> None:
    s, _ = store
    sid = s.start_session(mode="practice", grader=FAKE_INFO)
    q = make_question("r1")
    attempt = answer(s, sid, "r1", 30)
    s.record_outcome(attempt, graded(75, q))  # regraded
    s.record_outcome(attempt, ungraded())  # a failed regrade changes nothing
    totals = compute_stats(s, zone=UTC)["totals"]
    assert (totals["graded"], totals["mean"], totals["ungraded"]) == (1, 75.0, 0)


def test_stats_leave_out_follow_ups_and_batches(store: tuple[HistoryStore, Clock]) -> None:
    s, _ = store
    sid = s.start_session(mode="mock", grader=FAKE_INFO)
    parent = answer(s, sid, "r1", 60)
    q = make_question("r1")
    child = s.record_answer(
        session_id=sid, question=q, answer="y", kind="follow_up", parent_id=parent, prompt="?"
    )
    s.record_outcome(child, graded(0, q))
    batch = s.start_session(mode="batch", grader=FAKE_INFO)
    answer(s, batch, "r1", 100)
    totals = compute_stats(s, zone=UTC)["totals"]
    assert (totals["attempts"], totals["mean"]) == (1, 60.0)


def test_stats_filters(store: tuple[HistoryStore, Clock]) -> None:
    s, clock = store
    sid = s.start_session(mode="practice", grader=FAKE_INFO)
    answer(s, sid, "a1", 20, bank="alpha")
    clock.advance(days=3)
    answer(s, sid, "b1", 90, bank="beta", topic="eval")
    assert compute_stats(s, bank="beta")["totals"]["mean"] == 90.0
    assert compute_stats(s, topic="RAG")["totals"]["mean"] == 20.0
    assert compute_stats(s, since=START + timedelta(days=1))["totals"]["mean"] == 90.0
    assert compute_stats(s, until=START + timedelta(days=1))["totals"]["mean"] == 20.0
    empty = compute_stats(s, bank="nothing")
    assert empty["totals"]["attempts"] == 0
    assert empty["by_topic"] == []


def test_review_overview_splits_due_upcoming_and_new(store: tuple[HistoryStore, Clock]) -> None:
    s, clock = store
    sid = s.start_session(mode="practice", grader=FAKE_INFO)
    answer(s, sid, "weak", 10)  # Again: due tomorrow
    answer(s, sid, "strong", 95)  # Easy: due in a week or more
    answer(s, sid, "lost", None)  # ungraded: not scheduled, but not new either
    bank_questions = [make_question(q) for q in ("weak", "strong", "lost", "fresh")]
    now = clock.set_day(2)
    overview = review_overview(
        s.review_states(), bank_questions, now=now, seen=s.seen_question_ids()
    )
    assert [d.question_id for d in overview.due] == ["weak"]
    assert [d.question_id for d in overview.upcoming] == ["strong"]
    assert [n["question_id"] for n in overview.new] == ["fresh"]
    weak = overview.due[0]
    assert (weak.overdue, weak.last_rating, weak.in_bank) == (True, "again", True)
    assert weak.recall is not None
    assert 0 < weak.recall < 1
    # A scheduled question that left the bank is still listed.
    gone = review_overview(s.review_states(), [], now=now)
    assert [(d.question_id, d.in_bank) for d in gone.due] == [("weak", False)]
    assert json.loads(json.dumps(overview.to_dict()))["due"][0]["question_id"] == "weak"
