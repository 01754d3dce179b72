"""The question loop that practice and mock interviews share.

For each question: show it, read the answer through the reader the ui provides, save it,
grade it, show the result, then ask the follow-ups the same way. Practice and mock differ
only in their `SessionConfig` (time limit, hints, reveal, follow-up count, report); how
answers are typed (`AnswerReader`) and how things look (`SessionView`) belong to the ui,
so this module never touches the terminal.

Saving before grading is `Session`'s job; this loop adds the other half of "nothing typed is
lost": when the candidate presses Ctrl-C mid-answer, what they typed so far is saved
(ungraded) before the interrupt ends the session.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any, Literal, Protocol

from interviewer.session.driver import Exchange, Session, SessionSummary

if TYPE_CHECKING:
    from interviewer.bank.library import Question
    from interviewer.grading.grade import Grader, GraderInfo
    from interviewer.history.store import HistoryStore

FOLLOW_UP_PROMPT = "Your answer to the follow-up"


@dataclass
class AnswerInput:
    """What the candidate did at an answer prompt."""

    action: Literal["answer", "skip", "quit"]
    text: str = ""
    hints_used: int = 0
    eof: bool = False
    timed_out: bool = False
    interrupted: bool = False


@dataclass(frozen=True)
class AnswerRequest:
    """What an answer prompt offers: its label, hints (None: off) and a deadline."""

    prompt: str = "Your answer"
    hint: Callable[[int], str | None] | None = None
    hint_penalty: float = 0.0
    # Monotonic seconds; when it passes, what was typed so far is submitted.
    deadline: float | None = None
    # Monotonic seconds when the whole interview ends (a mock's clock shows both).
    interview_end: float | None = None


class AnswerReader(Protocol):
    """How the candidate's input reaches the session (line reading, an editor, a script)."""

    def read(self, request: AnswerRequest) -> AnswerInput: ...

    def interactive(self) -> bool:
        """True when a person types at a terminal (not piped input)."""
        ...

    def close(self) -> None:
        """The session is over: let go of the terminal."""
        ...

    def choose_next(self, reference: bool = True) -> str:
        """Between questions: '' for the next one, 'r' for the reference, 'q' to quit.

        ``reference`` is False once the reference is on screen: then only next or quit.
        """
        ...


@dataclass(frozen=True)
class Banner:
    """What the session's opening banner says."""

    grader: GraderInfo
    count: int
    title: str
    follow_ups: int
    banks: tuple[str, ...]
    hints: bool
    # Why this grader's grades are not to be trusted (`endpoints check`), if they are not.
    warning: str | None = None


@dataclass(frozen=True)
class Clock:
    """Seconds left when a prompt is shown: for this question, and for the whole session."""

    question_left: float
    total_left: float


class Report(Protocol):
    """An end-of-session report stored with the session (the mock debrief)."""

    def as_dict(self) -> dict[str, Any]: ...


class SessionView(Protocol):
    """Everything the loop shows; the ui implements it."""

    def header(self, banner: Banner) -> None: ...

    def question(self, question: Question, index: int, total: int, clock: Clock | None) -> None: ...

    def follow_up(self, text: str, number: int, total: int, clock: Clock | None) -> None: ...

    def time_up(self) -> None: ...

    def skipped(self, follow_up: bool) -> None:
        """Confirm a /skip: what became of the question."""
        ...

    def grading(self, info: GraderInfo) -> AbstractContextManager[None]: ...

    def result(self, exchange: Exchange, hint_penalty: float) -> None: ...

    def reference(self, question: Question) -> None: ...

    def summary(
        self, exchanges: list[Exchange], summary: SessionSummary, report: Report | None
    ) -> None: ...


@dataclass(frozen=True)
class Progress:
    """How a session went, for its report: time taken and answers cut off by the clock."""

    elapsed_s: int
    timed_out: int


ReportBuilder = Callable[[list[Exchange], Progress], Report]


@dataclass(frozen=True)
class SessionConfig:
    """What makes a session a practice or a mock interview."""

    mode: str
    title: str
    follow_ups: int
    hint_penalty: float = 0.0
    hints: bool = True
    reveal: bool = False
    # Total seconds, split evenly across the questions; follow-ups share their question's.
    time_limit_s: float | None = None
    # In a terminal, pause after each question: next, show the reference, or quit.
    pause_between: bool = True
    settings: dict[str, Any] = field(default_factory=dict)
    report: ReportBuilder | None = None
    warning: str | None = None  # shown in the banner (see Banner.warning)


def order_due_first(questions: list[Question], store: HistoryStore) -> list[Question]:
    """Due questions first (most overdue first), then never-seen ones, then the rest."""
    due = store.due_question_ids()
    seen = store.seen_question_ids()
    rank = {qid: i for i, qid in enumerate(due)}
    due_qs = sorted((q for q in questions if q.id in rank), key=lambda q: rank[q.id])
    new_qs = [q for q in questions if q.id not in rank and q.id not in seen]
    rest = [q for q in questions if q.id not in rank and q.id in seen]
    return due_qs + new_qs + rest


