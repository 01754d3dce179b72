"""A scriptable OpenAI-compatible chat-completions server on 127.0.0.1 for tests and benchmarks.

It is a real HTTP server (stdlib ``ThreadingHTTPServer`` in a background thread, port 0), so
the openai SDK is exercised end to end: its retries, Retry-After handling, error classes and
JSON decoding all run for real. Nothing is patched.

Scripting, per test:

* ``server.enqueue(reply, ...)`` queues replies for the next chat requests (first in, first out);
  an entry may also be a callable ``(request) -> Reply``.
* ``server.handler = fn`` answers every chat request once the queue is empty; the default
  handler returns a valid grade shaped to the request (``matching_grade_reply``: a verdict
  per numbered key point, a score per rubric criterion).
* ``server.delay`` (seconds) slows every chat reply down; a ``Reply`` has its own ``delay``.
* ``server.api_key`` makes the server demand that key (401 otherwise), like a hosted API.
* ``server.models`` is what ``/v1/models`` lists; a chat request for another model gets the
  404 a real server sends (OpenAI's text, or Ollama's with ``not_found_style="ollama"``).
* ``personality(name)`` returns a handler that behaves like one real server towards
  ``response_format`` (see PERSONALITIES), with the exact error texts those servers send.
* ``grammar_bound(reads)`` is a tiny model behind a grammar-constrained server: the grade
  when the schema arrives where that server reads one, ``{}`` otherwise; pass it as a
  personality's content (``personality("llamacpp_python", grammar_bound(("json_object",)))``).
* ``graded_by(level)`` is a model whose levels are ``level(answer)``: a discriminating judge
  or, with a constant, one that gives every answer the same grade.
* ``server.requests`` records every request (path, query, headers, JSON body) so tests can
  assert on ``response_format``, ``temperature``, ``seed``, the token parameter and messages.

Routes: ``GET /v1/models``, ``POST /v1/chat/completions``, llama.cpp's ``GET /props`` and
``GET /slots`` (``server.props`` / ``server.slots``; 404 while None), FastAPI's
``GET /openapi.json`` (``server.openapi_title``, to pose as llama-cpp-python), the Azure forms
``/openai/deployments/{deployment}/chat/completions?api-version=...`` and
``/openai/v1/...``; any path ending in ``/models`` or ``/chat/completions`` is served, so
a base URL with or without ``/v1`` both work.

Benchmarks start it with ``ChatServer(delay=...)`` and many concurrent clients: the listen
backlog is raised and every connection gets its own thread, so 64+ concurrent requests are
served in parallel rather than queued.
"""

from __future__ import annotations

import json
import re
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

# --------------------------------------------------------------------------- data types


@dataclass
class Reply:
    """One scripted HTTP reply. ``body`` is JSON-encoded unless it is already ``str``."""

    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    content_type: str = "application/json"
    # Seconds between single bytes of the body (a server that trickles): the whole reply
    # takes len(body) * trickle seconds, but no single read waits longer than ``trickle``.
    trickle: float = 0.0


@dataclass
class Request:
    """One recorded request."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any

    @property
    def model(self) -> str | None:
        return self.body.get("model") if isinstance(self.body, dict) else None

    @property
    def response_format(self) -> Any:
        return self.body.get("response_format") if isinstance(self.body, dict) else None

    @property
    def format_type(self) -> str | None:
        """``response_format.type`` or None when the request has no response_format."""
        fmt = self.response_format
        if isinstance(fmt, dict):
            value = fmt.get("type")
            return str(value) if value is not None else None
        return None if fmt is None else str(fmt)

    @property
    def schema(self) -> Any:
        """The schema a grammar-constrained server would enforce: json_schema's, or the one
        inside a json_object response_format (llama.cpp, llama-cpp-python)."""
        fmt = self.response_format
        if not isinstance(fmt, dict):
            return None
        if fmt.get("type") == "json_schema":
            return (fmt.get("json_schema") or {}).get("schema")
        return fmt.get("schema") if fmt.get("type") == "json_object" else None

    @property
    def messages(self) -> list[dict[str, Any]]:
        if isinstance(self.body, dict):
            return list(self.body.get("messages") or [])
        return []

    @property
    def prompt_text(self) -> str:
        """Every message's content joined, for assertions on what the model was shown."""
        return "\n".join(str(m.get("content") or "") for m in self.messages)


