"""`bank enrich`: what a bank question needs, drafted by an LLM or derived offline.

One request per question asks for key points, topic, difficulty, tags, follow-ups (with the
key points they probe and their own reference) and notes on a wrong or cut-off reference, in
one strict JSON schema. The reply is kept as it came (``EnrichReply``, journalled by
``authoring.journal``); ``apply_reply`` then merges it into the question: key points the
reference does not support are dropped and reported, hand-written fields are kept unless
``force``, and every field written is listed under the question's ``generated``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from interviewer.authoring.llm import schema_text, strict_object, strings
from interviewer.authoring.overlap import closest, is_supported
from interviewer.bank.library import (
    CORRECTION_MARKERS,
    CuratedFollowUp,
    GeneratedField,
    Question,
)
from interviewer.bank.selection import DIFFICULTIES
from interviewer.grading.key_points import derive_key_points
from interviewer.grading.request import language_name, neutralise_answer

if TYPE_CHECKING:
    from interviewer.grading.chat_client import Message

MIN_POINTS, MAX_POINTS = 3, 6
# How alike a replied key point and a final one must be for a follow-up's probe to carry over.
PROBE_MATCH = 0.6
ENRICH_KEYS = ("key_points", "follow_ups", "reference_notes")

SYSTEM = (
    "You prepare questions for a technical interview question bank. You write in the bank's"
    " language, you only state what the reference answer (and its notes) supports, and you"
    " reply with one JSON object and nothing else."
)
REQUEST = """Language of the bank: {language}

Question:
{question}

Reference answer:
{reference}
{existing}
Write, for this question:
- key_points: {low} to {high} short, checkable points a good answer must contain. Each must be
  stated in the reference above (copy its wording where you can); do not add facts it lacks.
- topic: one short lowercase topic; difficulty: easy, medium or hard; tags: 2-5 lowercase
  hyphenated labels.
- follow_ups: 1-3 follow-up questions an interviewer would ask next, each with "probes" (the
  numbers of the key points it digs into, counting from 1) and its own short "reference".
- reference_notes: empty when the reference is right and complete; otherwise say plainly what
  is wrong or missing and what is right, starting with {marker}

