"""The figures of an evaluation: agreement of a rater with human scores, with intervals.

``agreement`` measures one rater (a grader, after calibration) against the human scores;
``ceiling`` measures two human graders against each other; ``paired_difference`` compares
two graders on the same rows. All of them share the metric set of ``FIGURES`` and the
cluster bootstrap of ``bootstrap.py``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from interviewer.evaluation import metrics as m
from interviewer.evaluation.bootstrap import ClusterSampler, Figures, Weights, intervals
from interviewer.evaluation.calibration import CrossFit, Scale, cross_fit

# Name -> label, in the order reports show them.
FIGURES: dict[str, str] = {
    "pearson": "Pearson r",
    "spearman": "Spearman ρ",
    "within_question_r": "Within-question r (mean)",
    "qwk": "QWK",
    "mae": "MAE",
    "exact": "Exact agreement",
    "adjacent": "Adjacent agreement",
}
# Figures that compare numbers on the human scale, so they need a calibrated grader.
SCALE_FIGURES = ("qwk", "mae", "exact", "adjacent")
COMPARED = ("pearson", "spearman", "qwk", "mae")


@dataclass(frozen=True)
class Figure:
    """A point estimate and its 95% bootstrap interval (None where undefined)."""

    value: float | None
    ci: tuple[float, float] | None = None

    def as_json(self) -> dict[str, object]:
        return {
            "value": _rounded(self.value),
            "ci": None if self.ci is None else [_rounded(self.ci[0]), _rounded(self.ci[1])],
        }


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


@dataclass
class Rated:
    """Two ratings of the same rows, prepared once for the point estimate and the bootstrap.

    ``x`` is the rater (raw, for correlations), ``y`` the human score; ``predicted`` is the
    rater on the human scale (calibrated for a grader) for MAE, and ``xc``/``yc`` are the
    two on the scale's categories for QWK and agreement.
    """

    x: list[float]
    y: list[float]
    predicted: list[float] | None
    scale: Scale
    groups: list[list[int]]
    xc: list[int] = field(init=False)
    yc: list[int] = field(init=False)
    orders: tuple[list[int], list[int]] = field(init=False)
    question_r: list[float] = field(init=False)

    def __post_init__(self) -> None:
        category = self.scale.category
        self.xc = [category(v) for v in self.predicted] if self.predicted is not None else []
        self.yc = [category(v) for v in self.y]
        self.orders = (m.sort_order(self.x), m.sort_order(self.y))
        self.question_r = m.question_correlations(self.x, self.y, self.groups)

    def _within(self, w: Weights, qw: Weights) -> float:
        if len(self.groups) == 1:
            # One question: the bootstrap resamples its rows, so recompute its r from them.
            return m.pearson(self.x, self.y, w) if not math.isnan(self.question_r[0]) else m.NAN
        return m.weighted_mean(self.question_r, qw)

    def figures(self, w: Weights, qw: Weights) -> Figures:
        result: Figures = {
            "pearson": m.pearson(self.x, self.y, w),
            "spearman": m.spearman(self.x, self.y, w, self.orders),
            "within_question_r": self._within(w, qw),
        }
        if self.predicted is not None:
            categories = self.scale.categories
            result["qwk"] = m.qwk(self.xc, self.yc, w, categories)
            result["mae"] = m.mae(self.predicted, self.y, w)
            result["exact"] = m.agreement(self.xc, self.yc, w, 0)
            result["adjacent"] = m.agreement(self.xc, self.yc, w, 1)
        return result


def group_rows(questions: Sequence[str]) -> list[list[int]]:
    """Row indices per question, questions in first-seen order."""
    groups: dict[str, list[int]] = {}
    for i, q in enumerate(questions):
        groups.setdefault(q, []).append(i)
    return list(groups.values())


@dataclass
class Agreement:
    """The figures of one rater against the human scores."""

    n: int
    questions: int
    figures: dict[str, Figure]
    resampled_by: str
    calibration: CrossFit | None = None


def _figures(rated: Rated, replicates: int, seed: int) -> tuple[dict[str, Figure], ClusterSampler]:
    n = len(rated.x)
    point = rated.figures([1] * n, [1] * len(rated.groups))
    sampler = ClusterSampler(rated.groups, n, seed)
    cis = intervals(sampler, replicates, rated.figures) if replicates else {}
    figures = {
        name: Figure(None if math.isnan(value) else value, cis.get(name))
        for name, value in point.items()
    }
    for name in figures:
        if figures[name].value is None:
            figures[name] = Figure(None, None)
    return figures, sampler


def agreement(
    grader: Sequence[float],
    human: Sequence[float],
    questions: Sequence[str],
    scale: Scale,
    *,
    replicates: int,
    seed: int,
) -> Agreement:
    """A grader's agreement with the human scores; QWK/MAE after cross-fitted calibration."""
    calibration = cross_fit(grader, human, questions)
    groups = group_rows(questions)
    rated = Rated(
        x=list(grader),
        y=list(human),
        predicted=calibration.values if calibration is not None else None,
        scale=scale,
        groups=groups,
    )
    figures, sampler = _figures(rated, replicates, seed)
    for name in SCALE_FIGURES:
        figures.setdefault(name, Figure(None, None))
    return Agreement(len(grader), len(groups), figures, sampler.by, calibration)