Handler = Callable[[Request], Reply]

# --------------------------------------------------------------------------- reply builders

DEFAULT_CRITERIA = ("correctness", "completeness", "depth", "clarity")


def grade_payload(
    *,
    scores: dict[str, int] | None = None,
    key_points: list[tuple[str, str]] | None = None,
    feedback: str = "Solid answer; name the trade-offs explicitly.",
    follow_ups: list[str] | None = None,
    reference_issues: list[str] | None = None,
    factual_errors: list[str] | None = None,
) -> dict[str, Any]:
    """A grade reply in the shape the schema asks for. ``key_points`` are (status, quote)
    pairs numbered from 1 (``kp1``…); ``scores`` maps criterion ids to levels."""
    levels = scores or dict.fromkeys(DEFAULT_CRITERIA, 3)
    points = key_points if key_points is not None else [("covered", ""), ("partial", "")]
    return {
        "factual_errors": factual_errors or [],
        "key_points": {
            f"kp{i}": {"quote": quote, "status": status}
            for i, (status, quote) in enumerate(points, start=1)
        },
        "criteria": {
            cid: {"evidence": f"evidence for {cid}", "comment": "ok", "level": lvl}
            for cid, lvl in levels.items()
        },
        "feedback": feedback,
        "stronger_answer": "A stronger answer would also compare the alternatives.",
        "follow_ups": follow_ups if follow_ups is not None else ["What would you change at scale?"],
        "reference_issues": reference_issues or [],
    }


def smallest_instance(schema: dict[str, Any], status: str = "missing") -> Any:
    """The smallest value a JSON schema allows: every property present, empty strings and
    lists, level 0 and key-point ``status`` (what a grammar-constrained model may emit at
    worst)."""
    if "enum" in schema:
        return status if status in schema["enum"] else schema["enum"][0]
    kind = schema.get("type")
    if kind == "object":
        return {name: smallest_instance(sub, status) for name, sub in schema["properties"].items()}
    if kind == "array":
        return []
    if kind == "integer":
        return 0
    return ""


def grade_json(**kwargs: Any) -> str:
    return json.dumps(grade_payload(**kwargs), ensure_ascii=False)


def completion(
    content: str | None,
    *,
    finish_reason: str | None = "stop",
    model: str = "test-model",
    reasoning_content: str | None = None,
    reasoning: str | None = None,
    refusal: str | None = None,
    usage: dict[str, int] | None = None,
    include_usage: bool = True,
    delay: float = 0.0,
) -> Reply:
    """A 200 chat.completion reply carrying ``content``."""
    message: dict[str, Any] = {"role": "assistant", "content": content}
    if reasoning_content is not None:
        message["reasoning_content"] = reasoning_content
    if reasoning is not None:
        message["reasoning"] = reasoning
    if refusal is not None:
        message["refusal"] = refusal
    body: dict[str, Any] = {
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "message": message, "finish_reason": finish_reason}],
    }
    if include_usage:
        body["usage"] = usage or {
            "prompt_tokens": 321,
            "completion_tokens": 123,
            "total_tokens": 444,
        }
    return Reply(200, body, delay=delay)


def grade_reply(**kwargs: Any) -> Reply:
    """A 200 reply whose content is a valid grade."""
    return completion(grade_json(**kwargs))


_NUMBERED = re.compile(r"^(\d+)\. ", re.MULTILINE)
_CRITERION = re.compile(r"^- ([a-z][a-z0-9_]*) \(", re.MULTILINE)


_ANSWER = re.compile(
    r"=== BEGIN CANDIDATE ANSWER ===\n(.*?)\n=== END CANDIDATE ANSWER ===", re.DOTALL
)


