"""Spaced repetition: turn graded answers into an FSRS review schedule per question.

The only module that imports ``fsrs`` (imported inside the functions that need it, so that
importing this module costs nothing at start-up).

The rating rule (documented in the README; change it only with a migration of the meaning):

    final score (hints, follow-ups)      < 40 → Again   (forgotten)
                                         < 60 → Hard
                                         < 85 → Good
                                         else → Easy
    skipped question                           → Again
    ungraded answer, follow-up answer          → no review at all

A question's card is derived data: ``replay`` rebuilds it from the question's reviews in the
order they happened, so a regrade of an old answer corrects the schedule instead of
reviewing the card a second time. Fuzzing is off, so the same history always gives the same
schedule.

Short-term review, as Anki does it: a new question answered Again (or Hard) and a known one
answered Again enter a learning step (``LEARNING_STEP``) and fall due minutes later, the
same session or day, instead of tomorrow; answered Good or Easy there, they graduate to
intervals of whole days. A graduated question falls due at the start of the (local) day its
interval ends on, so that practising at 9:00 picks up what was answered at 10:00 the day
before; a question in a learning step falls due at the minute its step ends.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from functools import cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fsrs import Scheduler

AGAIN, HARD, GOOD, EASY = 1, 2, 3, 4
RATING_NAMES: dict[int, str] = {AGAIN: "again", HARD: "hard", GOOD: "good", EASY: "easy"}
# (exclusive upper bound of the final score, rating), checked in order.
RATING_THRESHOLDS: tuple[tuple[float, int], ...] = ((40.0, AGAIN), (60.0, HARD), (85.0, GOOD))
SKIP_RATING = AGAIN
DESIRED_RETENTION = 0.9
MAXIMUM_INTERVAL_DAYS = 365
# One short step for new and for forgotten questions: long enough for other questions to
# come in between, short enough to come back in the same sitting. (Hard on a new question
# repeats the step half as long again, 15 minutes, as in Anki.)
LEARNING_STEP_MINUTES = 10
# fsrs keeps a card id only to label review logs; one constant keeps the JSON stable.
_CARD_ID = 1


def rating_for_score(final_score: float) -> int:
    """Map a 0-100 final score to an FSRS rating (1 Again … 4 Easy) by the documented rule."""
    for bound, rating in RATING_THRESHOLDS:
        if final_score < bound:
            return rating
    return EASY


@dataclass(frozen=True)
class ReviewEvent:
    """One review of a question: when the candidate answered (or skipped) and the rating."""

    at: datetime
    rating: int


@dataclass(frozen=True)
class CardState:
    """A question's review state after its reviews, ready to be stored."""

    card_json: str
    due: datetime
    last_rating: int
    last_review_at: datetime
    review_count: int
    lapses: int

    @property
    def stability_days(self) -> float | None:
        value = json.loads(self.card_json).get("stability")
        return float(value) if value is not None else None


@cache
def _scheduler() -> Scheduler:
    from datetime import timedelta

    from fsrs import Scheduler

    steps = (timedelta(minutes=LEARNING_STEP_MINUTES),)
    return Scheduler(
        desired_retention=DESIRED_RETENTION,
        learning_steps=steps,
        relearning_steps=steps,
        maximum_interval=MAXIMUM_INTERVAL_DAYS,
        enable_fuzzing=False,
    )


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("review times must be timezone-aware")
    return moment.astimezone(UTC)


def due_day(moment: datetime, zone: tzinfo | None = None) -> datetime:
    """The start of the day (in ``zone``, default local) that ``moment`` falls on, in UTC."""
    local = moment.astimezone(zone)
    return local.replace(hour=0, minute=0, second=0, microsecond=0).astimezone(UTC)


def replay(events: Iterable[ReviewEvent], zone: tzinfo | None = None) -> CardState | None:
    """Rebuild a question's card from all its reviews (any order); None if there are none.

    ``zone`` is the time zone whose days the due date is rounded to (default: local).
    """
    from fsrs import Card, Rating, State

    ordered = sorted(events, key=lambda e: e.at)
    if not ordered:
        return None
    scheduler = _scheduler()
    card: Any = Card(card_id=_CARD_ID, due=_utc(ordered[0].at))
    lapses = 0
    for event in ordered:
        if event.rating not in RATING_NAMES:
            raise ValueError(f"unknown rating {event.rating}; use 1-4")
        card, _log = scheduler.review_card(card, Rating(event.rating), _utc(event.at))
        lapses += event.rating == AGAIN
    last = ordered[-1]
    stepping = card.state in (State.Learning, State.Relearning)
    return CardState(
        card_json=card.to_json(),
        due=_utc(card.due) if stepping else due_day(card.due, zone),
        last_rating=last.rating,
        last_review_at=_utc(last.at),
        review_count=len(ordered),
        lapses=lapses,
    )


def retrievability(card_json: str, now: datetime) -> float:
    """The probability (0-1) that the question is still remembered at ``now``."""
    from fsrs import Card

    card = Card.from_json(card_json)
    return float(_scheduler().get_card_retrievability(card, _utc(now)))