Reply with this JSON shape:
{shape}"""


class FollowUpReply(BaseModel):
    """One follow-up as the model gave it."""

    model_config = ConfigDict(extra="ignore")

    question: str = Field(min_length=1)
    probes: list[int] = Field(default_factory=list)
    reference: str = ""


class EnrichReply(BaseModel):
    """An enrich reply as the model gave it (validated, not yet checked or merged)."""

    model_config = ConfigDict(extra="ignore")

    key_points: list[str] = Field(min_length=1)
    topic: str = ""
    difficulty: Literal["easy", "medium", "hard"] = "medium"
    tags: list[str] = Field(default_factory=list)
    follow_ups: list[FollowUpReply] = Field(default_factory=list)
    reference_notes: str = ""


def enrich_schema() -> dict[str, Any]:
    follow_up = strict_object(
        {
            "question": {"type": "string"},
            "probes": {"type": "array", "items": {"type": "integer"}},
            "reference": {"type": "string"},
        }
    )
    return strict_object(
        {
            "key_points": strings(),
            "topic": {"type": "string"},
            "difficulty": {"type": "string", "enum": list(DIFFICULTIES)},
            "tags": strings(),
            "follow_ups": {"type": "array", "items": follow_up},
            "reference_notes": {"type": "string"},
        }
    )


def enrich_messages(question: Question, *, force: bool = False) -> list[Message]:
    request = REQUEST.format(
        language=language_name(question.language),
        question=neutralise_answer(question.question),
        reference=neutralise_answer(question.full_reference),
        low=MIN_POINTS,
        high=MAX_POINTS,
        marker=correction_marker(question.language),
        shape=schema_text(enrich_schema()),
        existing=_existing(question, force),
    )
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": request}]


def _existing(question: Question, force: bool) -> str:
    """The hand-written key points, which the reply must repeat so follow-ups can cite them."""
    if force or "key_points" not in hand_written(question):
        return ""
    points = "\n".join(f"{i}. {p}" for i, p in enumerate(question.key_points, 1))
    return (
        "\nThe question already has these key points; return them unchanged, in this order:\n"
        + neutralise_answer(points)
        + "\n"
    )


def parse_enrich(data: dict[str, Any]) -> EnrichReply:
    return EnrichReply.model_validate(data)


@dataclass
class Merged:
    """A question after enrichment and what happened on the way."""

    question: Question
    written: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)  # hand-written fields left alone
    unsupported: list[str] = field(default_factory=list)  # key points dropped

    @property
    def too_few_points(self) -> bool:
        """Fewer key points than a question should have, after the support check."""
        return "key_points" in self.written and len(self.question.key_points) < MIN_POINTS


def hand_written(question: Question) -> set[str]:
    """The fields set in the bank file and not drafted by a tool."""
    drafted = set(question.generated) | set(question.derived)
    return {
        name
        for name in question.model_fields_set
        if name not in drafted and getattr(question, name) not in ("", [], None)
    }


def apply_reply(question: Question, reply: EnrichReply, *, force: bool) -> Merged:
    """Merge ``reply`` into ``question``; unsupported key points are dropped."""
    reference = question.full_reference
    points: list[str] = []
    merged = Merged(question)
    for point in (p.strip() for p in reply.key_points):
        if not point or point in points:
            continue
        if is_supported(point, reference):
            points.append(point)
        else:
            merged.unsupported.append(point)
    points = points[:MAX_POINTS]
    final = question.key_points if "key_points" in hand_written(question) and not force else points
    numbering = _renumber(reply.key_points, final)
    values: dict[str, Any] = {
        "key_points": points,
        "topic": reply.topic.strip().lower(),
        "difficulty": reply.difficulty,
        "tags": list(dict.fromkeys(t.strip().lower() for t in reply.tags if t.strip())),
        "follow_ups": [_follow_up(f, numbering) for f in reply.follow_ups if f.question.strip()],
        "reference_notes": _notes(reply.reference_notes, question.language),
    }
    return _merge(question, values, merged, force=force, mark="generated")


def derive(question: Question, *, force: bool) -> Merged:
    """Offline: key points derived from the reference, marked as derived."""
    points = derive_key_points(question.full_reference, question.language)
    return _merge(question, {"key_points": points}, Merged(question), force=force, mark="derived")


def _merge(
    question: Question,
    values: dict[str, Any],
    merged: Merged,
    *,
    force: bool,
    mark: Literal["generated", "derived"],
) -> Merged:
    fixed = hand_written(question)
    update: dict[str, Any] = {}
    generated: list[GeneratedField] = list(question.generated)
    derived: list[GeneratedField] = list(question.derived)
    for name, value in values.items():
        if value in ("", []):
            continue
        if name in fixed and not force:
            merged.kept.append(name)
            continue
        update[name] = value
        merged.written.append(name)
        for listed in (generated, derived):
            if name in listed:
                listed.remove(name)
        (generated if mark == "generated" else derived).append(name)  # type: ignore[arg-type]
    update["generated"], update["derived"] = generated, derived
    data = {**question.model_dump(exclude_unset=True), **update}
    data.update(bank=question.bank, language=question.language)
    merged.question = Question.model_validate(data)
    return merged


def _renumber(replied: list[str], final: list[str]) -> dict[int, int]:
    """Reply key point number -> number in the question's final key points, where it is one
    of them (or a close paraphrase); a point that was dropped maps nowhere."""
    numbering: dict[int, int] = {}
    for number, point in enumerate(replied, 1):
        score, index = closest(point, final)
        if index >= 0 and score >= PROBE_MATCH:
            numbering[number] = index + 1
    return numbering


def correction_marker(language: str) -> str:
    """The marker that starts ``reference_notes`` in a bank of this language."""
    return CORRECTION_MARKERS[1] if language.lower().startswith("zh") else CORRECTION_MARKERS[0]


def _follow_up(reply: FollowUpReply, numbering: dict[int, int]) -> CuratedFollowUp:
    probes = sorted({numbering[p] for p in reply.probes if p in numbering})
    return CuratedFollowUp(
        question=reply.question, probes=probes, reference=reply.reference.strip()
    )


def _notes(notes: str, language: str) -> str:
    text = notes.strip()
    if not text or text.startswith(CORRECTION_MARKERS):
        return text
    return f"{correction_marker(language)} {text}"