def matching_grade_reply(request: Request, level: int = 3) -> Reply:
    """A valid grade shaped to the request: one verdict per numbered key point and one score
    per rubric criterion found in the prompt (the default handler's reply). A covered point
    quotes the answer's first word, so it keeps its status."""
    text = request.prompt_text
    if "You are a health check" in text:
        return completion('{"ok": true}')
    count = max((int(n) for n in _NUMBERED.findall(text)), default=2)
    criteria = list(dict.fromkeys(_CRITERION.findall(text))) or list(DEFAULT_CRITERIA)
    answer = _ANSWER.search(text)
    words = answer.group(1).split() if answer else []
    quote = words[0] if words else ""
    return grade_reply(
        scores=dict.fromkeys(criteria, level),
        key_points=[("covered", quote) if i % 2 else ("partial", "") for i in range(1, count + 1)],
    )


def answer_in(request: Request) -> str:
    """The candidate's answer as the grading request shows it (between the marker lines)."""
    text = request.prompt_text
    begin, end = "=== BEGIN CANDIDATE ANSWER ===", "=== END CANDIDATE ANSWER ==="
    if begin not in text:
        return ""
    return text.rsplit(begin, 1)[1].split(end, 1)[0].strip()


def graded_by(level: Callable[[str], int]) -> Handler:
    """A model that gives every criterion ``level(answer)`` (0-4); otherwise like
    ``matching_grade_reply`` (one verdict per key point, ``{"ok": true}`` to health checks).
    A constant ``level`` is a model that cannot tell answers apart."""

    def handle(request: Request) -> Reply:
        return matching_grade_reply(request, level(answer_in(request)))

    return handle


def think_reply(**kwargs: Any) -> Reply:
    """A reasoning model without a reasoning parser: ``<think>…</think>`` then the JSON."""
    return completion(
        "<think>The candidate covers the main idea. {not json} Let me score.</think>\n"
        + grade_json(**kwargs)
    )


def orphan_think_reply(**kwargs: Any) -> Reply:
    """R1-distill style: the opening tag was in the prompt, only ``</think>`` is emitted."""
    return completion(
        "Okay, the answer {mostly} fits the reference.\n</think>\n\n" + grade_json(**kwargs)
    )


def fenced_reply(**kwargs: Any) -> Reply:
    return completion("Here is the grade:\n```json\n" + grade_json(**kwargs) + "\n```\n")


def trailing_text_reply(**kwargs: Any) -> Reply:
    return completion(grade_json(**kwargs) + "\n\nI hope this helps! Let me know {if} needed.")


def malformed_reply() -> Reply:
    return completion('{"key_points": {"kp1": {"status": "covered"}, "criteria": oops')


def invalid_grade_reply() -> Reply:
    """Well-formed JSON that fails validation (score out of range, no feedback)."""
    payload = grade_payload()
    payload["criteria"]["correctness"]["level"] = 9
    del payload["feedback"]
    return completion(json.dumps(payload))


def truncated_reply() -> Reply:
    return completion(grade_json()[:80], finish_reason="length")


def blank_reply() -> Reply:
    """DeepSeek JSON mode: non-JSON output replaced by blanks, finish_reason still stop."""
    return completion("   \n  ")


def refusal_reply() -> Reply:
    return completion("I'm sorry, but I can't help with grading this answer.")


def error(status: int, body: Any, headers: dict[str, str] | None = None) -> Reply:
    return Reply(status, body, headers=dict(headers or {}))


def openai_error(
    status: int,
    message: str,
    *,
    type_: str = "invalid_request_error",
    code: Any = None,
    param: Any = None,
    headers: dict[str, str] | None = None,
) -> Reply:
    body = {"error": {"message": message, "type": type_, "param": param, "code": code}}
    return error(status, body, headers)


def unauthorized() -> Reply:
    return openai_error(
        401,
        "Incorrect API key provided: sk-wrong. You can find your API key at"
        " https://platform.openai.com/account/api-keys.",
        code="invalid_api_key",
    )


def model_not_found(model: str, style: str = "openai") -> Reply:
    if style == "ollama":
        return openai_error(
            404, f'model "{model}" not found, try pulling it first', type_="api_error"
        )
    return openai_error(
        404,
        f"The model `{model}` does not exist or you do not have access to it.",
        code="model_not_found",
    )


