"""The connection under the history store: opening, migrating, transactions, errors.

``Database`` owns one SQLite connection and is the base of every part of ``HistoryStore``.
What it guarantees:

- A database from a newer interviewer is refused before anything touches it; an older one
  is migrated (``migrations.migrate``) in one transaction.
- Several processes may write at once (two practice sessions): WAL journal plus a busy
  timeout, and write transactions take the lock up front so they queue instead of failing.
- Each write is one transaction (``_write``): a crash mid-write leaves no partial rows.
- SQLite's errors reach the user as one HistoryError naming the file and the fix.
- A new database file is readable by its owner only: answers are personal.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from interviewer.errors import HistoryError
from interviewer.history import migrations
from interviewer.history.times import Clock

BUSY_TIMEOUT_MS = 15_000


class Database:
    """One SQLite history file, open and migrated. Thread-safe: every use takes one lock.

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
        #: The migrations this opening applied (empty when the schema was current).
        self.applied_migrations: list[str] = []
        self._conn = self._open()

    def _create_file(self) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise HistoryError(
                f"Cannot create {self.path.parent} for the history database ({exc.strerror});"
                " set INTERVIEWER_HOME or INTERVIEWER_DB to a writable place."
            ) from None
        if not self.path.exists():
            # SQLite gives the -wal and -shm files the permissions of the database.
            try:
                os.close(os.open(self.path, os.O_CREAT | os.O_WRONLY, 0o600))
            except OSError as exc:
                raise HistoryError(
                    f"Cannot create {self.path} ({exc.strerror}); set INTERVIEWER_DB to a"
                    " writable file."
                ) from None

    def _open(self) -> sqlite3.Connection:
        self._create_file()
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
            self.applied_migrations = migrations.migrate(conn, self.path)
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

    def __enter__(self) -> Self:
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
