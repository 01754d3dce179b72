"""Batch grading: many written answers, graded concurrently, resumably and idempotently.

The pieces, in the order a run uses them:

* ``RowResolver`` turns an input row into a ``RowTask``: the bank question it names (or an
  ad-hoc question built from the row, with key points derived from the reference when the
  row has none) and a **content hash** of everything that determines the grade (question,
  reference, key points, rubric, answer, grader kind, model, prompt version, settings).
  Identical rows get the same hash; the n-th repeat of a hash gets key ``HASH#n`` so that
  every input row still has a result line of its own.
* The **results file** is append-only JSONL, one complete line per row, written with a
  single ``os.write`` and fsync'ed in small batches, under an exclusive lock. On start the
  existing lines are read (``load_results``): a torn last line left by a killed process is
  cut off, and rows whose key already has a line are skipped (``--retry-ungraded`` re-grades
  those whose latest line is ungraded). Later lines win, so nothing is ever rewritten.
* ``scan_inputs`` is a first streaming pass: it counts rows, writes bad rows to the errors
  file and works out how many rows need grading (for the progress bar and ``--dry-run``).
* ``pending_tasks`` streams the rows to grade, sorted by question within a bounded window so
  that requests sharing a prompt prefix reach the server together (prefix caching) while
  memory stays bounded by the window, not the file.
* ``run_batch`` grades them: a coordinator (the calling thread) hands rows to worker threads,
  one pool per replica, each replica with its own in-flight limit. A fatal endpoint error
  (``errors.is_fatal``) takes a replica out of the rotation and the row is retried on another;
  when no replica is left the batch stops. A non-fatal error is retried on another replica if
  there is one, else the row is recorded ungraded(endpoint_error); a replica failing several
  times in a row is benched for a cool-down. The offline grader runs inline (it is CPU-bound,
  threads would not help). Setting ``stop`` finishes in-flight rows and returns; setting
  ``abandon`` returns at once; either way only whole lines are ever written.
* ``estimate_batch`` (``--dry-run``), ``export_batch`` (OpenAI Batch API JSONL, also read by
  vLLM ``run-batch``) and ``import_batch`` (their output, parsed exactly like a live reply).
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import json
import os
import queue
import sys
import threading
import time
from collections import Counter, OrderedDict, deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, Protocol
from urllib.parse import urlsplit

from pydantic import ValidationError

from interviewer.bank.library import Library, Question
from interviewer.batch.inputs import BadRow, InputReader, InputRow
from interviewer.config import EndpointProfile
from interviewer.errors import EndpointError, InputError, is_fatal
from interviewer.grading.grade import Grader, GraderInfo, Outcome

RESULTS_SCHEMA = 1
DEFAULT_WINDOW = 2000
FIRST_WINDOW = 128
KEY_POINT_LIMIT = 6
# A replica failing this many requests in a row is benched while others are healthy.
BENCH_AFTER = 3
BENCH_SECONDS = 15.0
FSYNC_EVERY = 256
FSYNC_INTERVAL = 1.0
# OpenAI Batch API limits per input file (vLLM run-batch has none, but splitting is harmless).
BATCH_MAX_REQUESTS = 50_000
BATCH_MAX_BYTES = 190 * 1024 * 1024
# Settings that may change while a run negotiates with a server, or that name the server:
# they must not change a row's identity, or a resumed run would re-grade everything.
VOLATILE_SETTINGS = frozenset({"contract", "endpoint", "base_url", "base_urls", "url"})

# USD per million tokens (input, output), as published by the vendors (late 2025 / early
# 2026). Prices change: override or extend them in config.toml, e.g.
#   [prices."gpt-4o-mini"]
#   input = 0.15
#   output = 0.60
# A model is matched by exact name, then by the longest listed prefix (gpt-4o-mini-2024-07-18
# uses gpt-4o-mini). OpenAI's Batch API bills half of these prices.
DEFAULT_PRICES: dict[str, dict[str, float]] = {
    "gpt-5": {"input": 1.25, "output": 10.00},
    "gpt-5-mini": {"input": 0.25, "output": 2.00},
    "gpt-5-nano": {"input": 0.05, "output": 0.40},
    "gpt-4.1": {"input": 2.00, "output": 8.00},
    "gpt-4.1-mini": {"input": 0.40, "output": 1.60},
    "gpt-4.1-nano": {"input": 0.10, "output": 0.40},
    "gpt-4o": {"input": 2.50, "output": 10.00},
    "gpt-4o-mini": {"input": 0.15, "output": 0.60},
    "o4-mini": {"input": 1.10, "output": 4.40},
    "deepseek-chat": {"input": 0.28, "output": 0.42},
    "deepseek-reasoner": {"input": 0.28, "output": 0.42},
}


# --------------------------------------------------------------------------- rows


@dataclass(frozen=True, slots=True)
class RowTask:
    """An input row resolved to the question it answers, with its identity."""

    row: InputRow
    question: Question
    hash: str
    occurrence: int = 0

    @property
    def key(self) -> str:
        """The row's key in the results file: its hash, plus ``#n`` for the n-th repeat."""
        return self.hash if self.occurrence == 0 else f"{self.hash}#{self.occurrence}"


def identity_info(info: GraderInfo) -> dict[str, Any]:
    """The parts of a grader's description that determine a grade (not where it ran)."""
    settings = {k: v for k, v in info.settings.items() if k not in VOLATILE_SETTINGS}
    return {
        "kind": info.kind,
        "model": info.model,
        "prompt_version": info.prompt_version,
        "settings": settings,
    }


def row_hash(question: Question, answer: str, info: GraderInfo) -> str:
    """The content hash of one row: same inputs and grader, same hash, same grade."""
    payload = {
        "question": question.question,
        "reference": question.full_reference,
        "key_points": question.key_points,
        "rubric": [c.model_dump() for c in question.criteria],
        "language": question.language,
        "answer": answer,
        "grader": identity_info(info),
    }
    blob = json.dumps(payload, ensure_ascii=False, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:32]