def rate_limited(retry_after: float = 0.05) -> Reply:
    return openai_error(
        429,
        "Rate limit reached for requests per min (RPM): Limit 3, Used 3, Requested 1."
        f" Please try again in {retry_after}s.",
        type_="requests",
        code="rate_limit_exceeded",
        headers={"Retry-After": str(retry_after)},
    )


def quota_exhausted() -> Reply:
    return openai_error(
        429,
        "You exceeded your current quota, please check your plan and billing details.",
        type_="insufficient_quota",
        code="insufficient_quota",
    )


def server_error() -> Reply:
    return openai_error(
        500, "The server had an error while processing your request.", type_="server_error"
    )


# --------------------------------------------------------------------------- broken replies

# 200 replies that are not chat completions, as proxies, gateways and broken servers send.
NOT_A_COMPLETION: dict[str, Reply] = {
    "html": Reply(
        200,
        "<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>",
        content_type="text/html",
    ),
    "html_as_json": Reply(200, "<html><body>Service unavailable</body></html>"),
    "text": Reply(200, "upstream connect error", content_type="text/plain"),
    "array": Reply(200, [1, 2, 3]),
    "deep": Reply(200, "[" * 100_000 + "]" * 100_000),
    "empty": Reply(200, ""),
    "choices_not_a_list": Reply(200, {"choices": "x", "model": "test-model"}),
    "message_null": Reply(200, {"choices": [{"message": None, "finish_reason": "stop"}]}),
    "content_not_text": Reply(200, {"choices": [{"message": {"content": {"a": 1}}}]}),
}


def not_a_completion(kind: str) -> Reply:
    """A 200 reply of the named kind (see NOT_A_COMPLETION) that is not a chat completion."""
    return NOT_A_COMPLETION[kind]


def trickling(reply: Reply, seconds_per_byte: float) -> Reply:
    """``reply`` sent one byte at a time, ``seconds_per_byte`` apart."""
    return Reply(
        reply.status,
        reply.body,
        dict(reply.headers),
        reply.delay,
        reply.content_type,
        seconds_per_byte,
    )


def fault_mix(
    rates: dict[str, float], *, seed: int = 0, slow: float = 0.2, base: Handler | None = None
) -> Handler:
    """A handler that answers each request with a fault drawn at the given rates, else ``base``.

    Faults: ``broken`` (a reply from NOT_A_COMPLETION), ``slow`` (a valid reply ``slow`` seconds
    late), ``server_error`` (a 500), ``truncated`` (a cut-off grade). The draw is seeded, so a
    benchmark's mix is the same from run to run.
    """
    import random

    draw = random.Random(seed)
    lock = threading.Lock()
    kinds = sorted(NOT_A_COMPLETION)
    answer = base or matching_grade_reply

    def handle(request: Request) -> Reply:
        with lock:
            roll = draw.random()
            pick = draw.choice(kinds)
        fault = "none"
        for name, rate in rates.items():
            if roll < rate:
                fault = name
                break
            roll -= rate
        if fault == "none":
            return answer(request)
        if fault == "broken":
            return NOT_A_COMPLETION[pick]
        if fault == "slow":
            reply = answer(request)
            return Reply(reply.status, reply.body, reply.headers, slow)
        if fault == "server_error":
            return server_error()
        return truncated_reply()

    return handle


# --------------------------------------------------------------------------- real rejections

