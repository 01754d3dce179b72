"""Mock interviews: time budgets and the end-of-interview report.

A mock interview is a practice session under interview conditions: a total time limit
split evenly across the questions (follow-ups share their question's budget), follow-ups on,
hints off. The report is what a debrief would say: an overall verdict, strengths and
weaknesses per topic, and the three answers most worth revisiting. Ungraded answers are
listed for re-grading but never counted in the verdict.
"""

from __future__ import annotations

import statistics
from dataclasses import asdict, dataclass, field
from typing import Any

from interviewer.session.driver import Exchange
from interviewer.session.runner import Progress, SessionConfig

# (lower bound of the mean score, verdict) from the top down.
VERDICTS: tuple[tuple[float, str], ...] = (
    (80.0, "Strong: ready for this interview"),
    (65.0, "Pass: solid, with gaps to close"),
    (50.0, "Borderline: review the weak topics before the real thing"),
    (0.0, "Not yet: revisit the basics of the weak topics"),
)
STRONG_TOPIC = 70.0
WEAK_TOPIC = 60.0
MINUTES_PER_QUESTION = 5


def mock_config(minutes: float, follow_ups: int, settings: dict[str, Any]) -> SessionConfig:
    """A session under interview conditions: timed, no hints, no pauses, a debrief at the end."""

    def report(exchanges: list[Exchange], progress: Progress) -> MockReport:
        return build_report(
            exchanges, minutes=minutes, elapsed_s=progress.elapsed_s, timed_out=progress.timed_out
        )

    return SessionConfig(
        mode="mock",
        title=f"mock · {minutes:g} min",
        follow_ups=follow_ups,
        hint_penalty=0.0,
        hints=False,
        time_limit_s=minutes * 60.0,
        pause_between=False,
        settings={"minutes": minutes, **settings},
        report=report,
    )


def question_count(minutes: float, available: int, count: int | None) -> int:
    """How many questions fit: the requested count, else one per five minutes."""
    wanted = count if count is not None else max(1, int(minutes // MINUTES_PER_QUESTION))
    return max(1, min(wanted, available))


@dataclass
class TopicResult:
    """Mean score and number of graded answers for one topic."""

    topic: str
    mean: float
    answers: int


@dataclass
class MockReport:
    """The debrief of one mock interview; stored with the session and exportable."""

    verdict: str
    mean_score: float | None
    answered: int
    skipped: int
    timed_out: int
    ungraded: list[str]
    topics: list[TopicResult]
    strengths: list[str]
    weaknesses: list[str]
    revisit: list[dict[str, Any]] = field(default_factory=list)
    minutes: float = 0.0
    elapsed_s: int = 0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _effective(ex: Exchange) -> float | None:
    """The score an exchange counts for: skips count as 0, ungraded as unknown."""
    if ex.kind == "skip":
        return 0.0
    return ex.final_score if ex.graded else None


def build_report(
    exchanges: list[Exchange], *, minutes: float, elapsed_s: int, timed_out: int
) -> MockReport:
    """Summarise a mock interview's exchanges into a verdict, topics and answers to revisit."""
    scored = [(ex, s) for ex in exchanges if (s := _effective(ex)) is not None]
    mean = round(statistics.fmean(s for _, s in scored), 1) if scored else None
    verdict = "No graded answer: nothing to judge yet"
    if mean is not None:
        verdict = next(text for bound, text in VERDICTS if mean >= bound)
    by_topic: dict[str, list[float]] = {}
    for ex, s in scored:
        by_topic.setdefault(ex.question.topic, []).append(s)
    topics = sorted(
        (TopicResult(t, round(statistics.fmean(v), 1), len(v)) for t, v in by_topic.items()),
        key=lambda r: -r.mean,
    )
    revisit = sorted(scored, key=lambda pair: pair[1])[:3]
    return MockReport(
        verdict=verdict,
        mean_score=mean,
        answered=sum(1 for ex in exchanges if ex.kind == "answer"),
        skipped=sum(1 for ex in exchanges if ex.kind == "skip"),
        timed_out=timed_out,
        ungraded=[ex.question.id for ex in exchanges if ex.kind == "answer" and not ex.graded],
        topics=topics,
        strengths=[t.topic for t in topics if t.mean >= STRONG_TOPIC],
        weaknesses=[t.topic for t in topics if t.mean < WEAK_TOPIC],
        revisit=[
            {
                "question_id": ex.question.id,
                "topic": ex.question.topic,
                "score": s,
                "attempt_id": ex.attempt_id,
                "why": _why(ex),
            }
            for ex, s in revisit
        ],
        minutes=minutes,
        elapsed_s=elapsed_s,
    )


def _why(ex: Exchange) -> str:
    if ex.kind == "skip":
        return "skipped"
    grade = ex.outcome.grade if ex.outcome is not None else None
    if grade is None:
        return ""
    missed = [kp.text for kp in grade.key_points if kp.status in ("missing", "contradicted")]
    partly = [kp.text for kp in grade.key_points if kp.status == "partial"]
    points, label = (missed, "missed") if missed else (partly, "only partly")
    if not points:
        return "shallow: explain the mechanisms and trade-offs"
    first = points[0] if len(points[0]) <= 60 else points[0][:59].rstrip() + "…"
    more = f" (+{len(points) - 1} more)" if len(points) > 1 else ""
    return f"{label}: {first}{more}"
