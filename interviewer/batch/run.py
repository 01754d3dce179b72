"""The concurrent grading run: rows handed to worker threads, one pool per replica.

A coordinator (the calling thread) hands rows to worker threads, one pool per replica, each
replica with its own in-flight limit. A fatal endpoint error (``errors.is_fatal``) takes a
replica out of the rotation and the row is retried on another; when no replica is left the
batch stops. A non-fatal error is retried on another replica if there is one, else the row
is recorded ungraded(endpoint_error); a replica failing several times in a row is benched for
a cool-down. The offline grader runs inline (it is CPU-bound, threads would not help).
Setting ``stop`` finishes in-flight rows and returns; setting ``abandon`` returns at once;
either way only whole lines are ever written.
"""

from __future__ import annotations

import queue
import threading
import time
from collections import Counter, OrderedDict, deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from interviewer.batch.replicas import Replica
from interviewer.batch.results import ResultSink, outcome_to_json, result_line
from interviewer.batch.rows import Prefetch, RowTask
from interviewer.errors import EndpointError, is_fatal
from interviewer.grading.grade import (
    CriterionResult,
    Grade,
    Grader,
    GraderInfo,
    KeyPointResult,
    Outcome,
)

NO_ANSWER = "No answer."

# A replica failing this many requests in a row is benched while others are healthy.
BENCH_AFTER = 3
BENCH_SECONDS = 15.0


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

    def record(self, outcome: Outcome, *, reused: bool = False) -> None:
        """Count one written row; a reused grade cost no tokens of its own."""
        if outcome.graded:
            self.graded += 1
        else:
            self.ungraded += 1
            self.reasons[outcome.ungraded_reason or "unknown"] += 1
        if reused:
            self.reused += 1
        else:
            self.prompt_tokens += outcome.usage.prompt_tokens
            self.completion_tokens += outcome.usage.completion_tokens


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
_Encoded = tuple[Outcome, bytes]  # an outcome and its JSON, shared by identical rows


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
        self.recent: OrderedDict[str, tuple[str, _Encoded]] = OrderedDict()
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

    def _write(self, task: RowTask, outcome: _Encoded, *, duplicate_of: str | None = None) -> None:
        line = result_line(task, outcome[0], duplicate_of=duplicate_of, outcome_json=outcome[1])
        self.writer.add(line)
        self.result.counts.record(outcome[0], reused=duplicate_of is not None)

    def _finish(self, job: _Job, outcome: Outcome) -> None:
        task = job.task
        encoded = (outcome, outcome_to_json(outcome))
        self._write(task, encoded)
        self.inflight_hashes.discard(task.hash)
        self.recent[task.hash] = (task.key, encoded)
        if len(self.recent) > 1024:
            self.recent.popitem(last=False)
        for twin in self.waiting.pop(task.hash, []):
            self._write(twin, encoded, duplicate_of=task.key)
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
            if not task.row.answer:
                outcome = no_answer(task, self.states[0].replica.grader.info)
                self._write(task, (outcome, outcome_to_json(outcome)))
                self._report()
                continue
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
                # Lines are written after new requests are out, many per write call.
                self.writer.flush_due()
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
            self.writer.flush_due()
        self.result.stopped = self.stop.is_set() or self.abandon.is_set()
        return self.result


def no_answer(task: RowTask, info: GraderInfo) -> Outcome:
    """The grade of a blank answer: 0, every criterion at level 0, every key point missing.

    Nothing is sent to a grader: there is nothing to judge, and a student who left the
    question out must count as 0 in the question's mean rather than vanish from it.
    """
    question = task.question
    grade = Grade(
        score=0.0,
        criteria=[
            CriterionResult(
                criterion=c.id, name=c.name, weight=c.weight, comment=NO_ANSWER, score=0
            )
            for c in question.criteria
        ],
        key_points=[
            KeyPointResult(index=i, text=text, status="missing")
            for i, text in enumerate(question.key_points, start=1)
        ],
        feedback=NO_ANSWER,
    )
    return Outcome(grade=grade, info=info)


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