# Each server's real rejection of a response_format it does not support, with the exact
# status and body shape that server sends (the contract ladder in docs/grading.md).
REJECTIONS: dict[str, Reply] = {
    "openai_json_schema": openai_error(
        400,
        "Invalid parameter: 'response_format' of type 'json_schema' is not supported with"
        " this model. Learn more about supported models at the Structured Outputs guide:"
        " https://platform.openai.com/docs/guides/structured-outputs",
        param="response_format",
    ),
    "openai_json_object": openai_error(
        400,
        "Invalid parameter: 'response_format' of type 'json_object' is not supported with"
        " this model.",
        param="response_format",
    ),
    "azure_old_api_version": error(
        400,
        {
            "error": {
                "code": "BadRequest",
                "message": "response_format value as json_schema is enabled only for api"
                " versions 2024-08-01-preview and later",
            }
        },
    ),
    "deepseek_400": openai_error(
        400, "This response_format type is unavailable now", code="invalid_request_error"
    ),
    "deepseek_422": error(
        422,
        {
            "error": {
                "message": "Failed to deserialize the JSON body into the target type:"
                " response_format: response_format.type `json_schema` is unavailable now"
                " at line 1 column 1234",
                "type": "invalid_request_error",
                "param": None,
                "code": "invalid_request_error",
            }
        },
    ),
    "llamacpp_json_schema": openai_error(
        400,
        'response_format type must be one of "text" or "json_object", but got: json_schema',
    ),
    "lmstudio_json_object": error(
        400, {"error": "'response_format.type' must be 'json_schema' or 'text'"}
    ),
    "lmstudio_old": error(400, {"error": "'response_format.type' must be 'json_schema'"}),
    "volcengine_json_schema": openai_error(
        400,
        "The parameter `response_format.type` specified in the request are not valid:"
        " invalid value: `json_schema`, supported values are: `json_object` and `text`.",
        code="InvalidParameter",
        param="response_format.type",
    ),
    # Older vLLM used a flat body ({"object": "error", ...}); xgrammar rejects some schemas
    # with a vague message that still names response_format.
    "vllm_json_schema": error(
        400,
        {
            "object": "error",
            "message": "The provided JSON schema contains features not supported by xgrammar."
            " (response_format json_schema)",
            "type": "BadRequestError",
            "param": None,
            "code": 400,
        },
    ),
    # llama-cpp-python 0.3.36: its request model only knows text and json_object, and the
    # validation error comes back as a 500 (captured from a real server with curl).
    "llamacpp_python_json_schema": openai_error(
        500,
        "1 validation error:\n  {'type': 'literal_error', 'loc': ('body', 'response_format',"
        " 'type'), 'msg': \"Input should be 'text' or 'json_object'\", 'input': 'json_schema',"
        " 'ctx': {'expected': \"'text' or 'json_object'\"}}\n\n  File \"llama_cpp/server/app.py\","
        " line 376, in create_chat_completion\n    POST /v1/chat/completions",
        type_="internal_server_error",
    ),
    # A server that validates response_format strictly and knows no schema under json_object.
    "strict_json_object_schema": openai_error(
        400,
        "Invalid 'response_format': unknown field 'schema' for type 'json_object'.",
        param="response_format",
    ),
    # Some gateways surface a structured-output failure as a 500 that names response_format.
    "gateway_500": openai_error(
        500,
        "Internal error while applying response_format json_schema: unsupported",
        type_="server_error",
    ),
}


def _rejecting(
    rejects: dict[str, str], content: Callable[[Request], Reply] | None = None
) -> Handler:
    """A handler rejecting the response_format types in ``rejects`` (type -> REJECTIONS key;
    ``json_object+schema`` is json_object carrying a schema)."""

    def handle(request: Request) -> Reply:
        kind = request.format_type
        if kind == "json_object" and request.schema is not None:
            kind = "json_object+schema" if "json_object+schema" in rejects else kind
        if kind in rejects:
            return REJECTIONS[rejects[kind]]
        return content(request) if content else grade_reply()

    return handle


def grammar_bound(reads: tuple[str, ...]) -> Handler:
    """A tiny model behind a grammar-constrained server: it produces the grade only when the
    server enforces the grade's schema, and the least JSON it may (``{}``) otherwise.

    ``reads`` names where this server takes a schema from: ``json_schema`` (OpenAI's
    nesting, which Ollama copies into its ``format``) and/or ``json_object`` (a schema
    inside a json_object response_format: llama.cpp, llama-cpp-python).
    """

    def handle(request: Request) -> Reply:
        if request.format_type in reads and request.schema is not None:
            return matching_grade_reply(request)
        return completion("{}")

    return handle