class RowResolver:
    """Resolve input rows to RowTasks; numbers repeats of the same hash.

    Use one resolver per pass over the input, so that the n-th repeat of a row gets the
    same key on every pass and every run.
    """

    def __init__(self, library: Library | None, info: GraderInfo, *, cache_size: int = 512):
        self._info = info
        self._by_id: dict[str, Question] = {}
        if library is not None:
            for q in library.questions:
                self._by_id.setdefault(q.id, q)
                self._by_id[f"{q.bank}/{q.id}"] = q
        self._adhoc: OrderedDict[tuple[str, str, tuple[str, ...] | None], Question] = OrderedDict()
        self._cache_size = cache_size
        self._seen: Counter[str] = Counter()

    def resolve(self, item: InputRow | BadRow) -> RowTask | BadRow:
        if isinstance(item, BadRow):
            return item
        row = item
        if row.question_id is not None:
            question = self._by_id.get(row.question_id)
            if question is None:
                return BadRow(
                    row.source,
                    row.row,
                    row.line,
                    f"unknown question id '{row.question_id}' (not in the loaded banks; add"
                    " its bank with --bank-dir, or give question and reference columns)",
                    row.id,
                )
        else:
            try:
                question = self._adhoc_question(row)
            except ValidationError as exc:
                err = exc.errors()[0]
                where = ".".join(str(p) for p in err["loc"])
                return BadRow(row.source, row.row, row.line, f"{where}: {err['msg']}", row.id)
        digest = row_hash(question, row.answer, self._info)
        occurrence = self._seen[digest]
        self._seen[digest] += 1
        return RowTask(row=row, question=question, hash=digest, occurrence=occurrence)

    def _adhoc_question(self, row: InputRow) -> Question:
        assert row.question is not None
        assert row.reference is not None
        cache_key = (row.question, row.reference, row.key_points)
        cached = self._adhoc.get(cache_key)
        if cached is not None:
            self._adhoc.move_to_end(cache_key)
            return cached
        from interviewer.text import detect_language

        language = detect_language(row.question + "\n" + row.reference)
        from interviewer.grading.key_points import resolve_key_points

        points = resolve_key_points(row.key_points, row.reference, language, limit=KEY_POINT_LIMIT)
        seed = json.dumps([row.question, row.reference], ensure_ascii=False)
        qid = "adhoc-" + hashlib.sha256(seed.encode("utf-8")).hexdigest()[:10]
        question = Question(
            id=qid,
            question=row.question,
            reference=row.reference,
            key_points=points,
            language=language,
        )
        self._adhoc[cache_key] = question
        if len(self._adhoc) > self._cache_size:
            self._adhoc.popitem(last=False)
        return question


def iter_items(readers: Iterable[InputReader], resolver: RowResolver) -> Iterator[RowTask | BadRow]:
    """Every row of every input, resolved, in file order."""
    for reader in readers:
        for item in reader.rows():
            yield resolver.resolve(item)


