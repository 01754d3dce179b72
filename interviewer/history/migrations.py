"""The history database schema as named, append-only migrations.

Each migration is a function ``mNNN_description(conn)`` registered in ``MIGRATIONS`` in the
order it must run. Applied names are recorded in ``_migrations(name, applied_at)``, so a
database created by any earlier version is brought up to date by running the names it
lacks. Never edit or reorder a released migration: append a new one.

A database whose ``_migrations`` table names a migration this version does not know was
written by a newer interviewer; ``migrate`` refuses it with HistoryError before changing
anything, rather than guessing at a schema it cannot understand.

Statements run one by one through ``conn.execute`` (never ``executescript``, which commits
the open transaction) so that ``migrate`` applies every pending migration atomically.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from interviewer.errors import HistoryError

Migration = Callable[[sqlite3.Connection], None]
MIGRATIONS: list[Migration] = []


def migration(func: Migration) -> Migration:
    """Register ``func`` as the next migration; its ``__name__`` is its permanent name."""
    MIGRATIONS.append(func)
    return func


def _run(conn: sqlite3.Connection, *statements: str) -> None:
    for statement in statements:
        conn.execute(statement)


@migration
def m001_initial(conn: sqlite3.Connection) -> None:
    """The first schema: sessions and attempts, one grade stored inline per attempt."""
    _run(
        conn,
        """
        CREATE TABLE sessions (
            id TEXT PRIMARY KEY,
            mode TEXT NOT NULL,
            started_at TEXT NOT NULL,
            ended_at TEXT,
            grader TEXT,
            model TEXT
        )
        """,
        """
        CREATE TABLE attempts (
            id INTEGER PRIMARY KEY,
            session_id TEXT NOT NULL REFERENCES sessions(id),
            question_id TEXT NOT NULL,
            bank TEXT,
            topic TEXT,
            difficulty TEXT,
            question_sha TEXT,
            answer TEXT NOT NULL,
            created_at TEXT NOT NULL,
            score REAL,
            grade_json TEXT,
            ungraded_reason TEXT,
            raw_reply TEXT,
            graded_at TEXT
        )
        """,
        "CREATE INDEX attempts_session ON attempts(session_id)",
    )


@migration
def m002_grades_and_follow_ups(conn: sqlite3.Connection) -> None:
    """Grades move to their own table (regrades keep every earlier grade, with provenance).

    Attempts gain kind (answer / follow_up / skip), parent attempt, the follow-up prompt,
    hints and time taken; the question as asked is kept in ``question_versions`` so that an
    attempt can be re-graded after its question left or changed in the bank. Sessions gain
    the grader's provenance, their settings and a report (mock interviews).
    """
    _m002_extend_sessions(conn)
    _m002_rebuild_attempts(conn)
    _m002_grades_table(conn)
    _m002_swap_attempts(conn)


# m002's steps, in the order it runs them. Like the migration, they must never change.
def _m002_extend_sessions(conn: sqlite3.Connection) -> None:
    """Sessions gain provenance, settings and report; question snapshots get a table."""
    _run(
        conn,
        "ALTER TABLE sessions ADD COLUMN endpoint TEXT",
        "ALTER TABLE sessions ADD COLUMN prompt_version TEXT",
        "ALTER TABLE sessions ADD COLUMN grader_json TEXT",
        "ALTER TABLE sessions ADD COLUMN settings_json TEXT",
        "ALTER TABLE sessions ADD COLUMN report_json TEXT",
        "ALTER TABLE sessions ADD COLUMN app_version TEXT",
        """
        CREATE TABLE question_versions (
            sha TEXT PRIMARY KEY,
            question_id TEXT NOT NULL,
            bank TEXT,
            question_json TEXT NOT NULL,
            first_seen_at TEXT NOT NULL
        )
        """,
    )


def _m002_rebuild_attempts(conn: sqlite3.Connection) -> None:
    """The new attempts table, filled from the old one (which stays until the swap)."""
    _run(
        conn,
        # SQLite cannot drop a column on every version we support, so the attempts table
        # is rebuilt (create, copy, drop, rename: the procedure the SQLite docs prescribe).
        # Nothing references attempts yet, so dropping the old table cannot break a key.
        """
        CREATE TABLE attempts_new (
            id INTEGER PRIMARY KEY,
            session_id TEXT NOT NULL REFERENCES sessions(id),
            kind TEXT NOT NULL DEFAULT 'answer'
                CHECK (kind IN ('answer', 'follow_up', 'skip')),
            parent_id INTEGER REFERENCES attempts(id),
            question_id TEXT NOT NULL,
            bank TEXT,
            topic TEXT,
            difficulty TEXT,
            language TEXT,
            question_sha TEXT,
            prompt TEXT,
            answer TEXT NOT NULL DEFAULT '',
            hints_used INTEGER NOT NULL DEFAULT 0,
            time_taken_ms INTEGER,
            created_at TEXT NOT NULL
        )
        """,
        """
        INSERT INTO attempts_new (id, session_id, kind, question_id, bank, topic, difficulty,
                                  question_sha, answer, created_at)
        SELECT id, session_id, 'answer', question_id, bank, topic, difficulty,
               question_sha, answer, created_at
        FROM attempts
        """,
    )


def _m002_grades_table(conn: sqlite3.Connection) -> None:
    """The grades table, with the grade each m001 attempt stored inline."""
    _run(
        conn,
        """
        CREATE TABLE grades (
            id INTEGER PRIMARY KEY,
            attempt_id INTEGER NOT NULL REFERENCES attempts_new(id),
            session_id TEXT REFERENCES sessions(id),
            created_at TEXT NOT NULL,
            graded INTEGER NOT NULL CHECK (graded IN (0, 1)),
            score REAL,
            final_score REAL,
            grade_json TEXT,
            ungraded_reason TEXT,
            ungraded_detail TEXT,
            grader TEXT NOT NULL,
            model TEXT,
            endpoint TEXT,
            prompt_version TEXT,
            settings_json TEXT,
            question_sha TEXT,
            raw_reply TEXT,
            prompt_tokens INTEGER,
            completion_tokens INTEGER,
            tokens_estimated INTEGER NOT NULL DEFAULT 0,
            duration_ms INTEGER,
            samples_json TEXT,
            notices_json TEXT
        )
        """,
        # An m001 attempt with neither score nor reason was never graded: it gets no grade
        # row and shows up as ungraded, ready for `interviewer regrade`.
        """
        INSERT INTO grades (attempt_id, session_id, created_at, graded, score, final_score,
                            grade_json, ungraded_reason, grader, model, question_sha,
                            raw_reply)
        SELECT a.id, a.session_id, COALESCE(a.graded_at, a.created_at),
               a.score IS NOT NULL, a.score, a.score, a.grade_json, a.ungraded_reason,
               COALESCE(s.grader, 'offline'), s.model, a.question_sha, a.raw_reply
        FROM attempts AS a JOIN sessions AS s ON s.id = a.session_id
        WHERE a.score IS NOT NULL OR a.ungraded_reason IS NOT NULL
        ORDER BY a.id
        """,
    )


def _m002_swap_attempts(conn: sqlite3.Connection) -> None:
    """Drop the old attempts table, put the new one in its place, index both tables."""
    _run(
        conn,
        "DROP TABLE attempts",
        # Renaming also rewrites the references to attempts_new (grades.attempt_id and the
        # self-reference parent_id) to the final name.
        "ALTER TABLE attempts_new RENAME TO attempts",
        "CREATE INDEX attempts_session ON attempts(session_id)",
        "CREATE INDEX attempts_question ON attempts(question_id, created_at)",
        "CREATE INDEX attempts_created ON attempts(created_at)",
        "CREATE INDEX attempts_parent ON attempts(parent_id)",
        "CREATE INDEX grades_attempt ON grades(attempt_id, id)",
    )


@migration
def m003_review_state(conn: sqlite3.Connection) -> None:
    """Spaced-repetition state per question: the FSRS card (JSON) and when it is due.

    This table is derived from attempts and grades (it can be rebuilt by replaying them),
    which is what lets a regrade correct the schedule instead of reviewing a card twice.
    """
    _run(
        conn,
        """
        CREATE TABLE reviews (
            question_id TEXT PRIMARY KEY,
            bank TEXT,
            card_json TEXT NOT NULL,
            due TEXT NOT NULL,
            last_rating INTEGER,
            last_review_at TEXT,
            review_count INTEGER NOT NULL DEFAULT 0,
            lapses INTEGER NOT NULL DEFAULT 0,
            updated_at TEXT NOT NULL
        )
        """,
        "CREATE INDEX reviews_due ON reviews(due)",
    )


def known_names() -> list[str]:
    return [m.__name__ for m in MIGRATIONS]


def applied_names(conn: sqlite3.Connection) -> list[str]:
    """Names recorded in ``_migrations`` (empty for a blank database); reads only."""
    exists = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '_migrations'"
    ).fetchone()
    if not exists:
        return []
    return [row[0] for row in conn.execute("SELECT name FROM _migrations ORDER BY rowid")]


def check_version(conn: sqlite3.Connection, path: Path | str = "history database") -> None:
    """Refuse a database written by a newer interviewer, before anything touches it."""
    unknown = [name for name in applied_names(conn) if name not in set(known_names())]
    if unknown:
        raise HistoryError(
            f"{path} was written by a newer interviewer (unknown migrations:"
            f" {', '.join(unknown)}); upgrade interviewer (`pip install -U interviewer`)"
            " or point INTERVIEWER_DB at another file. The database was not changed."
        )


def migrate(conn: sqlite3.Connection, path: Path | str = "history database") -> list[str]:
    """Apply every pending migration in one transaction; return the names applied.

    ``conn`` must be in autocommit mode (``isolation_level=None``). The write lock is
    taken before the applied names are re-read, so two processes opening a fresh database
    at the same moment cannot both run a migration.
    """
    check_version(conn, path)
    if not pending_names(conn):
        return []
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.execute(
            "CREATE TABLE IF NOT EXISTS _migrations ("
            "name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)"
        )
        check_version(conn, path)
        done = set(applied_names(conn))
        applied: list[str] = []
        for step in MIGRATIONS:
            if step.__name__ in done:
                continue
            step(conn)
            conn.execute(
                "INSERT INTO _migrations (name, applied_at) VALUES (?, ?)",
                (step.__name__, datetime.now(UTC).isoformat(timespec="microseconds")),
            )
            applied.append(step.__name__)
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return applied


def pending_names(conn: sqlite3.Connection) -> list[str]:
    done = set(applied_names(conn))
    return [name for name in known_names() if name not in done]
