"""The grade model every grader produces, and the outcome of one grading call.

A grade is always a validated model, never free text (the raw reply is kept next to it in
``Outcome.raw_reply``). "Ungraded" is a state of its own: an endpoint error, an unparseable,
truncated or refused reply is recorded as such, never as a score of 0, and is kept out of
statistics and review scheduling until it is re-graded.

``GradeReply`` is a grader's verdicts as lists (one entry per key point and per criterion):
what the offline grader builds directly and what ``reply_parsing`` turns a model's reply into
(a model replies in the per-id object shape of ``request.grade_schema``). ``Grade`` is what we
store and show: the verdicts plus what our code computes (key point texts, verdicts lowered
for want of a quote, the overall score, dropped quotes). Its fields only ever gain defaults,
so grades stored by older versions still load.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field

from interviewer.bank.library import Question
from interviewer.bank.rubric import MAX_LEVEL, Criterion, compute_score, weighted_score

KeyPointStatus = Literal["covered", "partial", "missing", "contradicted"]
KEY_POINT_STATUSES: tuple[str, ...] = ("covered", "partial", "missing", "contradicted")


# How a key point's status is marked wherever it is shown: the terminal, and the Markdown and
# HTML exports. Those files are UTF-8 and already use typographic characters, so one set of
# marks (the one the README shows) serves them all.
def format_score(value: float | None, missing: str = "—") -> str:
    """A 0-100 score as every screen, export and report shows it: one decimal only when needed.

    Scores are stored to one decimal (a hint penalty can leave 22.5); rounding to a whole
    number in one view and not in another made the same attempt read 22 and 22.5.
    """
    if value is None:
        return missing
    return f"{value:.1f}".removesuffix(".0")


KEY_POINT_MARKS: dict[KeyPointStatus, str] = {
    "covered": "✓",
    "partial": "◐",
    "missing": "✗",
    "contradicted": "‼",
}
UngradedReason = Literal[
    "endpoint_error", "unparseable", "truncated", "refused", "invalid", "language", "no_reference"
]
GraderKind = Literal["offline", "llm"]


class KeyPointReply(BaseModel):
    """The grader's verdict on one key point, as returned by a model."""

    model_config = ConfigDict(extra="ignore")

    index: int = Field(ge=1, description="1-based number of the key point in the list given")
    quote: str = Field(
        default="",
        description="Exact words copied from the answer that cover the point; empty if missing",
    )
    status: KeyPointStatus


class CriterionReply(BaseModel):
    """The grader's score for one rubric criterion, reasoning first."""

    model_config = ConfigDict(extra="ignore")

    criterion: str
    evidence: str = Field(default="", description="What in the answer supports the level")
    comment: str = Field(default="", description="Why this level and not the next one")
    score: int = Field(ge=0, le=MAX_LEVEL)


class GradeReply(BaseModel):
    """A grader's verdicts on one answer, before our code checks and scores them."""

    model_config = ConfigDict(extra="ignore")

    key_points: list[KeyPointReply]
    criteria: list[CriterionReply]
    factual_errors: list[str] = Field(default_factory=list)
    feedback: str
    stronger_answer: str = ""
    follow_ups: list[str] = Field(default_factory=list, max_length=3)
    reference_issues: list[str] = Field(default_factory=list)


class KeyPointResult(BaseModel):
    """One key point with its status and the evidence quoted from the answer.

    ``status`` is what the score counts. ``claimed`` keeps the grader's own verdict when it was
    lowered: a point claimed "covered" without a quote found in the answer counts as partial.
    """

    index: int
    text: str
    status: KeyPointStatus
    quote: str = ""
    claimed: KeyPointStatus | None = None


class CriterionResult(BaseModel):
    """One criterion's level (0-4) with the grader's evidence and comment."""

    criterion: str
    name: str
    weight: float
    evidence: str = ""
    comment: str = ""
    score: int = Field(ge=0, le=MAX_LEVEL)


class Grade(BaseModel):
    """A complete, validated grade of one answer."""

    score: float = Field(
        ge=0, le=100, description="Overall 0-100, computed from criteria and key points"
    )
    criteria: list[CriterionResult]
    key_points: list[KeyPointResult]
    factual_errors: list[str] = Field(default_factory=list)
    feedback: str = ""
    stronger_answer: str = ""
    follow_ups: list[str] = Field(default_factory=list)
    reference_issues: list[str] = Field(default_factory=list)
    dropped_quotes: int = 0
    estimate: bool = Field(
        default=False, description="True for the offline grader's heuristic estimate"
    )

    def count(self, status: str) -> int:
        return sum(1 for kp in self.key_points if kp.status == status)

    def final_score(
        self, hinted: Collection[int] = (), probed: Mapping[int, str] | None = None
    ) -> float:
        """The score with the key points in ``hinted`` (1-based) shown to the candidate as hints:
        each of them earns at most partial credit; and with ``probed`` (key point number to its
        best verdict on a follow-up) earning the discounted probe credit (docs/grading.md)."""
        if not hinted and not probed:
            return self.score
        return weighted_score(
            {c.criterion: c.score for c in self.criteria},
            {c.criterion: c.weight for c in self.criteria},
            key_points=[kp.status for kp in self.key_points],
            hinted=hinted,
            probed=probed,
        )


