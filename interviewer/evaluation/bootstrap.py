"""Cluster-bootstrap intervals: resample whole questions, never single answers.

Answers to one question share its difficulty and its reference, so they are not independent;
resampling answers one by one would pretend there is more evidence than there is and give
intervals that are too narrow. Each replicate therefore draws as many questions as there are,
with replacement, and keeps every answer of each drawn question (a question drawn twice counts
twice). A replicate is expressed as row weights, which the metrics accept directly. With a
single question there is nothing to resample by question, so rows are resampled instead.

Intervals are percentile intervals (2.5th and 97.5th percentiles of the replicates, linear
interpolation between order statistics). A replicate where a figure is undefined (e.g. every
drawn question has constant scores) is left out of that figure's interval. The random
generator is seeded, so the same file, grader and seed always give the same intervals.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence

Weights = list[int]
Figures = dict[str, float]


class ClusterSampler:
    """Draws bootstrap replicates of a set of rows grouped into clusters (questions)."""

    def __init__(self, clusters: Sequence[Sequence[int]], rows: int, seed: int) -> None:
        self.clusters = [list(c) for c in clusters if c]
        self.rows = rows
        self.rng = random.Random(seed)
        self.by = "question" if len(self.clusters) > 1 else "row"

    def draw(self) -> tuple[Weights, Weights]:
        """One replicate: (row weights, question weights)."""
        weights = [0] * self.rows
        counts = [0] * len(self.clusters)
        if self.by == "row":
            for _ in range(self.rows):
                weights[self.rng.randrange(self.rows)] += 1
            return weights, [1] * len(self.clusters)
        for _ in range(len(self.clusters)):
            counts[self.rng.randrange(len(self.clusters))] += 1
        for cluster, count in zip(self.clusters, counts, strict=True):
            if count:
                for i in cluster:
                    weights[i] = count
        return weights, counts


def percentile(values: Sequence[float], q: float) -> float:
    """The q-quantile (0..1) of sorted ``values`` by linear interpolation."""
    position = q * (len(values) - 1)
    lo = math.floor(position)
    hi = min(lo + 1, len(values) - 1)
    return values[lo] + (position - lo) * (values[hi] - values[lo])


def intervals(
    sampler: ClusterSampler,
    replicates: int,
    compute: Callable[[Weights, Weights], Figures],
    level: float = 0.95,
) -> dict[str, tuple[float, float] | None]:
    """Percentile intervals of every figure ``compute`` returns, over ``replicates`` draws."""
    collected: dict[str, list[float]] = {}
    for _ in range(replicates):
        weights, question_weights = sampler.draw()
        for name, value in compute(weights, question_weights).items():
            bucket = collected.setdefault(name, [])
            if not math.isnan(value):
                bucket.append(value)
    tail = (1 - level) / 2
    result: dict[str, tuple[float, float] | None] = {}
    for name, values in collected.items():
        if not values:
            result[name] = None
            continue
        values.sort()
        result[name] = (percentile(values, tail), percentile(values, 1 - tail))
    return result
