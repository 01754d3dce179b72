"""LLM rubric grading through any OpenAI-compatible endpoint.

``LLMGrader`` turns (question, answer) into an ``Outcome``: a validated ``Grade`` or a
labelled ungraded state, never a made-up score. The pieces, in the order a grade goes
through them:

1. **Prompt and budget** (``interviewer.grading.request``): ``prompts/grader_system.md``
   and ``grade_request.md``, the candidate's answer last between BEGIN/END marker lines,
   cut to the profile's answer budget and context window. A profile with a small
   ``context_window`` (``COMPACT_CONTEXT``, 4,096 tokens or less) gets
   ``grader_system_compact.md`` and a short rubric instead.
2. **Output contract** (docs/architecture.md; ``interviewer.grading.endpoint_state``):
   ``response_format`` json_schema, else json_object, else prompt-only. The grader steps
   down only when the server rejects the request and its error names response_format
   (``EndpointError.kind == "contract"``), and remembers what each endpoint accepted.
   A profile's ``contract`` setting forces one and disables the ladder. Under json_object
   the schema is sent inside ``response_format`` until the endpoint rejects that; then
   json_object goes on without it before the grader steps down to prompt-only.
3. **Parsing** (docs/architecture.md; ``interviewer.grading.reply_parsing``): a truncated
   reply is ungraded(truncated), never repaired; the reply (one entry per key point and per
   criterion, ``request.grade_schema``) is decoded and turned into a ``GradeReply``; one
   re-ask quotes the validation error; then ungraded(unparseable). A refusal is
   ungraded(refused). Blank content (DeepSeek JSON mode) is retried once.
4. **Grade**: ``grade.build_grade`` verifies quotes against the answer and computes the
   overall score from the criteria and the key-point checklist (docs/grading.md).

With ``samples`` > 1 the answer is graded that many times at the profile's
``sample_temperature`` and the grades are aggregated per item (``interviewer.grading.aggregate``).

Endpoint failures raise ``EndpointError``; callers record the attempt as
ungraded(endpoint_error) and stop when ``errors.is_fatal`` says retrying is pointless.

``interviewer.grading.endpoint_check`` probes an endpoint for ``interviewer endpoints check``.
openai is imported only when the first request is sent
(``interviewer.grading.chat_client`` imports it lazily).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from interviewer.bank.library import Question
from interviewer.config import CONTRACTS, Contract, EndpointProfile, resolve_api_key
from interviewer.errors import ConfigError, EndpointError, InputError
from interviewer.grading import chat_client as llm
from interviewer.grading import tokens
from interviewer.grading.aggregate import add_usage, combine_outcomes, with_provenance
from interviewer.grading.endpoint_state import (
    next_contract,
    remember_contract,
    remember_object_schema,
    remembered_contract,
    remembered_object_schema,
)
from interviewer.grading.grade import GradeReply, GraderInfo, Outcome, Usage, build_grade
from interviewer.grading.key_points import resolve_key_points
from interviewer.grading.reply_parsing import ReplyProblem, interpret_reply
from interviewer.grading.request import (
    COMPACT_CONTEXT,
    GradePrompts,
    PreparedRequest,
    grade_schema,
    prepare_request,
)

if TYPE_CHECKING:
    from interviewer.grading.chat_client import ChatClient, Completion, Message


@dataclass
class _Attempt:
    """Running totals of one grade's calls."""

    usage: Usage = field(default_factory=Usage)
    raw: str | None = None
    contract: Contract = "json_schema"
    seed: int | None = None
    temperature: float | None = None
    fingerprint: str | None = None