# --------------------------------------------------------------------------- results file


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
        if repair:
            with path.open("r+b") as fh:
                fh.truncate(good_end)
    return state


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
        self._unsynced = 0
        self._last_sync = time.monotonic()
        self.written = 0

    def write(self, record: dict[str, Any]) -> None:
        data = (json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n").encode()
        view = memoryview(data)
        while view:
            done = os.write(self._fd, view)
            view = view[done:]
        self.written += 1
        self._unsynced += 1
        now = time.monotonic()
        if self._unsynced >= self._fsync_every or now - self._last_sync >= FSYNC_INTERVAL:
            self.sync()

    def sync(self) -> None:
        if self._unsynced:
            os.fsync(self._fd)
            self._unsynced = 0
        self._last_sync = time.monotonic()

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


def result_record(
    task: RowTask, outcome: Outcome, *, duplicate_of: str | None = None
) -> dict[str, Any]:
    """The results line for one row: its identity first, then the complete outcome."""
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
    record["outcome"] = outcome.model_dump(mode="json")
    return record


# --------------------------------------------------------------------------- first pass


@dataclass
class ScanSummary:
    """What the first pass over the input found."""

    rows: int = 0
    bad: int = 0
    done: int = 0  # rows already graded (or ungraded and not retried)
    done_ungraded: int = 0  # of those, rows whose latest result is ungraded
    to_grade: int = 0
    distinct: int = 0  # distinct hashes among rows to grade (requests needed)
    bad_rows: list[BadRow] = field(default_factory=list)  # the first few, for the terminal
    keys: set[str] = field(default_factory=set)  # every row key of this input


class ErrorsWriter:
    """Bad rows as CSV (source, row, line, id, reason); created only when there is one."""

    HEADER = ("source", "row", "line", "id", "reason")

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._fh: IO[str] | None = None
        self._writer: Any = None
        self.count = 0

    def add(self, bad: BadRow) -> None:
        self.count += 1
        if self.path is None:
            return
        if self._writer is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._fh = self.path.open("w", encoding="utf-8", newline="")
            self._writer = csv.writer(self._fh)
            self._writer.writerow(self.HEADER)
        self._writer.writerow((bad.source, bad.row, bad.line, bad.id or "", bad.reason))

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None
        elif self.path is not None and self.count == 0 and self.path.exists():
            self.path.unlink()  # a previous run's list no longer applies


def scan_inputs(
    readers: list[InputReader],
    library: Library | None,
    info: GraderInfo,
    state: ResultsState,
    *,
    retry_ungraded: bool = False,
    errors_path: Path | None = None,
    keep_bad: int = 50,
    on_task: Callable[[RowTask], None] | None = None,
) -> ScanSummary:
    """Stream every input once: count rows, record bad ones, find what needs grading."""
    summary = ScanSummary()
    resolver = RowResolver(library, info)
    errors = ErrorsWriter(errors_path)
    hashes: set[str] = set()
    try:
        for item in iter_items(readers, resolver):
            summary.rows += 1
            if isinstance(item, BadRow):
                summary.bad += 1
                errors.add(item)
                if len(summary.bad_rows) < keep_bad:
                    summary.bad_rows.append(item)
                continue
            summary.keys.add(item.key)
            if state.is_done(item.key, retry_ungraded=retry_ungraded):
                summary.done += 1
                if not state.status[item.key]:
                    summary.done_ungraded += 1
                continue
            summary.to_grade += 1
            if item.hash not in hashes:
                hashes.add(item.hash)
                summary.distinct += 1
            if on_task is not None:
                on_task(item)
    finally:
        errors.close()
    return summary


def pending_tasks(
    readers: list[InputReader],
    library: Library | None,
    info: GraderInfo,
    state: ResultsState,
    *,
    retry_ungraded: bool = False,
    window: int = DEFAULT_WINDOW,
) -> Iterator[RowTask]:
    """The rows still to grade, grouped by question within windows of ``window`` rows."""
    resolver = RowResolver(library, info)
    todo = (
        item
        for item in iter_items(readers, resolver)
        if isinstance(item, RowTask) and not state.is_done(item.key, retry_ungraded=retry_ungraded)
    )
    return group_by_question(todo, window, first=min(window, FIRST_WINDOW))


def group_by_question(
    tasks: Iterable[RowTask], window: int, *, first: int | None = None
) -> Iterator[RowTask]:
    """Sort each window of tasks by question (first-seen order), then by hash.

    Equal prompt prefixes then reach the server back to back, which is what prefix caches
    (vLLM, llama.cpp, OpenAI, DeepSeek) reward; repeats of one answer end up adjacent too.
    Only one window is held in memory. A smaller ``first`` window lets grading start
    before a whole window has been read.
    """
    window = max(1, window)
    size = max(1, first or window)
    chunk: list[RowTask] = []

    def flush() -> Iterator[RowTask]:
        order: dict[str, int] = {}
        for task in chunk:
            order.setdefault(task.question.id, len(order))
        chunk.sort(key=lambda t: (order[t.question.id], t.hash, t.occurrence))
        yield from chunk
        chunk.clear()

    for task in tasks:
        chunk.append(task)
        if len(chunk) >= size:
            yield from flush()
            size = window
    if chunk:
        yield from flush()


class Prefetch(Iterator[RowTask]):
    """Read ahead of the coordinator in a thread, so a window boundary never stalls it.

    Reading and sorting the next window takes a noticeable moment; without read-ahead every
    request that finishes meanwhile would wait for it before its slot is refilled.
    """

    def __init__(self, source: Iterable[RowTask], size: int) -> None:
        self._queue: queue.Queue[tuple[bool, Any]] = queue.Queue(maxsize=max(1, size))
        self._closed = threading.Event()
        self._done = False
        self._thread = threading.Thread(
            target=self._fill, args=(iter(source),), name="grade-reader", daemon=True
        )
        self._thread.start()

    def _put(self, item: tuple[bool, Any]) -> bool:
        while not self._closed.is_set():
            try:
                self._queue.put(item, timeout=0.1)
            except queue.Full:
                continue
            return True
        return False

    def _fill(self, source: Iterator[RowTask]) -> None:
        try:
            for task in source:
                if not self._put((True, task)):
                    return
        except BaseException as exc:  # handed to the consumer, raised there
            self._put((False, exc))
            return
        self._put((False, None))

    def __next__(self) -> RowTask:
        if self._done:
            raise StopIteration
        ok, item = self._queue.get()
        if ok:
            return item  # type: ignore[no-any-return]
        self._done = True
        if item is not None:
            raise item
        raise StopIteration

    def close(self) -> None:
        self._closed.set()


# --------------------------------------------------------------------------- grading run


@dataclass
class Replica:
    """One endpoint replica (or the offline grader) and its in-flight limit."""

    name: str
    grader: Grader
    concurrency: int = 1


@dataclass
class BatchCounts:
    """Progress of a run, passed to the progress callback after every row."""

    to_grade: int = 0
    graded: int = 0
    ungraded: int = 0
    reused: int = 0  # rows that reused the grade of an identical row
    reasons: Counter[str] = field(default_factory=Counter)
    prompt_tokens: int = 0
    completion_tokens: int = 0
    in_flight: int = 0
    started: float = field(default_factory=time.monotonic)

    @property
    def finished(self) -> int:
        return self.graded + self.ungraded


@dataclass
class BatchResult:
    """How a run ended."""

    counts: BatchCounts
    stopped: bool = False  # interrupted by the user
    fatal: EndpointError | None = None
    replicas_out: list[str] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def remaining(self) -> int:
        return self.counts.to_grade - self.counts.finished


ProgressCallback = Callable[[BatchCounts], None]


class ResultSink(Protocol):
    """Where result lines go: a ResultsWriter, or nowhere for a timing sample."""

    def write(self, record: dict[str, Any]) -> None: ...

    def sync(self) -> None: ...


@dataclass(eq=False)
class _Job:
    task: RowTask
    tried: set[int] = field(default_factory=set)
    last_error: EndpointError | None = None


@dataclass(eq=False)
class _ReplicaState:
    index: int
    replica: Replica
    inbox: queue.SimpleQueue[_Job | None] = field(default_factory=queue.SimpleQueue)
    inflight: int = 0
    out: bool = False
    benched_until: float = 0.0
    streak: int = 0
    benches: int = 0


_Done = tuple[int, _Job, Outcome | BaseException]


class _Run:
    """The coordinator of one grading run (see run_batch)."""

    def __init__(
        self,
        tasks: Iterator[RowTask],
        replicas: list[Replica],
        writer: ResultSink,
        *,
        to_grade: int,
        stop: threading.Event,
        abandon: threading.Event,
        progress: ProgressCallback | None,
        notice: Callable[[str], None] | None,
    ) -> None:
        if not replicas:
            raise ValueError("run_batch needs at least one replica")
        self.tasks = tasks
        self.states = [_ReplicaState(i, r) for i, r in enumerate(replicas)]
        self.writer = writer
        self.stop = stop
        self.abandon = abandon
        self.progress = progress
        self.notice_cb = notice
        self.result = BatchResult(BatchCounts(to_grade=to_grade))
        self.pending: deque[_Job] = deque()
        self.waiting: dict[str, list[RowTask]] = {}  # hash -> identical rows awaiting it
        self.recent: OrderedDict[str, tuple[str, Outcome]] = OrderedDict()
        self.inflight_hashes: set[str] = set()
        self.exhausted = False
        self.done: queue.SimpleQueue[_Done] = queue.SimpleQueue()

    # ----------------------------------------------------------------- events
    def _notice(self, message: str) -> None:
        self.result.notices.append(message)
        if self.notice_cb is not None:
            self.notice_cb(message)

    def _report(self) -> None:
        self.result.counts.in_flight = sum(s.inflight for s in self.states)
        if self.progress is not None:
            self.progress(self.result.counts)

    def _write(self, task: RowTask, outcome: Outcome, *, duplicate_of: str | None = None) -> None:
        self.writer.write(result_record(task, outcome, duplicate_of=duplicate_of))
        counts = self.result.counts
        if outcome.graded:
            counts.graded += 1
        else:
            counts.ungraded += 1
            counts.reasons[outcome.ungraded_reason or "unknown"] += 1
        if duplicate_of is None:
            counts.prompt_tokens += outcome.usage.prompt_tokens
            counts.completion_tokens += outcome.usage.completion_tokens
        else:
            counts.reused += 1

    def _finish(self, job: _Job, outcome: Outcome) -> None:
        task = job.task
        self._write(task, outcome)
        self.inflight_hashes.discard(task.hash)
        self.recent[task.hash] = (task.key, outcome)
        if len(self.recent) > 1024:
            self.recent.popitem(last=False)
        for twin in self.waiting.pop(task.hash, []):
            self._write(twin, outcome, duplicate_of=task.key)
        self._report()

    # ----------------------------------------------------------------- routing
    def _live(self) -> list[_ReplicaState]:
        return [s for s in self.states if not s.out]

    def _candidates(self, job: _Job, now: float) -> list[_ReplicaState]:
        """Replicas this job may go to (capacity aside), best first."""
        live = [s for s in self._live() if s.index not in job.tried]
        rested = [s for s in live if s.benched_until <= now]
        return rested or live

    def _pick(self, job: _Job, now: float) -> _ReplicaState | None:
        free = [
            s
            for s in self._candidates(job, now)
            if s.inflight < s.replica.concurrency and s.benched_until <= now
        ]
        if not free:
            return None
        return min(free, key=lambda s: (s.inflight / s.replica.concurrency, s.index))

    def _next_job(self) -> _Job | None:
        """The next job to place: a retried one first, else the next new row."""
        if self.pending:
            return self.pending[0]
        while not self.exhausted:
            task = next(self.tasks, None)
            if task is None:
                self.exhausted = True
                return None
            twin = self.recent.get(task.hash)
            if twin is not None:
                self._write(task, twin[1], duplicate_of=twin[0])
                self._report()
                continue
            if task.hash in self.inflight_hashes:
                self.waiting.setdefault(task.hash, []).append(task)
                continue
            self.inflight_hashes.add(task.hash)
            job = _Job(task)
            self.pending.append(job)
            return job
        return None

    def _dispatch(self) -> None:
        while not self.stop.is_set() and self.result.fatal is None:
            job = self._next_job()
            if job is None:
                return
            now = time.monotonic()
            if not self._candidates(job, now):
                self.pending.popleft()
                self._give_up(job)
                continue
            state = self._pick(job, now)
            if state is None:
                return  # wait for a slot (or for a bench to end)
            self.pending.popleft()
            state.inflight += 1
            state.inbox.put(job)

    def _give_up(self, job: _Job) -> None:
        """No replica may take this job: every live one has already failed it."""
        if not self._live():
            self._fatal(job.last_error)
            return
        error = job.last_error
        detail = str(error) if error is not None else "no replica could grade this row"
        self._finish(job, self._error_outcome(job, detail))

    def _error_outcome(self, job: _Job, detail: str) -> Outcome:
        info = self.states[0].replica.grader.info
        return Outcome(ungraded_reason="endpoint_error", ungraded_detail=detail, info=info)

    def _fatal(self, error: EndpointError | None) -> None:
        if self.result.fatal is None:
            self.result.fatal = error or EndpointError("every endpoint replica failed")

    # ----------------------------------------------------------------- results
    def _handle(self, item: _Done) -> None:
        index, job, result = item
        state = self.states[index]
        state.inflight -= 1
        if isinstance(result, Outcome):
            state.streak = 0
            self._finish(job, result)
            return
        if not isinstance(result, EndpointError):
            raise result  # a bug, not an endpoint failure: stop loudly
        job.last_error = result
        job.tried.add(index)
        if self.result.fatal is not None:
            return  # stopping: leave the row for the next run
        if is_fatal(result):
            if len(self._live()) > 1 and not state.out:
                state.out = True
                self.result.replicas_out.append(state.replica.name)
                self._notice(f"Took {state.replica.name} out of the rotation: {result}")
            elif not state.out:
                state.out = True
                self.result.replicas_out.append(state.replica.name)
                self._fatal(result)
                return
            job.tried.discard(index)
            self.pending.appendleft(job)
            return
        state.streak += 1
        now = time.monotonic()
        healthy_others = [s for s in self._live() if s is not state and s.benched_until <= now]
        if state.streak >= BENCH_AFTER and healthy_others:
            state.benches += 1
            pause = min(BENCH_SECONDS * 2 ** (state.benches - 1), 300.0)
            state.benched_until = now + pause
            state.streak = 0
            self._notice(f"Resting {state.replica.name} for {pause:.0f}s after repeated errors.")
        if self._candidates(job, now):
            self.pending.appendleft(job)
        else:
            self._finish(job, self._error_outcome(job, str(result)))

    # ----------------------------------------------------------------- loops
    def _threads(self) -> None:
        for state in self.states:
            for n in range(state.replica.concurrency):
                thread = threading.Thread(
                    target=_work,
                    args=(state.index, state.replica.grader, state.inbox, self.done),
                    name=f"grade-{state.index}-{n}",
                    daemon=True,  # an abandoned request must not hold up the exit
                )
                thread.start()

    def run_threads(self) -> BatchResult:
        self._threads()
        try:
            while True:
                if self.abandon.is_set():
                    self.result.stopped = True
                    break
                self._dispatch()
                busy = sum(s.inflight for s in self.states)
                idle = self.stop.is_set() or self.result.fatal is not None
                if busy == 0 and (idle or (self.exhausted and not self.pending)):
                    break
                try:
                    item = self.done.get(timeout=0.1)
                except queue.Empty:
                    continue
                self._handle(item)
                # Drain whatever else finished meanwhile before placing more work.
                while True:
                    try:
                        item = self.done.get_nowait()
                    except queue.Empty:
                        break
                    self._handle(item)
        finally:
            for state in self.states:
                for _ in range(state.replica.concurrency):
                    state.inbox.put(None)
        self.result.stopped = self.result.stopped or self.stop.is_set()
        return self.result

    def run_inline(self) -> BatchResult:
        state = self.states[0]
        grader = state.replica.grader
        while not self.stop.is_set() and not self.abandon.is_set():
            if self.result.fatal is not None:
                break
            job = self._next_job()
            if job is None:
                break
            self.pending.popleft()
            state.inflight += 1
            try:
                result: Outcome | BaseException = grader.grade(
                    job.task.question, job.task.row.answer
                )
            except EndpointError as exc:
                result = exc
            self._handle((0, job, result))
        self.result.stopped = self.stop.is_set() or self.abandon.is_set()
        return self.result


def _work(
    index: int,
    grader: Grader,
    inbox: queue.SimpleQueue[_Job | None],
    done: queue.SimpleQueue[_Done],
) -> None:
    while True:
        job = inbox.get()
        if job is None:
            return
        try:
            outcome = grader.grade(job.task.question, job.task.row.answer)
        except BaseException as exc:  # handed to the coordinator, which decides
            done.put((index, job, exc))
        else:
            done.put((index, job, outcome))


def run_batch(
    tasks: Iterable[RowTask],
    replicas: list[Replica],
    writer: ResultSink,
    *,
    to_grade: int = 0,
    inline: bool = False,
    stop: threading.Event | None = None,
    abandon: threading.Event | None = None,
    progress: ProgressCallback | None = None,
    notice: Callable[[str], None] | None = None,
) -> BatchResult:
    """Grade ``tasks`` and append one line per row to ``writer``.

    ``inline`` grades in the calling thread with the first replica (for the offline
    grader). Otherwise each replica gets ``concurrency`` worker threads. Returns when every
    task is written, when ``stop`` is set (after in-flight rows finish), when ``abandon`` is
    set (at once), or when no replica is left after fatal errors (``result.fatal``).
    """
    started = time.monotonic()
    source: Iterator[RowTask] = iter(tasks)
    if not inline:
        total = sum(r.concurrency for r in replicas)
        source = Prefetch(source, size=max(256, 4 * total))
    run = _Run(
        source,
        replicas,
        writer,
        to_grade=to_grade,
        stop=stop or threading.Event(),
        abandon=abandon or threading.Event(),
        progress=progress,
        notice=notice,
    )
    try:
        result = run.run_inline() if inline else run.run_threads()
    finally:
        if isinstance(source, Prefetch):
            source.close()
        writer.sync()
    result.seconds = time.monotonic() - started
    return result


# --------------------------------------------------------------------------- replicas


def is_local_url(url: str) -> bool:
    """Whether a base URL points at this machine or a private network (no per-token bill)."""
    from interviewer.config import is_local_url as local

    return local(url)


def default_concurrency(profile: EndpointProfile) -> int:
    """In-flight requests per replica: the profile's setting, else a per-server guess.

    Hosted APIs absorb many parallel requests (rate limits permitting); vLLM batches
    continuously; Ollama serves OLLAMA_NUM_PARALLEL requests at a time (often 1-4) and
    queues the rest, so more in flight only adds latency. A llama.cpp server says how many
    requests it computes at once (its slots, ``chat_client.server_slots``); more in flight
    would only wait in its queue, time out and be abandoned while the server still computes
    them, so a local server that says gets exactly that many.
    """
    # Profiles pass through model_dump/model_validate when flags are applied, which marks
    # every field as set; a value other than the default is what shows a user's choice.
    default = EndpointProfile.model_fields["concurrency"].default
    if profile.concurrency != default:
        return profile.concurrency
    url = profile.urls[0] if profile.urls else ""
    parts = urlsplit(url)
    if parts.port == 11434:
        return 2
    if not is_local_url(url):
        return 16
    from interviewer.grading.server_slots import server_slots

    return server_slots(profile) or profile.concurrency


def replica_profiles(profile: EndpointProfile) -> list[EndpointProfile]:
    """One single-URL profile per replica of ``profile``."""
    urls = profile.urls
    if len(urls) <= 1:
        return [profile]
    return [profile.model_copy(update={"base_url": url, "base_urls": []}) for url in urls]


# --------------------------------------------------------------------------- dry run


@dataclass(frozen=True)
class Price:
    """USD per million input and output tokens for one model."""

    model: str
    input: float
    output: float


def price_table(overrides: dict[str, dict[str, float]] | None = None) -> dict[str, Price]:
    """The built-in prices with config.toml's ``[prices]`` applied on top."""
    table = {m: Price(m, p["input"], p["output"]) for m, p in DEFAULT_PRICES.items()}
    for model, entry in (overrides or {}).items():
        base = table.get(model)
        try:
            table[model] = Price(
                model,
                float(entry.get("input", base.input if base else 0.0)),
                float(entry.get("output", base.output if base else 0.0)),
            )
        except (TypeError, ValueError):
            raise InputError(
                f'config.toml [prices."{model}"]: input and output must be numbers (USD per'
                " million tokens)."
            ) from None
    return table


def find_price(model: str | None, table: dict[str, Price]) -> Price | None:
    """Exact model name first, then the longest listed prefix (dated snapshots)."""
    if not model:
        return None
    if model in table:
        return table[model]
    name = model.rsplit("/", 1)[-1]  # gateways prefix vendor names: openai/gpt-4o
    if name in table:
        return table[name]
    matches = [m for m in table if name.startswith(m + "-")]
    return table[max(matches, key=len)] if matches else None


@dataclass
class Estimate:
    """What a run would cost, from the first pass and token counts."""

    scan: ScanSummary
    model: str | None = None
    requests: int = 0
    prompt_tokens: int = 0
    output_tokens: int = 0
    output_basis: str = ""
    tokens_estimated: bool = False
    price: Price | None = None
    local: bool = False
    sample_rows: int = 0
    sample_seconds: float = 0.0
    sample_concurrency: int = 0

    @property
    def cost(self) -> float | None:
        if self.price is None:
            return None
        return (
            self.prompt_tokens * self.price.input + self.output_tokens * self.price.output
        ) / 1_000_000

    @property
    def expected_seconds(self) -> float | None:
        if not self.sample_rows or self.sample_seconds <= 0:
            return None
        return self.requests * self.sample_seconds / self.sample_rows


class RequestBuilder(Protocol):
    """What --dry-run and --export-batch need from the LLM grader."""

    @property
    def info(self) -> GraderInfo: ...

    def request_body(self, question: Question, answer: str) -> dict[str, Any]: ...


def expected_output_tokens(question: Question, profile: EndpointProfile | None) -> int:
    """A rough size of one grade reply: framing, plus each key point and criterion.

    Used only until earlier results give a measured mean (see ``estimate_batch``).
    """
    guess = 220 + 70 * len(question.key_points) + 60 * len(question.criteria)
    if profile is not None:
        guess = min(guess, profile.max_output_tokens)
    return guess


def estimate_batch(
    readers: list[InputReader],
    library: Library | None,
    grader: RequestBuilder | None,
    state: ResultsState,
    *,
    info: GraderInfo,
    profile: EndpointProfile | None,
    prices: dict[str, Price],
    retry_ungraded: bool = False,
    errors_path: Path | None = None,
) -> Estimate:
    """Count rows, prompt tokens (tiktoken) and expected output tokens; price them.

    Prompt tokens are counted once per question on the real request body with a one-word
    answer, then the answer's own tokens are added per row: exact enough for a budget and
    far cheaper than encoding every full prompt.
    """
    from interviewer.grading import tokens

    model = profile.model if profile is not None else None
    estimate = Estimate(scan=ScanSummary(), model=model)
    if grader is None:
        estimate.scan = scan_inputs(
            readers,
            library,
            info,
            state,
            retry_ungraded=retry_ungraded,
            errors_path=errors_path,
        )
        estimate.requests = estimate.scan.distinct
        return estimate
    base: OrderedDict[str, int] = OrderedDict()
    seen: set[str] = set()
    measured = state.mean_completion_tokens
    budget = profile.answer_token_budget if profile is not None else None
    probe = "answer"

    def count(task: RowTask) -> None:
        if task.hash in seen:
            return
        seen.add(task.hash)
        sha = task.question.sha
        prefix = base.get(sha)
        if prefix is None:
            body = grader.request_body(task.question, probe)
            messages = body.get("messages") or []
            prefix = tokens.count_messages(messages, model) - tokens.count_tokens(probe, model)
            base[sha] = prefix
            if len(base) > 1024:
                base.popitem(last=False)
        answer_tokens = tokens.count_tokens(task.row.answer, model)
        if budget is not None:
            answer_tokens = min(answer_tokens, budget)
        estimate.prompt_tokens += prefix + answer_tokens
        if measured is not None:
            estimate.output_tokens += round(measured)
        else:
            estimate.output_tokens += expected_output_tokens(task.question, profile)

    estimate.scan = scan_inputs(
        readers,
        library,
        info,
        state,
        retry_ungraded=retry_ungraded,
        errors_path=errors_path,
        on_task=count,
    )
    estimate.requests = estimate.scan.distinct
    estimate.output_basis = (
        f"mean of {state.completion_samples} earlier replies"
        if measured is not None
        else "estimated from key points and criteria"
    )
    estimate.tokens_estimated = tokens.estimated()
    if profile is not None and profile.urls and all(is_local_url(u) for u in profile.urls):
        estimate.local = True
    else:
        estimate.price = find_price(model, prices)
    return estimate


def measure_sample(
    tasks: Iterable[RowTask],
    replicas: list[Replica],
    *,
    rows: int,
) -> tuple[int, float]:
    """Grade up to ``rows`` tasks without writing them; return (rows graded, seconds)."""
    sample: list[RowTask] = []
    seen: set[str] = set()
    for task in tasks:
        if task.hash in seen:
            continue
        seen.add(task.hash)
        sample.append(task)
        if len(sample) >= rows:
            break
    if not sample:
        return 0, 0.0
    sink = _NullWriter()
    result = run_batch(sample, replicas, sink, to_grade=len(sample))
    if result.fatal is not None:
        raise result.fatal
    return result.counts.finished, result.seconds


class _NullWriter:
    """Stands in for ResultsWriter when a sample must not be recorded."""

    written = 0

    def write(self, record: dict[str, Any]) -> None:
        self.written += 1

    def sync(self) -> None:
        pass


# --------------------------------------------------------------------------- batch files


def export_batch(
    tasks: Iterable[RowTask],
    grader: RequestBuilder,
    out: Path,
    *,
    max_requests: int = BATCH_MAX_REQUESTS,
    max_bytes: int = BATCH_MAX_BYTES,
) -> tuple[list[Path], int, int]:
    """Write one OpenAI Batch API request line per distinct row hash.

    ``custom_id`` is the row hash, so the output maps straight back to rows (identical rows
    share one request). Files over the Batch API's limits are split into ``NAME.2.jsonl``…
    Returns (files written, requests, rows covered).
    """
    files: list[Path] = []
    seen: set[str] = set()
    requests = rows = 0
    fh: IO[bytes] | None = None
    size = count = 0
    try:
        for task in tasks:
            rows += 1
            if task.hash in seen:
                continue
            seen.add(task.hash)
            line = {
                "custom_id": task.hash,
                "method": "POST",
                "url": "/v1/chat/completions",
                "body": grader.request_body(task.question, task.row.answer),
            }
            data = (json.dumps(line, ensure_ascii=False, separators=(",", ":")) + "\n").encode()
            if fh is None or count >= max_requests or size + len(data) > max_bytes:
                if fh is not None:
                    fh.close()
                path = (
                    out if not files else out.with_name(f"{out.stem}.{len(files) + 1}{out.suffix}")
                )
                path.parent.mkdir(parents=True, exist_ok=True)
                fh = path.open("wb")
                files.append(path)
                size = count = 0
            fh.write(data)
            size += len(data)
            count += 1
            requests += 1
    finally:
        if fh is not None:
            fh.close()
    return files, requests, rows


@dataclass(frozen=True)
class BatchReply:
    """One reply from a batch output file, reduced to what grading needs."""

    content: str | None = None
    finish_reason: str | None = None
    usage: dict[str, Any] | None = None
    error: str | None = None


def parse_batch_line(entry: dict[str, Any]) -> BatchReply:
    """Read one output line of OpenAI's Batch API or vLLM run-batch (either layout).

    OpenAI and current vLLM wrap the chat completion in ``response.body``; older vLLM put it
    directly under ``response``. Failures come as ``error`` (an object or, from vLLM, a
    string), as a non-2xx ``status_code``, or as a body holding ``error``.
    """
    error = entry.get("error")
    response = entry.get("response")
    body: Any = None
    status: Any = None
    if isinstance(response, dict):
        status = response.get("status_code")
        if "body" in response:
            body = response.get("body")
        elif "choices" in response:
            body = response
    if isinstance(body, str):
        with contextlib.suppress(ValueError):
            body = json.loads(body)
    failed = bool(error) or (isinstance(status, int) and not 200 <= status < 300)
    if not failed and isinstance(body, dict) and body.get("error") and not body.get("choices"):
        failed = True
    if not failed and not (isinstance(body, dict) and body.get("choices")):
        failed = True
        error = error or "no chat completion in the response"
    if failed:
        return BatchReply(error=_describe_batch_error(error, body, status))
    assert isinstance(body, dict)
    choice = body["choices"][0] if isinstance(body["choices"], list) else {}
    message = choice.get("message") or {}
    content = message.get("content")
    return BatchReply(
        content=content if isinstance(content, str) else None,
        finish_reason=choice.get("finish_reason"),
        usage=body.get("usage") if isinstance(body.get("usage"), dict) else None,
    )


def _describe_batch_error(error: Any, body: Any, status: Any) -> str:
    parts: list[str] = []
    if isinstance(status, int):
        parts.append(f"HTTP {status}")
    source = error
    if not source and isinstance(body, dict):
        source = body.get("error") or body.get("message")
    if isinstance(source, dict):
        code = source.get("code") or source.get("type")
        message = source.get("message") or json.dumps(source, ensure_ascii=False)
        parts.append(f"{code}: {message}" if code else str(message))
    elif source:
        parts.append(str(source))
    return "batch request failed: " + (" ".join(parts) if parts else "unknown error")


class BatchOutputIndex:
    """custom_id -> where its reply is, over several output/error files.

    Only offsets are held in memory; each reply is read back when its row comes up. A
    successful reply wins over an error for the same custom_id (a retried request).
    """

    def __init__(self, paths: list[Path]) -> None:
        self.paths = paths
        self.entries: dict[str, tuple[int, int, bool]] = {}  # id -> (file, offset, ok)
        self.lines = 0
        self.invalid: list[str] = []
        for number, path in enumerate(paths):
            self._index(number, path)

    def _index(self, number: int, path: Path) -> None:
        try:
            fh = path.open("rb")
        except OSError as exc:
            raise InputError(f"{path}: cannot read the batch output ({exc.strerror}).") from None
        with fh:
            offset = 0
            for line_number, raw in enumerate(fh, start=1):
                start, offset = offset, offset + len(raw)
                if not raw.strip():
                    continue
                try:
                    entry = json.loads(raw)
                    custom_id = entry["custom_id"]
                except (ValueError, KeyError, TypeError):
                    self.invalid.append(f"{path}:{line_number}")
                    continue
                self.lines += 1
                ok = parse_batch_line(entry).error is None
                known = self.entries.get(str(custom_id))
                if known is None or (ok and not known[2]):
                    self.entries[str(custom_id)] = (number, start, ok)

    def get(self, custom_id: str) -> BatchReply | None:
        where = self.entries.get(custom_id)
        if where is None:
            return None
        number, offset, _ = where
        with self.paths[number].open("rb") as fh:
            fh.seek(offset)
            return parse_batch_line(json.loads(fh.readline()))


class ReplyParser(Protocol):
    """What --import-batch needs from the LLM grader: the live run's reply parsing."""

    @property
    def info(self) -> GraderInfo: ...

    def outcome_from_reply(
        self,
        question: Question,
        answer: str,
        content: str | None,
        finish_reason: str | None,
        usage: Any,
    ) -> Outcome: ...


@dataclass
class ImportResult:
    """What --import-batch did."""

    counts: BatchCounts
    matched: int = 0
    missing: int = 0  # rows to grade with no reply in the files
    replies: int = 0  # distinct custom_ids in the files
    invalid_lines: list[str] = field(default_factory=list)


def import_batch(
    tasks: Iterable[RowTask],
    grader: ReplyParser,
    index: BatchOutputIndex,
    writer: ResultSink,
    *,
    to_grade: int = 0,
    progress: ProgressCallback | None = None,
    stop: threading.Event | None = None,
) -> ImportResult:
    """Turn batch replies into result lines, parsed exactly as in a live run."""
    result = ImportResult(
        BatchCounts(to_grade=to_grade),
        invalid_lines=list(index.invalid),
        replies=len(index.entries),
    )
    counts = result.counts
    for task in tasks:
        if stop is not None and stop.is_set():
            break
        reply = index.get(task.hash)
        if reply is None:
            result.missing += 1
            continue
        result.matched += 1
        if reply.error is not None:
            outcome = Outcome(
                ungraded_reason="endpoint_error", ungraded_detail=reply.error, info=grader.info
            )
        else:
            outcome = grader.outcome_from_reply(
                task.question, task.row.answer, reply.content, reply.finish_reason, reply.usage
            )
        writer.write(result_record(task, outcome))
        if outcome.graded:
            counts.graded += 1
        else:
            counts.ungraded += 1
            counts.reasons[outcome.ungraded_reason or "unknown"] += 1
        counts.prompt_tokens += outcome.usage.prompt_tokens
        counts.completion_tokens += outcome.usage.completion_tokens
        if progress is not None:
            progress(counts)
    writer.sync()
    return result


# --------------------------------------------------------------------------- a whole job

EXIT_OK = 0
EXIT_FATAL = 1
EXIT_INCOMPLETE = 2
EXIT_INTERRUPTED = 130


@dataclass
class BatchJob:
    """One `interviewer grade` run over some inputs into one results file.

    ``open()`` takes the results file's lock, repairs a torn last line, reads which rows are
    done and scans the inputs (writing the errors file); ``run()`` or ``import_replies()``
    then grades what is left. Close it (or use it as a context manager) to release the lock.
    """

    readers: list[InputReader]
    library: Library | None
    replicas: list[Replica]
    results: Path
    errors_path: Path | None = None
    retry_ungraded: bool = False
    window: int = DEFAULT_WINDOW
    inline: bool = False
    writer: ResultsWriter | None = None
    state: ResultsState | None = None
    scan: ScanSummary | None = None

    @property
    def info(self) -> GraderInfo:
        return self.replicas[0].grader.info

    def open(self) -> ScanSummary:
        self.writer = ResultsWriter(self.results)
        self.state = load_results(self.results, repair=True)
        self.scan = scan_inputs(
            self.readers,
            self.library,
            self.info,
            self.state,
            retry_ungraded=self.retry_ungraded,
            errors_path=self.errors_path,
        )
        return self.scan

    def tasks(self) -> Iterator[RowTask]:
        assert self.state is not None, "open() first"
        return pending_tasks(
            self.readers,
            self.library,
            self.info,
            self.state,
            retry_ungraded=self.retry_ungraded,
            window=self.window,
        )

    def run(
        self,
        *,
        stop: threading.Event | None = None,
        abandon: threading.Event | None = None,
        progress: ProgressCallback | None = None,
        notice: Callable[[str], None] | None = None,
    ) -> BatchResult:
        if self.writer is None or self.scan is None:
            raise RuntimeError("BatchJob.open() must be called first")
        return run_batch(
            self.tasks(),
            self.replicas,
            self.writer,
            to_grade=self.scan.to_grade,
            inline=self.inline,
            stop=stop,
            abandon=abandon,
            progress=progress,
            notice=notice,
        )

    def import_replies(
        self,
        paths: list[Path],
        grader: ReplyParser,
        *,
        progress: ProgressCallback | None = None,
        stop: threading.Event | None = None,
    ) -> ImportResult:
        if self.writer is None or self.scan is None:
            raise RuntimeError("BatchJob.open() must be called first")
        index = BatchOutputIndex(paths)
        return import_batch(
            self.tasks(),
            grader,
            index,
            self.writer,
            to_grade=self.scan.to_grade,
            progress=progress,
            stop=stop,
        )

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None

    def __enter__(self) -> BatchJob:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def exit_status(
    scan: ScanSummary,
    counts: BatchCounts,
    *,
    stopped: bool = False,
    fatal: bool = False,
) -> int:
    """The documented exit status of a run.

    0  every row of the input has a graded result and no row was invalid;
    1  the run stopped on a fatal error (unreadable input, configuration, an endpoint that
       refuses every request) -- finished rows are kept, re-run to continue;
    2  the run finished but some rows are ungraded (now or from an earlier run), invalid, or
       still to grade (e.g. no reply in an imported batch file);
    130 interrupted (Ctrl-C): finished rows are kept, re-run to continue.
    """
    if fatal:
        return EXIT_FATAL
    if stopped:
        return EXIT_INTERRUPTED
    remaining = scan.to_grade - counts.finished
    if scan.bad or counts.ungraded or scan.done_ungraded or remaining > 0:
        return EXIT_INCOMPLETE
    return EXIT_OK
