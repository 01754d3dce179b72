"""Schema migrations and data safety: blank and old databases, newer ones, concurrency, crashes."""

from __future__ import annotations

import hashlib
import os
import sqlite3
import subprocess
import sys
import threading
from contextlib import ExitStack
from pathlib import Path

import pytest

from interviewer.errors import HistoryError
from interviewer.history import migrations
from interviewer.history.store import HistoryStore
from tests.conftest import REPO
from tests.history_fakes import FAKE_INFO, Clock, graded, make_question
from tests.processes import child

EXPECTED_COLUMNS = {
    "_migrations": ["name", "applied_at"],
    "sessions": [
        "id",
        "mode",
        "started_at",
        "ended_at",
        "grader",
        "model",
        "endpoint",
        "prompt_version",
        "grader_json",
        "settings_json",
        "report_json",
        "app_version",
    ],
    "question_versions": ["sha", "question_id", "bank", "question_json", "first_seen_at"],
    "attempts": [
        "id",
        "session_id",
        "kind",
        "parent_id",
        "question_id",
        "bank",
        "topic",
        "difficulty",
        "language",
        "question_sha",
        "prompt",
        "answer",
        "hints_used",
        "time_taken_ms",
        "created_at",
    ],
    "grades": [
        "id",
        "attempt_id",
        "session_id",
        "created_at",
        "graded",
        "score",
        "final_score",
        "grade_json",
        "ungraded_reason",
        "ungraded_detail",
        "grader",
        "model",
        "endpoint",
        "prompt_version",
        "settings_json",
        "question_sha",
        "raw_reply",
        "prompt_tokens",
        "completion_tokens",
        "tokens_estimated",
        "duration_ms",
        "samples_json",
        "notices_json",
    ],
    "reviews": [
        "question_id",
        "bank",
        "card_json",
        "due",
        "last_rating",
        "last_review_at",
        "review_count",
        "lapses",
        "updated_at",
    ],
}
ALL_NAMES = ["m001_initial", "m002_grades_and_follow_ups", "m003_review_state"]

# The schema of the first release, frozen here on purpose: if someone edits m001 in the
# package, databases in the wild still look like this, and this test keeps migrating them.
M001_SQL = [
    """CREATE TABLE sessions (id TEXT PRIMARY KEY, mode TEXT NOT NULL, started_at TEXT NOT NULL,
       ended_at TEXT, grader TEXT, model TEXT)""",
    """CREATE TABLE attempts (id INTEGER PRIMARY KEY,
       session_id TEXT NOT NULL REFERENCES sessions(id), question_id TEXT NOT NULL, bank TEXT,
       topic TEXT, difficulty TEXT, question_sha TEXT, answer TEXT NOT NULL,
       created_at TEXT NOT NULL, score REAL, grade_json TEXT, ungraded_reason TEXT,
       raw_reply TEXT, graded_at TEXT)""",
    "CREATE INDEX attempts_session ON attempts(session_id)",
    "CREATE TABLE _migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)",
    "INSERT INTO _migrations VALUES ('m001_initial', '2025-01-01T00:00:00.000000+00:00')",
]
OLD_GRADE = (
    '{"score": 81.0, "criteria": [], "key_points": [], "feedback": "good",'
    ' "factual_errors": [], "stronger_answer": "", "follow_ups": [], "reference_issues": [],'
    ' "dropped_quotes": 0, "estimate": true}'
)


def columns(conn: sqlite3.Connection) -> dict[str, list[str]]:
    tables = [
        r[0]
        for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        )
    ]
    return {t: [c[1] for c in conn.execute(f"PRAGMA table_info('{t}')")] for t in tables}


def file_sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def build_m001_db(path: Path) -> None:
    conn = sqlite3.connect(path)
    for statement in M001_SQL:
        conn.execute(statement)
    conn.executemany(
        "INSERT INTO sessions VALUES (?, ?, ?, ?, ?, ?)",
        [
            ("s1", "practice", "2025-01-05T09:00:00.000000+00:00", None, "offline", None),
            ("s2", "practice", "2025-01-06T09:00:00.000000+00:00", None, "llm", "qwen2.5"),
        ],
    )
    conn.executemany(
        "INSERT INTO attempts (id, session_id, question_id, bank, topic, difficulty,"
        " question_sha, answer, created_at, score, grade_json, ungraded_reason, raw_reply,"
        " graded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            # graded, ungraded (endpoint failed), and never graded (crash before grading)
            (1, "s1", "llm-41", "llm", "eval", "medium", "abc", "answer one",
             "2025-01-05T09:01:00.000000+00:00", 81.0, OLD_GRADE, None, None,
             "2025-01-05T09:01:05.000000+00:00"),
            (2, "s2", "llm-42", "llm", "tuning", "easy", "def", "answer two",
             "2025-01-06T09:01:00.000000+00:00", None, None, "endpoint_error", None,
             "2025-01-06T09:01:09.000000+00:00"),
            (3, "s2", "llm-43", "llm", "tuning", "hard", "ghi", "answer three",
             "2025-01-06T09:05:00.000000+00:00", None, None, None, None, None),
        ],
    )  # fmt: skip
    conn.commit()
    conn.close()


