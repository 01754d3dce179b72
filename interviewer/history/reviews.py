"""The review schedule in the history store: derived from attempts, read for practice.

A question's review state (its FSRS card and due date, table ``reviews``) is never edited
in place: ``refresh_review`` replays every graded answer and skip of the question from
practice and mock sessions, oldest first. A regrade therefore corrects the schedule instead
of counting as one more review, and ungraded answers never touch it.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime, tzinfo

from interviewer.history.database import Database
from interviewer.history.records import COUNTING_GRADE_ORDER, ReviewRecord
from interviewer.history.times import from_iso, to_iso

_REVIEW_EVENTS = f"""
    SELECT a.kind, a.created_at, a.bank,
      (SELECT COALESCE(g.final_score, g.score) FROM grades AS g
       WHERE g.attempt_id = a.id AND g.graded = 1
       ORDER BY {COUNTING_GRADE_ORDER} LIMIT 1) AS score
    FROM attempts AS a JOIN sessions AS s ON s.id = a.session_id
    WHERE a.question_id = ? AND a.kind IN ('answer', 'skip')
      AND s.mode IN ('practice', 'mock')
    ORDER BY a.created_at, a.id
"""
_UPSERT_REVIEW = """
    INSERT INTO reviews (question_id, bank, card_json, due, last_rating,
                         last_review_at, review_count, lapses, updated_at)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
    ON CONFLICT (question_id) DO UPDATE SET
      bank = excluded.bank, card_json = excluded.card_json, due = excluded.due,
      last_rating = excluded.last_rating, last_review_at = excluded.last_review_at,
      review_count = excluded.review_count, lapses = excluded.lapses,
      updated_at = excluded.updated_at
"""


def refresh_review(
    conn: sqlite3.Connection, question_id: str, *, zone: tzinfo | None, now: datetime
) -> None:
    """Recompute one question's card from its reviews, inside the caller's transaction."""
    # The scheduler (fsrs) loads only when a review changes: listing history never needs it.
    from interviewer.history import scheduling

    events = []
    bank = None
    for row in conn.execute(_REVIEW_EVENTS, (question_id,)).fetchall():
        if row["kind"] == "skip":
            rating = scheduling.SKIP_RATING
        elif row["score"] is not None:
            rating = scheduling.rating_for_score(row["score"])
        else:
            continue  # ungraded: never touches the schedule
        events.append(scheduling.ReviewEvent(at=from_iso(row["created_at"]), rating=rating))
        bank = row["bank"]
    state = scheduling.replay(events, zone)
    if state is None:
        conn.execute("DELETE FROM reviews WHERE question_id = ?", (question_id,))
        return
    conn.execute(
        _UPSERT_REVIEW,
        (
            question_id,
            bank,
            state.card_json,
            to_iso(state.due),
            state.last_rating,
            to_iso(state.last_review_at),
            state.review_count,
            state.lapses,
            to_iso(now),
        ),
    )


class ReviewQueries(Database):
    """The part of the store that rebuilds and reads the review schedule."""

    def rebuild_reviews(self) -> None:
        """Recompute every question's review state from attempts and grades."""
        with self._write() as conn:
            ids = [r[0] for r in conn.execute("SELECT DISTINCT question_id FROM attempts")]
            for question_id in ids:
                refresh_review(conn, question_id, zone=self._zone, now=self._now())

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
        return [ReviewRecord.from_row(r) for r in rows]

    def seen_question_ids(self) -> set[str]:
        """Questions answered or skipped at least once in a practice or mock session."""
        rows = self._read(
            "SELECT DISTINCT a.question_id FROM attempts a JOIN sessions s"
            " ON s.id = a.session_id WHERE s.mode IN ('practice', 'mock')"
        )
        return {str(r[0]) for r in rows}
