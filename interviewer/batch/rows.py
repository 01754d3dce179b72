"""Input rows as grading tasks: identity, resolution, the first pass and the grading order.

``RowResolver`` turns an input row into a ``RowTask``: the bank question it names (or an ad-hoc
question built from the row, with key points derived from the reference when the row has
none) and a **content hash** of everything that determines the grade (question, reference,
key points, rubric, answer, grader kind, model, prompt version, settings). Identical rows get
the same hash; the n-th repeat of a hash gets key ``HASH#n`` so that every input row still has
a result line of its own.

``scan_inputs`` is a first streaming pass: it counts rows, writes bad rows to the errors file
and works out how many rows need grading (for the progress bar and ``--dry-run``).
``pending_tasks`` streams the rows to grade, sorted by question within a bounded window so
that requests sharing a prompt prefix reach the server together (prefix caching) while
memory stays bounded by the window, not the file; ``Prefetch`` reads ahead in a thread.
"""

from __future__ import annotations

import hashlib
import json
import queue
import threading
from collections import Counter, OrderedDict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from interviewer.bank.library import Library, Question
from interviewer.batch.anchor_store import RowScale
from interviewer.batch.input_rows import BadRow, InputRow
from interviewer.batch.inputs import InputReader
from interviewer.batch.results import ErrorsWriter, ResultsState
from interviewer.grading.grade import GraderInfo

DEFAULT_WINDOW = 2000
FIRST_WINDOW = 128
KEY_POINT_LIMIT = 6
# Settings that may change while a run negotiates with a server, or that name the server:
# they must not change a row's identity, or a resumed run would re-grade everything.
VOLATILE_SETTINGS = frozenset({"contract", "endpoint", "base_url", "base_urls", "url"})


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


def _question_payload(question: Question, info: GraderInfo) -> dict[str, Any]:
    return {
        "question": question.question,
        "reference": question.full_reference,
        "key_points": question.key_points,
        "rubric": [c.model_dump() for c in question.criteria],
        "language": question.language,
        "grader": identity_info(info),
    }


def _blob_digest(blob: str) -> str:
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:32]


def row_hash(question: Question, answer: str, info: GraderInfo) -> str:
    """The content hash of one row: same inputs and grader, same hash, same grade."""
    payload = {**_question_payload(question, info), "answer": answer}
    return _blob_digest(json.dumps(payload, ensure_ascii=False, sort_keys=True, default=str))


class _RowHasher:
    """``row_hash`` with the question's part of the JSON encoded once per question.

    With sorted keys "answer" comes first, so a row's JSON is its answer followed by the
    question's (and grader's) part, which is the same for every answer to that question.
    """

    def __init__(self, info: GraderInfo) -> None:
        self._info = info
        self._tails: dict[int, tuple[Question, str]] = {}

    def __call__(self, question: Question, answer: str) -> str:
        cached = self._tails.get(id(question))
        if cached is None or cached[0] is not question:
            if len(self._tails) > 4096:
                self._tails.clear()
            payload = _question_payload(question, self._info)
            whole = json.dumps(payload, ensure_ascii=False, sort_keys=True, default=str)
            cached = (question, whole[1:])  # without its opening brace
            self._tails[id(question)] = cached
        head = json.dumps(answer, ensure_ascii=False)
        return _blob_digest(f'{{"answer": {head}, {cached[1]}')


class RowResolver:
    """Resolve input rows to RowTasks; numbers repeats of the same hash.

    Use one resolver per pass over the input, so that the n-th repeat of a row gets the
    same key on every pass and every run.
    """

    def __init__(self, library: Library | None, info: GraderInfo, *, cache_size: int = 512):
        self._info = info
        self._hash = _RowHasher(info)
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
        digest = self._hash(question, row.answer)
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
    scales: dict[str, RowScale] = field(default_factory=dict)  # rows with a score or maximum


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
            if item.row.human_score is not None or item.row.max_score is not None:
                summary.scales[item.key] = RowScale(item.row.human_score, item.row.max_score)
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
