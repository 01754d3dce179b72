"""The history database: sessions, attempts, every grade, and the review schedule.

``HistoryStore`` wraps one SQLite file (``config.db_path()``). What it guarantees:

- An answer is committed before it is graded (``record_answer``), its grade after
  (``record_outcome``), so nothing the candidate typed is lost to a crash or a failing
  endpoint. Each write is one transaction (``BEGIN IMMEDIATE`` … ``COMMIT``): a crash
  mid-write leaves no partial rows.
- Several processes may write at once (two practice sessions): WAL journal plus a busy
  timeout, and write transactions take the lock up front so they queue instead of failing.
- A database from a newer interviewer is refused before anything touches it.
- Grades are never overwritten: a regrade adds a row, with the grader's provenance (kind,
  model, endpoint, prompt version, settings, raw reply, tokens, duration).
- No secret is stored: settings are passed through ``redact_secrets``.

The attempt's question is snapshotted (by its sha) in ``question_versions`` so that an
attempt can be shown, exported and re-graded after its question changed or left the bank.

Import cost matters (practice start-up is measured): this module imports only the standard
library at load time; pydantic models and the scheduler are imported when first used.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from interviewer.errors import HistoryError

if TYPE_CHECKING:
    from interviewer.bank.library import Question
    from interviewer.grading.grade import Grade, GraderInfo, Outcome

MODES: tuple[str, ...] = ("practice", "mock", "batch", "regrade")
KINDS: tuple[str, ...] = ("answer", "follow_up", "skip")
# Sessions in which the candidate answered from memory: only these feed the review
# schedule and the statistics. A batch grades answers from a file (often not the user's own).
PERSONAL_MODES: tuple[str, ...] = ("practice", "mock")
BUSY_TIMEOUT_MS = 15_000
REDACTED = "[redacted]"

Clock = Callable[[], datetime]

# --------------------------------------------------------------------------- helpers


def to_iso(moment: datetime) -> str:
    """Store times as fixed-width UTC ISO strings, so text order is time order."""
    if moment.tzinfo is None:
        raise ValueError("times must be timezone-aware")
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def from_iso(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    # Rows written without a zone (by hand, or an old tool) are read as UTC.
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


_RELATIVE = re.compile(r"^(\d+)\s*([dwh])$")


def parse_when(
    text: str, *, option: str, end: bool = False, now: datetime | None = None
) -> datetime:
    """Read a --since/--until value: ``YYYY-MM-DD`` (a local day), an ISO time, or ``7d``.

    A bare date as an ``end`` bound means the end of that day, so ``--until 2025-03-01``
    includes March 1st. ``Nd`` / ``Nw`` / ``Nh`` mean that long before ``now``.
    """
    from datetime import date, time, timedelta

    value = text.strip()
    moment = now or datetime.now(UTC)
    relative = _RELATIVE.match(value.lower())
    if relative:
        amount, unit = int(relative.group(1)), relative.group(2)
        step = {"d": timedelta(days=1), "w": timedelta(weeks=1), "h": timedelta(hours=1)}[unit]
        return moment - amount * step
    try:
        day = date.fromisoformat(value)
    except ValueError:
        day = None
    if day is not None:
        start = datetime.combine(day, time()).astimezone()
        return start + timedelta(days=1) if end else start
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        from interviewer.errors import InputError

        raise InputError(
            f"{option} '{text}' is not a date: use YYYY-MM-DD, an ISO time"
            " (2025-03-01T14:00) or a span back from now (7d, 2w, 12h)."
        ) from None
    return parsed if parsed.tzinfo is not None else parsed.astimezone()


_TOKEN_COUNT = re.compile(r"tokens$|token_(param|budget|count|limit)s?$|_tokens_")
_SECRET_NAMES = ("key", "secret", "password", "passwd", "authorization", "cookie", "credential")
_SECRET_VALUE = re.compile(
    r"^(bearer\s+\S+|sk-[A-Za-z0-9_\-]{12,}|gh[pousr]_[A-Za-z0-9]{20,})", re.I
)


def _secret_name(name: str) -> bool:
    lowered = name.lower()
    if any(part in lowered for part in _SECRET_NAMES):
        return True
    # "max_tokens" or "prompt_tokens" are counts worth keeping; "token", "access_token" and
    # "x-auth-token" are credentials.
    return "token" in lowered and not _TOKEN_COUNT.search(lowered)


def redact_secrets(value: Any) -> Any:
    """Return ``value`` with anything that looks like a credential removed.

    Keys named like a secret (``*key*``, ``*token*`` except token counts, ``authorization``,
    ``password`` …) are dropped; string values that look like a bearer token or an API key
    are replaced by ``[redacted]``. Applied to every settings dict before it is stored.
    """
    if isinstance(value, dict):
        return {str(k): redact_secrets(v) for k, v in value.items() if not _secret_name(str(k))}
    if isinstance(value, list | tuple):
        return [redact_secrets(v) for v in value]
    if isinstance(value, str) and _SECRET_VALUE.match(value.strip()):
        return REDACTED
    if isinstance(value, Path):
        return str(value)
    return value


def _dumps(value: Any) -> str:
    # Key order is kept as given: a report reads best in the order its author chose.
    return json.dumps(value, ensure_ascii=False, default=str)


def _loads(text: str | None, default: Any) -> Any:
    if not text:
        return default
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return default


# --------------------------------------------------------------------------- records


@dataclass(frozen=True)
class GradeRecord:
    """One stored grade of an attempt (graded or ungraded), with its provenance."""

    id: int
    attempt_id: int
    session_id: str | None
    created_at: datetime
    graded: bool
    score: float | None
    final_score: float | None
    grade_json: str | None
    ungraded_reason: str | None
    ungraded_detail: str
    grader: str
    model: str | None
    endpoint: str | None
    prompt_version: str | None
    settings: dict[str, Any]
    question_sha: str | None
    raw_reply: str | None
    prompt_tokens: int | None
    completion_tokens: int | None
    tokens_estimated: bool
    duration_ms: int | None
    samples: list[float]
    notices: list[str]

    @property
    def effective_score(self) -> float | None:
        """The score that counts: after hint penalties when those were applied."""
        if not self.graded:
            return None
        return self.final_score if self.final_score is not None else self.score

    @property
    def grade(self) -> Grade | None:
        """The full grade (criteria, key points, feedback), or None when ungraded/unreadable."""
        if not self.grade_json:
            return None
        from pydantic import ValidationError

        from interviewer.grading.grade import Grade

        try:
            return Grade.model_validate_json(self.grade_json)
        except ValidationError:
            return None

    @property
    def grader_label(self) -> str:
        if self.grader == "offline":
            return "offline"
        return f"{self.model or '?'} @ {self.endpoint or '?'}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "attempt_id": self.attempt_id,
            "session_id": self.session_id,
            "created_at": self.created_at.isoformat(),
            "graded": self.graded,
            "score": self.score,
            "final_score": self.final_score,
            "grade": _loads(self.grade_json, None),
            "ungraded_reason": self.ungraded_reason,
            "ungraded_detail": self.ungraded_detail,
            "grader": {
                "kind": self.grader,
                "model": self.model,
                "endpoint": self.endpoint,
                "prompt_version": self.prompt_version,
                "settings": self.settings,
            },
            "question_sha": self.question_sha,
            "raw_reply": self.raw_reply,
            "usage": {
                "prompt_tokens": self.prompt_tokens,
                "completion_tokens": self.completion_tokens,
                "estimated": self.tokens_estimated,
            },
            "duration_ms": self.duration_ms,
            "samples": self.samples,
            "notices": self.notices,
        }


@dataclass(frozen=True)
class AttemptRecord:
    """One answer, follow-up answer or skip, with the grade that currently counts.

    ``grade`` is the most recent *successful* grade, or the most recent ungraded one when
    no grade ever succeeded, or None when grading never finished. An attempt is ungraded
    when none of its grades succeeded.
    """

    id: int
    session_id: str
    mode: str
    kind: str
    parent_id: int | None
    question_id: str
    bank: str | None
    topic: str | None
    difficulty: str | None
    language: str | None
    question_sha: str | None
    question_text: str | None
    prompt: str | None
    answer: str
    hints_used: int
    time_taken_ms: int | None
    created_at: datetime
    grade: GradeRecord | None
    grade_count: int

    @property
    def graded(self) -> bool:
        return self.grade is not None and self.grade.graded

    @property
    def score(self) -> float | None:
        return self.grade.effective_score if self.grade is not None else None

    @property
    def status(self) -> str:
        """skipped, graded, ungraded (the grader failed) or pending (never graded)."""
        if self.kind == "skip":
            return "skipped"
        if self.grade is None:
            return "pending"
        return "graded" if self.grade.graded else "ungraded"

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "session_id": self.session_id,
            "mode": self.mode,
            "kind": self.kind,
            "parent_id": self.parent_id,
            "question_id": self.question_id,
            "bank": self.bank,
            "topic": self.topic,
            "difficulty": self.difficulty,
            "language": self.language,
            "question_sha": self.question_sha,
            "question": self.question_text,
            "prompt": self.prompt,
            "answer": self.answer,
            "hints_used": self.hints_used,
            "time_taken_ms": self.time_taken_ms,
            "created_at": self.created_at.isoformat(),
            "status": self.status,
            "score": self.score,
            "grade_count": self.grade_count,
        }


@dataclass(frozen=True)
class AttemptDetail:
    """An attempt in full: every grade (oldest first), its follow-ups, the question asked."""

    attempt: AttemptRecord
    grades: list[GradeRecord]
    follow_ups: list[AttemptDetail] = field(default_factory=list)
    question_json: str | None = None

    @property
    def question(self) -> Question | None:
        """The question as it was asked (None for attempts recorded before snapshots)."""
        if not self.question_json:
            return None
        from pydantic import ValidationError

        from interviewer.bank.library import Question

        try:
            return Question.model_validate_json(self.question_json)
        except ValidationError:
            return None

    def to_dict(self) -> dict[str, Any]:
        data = self.attempt.to_dict()
        snapshot = _loads(self.question_json, None)
        if isinstance(snapshot, dict):
            data["reference"] = snapshot.get("reference")
            data["reference_notes"] = snapshot.get("reference_notes") or None
            data["key_points"] = snapshot.get("key_points", [])
        data["grades"] = [g.to_dict() for g in self.grades]
        data["follow_ups"] = [f.to_dict() for f in self.follow_ups]
        return data


@dataclass(frozen=True)
class SessionRecord:
    """A session with its grader, settings, report and attempt counts."""

    id: str
    mode: str
    started_at: datetime
    ended_at: datetime | None
    grader: str | None
    model: str | None
    endpoint: str | None
    prompt_version: str | None
    settings: dict[str, Any]
    report: dict[str, Any] | None
    answers: int
    skips: int
    follow_ups: int
    graded: int
    mean_score: float | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "mode": self.mode,
            "started_at": self.started_at.isoformat(),
            "ended_at": self.ended_at.isoformat() if self.ended_at else None,
            "grader": {
                "kind": self.grader,
                "model": self.model,
                "endpoint": self.endpoint,
                "prompt_version": self.prompt_version,
            },
            "settings": self.settings,
            "report": self.report,
            "answers": self.answers,
            "skips": self.skips,
            "follow_ups": self.follow_ups,
            "graded": self.graded,
            "mean_score": self.mean_score,
        }


@dataclass(frozen=True)
class ReviewRecord:
    """A question's spaced-repetition state."""

    question_id: str
    bank: str | None
    due: datetime
    last_rating: int | None
    last_review_at: datetime | None
    review_count: int
    lapses: int
    card_json: str

    @property
    def stability_days(self) -> float | None:
        value = _loads(self.card_json, {}).get("stability")
        return float(value) if value is not None else None

    def to_dict(self) -> dict[str, Any]:
        from interviewer.history.scheduling import RATING_NAMES

        return {
            "question_id": self.question_id,
            "bank": self.bank,
            "due": self.due.isoformat(),
            "last_rating": RATING_NAMES.get(self.last_rating or 0),
            "last_review_at": self.last_review_at.isoformat() if self.last_review_at else None,
            "review_count": self.review_count,
            "lapses": self.lapses,
            "stability_days": self.stability_days,
        }