# name -> which response_format types that server rejects, and with which error.
PERSONALITIES: dict[str, dict[str, str]] = {
    "openai": {},
    "openai_old_model": {
        "json_schema": "openai_json_schema",
    },
    "azure_old_api": {"json_schema": "azure_old_api_version"},
    "deepseek": {"json_schema": "deepseek_400"},
    "deepseek_old": {"json_schema": "deepseek_422"},
    "llamacpp_old": {"json_schema": "llamacpp_json_schema"},
    "llamacpp_python": {"json_schema": "llamacpp_python_json_schema"},
    # Rejects json_schema, and a schema inside json_object; plain json_object works.
    "strict_validator": {
        "json_schema": "deepseek_400",
        "json_object+schema": "strict_json_object_schema",
    },
    "lmstudio": {"json_object": "lmstudio_json_object"},
    "lmstudio_old": {"json_object": "lmstudio_old"},
    "volcengine": {"json_schema": "volcengine_json_schema"},
    "vllm_xgrammar": {"json_schema": "vllm_json_schema"},
    "gateway_500": {"json_schema": "gateway_500"},
    # Rejects both structured modes: only the prompt-only contract remains.
    "no_structured": {"json_schema": "openai_json_schema", "json_object": "openai_json_object"},
    # Ollama and vLLM accept (or silently ignore) whatever they do not understand.
    "ollama": {},
    "vllm": {},
}


def personality(name: str, content: Callable[[Request], Reply] | None = None) -> Handler:
    """A handler that treats response_format like the named real server does."""
    return _rejecting(PERSONALITIES[name], content)


def ignoring_format(text: Callable[[Request], str]) -> Handler:
    """A server that accepts any response_format and ignores it (Ollama Cloud, old vLLM)."""
    return lambda request: completion(text(request))


# --------------------------------------------------------------------------- the server


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    # Sleeping handlers must not hold up stop(); the Event below wakes them anyway.
    block_on_close = False
    # The default backlog of 5 drops connections when a benchmark opens 64 at once.
    request_queue_size = 256
    allow_reuse_address = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that gave up on a slow reply (its deadline passed) closes the socket
        # first; that is expected here, not a server fault worth a traceback.
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


