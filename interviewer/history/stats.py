"""Progress statistics per topic and difficulty, and the review overview, as plain data.

What is counted (the README repeats these rules):

- Main answers and skips of practice and mock sessions; follow-up answers are not, because
  they probe a different, narrower question.
- The score of an attempt is its most recent successful grade, with hints and follow-ups counted.
- Ungraded answers are counted as ungraded and kept out of every mean, best and trend;
  skips are counted as skipped and are not scores either.
- Trend: the mean of the later half of an attempt series minus the mean of the earlier
  half (needs at least two graded answers), plus the mean per ISO week for the charts.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, tzinfo
from typing import TYPE_CHECKING, Any

from interviewer.history.records import PERSONAL_MODES

if TYPE_CHECKING:
    from interviewer.bank.library import Question
    from interviewer.history.records import AttemptRecord, ReviewRecord
    from interviewer.history.store import HistoryStore

DIFFICULTY_ORDER = {"easy": 0, "medium": 1, "hard": 2}
RECENT = 12


def _round(value: float | None) -> float | None:
    return round(value, 1) if value is not None else None


def _mean(values: Sequence[float]) -> float | None:
    return _round(statistics.fmean(values)) if values else None


def trend(scores: Sequence[float]) -> dict[str, Any] | None:
    """Earlier-half mean, later-half mean and their difference; None below two scores.

    With an odd count the middle score belongs to neither half, so that one lucky answer
    in the middle cannot tip the comparison.
    """
    if len(scores) < 2:
        return None
    half = len(scores) // 2
    earlier = statistics.fmean(scores[:half])
    later = statistics.fmean(scores[-half:])
    return {
        "earlier_mean": _round(earlier),
        "later_mean": _round(later),
        "change": _round(later - earlier),
    }


def _week(moment: datetime, zone: tzinfo | None) -> str:
    year, week, _ = moment.astimezone(zone).isocalendar()
    return f"{year}-W{week:02d}"


def _weekly(rows: Sequence[tuple[datetime, float]], zone: tzinfo | None) -> list[dict[str, Any]]:
    weeks: dict[str, list[float]] = {}
    for moment, score in rows:
        weeks.setdefault(_week(moment, zone), []).append(score)
    return [
        {"week": week, "graded": len(values), "mean": _mean(values)}
        for week, values in sorted(weeks.items())
    ]


def _summary(attempts: Sequence[AttemptRecord], zone: tzinfo | None) -> dict[str, Any]:
    """Counts, mean, best, trend and weekly means of attempts given oldest first."""
    scored = [(a.created_at, a.score) for a in attempts if a.kind == "answer" and a.graded]
    rows = [(moment, score) for moment, score in scored if score is not None]
    scores = [score for _, score in rows]
    answers = [a for a in attempts if a.kind == "answer"]
    return {
        "attempts": len(attempts),
        "graded": len(scores),
        "ungraded": len(answers) - len(scores),
        "skipped": sum(1 for a in attempts if a.kind == "skip"),
        "mean": _mean(scores),
        "best": _round(max(scores)) if scores else None,
        "latest": _round(scores[-1]) if scores else None,
        "trend": trend(scores),
        "weekly": _weekly(rows, zone),
        "recent": [_round(s) for s in scores[-RECENT:]],
        "first_at": attempts[0].created_at.isoformat() if attempts else None,
        "last_at": attempts[-1].created_at.isoformat() if attempts else None,
    }


def _grouped(
    attempts: Sequence[AttemptRecord],
    key: Callable[[AttemptRecord], tuple[str, ...]],
    names: tuple[str, ...],
    order: Callable[[tuple[str, ...]], Any],
    zone: tzinfo | None,
) -> list[dict[str, Any]]:
    groups: dict[tuple[str, ...], list[AttemptRecord]] = {}
    for attempt in attempts:
        groups.setdefault(key(attempt), []).append(attempt)
    return [
        {**dict(zip(names, group, strict=True)), **_summary(groups[group], zone)}
        for group in sorted(groups, key=order)
    ]


def summarise(
    attempts: Iterable[AttemptRecord],
    *,
    zone: tzinfo | None = None,
    scope: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Statistics of ``attempts`` (any order): totals, per topic, difficulty and both.

    Only main answers and skips count; pass attempts of personal sessions. ``zone`` is the
    time zone weeks are counted in (default: the local one).
    """
    main = sorted(
        (a for a in attempts if a.kind in ("answer", "skip")),
        key=lambda a: (a.created_at, a.id),
    )

    def topic(a: AttemptRecord) -> tuple[str, ...]:
        return (a.topic or "general",)

    def difficulty(a: AttemptRecord) -> tuple[str, ...]:
        return (a.difficulty or "medium",)

    def both(a: AttemptRecord) -> tuple[str, ...]:
        return (a.topic or "general", a.difficulty or "medium")

    def level(name: str) -> int:
        return DIFFICULTY_ORDER.get(name, len(DIFFICULTY_ORDER))

    return {
        "scope": scope or {},
        "totals": _summary(main, zone),
        "by_topic": _grouped(main, topic, ("topic",), lambda k: k[0].lower(), zone),
        "by_difficulty": _grouped(
            main, difficulty, ("difficulty",), lambda k: (level(k[0]), k[0]), zone
        ),
        "by_topic_difficulty": _grouped(
            main,
            both,
            ("topic", "difficulty"),
            lambda k: (k[0].lower(), level(k[1])),
            zone,
        ),
    }