# --------------------------------------------------------------------------- the store

_ATTEMPT_COLUMNS = """
    a.id, a.session_id, s.mode, a.kind, a.parent_id, a.question_id, a.bank, a.topic,
    a.difficulty, a.language, a.question_sha,
    json_extract(q.question_json, '$.question') AS question_text,
    a.prompt, a.answer, a.hints_used, a.time_taken_ms, a.created_at,
    (SELECT g.id FROM grades AS g WHERE g.attempt_id = a.id
     ORDER BY g.graded DESC, g.id DESC LIMIT 1) AS grade_id,
    (SELECT COUNT(*) FROM grades AS g WHERE g.attempt_id = a.id) AS grade_count
"""
_ATTEMPT_FROM = """
    FROM attempts AS a
    JOIN sessions AS s ON s.id = a.session_id
    LEFT JOIN question_versions AS q ON q.sha = a.question_sha
"""
_HAS_GOOD_GRADE = "EXISTS (SELECT 1 FROM grades AS g WHERE g.attempt_id = a.id AND g.graded = 1)"


class HistoryStore:
    """The history database. Thread-safe; one instance per process is enough.

    ``clock`` returns the current time (timezone-aware); tests pass a simulated clock to
    run several days of practice in a second. ``zone`` is the time zone whose days review
    due dates are rounded to (default: the local one).
    """

    def __init__(
        self, path: Path, *, clock: Clock | None = None, zone: tzinfo | None = None
    ) -> None:
        self.path = Path(path)
        self._clock = clock or (lambda: datetime.now(UTC))
        self._zone = zone
        self._lock = threading.RLock()
        self._conn = self._open()

    @classmethod
    def open_default(cls) -> HistoryStore:
        """Open the database where the config says it lives (INTERVIEWER_DB / HOME)."""
        from interviewer.config import db_path

        return cls(db_path())

    # ------------------------------------------------------------------ lifecycle

    def _open(self) -> sqlite3.Connection:
        from interviewer.history import migrations

        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise HistoryError(
                f"Cannot create {self.path.parent} for the history database ({exc.strerror});"
                " set INTERVIEWER_HOME or INTERVIEWER_DB to a writable place."
            ) from None
        if not self.path.exists():
            # Answers are personal: a new database is readable by its owner only (SQLite
            # gives its -wal and -shm files the same permissions).
            try:
                os.close(os.open(self.path, os.O_CREAT | os.O_WRONLY, 0o600))
            except OSError as exc:
                raise HistoryError(
                    f"Cannot create {self.path} ({exc.strerror}); set INTERVIEWER_DB to a"
                    " writable file."
                ) from None
        conn: sqlite3.Connection | None = None
        try:
            conn = sqlite3.connect(
                self.path,
                timeout=BUSY_TIMEOUT_MS / 1000,
                isolation_level=None,
                check_same_thread=False,
            )
            conn.row_factory = sqlite3.Row
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            conn.execute("PRAGMA foreign_keys = ON")
            # Refuse a newer database before switching its journal mode or migrating it.
            migrations.check_version(conn, self.path)
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                raise HistoryError(
                    f"{self.path}: SQLite could not enable WAL mode (got '{mode}'); keep the"
                    " database on a local disk (set INTERVIEWER_DB)."
                )
            applied = migrations.migrate(conn, self.path)
            if "m003_review_state" in applied:
                # Review state is derived data: a database that predates it gets it now.
                self._rebuild_reviews(conn)
        except HistoryError:
            if conn is not None:
                conn.close()
            raise
        except sqlite3.DatabaseError as exc:
            if conn is not None:
                conn.close()
            raise self._db_error(exc) from None
        return conn

    def _db_error(self, exc: sqlite3.Error) -> HistoryError:
        text = str(exc)
        if "locked" in text or "busy" in text:
            return HistoryError(
                f"{self.path} stayed locked by another process for"
                f" {BUSY_TIMEOUT_MS // 1000} s; finish the other session and try again."
            )
        if "not a database" in text or "malformed" in text:
            return HistoryError(
                f"{self.path} is not a readable SQLite database ({text}); move it aside"
                " (history starts afresh) or restore it from a backup."
            )
        if "readonly" in text or "unable to open" in text:
            return HistoryError(
                f"Cannot write {self.path} ({text}); check its permissions or set"
                " INTERVIEWER_DB to a writable file."
            )
        return HistoryError(f"{self.path}: database error: {text}.")

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def __enter__(self) -> HistoryStore:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def now(self) -> datetime:
        """The store's current time (UTC): the clock it was given, else the wall clock."""
        return self._now()

    def _now(self) -> datetime:
        now = self._clock()
        if now.tzinfo is None:
            raise ValueError("the clock must return timezone-aware times")
        return now.astimezone(UTC)

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction: all of it is committed, or none of it."""
        with self._lock:
            try:
                # IMMEDIATE takes the write lock now, so a concurrent writer waits in the
                # busy handler instead of failing later on a lock upgrade.
                self._conn.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise self._db_error(exc) from None
            try:
                yield self._conn
                self._conn.execute("COMMIT")
            except BaseException as exc:
                if self._conn.in_transaction:
                    self._conn.execute("ROLLBACK")
                if isinstance(exc, sqlite3.Error):
                    raise self._db_error(exc) from None
                raise

    def _read(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        with self._lock:
            try:
                return self._conn.execute(sql, params).fetchall()
            except sqlite3.Error as exc:
                raise self._db_error(exc) from None

    # ------------------------------------------------------------------ sessions

    def start_session(
        self, *, mode: str, grader: GraderInfo, settings: dict[str, Any] | None = None
    ) -> str:
        """Create a session and return its id (a uuid4 hex)."""
        from interviewer import __version__

        if mode not in MODES:
            raise ValueError(f"unknown session mode {mode!r}; use one of {MODES}")
        session_id = uuid.uuid4().hex
        grader_data = redact_secrets(grader.model_dump(mode="json"))
        with self._write() as conn:
            conn.execute(
                "INSERT INTO sessions (id, mode, started_at, grader, model, endpoint,"
                " prompt_version, grader_json, settings_json, app_version)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    session_id,
                    mode,
                    to_iso(self._now()),
                    grader.kind,
                    grader.model,
                    grader.endpoint,
                    grader.prompt_version,
                    _dumps(grader_data),
                    _dumps(redact_secrets(settings or {})),
                    __version__,
                ),
            )
        return session_id

    def end_session(self, session_id: str, *, report: dict[str, Any] | None = None) -> None:
        """Mark a session finished and keep its report (a mock interview's verdict)."""
        with self._write() as conn:
            cursor = conn.execute(
                "UPDATE sessions SET ended_at = ?, report_json = COALESCE(?, report_json)"
                " WHERE id = ?",
                (
                    to_iso(self._now()),
                    _dumps(redact_secrets(report)) if report is not None else None,
                    session_id,
                ),
            )
            if cursor.rowcount == 0:
                raise HistoryError(f"No session '{session_id}' in {self.path}.")

    def resolve_session_id(self, prefix: str) -> str:
        """Expand a session id prefix (as shown by `interviewer history --sessions`)."""
        prefix = prefix.strip().lower()
        if not re.fullmatch(r"[0-9a-f]{1,32}", prefix):
            raise HistoryError(
                f"'{prefix}' is not a session id; run `interviewer history --sessions`."
            )
        rows = self._read(
            "SELECT id FROM sessions WHERE id LIKE ? ORDER BY started_at LIMIT 3",
            (prefix + "%",),
        )
        if not rows:
            raise HistoryError(
                f"No session '{prefix}' in {self.path}; run `interviewer history --sessions`."
            )
        if len(rows) > 1:
            raise HistoryError(f"Session id '{prefix}' is ambiguous; type more characters.")
        return str(rows[0]["id"])

    def sessions(
        self,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        mode: str | None = None,
        session_id: str | None = None,
        limit: int | None = None,
    ) -> list[SessionRecord]:
        """Sessions, newest first, with counts and mean score of their graded answers."""
        where: list[str] = []
        params: list[Any] = []
        if since is not None:
            where.append("s.started_at >= ?")
            params.append(to_iso(since))
        if until is not None:
            where.append("s.started_at < ?")
            params.append(to_iso(until))
        if mode is not None:
            where.append("s.mode = ?")
            params.append(mode)
        if session_id is not None:
            where.append("s.id = ?")
            params.append(session_id)
        sql = f"""
            SELECT s.*,
              (SELECT COUNT(*) FROM attempts a WHERE a.session_id = s.id
                 AND a.kind = 'answer') AS n_answers,
              (SELECT COUNT(*) FROM attempts a WHERE a.session_id = s.id
                 AND a.kind = 'skip') AS n_skips,
              (SELECT COUNT(*) FROM attempts a WHERE a.session_id = s.id
                 AND a.kind = 'follow_up') AS n_follow_ups
            FROM sessions AS s
            {"WHERE " + " AND ".join(where) if where else ""}
            ORDER BY s.started_at DESC, s.rowid DESC
            {"LIMIT ?" if limit else ""}
        """
        if limit:
            params.append(limit)
        rows = self._read(sql, params)
        scores = self._session_scores([r["id"] for r in rows])
        return [
            SessionRecord(
                id=row["id"],
                mode=row["mode"],
                started_at=from_iso(row["started_at"]),
                ended_at=from_iso(row["ended_at"]) if row["ended_at"] else None,
                grader=row["grader"],
                model=row["model"],
                endpoint=row["endpoint"],
                prompt_version=row["prompt_version"],
                settings=_loads(row["settings_json"], {}),
                report=_loads(row["report_json"], None),
                answers=row["n_answers"],
                skips=row["n_skips"],
                follow_ups=row["n_follow_ups"],
                graded=scores.get(row["id"], (0, None))[0],
                mean_score=scores.get(row["id"], (0, None))[1],
            )
            for row in rows
        ]

    def _session_scores(self, session_ids: list[str]) -> dict[str, tuple[int, float | None]]:
        """Per session: how many main answers have a grade, and their mean score."""
        found: dict[str, tuple[int, float | None]] = {}
        for start in range(0, len(session_ids), 500):
            chunk = session_ids[start : start + 500]
            rows = self._read(
                f"""
                SELECT session_id, COUNT(sc) AS n, AVG(sc) AS mean FROM (
                  SELECT a.session_id,
                    (SELECT COALESCE(g.final_score, g.score) FROM grades AS g
                     WHERE g.attempt_id = a.id AND g.graded = 1
                     ORDER BY g.id DESC LIMIT 1) AS sc
                  FROM attempts AS a
                  WHERE a.kind = 'answer' AND a.session_id IN ({",".join("?" * len(chunk))})
                ) WHERE sc IS NOT NULL GROUP BY session_id
                """,
                chunk,
            )
            for row in rows:
                found[row["session_id"]] = (row["n"], round(row["mean"], 1))
        return found

    def session(self, session_id: str) -> SessionRecord:
        found = self.sessions(session_id=self.resolve_session_id(session_id))
        return found[0]

    # ------------------------------------------------------------------ attempts

    def record_answer(
        self,
        *,
        session_id: str,
        question: Question,
        answer: str,
        kind: str = "answer",
        parent_id: int | None = None,
        prompt: str | None = None,
        hints_used: int = 0,
        time_taken_ms: int | None = None,
    ) -> int:
        """Save an answer (before it is graded) and return the attempt id.

        ``kind`` is ``answer`` or ``follow_up``; a follow-up names its ``parent_id`` (the
        attempt it follows) and its ``prompt`` (the follow-up question as asked), and
        ``question`` stays the bank question the exchange is about.
        """
        if kind not in ("answer", "follow_up"):
            raise ValueError(f"kind must be 'answer' or 'follow_up', not {kind!r}")
        if kind == "follow_up" and (parent_id is None or not prompt):
            raise ValueError("a follow-up needs parent_id and prompt")
        return self._insert_attempt(
            session_id=session_id,
            question=question,
            kind=kind,
            answer=answer,
            parent_id=parent_id,
            prompt=prompt,
            hints_used=hints_used,
            time_taken_ms=time_taken_ms,
        )

    def record_skip(
        self, *, session_id: str, question: Question, time_taken_ms: int | None = None
    ) -> int:
        """Save a skipped question; for scheduling it counts as forgotten (rated Again)."""
        return self._insert_attempt(
            session_id=session_id,
            question=question,
            kind="skip",
            answer="",
            parent_id=None,
            prompt=None,
            hints_used=0,
            time_taken_ms=time_taken_ms,
        )

    def _insert_attempt(
        self,
        *,
        session_id: str,
        question: Question,
        kind: str,
        answer: str,
        parent_id: int | None,
        prompt: str | None,
        hints_used: int,
        time_taken_ms: int | None,
    ) -> int:
        now = to_iso(self._now())
        sha = question.sha
        with self._write() as conn:
            mode = self._session_mode(conn, session_id)
            if parent_id is not None:
                parent = conn.execute(
                    "SELECT session_id FROM attempts WHERE id = ?", (parent_id,)
                ).fetchone()
                if parent is None:
                    raise HistoryError(f"No attempt {parent_id} to attach a follow-up to.")
            conn.execute(
                "INSERT OR IGNORE INTO question_versions"
                " (sha, question_id, bank, question_json, first_seen_at) VALUES (?, ?, ?, ?, ?)",
                (sha, question.id, question.bank, question.model_dump_json(), now),
            )
            cursor = conn.execute(
                "INSERT INTO attempts (session_id, kind, parent_id, question_id, bank, topic,"
                " difficulty, language, question_sha, prompt, answer, hints_used,"
                " time_taken_ms, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    session_id,
                    kind,
                    parent_id,
                    question.id,
                    question.bank,
                    question.topic,
                    question.difficulty,
                    question.language,
                    sha,
                    prompt,
                    answer,
                    hints_used,
                    time_taken_ms,
                    now,
                ),
            )
            attempt_id = cursor.lastrowid
            assert attempt_id is not None
            if kind == "skip" and mode in PERSONAL_MODES:
                self._refresh_review(conn, question.id)
        return attempt_id

    @staticmethod
    def _session_mode(conn: sqlite3.Connection, session_id: str) -> str:
        row = conn.execute("SELECT mode FROM sessions WHERE id = ?", (session_id,)).fetchone()
        if row is None:
            raise HistoryError(f"No session '{session_id}'; start one with start_session().")
        return str(row["mode"])

    def record_outcome(
        self,
        attempt_id: int,
        outcome: Outcome,
        *,
        final_score: float | None = None,
        session_id: str | None = None,
        question_sha: str | None = None,
    ) -> int:
        """Add a grade row (graded or ungraded) to an attempt; return the grade id.

        ``final_score`` is the score after the hint penalty. ``session_id`` names the session
        that produced the grade (a regrade session); it defaults to the attempt's own.
        ``question_sha`` records which version of the question was graded against (default:
        the one the attempt was asked with). Only a successful grade of a main answer in a
        practice or mock session updates the question's review schedule.
        """
        info = outcome.info
        grade = outcome.grade
        if grade is not None and final_score is None:
            final_score = grade.score
        with self._write() as conn:
            row = conn.execute(
                "SELECT a.session_id, a.kind, a.question_id, a.question_sha, s.mode"
                " FROM attempts a JOIN sessions s ON s.id = a.session_id WHERE a.id = ?",
                (attempt_id,),
            ).fetchone()
            if row is None:
                raise HistoryError(f"No attempt {attempt_id} in {self.path}.")
            if row["kind"] == "skip":
                raise ValueError("a skipped question has no answer to grade")
            cursor = conn.execute(
                "INSERT INTO grades (attempt_id, session_id, created_at, graded, score,"
                " final_score, grade_json, ungraded_reason, ungraded_detail, grader, model,"
                " endpoint, prompt_version, settings_json, question_sha, raw_reply,"
                " prompt_tokens, completion_tokens, tokens_estimated, duration_ms,"
                " samples_json, notices_json)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    attempt_id,
                    session_id or row["session_id"],
                    to_iso(self._now()),
                    int(grade is not None),
                    grade.score if grade is not None else None,
                    final_score if grade is not None else None,
                    grade.model_dump_json() if grade is not None else None,
                    None if grade is not None else (outcome.ungraded_reason or "invalid"),
                    outcome.ungraded_detail or "",
                    info.kind,
                    info.model,
                    info.endpoint,
                    info.prompt_version,
                    _dumps(redact_secrets(info.settings)),
                    question_sha or row["question_sha"],
                    outcome.raw_reply,
                    outcome.usage.prompt_tokens,
                    outcome.usage.completion_tokens,
                    int(outcome.usage.estimated),
                    outcome.duration_ms,
                    _dumps(outcome.samples),
                    _dumps(outcome.notices),
                ),
            )
            grade_id = cursor.lastrowid
            assert grade_id is not None
            if grade is not None and row["kind"] == "answer" and row["mode"] in PERSONAL_MODES:
                self._refresh_review(conn, row["question_id"])
        return grade_id

    def attempts(
        self,
        *,
        session_id: str | None = None,
        bank: str | None = None,
        topic: str | None = None,
        difficulty: str | None = None,
        question_id: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        ungraded: bool = False,
        kinds: Sequence[str] | None = None,
        modes: Sequence[str] | None = None,
        top_level: bool = False,
        limit: int | None = None,
        oldest_first: bool = False,
    ) -> list[AttemptRecord]:
        """Attempts matching every filter given, newest first (or oldest first).

        ``since`` is inclusive, ``until`` exclusive. ``ungraded`` keeps answers and
        follow-up answers with no successful grade (the ones `regrade` picks up).
        ``top_level`` drops follow-ups (they come with their parent in ``details``).
        Text filters (bank, topic) ignore case.
        """
        where: list[str] = []
        params: list[Any] = []
        if session_id is not None:
            where.append("a.session_id = ?")
            params.append(session_id)
        if bank is not None:
            where.append("lower(a.bank) = lower(?)")
            params.append(bank)
        if topic is not None:
            where.append("lower(a.topic) = lower(?)")
            params.append(topic)
        if difficulty is not None:
            where.append("a.difficulty = ?")
            params.append(difficulty.lower())
        if question_id is not None:
            where.append("a.question_id = ?")
            params.append(question_id)
        if since is not None:
            where.append("a.created_at >= ?")
            params.append(to_iso(since))
        if until is not None:
            where.append("a.created_at < ?")
            params.append(to_iso(until))
        if ungraded:
            where.append(f"a.kind != 'skip' AND NOT {_HAS_GOOD_GRADE}")
        if kinds is not None:
            where.append(f"a.kind IN ({','.join('?' * len(kinds))})")
            params.extend(kinds)
        if modes is not None:
            where.append(f"s.mode IN ({','.join('?' * len(modes))})")
            params.extend(modes)
        if top_level:
            where.append("a.parent_id IS NULL")
        order = "ASC" if oldest_first else "DESC"
        sql = (
            f"SELECT {_ATTEMPT_COLUMNS} {_ATTEMPT_FROM}"
            f" {'WHERE ' + ' AND '.join(where) if where else ''}"
            f" ORDER BY a.created_at {order}, a.id {order}"
        )
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)
        with self._lock:
            rows = self._read(sql, params)
            grades = self._grades_by_id([r["grade_id"] for r in rows if r["grade_id"]])
        return [self._attempt_from_row(r, grades.get(r["grade_id"])) for r in rows]

    def attempt(self, attempt_id: int) -> AttemptDetail:
        """One attempt in full; raise HistoryError when there is no such attempt."""
        found = self._details("a.id = ?", [int(attempt_id)])
        if not found:
            raise HistoryError(
                f"No attempt {attempt_id} in {self.path}; `interviewer history` lists them."
            )
        return found[0]

    def details(
        self,
        *,
        session_id: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        attempt_ids: Iterable[int] | None = None,
    ) -> list[AttemptDetail]:
        """Top-level attempts (oldest first) with every grade and their follow-ups."""
        where = ["a.parent_id IS NULL"]
        params: list[Any] = []
        if session_id is not None:
            where.append("a.session_id = ?")
            params.append(session_id)
        if since is not None:
            where.append("a.created_at >= ?")
            params.append(to_iso(since))
        if until is not None:
            where.append("a.created_at < ?")
            params.append(to_iso(until))
        if attempt_ids is not None:
            ids = [int(i) for i in attempt_ids]
            where.append(f"a.id IN ({','.join('?' * len(ids))})" if ids else "0")
            params.extend(ids)
        return self._details(" AND ".join(where), params)

    def _details(self, where: str, params: list[Any]) -> list[AttemptDetail]:
        with self._lock:
            rows = self._read(
                f"SELECT {_ATTEMPT_COLUMNS}, q.question_json {_ATTEMPT_FROM}"
                f" WHERE {where} ORDER BY a.created_at, a.id",
                params,
            )
            # Follow-ups may chain (a follow-up of a follow-up): walk down level by level.
            children: dict[int, list[sqlite3.Row]] = {}
            frontier = [r["id"] for r in rows]
            seen = set(frontier)
            while frontier:
                level = self._read(
                    f"SELECT {_ATTEMPT_COLUMNS}, q.question_json {_ATTEMPT_FROM}"
                    f" WHERE a.parent_id IN ({','.join('?' * len(frontier))})"
                    " ORDER BY a.created_at, a.id",
                    frontier,
                )
                frontier = []
                for child in level:
                    if child["id"] in seen:
                        continue
                    seen.add(child["id"])
                    children.setdefault(child["parent_id"], []).append(child)
                    frontier.append(child["id"])
            all_grades = self._grades_for(list(seen))

        def build(row: sqlite3.Row) -> AttemptDetail:
            grades = all_grades.get(row["id"], [])
            current = next((g for g in grades if g.id == row["grade_id"]), None)
            return AttemptDetail(
                attempt=self._attempt_from_row(row, current),
                grades=grades,
                follow_ups=[build(c) for c in children.get(row["id"], [])],
                question_json=row["question_json"],
            )

        return [build(r) for r in rows]

    def _grades_for(self, attempt_ids: list[int]) -> dict[int, list[GradeRecord]]:
        found: dict[int, list[GradeRecord]] = {}
        for start in range(0, len(attempt_ids), 500):
            chunk = attempt_ids[start : start + 500]
            rows = self._read(
                f"SELECT * FROM grades WHERE attempt_id IN ({','.join('?' * len(chunk))})"
                " ORDER BY id",
                chunk,
            )
            for row in rows:
                found.setdefault(row["attempt_id"], []).append(self._grade_from_row(row))
        return found

    def _grades_by_id(self, grade_ids: list[int]) -> dict[int, GradeRecord]:
        found: dict[int, GradeRecord] = {}
        for start in range(0, len(grade_ids), 500):
            chunk = grade_ids[start : start + 500]
            rows = self._read(
                f"SELECT * FROM grades WHERE id IN ({','.join('?' * len(chunk))})", chunk
            )
            found.update((row["id"], self._grade_from_row(row)) for row in rows)
        return found

    @staticmethod
    def _grade_from_row(row: sqlite3.Row) -> GradeRecord:
        return GradeRecord(
            id=row["id"],
            attempt_id=row["attempt_id"],
            session_id=row["session_id"],
            created_at=from_iso(row["created_at"]),
            graded=bool(row["graded"]),
            score=row["score"],
            final_score=row["final_score"],
            grade_json=row["grade_json"],
            ungraded_reason=row["ungraded_reason"],
            ungraded_detail=row["ungraded_detail"] or "",
            grader=row["grader"],
            model=row["model"],
            endpoint=row["endpoint"],
            prompt_version=row["prompt_version"],
            settings=_loads(row["settings_json"], {}),
            question_sha=row["question_sha"],
            raw_reply=row["raw_reply"],
            prompt_tokens=row["prompt_tokens"],
            completion_tokens=row["completion_tokens"],
            tokens_estimated=bool(row["tokens_estimated"]),
            duration_ms=row["duration_ms"],
            samples=_loads(row["samples_json"], []),
            notices=_loads(row["notices_json"], []),
        )

    @staticmethod
    def _attempt_from_row(row: sqlite3.Row, grade: GradeRecord | None) -> AttemptRecord:
        return AttemptRecord(
            id=row["id"],
            session_id=row["session_id"],
            mode=row["mode"],
            kind=row["kind"],
            parent_id=row["parent_id"],
            question_id=row["question_id"],
            bank=row["bank"],
            topic=row["topic"],
            difficulty=row["difficulty"],
            language=row["language"],
            question_sha=row["question_sha"],
            question_text=row["question_text"],
            prompt=row["prompt"],
            answer=row["answer"],
            hints_used=row["hints_used"],
            time_taken_ms=row["time_taken_ms"],
            created_at=from_iso(row["created_at"]),
            grade=grade,
            grade_count=row["grade_count"],
        )

    def question_snapshot(self, sha: str) -> Question | None:
        """The question as stored with an attempt (by its sha), or None if not stored."""
        from interviewer.bank.library import Question

        rows = self._read("SELECT question_json FROM question_versions WHERE sha = ?", (sha,))
        if not rows:
            return None
        return Question.model_validate_json(rows[0]["question_json"])

    # ------------------------------------------------------------------ review schedule

    def _refresh_review(self, conn: sqlite3.Connection, question_id: str) -> None:
        """Recompute one question's card from its reviews, inside the caller's transaction."""
        from interviewer.history import scheduling

        rows = conn.execute(
            """
            SELECT a.kind, a.created_at, a.bank,
              (SELECT COALESCE(g.final_score, g.score) FROM grades AS g
               WHERE g.attempt_id = a.id AND g.graded = 1
               ORDER BY g.id DESC LIMIT 1) AS score
            FROM attempts AS a JOIN sessions AS s ON s.id = a.session_id
            WHERE a.question_id = ? AND a.kind IN ('answer', 'skip')
              AND s.mode IN ('practice', 'mock')
            ORDER BY a.created_at, a.id
            """,
            (question_id,),
        ).fetchall()
        events = []
        bank = None
        for row in rows:
            if row["kind"] == "skip":
                rating = scheduling.SKIP_RATING
            elif row["score"] is not None:
                rating = scheduling.rating_for_score(row["score"])
            else:
                continue  # ungraded: never touches the schedule
            events.append(scheduling.ReviewEvent(at=from_iso(row["created_at"]), rating=rating))
            bank = row["bank"]
        state = scheduling.replay(events, self._zone)
        if state is None:
            conn.execute("DELETE FROM reviews WHERE question_id = ?", (question_id,))
            return
        conn.execute(
            """
            INSERT INTO reviews (question_id, bank, card_json, due, last_rating,
                                 last_review_at, review_count, lapses, updated_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT (question_id) DO UPDATE SET
              bank = excluded.bank, card_json = excluded.card_json, due = excluded.due,
              last_rating = excluded.last_rating, last_review_at = excluded.last_review_at,
              review_count = excluded.review_count, lapses = excluded.lapses,
              updated_at = excluded.updated_at
            """,
            (
                question_id,
                bank,
                state.card_json,
                to_iso(state.due),
                state.last_rating,
                to_iso(state.last_review_at),
                state.review_count,
                state.lapses,
                to_iso(self._now()),
            ),
        )

    def _rebuild_reviews(self, conn: sqlite3.Connection) -> None:
        ids = [r[0] for r in conn.execute("SELECT DISTINCT question_id FROM attempts")]
        if not ids:
            return
        conn.execute("BEGIN IMMEDIATE")
        try:
            for question_id in ids:
                self._refresh_review(conn, question_id)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    def rebuild_reviews(self) -> None:
        """Recompute every question's review state from attempts and grades."""
        with self._lock:
            self._rebuild_reviews(self._conn)

    def due_question_ids(self, now: datetime | None = None) -> list[str]:
        """Questions whose review is due at ``now``, most overdue first."""
        moment = to_iso(now if now is not None else self._now())
        rows = self._read(
            "SELECT question_id FROM reviews WHERE due <= ? ORDER BY due, question_id",
            (moment,),
        )
        return [str(r["question_id"]) for r in rows]

    def review_states(self) -> list[ReviewRecord]:
        """Every scheduled question, soonest due first."""
        rows = self._read("SELECT * FROM reviews ORDER BY due, question_id")
        return [
            ReviewRecord(
                question_id=r["question_id"],
                bank=r["bank"],
                due=from_iso(r["due"]),
                last_rating=r["last_rating"],
                last_review_at=from_iso(r["last_review_at"]) if r["last_review_at"] else None,
                review_count=r["review_count"],
                lapses=r["lapses"],
                card_json=r["card_json"],
            )
            for r in rows
        ]

    def seen_question_ids(self) -> set[str]:
        """Questions answered or skipped at least once in a practice or mock session."""
        rows = self._read(
            "SELECT DISTINCT a.question_id FROM attempts a JOIN sessions s"
            " ON s.id = a.session_id WHERE s.mode IN ('practice', 'mock')"
        )
        return {str(r[0]) for r in rows}
