"""LLM rubric grading through any OpenAI-compatible endpoint.

``LLMGrader`` turns (question, answer) into an ``Outcome``: a validated ``Grade`` or a
labelled ungraded state, never a made-up score. The pieces, in the order a grade goes
through them:

1. **Prompt** (``prompts/grader_system.md`` + ``grade_request.md``): the static part first
   (instructions, rubric, question, reference with its corrections, numbered key points),
   the candidate's answer last between BEGIN/END marker lines. Marker look-alikes inside the
   answer are neutralised so an answer cannot close its own data block.
2. **Budget**: an answer longer than the profile's ``answer_token_budget`` is cut (with a
   notice); when the profile declares a ``context_window``, prompt plus ``max_output_tokens``
   must fit in it, cutting the answer further if that is enough.
3. **Output contract** (DESIGN.md 6): ``response_format`` json_schema, else json_object, else
   prompt-only. The grader steps down only when the server rejects the request and its error
   names response_format (``EndpointError.kind == "contract"``), and remembers what each
   endpoint (base URL + model) accepted in ``endpoint-state.json`` in the user directory.
   A profile's ``contract`` setting forces one and disables the ladder.
4. **Parsing** (DESIGN.md 7): ``finish_reason == "length"`` is ungraded(truncated), never
   repaired; think blocks (also an orphan closing tag) and code fences are looked past; the
   first decodable JSON object is validated as a ``GradeReply`` with every criterion and key
   point; one re-ask quotes the validation error; then ungraded(unparseable). A refusal is
   ungraded(refused). Blank content (DeepSeek JSON mode) is retried once.
5. **Grade**: ``grades.build_grade`` verifies quotes against the answer and computes the
   overall score from the criteria.

Endpoint failures raise ``EndpointError``; callers record the attempt as
ungraded(endpoint_error) and stop when ``errors.is_fatal`` says retrying is pointless.

``check_endpoint`` probes an endpoint for ``interviewer endpoints check``.
openai is imported only when the first request is sent
(``interviewer.grading.chat_client`` imports it lazily).
"""

from __future__ import annotations

import json
import re
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from interviewer.bank.library import Question
from interviewer.bank.rubric import MAX_LEVEL
from interviewer.config import (
    CONTRACTS,
    STATE_NAME,
    Contract,
    EndpointProfile,
    home_dir,
    resolve_api_key,
)
from interviewer.errors import ConfigError, EndpointError, InputError
from interviewer.grading import chat_client as llm
from interviewer.grading import tokens
from interviewer.grading.grade import (
    KEY_POINT_STATUSES,
    GradeReply,
    GraderInfo,
    Outcome,
    UngradedReason,
    Usage,
    build_grade,
)
from interviewer.grading.prompts import load_prompt

if TYPE_CHECKING:
    from interviewer.grading.chat_client import ChatClient, Completion, Message

BEGIN_MARK = "=== BEGIN CANDIDATE ANSWER ==="
END_MARK = "=== END CANDIDATE ANSWER ==="
# Spread of overall scores (0-100) across samples above which a grade is flagged unstable.
UNSTABLE_SPREAD = 15.0
# Below this many tokens left for the answer, a context window is too small to grade in.
MIN_ANSWER_TOKENS = 64
LANGUAGE_NAMES = {"zh": "Chinese (中文)", "en": "English", "ja": "Japanese", "ko": "Korean"}

# Look-alikes of the answer markers: any BEGIN/END + CANDIDATE ANSWER run, whatever the
# spacing, case, punctuation or surrounding '=' signs (also full-width ＝).
_MARKER = re.compile(
    r"[=＝ \t]*\b(BEGIN|END)[\s_\-]*CANDIDATE[\s_\-]*ANSWER\b[=＝ \t]*", re.IGNORECASE
)
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


# --------------------------------------------------------------------------- prompt pieces


def neutralise_answer(answer: str) -> str:
    """Defuse marker look-alikes so the answer cannot end its own data block."""
    return _MARKER.sub(lambda m: f"[{m.group(1).lower()} marker removed]", answer)


def format_rubric(question: Question) -> str:
    criteria = question.criteria
    total = sum(c.weight for c in criteria) or 1.0
    lines: list[str] = []
    for c in criteria:
        lines.append(f"- {c.id} ({c.name}, weight {100 * c.weight / total:.0f}%):")
        lines.extend(f"  {level}: {c.levels[level]}" for level in sorted(c.levels))
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


