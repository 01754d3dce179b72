"""Asking an endpoint for one JSON object of a known schema, as the grader does.

The same output contract ladder as grading (``response_format`` json_schema, else
json_object, else prompt-only, stepping down only when the server names response_format in
its rejection, and remembering what each endpoint accepted), the same JSON extraction from
replies (``grading.reply_parsing``), and one re-ask quoting the problem when a reply cannot be
used. What is still unusable after that raises ``DraftProblem`` (an ``EndpointError`` of
kind ``unusable``); endpoint failures raise ``EndpointError``, for the caller to judge with
``errors.is_fatal``.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import ValidationError

from interviewer.config import CONTRACTS, Contract, EndpointProfile, resolve_api_key
from interviewer.errors import EndpointError
from interviewer.grading.endpoint_state import next_contract, remember_contract, remembered_contract
from interviewer.grading.reply_parsing import ReplyProblem, extract_json_object, short

if TYPE_CHECKING:
    from interviewer.grading.chat_client import ChatClient, Completion, Message

T = TypeVar("T")
# Drafts are longer than grades: never ask for less room than this.
MIN_OUTPUT_TOKENS = 2048
REASK = (
    "Your reply could not be used: {error}. Reply again with only the JSON object, in exactly"
    " the shape asked for."
)


class DraftProblem(EndpointError):
    """A reply that could not be used, even after a re-ask (not fatal: others may work)."""

    def __init__(self, detail: str) -> None:
        super().__init__(f"the reply could not be used, even after a re-ask: {detail}")
        self.kind = "unusable"


def strict_object(props: dict[str, Any]) -> dict[str, Any]:
    """A strict-mode object schema: every property required, nothing else allowed."""
    return {
        "type": "object",
        "properties": props,
        "required": list(props),
        "additionalProperties": False,
    }


def strings() -> dict[str, Any]:
    return {"type": "array", "items": {"type": "string"}}


class DraftClient:
    """Sends drafting requests to one endpoint; safe to share between threads."""

    def __init__(self, profile: EndpointProfile) -> None:
        self.profile = profile
        forced = profile.contract
        self._contract: Contract = (
            forced if forced != "auto" else remembered_contract(profile) or "json_schema"
        )
        self._lock = threading.Lock()
        self._client: ChatClient | None = None

    @property
    def contract(self) -> Contract:
        with self._lock:
            return self._contract

    def ask(
        self,
        messages: list[Message],
        schema: dict[str, Any],
        keys: tuple[str, ...],
        parse: Callable[[dict[str, Any]], T],
    ) -> T:
        """Send ``messages``; return ``parse`` of the reply's JSON object (one re-ask)."""
        sent = list(messages)
        for attempt in range(2):
            done = self._send(sent, schema)
            try:
                return parse(self._object(done, keys))
            except (ReplyProblem, ValidationError, ValueError) as exc:
                error = _describe(exc)
                if attempt == 1:
                    raise DraftProblem(error) from None
                reask: Message = {"role": "user", "content": REASK.format(error=error)}
                sent = [*sent, {"role": "assistant", "content": done.text}, reask]
        raise AssertionError("unreachable")

    def close(self) -> None:
        with self._lock:
            if self._client is not None:
                self._client.close()
                self._client = None

    def _object(self, done: Completion, keys: tuple[str, ...]) -> dict[str, Any]:
        if done.finish_reason == "length":
            raise ReplyProblem("truncated", "the reply was cut off (raise max_output_tokens)")
        if done.refusal:
            raise ReplyProblem("refused", short(done.refusal))
        text = done.text if done.text.strip() else done.reasoning or ""
        if not text.strip():
            raise ReplyProblem("unparseable", "the reply was blank")
        return extract_json_object(text, keys)

    def _chat(self) -> ChatClient:
        from interviewer.grading.chat_client import ChatClient

        with self._lock:
            if self._client is None:
                self._client = ChatClient(self.profile, resolve_api_key(self.profile))
            return self._client

    def _send(self, messages: list[Message], schema: dict[str, Any]) -> Completion:
        client = self._chat()
        while True:
            contract = self.contract
            try:
                return client.complete(
                    messages,
                    contract=contract,
                    max_output_tokens=max(self.profile.max_output_tokens, MIN_OUTPUT_TOKENS),
                    schema=schema if contract == "json_schema" else None,
                )
            except EndpointError as exc:
                if exc.kind != "contract":
                    raise
                self._step_down(contract, exc)

    def _step_down(self, rejected: Contract, exc: EndpointError) -> None:
        lower = next_contract(rejected) if self.profile.contract == "auto" else None
        if lower is None:
            raise EndpointError(str(exc), kind="bad_request", status=exc.status)
        with self._lock:
            if CONTRACTS.index(self._contract) <= CONTRACTS.index(rejected):
                self._contract = lower
            current = self._contract
        remember_contract(self.profile, current, {rejected: str(exc)})


def _describe(exc: Exception) -> str:
    if isinstance(exc, ReplyProblem):
        return exc.detail
    if isinstance(exc, ValidationError):
        parts = []
        for err in exc.errors()[:4]:
            where = ".".join(str(p) for p in err["loc"]) or "reply"
            parts.append(f"{where}: {err['msg']}")
        return "; ".join(parts)
    return str(exc)


def schema_text(schema: dict[str, Any]) -> str:
    """The schema as prompt text, for contracts that cannot send it."""
    return json.dumps(schema, ensure_ascii=False, indent=1)
