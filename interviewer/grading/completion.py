"""A chat completion as the rest of the project sees it, read from whatever the server sent.

The SDK builds its response objects without validating them, so the shape is checked here:
a reply that is not a chat completion (an HTML page, a JSON array, choices that are not
messages) raises ``NotACompletion``, which the client turns into a one-line endpoint error.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from interviewer.grading.grade import Usage
from interviewer.safe_text import without_surrogates


@dataclass(frozen=True)
class Completion:
    """One reply: its text, why it stopped, tokens used and any separate reasoning text."""

    text: str
    finish_reason: str | None
    usage: Usage | None
    model: str | None
    reasoning: str | None = None
    refusal: str | None = None
    duration_ms: int = 0
    system_fingerprint: str | None = None


class NotACompletion(Exception):
    """A 2xx reply whose body does not have the shape of a chat completion."""


def read_completion(response: Any, duration_ms: int) -> Completion:
    """The reply as a Completion; NotACompletion when its shape is wrong.

    The SDK builds its response objects without validating them, so a JSON array or a
    ``choices`` that is not a list of messages arrives here as whatever the server sent.
    """
    choices = getattr(response, "choices", None)
    if not isinstance(choices, list) or not choices:
        raise NotACompletion("no choices" if choices == [] else "no list of choices")
    choice = choices[0]
    message = getattr(choice, "message", None)
    if message is None:
        raise NotACompletion("the first choice has no message")
    content = getattr(message, "content", None)
    if content is not None and not isinstance(content, str):
        raise NotACompletion("the message content is not text")
    finish = getattr(choice, "finish_reason", None)
    model = getattr(response, "model", None)
    refusal = getattr(message, "refusal", None)
    reasoning = read_reasoning(message)
    fingerprint = getattr(response, "system_fingerprint", None)
    # A lone "\\ud800" escape decodes to text that cannot be written as UTF-8 anywhere.
    return Completion(
        text=without_surrogates(content or ""),
        finish_reason=finish if isinstance(finish, str) else None,
        usage=read_usage(getattr(response, "usage", None)),
        model=model if isinstance(model, str) else None,
        reasoning=without_surrogates(reasoning) if reasoning else None,
        refusal=without_surrogates(refusal) if isinstance(refusal, str) and refusal else None,
        duration_ms=duration_ms,
        system_fingerprint=fingerprint if isinstance(fingerprint, str) and fingerprint else None,
    )


def read_usage(usage: Any) -> Usage | None:
    """Token counts, or None when the server sent none (or something that is not counts)."""
    prompt = getattr(usage, "prompt_tokens", None) or 0
    completion = getattr(usage, "completion_tokens", None) or 0
    if usage is None or not isinstance(prompt, int) or not isinstance(completion, int):
        return None
    details = getattr(usage, "prompt_tokens_details", None)
    cached = getattr(details, "cached_tokens", None) if details is not None else None
    return Usage(
        prompt_tokens=max(prompt, 0),
        completion_tokens=max(completion, 0),
        cached_prompt_tokens=cached if isinstance(cached, int) and cached >= 0 else None,
    )


def read_reasoning(message: Any) -> str | None:
    """Reasoning text from whichever field the server uses (reasoning_content, reasoning)."""
    for attr in ("reasoning_content", "reasoning"):
        value = getattr(message, attr, None)
        if isinstance(value, str) and value.strip():
            return value
    details = getattr(message, "reasoning_details", None)
    if isinstance(details, list):
        texts = [d.get("text", "") for d in details if isinstance(d, dict)]
        joined = "\n".join(t for t in texts if t)
        return joined or None
    return None
