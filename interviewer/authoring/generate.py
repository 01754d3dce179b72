"""`bank generate`: new questions with references drafted by an LLM, for review.

The model is asked for questions on a topic in one strict JSON schema. A draft too close to
a question of a loaded bank (or to one drafted earlier in the run) is dropped, as is any key
point its own reference does not support; when duplicates leave the draft short, the model
is asked again for the rest (at most ``ROUNDS`` requests in all). Every field of a drafted
question is listed under its ``generated``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from interviewer.authoring.enrich import MAX_POINTS, MIN_POINTS
from interviewer.authoring.llm import DraftClient, schema_text, strict_object, strings
from interviewer.authoring.overlap import DUPLICATE_THRESHOLD, closest, is_supported
from interviewer.bank.library import BankInfo, GeneratedField, Question
from interviewer.bank.selection import DIFFICULTIES
from interviewer.grading.request import language_name, neutralise_answer

if TYPE_CHECKING:
    from interviewer.grading.chat_client import Message

ROUNDS = 3
# Existing questions shown to the model so it steers clear of them.
SHOWN_EXISTING = 30
GENERATED: list[GeneratedField] = [
    "question",
    "reference",
    "key_points",
    "topic",
    "difficulty",
    "tags",
]

SYSTEM = (
    "You write questions for a technical interview question bank, each with a correct,"
    " self-contained reference answer. You reply with one JSON object and nothing else."
)
REQUEST = """Write {count} new interview question(s) about: {topic}
Language: {language}{difficulty}

For each question give:
- question: what the candidate is asked;
- reference: a correct reference answer of 3-8 sentences, complete enough to grade against;
- key_points: {low} to {high} short, checkable points a good answer must contain, each stated
  in the reference;
- topic: one short lowercase topic; difficulty: easy, medium or hard; tags: 2-5 lowercase
  hyphenated labels.
{avoid}
Reply with this JSON shape:
{shape}"""


class DraftQuestion(BaseModel):
    """One drafted question as the model gave it."""

    model_config = ConfigDict(extra="ignore")

    question: str = Field(min_length=1)
    reference: str = Field(min_length=1)
    key_points: list[str] = Field(default_factory=list)
    topic: str = ""
    difficulty: Literal["easy", "medium", "hard"] = "medium"
    tags: list[str] = Field(default_factory=list)

    @field_validator("question", "reference")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be blank")
        return value.strip()


class GenerateReply(BaseModel):
    """A generate reply: the drafted questions."""

    model_config = ConfigDict(extra="ignore")

    questions: list[DraftQuestion] = Field(min_length=1)


@dataclass(frozen=True)
class GenerateRequest:
    """What to draft."""

    topic: str
    count: int
    language: str
    difficulty: str | None = None


@dataclass
class Generated:
    """The drafted questions and what was dropped on the way."""

    questions: list[Question] = field(default_factory=list)
    duplicates: list[tuple[str, str]] = field(default_factory=list)  # (draft, similar to)
    unsupported: int = 0


def generate_schema() -> dict[str, Any]:
    item = strict_object(
        {
            "question": {"type": "string"},
            "reference": {"type": "string"},
            "key_points": strings(),
            "topic": {"type": "string"},
            "difficulty": {"type": "string", "enum": list(DIFFICULTIES)},
            "tags": strings(),
        }
    )
    return strict_object({"questions": {"type": "array", "items": item}})


def generate_messages(request: GenerateRequest, count: int, avoid: list[str]) -> list[Message]:
    shown = avoid[-SHOWN_EXISTING:]
    avoid_text = (
        "\nDo not repeat or rephrase any of these existing questions:\n"
        + neutralise_answer("\n".join(f"- {q}" for q in shown))
        + "\n"
        if shown
        else ""
    )
    text = REQUEST.format(
        count=count,
        topic=neutralise_answer(request.topic),
        language=language_name(request.language),
        difficulty=f"\nDifficulty: {request.difficulty}" if request.difficulty else "",
        low=MIN_POINTS,
        high=MAX_POINTS,
        avoid=avoid_text,
        shape=schema_text(generate_schema()),
    )
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": text}]


def parse_generate(data: dict[str, Any]) -> GenerateReply:
    return GenerateReply.model_validate(data)


def draft_bank_info(request: GenerateRequest, bank_id: str | None) -> BankInfo:
    slug = re.sub(r"[^a-z0-9]+", "-", request.topic.lower()).strip("-")[:40]
    return BankInfo(
        id=bank_id or (f"draft-{slug}" if slug else "draft"),
        title=f"Draft questions: {request.topic}",
        language=request.language,
        source="Drafted by an LLM with `interviewer bank generate`; not yet reviewed.",
        description="Every question is marked `generated`: review it before use.",
    )


def generate_questions(
    client: DraftClient,
    request: GenerateRequest,
    info: BankInfo,
    existing: list[Question],
) -> Generated:
    """Draft ``request.count`` questions unlike ``existing`` (fewer if the model repeats)."""
    result = Generated()
    known = [(q.id, q.question) for q in existing]
    used_ids = {q.id for q in existing}
    number = 0
    schema = generate_schema()
    for _ in range(ROUNDS):
        missing = request.count - len(result.questions)
        if missing <= 0:
            break
        messages = generate_messages(request, missing, [text for _, text in known])
        reply = client.ask(messages, schema, ("questions",), parse_generate)
        for draft in reply.questions[:missing]:
            score, where = closest(draft.question, [text for _, text in known])
            if score >= DUPLICATE_THRESHOLD:
                result.duplicates.append((draft.question, known[where][0]))
                continue
            number += 1
            while f"{info.id}-{number}" in used_ids:
                number += 1
            question = _question(draft, f"{info.id}-{number}", info, request, result)
            result.questions.append(question)
            known.append((question.id, question.question))
    return result


def _question(
    draft: DraftQuestion, qid: str, info: BankInfo, request: GenerateRequest, result: Generated
) -> Question:
    points = [p.strip() for p in draft.key_points if p.strip()]
    supported = [p for p in dict.fromkeys(points) if is_supported(p, draft.reference)]
    result.unsupported += len(points) - len(supported)
    return Question.model_validate(
        {
            "id": qid,
            "question": draft.question,
            "reference": draft.reference,
            "key_points": supported[:MAX_POINTS],
            "topic": draft.topic.strip().lower() or "general",
            "difficulty": request.difficulty or draft.difficulty,
            "tags": list(dict.fromkeys(t.strip().lower() for t in draft.tags if t.strip())),
            "generated": GENERATED,
            "bank": info.id,
            "language": info.language,
        }
    )
