"""Anchors: hand-scored answers that put every grade of a run on the teacher's scale.

A teacher scores a handful of answers per question (``human_score`` out of ``max_score``);
those rows are anchors. From them a map is fitted from the grader's 0-100 score to the
teacher's scale, in two parts:

* one **global monotone map** (the evaluation package's isotonic fit) from the grader's
  score to the *fraction* of the maximum, fitted on every anchor of every question, so that
  questions on different scales (0-5 beside 0-10) share it and a question with no anchor
  still gets a sensible grade;
* a **per-question offset**: the mean of that question's residuals, shrunk toward zero as
  ``sum / (n + SHRINK)``. Questions differ in difficulty (the grader is harsher on some), and
  ten anchors are enough to see it, while one or two anchors move the question only a little.

Why this and not a full map per question: with ten anchors a per-question curve follows
noise; measured on three courses (``benchmarks/anchors.py``) the global map plus a shrunk
offset cuts the error of plain rescaling to 0.35-0.6 of it, with a higher correlation.

The agreement on anchors is cross-validated: anchors are dealt into folds, and each is
predicted by a map fitted without its fold, so no anchor is scored by a map that saw it.
Anchors keep their own score as their ``calibrated_score``.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from interviewer.evaluation.calibration import MAX_FOLDS, MonotoneMap, fit_monotone
from interviewer.evaluation.metrics import mae, pearson

SHRINK = 3.0  # pseudo-anchors pulling a question's offset toward the global map
CALIBRATION_SCHEMA = 1


@dataclass(frozen=True, slots=True)
class Point:
    """One graded row as the calibration sees it."""

    key: str
    group: str  # the question: its id (an ad-hoc question's id is derived from its text)
    score: float  # the grader's 0-100 score
    maximum: float | None = None  # the row's scale, when known
    human: float | None = None  # the teacher's score on that scale: the row is an anchor

    @property
    def is_anchor(self) -> bool:
        return self.human is not None and self.maximum is not None and self.maximum > 0


@dataclass(frozen=True)
class AnchorMap:
    """The fitted map: a global monotone map to the fraction of the maximum, plus offsets."""

    curve: MonotoneMap
    offsets: dict[str, float]
    counts: dict[str, int]
    shrink: float = SHRINK

    def fraction(self, group: str, score: float) -> float:
        """The predicted fraction of the maximum (0..1) for a grader score on a question."""
        value = self.curve(score) + self.offsets.get(group, 0.0)
        return min(1.0, max(0.0, value))

    def predict(self, group: str, score: float, maximum: float) -> float:
        return self.fraction(group, score) * maximum

    def to_json(self) -> dict[str, Any]:
        return {
            "global": {
                "grader_score": list(self.curve.knots_x),
                "fraction": list(self.curve.knots_y),
            },
            "shrink": self.shrink,
            "questions": {
                g: {"offset": round(self.offsets[g], 6), "anchors": self.counts[g]}
                for g in sorted(self.offsets)
            },
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> AnchorMap:
        curve = data["global"]
        questions = data.get("questions") or {}
        return cls(
            curve=MonotoneMap(
                tuple(float(x) for x in curve["grader_score"]),
                tuple(float(y) for y in curve["fraction"]),
            ),
            offsets={str(g): float(v["offset"]) for g, v in questions.items()},
            counts={str(g): int(v["anchors"]) for g, v in questions.items()},
            shrink=float(data.get("shrink", SHRINK)),
        )


def fit_anchors(anchors: Sequence[Point], shrink: float = SHRINK) -> AnchorMap:
    """Fit the global map and the shrunk per-question offsets on anchors."""
    usable = [p for p in anchors if p.is_anchor]
    if not usable:
        raise ValueError("cannot fit a calibration without anchors")
    fractions = [_fraction(p) for p in usable]
    curve = fit_monotone([p.score for p in usable], fractions)
    sums: dict[str, float] = defaultdict(float)
    counts: dict[str, int] = defaultdict(int)
    for p, y in zip(usable, fractions, strict=True):
        sums[p.group] += y - curve(p.score)
        counts[p.group] += 1
    offsets = {g: sums[g] / (counts[g] + shrink) for g in sums}
    return AnchorMap(curve=curve, offsets=offsets, counts=dict(counts), shrink=shrink)


def _fraction(p: Point) -> float:
    assert p.human is not None
    assert p.maximum
    return p.human / p.maximum


@dataclass
class Agreement:
    """Cross-validated agreement on anchors: the map against plain rescaling.

    Errors are in fractions of the maximum (0.1 = a tenth of the scale), so questions on
    different scales add up; ``scale`` is the maximum when every anchor shares one, and the
    reports show the error in its points then.
    """

    anchors: int
    folds: int
    mae: float
    pearson: float
    plain_mae: float
    plain_pearson: float
    scale: float | None

    def errors(self) -> tuple[str, str]:
        """The map's and plain rescaling's mean error, in points of a common scale, else in
        percent of each row's scale: ("0.62 points of 5", "1.77") or ("17% of the scale",
        "23%")."""
        if self.scale:
            return f"{self.mae * self.scale:.2f} points of {self.scale:g}", (
                f"{self.plain_mae * self.scale:.2f}"
            )
        return f"{self.mae:.0%} of the scale", f"{self.plain_mae:.0%}"

    def to_json(self) -> dict[str, Any]:
        return {
            "anchors": self.anchors,
            "folds": self.folds,
            "mae_fraction": _round(self.mae),
            "pearson": _round(self.pearson),
            "plain_mae_fraction": _round(self.plain_mae),
            "plain_pearson": _round(self.plain_pearson),
            "scale": self.scale,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Agreement:
        def num(name: str) -> float:
            value = data.get(name)
            return float("nan") if value is None else float(value)

        scale = data.get("scale")
        return cls(
            anchors=int(data["anchors"]),
            folds=int(data["folds"]),
            mae=num("mae_fraction"),
            pearson=num("pearson"),
            plain_mae=num("plain_mae_fraction"),
            plain_pearson=num("plain_pearson"),
            scale=None if scale is None else float(scale),
        )


def _round(value: float) -> float | None:
    return None if math.isnan(value) else round(value, 4)


def cross_validate(anchors: Sequence[Point], shrink: float = SHRINK) -> Agreement | None:
    """Predict each anchor from a map fitted without its fold; None under two anchors."""
    usable = sorted((p for p in anchors if p.is_anchor), key=lambda p: p.key)
    n = len(usable)
    if n < 2:
        return None
    folds = min(n, MAX_FOLDS)
    predicted = [0.0] * n
    for k in range(folds):
        train = [p for i, p in enumerate(usable) if i % folds != k]
        fitted = fit_anchors(train, shrink)
        for i in range(k, n, folds):
            predicted[i] = fitted.fraction(usable[i].group, usable[i].score)
    actual = [_fraction(p) for p in usable]
    plain = [min(1.0, max(0.0, p.score / 100)) for p in usable]
    ones = [1] * n
    scales = {p.maximum for p in usable}
    return Agreement(
        anchors=n,
        folds=folds,
        mae=mae(predicted, actual, ones),
        pearson=pearson(predicted, actual, ones),
        plain_mae=mae(plain, actual, ones),
        plain_pearson=pearson(plain, actual, ones),
        scale=scales.pop() if len(scales) == 1 else None,
    )


@dataclass
class Calibration:
    """A run's anchors, the map fitted on them and the agreement, as stored beside it."""

    map: AnchorMap
    agreement: Agreement | None
    anchors: int
    questions: int  # questions with at least one anchor
    default_max: float | None = None
    question_max: dict[str, float] = field(default_factory=dict)

    def maximum(self, point: Point) -> float | None:
        """The row's scale: its own, else its question's, else the run's default."""
        if point.maximum is not None:
            return point.maximum
        return self.question_max.get(point.group, self.default_max)

    def calibrated(self, point: Point) -> float | None:
        """The row's score on its scale: an anchor keeps its own."""
        maximum = self.maximum(point)
        if maximum is None:
            return None
        if point.human is not None:
            return point.human
        return round(self.map.predict(point.group, point.score, maximum), 3)

    def to_json(self) -> dict[str, Any]:
        return {
            "schema": CALIBRATION_SCHEMA,
            "anchors": self.anchors,
            "questions_with_anchors": self.questions,
            "default_max_score": self.default_max,
            "question_max_score": dict(sorted(self.question_max.items())),
            "map": self.map.to_json(),
            "agreement": None if self.agreement is None else self.agreement.to_json(),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Calibration:
        agreement = data.get("agreement")
        default = data.get("default_max_score")
        return cls(
            map=AnchorMap.from_json(data["map"]),
            agreement=None if agreement is None else Agreement.from_json(agreement),
            anchors=int(data["anchors"]),
            questions=int(data["questions_with_anchors"]),
            default_max=None if default is None else float(default),
            question_max={
                str(k): float(v) for k, v in (data.get("question_max_score") or {}).items()
            },
        )


def calibrate(points: Iterable[Point], default_max: float | None = None) -> Calibration | None:
    """Fit a run's calibration on its anchors; None when the run has none."""
    anchors: list[Point] = []
    question_max: dict[str, float] = {}
    for p in points:
        if p.maximum is not None:
            question_max.setdefault(p.group, p.maximum)
        if p.is_anchor:
            anchors.append(p)
    if not anchors:
        return None
    if default_max is None:
        scales = {p.maximum for p in anchors if p.maximum is not None}
        default_max = scales.pop() if len(scales) == 1 else None
    return Calibration(
        map=fit_anchors(anchors),
        agreement=cross_validate(anchors),
        anchors=len(anchors),
        questions=len({p.group for p in anchors}),
        default_max=default_max,
        question_max=question_max,
    )
