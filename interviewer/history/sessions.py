"""Sessions in the history store: starting and ending one, finding and listing them.

A session is one run of practice, a mock interview, a batch or a regrade. It records the
grader that ran it (kind, model, endpoint, prompt version) and its settings with secrets
removed; a mock interview adds its report when it ends.
"""

from __future__ import annotations

import re
import uuid
from typing import TYPE_CHECKING, Any

from interviewer.errors import HistoryError
from interviewer.history.database import Database
from interviewer.history.records import COUNTING_GRADE_ORDER, MODES, SessionRecord, dump_json
from interviewer.history.redact import redact_secrets
from interviewer.history.times import to_iso

if TYPE_CHECKING:
    from datetime import datetime

    from interviewer.grading.grade import GraderInfo

# Per session: how many main answers have a successful grade, and the mean of their scores.
_SESSION_SCORES = f"""
    SELECT session_id, COUNT(sc) AS n, AVG(sc) AS mean FROM (
      SELECT a.session_id,
        (SELECT COALESCE(g.final_score, g.score) FROM grades AS g
         WHERE g.attempt_id = a.id AND g.graded = 1
         ORDER BY {COUNTING_GRADE_ORDER} LIMIT 1) AS sc
      FROM attempts AS a
      WHERE a.kind = 'answer' AND a.session_id IN ({{marks}})
    ) WHERE sc IS NOT NULL GROUP BY session_id
"""


class SessionQueries(Database):
    """The part of the store that writes and reads sessions."""

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
                    dump_json(grader_data),
                    dump_json(redact_secrets(settings or {})),
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
                    dump_json(redact_secrets(report)) if report is not None else None,
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
        return [SessionRecord.from_row(row, *scores.get(row["id"], (0, None))) for row in rows]

    def _session_scores(self, session_ids: list[str]) -> dict[str, tuple[int, float | None]]:
        """Per session: how many main answers have a grade, and their mean score."""
        found: dict[str, tuple[int, float | None]] = {}
        for start in range(0, len(session_ids), 500):
            chunk = session_ids[start : start + 500]
            rows = self._read(_SESSION_SCORES.format(marks=",".join("?" * len(chunk))), chunk)
            for row in rows:
                found[row["session_id"]] = (row["n"], round(row["mean"], 1))
        return found

    def session(self, session_id: str) -> SessionRecord:
        """One session, by its id or a unique prefix of it."""
        found = self.sessions(session_id=self.resolve_session_id(session_id))
        return found[0]
