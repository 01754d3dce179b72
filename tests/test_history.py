"""HistoryStore: recording, grades with provenance, filters, follow-ups, secrets, dates."""

from __future__ import annotations

import sqlite3
import stat
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from interviewer.errors import HistoryError, InputError
from interviewer.grading.grade import GraderInfo
from interviewer.history.redact import redact_secrets
from interviewer.history.store import HistoryStore
from interviewer.history.times import parse_range, parse_when
from tests.history_fakes import (
    FAKE_INFO,
    START,
    Clock,
    graded,
    make_question,
    ungraded,
)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(tmp_path: Path, clock: Clock) -> Iterator[HistoryStore]:
    s = HistoryStore(tmp_path / "data" / "history.db", clock=clock)
    yield s
    s.close()


def test_open_default_uses_the_home_directory(isolated_home: Path) -> None:
    with HistoryStore.open_default() as store:
        assert store.path == isolated_home / "history.db"
    assert (isolated_home / "history.db").exists()


def test_open_default_honours_interviewer_db(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "elsewhere" / "mine.db"
    monkeypatch.setenv("INTERVIEWER_DB", str(target))
    with HistoryStore.open_default() as store:
        assert store.path == target
    assert target.exists()


def test_answer_is_committed_before_grading(store: HistoryStore) -> None:
    sid = store.start_session(mode="practice", grader=FAKE_INFO)
    q = make_question("q1", topic="rag")
    attempt_id = store.record_answer(
        session_id=sid, question=q, answer="my answer", hints_used=1, time_taken_ms=4200
    )
    # A second connection (another process, or the same user after a crash) sees it.
    with HistoryStore(store.path) as other:
        [seen] = other.attempts()
    assert seen.id == attempt_id
    assert seen.status == "pending"
    assert (seen.answer, seen.hints_used, seen.time_taken_ms) == ("my answer", 1, 4200)
    assert (seen.bank, seen.topic, seen.difficulty, seen.language) == (
        "test",
        "rag",
        "medium",
        "en",
    )
    assert seen.question_sha == q.sha
    assert seen.question_text == q.question


def test_outcome_rows_keep_provenance(store: HistoryStore) -> None:
    sid = store.start_session(mode="practice", grader=FAKE_INFO)
    q = make_question()
    attempt_id = store.record_answer(session_id=sid, question=q, answer="a", hints_used=2)
    grade_id = store.record_outcome(attempt_id, graded(80, q), final_score=60)
    [grade] = store.attempt(attempt_id).grades
    assert grade.id == grade_id
    assert (grade.score, grade.final_score, grade.effective_score) == (80, 60, 60)
    assert (grade.grader, grade.model, grade.endpoint, grade.prompt_version) == (
        "llm",
        "fake-model",
        "http://127.0.0.1:9/v1",
        "test-v1",
    )
    assert grade.settings == {"temperature": 0.0, "max_tokens": 512}
    assert (grade.prompt_tokens, grade.completion_tokens, grade.duration_ms) == (120, 30, 15)
    assert grade.raw_reply == '{"score": "as json"}'
    assert grade.question_sha == q.sha
    assert grade.session_id == sid
    full = grade.grade
    assert full is not None
    assert full.score == 80


def test_ungraded_is_recorded_as_such_never_as_zero(store: HistoryStore) -> None:
    sid = store.start_session(mode="practice", grader=FAKE_INFO)
    attempt_id = store.record_answer(session_id=sid, question=make_question(), answer="a")
    store.record_outcome(attempt_id, ungraded("truncated", "finish_reason=length"))
    [attempt] = store.attempts()
    assert attempt.status == "ungraded"
    assert attempt.score is None
    assert attempt.grade is not None
    assert (attempt.grade.ungraded_reason, attempt.grade.ungraded_detail) == (
        "truncated",
        "finish_reason=length",
    )
    assert store.review_states() == []


def test_regrade_keeps_every_grade_and_the_successful_one_counts(
    store: HistoryStore, clock: Clock
) -> None:
    sid = store.start_session(mode="practice", grader=FAKE_INFO)
    q = make_question()
    attempt_id = store.record_answer(session_id=sid, question=q, answer="a")
    store.record_outcome(attempt_id, ungraded())
    clock.advance(hours=1)
    store.record_outcome(attempt_id, graded(55, q))
    clock.advance(hours=1)
    # A later failed regrade must not hide the earlier successful grade.
    store.record_outcome(attempt_id, ungraded("unparseable", "bad json"))
    detail = store.attempt(attempt_id)
    assert [(g.graded, g.score) for g in detail.grades] == [
        (False, None),
        (True, 55),
        (False, None),
    ]
    assert detail.attempt.grade_count == 3
    assert detail.attempt.status == "graded"
    assert detail.attempt.score == 55
    assert store.attempts(ungraded=True) == []


def test_attempt_filters(store: HistoryStore, clock: Clock) -> None:
    sid = store.start_session(mode="practice", grader=FAKE_INFO)
    rag = make_question("r1", topic="RAG", bank="alpha")
    tune = make_question("t1", topic="tuning", difficulty="hard", bank="beta")
    first = store.record_answer(session_id=sid, question=rag, answer="one")
    store.record_outcome(first, graded(70, rag))
    clock.advance(days=2)
    second = store.record_answer(session_id=sid, question=tune, answer="two")
    store.record_outcome(second, ungraded())
    skip = store.record_skip(session_id=sid, question=rag)
    other = store.start_session(mode="mock", grader=FAKE_INFO)
    clock.advance(days=1)
    fourth = store.record_answer(session_id=other, question=rag, answer="four")

    def ids(**kw: object) -> list[int]:
        return [a.id for a in store.attempts(**kw)]  # type: ignore[arg-type]

    assert ids() == [fourth, skip, second, first]
    assert ids(oldest_first=True) == [first, second, skip, fourth]
    assert ids(bank="ALPHA") == [fourth, skip, first]
    assert ids(topic="rag") == [fourth, skip, first]
    assert ids(difficulty="hard") == [second]
    assert ids(ungraded=True) == [fourth, second]
    assert ids(session_id=other) == [fourth]
    assert ids(kinds=("skip",)) == [skip]
    assert ids(modes=("mock",)) == [fourth]
    assert ids(limit=2) == [fourth, skip]
    assert ids(since=START + timedelta(days=1)) == [fourth, skip, second]
    assert ids(until=START + timedelta(days=1)) == [first]
    assert ids(question_id="t1") == [second]


def test_follow_ups_hang_under_their_answer(store: HistoryStore) -> None:
    sid = store.start_session(mode="practice", grader=FAKE_INFO)
    q = make_question(follow_ups=["Why low rank?"])
    parent = store.record_answer(session_id=sid, question=q, answer="main answer")
    store.record_outcome(parent, graded(72, q))
    child = store.record_answer(
        session_id=sid,
        question=q,
        answer="because",
        kind="follow_up",
        parent_id=parent,
        prompt="Why low rank?",
    )
    store.record_outcome(child, graded(40, q))
    grandchild = store.record_answer(
        session_id=sid,
        question=q,
        answer="deeper",
        kind="follow_up",
        parent_id=child,
        prompt="And then?",
    )
    detail = store.attempt(parent)
    assert [f.attempt.id for f in detail.follow_ups] == [child]
    assert detail.follow_ups[0].attempt.prompt == "Why low rank?"
    assert [f.attempt.id for f in detail.follow_ups[0].follow_ups] == [grandchild]
    # A follow-up never drives the schedule: only the main answer was reviewed.
    [review] = store.review_states()
    assert review.review_count == 1
    assert [d.attempt.id for d in store.details(session_id=sid)] == [parent]
    assert [a.id for a in store.attempts(top_level=True)] == [parent]


def test_follow_up_needs_a_parent_that_exists(store: HistoryStore) -> None:
    sid = store.start_session(mode="practice", grader=FAKE_INFO)
    with pytest.raises(ValueError, match="parent_id"):
        store.record_answer(session_id=sid, question=make_question(), answer="x", kind="follow_up")
    with pytest.raises(HistoryError, match="No attempt 99"):
        store.record_answer(
            session_id=sid,
            question=make_question(),
            answer="x",
            kind="follow_up",
            parent_id=99,
            prompt="?",
        )
    assert store.attempts() == []


def test_unknown_session_and_attempt_are_history_errors(store: HistoryStore) -> None:
    with pytest.raises(HistoryError, match="No session"):
        store.record_answer(session_id="nope", question=make_question(), answer="x")
    with pytest.raises(HistoryError, match="No attempt 5"):
        store.record_outcome(5, ungraded())
    with pytest.raises(HistoryError, match="No attempt 5"):
        store.attempt(5)
    with pytest.raises(HistoryError, match="No session"):
        store.end_session("nope")


def test_sessions_report_and_counts(store: HistoryStore, clock: Clock) -> None:
    sid = store.start_session(mode="mock", grader=FAKE_INFO, settings={"minutes": 30})
    q1, q2 = make_question("a"), make_question("b")
    a1 = store.record_answer(session_id=sid, question=q1, answer="x", hints_used=1)
    store.record_outcome(a1, graded(80, q1), final_score=70)
    a2 = store.record_answer(session_id=sid, question=q2, answer="y")
    store.record_outcome(a2, graded(50, q2))
    store.record_skip(session_id=sid, question=q2)
    clock.advance(minutes=30)
    store.end_session(sid, report={"verdict": "lean hire", "revisit": ["b"]})
    [session] = store.sessions()
    assert (session.mode, session.answers, session.skips, session.graded) == ("mock", 2, 1, 2)
    assert session.mean_score == 60.0  # final scores: 70 (after a hint) and 50
    assert session.report == {"verdict": "lean hire", "revisit": ["b"]}
    assert session.settings == {"minutes": 30}
    assert session.ended_at == START + timedelta(minutes=30)
    assert store.resolve_session_id(sid[:6]) == sid


def test_session_prefix_must_be_unique_and_known(store: HistoryStore) -> None:
    with pytest.raises(HistoryError, match="not a session id"):
        store.resolve_session_id("zz!")
    with pytest.raises(HistoryError, match="No session"):
        store.resolve_session_id("abc")
    ids = {store.start_session(mode="practice", grader=FAKE_INFO) for _ in range(40)}
    first_chars = [i[0] for i in ids]
    shared = next(c for c in first_chars if first_chars.count(c) > 1)
    with pytest.raises(HistoryError, match="ambiguous"):
        store.resolve_session_id(shared)


def test_no_secret_reaches_the_database(store: HistoryStore) -> None:
    secret = "sk-live-abcdefghijklmnopqrstuvwxyz"
    info = GraderInfo(
        kind="llm",
        model="m",
        endpoint="http://127.0.0.1:1/v1",
        settings={
            "api_key": secret,
            "headers": {"Authorization": f"Bearer {secret}", "X-Trace": "ok"},
            "max_tokens": 900,
            "max_completion_tokens": 100,
            "token": "plain-token-value",
            "note": secret,
        },
    )
    sid = store.start_session(mode="practice", grader=info, settings={"password": "hunter2"})
    q = make_question()
    attempt_id = store.record_answer(session_id=sid, question=q, answer="a")
    outcome = graded(70, q, info=info)
    store.record_outcome(attempt_id, outcome)
    store.close()
    raw = b"".join(p.read_bytes() for p in store.path.parent.iterdir() if p.is_file())
    for leaked in (secret.encode(), b"hunter2", b"plain-token-value"):
        assert leaked not in raw
    with HistoryStore(store.path) as again:
        settings = again.attempt(attempt_id).grades[0].settings
    assert settings == {
        "headers": {"X-Trace": "ok"},
        "max_tokens": 900,
        "max_completion_tokens": 100,
        "note": "[redacted]",
    }


def test_redact_secrets_rules() -> None:
    data = {
        "API_KEY": "x",
        "apiKey": "x",
        "x-api-key": "x",
        "access_token": "x",
        "prompt_tokens": 5,
        "answer_token_budget": 3000,
        "token_param": "max_tokens",
        "client_secret": "x",
        "nested": [{"Authorization": "x", "keep": "Bearer abc.def"}],
        "model": "gpt",
    }
    assert redact_secrets(data) == {
        "prompt_tokens": 5,
        "answer_token_budget": 3000,
        "token_param": "max_tokens",
        "nested": [{"keep": "[redacted]"}],
        "model": "gpt",
    }


def test_question_snapshot_survives_bank_changes(store: HistoryStore) -> None:
    sid = store.start_session(mode="practice", grader=FAKE_INFO)
    q = make_question("gone", key_points=["alpha", "beta", "gamma"])
    attempt_id = store.record_answer(session_id=sid, question=q, answer="a")
    assert store.question_snapshot(q.sha) == q
    assert store.attempt(attempt_id).question == q
    assert store.question_snapshot("0" * 16) is None


def test_a_skip_cannot_be_graded(store: HistoryStore) -> None:
    sid = store.start_session(mode="practice", grader=FAKE_INFO)
    skip = store.record_skip(session_id=sid, question=make_question())
    with pytest.raises(ValueError, match="skipped"):
        store.record_outcome(skip, graded(50))
    assert store.attempt(skip).grades == []


def test_one_store_shared_by_threads(store: HistoryStore) -> None:
    sid = store.start_session(mode="batch", grader=FAKE_INFO)
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            for i in range(20):
                q = make_question(f"t{n}-{i}")
                attempt = store.record_answer(session_id=sid, question=q, answer="x")
                store.record_outcome(attempt, graded(60, q))
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(store.attempts()) == 80
    # Batch sessions grade other people's answers: they never schedule reviews.
    assert store.review_states() == []
    assert store.seen_question_ids() == set()


def test_timestamps_are_utc_text_that_sorts(store: HistoryStore, clock: Clock) -> None:
    sid = store.start_session(mode="practice", grader=FAKE_INFO)
    store.record_answer(session_id=sid, question=make_question(), answer="x")
    conn = sqlite3.connect(store.path)
    [(created,)] = conn.execute("SELECT created_at FROM attempts").fetchall()
    assert created == "2025-03-03T09:00:00.000000+00:00"


def test_parse_when() -> None:
    now = datetime(2025, 3, 10, 12, 0, tzinfo=UTC)
    local_day = datetime(2025, 3, 1).astimezone()
    assert parse_when("2025-03-01", option="--since") == local_day
    assert parse_when("2025-03-01", option="--until", end=True) == local_day + timedelta(days=1)
    assert parse_when("7d", option="--since", now=now) == now - timedelta(days=7)
    assert parse_when("2w", option="--since", now=now) == now - timedelta(weeks=2)
    assert parse_when("12h", option="--since", now=now) == now - timedelta(hours=12)
    assert parse_when("2025-03-01T14:30:00+00:00", option="--since") == datetime(
        2025, 3, 1, 14, 30, tzinfo=UTC
    )
    with pytest.raises(InputError, match="--since 'last tuesday' is not a date"):
        parse_when("last tuesday", option="--since")


def test_parse_range() -> None:
    now = datetime(2025, 3, 10, 12, 0, tzinfo=UTC)
    local_day = datetime(2025, 3, 1).astimezone()
    assert parse_range(None, None) == (None, None)
    assert parse_range("7d", None, now=now) == (now - timedelta(days=7), None)
    # A bare --until date includes that whole day.
    assert parse_range(None, "2025-03-01") == (None, local_day + timedelta(days=1))
    assert parse_range("2025-03-01", "2025-03-01") == (local_day, local_day + timedelta(days=1))
    assert parse_range("2d", "1d", now=now) == (now - timedelta(days=2), now - timedelta(days=1))
    with pytest.raises(InputError, match=r"--until \(2d\) must come after --since \(1d\)"):
        parse_range("1d", "2d", now=now)


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX permissions")
def test_new_database_is_private(tmp_path: Path) -> None:
    path = tmp_path / "private.db"
    HistoryStore(path).close()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
