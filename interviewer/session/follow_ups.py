"""Follow-ups that probe: which to ask after a grade, what an answer to one is graded on, and
which key points a follow-up recovered (docs/grading.md, "Follow-ups").

- Order: the first follow-up probes the most important gap of the answer: a missing or
  contradicted key point before a partial one, then the earlier key point first (bank authors
  list the central points first; key points carry equal weight in the checklist).
- What a follow-up probes: a curated one names its key points (``probes``); a plain string
  from the bank, or a grader's follow-up, probes the key points its wording matches. A
  grader's follow-up that matches none is taken to probe every gap of the answer (it was
  written for them), but a follow-up that names its gap is preferred.
- Grading: only on what it probes (and its own key points), never on fragments of the
  parent's reference; a follow-up with nothing to grade against is asked but left ungraded.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Literal

from interviewer import text as tx
from interviewer.bank.library import Question
from interviewer.bank.rubric import KEY_POINT_CREDIT
from interviewer.grading.grade import Grade, hinted_points

FollowUpSource = Literal["bank", "grader"]
# Gaps in the order they are probed: what the answer missed or got wrong, then half-said.
GAP_RANK = {"missing": 0, "contradicted": 0, "partial": 1}
# A key point is matched by a follow-up's wording when they share this much content (by unit
# weight, words the question itself uses left out): see `matched_points`.
MATCH_SHARE = 0.5
MIN_SHARED = 2.0
UNIGRAM_WEIGHT = 0.3


@dataclass(frozen=True)
class FollowUp:
    """A follow-up question, where it came from and what it probes (1-based key points).

    ``specific`` is False for a grader's follow-up whose wording matched no key point: it is
    taken to probe every gap of the answer.
    """

    text: str
    source: FollowUpSource
    probes: tuple[int, ...] = ()
    reference: str = ""
    key_points: tuple[str, ...] = ()
    specific: bool = True


def gaps(grade: Grade) -> list[int]:
    """The key points an answer did not cover, in the order follow-ups probe them."""
    open_points = [kp for kp in grade.key_points if kp.status in GAP_RANK]
    return [kp.index for kp in sorted(open_points, key=lambda kp: (GAP_RANK[kp.status], kp.index))]


def _weights(text: str, ignore: set[str]) -> dict[str, float]:
    return {
        u: (UNIGRAM_WEIGHT if tx.is_unigram(u) else 1.0)
        for u in tx.tokenise(text)
        if u not in ignore
    }


def matched_points(text: str, points: Sequence[str], question: str = "") -> tuple[int, ...]:
    """The key points (1-based) whose content a follow-up's wording shares (CJK-aware).

    A point matches when the content both share is at least ``MATCH_SHARE`` of the shorter
    of the two (a follow-up is usually shorter than the point it asks about) and at least
    ``MIN_SHARED`` units, so that one common word is not enough.
    """
    echo = set(tx.tokenise(question))
    asked = _weights(text, echo)
    asked_total = sum(asked.values())
    found = []
    for index, point in enumerate(points, 1):
        weights = _weights(point, echo)
        shorter = min(sum(weights.values()), asked_total)
        shared = sum(w for u, w in weights.items() if u in asked)
        if shorter > 0 and shared >= MIN_SHARED and shared / shorter >= MATCH_SHARE:
            found.append(index)
    return tuple(found)


def curated(question: Question, points: Sequence[str]) -> list[FollowUp]:
    """The bank's follow-ups for ``question``, each with the key points it probes."""
    offered: list[FollowUp] = []
    for entry in question.follow_ups:
        if isinstance(entry, str):
            offered.append(
                FollowUp(entry, "bank", matched_points(entry, points, question.question))
            )
        else:
            offered.append(
                FollowUp(
                    entry.question,
                    "bank",
                    tuple(entry.probes),
                    entry.reference,
                    tuple(entry.key_points),
                )
            )
    return offered


def candidates(question: Question, grade: Grade) -> list[FollowUp]:
    """Every follow-up on offer after this grade: the bank's, then the grader's."""
    points = [kp.text for kp in grade.key_points]
    offered = curated(question, points)
    open_points = tuple(sorted(gaps(grade)))
    for text in grade.follow_ups:
        probes = matched_points(text, points, question.question)
        offered.append(
            FollowUp(
                text, "grader", probes or open_points, specific=bool(probes or not open_points)
            )
        )
    return offered


