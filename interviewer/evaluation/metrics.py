"""Agreement metrics on weighted rows, in pure Python.

Every metric takes per-row ``weights`` (non-negative integers): a row of weight 2 counts as
two copies of that row. The point estimate uses weight 1 everywhere; the cluster bootstrap
(``bootstrap.py``) expresses a resample as weights, so one implementation serves both and no
resampled copy of the data is ever built. Undefined figures (a constant variable, too few
rows) are ``nan``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

NAN = float("nan")


def pearson(x: Sequence[float], y: Sequence[float], w: Sequence[int]) -> float:
    """Pearson's r of ``x`` and ``y`` with row weights ``w``."""
    n = sx = sy = 0.0
    for a, b, c in zip(x, y, w, strict=True):
        if c:
            n += c
            sx += c * a
            sy += c * b
    if n < 2:
        return NAN
    mx, my = sx / n, sy / n
    sxx = syy = sxy = 0.0
    for a, b, c in zip(x, y, w, strict=True):
        if c:
            da, db = a - mx, b - my
            sxx += c * da * da
            syy += c * db * db
            sxy += c * da * db
    # Relative tolerance: sums of squares of equal floats are not always exactly zero.
    if sxx <= 1e-12 * max(1.0, n * mx * mx) or syy <= 1e-12 * max(1.0, n * my * my):
        return NAN
    return max(-1.0, min(1.0, sxy / math.sqrt(sxx * syy)))


def sort_order(values: Sequence[float]) -> list[int]:
    """Row indices in increasing order of value (computed once, reused by every resample)."""
    return sorted(range(len(values)), key=values.__getitem__)


def weighted_ranks(values: Sequence[float], w: Sequence[int], order: Sequence[int]) -> list[float]:
    """Mid-ranks (1-based, ties averaged) as if each row were repeated ``w`` times."""
    ranks = [0.0] * len(values)
    below = 0
    i = 0
    count = len(order)
    while i < count:
        j = i
        tied = 0
        value = values[order[i]]
        while j < count and values[order[j]] == value:
            tied += w[order[j]]
            j += 1
        mid = below + (tied + 1) / 2
        for k in range(i, j):
            ranks[order[k]] = mid
        below += tied
        i = j
    return ranks


def spearman(
    x: Sequence[float],
    y: Sequence[float],
    w: Sequence[int],
    orders: tuple[Sequence[int], Sequence[int]] | None = None,
) -> float:
    """Spearman's rho: Pearson's r of the mid-ranks. ``orders`` saves re-sorting."""
    ox, oy = orders if orders is not None else (sort_order(x), sort_order(y))
    return pearson(weighted_ranks(x, w, ox), weighted_ranks(y, w, oy), w)


def mae(predicted: Sequence[float], actual: Sequence[float], w: Sequence[int]) -> float:
    """Mean absolute error."""
    total = count = 0.0
    for p, a, c in zip(predicted, actual, w, strict=True):
        if c:
            total += c * abs(p - a)
            count += c
    return total / count if count else NAN


def qwk(a: Sequence[int], b: Sequence[int], w: Sequence[int], categories: int) -> float:
    """Quadratic-weighted kappa of two ratings on the categories ``0..categories-1``.

    1 - sum(weight * observed) / sum(weight * expected), with weight (i - j)^2 and the
    expected table the product of the two marginals (agreement by chance).
    """
    ra = [0.0] * categories
    rb = [0.0] * categories
    disagreement = 0.0
    n = 0.0
    for i, j, c in zip(a, b, w, strict=True):
        if c:
            ra[i] += c
            rb[j] += c
            disagreement += c * (i - j) * (i - j)
            n += c
    if n == 0:
        return NAN
    chance = 0.0
    for i in range(categories):
        if ra[i]:
            for j in range(categories):
                chance += ra[i] * rb[j] * (i - j) * (i - j)
    chance /= n
    if chance == 0:
        return NAN  # both raters gave one and the same category throughout
    return 1.0 - disagreement / chance


def agreement(a: Sequence[int], b: Sequence[int], w: Sequence[int], within: int) -> float:
    """Share of rows whose two categories differ by at most ``within``."""
    hits = n = 0.0
    for i, j, c in zip(a, b, w, strict=True):
        if c:
            n += c
            if abs(i - j) <= within:
                hits += c
    return hits / n if n else NAN


def question_correlations(
    x: Sequence[float], y: Sequence[float], groups: Sequence[Sequence[int]]
) -> list[float]:
    """Pearson's r within each question (``groups`` lists each question's rows).

    A question counts only with at least 3 answers and scores that vary on both sides;
    otherwise its entry is nan and averages skip it.
    """
    result: list[float] = []
    for rows in groups:
        if len(rows) < 3:
            result.append(NAN)
            continue
        gx = [x[i] for i in rows]
        gy = [y[i] for i in rows]
        result.append(pearson(gx, gy, [1] * len(rows)))
    return result


def weighted_mean(values: Sequence[float], weights: Sequence[int]) -> float:
    """Mean of the defined values, each counted ``weights`` times; nan when none is."""
    total = count = 0.0
    for v, c in zip(values, weights, strict=True):
        if c and not math.isnan(v):
            total += c * v
            count += c
    return total / count if count else NAN