def compute_stats(
    store: HistoryStore,
    *,
    bank: str | None = None,
    topic: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    zone: tzinfo | None = None,
) -> dict[str, Any]:
    """Statistics of the practice and mock answers in the store that match the filters."""
    attempts = store.attempts(
        bank=bank,
        topic=topic,
        since=since,
        until=until,
        kinds=("answer", "skip"),
        modes=PERSONAL_MODES,
        oldest_first=True,
    )
    scope = {
        "bank": bank,
        "topic": topic,
        "since": since.isoformat() if since else None,
        "until": until.isoformat() if until else None,
        "modes": list(PERSONAL_MODES),
    }
    return summarise(attempts, zone=zone, scope=scope)


# --------------------------------------------------------------------------- review overview


@dataclass(frozen=True)
class DueItem:
    """A scheduled question: when it is due and how its reviews went."""

    question_id: str
    bank: str | None
    topic: str | None
    difficulty: str | None
    question: str | None
    due: datetime
    overdue: bool
    last_rating: str | None
    review_count: int
    lapses: int
    recall: float | None
    in_bank: bool

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "due": self.due.isoformat()}


@dataclass(frozen=True)
class ReviewOverview:
    """What is due now, what comes later, and which loaded questions were never practised."""

    now: datetime
    due: list[DueItem]
    upcoming: list[DueItem]
    new: list[dict[str, str]]

    def to_dict(self) -> dict[str, Any]:
        return {
            "now": self.now.isoformat(),
            "due": [d.to_dict() for d in self.due],
            "upcoming": [d.to_dict() for d in self.upcoming],
            "new": self.new,
        }


def review_overview(
    reviews: Iterable[ReviewRecord],
    questions: Iterable[Question],
    *,
    now: datetime,
    seen: Iterable[str] = (),
    bank: str | None = None,
) -> ReviewOverview:
    """Split scheduled questions into due and upcoming; list loaded questions never seen.

    ``questions`` are the loaded bank questions (for texts and the "new" list); a scheduled
    question that left the bank is still listed, marked ``in_bank=False``. ``seen`` are
    questions with any attempt: an attempt whose every grade failed schedules nothing, but
    the question is not new either.
    """
    from interviewer.history.scheduling import RATING_NAMES, retrievability

    by_id = {q.id: q for q in questions}
    due: list[DueItem] = []
    upcoming: list[DueItem] = []
    scheduled: set[str] = set()
    for review in reviews:
        scheduled.add(review.question_id)
        if bank and (review.bank or "").lower() != bank.lower():
            continue
        q = by_id.get(review.question_id)
        item = DueItem(
            question_id=review.question_id,
            bank=review.bank,
            topic=q.topic if q else None,
            difficulty=q.difficulty if q else None,
            question=q.question.splitlines()[0] if q else None,
            due=review.due,
            overdue=review.due <= now,
            last_rating=RATING_NAMES.get(review.last_rating or 0),
            review_count=review.review_count,
            lapses=review.lapses,
            recall=round(retrievability(review.card_json, now), 2),
            in_bank=q is not None,
        )
        (due if item.overdue else upcoming).append(item)
    seen_ids = set(seen) | scheduled
    new = [
        {"question_id": q.id, "bank": q.bank, "topic": q.topic, "difficulty": q.difficulty}
        for q in by_id.values()
        if q.id not in seen_ids and (not bank or q.bank.lower() == bank.lower())
    ]
    due.sort(key=lambda d: (d.due, d.question_id))
    upcoming.sort(key=lambda d: (d.due, d.question_id))
    return ReviewOverview(now=now, due=due, upcoming=upcoming, new=new)


def store_overview(
    store: HistoryStore, questions: Iterable[Question], *, bank: str | None = None
) -> ReviewOverview:
    """``review_overview`` of the store's schedule at the store's current time."""
    return review_overview(
        store.review_states(),
        questions,
        now=store.now(),
        seen=store.seen_question_ids(),
        bank=bank,
    )