def test_blank_database_gets_exactly_the_current_schema(tmp_path: Path) -> None:
    path = tmp_path / "new" / "history.db"
    HistoryStore(path).close()
    conn = sqlite3.connect(path)
    assert columns(conn) == EXPECTED_COLUMNS
    names = [r[0] for r in conn.execute("SELECT name FROM _migrations ORDER BY rowid")]
    assert names == ALL_NAMES == migrations.known_names()
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA foreign_key_check").fetchall() == []


def test_reopening_applies_nothing(tmp_path: Path) -> None:
    path = tmp_path / "history.db"
    HistoryStore(path).close()
    conn = sqlite3.connect(path, isolation_level=None)
    assert migrations.migrate(conn) == []
    assert migrations.pending_names(conn) == []


def test_m001_database_is_migrated_keeping_every_grade(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    build_m001_db(path)
    with HistoryStore(path, clock=Clock()) as store:
        attempts = {a.id: a for a in store.attempts()}
        assert {i: a.status for i, a in attempts.items()} == {
            1: "graded",
            2: "ungraded",
            3: "pending",
        }
        old = store.attempt(1)
        assert [g.score for g in old.grades] == [81.0]
        assert old.grades[0].grader == "offline"
        grade = old.grades[0].grade
        assert grade is not None
        assert grade.feedback == "good"
        assert store.attempt(2).grades[0].ungraded_reason == "endpoint_error"
        assert store.attempt(2).grades[0].model == "qwen2.5"
        assert attempts[1].kind == "answer"
        assert attempts[1].hints_used == 0
        assert {a.id for a in store.attempts(ungraded=True)} == {2, 3}
        # Review state is derived from the migrated grades: the graded answer is scheduled.
        assert [r.question_id for r in store.review_states()] == ["llm-41"]
    conn = sqlite3.connect(path)
    assert columns(conn) == EXPECTED_COLUMNS
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert conn.execute("PRAGMA foreign_key_check").fetchall() == []


def test_m001_database_migrates_to_the_same_schema_sql_as_a_blank_one(tmp_path: Path) -> None:
    build_m001_db(tmp_path / "old.db")
    HistoryStore(tmp_path / "old.db").close()
    HistoryStore(tmp_path / "new.db").close()

    def schema(path: Path) -> list[tuple[str, str]]:
        conn = sqlite3.connect(path)
        rows = conn.execute(
            "SELECT type, name FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY name"
        ).fetchall()
        conn.close()
        return rows

    assert schema(tmp_path / "old.db") == schema(tmp_path / "new.db")


def test_partly_migrated_database_gets_only_the_missing_steps(tmp_path: Path) -> None:
    path = tmp_path / "mid.db"
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute("BEGIN")
    conn.execute("CREATE TABLE _migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)")
    for step in migrations.MIGRATIONS[:2]:
        step(conn)
        conn.execute("INSERT INTO _migrations VALUES (?, 'then')", (step.__name__,))
    conn.execute("COMMIT")
    assert migrations.migrate(conn) == ["m003_review_state"]
    assert columns(conn) == EXPECTED_COLUMNS


def test_newer_database_is_refused_and_left_untouched(tmp_path: Path) -> None:
    path = tmp_path / "history.db"
    with HistoryStore(path) as store:
        sid = store.start_session(mode="practice", grader=FAKE_INFO)
        store.record_answer(session_id=sid, question=make_question(), answer="hello")
    conn = sqlite3.connect(path)
    conn.execute("INSERT INTO _migrations VALUES ('m004_from_the_future', 'later')")
    conn.commit()
    conn.close()
    before = file_sha(path)
    with pytest.raises(HistoryError, match="newer interviewer") as info:
        HistoryStore(path)
    assert "m004_from_the_future" in str(info.value)
    assert "upgrade" in str(info.value)
    assert file_sha(path) == before


def test_not_a_database_is_a_history_error(tmp_path: Path) -> None:
    path = tmp_path / "history.db"
    path.write_bytes(b"this is not sqlite at all, just some text " * 50)
    with pytest.raises(HistoryError, match="not a readable SQLite database"):
        HistoryStore(path)


def test_two_stores_opening_a_blank_database_at_once_migrate_it_once(tmp_path: Path) -> None:
    path = tmp_path / "history.db"
    errors: list[BaseException] = []
    barrier = threading.Barrier(4)

    def open_store() -> None:
        try:
            barrier.wait()
            HistoryStore(path).close()
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=open_store) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    conn = sqlite3.connect(path)
    assert [r[0] for r in conn.execute("SELECT name FROM _migrations")] == ALL_NAMES


