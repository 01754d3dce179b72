"""Key points: the checklist an answer is graded against.

A question's curated key points are used as they are; a question without them gets points
derived from its reference (``derive_key_points``): the reference is cut into clauses and the
most informative, non-redundant ones are kept. ``resolve_key_points`` is the one place that
rule is written down, for grading, hints and batch rows alike.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

from interviewer import text as tx

# Key points derived from a reference when a question has none.
DEFAULT_LIMIT = 6

# Unit weights: a single Chinese character is weak evidence next to a bigram or a word;
# a unit the question already contains proves little when repeated.
UNIGRAM_WEIGHT = 0.3
QUESTION_ECHO_WEIGHT = 0.4


@dataclass(frozen=True)
class Point:
    """A key point (or reference clause) ready for matching."""

    text: str
    weights: dict[str, float]
    total: float


def resolve_key_points(
    curated: Sequence[str] | None, reference: str, language: str, limit: int = DEFAULT_LIMIT
) -> list[str]:
    """The curated key points when there are any, else ones derived from ``reference``."""
    if curated:
        return list(curated)
    return derive_key_points(reference, language, limit)


def derive_key_points(reference: str, language: str, limit: int = DEFAULT_LIMIT) -> list[str]:
    """Pick up to ``limit`` informative, non-redundant clauses of ``reference`` as key points.

    The reference is cut into clauses; headers ("Possible differences:") and fragments with
    no content are dropped; then clauses are taken greedily by how much content they add
    that the ones already taken do not cover, and returned in reference order.
    ``language`` is the question's language tag; the cut is script-aware, so a reference
    gives the same points whatever the tag says.
    """
    return [p.text for p in derive_points(reference, frozenset(), limit)]


def _clean_point(text: str) -> str:
    cleaned = tx.strip_list_marker(text).strip(" \t\r\n,，、;；:：.。")
    return " ".join(cleaned.split())


# Bookkeeping labels in references: "[Correction / completion]" on a line of its own or at the
# start of one, 【更正/补充】. Left in, their words would count as content.
_LABEL_RE = re.compile(r"^[ \t]*(?:\[[^\]\n]{1,40}\]|【[^】\n]{1,20}】)[ \t]*", re.MULTILINE)


def strip_labels(reference: str) -> str:
    return _LABEL_RE.sub("", reference)


def reference_clauses(reference: str) -> list[str]:
    clauses: list[str] = []
    for clause in tx.split_clauses(strip_labels(reference)):
        cleaned = _clean_point(clause)
        # A short line ending in a colon introduces a list; it is not a point of its own.
        if clause.rstrip().endswith((":", "：")) and tx.count_units(cleaned) <= 4:
            continue
        if cleaned and tx.tokenise(cleaned):
            clauses.append(cleaned)
    return clauses


def derive_points(reference: str, question_units: frozenset[str], limit: int) -> list[Point]:
    candidates = [make_point(c, question_units) for c in reference_clauses(reference)]
    candidates = [c for c in candidates if c.total > 0]
    if limit <= 0 or not candidates:
        return []
    chosen: list[int] = []
    seen: dict[str, float] = {}
    while len(chosen) < min(limit, len(candidates)):
        best, best_gain = -1, 0.0
        for i, cand in enumerate(candidates):
            if i in chosen:
                continue
            new = sum(w for u, w in cand.weights.items() if u not in seen)
            # Favour clauses that add much, but not merely by being long.
            gain = new / math.sqrt(1.0 + cand.total / 4.0) if new / cand.total >= 0.4 else 0.0
            if gain > best_gain:
                best, best_gain = i, gain
        if best < 0:
            break
        chosen.append(best)
        seen.update(candidates[best].weights)
    return [candidates[i] for i in sorted(chosen)]


def unit_weight(unit: str, question_units: frozenset[str]) -> float:
    weight = UNIGRAM_WEIGHT if tx.is_unigram(unit) else 1.0
    if unit in question_units:
        weight *= QUESTION_ECHO_WEIGHT
    return weight


def make_point(text: str, question_units: frozenset[str]) -> Point:
    weights = {u: unit_weight(u, question_units) for u in set(tx.tokenise(text))}
    return Point(text=text, weights=weights, total=sum(weights.values()))
