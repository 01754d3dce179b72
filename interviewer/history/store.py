"""The history database: sessions, attempts, every grade, and the review schedule.

``HistoryStore`` wraps one SQLite file (``config.db_path()``). It is assembled from parts
that each own one concern, all sharing one connection (``database.Database``: opening,
migrating, one transaction per write, error messages):

- ``sessions.SessionQueries``: start, end, find and list sessions;
- ``attempts.AttemptQueries``: record answers, skips and grades (an answer is committed
  before it is graded, grades are never overwritten) and read them back;
- ``reviews.ReviewQueries``: the review schedule, derived from attempts and grades.

What it stores is read back as the records in ``records``; no secret is stored
(``redact.redact_secrets``); times are UTC text (``times``).

Import cost matters (practice start-up is measured): these modules import only the standard
library at load time; pydantic models and the scheduler are imported when first used.
"""

from __future__ import annotations

from datetime import tzinfo
from pathlib import Path

from interviewer.history.attempts import AttemptQueries
from interviewer.history.reviews import ReviewQueries
from interviewer.history.sessions import SessionQueries
from interviewer.history.times import Clock


class HistoryStore(AttemptQueries, SessionQueries, ReviewQueries):
    """The history database. Thread-safe; one instance per process is enough.

    ``clock`` returns the current time (timezone-aware); tests pass a simulated clock to
    run several days of practice in a second. ``zone`` is the time zone whose days review
    due dates are rounded to (default: the local one).
    """

    def __init__(
        self, path: Path, *, clock: Clock | None = None, zone: tzinfo | None = None
    ) -> None:
        super().__init__(path, clock=clock, zone=zone)
        if "m003_review_state" in self.applied_migrations:
            # Review state is derived data: a database that predates it gets it now.
            try:
                self.rebuild_reviews()
            except BaseException:
                self.close()
                raise

    @classmethod
    def open_default(cls) -> HistoryStore:
        """Open the database where the config says it lives (INTERVIEWER_DB / HOME)."""
        from interviewer.config import db_path

        return cls(db_path())
