"""Reading a grade out of a model's reply.

``finish_reason == "length"`` is ungraded(truncated), never repaired; the JSON object is
decoded first and think blocks (also an orphan closing tag) and code fences are looked past
only when that fails; the reply's shape (``key_points.kpN``, ``criteria.<id>``, see
``request.grade_schema``) is turned into a ``GradeReply`` with every criterion and key
point. A refusal is ungraded(refused). Whatever cannot be used raises ``ReplyProblem`` with
the ungraded reason.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
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
# Braces that fail to start an object before giving up on a text (bounds the work on junk).
_MAX_DECODE_ATTEMPTS = 256
# The keys of a reply's top level: an object holding one of them is the reply.
_REPLY_KEYS = ("key_points", "criteria", "factual_errors", "feedback", "stronger_answer")


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
    """The JSON object in ``text``; ReplyProblem if none.

    The reply is decoded before any reasoning is looked past, so a ``</think>`` quoted from
    the candidate's answer cannot break a valid reply: first the whole reply, then the last
    object in it holding one of ``keys`` (a draft inside a think block comes before the
    answer), and only then the text after think blocks, inside code fences. With ``keys``, an
    object nested inside a broken reply (a key point entry, say) does not pass for the whole
    reply. Raw newlines and tabs inside strings are accepted: grammar-constrained decoders
    let them through.
    """
    decoder = json.JSONDecoder(strict=False)
    try:
        whole = decoder.decode(text.strip())
    except json.JSONDecodeError:
        whole = None
    if isinstance(whole, dict):
        return whole
    if keys:
        found = _objects(text, decoder, keys)
        if found.matching:
            return found.matching[-1]
    body = strip_reasoning(text)
    candidates = [m.group(1) for m in _FENCE.finditer(body) if "{" in m.group(1)]
    candidates.append(body)
    first_error: str | None = None
    fallback: dict[str, Any] | None = None
    for candidate in candidates:
        found = _objects(candidate, decoder, keys)
        if found.matching:
            return found.matching[0]
        first_error = first_error or found.error
        fallback = fallback or found.other
    if first_error:
        raise ReplyProblem("unparseable", first_error)
    if fallback is not None:
        return fallback
    if _REFUSAL.search(body):
        raise ReplyProblem("refused", f"the model declined: {short(body)}")
    raise ReplyProblem("unparseable", "the reply contains no JSON object")


@dataclass
class _Found:
    """The objects decoded from one text: those holding a wanted key, the first other one."""

    matching: list[dict[str, Any]] = field(default_factory=list)
    other: dict[str, Any] | None = None
    error: str | None = None


def _objects(text: str, decoder: json.JSONDecoder, keys: tuple[str, ...]) -> _Found:
    """Decode the top-level objects of ``text``, skipping past each one decoded."""
    found = _Found()
    start = text.find("{")
    failures = 0
    while start != -1 and failures < _MAX_DECODE_ATTEMPTS:
        try:
            value, end = decoder.raw_decode(text, start)
        except json.JSONDecodeError as exc:
            failures += 1
            found.error = found.error or f"invalid JSON ({exc.msg} at char {exc.pos})"
            start = text.find("{", start + 1)
            continue
        if isinstance(value, dict):
            if not keys or any(k in value for k in keys):
                found.matching.append(value)
                if not keys:
                    return found
            else:
                found.other = found.other or value
        start = text.find("{", end)
    return found


def parse_grade_reply(text: str, question: Question, key_point_count: int) -> GradeReply:
    """Decode and validate a grade reply; ReplyProblem says why it cannot be used."""
    data = extract_json_object(text, _REPLY_KEYS)
    converted = _from_reply_shape(data, question, key_point_count)
    try:
        return GradeReply.model_validate(converted)
    except ValidationError as exc:
        problems = []
        for err in exc.errors()[:5]:
            where = ".".join(str(p) for p in _reply_location(err["loc"], question)) or "reply"
            problems.append(f"{where}: {err['msg']}")
        raise ReplyProblem("unparseable", "; ".join(problems)) from None


def _from_reply_shape(
    data: dict[str, Any], question: Question, key_point_count: int
) -> dict[str, Any]:
    """The reply (``key_points.kpN``, ``criteria.<id>``) as a GradeReply's lists.

    Every key point and criterion must be there; ReplyProblem names what is absent. A
    criterion given by its display name or in another case ("Correctness") is accepted, and
    follow-up questions beyond the three kept are dropped.
    """
    points = data.get("key_points") if key_point_count else {}
    criteria = data.get("criteria")
    if not isinstance(points, dict) or not isinstance(criteria, dict):
        raise ReplyProblem(
            "unparseable",
            '"key_points" and "criteria" must be objects keyed by "kp1"…"kpN" and by criterion id',
        )
    absent_points = [f"kp{i}" for i in range(1, key_point_count + 1) if f"kp{i}" not in points]
    by_name = {c.name.lower(): c.id for c in question.criteria}
    by_name.update({c.id: c.id for c in question.criteria})
    levels = {by_name.get(k.strip().lower(), k): v for k, v in criteria.items()}
    absent_criteria = [c.id for c in question.criteria if c.id not in levels]
    if absent_points or absent_criteria:
        missing = [f"key_points.{k}" for k in absent_points]
        missing += [f"criteria.{c}" for c in absent_criteria]
        raise ReplyProblem("unparseable", f"no entry for {', '.join(missing)}")
    converted = {k: v for k, v in data.items() if k not in ("key_points", "criteria")}
    converted["key_points"] = [
        _entry(points[f"kp{i}"], index=i) for i in range(1, key_point_count + 1)
    ]
    converted["criteria"] = [_level_entry(levels[c.id], c.id) for c in question.criteria]
    follow_ups = converted.get("follow_ups")
    if isinstance(follow_ups, list) and len(follow_ups) > 3:
        converted["follow_ups"] = follow_ups[:3]
    return converted


def _entry(value: Any, **extra: Any) -> Any:
    return {**value, **extra} if isinstance(value, dict) else value


def _level_entry(value: Any, criterion: str) -> Any:
    if not isinstance(value, dict):
        return value
    entry = {**value, "criterion": criterion}
    if "level" in entry:
        entry["score"] = entry.pop("level")
    return entry


def _reply_location(loc: tuple[Any, ...], question: Question) -> list[Any]:
    """A validation error's location in the reply's own terms (``key_points.kp2.status``)."""
    parts = list(loc)
    if len(parts) >= 2 and parts[0] == "key_points" and isinstance(parts[1], int):
        parts[1] = f"kp{parts[1] + 1}"
    elif len(parts) >= 2 and parts[0] == "criteria" and isinstance(parts[1], int):
        ids = [c.id for c in question.criteria]
        parts[1] = ids[parts[1]] if parts[1] < len(ids) else parts[1]
    return ["level" if p == "score" else p for p in parts]


def short(text: str, limit: int = 120) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."