WRITER = """
import sys
from pathlib import Path
from interviewer.history.store import HistoryStore
from tests.processes import child
from tests.history_fakes import FAKE_INFO, graded, make_question

path, tag, count, go = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3]), Path(sys.argv[4])
store = HistoryStore(path)
while not go.exists():
    pass
sid = store.start_session(mode="practice", grader=FAKE_INFO, settings={"writer": tag})
for i in range(count):
    q = make_question(f"{tag}-{i % 5}")
    attempt = store.record_answer(session_id=sid, question=q, answer=f"{tag} answer {i}")
    store.record_outcome(attempt, graded(50 + i % 40, q), final_score=50 + i % 40)
store.end_session(sid, report={"writer": tag})
store.close()
print("done", tag)
"""


@pytest.mark.slow
def test_two_processes_writing_at_the_same_time_both_succeed(tmp_path: Path) -> None:
    path = tmp_path / "history.db"
    HistoryStore(path).close()
    go = tmp_path / "go"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    pipes = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE}
    with ExitStack() as stack:
        procs = [
            stack.enter_context(
                child(
                    [sys.executable, "-c", WRITER, str(path), tag, "60", str(go)],
                    cwd=REPO,
                    env=env,
                    text=True,
                    **pipes,
                )
            )
            for tag in ("alpha", "beta")
        ]
        go.touch()
        results = [p.communicate(timeout=120) for p in procs]
    for proc, (out, err) in zip(procs, results, strict=True):
        assert proc.returncode == 0, err
        assert out.startswith("done")
    with HistoryStore(path) as store:
        attempts = store.attempts()
        assert len(attempts) == 120
        assert all(a.status == "graded" for a in attempts)
        assert {s.settings["writer"] for s in store.sessions()} == {"alpha", "beta"}
        assert len(store.review_states()) == 10
    conn = sqlite3.connect(path)
    assert conn.execute("SELECT COUNT(*) FROM grades").fetchone()[0] == 120
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_threads_with_separate_connections_interleave_writes(tmp_path: Path) -> None:
    path = tmp_path / "history.db"
    HistoryStore(path).close()
    errors: list[BaseException] = []

    def write(tag: str) -> None:
        try:
            with HistoryStore(path) as store:
                sid = store.start_session(mode="practice", grader=FAKE_INFO)
                for i in range(25):
                    q = make_question(f"{tag}{i % 3}")
                    attempt = store.record_answer(session_id=sid, question=q, answer=str(i))
                    store.record_outcome(attempt, graded(70, q))
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(t,)) for t in "abc"]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with HistoryStore(path) as store:
        assert len(store.attempts()) == 75
        assert len(store.review_states()) == 9


CRASHER = """
import os, sys
from pathlib import Path
from interviewer.history import scheduling
from interviewer.history.store import HistoryStore
from tests.processes import child
from tests.history_fakes import FAKE_INFO, graded, make_question

store = HistoryStore(Path(sys.argv[1]))
sid = store.start_session(mode="practice", grader=FAKE_INFO)
q = make_question("crash-q")
attempt = store.record_answer(session_id=sid, question=q, answer="saved before grading")
print(attempt, flush=True)

def die(events, zone=None):
    # The grade row is already inserted in the open transaction when the schedule is
    # recomputed: dying here is a crash in the middle of record_outcome.
    os._exit(17)

scheduling.replay = die
store.record_outcome(attempt, graded(90, q))
print("not reached", flush=True)
"""


def test_crash_mid_transaction_leaves_no_partial_rows(tmp_path: Path) -> None:
    path = tmp_path / "history.db"
    proc = subprocess.run(
        [sys.executable, "-c", CRASHER, str(path)],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 17, proc.stderr
    attempt_id = int(proc.stdout.split()[0])
    with HistoryStore(path) as store:
        detail = store.attempt(attempt_id)
        assert detail.attempt.answer == "saved before grading"
        assert detail.grades == []
        assert detail.attempt.status == "pending"
        assert store.review_states() == []
    conn = sqlite3.connect(path)
    assert conn.execute("SELECT COUNT(*) FROM grades").fetchone()[0] == 0
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_error_mid_write_rolls_back_in_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from interviewer.history import scheduling

    store = HistoryStore(tmp_path / "history.db")
    sid = store.start_session(mode="practice", grader=FAKE_INFO)
    q = make_question()
    attempt = store.record_answer(session_id=sid, question=q, answer="x")

    def boom(events: object, zone: object = None) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(scheduling, "replay", boom)
    with pytest.raises(RuntimeError, match="disk on fire"):
        store.record_outcome(attempt, graded(80, q))
    monkeypatch.undo()
    assert store.attempt(attempt).grades == []
    # The store is still usable after the rollback.
    store.record_outcome(attempt, graded(80, q))
    assert [g.score for g in store.attempt(attempt).grades] == [80.0]
    store.close()