# --------------------------------------------------------------------------- parsing


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
        raise ReplyProblem("refused", f"the model declined: {_short(body)}")
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


def _short(text: str, limit: int = 120) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


# --------------------------------------------------------------------------- endpoint memory

_state_lock = threading.Lock()


def _state_key(profile: EndpointProfile) -> str:
    return f"{profile.urls[0] if profile.urls else ''}|{profile.model}"


def _read_state() -> dict[str, Any]:
    path = home_dir() / STATE_NAME
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def remembered_contract(profile: EndpointProfile) -> Contract | None:
    """The output contract this endpoint accepted last time, if known."""
    with _state_lock:
        entry = _read_state().get("endpoints", {}).get(_state_key(profile))
    contract = entry.get("contract") if isinstance(entry, dict) else None
    return contract if contract in CONTRACTS else None


def remember_contract(
    profile: EndpointProfile, contract: Contract, rejected: dict[str, str] | None = None
) -> None:
    """Record the contract an endpoint accepts (and why better ones were rejected)."""
    path = home_dir() / STATE_NAME
    with _state_lock:
        data = _read_state()
        endpoints = data.setdefault("endpoints", {})
        entry = endpoints.get(_state_key(profile))
        entry = entry if isinstance(entry, dict) else {}
        entry["contract"] = contract
        entry["rejected"] = {**entry.get("rejected", {}), **(rejected or {})}
        entry["updated"] = datetime.now(UTC).isoformat(timespec="seconds")
        endpoints[_state_key(profile)] = entry
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{threading.get_ident()}.tmp")
        tmp.write_text(json.dumps(data, indent=2, sort_keys=True), encoding="utf-8")
        tmp.replace(path)


def next_contract(contract: Contract) -> Contract | None:
    index = CONTRACTS.index(contract)
    return CONTRACTS[index + 1] if index + 1 < len(CONTRACTS) else None


# --------------------------------------------------------------------------- the grader


@dataclass
class _Prepared:
    """A grading request ready to send: messages, the answer as sent, notices."""

    messages: list[Message]
    answer_sent: str
    key_points: list[str]
    notices: list[str] = field(default_factory=list)


