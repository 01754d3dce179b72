"""The results file (append-only JSONL, resumable), the errors file and result lines.

The results file holds one complete line per row, written with a single ``os.write`` and
fsync'ed in small batches, under an exclusive lock. On start the existing lines are read
(``load_results``): a torn last line left by a killed process is cut off, and rows whose key
already has a line are skipped (``--retry-ungraded`` re-grades those whose latest line is
ungraded). Later lines win, so nothing is ever rewritten.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from interviewer.batch.input_rows import BadRow
from interviewer.errors import InputError
from interviewer.files import AtomicFile
from interviewer.grading.grade import Outcome
from interviewer.safe_text import spreadsheet_cell

if TYPE_CHECKING:
    from interviewer.batch.rows import RowTask

RESULTS_SCHEMA = 1
FSYNC_EVERY = 256
FSYNC_INTERVAL = 1.0
# A concurrent run writes its lines in groups: each write call hands the GIL to the worker
# threads and waits to take it back, which would otherwise pace the whole run.
WRITE_EVERY = 256
WRITE_INTERVAL = 0.1


@dataclass
class ResultsState:
    """What an existing results file says: the latest status of each row key."""

    path: Path
    status: dict[str, bool] = field(default_factory=dict)  # key -> graded?
    lines: int = 0
    torn_bytes: int = 0
    corrupt_lines: list[int] = field(default_factory=list)
    completion_tokens: int = 0
    completion_samples: int = 0

    def is_done(self, key: str, *, retry_ungraded: bool) -> bool:
        graded = self.status.get(key)
        if graded is None:
            return False
        return graded or not retry_ungraded

    @property
    def mean_completion_tokens(self) -> float | None:
        if not self.completion_samples:
            return None
        return self.completion_tokens / self.completion_samples


def load_results(path: Path, *, repair: bool) -> ResultsState:
    """Read a results file; with ``repair``, cut off a torn last line (a killed writer's).

    Only the last line can be torn: every line is written whole by one write call. A bad
    line elsewhere is reported in ``corrupt_lines`` and ignored.
    """
    state = ResultsState(path)
    if not path.exists():
        return state
    good_end = 0
    try:
        with path.open("rb") as fh:
            for number, raw in enumerate(fh, start=1):
                complete = raw.endswith(b"\n")
                try:
                    record = json.loads(raw)
                    key = record["key"]
                    graded = bool(record["graded"])
                except (ValueError, KeyError, TypeError):
                    if complete:
                        state.corrupt_lines.append(number)
                        good_end += len(raw)
                    continue
                if not complete:
                    # A complete JSON object without its newline: keep it, add the newline.
                    if repair:
                        with path.open("ab") as fix:
                            fix.write(b"\n")
                    good_end += len(raw) + 1
                else:
                    good_end += len(raw)
                state.lines += 1
                state.status[key] = graded
                usage = record.get("outcome", {}).get("usage") or {}
                if graded and not usage.get("estimated") and usage.get("completion_tokens"):
                    state.completion_tokens += int(usage["completion_tokens"])
                    state.completion_samples += 1
        size = path.stat().st_size
    except OSError as exc:
        raise InputError(f"{path}: cannot read the results file ({exc.strerror}).") from None
    if size > good_end:
        state.torn_bytes = size - good_end
        if repair and not _torn_record(path, good_end):
            raise InputError(
                f"{path}: the last line is not a result record cut short, so it is not cut"
                " off; remove it by hand or choose another --out."
            )
        if repair:
            with path.open("r+b") as fh:
                fh.truncate(good_end)
    return state


def _torn_record(path: Path, offset: int) -> bool:
    """Whether the bytes from ``offset`` can be a result line cut short: a JSON object's
    start (written text, a spreadsheet row or notes cannot)."""
    with path.open("rb") as fh:
        fh.seek(offset)
        return fh.read(1) == b"{"


class ResultsWriter:
    """Append whole lines to the results file; hold an exclusive lock while open."""

    def __init__(self, path: Path, *, fsync_every: int = FSYNC_EVERY) -> None:
        self.path = path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        except OSError as exc:
            raise InputError(f"{path}: cannot write the results file ({exc.strerror}).") from None
        if not _try_lock(self._fd):
            os.close(self._fd)
            raise InputError(
                f"{path}: another `interviewer grade` is writing this results file; wait for"
                " it to finish or choose another --out."
            )
        self._fsync_every = fsync_every
        self._pending: list[bytes] = []
        self._last_write = time.monotonic()
        self._unsynced = 0
        self._last_sync = time.monotonic()
        self.written = 0

    def write(self, record: dict[str, Any]) -> None:
        """Append one record as a line, now."""
        self.add(encode_record(record))
        self.flush()

    def add(self, line: bytes) -> None:
        """Queue one whole line (see ``result_line``); ``flush`` writes the queued lines."""
        self._pending.append(line)

    def flush_due(self) -> None:
        """``flush`` when enough lines are queued or the oldest has waited long enough."""
        if len(self._pending) >= WRITE_EVERY or (
            self._pending and time.monotonic() - self._last_write >= WRITE_INTERVAL
        ):
            self.flush()

    def flush(self) -> None:
        """Write the queued lines with one write call, then fsync if one is due.

        Lines are only ever written whole and in order, so a writer killed mid-write tears
        at most the last line, which the next run cuts off.
        """
        if not self._pending:
            return
        count = len(self._pending)
        self._last_write = time.monotonic()
        view = memoryview(b"".join(self._pending))
        self._pending.clear()
        try:
            while view:
                done = os.write(self._fd, view)
                view = view[done:]
        except OSError as exc:
            raise self._write_error(exc) from None
        self.written += count
        self._unsynced += count
        now = time.monotonic()
        if self._unsynced >= self._fsync_every or now - self._last_sync >= FSYNC_INTERVAL:
            self.sync()

    def sync(self) -> None:
        if self._pending:
            self.flush()
            return  # flush() synced if it was due; else the interval has not passed
        if self._unsynced:
            try:
                os.fsync(self._fd)
            except OSError as exc:
                raise self._write_error(exc) from None
            self._unsynced = 0
        self._last_sync = time.monotonic()

    def _write_error(self, exc: OSError) -> InputError:
        """A full disk (or quota, or file size limit): stop, keeping every line written."""
        return InputError(
            f"{self.path}: cannot write the results file ({exc.strerror}); the rows written so"
            " far are kept: free some space, then re-run the same command to finish."
        )

    def close(self) -> None:
        if self._fd < 0:
            return
        with contextlib.suppress(OSError):
            self.sync()
        os.close(self._fd)  # closing releases the lock
        self._fd = -1

    def __enter__(self) -> ResultsWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _try_lock(fd: int) -> bool:
    if sys.platform == "win32":  # pragma: no cover - locking is advisory and POSIX-only here
        return True
    import fcntl

    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False
    return True


def _record_head(task: RowTask, outcome: Outcome, duplicate_of: str | None) -> dict[str, Any]:
    row, question = task.row, task.question
    record: dict[str, Any] = {
        "key": task.key,
        "hash": task.hash,
        "occurrence": task.occurrence,
        "source": row.source,
        "row": row.row,
        "line": row.line,
        "id": row.id,
        "candidate": row.candidate,
        "question_id": question.id,
        "bank": question.bank or None,
        "question": question.question,
        "answer": row.answer,
        "graded": outcome.graded,
        "score": outcome.score,
        "ungraded_reason": outcome.ungraded_reason,
        "graded_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "schema": RESULTS_SCHEMA,
    }
    if duplicate_of is not None:
        record["duplicate_of"] = duplicate_of
    return record


def result_record(
    task: RowTask, outcome: Outcome, *, duplicate_of: str | None = None
) -> dict[str, Any]:
    """The results line for one row: its identity first, then the complete outcome."""
    record = _record_head(task, outcome, duplicate_of)
    record["outcome"] = outcome.model_dump(mode="json")
    return record


def result_line(
    task: RowTask, outcome: Outcome, *, duplicate_of: str | None = None, outcome_json: bytes = b""
) -> bytes:
    """``result_record`` encoded as one line, the same fields in the same order.

    The outcome is serialised by pydantic straight to JSON (pass ``outcome_json`` to reuse
    it for identical rows), which costs a fraction of building and encoding its dict; the
    run's coordinator writes every line, so its cost bounds the whole run.
    """
    head = encode_record(_record_head(task, outcome, duplicate_of))
    return b"".join((head[:-2], b',"outcome":', outcome_json or outcome_to_json(outcome), b"}\n"))


def outcome_to_json(outcome: Outcome) -> bytes:
    """The outcome as compact JSON, as it appears in a results line."""
    return outcome.model_dump_json().encode()


def encode_record(record: dict[str, Any]) -> bytes:
    """One results line: compact JSON, UTF-8, newline-terminated."""
    return (json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n").encode()


class ErrorsWriter:
    """Bad rows as CSV (source, row, line, id, reason); created only when there is one."""

    HEADER = ("source", "row", "line", "id", "reason")

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._file: AtomicFile | None = None
        self._fh: io.TextIOWrapper | None = None
        self._writer: Any = None
        self.count = 0

    def add(self, bad: BadRow) -> None:
        self.count += 1
        if self.path is None:
            return
        if self._writer is None:
            try:
                self._file = AtomicFile(self.path)
            except OSError as exc:
                raise InputError(
                    f"{self.path}: cannot write the errors file ({exc.strerror})."
                ) from None
            self._fh = io.TextIOWrapper(self._file.handle, encoding="utf-8", newline="")
            self._writer = csv.writer(self._fh)
            self._writer.writerow(self.HEADER)
        row = (bad.source, bad.row, bad.line, bad.id or "", bad.reason)
        self._writer.writerow([spreadsheet_cell(cell) for cell in row])

    def close(self) -> None:
        """Put the list in place (whole, in one rename) or remove an earlier run's list."""
        if self._fh is not None and self._file is not None:
            fh, target = self._fh, self._file
            self._fh = self._file = None
            try:
                fh.flush()
                fh.detach()  # commit() closes the handle itself
                target.commit()
            except OSError as exc:
                target.discard()
                raise InputError(
                    f"{self.path}: cannot write the errors file ({exc.strerror})."
                ) from None
        elif self.path is not None and self.count == 0 and self.path.exists():
            self.path.unlink()  # a previous run's list no longer applies


class ResultSink(Protocol):
    """Where result lines go: a ResultsWriter, or nowhere for a timing sample."""

    def add(self, line: bytes) -> None: ...

    def flush(self) -> None: ...

    def flush_due(self) -> None: ...

    def sync(self) -> None: ...


class NullWriter:
    """Stands in for ResultsWriter when a sample must not be recorded."""

    written = 0

    def add(self, line: bytes) -> None:
        self.written += 1

    def flush(self) -> None:
        pass

    def flush_due(self) -> None:
        pass

    def sync(self) -> None:
        pass
