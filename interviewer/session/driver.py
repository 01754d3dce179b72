"""A practice or mock interview: hints, grading, follow-ups and saving, without terminal I/O.

The session loop (`interviewer.session.runner`) reads answers and shows results through the
ui; this module decides what happens to them. The order of operations is the point: every
answer is written to the history database *before* it is graded, so a crash, a Ctrl-C or a
failing endpoint never loses what the candidate typed. An endpoint failure is recorded as an
ungraded attempt (never a score of 0); fatal failures (bad key, unknown model, unreachable
server, exhausted quota) end the session after that record is written.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from interviewer.bank.library import Question
from interviewer.errors import EndpointError, InputError, is_fatal
from interviewer.grading.grade import Grader, GraderInfo, Outcome, hinted_points
from interviewer.session.follow_ups import FollowUp as FollowUp  # re-exported for callers
from interviewer.session.follow_ups import choose, curated, probe_adjusted_score, probe_question

if TYPE_CHECKING:
    from interviewer.history.store import HistoryStore

ExchangeKind = Literal["answer", "follow_up", "skip"]


@dataclass
class Exchange:
    """One question asked in a session and what became of the answer."""

    question: Question
    kind: ExchangeKind
    prompt: str
    answer: str = ""
    attempt_id: int | None = None
    outcome: Outcome | None = None
    final_score: float | None = None
    hints_used: int = 0
    time_taken_ms: int = 0
    error: str | None = None
    follow_ups: list[Exchange] = field(default_factory=list)
    # The final score before a follow-up recovered a key point (None: no probe credit).
    score_before_follow_ups: float | None = None
    # On a follow-up: the question's final score before and after the key points it recovered.
    raised_parent: tuple[float, float] | None = None
    # Why the follow-ups after this answer differ from the usual (it could not be graded).
    follow_up_note: str | None = None

    @property
    def graded(self) -> bool:
        return self.outcome is not None and self.outcome.graded


@dataclass
class SessionSummary:
    """Totals shown at the end of a session and stored with it."""

    session_id: str
    asked: int
    answered: int
    skipped: int
    ungraded: int
    mean_score: float | None
    follow_ups: int
    mean_follow_up_score: float | None

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


class Session:
    """Runs one interview session against a grader and a history store."""

    def __init__(
        self,
        store: HistoryStore,
        grader: Grader,
        *,
        mode: str = "practice",
        follow_ups: int = 1,
        hint_penalty: float = 10.0,
        settings: dict[str, Any] | None = None,
    ) -> None:
        if follow_ups < 0:
            raise InputError("--follow-ups must be 0 or more.")
        self.store = store
        self.grader = grader
        self.mode = mode
        self.max_follow_ups = follow_ups
        self.hint_penalty = hint_penalty
        self.exchanges: list[Exchange] = []
        self.session_id = store.start_session(
            mode=mode,
            grader=grader.info,
            settings={"follow_ups": follow_ups, "hint_penalty": hint_penalty, **(settings or {})},
        )
        self._closed = False

    @property
    def grader_info(self) -> GraderInfo:
        return self.grader.info

    # ------------------------------------------------------------------ hints

    def key_points(self, question: Question) -> list[str]:
        """The key points of a question, derived from the reference when the bank has none."""
        from interviewer.grading.key_points import resolve_key_points

        return resolve_key_points(question.key_points, question.full_reference, question.language)

    def hint(self, question: Question, hints_used: int) -> str | None:
        """Reveal the next key point, or None when every point has been revealed."""
        points = self.key_points(question)
        return points[hints_used] if hints_used < len(points) else None

    # ------------------------------------------------------------------ answers

    def answer(
        self,
        question: Question,
        answer: str,
        *,
        hints_used: int = 0,
        time_taken_ms: int = 0,
        grade: bool = True,
    ) -> Exchange:
        """Save an answer, grade it, save the grade; endpoint failures become ungraded.

        ``grade=False`` only saves it (the session was interrupted); `regrade` grades it later.
        """
        text = _checked_answer(answer)
        attempt_id = self.store.record_answer(
            session_id=self.session_id,
            question=question,
            answer=text,
            hints_used=hints_used,
            time_taken_ms=time_taken_ms,
        )
        exchange = Exchange(
            question=question,
            kind="answer",
            prompt=question.question,
            answer=text,
            attempt_id=attempt_id,
            hints_used=hints_used,
            time_taken_ms=time_taken_ms,
        )
        self.exchanges.append(exchange)
        if grade:
            self._grade_into(exchange)
        return exchange

    def skip(self, question: Question, *, time_taken_ms: int = 0) -> Exchange:
        """Record a skipped question (it counts as forgotten for review scheduling)."""
        attempt_id = self.store.record_skip(
            session_id=self.session_id, question=question, time_taken_ms=time_taken_ms
        )
        exchange = Exchange(
            question=question,
            kind="skip",
            prompt=question.question,
            attempt_id=attempt_id,
            time_taken_ms=time_taken_ms,
        )
        self.exchanges.append(exchange)
        return exchange

    # ------------------------------------------------------------------ follow-ups

    def follow_ups_for(self, exchange: Exchange) -> list[FollowUp]:
        """Follow-ups to ask after an answer, the most important gap first
        (`session.follow_ups.choose`).

        None after a skip. After an ungraded answer only the bank's curated ones: the
        grader's aim at gaps that only a grade finds. None at all when the endpoint failed,
        as the follow-up's answer could not be graded either (and a local server that timed
        out may still be busy with the first request). ``exchange.follow_up_note`` says why.
        """
        grade = exchange.outcome.grade if exchange.outcome is not None else None
        if self.max_follow_ups == 0 or exchange.kind != "answer" or exchange.outcome is None:
            return []
        if grade is None:
            if exchange.error is not None:
                return []
            points = self.key_points(exchange.question)
            return curated(exchange.question, points)[: self.max_follow_ups]
        return choose(exchange.question, grade, self.max_follow_ups)

    def answer_follow_up(
        self,
        parent: Exchange,
        follow_up: FollowUp,
        answer: str,
        *,
        time_taken_ms: int = 0,
        grade: bool = True,
    ) -> Exchange:
        """Save and grade the answer to a follow-up, against what the follow-up probes."""
        text = _checked_answer(answer)
        attempt_id = self.store.record_answer(
            session_id=self.session_id,
            question=parent.question,
            answer=text,
            kind="follow_up",
            parent_id=parent.attempt_id,
            prompt=follow_up.text,
            time_taken_ms=time_taken_ms,
        )
        probe = follow_up_question(parent, follow_up, len(parent.follow_ups) + 1)
        exchange = Exchange(
            question=probe or parent.question,
            kind="follow_up",
            prompt=follow_up.text,
            answer=text,
            attempt_id=attempt_id,
            time_taken_ms=time_taken_ms,
        )
        parent.follow_ups.append(exchange)
        if not grade:
            return exchange
        if probe is None:
            # Asked for the conversation's sake; grading it against the parent's reference
            # would credit or fault points it never asked about.
            exchange.outcome = Outcome(info=self.grader.info, ungraded_reason="no_reference")
            self.store.record_outcome(attempt_id, exchange.outcome, final_score=None)
        else:
            self._grade_into(exchange)
            self._credit_probe(parent)
        return exchange

    def _credit_probe(self, parent: Exchange) -> None:
        """Raise the parent's final score for key points its follow-ups recovered.

        The adjusted score replaces the final score of the parent's grade in the store, so
        history, statistics and the review schedule all count it (docs/grading.md).
        """
        grade = parent.outcome.grade if parent.outcome is not None else None
        if grade is None or parent.attempt_id is None:
            return
        probes = [f.outcome.grade for f in parent.follow_ups if f.outcome and f.outcome.grade]
        final = probe_adjusted_score(grade, parent.hints_used, probes)
        if parent.final_score is None or final == parent.final_score:
            return
        if parent.score_before_follow_ups is None:
            parent.score_before_follow_ups = parent.final_score
        parent.follow_ups[-1].raised_parent = (parent.final_score, final)
        parent.final_score = final
        self.store.record_probe_credit(parent.attempt_id, final)

    # ------------------------------------------------------------------ grading

    def _grade_into(self, exchange: Exchange) -> None:
        """Grade an exchange's answer against its question (a follow-up's own probe)."""
        assert exchange.attempt_id is not None
        started = time.monotonic()
        try:
            outcome = self.grader.grade(exchange.question, exchange.answer)
        except EndpointError as exc:
            outcome = Outcome(
                info=self.grader.info,
                ungraded_reason="endpoint_error",
                ungraded_detail=str(exc),
                duration_ms=int((time.monotonic() - started) * 1000),
            )
            exchange.error = str(exc)
            exchange.outcome = outcome
            exchange.follow_up_note = self._follow_up_note(exchange)
            self.store.record_outcome(exchange.attempt_id, outcome, final_score=None)
            if is_fatal(exc):
                raise
            return
        exchange.outcome = outcome
        if outcome.grade is not None:
            # A hinted key point earns at most partial credit (docs/grading.md).
            hinted = hinted_points(exchange.hints_used)
            exchange.final_score = outcome.grade.final_score(hinted)
        exchange.follow_up_note = self._follow_up_note(exchange)
        self.store.record_outcome(exchange.attempt_id, outcome, final_score=exchange.final_score)

    def _follow_up_note(self, exchange: Exchange) -> str | None:
        """What the candidate is told when an ungraded answer changes the follow-ups."""
        if exchange.kind != "answer" or exchange.graded or self.max_follow_ups == 0:
            return None
        if exchange.error is not None:
            return (
                "No follow-up question: the endpoint failed, so an answer to a follow-up could"
                " not be graded either."
            )
        if exchange.question.follow_ups:
            return (
                "This answer could not be graded, so the grader's follow-ups (aimed at the gaps"
                " a grade finds) are not available: the bank's follow-up comes instead."
            )
        return (
            "No follow-up question: follow-ups aim at the gaps a grade finds, this answer could"
            " not be graded, and the bank has no follow-up for this question."
        )

    # ------------------------------------------------------------------ end

    def summary(self) -> SessionSummary:
        answered = [e for e in self.exchanges if e.kind == "answer"]
        scores = [e.final_score for e in answered if e.final_score is not None]
        follow_ups = [f for e in answered for f in e.follow_ups]
        fu_scores = [f.final_score for f in follow_ups if f.final_score is not None]
        return SessionSummary(
            session_id=self.session_id,
            asked=len(self.exchanges),
            answered=len(answered),
            skipped=sum(1 for e in self.exchanges if e.kind == "skip"),
            ungraded=sum(1 for e in [*answered, *follow_ups] if _regradable(e)),
            mean_score=round(statistics.fmean(scores), 1) if scores else None,
            follow_ups=len(follow_ups),
            mean_follow_up_score=round(statistics.fmean(fu_scores), 1) if fu_scores else None,
        )

    def finish(self, report: dict[str, Any] | None = None) -> SessionSummary:
        """Close the session in the store (idempotent) and return its summary."""
        summary = self.summary()
        if not self._closed:
            self.store.end_session(self.session_id, report=report or summary.as_dict())
            self._closed = True
        return summary


def follow_up_question(parent: Exchange, follow_up: FollowUp, number: int) -> Question | None:
    """The question a follow-up answer is graded against: what it probes, else None."""
    grade = parent.outcome.grade if parent.outcome is not None else None
    points = [kp.text for kp in grade.key_points] if grade is not None else []
    return probe_question(parent.question, follow_up, points, number)


def _regradable(exchange: Exchange) -> bool:
    """Ungraded for a reason `regrade` can fix (not a follow-up with nothing to grade on)."""
    reason = exchange.outcome.ungraded_reason if exchange.outcome is not None else None
    return not exchange.graded and reason != "no_reference"


def _checked_answer(answer: str) -> str:
    text = answer.strip()
    if not text:
        raise InputError("An empty answer cannot be graded: type an answer, /skip or /quit.")
    # No upper limit here: a long answer is saved in full, and the grader cuts what it sends
    # to its token budget with a visible notice.
    return text
