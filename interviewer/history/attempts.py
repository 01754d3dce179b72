"""Attempts and their grades in the history store: recording them and reading them back.

An answer is committed before it is graded (``record_answer``) and its grade after
(``record_outcome``), so nothing the candidate typed is lost to a crash or a failing
endpoint. Grades are never overwritten: a regrade adds a row with the grader's provenance
(kind, model, endpoint, prompt version, settings without secrets, raw reply, tokens,
duration); only its final score changes, when a follow-up recovers a key point
(``record_probe_credit``). The question as asked is snapshotted by its sha in
``question_versions``, so an attempt can be shown, exported and re-graded after its question
changed or left the bank.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from interviewer.errors import HistoryError
from interviewer.history.database import Database
from interviewer.history.records import (
    COUNTING_GRADE_ORDER,
    HUMAN,
    PERSONAL_MODES,
    AttemptDetail,
    AttemptRecord,
    GradeRecord,
    dump_json,
)
from interviewer.history.redact import redact_secrets
from interviewer.history.reviews import refresh_review
from interviewer.history.times import to_iso

if TYPE_CHECKING:
    from datetime import datetime

    from interviewer.bank.library import Question
    from interviewer.grading.grade import Outcome

# The grade that counts: see records.COUNTING_GRADE_ORDER.
_ATTEMPT_COLUMNS = f"""
    a.id, a.session_id, s.mode, a.kind, a.parent_id, a.question_id, a.bank, a.topic,
    a.difficulty, a.language, a.question_sha,
    json_extract(q.question_json, '$.question') AS question_text,
    a.prompt, a.answer, a.hints_used, a.time_taken_ms, a.created_at,
    (SELECT g.id FROM grades AS g WHERE g.attempt_id = a.id
     ORDER BY {COUNTING_GRADE_ORDER} LIMIT 1) AS grade_id,
    (SELECT COUNT(*) FROM grades AS g WHERE g.attempt_id = a.id) AS grade_count
"""
_ATTEMPT_FROM = """
    FROM attempts AS a
    JOIN sessions AS s ON s.id = a.session_id
    LEFT JOIN question_versions AS q ON q.sha = a.question_sha