def choose(question: Question, grade: Grade, limit: int) -> list[FollowUp]:
    """Up to ``limit`` follow-ups, each aimed at the most important gap not yet probed.

    Among follow-ups probing the same gap, one that names it comes before a grader's general
    one, and the bank's before the grader's. Follow-ups probing no gap come last: the
    grader's first when the answer has gaps (they were written for them), the bank's first
    when it has none.
    """
    pool: list[tuple[int, FollowUp]] = []
    seen: dict[str, int] = {}
    for position, candidate in enumerate(candidates(question, grade)):
        key = candidate.text.strip().lower()
        if not key:
            continue
        if key not in seen:
            seen[key] = len(pool)
            pool.append((position, candidate))
            continue
        # The grader re-offered a bank follow-up for the answer's gaps: the bank's entry is
        # kept, aimed where the grader aimed it when it names nothing itself.
        first_position, first = pool[seen[key]]
        if not first.probes and candidate.probes:
            aimed = replace(first, probes=candidate.probes, specific=candidate.specific)
            pool[seen[key]] = (first_position, aimed)
    rank = {index: r for r, index in enumerate(gaps(grade))}
    any_gaps = bool(rank)
    chosen: list[FollowUp] = []
    while pool and len(chosen) < limit:

        def order(item: tuple[int, FollowUp]) -> tuple[int, int, bool, bool, int]:
            position, f = item
            ranks = [rank[p] for p in f.probes if p in rank]
            if ranks:
                return (0, min(ranks), not f.specific, f.source != "bank", position)
            preferred = "grader" if any_gaps else "bank"
            return (1, 0, False, f.source != preferred, position)

        best = min(pool, key=order)
        pool.remove(best)
        chosen.append(best[1])
        for index in best[1].probes:
            rank.pop(index, None)
    return chosen


def probe_question(
    parent: Question, follow_up: FollowUp, points: Sequence[str], number: int
) -> Question | None:
    """The question a follow-up answer is graded against, or None when there is nothing.

    Its key points are the parent's key points the follow-up probes (``points`` are the
    parent grade's key point texts) and the follow-up's own; its reference is the follow-up's
    own, else the parent's (context for the probed points, which decide the checklist).
    """
    probed = [points[p - 1] for p in follow_up.probes if 1 <= p <= len(points)]
    own = [kp for kp in follow_up.key_points if kp not in probed]
    key_points = (probed + own)[:12]
    if not key_points and not follow_up.reference:
        return None
    update: dict[str, object] = {
        "id": f"{parent.id}.f{number}",
        "question": follow_up.text,
        "key_points": key_points,
        "follow_ups": [],
    }
    if follow_up.reference:
        update |= {"reference": follow_up.reference, "reference_notes": ""}
    return parent.model_copy(update=update)


def recovered(parent: Grade, follow_ups: Iterable[Grade]) -> dict[int, str]:
    """The parent's key points a follow-up's grade credits more than the answer did.

    A probe grade names the parent's key points by their text (``probe_question`` copies
    them), so this holds for stored grades too. Each point keeps its best verdict.
    """
    open_points = {kp.text: kp for kp in parent.key_points if kp.status != "covered"}
    best: dict[int, str] = {}
    for grade in follow_ups:
        for kp in grade.key_points:
            target = open_points.get(kp.text)
            if target is None:
                continue
            credit = KEY_POINT_CREDIT.get(kp.status, 0.0)
            before = KEY_POINT_CREDIT.get(best.get(target.index, target.status), 0.0)
            if credit > before:
                best[target.index] = kp.status
    return best


def as_asked(question: Question, grade: Grade | None, prompt: str) -> FollowUp:
    """The follow-up with this wording as it was offered after ``grade`` (for a regrade)."""
    if grade is not None:
        for candidate in candidates(question, grade):
            if candidate.text == prompt:
                return candidate
    points = [kp.text for kp in grade.key_points] if grade is not None else []
    probes = matched_points(prompt, points, question.question)
    if probes or grade is None:
        return FollowUp(prompt, "grader", probes)
    return FollowUp(prompt, "grader", tuple(sorted(gaps(grade))), specific=False)


def probe_adjusted_score(grade: Grade, hints_used: int, probes: Iterable[Grade]) -> float:
    """An answer's final score with hints counted and the key points its probes recovered."""
    return grade.final_score(hinted_points(hints_used), recovered(grade, probes))
