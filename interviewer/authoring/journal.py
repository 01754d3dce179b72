"""The resumable journal of a drafting run, and the small concurrent loop that fills it.

``bank enrich`` keeps one JSONL journal beside its draft (``DRAFT.journal.jsonl``): a line
per question whose reply arrived, written and fsynced as soon as it arrives, keyed by the
question id and a hash of what the reply was drafted from. A second run with the same
``--out`` sends only what the journal lacks; an interrupted run loses no finished reply, and
a line cut short by a crash is ignored (and trimmed) on the next run.

Why not the batch engine (``batch/run.py`` and ``batch/results.py``): both are built around
grading, with rows that are (question, answer) pairs, a ``Grader`` that returns an
``Outcome``, and a results file whose lines are grades keyed by answer hashes. A draft reply
is none of these, and bending them to carry it would make the grading path harder to follow
for every reader. What drafting needs is much smaller: a thread pool over one endpoint that
stops at a fatal endpoint error, and an append-only file of finished replies.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, TypeVar

from interviewer.errors import EndpointError, InputError, is_fatal

T = TypeVar("T")
R = TypeVar("R")


def journal_path(draft: Path) -> Path:
    return draft.with_name(draft.name + ".journal.jsonl")


def source_hash(*parts: str) -> str:
    """A hash of what a reply was drafted from: a changed question is drafted again."""
    blob = json.dumps(parts, ensure_ascii=False).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


class Journal:
    """An append-only JSONL file of finished replies; safe to append from many threads."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()

    def load(self) -> dict[str, dict[str, Any]]:
        """The journalled records by key; a trailing partial line is trimmed off the file."""
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return {}
        except OSError as exc:
            raise InputError(f"{self.path}: cannot read the journal ({exc.strerror}).") from None
        whole = raw[: raw.rfind(b"\n") + 1]
        if len(whole) != len(raw):
            with self.path.open("r+b") as handle:
                handle.truncate(len(whole))
        records: dict[str, dict[str, Any]] = {}
        for number, line in enumerate(whole.splitlines(), 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except ValueError:
                raise InputError(
                    f"{self.path}:{number}: not a journal line; delete the journal to start over."
                ) from None
            if isinstance(record, dict) and isinstance(record.get("key"), str):
                records[record["key"]] = record
        return records

    def append(self, record: dict[str, Any]) -> None:
        line = json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n"
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a", encoding="utf-8") as handle:
                handle.write(line)
                handle.flush()
                os.fsync(handle.fileno())


@dataclass
class RunReport(Generic[T]):
    """What a concurrent run finished, what failed and why, and whether it was cut short."""

    done: int = 0
    failed: list[tuple[T, str]] = field(default_factory=list)
    stopped: str | None = None  # the fatal endpoint error that ended the run


def run_concurrently(
    tasks: Iterable[T],
    work: Callable[[T], R],
    finished: Callable[[T, R], None],
    *,
    concurrency: int,
) -> RunReport[T]:
    """Run ``work`` over ``tasks`` on ``concurrency`` threads, ``finished`` called on the
    worker thread as each result arrives (so an interrupt cannot lose it).

    A fatal endpoint error stops handing out tasks; the ones in flight finish. Other errors
    (an endpoint hiccup, a reply that stayed unusable) are reported per task.
    """
    report: RunReport[T] = RunReport()
    pending = list(tasks)
    pending.reverse()

    def job(task: T) -> None:
        finished(task, work(task))

    with ThreadPoolExecutor(max_workers=max(1, concurrency)) as pool:
        running: dict[Future[None], T] = {}
        try:
            while pending or running:
                while pending and report.stopped is None and len(running) < concurrency:
                    task = pending.pop()
                    running[pool.submit(job, task)] = task
                if not running:
                    break
                ready, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in ready:
                    _settle(report, running.pop(future), future)
        except BaseException:
            for future in running:
                future.cancel()
            raise
    return report


def _settle(report: RunReport[T], task: T, future: Future[None]) -> None:
    error = future.exception()
    if error is None:
        report.done += 1
        return
    if not isinstance(error, EndpointError):
        raise error  # a bug, not a reply or endpoint problem: never hide it
    if isinstance(error, EndpointError) and is_fatal(error):
        report.stopped = report.stopped or str(error)
    report.failed.append((task, str(error)))