class ChatServer:
    """A scripted chat-completions server on 127.0.0.1 (use as a context manager)."""

    def __init__(
        self,
        *,
        models: tuple[str, ...] | list[str] = ("test-model",),
        delay: float = 0.0,
        api_key: str | None = None,
        handler: Handler | None = None,
        not_found_style: str = "openai",
        record: bool = True,
    ) -> None:
        self.models = list(models)
        self.delay = delay
        self.api_key = api_key
        self.handler: Handler = handler or matching_grade_reply
        self.not_found_style = not_found_style
        self.record = record
        self.requests: list[Request] = []
        self.models_status: int = 200
        # llama.cpp's introspection routes; None answers 404 like a server without them.
        self.props: dict[str, Any] | None = None
        self.slots: list[dict[str, Any]] | None = None
        self.openapi_title: str | None = None
        self._queue: deque[Reply | Handler] = deque()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._active = 0
        self.max_active = 0
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None

    # ----------------------------------------------------------------- lifecycle
    def start(self) -> ChatServer:
        server = self

        class _Handler(_RequestHandler):
            owner = server

        self._httpd = _HTTPServer(("127.0.0.1", 0), _Handler)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> ChatServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        assert self._httpd is not None, "server not started"
        return int(self._httpd.server_address[1])

    @property
    def root(self) -> str:
        """``http://127.0.0.1:PORT`` (no /v1), e.g. for an Azure endpoint."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        """The base URL a client is configured with: ``http://127.0.0.1:PORT/v1``."""
        return f"{self.root}/v1"

    # ----------------------------------------------------------------- scripting
    def enqueue(self, *replies: Reply | Handler) -> None:
        with self._lock:
            self._queue.extend(replies)

    @property
    def pending(self) -> int:
        with self._lock:
            return len(self._queue)

    @property
    def chat_requests(self) -> list[Request]:
        with self._lock:
            return [r for r in self.requests if r.path.endswith("/chat/completions")]

    @property
    def last(self) -> Request:
        chats = self.chat_requests
        assert chats, "no chat request was received"
        return chats[-1]

    def clear(self) -> None:
        with self._lock:
            self.requests.clear()
            self._queue.clear()

    # ----------------------------------------------------------------- serving
    def _chat_reply(self, request: Request) -> Reply:
        if self.api_key is not None and not _has_key(request.headers, self.api_key):
            return unauthorized()
        model = request.model
        if self.models and model not in self.models:
            return model_not_found(str(model), self.not_found_style)
        with self._lock:
            scripted = self._queue.popleft() if self._queue else None
        if scripted is None:
            return self.handler(request)
        return scripted if isinstance(scripted, Reply) else scripted(request)

    def _models_reply(self, request: Request) -> Reply:
        if self.api_key is not None and not _has_key(request.headers, self.api_key):
            return unauthorized()
        if self.models_status != 200:
            return openai_error(self.models_status, "Not Found", type_="not_found_error")
        data = [{"id": m, "object": "model", "created": 0, "owned_by": "test"} for m in self.models]
        return Reply(200, {"object": "list", "data": data})

    def _serve(self, request: Request) -> Reply:
        if self.record:
            with self._lock:
                self.requests.append(request)
        path = request.path.rstrip("/")
        if request.method == "POST" and path.endswith("/chat/completions"):
            with self._lock:
                self._active += 1
                self.max_active = max(self.max_active, self._active)
            try:
                reply = self._chat_reply(request)
                wait = reply.delay + self.delay
                if wait > 0:
                    self._stopping.wait(wait)
                return reply
            finally:
                with self._lock:
                    self._active -= 1
        if request.method == "GET" and path.endswith("/models"):
            return self._models_reply(request)
        introspection = {
            "/props": self.props,
            "/slots": self.slots,
            "/openapi.json": None
            if self.openapi_title is None
            else {"openapi": "3.1.0", "info": {"title": self.openapi_title}},
        }
        if request.method == "GET" and path in introspection:
            found = introspection[path]
            if found is not None:
                return Reply(200, found)
        return openai_error(
            404, f"Unknown route {request.method} {request.path}", type_="not_found_error"
        )


def _has_key(headers: dict[str, str], key: str) -> bool:
    return headers.get("authorization") == f"Bearer {key}" or headers.get("api-key") == key


class _RequestHandler(BaseHTTPRequestHandler):
    owner: ChatServer
    protocol_version = "HTTP/1.1"  # keep-alive, as the SDK's connection pool expects
    # Headers and body go out in two writes; with Nagle on, the body waits for the client's
    # delayed ACK (~40 ms per request on loopback).
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:
        """Keep test output clean."""

    def _handle(self, method: str) -> None:
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body: Any = json.loads(raw) if raw else None
        except json.JSONDecodeError:
            body = raw.decode("utf-8", "replace")
        request = Request(
            method=method,
            path=parts.path,
            query={k: v[-1] for k, v in parse_qs(parts.query).items()},
            headers={k.lower(): v for k, v in self.headers.items()},
            body=body,
        )
        reply = self.owner._serve(request)
        payload = reply.body if isinstance(reply.body, str) else json.dumps(reply.body)
        data = payload.encode("utf-8")
        self.send_response(reply.status)
        self.send_header("Content-Type", reply.content_type)
        self.send_header("Content-Length", str(len(data)))
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.end_headers()
        if reply.trickle <= 0:
            self.wfile.write(data)
            return
        self.wfile.flush()
        for index in range(len(data)):
            # Bounded: the server's stop() ends the trickle, and so does a client that left.
            if self.owner._stopping.wait(reply.trickle):
                return
            try:
                self.wfile.write(data[index : index + 1])
                self.wfile.flush()
            except OSError:
                return

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")


@pytest.fixture
def chat_server() -> Iterator[ChatServer]:
    """A started ChatServer serving model ``test-model``; stopped after the test."""
    with ChatServer() as server:
        yield server
