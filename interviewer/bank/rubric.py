"""Grading criteria: the default rubric and how an overall score is computed from it.

The overall score is computed here, from per-criterion levels, weights and the key-point
checklist (docs/grading.md states the formula), never asked of a model: a model's own
"overall" number drifts from its criterion scores and cannot be audited. Each criterion is
scored on anchored levels 0-4 so that graders (people, models, the offline heuristic) share
one vocabulary.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence

from pydantic import BaseModel, ConfigDict, Field, field_validator

MAX_LEVEL = 4


class Criterion(BaseModel):
    """One rubric criterion with anchored level descriptions and a weight."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    name: str
    weight: float = Field(gt=0, le=100)
    levels: dict[int, str]

    @field_validator("levels")
    @classmethod
    def _all_levels(cls, levels: dict[int, str]) -> dict[int, str]:
        expected = set(range(MAX_LEVEL + 1))
        if set(levels) != expected:
            raise ValueError(f"levels must describe exactly the levels 0-{MAX_LEVEL}")
        return levels


DEFAULT_CRITERIA: tuple[Criterion, ...] = (
    Criterion(
        id="correctness",
        name="Correctness",
        weight=0.4,
        levels={
            0: "Wrong or off-topic; the central claims are false.",
            1: "Mostly wrong, with a few correct fragments.",
            2: "Partly correct; at least one significant error or confusion.",
            3: "Correct apart from minor slips or imprecision.",
            4: "Entirely correct; no factual errors.",
        },
    ),
    Criterion(
        id="completeness",
        name="Completeness",
        weight=0.3,
        levels={
            0: "None of the key points are addressed.",
            1: "One key point, or fragments of a few.",
            2: "About half of the key points.",
            3: "Most key points; one notable gap.",
            4: "Every key point is addressed.",
        },
    ),
    Criterion(
        id="depth",
        name="Depth",
        weight=0.2,
        levels={
            0: "No explanation beyond restating the question.",
            1: "Definitions only, no reasoning.",
            2: "Some reasoning or an example, but shallow.",
            3: "Explains why and how, with examples or trade-offs.",
            4: "Insightful: mechanisms, trade-offs, limits and practice.",
        },
    ),
    Criterion(
        id="clarity",
        name="Clarity",
        weight=0.1,
        levels={
            0: "Incoherent.",
            1: "Hard to follow.",
            2: "Understandable but disorganised.",
            3: "Clear and organised.",
            4: "Clear, well structured and concise, as a strong candidate would say it.",
        },
    ),
)


# What one key-point verdict is worth in the checklist term.
KEY_POINT_CREDIT: dict[str, float] = {
    "covered": 1.0,
    "partial": 0.5,
    "missing": 0.0,
    "contradicted": 0.0,
}
# A key point the candidate was shown as a hint earns at most this much.
HINTED_CREDIT = 0.5
# A key point recovered on a follow-up earns this share of the credit it gained there: a
# missing point covered on the probe counts as partial, less than if said unprompted.
PROBE_SHARE = 0.5
# The criterion whose term is computed from the key-point checklist instead of its level.
CHECKLIST_CRITERION = "completeness"
# A grade whose checklist credits no key point cannot score above this.
NO_POINT_CAP = 70.0


def probed_credit(status: str, probe_status: str | None) -> float:
    """One key point's credit once a follow-up probed it.

    The answer's credit plus ``PROBE_SHARE`` of what the probe's verdict adds to it: missing
    then covered on the probe earns 1/2, missing then partial 1/4, partial then covered 3/4.
    A probe never lowers a point's credit.
    """
    credit = KEY_POINT_CREDIT.get(status, 0.0)
    if probe_status is None:
        return credit
    gained = KEY_POINT_CREDIT.get(probe_status, 0.0) - credit
    return credit + PROBE_SHARE * gained if gained > 0 else credit


def checklist_credit(
    statuses: Sequence[str],
    hinted: Collection[int] = (),
    probed: Mapping[int, str] | None = None,
) -> float | None:
    """The share of the key points the answer earned (0-1), or None without key points.

    covered 1, partial 1/2, missing and contradicted 0; a point a follow-up probed (1-based
    index to its verdict there) earns ``probed_credit``; a hinted point earns at most
    ``HINTED_CREDIT``.
    """
    if not statuses:
        return None
    probed = probed or {}
    credits = []
    for i, status in enumerate(statuses, start=1):
        credit = probed_credit(status, probed.get(i))
        credits.append(min(credit, HINTED_CREDIT) if i in hinted else credit)
    return sum(credits) / len(credits)


def correctness_cap(statuses: Sequence[str]) -> int:
    """The highest correctness level a grade with these verdicts may keep.

    A contradicted key point is a significant error (the level-2 anchor), so one caps
    correctness at 2, two at 1, three or more at 0.
    """
    contradicted = sum(1 for s in statuses if s == "contradicted")
    return MAX_LEVEL if contradicted == 0 else max(0, MAX_LEVEL - 1 - contradicted)


def compute_score(
    levels: dict[str, int],
    criteria: Sequence[Criterion],
    key_points: Sequence[str] | None = None,
    hinted: Collection[int] = (),
) -> float:
    """Return the overall score on 0-100 from criterion levels (0-4) and key-point verdicts.

    Without ``key_points`` (statuses in key-point order) this is the weighted mean of the
    levels. With them the checklist decides what it can: the completeness criterion's term is
    the checklist credit instead of its level, contradicted points cap correctness, and a
    checklist that credits no point caps the score at ``NO_POINT_CAP``. See docs/grading.md.
    A criterion missing from ``levels`` counts as level 0: a grade that skips a criterion
    must not score higher than one that addresses it.
    """
    return weighted_score(
        levels, {c.id: c.weight for c in criteria}, key_points=key_points, hinted=hinted
    )


def weighted_score(
    levels: dict[str, int],
    weights: dict[str, float],
    *,
    key_points: Sequence[str] | None = None,
    hinted: Collection[int] = (),
    probed: Mapping[int, str] | None = None,
) -> float:
    """``compute_score`` from criterion weights by id (what a stored grade keeps).

    ``probed`` gives key points recovered on follow-ups their probe credit; the correctness
    cap still counts a contradiction the answer made, even when a probe corrected it.
    """
    total_weight = sum(weights.values())
    if total_weight <= 0:
        return 0.0
    credit = checklist_credit(key_points or (), hinted, probed)
    cap = correctness_cap(key_points or ())
    earned = 0.0
    for cid, weight in weights.items():
        level = levels.get(cid, 0)
        if cid == "correctness":
            level = min(level, cap)
        share = level / MAX_LEVEL
        if cid == CHECKLIST_CRITERION and credit is not None:
            share = credit
        earned += weight * share
    score = 100.0 * earned / total_weight
    if credit == 0.0:
        score = min(score, NO_POINT_CAP)
    return round(score, 1)
