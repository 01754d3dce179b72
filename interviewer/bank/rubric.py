"""Grading criteria: the default rubric and how an overall score is computed from it.

The overall score is computed here, from per-criterion levels and weights, never asked of a
model: a model's own "overall" number drifts from its criterion scores and cannot be audited.
Each criterion is scored on anchored levels 0-4 so that graders (people, models, the offline
heuristic) share one vocabulary.
"""

from __future__ import annotations

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


def compute_score(levels: dict[str, int], criteria: tuple[Criterion, ...]) -> float:
    """Return the weighted overall score on 0-100 from criterion levels (0-4).

    A criterion missing from ``levels`` counts as level 0: a grade that skips a criterion
    must not score higher than one that addresses it.
    """
    total_weight = sum(c.weight for c in criteria)
    if total_weight <= 0:
        return 0.0
    earned = sum(c.weight * levels.get(c.id, 0) / MAX_LEVEL for c in criteria)
    return round(100.0 * earned / total_weight, 1)