"""
_HAS_GOOD_GRADE = "EXISTS (SELECT 1 FROM grades AS g WHERE g.attempt_id = a.id AND g.graded = 1)"
_INSERT_GRADE = (
    "INSERT INTO grades (attempt_id, session_id, created_at, graded, score,"
    " final_score, grade_json, ungraded_reason, ungraded_detail, grader, model,"
    " endpoint, prompt_version, settings_json, question_sha, raw_reply,"
    " prompt_tokens, completion_tokens, tokens_estimated, duration_ms,"
    " samples_json, notices_json)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
# SQLite limits the number of parameters in one statement: look ids up in chunks.
_CHUNK = 500


def _marks(values: Sequence[Any]) -> str:
    return ",".join("?" * len(values))


class AttemptQueries(Database):
    """The part of the store that records attempts and grades and reads them back."""

    # ------------------------------------------------------------------ recording

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
                refresh_review(conn, question.id, zone=self._zone, now=self._now())
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

        ``final_score`` is the score with hints (and recovered key points) counted.
        ``session_id`` names the session that produced the grade (a regrade session); it
        defaults to the attempt's own.
        ``question_sha`` records which version of the question was graded against (default:
        the one the attempt was asked with). Only a successful grade of a main answer in a
        practice or mock session updates the question's review schedule.
        """
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
            values = self._grade_values(outcome, final_score)
            cursor = conn.execute(
                _INSERT_GRADE,
                (
                    attempt_id,
                    session_id or row["session_id"],
                    to_iso(self._now()),
                    *values,
                    question_sha or row["question_sha"],
                    *self._grade_provenance(outcome),
                ),
            )
            grade_id = cursor.lastrowid
            assert grade_id is not None
            if grade is not None and row["kind"] == "answer" and row["mode"] in PERSONAL_MODES:
                refresh_review(conn, row["question_id"], zone=self._zone, now=self._now())
        return grade_id

    def record_dispute(self, attempt_id: int, score: float, note: str = "") -> int:
        """Add a human grade to an answer; return the grade id.

        It sits beside the model grades (nothing is overwritten) and, being the latest human
        grade, is the one that counts for statistics and the review schedule. Stored as a
        grade row with grader kind ``human``, score and final score ``score`` and grade_json
        ``{"score": score, "note": note}``; model, endpoint and prompt version are empty.
        """
        if not 0 <= score <= 100:
            raise HistoryError(f"A score is 0 to 100; got {score:g}.")
        with self._write() as conn:
            row = conn.execute(
                "SELECT a.session_id, a.kind, a.question_id, a.question_sha, s.mode"
                " FROM attempts a JOIN sessions s ON s.id = a.session_id WHERE a.id = ?",
                (attempt_id,),
            ).fetchone()
            if row is None:
                raise HistoryError(
                    f"No attempt {attempt_id} in {self.path}; `interviewer history` lists them."
                )
            if row["kind"] == "skip":
                raise HistoryError(f"Attempt {attempt_id} was skipped: it has no answer to grade.")
            grade = dump_json({"score": score, "note": note})
            values = (1, score, score, grade, None, "", HUMAN, None, None, None, "{}")
            provenance = (None, None, None, 0, None, "[]", "[]")
            where = (attempt_id, row["session_id"], to_iso(self._now()))
            cursor = conn.execute(
                _INSERT_GRADE, (*where, *values, row["question_sha"], *provenance)
            )
            grade_id = cursor.lastrowid
            assert grade_id is not None
            if row["kind"] == "answer" and row["mode"] in PERSONAL_MODES:
                refresh_review(conn, row["question_id"], zone=self._zone, now=self._now())
        return grade_id

    def record_probe_credit(self, attempt_id: int, final_score: float) -> None:
        """Set the final score of an answer's latest successful grade to ``final_score``.

        A follow-up recovered key points the answer missed (docs/grading.md): its verdicts are
        unchanged, only the final score it counts with, so the review schedule is replayed.
        """
        with self._write() as conn:
            row = conn.execute(
                "SELECT a.kind, a.question_id, s.mode,"
                " (SELECT g.id FROM grades AS g WHERE g.attempt_id = a.id AND g.graded = 1"
                "  AND g.grader != ? ORDER BY g.id DESC LIMIT 1) AS grade_id"
                " FROM attempts a JOIN sessions s ON s.id = a.session_id WHERE a.id = ?",
                (HUMAN, attempt_id),
            ).fetchone()
            if row is None or row["grade_id"] is None:
                raise HistoryError(f"No graded attempt {attempt_id} in {self.path}.")
            conn.execute(
                "UPDATE grades SET final_score = ? WHERE id = ?", (final_score, row["grade_id"])
            )
            if row["kind"] == "answer" and row["mode"] in PERSONAL_MODES:
                refresh_review(conn, row["question_id"], zone=self._zone, now=self._now())

    @staticmethod
    def _grade_values(outcome: Outcome, final_score: float | None) -> tuple[Any, ...]:
        """The grade's columns from ``graded`` to ``settings_json``."""
        grade, info = outcome.grade, outcome.info
        return (
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
            dump_json(redact_secrets(info.settings)),
        )

    @staticmethod
    def _grade_provenance(outcome: Outcome) -> tuple[Any, ...]:
        """The grade's columns from ``raw_reply`` to ``notices_json``."""
        return (
            outcome.raw_reply,
            outcome.usage.prompt_tokens,
            outcome.usage.completion_tokens,
            int(outcome.usage.estimated),
            outcome.duration_ms,
            dump_json(outcome.samples),
            dump_json(outcome.notices),
        )

    # ------------------------------------------------------------------ reading

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
        for condition, value in (
            ("a.session_id = ?", session_id),
            ("lower(a.bank) = lower(?)", bank),
            ("lower(a.topic) = lower(?)", topic),
            ("a.difficulty = ?", difficulty.lower() if difficulty is not None else None),
            ("a.question_id = ?", question_id),
            ("a.created_at >= ?", to_iso(since) if since is not None else None),
            ("a.created_at < ?", to_iso(until) if until is not None else None),
        ):
            if value is not None:
                where.append(condition)
                params.append(value)
        if ungraded:
            where.append(f"a.kind != 'skip' AND NOT {_HAS_GOOD_GRADE}")
        if kinds is not None:
            where.append(f"a.kind IN ({_marks(kinds)})")
            params.extend(kinds)
        if modes is not None:
            where.append(f"s.mode IN ({_marks(modes)})")
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
        return [AttemptRecord.from_row(r, grades.get(r["grade_id"])) for r in rows]

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
            where.append(f"a.id IN ({_marks(ids)})" if ids else "0")
            params.extend(ids)
        return self._details(" AND ".join(where), params)

    def _details(self, where: str, params: list[Any]) -> list[AttemptDetail]:
        with self._lock:
            rows = self._read(
                f"SELECT {_ATTEMPT_COLUMNS}, q.question_json {_ATTEMPT_FROM}"
                f" WHERE {where} ORDER BY a.created_at, a.id",
                params,
            )
            children = self._follow_up_rows([r["id"] for r in rows])
            ids = [r["id"] for r in rows] + [c["id"] for cs in children.values() for c in cs]
            all_grades = self._grades_for(ids)

        def build(row: sqlite3.Row) -> AttemptDetail:
            grades = all_grades.get(row["id"], [])
            current = next((g for g in grades if g.id == row["grade_id"]), None)
            return AttemptDetail(
                attempt=AttemptRecord.from_row(row, current),
                grades=grades,
                follow_ups=[build(c) for c in children.get(row["id"], [])],
                question_json=row["question_json"],
            )

        return [build(r) for r in rows]

    def _follow_up_rows(self, top_ids: list[int]) -> dict[int, list[sqlite3.Row]]:
        """Every follow-up below ``top_ids``, by the id of the attempt it follows."""
        # Follow-ups may chain (a follow-up of a follow-up): walk down level by level.
        children: dict[int, list[sqlite3.Row]] = {}
        frontier = list(top_ids)
        seen = set(frontier)
        while frontier:
            level = self._read(
                f"SELECT {_ATTEMPT_COLUMNS}, q.question_json {_ATTEMPT_FROM}"
                f" WHERE a.parent_id IN ({_marks(frontier)})"
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
        return children

    def _grades_for(self, attempt_ids: list[int]) -> dict[int, list[GradeRecord]]:
        found: dict[int, list[GradeRecord]] = {}
        for start in range(0, len(attempt_ids), _CHUNK):
            chunk = attempt_ids[start : start + _CHUNK]
            rows = self._read(
                f"SELECT * FROM grades WHERE attempt_id IN ({_marks(chunk)}) ORDER BY id", chunk
            )
            for row in rows:
                found.setdefault(row["attempt_id"], []).append(GradeRecord.from_row(row))
        return found

    def _grades_by_id(self, grade_ids: list[int]) -> dict[int, GradeRecord]:
        found: dict[int, GradeRecord] = {}
        for start in range(0, len(grade_ids), _CHUNK):
            chunk = grade_ids[start : start + _CHUNK]
            rows = self._read(f"SELECT * FROM grades WHERE id IN ({_marks(chunk)})", chunk)
            found.update((row["id"], GradeRecord.from_row(row)) for row in rows)
        return found

    def question_snapshot(self, sha: str) -> Question | None:
        """The question as stored with an attempt (by its sha), or None if not stored."""
        from interviewer.bank.library import Question

        rows = self._read("SELECT question_json FROM question_versions WHERE sha = ?", (sha,))
        if not rows:
            return None
        return Question.model_validate_json(rows[0]["question_json"])
