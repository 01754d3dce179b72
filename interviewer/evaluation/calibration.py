"""Map a grader's scores onto the human scale, cross-fitted by question.

Why calibrate at all: Pearson and Spearman do not care about scale, but QWK, MAE and
exact/adjacent agreement compare numbers on the human scale, and a grader's 0-100 score is
not on it (an offline grader that gives 60 to a full-marks answer is not wrong, just on
another scale). So the grader's score is first mapped to the human scale.

Why a monotone (isotonic) map rather than a straight line: graders compress and stretch
parts of the range differently (many give nothing below 20, or saturate near the top), so a
line fits the middle and misses the ends, while a monotone step map with linear
interpolation between its steps follows any increasing relation. It never reorders answers,
so the map only translates the grader's ranking into the human scale; it cannot invent
agreement the ranking does not have. Predictions stay inside the range of human scores seen.

Why cross-fitted by question: an isotonic fit can follow noise, and figures measured on the
rows it was fitted to would be optimistic. A user's calibration will meet new questions, and
answers to one question resemble each other, so the held-out unit is the question: questions
are dealt into folds (leave-one-question-out for up to ``MAX_FOLDS`` questions), the map is
fitted on the other folds' rows and applied to the held-out fold's rows. No row is scored
by a map fitted on it. With a single question there is nothing to hold out by question,
so rows are dealt into folds instead (and the figures say so).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

MAX_FOLDS = 10


@dataclass(frozen=True)
class MonotoneMap:
    """An increasing piecewise-linear map through the isotonic block means."""

    knots_x: tuple[float, ...]
    knots_y: tuple[float, ...]

    def __call__(self, x: float) -> float:
        xs, ys = self.knots_x, self.knots_y
        if x <= xs[0]:
            return ys[0]
        if x >= xs[-1]:
            return ys[-1]
        lo, hi = 0, len(xs) - 1
        while hi - lo > 1:  # binary search for the segment holding x
            mid = (lo + hi) // 2
            if xs[mid] <= x:
                lo = mid
            else:
                hi = mid
        span = xs[hi] - xs[lo]
        t = (x - xs[lo]) / span if span else 0.0
        return ys[lo] + t * (ys[hi] - ys[lo])


def fit_monotone(x: Sequence[float], y: Sequence[float]) -> MonotoneMap:
    """Least-squares increasing fit of ``y`` on ``x`` (pool adjacent violators)."""
    if not x:
        raise ValueError("cannot fit a calibration on no rows")
    pairs = sorted(zip(x, y, strict=True))
    # Rows with equal x form one starting block: a map gives one value per x.
    blocks: list[list[float]] = []  # [sum_x, sum_y, count]
    previous: float | None = None
    for a, b in pairs:
        if a == previous:
            blocks[-1][0] += a
            blocks[-1][1] += b
            blocks[-1][2] += 1
        else:
            blocks.append([a, b, 1.0])
        previous = a
    merged: list[list[float]] = []
    for block in blocks:
        merged.append(block)
        while len(merged) > 1 and merged[-2][1] / merged[-2][2] >= merged[-1][1] / merged[-1][2]:
            last = merged.pop()
            for k in range(3):
                merged[-1][k] += last[k]
    return MonotoneMap(
        knots_x=tuple(b[0] / b[2] for b in merged),
        knots_y=tuple(b[1] / b[2] for b in merged),
    )


@dataclass(frozen=True)
class CrossFit:
    """Calibrated scores for every row, each from a map fitted without that row's fold."""

    values: list[float]
    folds: int
    by: str  # "question" or "row"


def fold_of_questions(questions: Sequence[str]) -> dict[str, int]:
    """Deal the questions (in sorted order) into at most ``MAX_FOLDS`` folds, round robin."""
    distinct = sorted(set(questions))
    folds = min(len(distinct), MAX_FOLDS)
    return {q: i % folds for i, q in enumerate(distinct)}


def cross_fit(
    grader: Sequence[float], human: Sequence[float], questions: Sequence[str]
) -> CrossFit | None:
    """Cross-fitted calibrated scores; None when there are too few rows to hold any out."""
    n = len(grader)
    fold_map = fold_of_questions(questions)
    by = "question"
    if len(set(fold_map.values())) < 2:
        if n < 2:
            return None
        by = "row"
        folds_n = min(n, MAX_FOLDS)
        fold = [i % folds_n for i in range(n)]
    else:
        fold = [fold_map[q] for q in questions]
        folds_n = max(fold) + 1
    values = [0.0] * n
    for k in range(folds_n):
        train = [i for i in range(n) if fold[i] != k]
        fitted = fit_monotone([grader[i] for i in train], [human[i] for i in train])
        for i in range(n):
            if fold[i] == k:
                values[i] = fitted(grader[i])
    return CrossFit(values=values, folds=folds_n, by=by)


@dataclass(frozen=True)
class Scale:
    """The human scale: 0..maximum, cut into categories of width ``step`` for QWK/agreement.

    A scale of 2 or more points uses its integer points; a 0-1 (or any sub-2) scale uses
    quarters, which is where such scales put their partial-credit marks.
    """

    maximum: float

    @property
    def step(self) -> float:
        return 1.0 if self.maximum >= 2 else self.maximum / 4

    @property
    def categories(self) -> int:
        return round(self.maximum / self.step) + 1

    def category(self, value: float) -> int:
        """The nearest category; halves round up (3.5 of 5 is category 4)."""
        index = int(value / self.step + 0.5)
        return max(0, min(self.categories - 1, index))
