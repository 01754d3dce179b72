"""Reading a grade out of a model's reply.

``finish_reason == "length"`` is ungraded(truncated), never repaired; think blocks (also an
orphan closing tag) and code fences are looked past; the first decodable JSON object is
validated as a ``GradeReply`` with every criterion and key point. A refusal is
ungraded(refused). Whatever cannot be used raises ``ReplyProblem`` with the ungraded reason.
"""

from __future__ import annotations

import json
import re
from typing import Any

from pydantic import ValidationError

from interviewer.bank.library import Question
from interviewer.grading.grade import GradeReply, UngradedReason

_THINK_CLOSE = re.compile(r"</(?:think|thinking|reasoning)>", re.IGNORECASE)
_THINK_OPEN = re.compile(r"<(?:think|thinking|reasoning)>", re.IGNORECASE)
_FENCE = re.compile(r"```[A-Za-z0-9_-]*[ \t]*\r?\n?(.*?)```", re.DOTALL)
_REFUSAL = re.compile(
    r"^\s*(?:I'?m sorry|I am sorry|sorry,|I can(?:no|')t|I cannot|I won'?t|I am unable|"
    r"I'm unable|As an AI|抱歉|对不起|很抱歉|我无法|我不能)",
    re.IGNORECASE,
)
# Braces tried as the start of the grade object before giving up (bounds the work on junk).
_MAX_DECODE_ATTEMPTS = 64


class ReplyProblem(Exception):
    """A reply that cannot be turned into a grade; ``reason`` is the ungraded reason."""

    def __init__(self, reason: UngradedReason, detail: str) -> None:
        super().__init__(detail)
        self.reason: UngradedReason = reason
        self.detail = detail


def interpret_reply(
    question: Question,
    key_point_count: int,
    text: str,
    *,
    finish_reason: str | None,
    reasoning: str | None = None,
    refusal: str | None = None,
    max_output_tokens: int,
) -> GradeReply:
    """Apply the parsing pipeline to one reply (raises ReplyProblem)."""
    if finish_reason == "length":
        raise ReplyProblem(
            "truncated",
            f"the reply hit max_output_tokens ({max_output_tokens}) before the"
            " grade was complete; raise max_output_tokens in the profile and regrade",
        )
    if refusal or finish_reason == "content_filter":
        why = refusal or "the endpoint's content filter stopped the reply"
        raise ReplyProblem("refused", short(why))
    if not text.strip():
        # A reasoning parser sometimes routes the whole answer into the reasoning field.
        if reasoning and "{" in reasoning:
            try:
                return parse_grade_reply(reasoning, question, key_point_count)
            except ReplyProblem:
                pass
        raise ReplyProblem("unparseable", "the endpoint returned blank content")
    try:
        return parse_grade_reply(text, question, key_point_count)
    except (ValueError, RecursionError) as exc:
        # Well-formed JSON Python's decoder still refuses: nested past the recursion
        # limit, or an integer of more than 4300 digits.
        raise ReplyProblem(
            "unparseable", f"the reply cannot be decoded ({short(str(exc))})"
        ) from None


def strip_reasoning(text: str) -> str:
    """Drop reasoning the model wrote into its content: everything up to the last closing
    think tag (also when the opening tag was in the prompt), or an unterminated think block."""
    closes = list(_THINK_CLOSE.finditer(text))
    if closes:
        return text[closes[-1].end() :]
    opened = _THINK_OPEN.search(text)
    return text[: opened.start()] if opened else text


def extract_json_object(text: str, keys: tuple[str, ...] = ()) -> dict[str, Any]:
    """The first JSON object in ``text`` after think blocks and fences; ReplyProblem if none.

    With ``keys``, the first object holding one of them wins: an object nested inside a
    broken reply (a key point entry, say) must not pass for the whole reply.
    """
    body = strip_reasoning(text)
    candidates = [m.group(1) for m in _FENCE.finditer(body) if "{" in m.group(1)]
    candidates.append(body)
    decoder = json.JSONDecoder()
    first_error: str | None = None
    fallback: dict[str, Any] | None = None
    for candidate in candidates:
        start = candidate.find("{")
        attempts = 0
        while start != -1 and attempts < _MAX_DECODE_ATTEMPTS:
            attempts += 1
            try:
                value, _end = decoder.raw_decode(candidate, start)
            except json.JSONDecodeError as exc:
                first_error = first_error or f"invalid JSON ({exc.msg} at char {exc.pos})"
            else:
                if isinstance(value, dict):
                    if not keys or any(k in value for k in keys):
                        return value
                    fallback = fallback or value
            start = candidate.find("{", start + 1)
    if first_error:
        raise ReplyProblem("unparseable", first_error)
    if fallback is not None:
        return fallback
    if _REFUSAL.search(body):
        raise ReplyProblem("refused", f"the model declined: {short(body)}")
    raise ReplyProblem("unparseable", "the reply contains no JSON object")


def parse_grade_reply(text: str, question: Question, key_point_count: int) -> GradeReply:
    """Decode and validate a grade reply; ReplyProblem says why it cannot be used."""
    data = extract_json_object(text, tuple(GradeReply.model_fields))
    _normalise_reply(data, question)
    try:
        reply = GradeReply.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors()[:5]:
            where = ".".join(str(p) for p in err["loc"]) or "reply"
            problems.append(f"{where}: {err['msg']}")
        raise ReplyProblem("unparseable", "; ".join(problems)) from None
    wanted = [c.id for c in question.criteria]
    got = {c.criterion for c in reply.criteria}
    missing = [c for c in wanted if c not in got]
    if missing:
        raise ReplyProblem(
            "unparseable",
            f"criteria: no entry for {', '.join(missing)} (give one entry for each of"
            f" {', '.join(wanted)})",
        )
    indexes = {kp.index for kp in reply.key_points}
    absent = [i for i in range(1, key_point_count + 1) if i not in indexes]
    if absent:
        raise ReplyProblem(
            "unparseable",
            f"key_points: no entry for key point {', '.join(map(str, absent))} (give one entry"
            f" for each index 1-{key_point_count})",
        )
    return reply


def _normalise_reply(data: dict[str, Any], question: Question) -> None:
    """Accept harmless variations: a criterion given by its display name or in another case
    ("Correctness"), and more follow-up questions than the three we keep."""
    follow_ups = data.get("follow_ups")
    if isinstance(follow_ups, list) and len(follow_ups) > 3:
        data["follow_ups"] = follow_ups[:3]
    by_name = {c.name.lower(): c.id for c in question.criteria}
    by_name.update({c.id: c.id for c in question.criteria})
    criteria = data.get("criteria")
    if not isinstance(criteria, list):
        return
    for entry in criteria:
        if isinstance(entry, dict) and isinstance(entry.get("criterion"), str):
            key = entry["criterion"].strip().lower()
            entry["criterion"] = by_name.get(key, entry["criterion"])


def short(text: str, limit: int = 120) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."