@dataclass
class _Attempt:
    """Running totals of one grade's calls."""

    usage: Usage = field(default_factory=Usage)
    raw: str | None = None
    contract: Contract = "json_schema"
    seed: int | None = None


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
        self._system = load_prompt("grader_system", prompts_dir)
        self._request = load_prompt("grade_request", prompts_dir)
        self._reask = load_prompt("reask", prompts_dir)
        self._check_prompts()
        self._system_text = self._system.render()
        self.prompt_version = " ".join(p.label for p in (self._system, self._request, self._reask))
        forced = profile.contract
        self._contract: Contract = (
            forced if forced != "auto" else remembered_contract(profile) or "json_schema"
        )
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
            schema=grade_schema(question) if contract == "json_schema" else None,
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
            used = Usage(
                prompt_tokens=int(usage.get("prompt_tokens") or 0),
                completion_tokens=int(usage.get("completion_tokens") or 0),
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
    def _check_prompts(self) -> None:
        """Render every template once so a broken override fails now, not mid-session."""
        self._request.require("answer")
        self._reask.require("error")
        self._system.render()
        names = ("language", "rubric", "question", "reference", "key_points", "answer")
        self._request.render(**dict.fromkeys(names, "x"))
        self._reask.render(error="x")

    def key_points(self, question: Question) -> list[str]:
        """The question's key points, or ones derived from its reference when it has none."""
        if question.key_points:
            return list(question.key_points)
        from interviewer.grading.offline import derive_key_points

        return derive_key_points(question.full_reference, question.language)

    def _messages(self, question: Question, points: list[str], answer: str) -> list[Message]:
        request = self._request.render(
            language=language_name(question.language),
            rubric=format_rubric(question),
            question=question.question,
            reference=question.full_reference,
            key_points=format_key_points(points),
            answer=neutralise_answer(answer),
        )
        return [
            {"role": "system", "content": self._system_text},
            {"role": "user", "content": request},
        ]

    def _prepare(self, question: Question, answer: str) -> _Prepared:
        model = self.profile.model
        points = self.key_points(question)
        notices: list[str] = []
        budget = self.profile.answer_token_budget
        sent, cut = tokens.truncate_to_budget(answer, budget, model)
        if cut:
            notices.append(
                f"The answer was cut to {budget} tokens for grading (it has about"
                f" {tokens.count_tokens(answer, model)}); the full answer is saved."
                " Raise answer_token_budget in the endpoint profile to send more."
            )
        messages = self._messages(question, points, sent)
        window = self.profile.context_window
        if window is not None:
            limit = window - self.profile.max_output_tokens
            needed = tokens.count_messages(messages, model)
            if needed > limit:
                answer_tokens = tokens.count_tokens(sent, model)
                fixed = needed - answer_tokens
                room = limit - fixed - 16  # a margin for count differences between tokenizers
                if room < MIN_ANSWER_TOKENS:
                    raise ConfigError(
                        f"Question '{question.id}': the grading prompt needs about {fixed}"
                        f" tokens before the answer, and max_output_tokens"
                        f" {self.profile.max_output_tokens} is reserved for the reply, which"
                        f" leaves no room for the answer in context_window {window} of endpoint"
                        f" '{self.profile.name}': raise context_window (if the server allows"
                        " more) or lower max_output_tokens in the profile."
                    )
                sent, _ = tokens.truncate_to_budget(sent, room, model)
                notices.append(
                    f"The answer was cut to about {room} tokens to fit context_window {window}"
                    f" of endpoint '{self.profile.name}'; the full answer is saved."
                )
                messages = self._messages(question, points, sent)
        return _Prepared(messages=messages, answer_sent=sent, key_points=points, notices=notices)

    # ----------------------------------------------------------------- sending
    def _chat(self) -> ChatClient:
        with self._lock:
            if self._client is None:
                self._client = llm.ChatClient(self.profile, resolve_api_key(self.profile))
            return self._client

    def _send(
        self, question: Question, messages: list[Message], seed: int | None
    ) -> tuple[Completion, Contract]:
        """Send under the contract in effect, stepping down on a response_format rejection."""
        client = self._chat()
        while True:
            contract = self.contract
            try:
                completion = client.complete(
                    messages,
                    contract=contract,
                    max_output_tokens=self.profile.max_output_tokens,
                    schema=grade_schema(question) if contract == "json_schema" else None,
                    seed=seed,
                )
            except EndpointError as exc:
                if exc.kind != "contract":
                    raise
                self._step_down(contract, exc)
                continue
            return completion, contract

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
    def _grade_once(self, question: Question, prepared: _Prepared, seed: int | None) -> Outcome:
        started = time.perf_counter()
        attempt = _Attempt(contract=self.contract, seed=seed)
        messages = list(prepared.messages)
        reasked = blank_retried = False
        while True:
            completion, attempt.contract = self._send(question, messages, seed)
            self._add_usage(attempt, messages, completion)
            attempt.raw = completion.text
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
        prepared: _Prepared,
        text: str,
        finish_reason: str | None,
        reasoning: str | None,
        refusal: str | None,
    ) -> GradeReply:
        """Apply the parsing pipeline to one reply (raises ReplyProblem)."""
        if finish_reason == "length":
            raise ReplyProblem(
                "truncated",
                f"the reply hit max_output_tokens ({self.profile.max_output_tokens}) before the"
                " grade was complete; raise max_output_tokens in the profile and regrade",
            )
        if refusal or finish_reason == "content_filter":
            why = refusal or "the endpoint's content filter stopped the reply"
            raise ReplyProblem("refused", _short(why))
        count = len(prepared.key_points)
        if not text.strip():
            # A reasoning parser sometimes routes the whole answer into the reasoning field.
            if reasoning and "{" in reasoning:
                try:
                    return parse_grade_reply(reasoning, question, count)
                except ReplyProblem:
                    pass
            raise ReplyProblem("unparseable", "the endpoint returned blank content")
        return parse_grade_reply(text, question, count)

    def _reask_messages(
        self, messages: list[Message], reply: str, error: str
    ) -> list[Message] | None:
        follow = [
            *messages,
            {"role": "assistant", "content": reply},
            {"role": "user", "content": self._reask.render(error=error)},
        ]
        window = self.profile.context_window
        if window is not None:
            needed = tokens.count_messages(follow, self.profile.model)
            if needed + self.profile.max_output_tokens > window:
                return None
        return follow

    def _add_usage(self, attempt: _Attempt, messages: list[Message], done: Completion) -> None:
        used = done.usage or self._estimate_usage(messages, done.text)
        attempt.usage = Usage(
            prompt_tokens=attempt.usage.prompt_tokens + used.prompt_tokens,
            completion_tokens=attempt.usage.completion_tokens + used.completion_tokens,
            estimated=attempt.usage.estimated or used.estimated,
        )

    def _estimate_usage(self, messages: list[Message], text: str) -> Usage:
        model = self.profile.model
        return Usage(
            prompt_tokens=tokens.count_messages(messages, model),
            completion_tokens=tokens.count_tokens(text, model),
            estimated=True,
        )

    def _info(self, contract: Contract, seed: int | None = None) -> GraderInfo:
        profile = self.profile
        return GraderInfo(
            kind="llm",
            model=profile.model,
            endpoint=profile.name,
            prompt_version=self.prompt_version,
            settings={
                "temperature": profile.temperature if llm.sends_temperature(profile) else None,
                "seed": seed if seed is not None else profile.seed,
                "contract": contract,
                "max_output_tokens": profile.max_output_tokens,
                "token_param": llm.token_param(profile),
                "answer_token_budget": profile.answer_token_budget,
                "samples": self.samples,
                "base_url": profile.urls[0],
            },
        )

    def _graded(
        self,
        question: Question,
        prepared: _Prepared,
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
            info=self._info(attempt.contract, attempt.seed),
            duration_ms=duration_ms,
            notices=notices,
        )

    def _ungraded(
        self, prepared: _Prepared, attempt: _Attempt, problem: ReplyProblem, duration_ms: int
    ) -> Outcome:
        return Outcome(
            ungraded_reason=problem.reason,
            ungraded_detail=problem.detail,
            raw_reply=attempt.raw,
            usage=attempt.usage,
            info=self._info(attempt.contract, attempt.seed),
            duration_ms=duration_ms,
            notices=list(prepared.notices),
        )

    # ----------------------------------------------------------------- samples
    def _grade_samples(self, question: Question, prepared: _Prepared) -> Outcome:
        """Grade ``samples`` times (seed + i) and report the median-scored sample."""
        started = time.perf_counter()
        base_seed = self.profile.seed
        outcomes = [
            self._grade_once(question, prepared, None if base_seed is None else base_seed + i)
            for i in range(self.samples)
        ]
        total = Usage(
            prompt_tokens=sum(o.usage.prompt_tokens for o in outcomes),
            completion_tokens=sum(o.usage.completion_tokens for o in outcomes),
            estimated=any(o.usage.estimated for o in outcomes),
        )
        graded = [o for o in outcomes if o.grade is not None]
        if not graded:
            chosen = outcomes[0]
            chosen.notices.append(f"None of the {self.samples} samples could be graded.")
        else:
            scores = [o.grade.score for o in graded if o.grade is not None]
            # The lower median for an even count: a real sample, never an average of two.
            middle = sorted(range(len(graded)), key=lambda i: scores[i])[(len(graded) - 1) // 2]
            chosen = graded[middle]
            chosen.samples = scores
            spread = max(scores) - min(scores)
            summary = (
                f"{len(scores)} samples: median {scores[middle]:g}, range {min(scores):g}-"
                f"{max(scores):g} (spread {spread:g})"
            )
            if spread >= UNSTABLE_SPREAD:
                chosen.notices.append(f"Unstable grade: {summary}; the median sample is shown.")
            else:
                chosen.notices.append(f"{summary}.")
            if len(graded) < len(outcomes):
                chosen.notices.append(
                    f"{len(outcomes) - len(graded)} of {self.samples} samples were ungraded."
                )
        chosen.usage = total
        chosen.duration_ms = _ms(started)
        return chosen


def _ms(started: float) -> int:
    return int((time.perf_counter() - started) * 1000)


# --------------------------------------------------------------------------- endpoint check

_PROBE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"ok": {"type": "boolean"}},
    "required": ["ok"],
    "additionalProperties": False,
}
_PROBE_MESSAGES: list[dict[str, str]] = [
    {"role": "system", "content": "You are a health check. Reply with JSON only."},
    {"role": "user", "content": 'Reply with exactly this JSON object: {"ok": true}'},
]


