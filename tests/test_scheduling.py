"""Spaced repetition: the rating rule, replay, and a scripted week of practice."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, timedelta
from pathlib import Path

import pytest

from interviewer.history import scheduling
from interviewer.history.scheduling import AGAIN, EASY, GOOD, HARD, ReviewEvent, rating_for_score
from interviewer.history.stats import compute_stats
from interviewer.history.store import HistoryStore
from tests.history_fakes import FAKE_INFO, START, Clock, graded, make_question, ungraded


@pytest.mark.parametrize(
    ("score", "rating"),
    [
        (0, AGAIN),
        (39.9, AGAIN),
        (40, HARD),
        (59.9, HARD),
        (60, GOOD),
        (84.9, GOOD),
        (85, EASY),
        (100, EASY),
    ],
)
def test_rating_rule(score: float, rating: int) -> None:
    assert rating_for_score(score) == rating


def test_replay_is_order_independent_and_deterministic() -> None:
    events = [
        ReviewEvent(START, GOOD),
        ReviewEvent(START + timedelta(days=2), AGAIN),
        ReviewEvent(START + timedelta(days=3), GOOD),
    ]
    forward = scheduling.replay(events, UTC)
    backward = scheduling.replay(list(reversed(events)), UTC)
    assert forward is not None
    assert forward == backward
    assert (forward.review_count, forward.lapses, forward.last_rating) == (3, 1, GOOD)
    assert forward.last_review_at == START + timedelta(days=3)
    assert json.loads(forward.card_json)["last_review"].startswith("2025-03-06T09:00")
    assert scheduling.replay([], UTC) is None


def test_good_answers_fall_due_on_day_starts_and_grow_with_better_ratings() -> None:
    dues = {}
    for rating in (GOOD, EASY):
        state = scheduling.replay([ReviewEvent(START, rating)], UTC)
        assert state is not None
        assert (state.due.hour, state.due.minute) == (0, 0)
        dues[rating] = state.due
    assert START + timedelta(days=1) <= dues[GOOD] < dues[EASY]


@pytest.mark.parametrize(("rating", "minutes"), [(AGAIN, 10), (HARD, 15)])
def test_a_failed_new_question_comes_back_minutes_later(rating: int, minutes: int) -> None:
    state = scheduling.replay([ReviewEvent(START, rating)], UTC)
    assert state is not None
    assert state.due == START + timedelta(minutes=minutes)


def test_a_forgotten_question_relearns_in_minutes_then_graduates_to_days() -> None:
    known = [ReviewEvent(START, GOOD)]
    first = scheduling.replay(known, UTC)
    assert first is not None
    forgotten_at = first.due + timedelta(hours=10)
    known.append(ReviewEvent(forgotten_at, AGAIN))
    relearning = scheduling.replay(known, UTC)
    assert relearning is not None
    assert relearning.due == forgotten_at + timedelta(minutes=10)
    assert relearning.lapses == 1
    known.append(ReviewEvent(forgotten_at + timedelta(minutes=25), GOOD))
    relearned = scheduling.replay(known, UTC)
    assert relearned is not None
    assert relearned.due > forgotten_at + timedelta(hours=12)
    assert (relearned.due.hour, relearned.due.minute) == (0, 0)


def test_recall_falls_as_time_passes() -> None:
    state = scheduling.replay([ReviewEvent(START, GOOD)], UTC)
    assert state is not None
    soon = scheduling.retrievability(state.card_json, START + timedelta(days=1))
    later = scheduling.retrievability(state.card_json, START + timedelta(days=30))
    assert 1.0 >= soon > later > 0.0


@pytest.fixture
def week(tmp_path: Path) -> Iterator[tuple[HistoryStore, Clock, dict[str, int]]]:
    """A scripted week: two practice sessions, a skip, an ungraded answer regraded later."""
    clock = Clock()
    store = HistoryStore(tmp_path / "history.db", clock=clock, zone=UTC)
    qs = {
        "easy1": make_question("easy1", topic="rag", difficulty="easy"),
        "hard1": make_question("hard1", topic="rag", difficulty="hard"),
        "skip1": make_question("skip1", topic="tuning", difficulty="medium"),
        "lost1": make_question("lost1", topic="tuning", difficulty="medium"),
        "good1": make_question("good1", topic="eval", difficulty="medium"),
        "fu1": make_question("fu1", topic="eval", difficulty="hard"),
    }
    ids: dict[str, int] = {}

    def answer(sid: str, qid: str, score: float | None, minute: int) -> int:
        clock.now = clock.now.replace(minute=minute)
        attempt = store.record_answer(session_id=sid, question=qs[qid], answer=f"{qid} text")
        store.record_outcome(attempt, graded(score, qs[qid]) if score is not None else ungraded())
        return attempt

    # Day 0, 09:00
    clock.set_day(0)
    day0 = store.start_session(mode="practice", grader=FAKE_INFO)
    ids["easy1"] = answer(day0, "easy1", 92, 0)  # Easy
    ids["hard1"] = answer(day0, "hard1", 50, 1)  # Hard
    clock.now = clock.now.replace(minute=2)
    store.record_skip(session_id=day0, question=qs["skip1"])  # Again
    ids["lost1"] = answer(day0, "lost1", None, 3)  # endpoint failed: no review
    ids["good1"] = answer(day0, "good1", 70, 4)  # Good
    # A follow-up answer graded 10 must not count as a review of its question.
    parent = answer(day0, "fu1", 88, 5)
    follow = store.record_answer(
        session_id=day0,
        question=qs["fu1"],
        answer="meh",
        kind="follow_up",
        parent_id=parent,
        prompt="And the trade-offs?",
    )
    store.record_outcome(follow, graded(10, qs["fu1"]))
    store.end_session(day0)
    yield store, clock, ids
    store.close()


def test_scripted_days_give_the_expected_due_lists(
    week: tuple[HistoryStore, Clock, dict[str, int]],
) -> None:
    store, clock, ids = week
    # Learning steps: the skip (Again, 10 min) and the Hard answer (15 min) come back the
    # same day; the ungraded one is not scheduled at all.
    assert store.due_question_ids(clock.set_day(0, 9, 11)) == []
    assert store.due_question_ids(clock.set_day(0, 9, 13)) == ["skip1"]
    assert store.due_question_ids(clock.set_day(0, 20)) == ["skip1", "hard1"]
    assert store.due_question_ids(clock.set_day(1, 8)) == ["skip1", "hard1"]
    assert "lost1" not in {r.question_id for r in store.review_states()}

    # Day 1, 10:00: practise what was due; re-grade the lost answer (it was given on day 0).
    clock.set_day(1, 10)
    day1 = store.start_session(mode="practice", grader=FAKE_INFO)
    q_hard = make_question("hard1", topic="rag", difficulty="hard")
    q_skip = make_question("skip1", topic="tuning", difficulty="medium")
    a = store.record_answer(session_id=day1, question=q_hard, answer="better")
    store.record_outcome(a, graded(80, q_hard))  # Good after Hard: pushed days out
    clock.now = clock.now.replace(minute=1)
    a = store.record_answer(session_id=day1, question=q_skip, answer="still weak")
    store.record_outcome(a, graded(30, q_skip))  # Again: ten minutes later
    store.record_outcome(ids["lost1"], graded(65, make_question("lost1", topic="tuning")))
    store.end_session(day1)

    assert store.due_question_ids(clock.set_day(1, 10, 10)) == []
    assert store.due_question_ids(clock.set_day(1, 23)) == ["skip1"]
    # Day 2 begins: the Again of day 1 (most overdue), then the Good answers of day 0
    # (incl. the regraded one).
    assert store.due_question_ids(clock.set_day(2, 7)) == ["skip1", "good1", "lost1"]
    later = store.due_question_ids(clock.set_day(10, 7))
    assert set(later) == {"easy1", "fu1", "good1", "hard1", "lost1", "skip1"}
    # Most overdue first.
    dues = {r.question_id: r.due for r in store.review_states()}
    assert [dues[q] for q in later] == sorted(dues[q] for q in later)
    assert dues["easy1"] > dues["hard1"] > dues["skip1"]
    reviews = {r.question_id: r for r in store.review_states()}
    assert (reviews["skip1"].review_count, reviews["skip1"].lapses) == (2, 2)
    assert reviews["fu1"].review_count == 1  # the follow-up did not count


def test_scripted_days_give_the_expected_stats(
    week: tuple[HistoryStore, Clock, dict[str, int]],
) -> None:
    store, _, _ = week
    stats = compute_stats(store, zone=UTC)
    totals = stats["totals"]
    # 6 main attempts: 4 graded, 1 ungraded (lost1), 1 skipped; follow-ups not counted.
    assert (totals["attempts"], totals["graded"], totals["ungraded"], totals["skipped"]) == (
        6,
        4,
        1,
        1,
    )
    assert totals["mean"] == round((92 + 50 + 70 + 88) / 4, 1)
    assert totals["best"] == 92
    topics = {t["topic"]: t for t in stats["by_topic"]}
    assert topics["rag"]["mean"] == 71.0
    assert topics["tuning"]["mean"] is None
    assert (topics["tuning"]["skipped"], topics["tuning"]["ungraded"]) == (1, 1)


def test_ungraded_and_batch_never_touch_the_schedule(tmp_path: Path) -> None:
    clock = Clock()
    store = HistoryStore(tmp_path / "h.db", clock=clock, zone=UTC)
    q = make_question()
    practice = store.start_session(mode="practice", grader=FAKE_INFO)
    attempt = store.record_answer(session_id=practice, question=q, answer="x")
    store.record_outcome(attempt, ungraded("refused", "policy"))
    batch = store.start_session(mode="batch", grader=FAKE_INFO)
    attempt = store.record_answer(session_id=batch, question=q, answer="y")
    store.record_outcome(attempt, graded(10, q))
    assert store.review_states() == []
    assert store.due_question_ids(clock.set_day(30)) == []
    store.close()


def test_regrade_replaces_a_review_instead_of_adding_one(tmp_path: Path) -> None:
    clock = Clock()
    store = HistoryStore(tmp_path / "h.db", clock=clock, zone=UTC)
    q = make_question()
    sid = store.start_session(mode="practice", grader=FAKE_INFO)
    attempt = store.record_answer(session_id=sid, question=q, answer="x")
    store.record_outcome(attempt, graded(20, q))  # Again
    [before] = store.review_states()
    clock.advance(days=5)
    store.record_outcome(attempt, graded(95, q))  # the regrade says Easy
    [after] = store.review_states()
    assert (after.review_count, after.last_rating, after.lapses) == (1, EASY, 0)
    assert after.due > before.due
    # Rebuilding from scratch gives the same state.
    store.rebuild_reviews()
    assert store.review_states() == [after]
    store.close()
