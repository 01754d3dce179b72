"""CJK-aware text overlap for drafts: is a key point in the reference, is a question new.

Both use the units of ``interviewer.text`` (stemmed English content words, Chinese
character bigrams and weighted unigrams), so a Chinese point is matched on its words rather
than on whitespace, and the same rules hold as in offline grading.
"""

from __future__ import annotations

from difflib import SequenceMatcher

from interviewer import text as tx
from interviewer.grading.key_points import make_point

# Share of a key point's weighted units that must occur in the reference for it to count as
# supported. A paraphrase keeps most content words; a point about something the reference
# never mentions keeps few.
SUPPORT_THRESHOLD = 0.6
# Two questions at least this similar (either measure) are taken as the same question.
DUPLICATE_THRESHOLD = 0.7


def support(point: str, reference: str) -> float:
    """The weighted share of ``point``'s content units that occur in ``reference``."""
    weighed = make_point(point, frozenset())
    if weighed.total <= 0:
        return 0.0
    present = set(tx.tokenise(reference))
    found = sum(w for unit, w in weighed.weights.items() if unit in present)
    return found / weighed.total


def is_supported(point: str, reference: str) -> bool:
    return support(point, reference) >= SUPPORT_THRESHOLD


def similarity(a: str, b: str) -> float:
    """How alike two questions are: the larger of unit-set Jaccard and character ratio."""
    units_a, units_b = set(tx.tokenise(a)), set(tx.tokenise(b))
    jaccard = len(units_a & units_b) / len(units_a | units_b) if units_a | units_b else 0.0
    ratio = SequenceMatcher(None, tx.normalise(a), tx.normalise(b), autojunk=False).ratio()
    return max(jaccard, ratio)


def closest(text: str, others: list[str]) -> tuple[float, int]:
    """The highest similarity of ``text`` to any of ``others`` and its index (-1: none)."""
    best, where = 0.0, -1
    for index, other in enumerate(others):
        score = similarity(text, other)
        if score > best:
            best, where = score, index
    return best, where