@dataclass
class ContractProbe:
    """How one output contract fared in ``check_endpoint``."""

    contract: Contract
    accepted: bool
    parsed: bool = False
    detail: str = ""
    latency_ms: int | None = None


@dataclass
class EndpointReport:
    """What ``interviewer endpoints check`` found out about an endpoint."""

    name: str
    url: str
    model: str
    reachable: bool = False
    latency_ms: int | None = None
    models: list[str] | None = None
    model_found: bool | None = None
    error: str | None = None
    probes: list[ContractProbe] = field(default_factory=list)
    chosen: Contract | None = None

    @property
    def ok(self) -> bool:
        return (
            self.reachable
            and self.error is None
            and self.model_found is not False
            and self.chosen is not None
            and any(p.parsed for p in self.probes)
        )


def check_endpoint(profile: EndpointProfile, api_key: str | None) -> EndpointReport:
    """Probe an endpoint: reachable, model listed, which output contracts work, latency.

    Each contract is probed with a tiny request; the best accepted one is remembered for
    grading, exactly as the grader would have found it by stepping down.
    """
    client = llm.ChatClient(profile, api_key, max_retries=0)
    report = EndpointReport(name=profile.name, url=client.url, model=str(profile.model))
    try:
        started = time.perf_counter()
        try:
            report.models = client.list_models()
            report.reachable = True
            report.latency_ms = _ms(started)
        except EndpointError as exc:
            if exc.kind in ("connection", "timeout", "auth"):
                report.reachable = exc.kind == "auth"
                report.error = str(exc)
                return report
            # Some servers have no /models route; chat requests will tell.
            report.reachable = True
        # Azure lists base models, not the deployment names a profile uses: the probes
        # below find out whether the deployment exists.
        if report.models is not None and not profile.api_version:
            report.model_found = profile.model in report.models
            if not report.model_found:
                return report
        rejected: dict[str, str] = {}
        for contract in CONTRACTS:
            probe = _probe(client, contract)
            if isinstance(probe, EndpointError):
                report.error = str(probe)
                if probe.kind == "not_found":
                    report.model_found = False
                break
            report.probes.append(probe)
            if not probe.accepted:
                rejected[contract] = probe.detail
            elif report.chosen is None:
                report.chosen = contract
        if report.chosen is not None and report.error is None:
            if report.latency_ms is None:
                report.latency_ms = next(
                    (p.latency_ms for p in report.probes if p.latency_ms is not None), None
                )
            remember_contract(profile, report.chosen, rejected)
        return report
    finally:
        client.close()


