"""Combining several grades of one answer (repeated samples, or a panel of graders) into one.

The aggregate is itself a ``Grade`` scored by the same formula as any other
(``rubric.weighted_score``): per key point the majority verdict, per criterion the median
level. Averaging overall scores would hide which verdicts the graders disagreed on; voting
per item keeps the aggregate auditable and lets the spread be reported per item too. Ties go
to the less generous verdict and the lower median, so disagreement never raises a grade.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from interviewer.bank.rubric import weighted_score
from interviewer.grading.grade import CriterionResult, Grade, KeyPointResult, KeyPointStatus

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
        level = levels[(len(levels) - 1) // 2]
        split_criteria += levels[0] != levels[-1]
        chosen = next(e for e in entries if e.score == level)
        criteria.append(chosen.model_copy(update={"name": criterion.name}))
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


def majority(statuses: Sequence[KeyPointStatus]) -> KeyPointStatus:
    """The most frequent verdict; among equally frequent ones, the least generous."""
    counts = Counter(statuses)
    top = max(counts.values())
    return max((s for s in counts if counts[s] == top), key=_GENEROSITY.index)