class LLMGrader:
    """Grade answers through an OpenAI-compatible endpoint; safe to share between threads."""

    def __init__(
        self,
        profile: EndpointProfile,
        *,
        samples: int = 1,
        prompts_dir: Path | None = None,
    ) -> None:
        if samples < 1:
            raise ConfigError("--samples must be at least 1.")
        if not profile.model or not profile.urls:
            raise ConfigError(
                f"Endpoint '{profile.name}' needs a base URL and a model: pass --base-url and"
                " --model or run `interviewer endpoints add`."
            )
        self.profile = profile
        self.samples = samples
        window = profile.context_window
        compact = window is not None and window <= COMPACT_CONTEXT
        self._prompts = GradePrompts(prompts_dir, compact=compact)
        self.prompt_version = self._prompts.version
        forced = profile.contract
        self._contract: Contract = (
            forced if forced != "auto" else remembered_contract(profile) or "json_schema"
        )
        self._object_schema = remembered_object_schema(profile)
        self._lock = threading.Lock()
        self._client: ChatClient | None = None

    # ----------------------------------------------------------------- protocol
    @property
    def info(self) -> GraderInfo:
        return self._info(self.contract)

    @property
    def contract(self) -> Contract:
        """The output contract in effect (it may step down while grading)."""
        with self._lock:
            return self._contract

    def grade(self, question: Question, answer: str) -> Outcome:
        """Grade one answer (``samples`` times); raise EndpointError when the endpoint fails."""
        if not answer.strip():
            raise InputError(
                f"Question '{question.id}': the answer is empty; type an answer or skip it."
            )
        prepared = self._prepare(question, answer)
        if self.samples == 1:
            outcome = self._grade_once(question, prepared, seed=None)
        else:
            outcome = self._grade_samples(question, prepared)
        notice = tokens.take_notice()
        if notice:
            outcome.notices.append(notice)
        return outcome

    # ----------------------------------------------------------------- batch support
    def request_body(self, question: Question, answer: str) -> dict[str, Any]:
        """The full chat-completions body for this answer under the contract in effect."""
        prepared = self._prepare(question, answer)
        contract = self.contract
        return llm.build_request_body(
            self.profile,
            prepared.messages,
            contract=contract,
            max_output_tokens=self.profile.max_output_tokens,
            schema=self._schema_for(question, contract),
        )

    def outcome_from_reply(
        self,
        question: Question,
        answer: str,
        content: str | None,
        finish_reason: str | None,
        usage: dict[str, Any] | None,
    ) -> Outcome:
        """Turn a reply obtained elsewhere (a batch output file) into an Outcome; no re-ask."""
        prepared = self._prepare(question, answer)
        text = content or ""
        if usage:
            details = usage.get("prompt_tokens_details")
            cached = details.get("cached_tokens") if isinstance(details, dict) else None
            used = Usage(
                prompt_tokens=int(usage.get("prompt_tokens") or 0),
                completion_tokens=int(usage.get("completion_tokens") or 0),
                cached_prompt_tokens=cached if isinstance(cached, int) else None,
            )
        else:
            used = self._estimate_usage(prepared.messages, text)
        attempt = _Attempt(usage=used, raw=content, contract=self.contract)
        try:
            grade_reply = self._interpret(question, prepared, text, finish_reason, None, None)
        except ReplyProblem as problem:
            return self._ungraded(prepared, attempt, problem, 0)
        return self._graded(question, prepared, attempt, grade_reply, 0)

    def close(self) -> None:
        with self._lock:
            if self._client is not None:
                self._client.close()
                self._client = None

    # ----------------------------------------------------------------- preparation
    def key_points(self, question: Question) -> list[str]:
        """The question's key points, or ones derived from its reference when it has none."""
        return resolve_key_points(question.key_points, question.full_reference, question.language)

    def _prepare(self, question: Question, answer: str) -> PreparedRequest:
        return prepare_request(self.profile, self._prompts, question, answer)

    # ----------------------------------------------------------------- sending
    def _chat(self) -> ChatClient:
        with self._lock:
            if self._client is None:
                self._client = llm.ChatClient(self.profile, resolve_api_key(self.profile))
            return self._client

    def _send(
        self,
        question: Question,
        messages: list[Message],
        seed: int | None,
        temperature: float | None = None,
    ) -> tuple[Completion, Contract]:
        """Send under the contract in effect, stepping down on a response_format rejection."""
        client = self._chat()
        while True:
            contract = self.contract
            schema = self._schema_for(question, contract)
            try:
                completion = client.complete(
                    messages,
                    contract=contract,
                    max_output_tokens=self.profile.max_output_tokens,
                    schema=schema,
                    seed=seed,
                    temperature=temperature,
                )
            except EndpointError as exc:
                if exc.kind != "contract":
                    raise
                if contract == "json_object" and schema is not None:
                    # The server may take json_object itself; ask once more without the schema.
                    with self._lock:
                        self._object_schema = False
                    remember_object_schema(self.profile, False, str(exc))
                    continue
                self._step_down(contract, exc)
                continue
            return completion, contract

    def _schema_for(self, question: Question, contract: Contract) -> dict[str, Any] | None:
        """The grade schema to send under ``contract`` (None where it cannot travel)."""
        if contract == "json_schema":
            return grade_schema(question)
        with self._lock:
            object_schema = self._object_schema
        return grade_schema(question) if contract == "json_object" and object_schema else None

    def _step_down(self, rejected: Contract, exc: EndpointError) -> None:
        if self.profile.contract != "auto":
            raise EndpointError(
                f"{exc} The profile forces contract '{rejected}': use --contract auto (or a"
                " simpler contract) with `interviewer endpoints add`.",
                kind="bad_request",
                status=exc.status,
            )
        lower = next_contract(rejected)
        if lower is None:
            raise EndpointError(str(exc), kind="bad_request", status=exc.status)
        with self._lock:
            # Another thread may have stepped down already; never step back up.
            if CONTRACTS.index(self._contract) <= CONTRACTS.index(rejected):
                self._contract = lower
            current = self._contract
        remember_contract(self.profile, current, {rejected: str(exc)})

    # ----------------------------------------------------------------- one grade
    def _grade_once(
        self,
        question: Question,
        prepared: PreparedRequest,
        seed: int | None,
        temperature: float | None = None,
    ) -> Outcome:
        started = time.perf_counter()
        attempt = _Attempt(contract=self.contract, seed=seed, temperature=temperature)
        messages = list(prepared.messages)
        reasked = blank_retried = False
        while True:
            completion, attempt.contract = self._send(question, messages, seed, temperature)
            self._add_usage(attempt, messages, completion)
            attempt.raw = completion.text
            attempt.fingerprint = completion.system_fingerprint or attempt.fingerprint
            try:
                reply = self._interpret(
                    question,
                    prepared,
                    completion.text,
                    completion.finish_reason,
                    completion.reasoning,
                    completion.refusal,
                )
            except ReplyProblem as problem:
                if problem.reason == "unparseable" and not completion.text.strip():
                    # DeepSeek's JSON mode can blank out a reply; one plain retry, no re-ask.
                    if not blank_retried:
                        blank_retried = True
                        continue
                    problem = ReplyProblem(
                        "unparseable", "the endpoint returned blank content twice"
                    )
                    return self._ungraded(prepared, attempt, problem, _ms(started))
                if problem.reason != "unparseable" or reasked:
                    return self._ungraded(prepared, attempt, problem, _ms(started))
                follow = self._reask_messages(messages, completion.text, problem.detail)
                if follow is None:
                    return self._ungraded(prepared, attempt, problem, _ms(started))
                messages, reasked = follow, True
                continue
            return self._graded(question, prepared, attempt, reply, _ms(started))

    def _interpret(
        self,
        question: Question,
        prepared: PreparedRequest,
        text: str,
        finish_reason: str | None,
        reasoning: str | None,
        refusal: str | None,
    ) -> GradeReply:
        """Apply the parsing pipeline to one reply (raises ReplyProblem)."""
        return interpret_reply(
            question,
            len(prepared.key_points),
            text,
            finish_reason=finish_reason,
            reasoning=reasoning,
            refusal=refusal,
            max_output_tokens=self.profile.max_output_tokens,
        )

    def _reask_messages(
        self, messages: list[Message], reply: str, error: str
    ) -> list[Message] | None:
        follow = [
            *messages,
            {"role": "assistant", "content": reply},
            self._prompts.reask_message(error),
        ]
        window = self.profile.context_window
        if window is not None:
            needed = tokens.count_messages(follow, self.profile.model)
            if needed + self.profile.max_output_tokens > window:
                return None
        return follow

    def _add_usage(self, attempt: _Attempt, messages: list[Message], done: Completion) -> None:
        used = done.usage or self._estimate_usage(messages, done.text)
        attempt.usage = add_usage(attempt.usage, used)

    def _estimate_usage(self, messages: list[Message], text: str) -> Usage:
        model = self.profile.model
        return Usage(
            prompt_tokens=tokens.count_messages(messages, model),
            completion_tokens=tokens.count_tokens(text, model),
            estimated=True,
        )

    def _info(
        self,
        contract: Contract,
        seed: int | None = None,
        *,
        temperature: float | None = None,
        fingerprint: str | None = None,
    ) -> GraderInfo:
        profile = self.profile
        sent = temperature if temperature is not None else profile.temperature
        return GraderInfo(
            system_fingerprint=fingerprint,
            kind="llm",
            model=profile.model,
            endpoint=profile.name,
            prompt_version=self.prompt_version,
            settings={
                "temperature": sent if llm.sends_temperature(profile) else None,
                "seed": seed if seed is not None else profile.seed,
                "contract": contract,
                "max_output_tokens": profile.max_output_tokens,
                "token_param": llm.token_param(profile),
                "answer_token_budget": profile.answer_token_budget,
                "samples": self.samples,
                "base_url": profile.display_urls[0],
            },
        )

    def _graded(
        self,
        question: Question,
        prepared: PreparedRequest,
        attempt: _Attempt,
        reply: GradeReply,
        duration_ms: int,
    ) -> Outcome:
        grade = build_grade(reply, question, prepared.key_points, prepared.answer_sent)
        notices = list(prepared.notices)
        if grade.dropped_quotes:
            notices.append(
                f"{grade.dropped_quotes} quote(s) from the grader do not occur in the answer"
                " and were dropped."
            )
        return Outcome(
            grade=grade,
            raw_reply=attempt.raw,
            usage=attempt.usage,
            info=self._attempt_info(attempt),
            duration_ms=duration_ms,
            notices=notices,
        )

    def _ungraded(
        self, prepared: PreparedRequest, attempt: _Attempt, problem: ReplyProblem, duration_ms: int
    ) -> Outcome:
        return Outcome(
            ungraded_reason=problem.reason,
            ungraded_detail=problem.detail,
            raw_reply=attempt.raw,
            usage=attempt.usage,
            info=self._attempt_info(attempt),
            duration_ms=duration_ms,
            notices=list(prepared.notices),
        )

    def _attempt_info(self, attempt: _Attempt) -> GraderInfo:
        info = self._info(
            attempt.contract,
            attempt.seed,
            temperature=attempt.temperature,
            fingerprint=attempt.fingerprint,
        )
        return with_provenance(info, attempt.usage)

    # ----------------------------------------------------------------- samples
    def _grade_samples(self, question: Question, prepared: PreparedRequest) -> Outcome:
        """Grade ``samples`` times at the profile's ``sample_temperature`` (seeds seed + i) and
        aggregate per item (``interviewer.grading.aggregate``)."""
        started = time.perf_counter()
        base_seed = self.profile.seed
        temperature = self.profile.sample_temperature
        outcomes = [
            self._grade_once(
                question, prepared, None if base_seed is None else base_seed + i, temperature
            )
            for i in range(self.samples)
        ]
        combined = combine_outcomes(outcomes, "samples")
        combined.duration_ms = _ms(started)
        return combined


def _ms(started: float) -> int:
    return int((time.perf_counter() - started) * 1000)