def _probe(client: ChatClient, contract: Contract) -> ContractProbe | EndpointError:
    started = time.perf_counter()
    try:
        done = client.complete(
            list(_PROBE_MESSAGES),
            contract=contract,
            max_output_tokens=256,
            schema=_PROBE_SCHEMA if contract == "json_schema" else None,
        )
    except EndpointError as exc:
        if exc.kind == "contract":
            # Keep the server's own words; the endpoint is named in the report's header.
            detail = str(exc).partition(f"({exc.status}): ")[2] or str(exc)
            return ContractProbe(contract, accepted=False, detail=f"{exc.status} {detail}")
        return exc
    probe = ContractProbe(contract, accepted=True, latency_ms=_ms(started))
    if done.finish_reason == "length":
        probe.detail = "accepted, but the reply was cut off (finish_reason length)"
        return probe
    try:
        value = extract_json_object(done.text or done.reasoning or "", ("ok",))
    except ReplyProblem as problem:
        probe.detail = f"accepted, but {problem.detail}: {_short(done.text, 60)!r}"
        return probe
    # Any JSON object proves the contract works; a model that answers with other keys than
    # the ones asked for is worth a warning, not a failure.
    probe.parsed = True
    probe.detail = (
        "reply parsed"
        if "ok" in value
        else f"reply parsed, but not the object asked for: {_short(json.dumps(value), 60)!r}"
    )
    return probe
