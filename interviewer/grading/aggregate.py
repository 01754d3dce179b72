"""Combining several grades of one answer (repeated samples, or a panel of graders) into one.

The aggregate is itself a ``Grade`` scored by the same formula as any other
(``rubric.weighted_score``): per key point the majority verdict, per criterion the median
level. Averaging overall scores would hide which verdicts the graders disagreed on; voting
per item keeps the aggregate auditable and lets the spread be reported per item too. A tie
between verdicts goes to the less generous one, and an even count's median level is rounded
down, so disagreement never raises a grade.

``combine_outcomes`` does the same for whole outcomes (samples, panel members): usage is
summed and the spread is reported in a notice.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from interviewer.bank.rubric import weighted_score
from interviewer.grading.grade import (
    CriterionResult,
    Grade,
    GraderInfo,
    KeyPointResult,
    KeyPointStatus,
    Outcome,
    Usage,
)

# Most generous first: a tie between verdicts is broken towards the later one.
_GENEROSITY: tuple[KeyPointStatus, ...] = ("covered", "partial", "missing", "contradicted")
# Spread of overall scores (0-100) across grades above which an aggregate is flagged unstable.
UNSTABLE_SPREAD = 15.0


@dataclass(frozen=True)
class Spread:
    """How far the aggregated grades disagreed."""

    scores: list[float]
    split_points: int
    split_criteria: int

    @property
    def range(self) -> float:
        return max(self.scores) - min(self.scores) if self.scores else 0.0

    @property
    def unstable(self) -> bool:
        return self.range >= UNSTABLE_SPREAD

    def summary(self, what: str, score: float) -> str:
        """One line for the user, e.g. '3 samples: aggregate 70, range 60-85 (spread 25); ...'."""
        low, high = min(self.scores), max(self.scores)
        text = (
            f"{len(self.scores)} {what}: aggregate {score:g}, range {low:g}-{high:g}"
            f" (spread {self.range:g})"
        )
        if self.split_points or self.split_criteria:
            text += (
                f"; they disagreed on {self.split_points} key point(s) and"
                f" {self.split_criteria} criterion level(s)"
            )
        return text


def aggregate_grades(grades: Sequence[Grade]) -> tuple[Grade, Spread]:
    """One grade from ``grades`` of the same answer (same key points and rubric) and their
    spread. The free text (feedback, follow-ups, ...) is the one of the grade whose own score
    is closest to the aggregate's."""
    if not grades:
        raise ValueError("aggregate_grades needs at least one grade")
    first = grades[0]
    points: list[KeyPointResult] = []
    split_points = 0
    for i, point in enumerate(first.key_points):
        verdicts = [g.key_points[i] for g in grades if i < len(g.key_points)]
        statuses = [v.status for v in verdicts]
        status = majority(statuses)
        split_points += len(set(statuses)) > 1
        quote = next((v.quote for v in verdicts if v.status == status and v.quote), "")
        points.append(
            KeyPointResult(index=point.index, text=point.text, status=status, quote=quote)
        )
    criteria: list[CriterionResult] = []
    split_criteria = 0
    for j, criterion in enumerate(first.criteria):
        entries = [g.criteria[j] for g in grades if j < len(g.criteria)]
        levels = sorted(e.score for e in entries)
        level = median_level(levels)
        split_criteria += levels[0] != levels[-1]
        chosen = min(entries, key=lambda e: (abs(e.score - level), e.score))
        criteria.append(chosen.model_copy(update={"name": criterion.name, "score": level}))
    score = weighted_score(
        {c.criterion: c.score for c in criteria},
        {c.criterion: c.weight for c in criteria},
        key_points=[p.status for p in points],
    )
    representative = min(grades, key=lambda g: abs(g.score - score))
    aggregate = representative.model_copy(
        update={"score": score, "criteria": criteria, "key_points": points}
    )
    spread = Spread([g.score for g in grades], split_points, split_criteria)
    return aggregate, spread


def median_level(levels: Sequence[int]) -> int:
    """The median of integer levels; for an even count the mean of the middle two, rounded
    down (4 and 2 give 3, 4 and 3 give 3)."""
    ordered = sorted(levels)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    return (ordered[middle - 1] + ordered[middle]) // 2


def majority(statuses: Sequence[KeyPointStatus]) -> KeyPointStatus:
    """The most frequent verdict; among equally frequent ones, the least generous."""
    counts = Counter(statuses)
    top = max(counts.values())
    return max((s for s in counts if counts[s] == top), key=_GENEROSITY.index)


def combine_outcomes(outcomes: list[Outcome], what: str) -> Outcome:
    """One outcome from several of the same answer: the per-item aggregate of the graded ones
    with the spread in a notice, or (none graded) the first outcome, still ungraded."""
    total = Usage()
    for o in outcomes:
        total = add_usage(total, o.usage)
    graded = [o for o in outcomes if o.grade is not None]
    if not graded:
        chosen = outcomes[0].model_copy(deep=True)
        chosen.notices.append(f"None of the {len(outcomes)} {what} could be graded.")
    else:
        grade, spread = aggregate_grades([o.grade for o in graded if o.grade is not None])
        base = min(graded, key=lambda o: abs((o.score or 0.0) - grade.score))
        chosen = base.model_copy(deep=True, update={"grade": grade, "samples": spread.scores})
        summary = spread.summary(what, grade.score)
        if spread.unstable:
            chosen.notices.append(f"Unstable grade: {summary}.")
        else:
            chosen.notices.append(f"{summary}.")
        if len(graded) < len(outcomes):
            chosen.notices.append(
                f"{len(outcomes) - len(graded)} of {len(outcomes)} {what} were ungraded."
            )
    chosen.usage = total
    chosen.info = with_provenance(chosen.info, total)
    return chosen


def with_provenance(info: GraderInfo, usage: Usage) -> GraderInfo:
    """``info`` with the server's fingerprint and cached prompt tokens also in its settings:
    the history store keeps the settings as JSON, so they are kept with every grade."""
    settings = dict(info.settings)
    if info.system_fingerprint is not None:
        settings["system_fingerprint"] = info.system_fingerprint
    if usage.cached_prompt_tokens is not None:
        settings["cached_prompt_tokens"] = usage.cached_prompt_tokens
    return info.model_copy(update={"settings": settings})


def add_usage(total: Usage, more: Usage) -> Usage:
    """Token totals of two calls (cached prompt tokens counted where either reported them)."""
    cached = None
    if total.cached_prompt_tokens is not None or more.cached_prompt_tokens is not None:
        cached = (total.cached_prompt_tokens or 0) + (more.cached_prompt_tokens or 0)
    return Usage(
        prompt_tokens=total.prompt_tokens + more.prompt_tokens,
        completion_tokens=total.completion_tokens + more.completion_tokens,
        estimated=total.estimated or more.estimated,
        cached_prompt_tokens=cached,
    )