def hinted_points(hints_used: int) -> set[int]:
    """The key points a candidate saw after ``hints_used`` hints: hints reveal them in order."""
    return set(range(1, max(0, hints_used) + 1))


class Usage(BaseModel):
    """Tokens used by one grading call; ``estimated`` when not reported by the server."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    estimated: bool = False
    cached_prompt_tokens: int | None = Field(
        default=None, description="Prompt tokens served from the server's cache, when reported"
    )


class GraderInfo(BaseModel):
    """What produced a grade: recorded with every grade so it can be reproduced."""

    kind: GraderKind
    model: str | None = None
    endpoint: str | None = None
    prompt_version: str | None = None
    settings: dict[str, Any] = Field(default_factory=dict)
    system_fingerprint: str | None = Field(
        default=None, description="The server's backend configuration id, when reported"
    )

    @property
    def label(self) -> str:
        if self.kind == "offline":
            return "offline"
        return f"{self.model or '?'} @ {self.endpoint or '?'}"


class Outcome(BaseModel):
    """The result of grading one answer: a grade, or a labelled ungraded state."""

    grade: Grade | None = None
    ungraded_reason: UngradedReason | None = None
    ungraded_detail: str = ""
    raw_reply: str | None = None
    usage: Usage = Field(default_factory=Usage)
    info: GraderInfo
    duration_ms: int = 0
    samples: list[float] = Field(
        default_factory=list, description="Overall scores of every sample when --samples > 1"
    )
    notices: list[str] = Field(
        default_factory=list, description="Things the user should know (answer cut, etc.)"
    )

    @property
    def graded(self) -> bool:
        return self.grade is not None

    @property
    def score(self) -> float | None:
        return self.grade.score if self.grade is not None else None


class Grader(Protocol):
    """Anything that grades an answer to a question. Must be safe to call from threads."""

    @property
    def info(self) -> GraderInfo: ...

    def grade(self, question: Question, answer: str) -> Outcome: ...


def build_grade(
    reply: GradeReply,
    question: Question,
    key_points: list[str],
    answer: str,
    *,
    estimate: bool = False,
) -> Grade:
    """Turn a validated reply into a Grade: attach texts, verify quotes, compute the score.

    Quotes that do not occur in the answer (after whitespace normalisation) are dropped and
    counted: a grader must not credit words the candidate never wrote. A point claimed
    "covered" without a quote found in the answer counts as "partial" (``claimed`` keeps the
    grader's verdict). The score follows ``rubric.compute_score`` from the levels and the
    checklist.
    """
    criteria: tuple[Criterion, ...] = question.criteria
    by_id = {c.criterion: c for c in reply.criteria}
    results = [
        CriterionResult(
            criterion=c.id,
            name=c.name,
            weight=c.weight,
            evidence=by_id[c.id].evidence if c.id in by_id else "",
            comment=by_id[c.id].comment if c.id in by_id else "not scored by the grader",
            score=by_id[c.id].score if c.id in by_id else 0,
        )
        for c in criteria
    ]
    normalised_answer = _normalise(answer)
    verdicts = {kp.index: kp for kp in reply.key_points}
    dropped = 0
    points: list[KeyPointResult] = []
    for i, text in enumerate(key_points, start=1):
        verdict = verdicts.get(i)
        if verdict is None:
            points.append(KeyPointResult(index=i, text=text, status="missing"))
            continue
        quote = verdict.quote.strip()
        if quote and _normalise(quote) not in normalised_answer:
            dropped += 1
            quote = ""
        status: KeyPointStatus = verdict.status
        claimed: KeyPointStatus | None = None
        if status == "covered" and not quote:
            status, claimed = "partial", "covered"
        points.append(
            KeyPointResult(index=i, text=text, status=status, quote=quote, claimed=claimed)
        )
    score = compute_score(
        {r.criterion: r.score for r in results}, criteria, [kp.status for kp in points]
    )
    return Grade(
        score=score,
        criteria=results,
        key_points=points,
        factual_errors=reply.factual_errors,
        feedback=reply.feedback,
        stronger_answer=reply.stronger_answer,
        follow_ups=reply.follow_ups[:3],
        reference_issues=reply.reference_issues,
        dropped_quotes=dropped,
        estimate=estimate,
    )


def _normalise(text: str) -> str:
    """Collapse whitespace and quote styles so that a faithful quote matches."""
    table = str.maketrans({"“": '"', "”": '"', "‘": "'", "’": "'", "，": ",", "。": "."})
    return " ".join(text.translate(table).split()).lower()
