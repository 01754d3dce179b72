"""What the history database holds, as read back: grades, attempts, sessions, reviews.

Frozen records built from database rows (``from_row``), with the derived facts every reader
needs (the score that counts, an attempt's status) and ``to_dict`` for JSON output and
exports. The words a record uses for its session mode and attempt kind are defined here.

Only the standard library is imported at load time (practice start-up is measured); the
pydantic models behind ``GradeRecord.grade`` and ``AttemptDetail.question`` load on use.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from interviewer.history.times import from_iso

if TYPE_CHECKING:
    from interviewer.bank.library import Question
    from interviewer.grading.grade import Grade

MODES: tuple[str, ...] = ("practice", "mock", "batch", "regrade")
KINDS: tuple[str, ...] = ("answer", "follow_up", "skip")
# Sessions in which the candidate answered from memory: only these feed the review
# schedule and the statistics. A batch grades answers from a file (often not the user's own).
PERSONAL_MODES: tuple[str, ...] = ("practice", "mock")
# The grader kind of a grade a person gave (`interviewer history dispute`).
HUMAN = "human"
# Which of an attempt's grades counts, as an SQL ORDER BY over ``grades AS g``: a successful
# grade over an ungraded one, then the latest human grade over any model grade, then the
# latest. Every query that picks "the" grade of an attempt uses this order.
COUNTING_GRADE_ORDER = f"g.graded DESC, g.grader = '{HUMAN}' DESC, g.id DESC"


def dump_json(value: Any) -> str:
    """JSON text for a settings, report or list column."""
    # Key order is kept as given: a report reads best in the order its author chose.
    return json.dumps(value, ensure_ascii=False, default=str)


def load_json(text: str | None, default: Any) -> Any:
    """A JSON column's value; ``default`` when it is empty or not JSON (edited by hand)."""
    if not text:
        return default
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return default


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

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> GradeRecord:
        """A grade from a ``SELECT * FROM grades`` row."""
        return cls(
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
            settings=load_json(row["settings_json"], {}),
            question_sha=row["question_sha"],
            raw_reply=row["raw_reply"],
            prompt_tokens=row["prompt_tokens"],
            completion_tokens=row["completion_tokens"],
            tokens_estimated=bool(row["tokens_estimated"]),
            duration_ms=row["duration_ms"],
            samples=load_json(row["samples_json"], []),
            notices=load_json(row["notices_json"], []),
        )

    @property
    def effective_score(self) -> float | None:
        """The score that counts: with hints and key points recovered on follow-ups counted."""
        if not self.graded:
            return None
        return self.final_score if self.final_score is not None else self.score

    @property
    def grade(self) -> Grade | None:
        """The full grade (criteria, key points, feedback), or None when ungraded/unreadable."""
        if not self.grade_json or self.human:
            return None
        from pydantic import ValidationError

        from interviewer.grading.grade import Grade

        try:
            return Grade.model_validate_json(self.grade_json)
        except ValidationError:
            return None

    @property
    def human(self) -> bool:
        """A grade a person gave (a dispute), not a grader."""
        return self.grader == HUMAN

    @property
    def note(self) -> str:
        """The note a person left with a human grade ("" for none and for model grades)."""
        data = load_json(self.grade_json, None) if self.human else None
        return str(data.get("note") or "") if isinstance(data, dict) else ""

    @property
    def grader_label(self) -> str:
        if self.grader in ("offline", HUMAN):
            return self.grader
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
            "grade": load_json(self.grade_json, None),
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

    @classmethod
    def from_row(cls, row: sqlite3.Row, grade: GradeRecord | None) -> AttemptRecord:
        """An attempt from a row of the attempt query, with the grade that counts."""
        return cls(
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
        snapshot = load_json(self.question_json, None)
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

    @classmethod
    def from_row(cls, row: sqlite3.Row, graded: int, mean_score: float | None) -> SessionRecord:
        """A session from a row of the session query, with its graded answers' count and mean."""
        return cls(
            id=row["id"],
            mode=row["mode"],
            started_at=from_iso(row["started_at"]),
            ended_at=from_iso(row["ended_at"]) if row["ended_at"] else None,
            grader=row["grader"],
            model=row["model"],
            endpoint=row["endpoint"],
            prompt_version=row["prompt_version"],
            settings=load_json(row["settings_json"], {}),
            report=load_json(row["report_json"], None),
            answers=row["n_answers"],
            skips=row["n_skips"],
            follow_ups=row["n_follow_ups"],
            graded=graded,
            mean_score=mean_score,
        )

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

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> ReviewRecord:
        """A review state from a ``SELECT * FROM reviews`` row."""
        return cls(
            question_id=row["question_id"],
            bank=row["bank"],
            due=from_iso(row["due"]),
            last_rating=row["last_rating"],
            last_review_at=from_iso(row["last_review_at"]) if row["last_review_at"] else None,
            review_count=row["review_count"],
            lapses=row["lapses"],
            card_json=row["card_json"],
        )

    @property
    def stability_days(self) -> float | None:
        value = load_json(self.card_json, {}).get("stability")
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