class SessionRunner:
    """Runs a list of questions as one session: the loop both interview commands use."""

    def __init__(
        self,
        store: HistoryStore,
        grader: Grader,
        config: SessionConfig,
        *,
        answers: AnswerReader,
        view: SessionView,
    ) -> None:
        self.config = config
        self.answers = answers
        self.view = view
        self.session = Session(
            store,
            grader,
            mode=config.mode,
            follow_ups=config.follow_ups,
            hint_penalty=config.hint_penalty,
            settings=config.settings,
        )
        self.timed_out = 0

    def run(self, questions: list[Question]) -> SessionSummary:
        """Ask the questions; the session is closed and summarised however it ends."""
        session = self.session
        banks = tuple(dict.fromkeys(q.bank for q in questions))
        self.view.header(
            Banner(
                grader=session.grader_info,
                count=len(questions),
                title=self.config.title,
                follow_ups=session.max_follow_ups,
                banks=banks,
                hints=self.config.hints,
                warning=self.config.warning,
            )
        )
        started = time.monotonic()
        try:
            self._ask_all(questions, started)
        finally:
            report = None
            if self.config.report is not None:
                progress = Progress(int(time.monotonic() - started), self.timed_out)
                report = self.config.report(session.exchanges, progress)
            # The report's own figures win where both name one (its mean counts skips as 0).
            stored = {**session.summary().as_dict(), **report.as_dict()} if report else None
            summary = session.finish(report=stored)
            self.view.summary(session.exchanges, summary, report)
        return summary

    def _ask_all(self, questions: list[Question], started: float) -> None:
        limit = self.config.time_limit_s
        end = started + limit if limit is not None else None
        for index, question in enumerate(questions, 1):
            deadline = None
            if end is not None and limit is not None:
                now = time.monotonic()
                if now >= end:
                    self.view.time_up()
                    return
                deadline = min(end, now + limit / len(questions))
            if not self._ask(question, index, len(questions), deadline, end):
                return
            if self.config.pause_between and index < len(questions) and self.answers.interactive():
                choice = self.answers.choose_next()
                if choice == "r":
                    # The reference stays on screen until the candidate moves on.
                    self.view.reference(question)
                    choice = self.answers.choose_next(reference=False)
                if choice == "q":
                    return

    def _ask(
        self, question: Question, index: int, total: int, deadline: float | None, end: float | None
    ) -> bool:
        """Ask one question and its follow-ups; False when the candidate ended the session."""
        session = self.session
        shown = time.monotonic()
        self.view.question(question, index, total, _clock(shown, deadline, end))
        hint = partial(session.hint, question) if self.config.hints else None
        got = self._read(
            AnswerRequest(
                hint=hint, hint_penalty=session.hint_penalty, deadline=deadline, interview_end=end
            )
        )
        elapsed = _ms_since(shown)
        if got.interrupted:
            if got.text:
                session.answer(
                    question, got.text, hints_used=got.hints_used, time_taken_ms=elapsed,
                    grade=False,
                )  # fmt: skip
            raise KeyboardInterrupt
        if got.action == "quit" and not got.text:
            return False
        if got.action == "skip":
            session.skip(question, time_taken_ms=elapsed)
            if not got.timed_out:
                self.view.skipped(follow_up=False)
            return True
        with self.view.grading(session.grader_info):
            exchange = session.answer(
                question, got.text, hints_used=got.hints_used, time_taken_ms=elapsed
            )
        self.view.result(exchange, session.hint_penalty)
        if self.config.reveal:
            self.view.reference(question)
        if got.eof or got.action == "quit":
            return False
        return self._ask_follow_ups(exchange, deadline, end)

    def _ask_follow_ups(
        self, exchange: Exchange, deadline: float | None, end: float | None
    ) -> bool:
        """Ask the follow-ups of one answer; False when the candidate ended the session.

        How follow-ups are counted, in practice and mock alike: "Follow-up n/m" counts the
        follow-ups chosen for this answer (`Session.follow_ups_for`: the most important gap
        first, at most the configured number), not the configured number itself, which
        the grader may not reach. One skipped, or never asked because the question's time ran
        out, still counts in m, but only answered follow-ups are saved and counted in the
        session summary.
        """
        session = self.session
        follow_ups = session.follow_ups_for(exchange)
        for number, follow_up in enumerate(follow_ups, 1):
            shown = time.monotonic()
            if deadline is not None and shown >= deadline:
                return True  # the next question gets its own time
            self.view.follow_up(
                follow_up.text, number, len(follow_ups), _clock(shown, deadline, end)
            )
            got = self._read(
                AnswerRequest(prompt=FOLLOW_UP_PROMPT, deadline=deadline, interview_end=end)
            )
            elapsed = _ms_since(shown)
            if got.interrupted:
                if got.text:
                    session.answer_follow_up(
                        exchange, follow_up, got.text, time_taken_ms=elapsed, grade=False
                    )
                raise KeyboardInterrupt
            if got.action == "skip" or not got.text:
                if got.eof or got.action == "quit":
                    return False
                if got.action == "skip" and not got.timed_out:
                    self.view.skipped(follow_up=True)
                continue
            with self.view.grading(session.grader_info):
                reply = session.answer_follow_up(
                    exchange, follow_up, got.text, time_taken_ms=elapsed
                )
            self.view.result(reply, 0.0)
            if got.eof or got.action == "quit":
                return False
        return True

    def _read(self, request: AnswerRequest) -> AnswerInput:
        got = self.answers.read(request)
        self.timed_out += got.timed_out
        return got


@contextmanager
def released(grader: Grader) -> Iterator[Grader]:
    """Close the grader's connections once the session is over, however it ends.

    An LLM grader holds an HTTP connection pool; left to the garbage collector, its sockets
    are closed with a ResourceWarning. The offline grader has nothing to close.
    """
    try:
        yield grader
    finally:
        close = getattr(grader, "close", None)
        if callable(close):
            close()


def _clock(now: float, deadline: float | None, end: float | None) -> Clock | None:
    if deadline is None or end is None:
        return None
    return Clock(deadline - now, end - now)


def _ms_since(started: float) -> int:
    return int((time.monotonic() - started) * 1000)
