"""Building a grading request: the prompt, the answer as sent, and the grade JSON schema.

The static part of the prompt comes first (instructions, rubric, question, reference with its
corrections, numbered key points) and the candidate's answer last, between BEGIN/END marker
lines. Marker look-alikes inside the answer are neutralised so an answer cannot close its own
data block. An answer longer than the profile's ``answer_token_budget`` is cut (with a
notice); when the profile declares a ``context_window``, prompt plus ``max_output_tokens``
must fit in it, cutting the answer further if that is enough.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from interviewer.bank.library import Question
from interviewer.bank.rubric import MAX_LEVEL
from interviewer.config import EndpointProfile
from interviewer.errors import ConfigError
from interviewer.grading import tokens
from interviewer.grading.grade import KEY_POINT_STATUSES
from interviewer.grading.key_points import resolve_key_points
from interviewer.grading.prompts import load_prompt

if TYPE_CHECKING:
    from interviewer.grading.chat_client import Message

BEGIN_MARK = "=== BEGIN CANDIDATE ANSWER ==="
END_MARK = "=== END CANDIDATE ANSWER ==="
# Below this many tokens left for the answer, a context window is too small to grade in.
MIN_ANSWER_TOKENS = 64
# A profile whose context_window is at most this many tokens gets the compact prompt
# (grader_system_compact.md, no worked example, a short rubric): the full system prompt
# (~1,170 tokens) and rubric, a typical question part (~870) and the default 2,048 output
# tokens already fill 4,096, leaving no room for the answer.
COMPACT_CONTEXT = 4096
LANGUAGE_NAMES = {"zh": "Chinese (中文)", "en": "English", "ja": "Japanese", "ko": "Korean"}


# Look-alikes of the answer markers: any BEGIN/END + CANDIDATE ANSWER run, whatever the
# spacing, case, punctuation or surrounding '=' signs (also full-width ＝).
_MARKER = re.compile(
    r"[=＝ \t]*\b(BEGIN|END)[\s_\-]*CANDIDATE[\s_\-]*ANSWER\b[=＝ \t]*", re.IGNORECASE
)


@dataclass
class PreparedRequest:
    """A grading request ready to send: messages, the answer as sent, notices."""

    messages: list[Message]
    answer_sent: str
    key_points: list[str]
    notices: list[str] = field(default_factory=list)


class GradePrompts:
    """The grader's three templates (system, grade request, re-ask), checked when loaded.

    ``compact`` swaps in the short system prompt and the short rubric (``COMPACT_CONTEXT``).
    """

    def __init__(self, prompts_dir: Path | None = None, *, compact: bool = False) -> None:
        self.compact = compact
        system = "grader_system_compact" if compact else "grader_system"
        self.system = load_prompt(system, prompts_dir)
        self.request = load_prompt("grade_request", prompts_dir)
        self.reask = load_prompt("reask", prompts_dir)
        self._check()
        self.system_text = self.system.render()
        self.version = " ".join(p.label for p in (self.system, self.request, self.reask))

    def _check(self) -> None:
        """Render every template once so a broken override fails now, not mid-session."""
        self.request.require("answer")
        self.reask.require("error")
        self.system.render()
        names = ("language", "rubric", "question", "reference", "key_points", "answer")
        self.request.render(**dict.fromkeys(names, "x"))
        self.reask.render(error="x")

    def messages(self, question: Question, points: list[str], answer: str) -> list[Message]:
        """The chat messages that ask for a grade of ``answer``."""
        request = self.request.render(
            language=language_name(question.language),
            rubric=format_rubric(question, short=self.compact),
            question=question.question,
            reference=question.full_reference,
            key_points=format_key_points(points),
            answer=neutralise_answer(answer),
        )
        return [
            {"role": "system", "content": self.system_text},
            {"role": "user", "content": request},
        ]

    def reask_message(self, error: str) -> Message:
        """The follow-up message that quotes why the previous reply could not be used."""
        return {"role": "user", "content": self.reask.render(error=error)}


def prepare_request(
    profile: EndpointProfile, prompts: GradePrompts, question: Question, answer: str
) -> PreparedRequest:
    """The request for one answer, cut to the profile's answer budget and context window."""
    model = profile.model
    points = resolve_key_points(question.key_points, question.full_reference, question.language)
    notices: list[str] = []
    budget = profile.answer_token_budget
    sent, cut = tokens.truncate_to_budget(answer, budget, model)
    if cut:
        notices.append(
            f"The answer was cut to {budget} tokens for grading (it has about"
            f" {tokens.count_tokens(answer, model)}); the full answer is saved."
            " Raise answer_token_budget in the endpoint profile to send more."
        )
    messages = prompts.messages(question, points, sent)
    window = profile.context_window
    if window is not None:
        limit = window - profile.max_output_tokens
        needed = tokens.count_messages(messages, model)
        if needed > limit:
            sent, room = _fit_window(profile, question, sent, needed, limit)
            notices.append(
                f"The answer was cut to about {room} tokens to fit context_window {window}"
                f" of endpoint '{profile.name}'; the full answer is saved."
            )
            messages = prompts.messages(question, points, sent)
    return PreparedRequest(messages=messages, answer_sent=sent, key_points=points, notices=notices)


