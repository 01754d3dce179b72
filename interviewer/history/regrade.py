"""Re-grade stored attempts with the current grader, keeping every earlier grade.

Which question an attempt is graded against: the bank's current version when the bank
still has the question (a corrected reference should benefit old answers too), else the
snapshot stored with the attempt. The grade row records the sha of the version used.
A follow-up answer is graded against the follow-up question rebuilt the way the interview
built it (``session.follow_ups.probe_question``), from the parent's first successful grade;
one with nothing to grade against is left as it is. An answer's final score counts its hints
and the key points its follow-ups recovered, whichever of the two is regraded.

The new grade is added as a new row; the review schedule is replayed from the latest
successful grades, so a regrade corrects the schedule rather than counting as a review.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from interviewer.errors import BankError, EndpointError, HistoryError, is_fatal

if TYPE_CHECKING:
    from interviewer.bank.library import Library, Question
    from interviewer.grading.grade import Grader, Outcome
    from interviewer.history.records import AttemptRecord
    from interviewer.history.store import HistoryStore


@dataclass
class RegradeItem:
    """What happened to one attempt."""

    attempt_id: int
    question_id: str
    kind: str
    before: float | None
    after: float | None
    status: str  # graded, ungraded, failed (no question to grade against)
    detail: str = ""


@dataclass
class RegradeResult:
    """The regrade session and one item per attempt considered."""

    session_id: str | None
    items: list[RegradeItem] = field(default_factory=list)
    stopped: str | None = None  # a fatal endpoint error ended the run early

    @property
    def graded(self) -> int:
        return sum(1 for i in self.items if i.status == "graded")


def select_attempts(
    store: HistoryStore,
    *,
    session_id: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    include_graded: bool = False,
) -> list[AttemptRecord]:
    """Answers and follow-up answers to regrade (oldest first); skips are never graded."""
    return store.attempts(
        session_id=session_id,
        since=since,
        until=until,
        ungraded=not include_graded,
        kinds=("answer", "follow_up"),
        oldest_first=True,
    )


def question_for(store: HistoryStore, attempt: AttemptRecord, library: Library | None) -> Question:
    """The bank question an attempt is about: current bank version, else its snapshot."""
    if library is not None:
        try:
            return library.get(attempt.question_id)
        except BankError:
            pass
    snapshot = store.question_snapshot(attempt.question_sha) if attempt.question_sha else None
    if snapshot is None:
        raise HistoryError(
            f"Attempt {attempt.id}: question '{attempt.question_id}' is not in the loaded banks"
            " and was not stored with the attempt; add its bank with --bank-dir."
        )
    return snapshot


def _follow_up_target(
    store: HistoryStore, attempt: AttemptRecord, question: Question
) -> Question | None:
    """The follow-up's own question, as the interview built it; None: nothing to grade on."""
    from interviewer.session.follow_ups import as_asked, probe_question

    assert attempt.parent_id is not None
    parent = store.attempt(attempt.parent_id)
    first_good = next((g for g in parent.grades if g.graded), None)
    grade = first_good.grade if first_good is not None else None
    follow_up = as_asked(question, grade, attempt.prompt or "")
    points = [kp.text for kp in grade.key_points] if grade is not None else []
    number = next((i for i, f in enumerate(parent.follow_ups, 1) if f.attempt.id == attempt.id), 1)
    return probe_question(question, follow_up, points, number)


def _probe_credited(store: HistoryStore, answer_id: int) -> float | None:
    """An answer's final score with its follow-ups' recovered key points, from the store."""
    from interviewer.session.follow_ups import probe_adjusted_score

    detail = store.attempt(answer_id)
    latest = next((g for g in reversed(detail.grades) if g.graded and g.grade), None)
    if latest is None or latest.grade is None:
        return None
    probes = []
    for follow_up in detail.follow_ups:
        good = next((g for g in reversed(follow_up.grades) if g.graded and g.grade), None)
        if good is not None and good.grade is not None:
            probes.append(good.grade)
    return probe_adjusted_score(latest.grade, detail.attempt.hints_used, probes)


