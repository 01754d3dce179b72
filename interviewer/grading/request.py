"""Building a grading request: the prompt, the answer as sent, and the grade JSON schema.

The static part of the prompt comes first (instructions, rubric, question, reference with its
corrections, numbered key points) and the candidate's answer last, between BEGIN/END marker
lines. Marker look-alikes inside the answer are neutralised so an answer cannot close its own
data block (the question, reference and key points get the same treatment, since ad-hoc batch
rows supply them). An answer longer than the profile's ``answer_token_budget`` is cut (with a
notice); when the profile declares a ``context_window``, prompt plus ``max_output_tokens``
must fit in it, cutting the answer further if that is enough.
"""

from __future__ import annotations

import re
import unicodedata
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
# spacing, case, punctuation or surrounding '=' signs. It is matched on a folded copy of the
# text (see ``_fold``), so full-width, zero-width-split and Cyrillic/Greek look-alikes match too.
_MARKER = re.compile(r"[= \t]*\b(BEGIN|END)[\s_\-]*CANDIDATE[\s_\-]*ANSWER\b[= \t]*", re.IGNORECASE)
_ZERO_WIDTH = frozenset("\u200b\u200c\u200d\u2060\ufeff\u00ad\u180e")
# Cyrillic and Greek capitals and small letters that render like the Latin letters of the
# markers; NFKC leaves them alone.
_CONFUSABLES = str.maketrans(
    "АВСЕНІКМОРТХЅԁԌаеорсухіѕΑΒΕΗΙΚΜΝΟΡΤΧΖ",
    "ABCEHIKMOPTXSdGaeopcyxisABEHIKMNOPTXZ",
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
        names = (
            "language",
            "rubric",
            "question",
            "reference",
            "key_points",
            "reply_shape",
            "answer",
        )
        self.request.render(**dict.fromkeys(names, "x"))
        self.reask.render(error="x")

    def messages(self, question: Question, points: list[str], answer: str) -> list[Message]:
        """The chat messages that ask for a grade of ``answer``."""
        request = self.request.render(
            language=language_name(question.language),
            rubric=format_rubric(question, short=self.compact),
            # Ad-hoc batch rows bring their own question, reference and key points: they are
            # data like the answer, so marker look-alikes in them are defused too.
            question=neutralise_answer(question.question),
            reference=neutralise_answer(question.full_reference),
            key_points=neutralise_answer(format_key_points(points)),
            reply_shape=reply_shape(question, len(points)),
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
    """Defuse marker look-alikes so the text cannot end (or fake) the answer's data block.

    Matching runs on a folded copy (NFKC, zero-width characters removed, look-alike letters
    mapped to Latin); each match is replaced in the original text, which is otherwise sent
    unchanged so that quotes still match the answer.
    """
    folded, origin = _fold(answer)
    spans = [
        (origin[m.start()], origin[m.end() - 1] + 1, m.group(1)) for m in _MARKER.finditer(folded)
    ]
    if not spans:
        return answer
    parts: list[str] = []
    last = 0
    for start, end, which in spans:
        parts.append(answer[last:start])
        parts.append(f"[{which.lower()} marker removed]")
        last = end
    parts.append(answer[last:])
    return "".join(parts)


def _fold(text: str) -> tuple[str, list[int]]:
    """``text`` folded for marker matching, and for each folded character its source index."""
    chars: list[str] = []
    origin: list[int] = []
    for i, ch in enumerate(text):
        if ch in _ZERO_WIDTH:
            continue
        for out in unicodedata.normalize("NFKC", ch).translate(_CONFUSABLES):
            chars.append(out)
            origin.append(i)
    return "".join(chars), origin


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


def grade_schema(question: Question, key_point_count: int | None = None) -> dict[str, Any]:
    """The JSON schema of a grade reply for this question: complete by construction.

    One required property per key point (``kp1``…``kpN``) and one per criterion id, so a
    schema-valid reply is a complete grade and no verdict can be given twice. Properties come
    in the order grammar decoders emit them: factual errors first, then the key points (quote
    before status), then the criteria (evidence and comment before the level). Only
    ``type/properties/required/additionalProperties/enum/items`` are used: what OpenAI strict
    mode, llama.cpp, Ollama and vLLM all turn into a grammar. Without key points the
    ``key_points`` property is left out (an object with no properties is not portable).
    """
    count = key_point_count
    if count is None:
        points = resolve_key_points(question.key_points, question.full_reference, question.language)
        count = len(points)
    props: dict[str, Any] = {"factual_errors": _strings()}
    if count:
        props["key_points"] = _object({f"kp{i}": _verdict_schema() for i in range(1, count + 1)})
    props["criteria"] = _object({c.id: _level_schema() for c in question.criteria})
    props["feedback"] = {"type": "string"}
    props["stronger_answer"] = {"type": "string"}
    props["follow_ups"] = _strings()
    props["reference_issues"] = _strings()
    return _object(props)


def _object(props: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": props,
        "required": list(props),
        "additionalProperties": False,
    }


def _strings() -> dict[str, Any]:
    return {"type": "array", "items": {"type": "string"}}


def _verdict_schema() -> dict[str, Any]:
    return _object(
        {
            "quote": {"type": "string"},
            "status": {"type": "string", "enum": list(KEY_POINT_STATUSES)},
        }
    )


def _level_schema() -> dict[str, Any]:
    return _object(
        {
            "evidence": {"type": "string"},
            "comment": {"type": "string"},
            "level": {"type": "integer", "enum": list(range(MAX_LEVEL + 1))},
        }
    )


def reply_shape(question: Question, key_point_count: int) -> str:
    """The reply skeleton for this question, spelled out in the request for every contract.

    It names the exact keys (``kp1``…``kpN``, the rubric's criterion ids) but gives no level
    or status, only placeholders that are not valid JSON: tiny models copied the levels of a
    filled-in example, and a copied placeholder fails to parse (and is re-asked) instead of
    passing for a grade.
    """
    statuses = "|".join(KEY_POINT_STATUSES)
    lines = [
        "{",
        '  "factual_errors": ["<a false statement of the answer, and the correct fact>"],',
    ]
    if key_point_count:
        lines.append('  "key_points": {')
        entries = [
            f'    "kp{i}": {{"quote": "<words copied from the answer, or empty>",'
            f' "status": "<{statuses}>"}}'
            for i in range(1, key_point_count + 1)
        ]
        lines.append(",\n".join(entries))
        lines.append("  },")
    lines.append('  "criteria": {')
    levels = [
        f'    "{c.id}": {{"evidence": "<text>", "comment": "<text>",'
        f' "level": <integer 0-{MAX_LEVEL}>}}'
        for c in question.criteria
    ]
    lines.append(",\n".join(levels))
    lines.append("  },")
    lines.append('  "feedback": "<text>",')
    lines.append('  "stronger_answer": "<text>",')
    lines.append('  "follow_ups": ["<question>"],')
    lines.append('  "reference_issues": ["<text>"]')
    lines.append("}")
    return "\n".join(lines)