def _fit_window(
    profile: EndpointProfile, question: Question, sent: str, needed: int, limit: int
) -> tuple[str, int]:
    """Cut the answer so the prompt fits ``limit`` tokens (returning the answer's room);
    ConfigError when nothing fits."""
    model = profile.model
    fixed = needed - tokens.count_tokens(sent, model)
    room = limit - fixed - 16  # a margin for count differences between tokenizers
    if room < MIN_ANSWER_TOKENS:
        raise ConfigError(
            f"Question '{question.id}': the grading prompt needs about {fixed}"
            f" tokens before the answer, and max_output_tokens"
            f" {profile.max_output_tokens} is reserved for the reply, which"
            f" leaves no room for the answer in context_window {profile.context_window} of"
            f" endpoint '{profile.name}': raise context_window (if the server allows"
            " more) or lower max_output_tokens in the profile."
        )
    cut, _ = tokens.truncate_to_budget(sent, room, model)
    return cut, room


def neutralise_answer(answer: str) -> str:
    """Defuse marker look-alikes so the answer cannot end its own data block."""
    return _MARKER.sub(lambda m: f"[{m.group(1).lower()} marker removed]", answer)


def format_rubric(question: Question, *, short: bool = False) -> str:
    """The rubric with every anchored level, or (``short``) only the lowest and highest."""
    criteria = question.criteria
    total = sum(c.weight for c in criteria) or 1.0
    lines: list[str] = []
    for c in criteria:
        lines.append(f"- {c.id} ({c.name}, weight {100 * c.weight / total:.0f}%):")
        levels = sorted(c.levels)
        shown = [levels[0], levels[-1]] if short and len(levels) > 2 else levels
        lines.extend(f"  {level}: {c.levels[level]}" for level in shown)
    return "\n".join(lines)


def format_key_points(points: list[str]) -> str:
    if not points:
        return "(none listed: judge against the reference answer)"
    return "\n".join(f"{i}. {p}" for i, p in enumerate(points, start=1))


def language_name(code: str) -> str:
    base = code.split("-")[0].lower()
    return LANGUAGE_NAMES.get(base, code)


def grade_schema(question: Question) -> dict[str, Any]:
    """The strict JSON schema of a GradeReply for this question (reasoning before scores).

    Strict mode allows no length bounds, so the key point count is checked after parsing.
    """

    def strings() -> dict[str, Any]:
        return {"type": "array", "items": {"type": "string"}}

    return {
        "type": "object",
        "properties": {
            "key_points": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "index": {"type": "integer"},
                        "quote": {"type": "string"},
                        "status": {"type": "string", "enum": list(KEY_POINT_STATUSES)},
                    },
                    "required": ["index", "quote", "status"],
                    "additionalProperties": False,
                },
            },
            "criteria": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "criterion": {"type": "string", "enum": [c.id for c in question.criteria]},
                        "evidence": {"type": "string"},
                        "comment": {"type": "string"},
                        "score": {"type": "integer", "enum": list(range(MAX_LEVEL + 1))},
                    },
                    "required": ["criterion", "evidence", "comment", "score"],
                    "additionalProperties": False,
                },
            },
            "factual_errors": strings(),
            "feedback": {"type": "string"},
            "stronger_answer": {"type": "string"},
            "follow_ups": strings(),
            "reference_issues": strings(),
        },
        "required": [
            "key_points",
            "criteria",
            "factual_errors",
            "feedback",
            "stronger_answer",
            "follow_ups",
            "reference_issues",
        ],
        "additionalProperties": False,
    }