def ceiling(
    first: Sequence[float],
    second: Sequence[float],
    questions: Sequence[str],
    scale: Scale,
    *,
    replicates: int,
    seed: int,
) -> Agreement:
    """Two human graders against each other: both are on the scale, so no calibration."""
    groups = group_rows(questions)
    rated = Rated(x=list(first), y=list(second), predicted=list(first), scale=scale, groups=groups)
    figures, sampler = _figures(rated, replicates, seed)
    return Agreement(len(first), len(groups), figures, sampler.by)


@dataclass
class Comparison:
    """Grader A minus grader B on the rows both graded, with paired intervals."""

    n: int
    this: dict[str, float | None]
    other: dict[str, float | None]
    difference: dict[str, Figure]


def paired_difference(
    a: Sequence[float],
    b: Sequence[float],
    human: Sequence[float],
    questions: Sequence[str],
    scale: Scale,
    *,
    replicates: int,
    seed: int,
) -> Comparison:
    """Differences in Pearson, Spearman, QWK and MAE between two graders (A - B).

    Each grader is calibrated (cross-fitted) on these rows alone, and every bootstrap
    replicate draws one set of questions for both graders, so the interval reflects the
    difference between the graders on the same answers rather than two independent draws.
    """
    groups = group_rows(questions)
    rated = []
    for scores in (a, b):
        fitted = cross_fit(scores, human, questions)
        predicted = fitted.values if fitted is not None else None
        rated.append(Rated(list(scores), list(human), predicted, scale, groups))

    def difference(w: Weights, qw: Weights) -> Figures:
        fa, fb = rated[0].figures(w, qw), rated[1].figures(w, qw)
        return {k: fa.get(k, m.NAN) - fb.get(k, m.NAN) for k in COMPARED}

    n = len(a)
    ones, qones = [1] * n, [1] * len(groups)
    pa, pb = rated[0].figures(ones, qones), rated[1].figures(ones, qones)
    point = difference(ones, qones)
    cis = intervals(ClusterSampler(groups, n, seed), replicates, difference) if replicates else {}
    return Comparison(
        n=n,
        this={k: _defined(pa.get(k, m.NAN)) for k in COMPARED},
        other={k: _defined(pb.get(k, m.NAN)) for k in COMPARED},
        difference={
            k: Figure(None, None) if math.isnan(point[k]) else Figure(point[k], cis.get(k))
            for k in COMPARED
        },
    )


def _defined(value: float) -> float | None:
    return None if math.isnan(value) else value