def regrade(
    store: HistoryStore,
    grader: Grader,
    attempts: list[AttemptRecord],
    *,
    library: Library | None,
    hint_penalty: float,
    on_item: Callable[[RegradeItem], None] | None = None,
) -> RegradeResult:
    """Grade ``attempts`` again in a new ``regrade`` session; return what changed.

    An endpoint error marks that attempt's new grade ungraded and carries on; a fatal one
    (bad key, unknown model, unreachable server, quota) stops the run after recording it.
    """
    result = RegradeResult(session_id=None)
    if not attempts:
        return result
    session_id = store.start_session(
        mode="regrade",
        grader=grader.info,
        settings={"attempts": [a.id for a in attempts], "hint_penalty": hint_penalty},
    )
    result.session_id = session_id
    try:
        for attempt in attempts:
            item, fatal = _regrade_one(
                store, grader, attempt, session_id, library=library, hint_penalty=hint_penalty
            )
            result.items.append(item)
            if on_item:
                on_item(item)
            if fatal is not None:
                result.stopped = str(fatal)
                break
    finally:
        store.end_session(
            session_id,
            report={
                "regraded": result.graded,
                "considered": len(result.items),
                "stopped": result.stopped,
            },
        )
    return result


def _regrade_one(
    store: HistoryStore,
    grader: Grader,
    attempt: AttemptRecord,
    session_id: str,
    *,
    library: Library | None,
    hint_penalty: float,
) -> tuple[RegradeItem, EndpointError | None]:
    """Grade one attempt and store the grade; the fatal endpoint error, if any, comes back."""
    before = attempt.score if attempt.graded else None
    try:
        question = question_for(store, attempt, library)
        target = (
            _follow_up_target(store, attempt, question) if attempt.kind == "follow_up" else question
        )
    except HistoryError as exc:
        failed = RegradeItem(
            attempt.id, attempt.question_id, attempt.kind, before, None, "failed", str(exc)
        )
        return failed, None
    if target is None:
        failed = RegradeItem(
            attempt.id, attempt.question_id, attempt.kind, before, None, "failed",
            "this follow-up has nothing to grade against (no_reference)",
        )  # fmt: skip
        return failed, None
    outcome, fatal = _grade(grader, target, attempt.answer)
    store.record_outcome(attempt.id, outcome, session_id=session_id, question_sha=question.sha)
    final = outcome.grade.score if outcome.grade is not None else None
    # Hints and the key points follow-ups recovered count in the answer's final score.
    answer_id = attempt.id if attempt.kind == "answer" else attempt.parent_id
    credited = _probe_credited(store, answer_id) if answer_id is not None else None
    if credited is not None and outcome.grade is not None:
        store.record_probe_credit(answer_id, credited)  # type: ignore[arg-type]
        if attempt.kind == "answer":
            final = credited
    item = RegradeItem(
        attempt.id,
        attempt.question_id,
        attempt.kind,
        before,
        final,
        "graded" if outcome.graded else "ungraded",
        outcome.ungraded_detail or (outcome.ungraded_reason or ""),
    )
    return item, fatal


def _grade(grader: Grader, question: Question, answer: str) -> tuple[Outcome, EndpointError | None]:
    """The grader's outcome; an endpoint error becomes an ungraded one (returned if fatal)."""
    from interviewer.grading.grade import Outcome

    started = time.monotonic()
    try:
        return grader.grade(question, answer), None
    except EndpointError as exc:
        outcome = Outcome(
            info=grader.info,
            ungraded_reason="endpoint_error",
            ungraded_detail=str(exc),
            duration_ms=int((time.monotonic() - started) * 1000),
        )
        return outcome, exc if is_fatal(exc) else None
