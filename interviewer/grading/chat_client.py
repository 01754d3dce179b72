"""The one place that talks to an OpenAI-compatible endpoint (the only importer of openai).

``ChatClient`` wraps one sync ``openai.OpenAI`` client per base URL of a profile (replicas
are used round-robin); it is shared by every grading thread, as the SDK's HTTP client allows.
openai itself is imported only when a client is built, so importing this module is cheap and
``interviewer --help`` never pays the two seconds openai costs.

What it settles, so that callers never see the SDK:

* the request body: temperature 0 and a seed where the model accepts them, the token-limit
  parameter the endpoint understands (``max_completion_tokens`` for OpenAI o-series and
  gpt-5, ``max_tokens`` elsewhere, or the profile's ``token_param``), the ``response_format``
  of the output contract in use (``build_request_body``, also used for batch files);
* retries: the SDK's own, ``max_retries`` from the profile, honouring ``Retry-After``;
* errors: every SDK failure becomes an ``EndpointError`` whose ``kind`` says what happened
  (auth, not_found, connection, timeout, rate_limit, quota, server, bad_request, contract,
  bad_reply: a 2xx reply that is not a chat completion)
  and whose message is one line naming the endpoint and the fix. A rejection whose body names
  ``response_format`` (servers use 400, 422 and even 500 for it) is ``contract``, so the
  grader can step down to a simpler output contract;
* Azure OpenAI: a profile with ``api_version`` uses ``openai.AzureOpenAI`` with the base URL
  as ``azure_endpoint`` and the model as the deployment name (the SDK builds
  ``/openai/deployments/{model}/chat/completions?api-version=...`` and sends the ``api-key``
  header). Azure's newer v1 API needs no api_version: give ``https://RES.openai.azure.com/openai/v1``
  as an ordinary base URL;
* reasoning text from ``reasoning_content`` / ``reasoning`` is returned separately, never
  mixed into the reply text.

API keys are passed in by the caller (``config.resolve_api_key``) and never logged or shown:
error messages name the environment variable, not its value.
"""

from __future__ import annotations

import itertools
import re
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from interviewer.config import KEYLESS_PLACEHOLDER, Contract, EndpointProfile
from interviewer.errors import EndpointError
from interviewer.grading.grade import Usage
from interviewer.safe_text import without_surrogates

if TYPE_CHECKING:
    import openai

Message = dict[str, str]

# OpenAI reasoning models reject max_tokens and any temperature but the default.
_REASONING_MODEL = re.compile(r"^(?:o\d|gpt-5)", re.IGNORECASE)
_CONNECT_TIMEOUT = 10.0


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


def is_reasoning_model(model: str | None) -> bool:
    """OpenAI o-series and gpt-5 models (their names may carry a provider prefix)."""
    return bool(model) and bool(_REASONING_MODEL.match(str(model).rsplit("/", 1)[-1]))


def token_param(profile: EndpointProfile) -> str:
    """The request field that caps output tokens at this endpoint."""
    if profile.token_param != "auto":
        return profile.token_param
    return "max_completion_tokens" if is_reasoning_model(profile.model) else "max_tokens"


def sends_temperature(profile: EndpointProfile) -> bool:
    return profile.temperature is not None and not is_reasoning_model(profile.model)


def response_format(contract: Contract, schema: dict[str, Any] | None) -> dict[str, Any] | None:
    """The ``response_format`` value for an output contract (None for prompt-only)."""
    if contract == "json_schema":
        if schema is None:
            raise ValueError("the json_schema contract needs a schema")
        return {
            "type": "json_schema",
            "json_schema": {"name": "grade", "schema": schema, "strict": True},
        }
    if contract == "json_object":
        return {"type": "json_object"}
    return None


def build_request_body(
    profile: EndpointProfile,
    messages: list[Message],
    *,
    contract: Contract,
    max_output_tokens: int,
    schema: dict[str, Any] | None = None,
    seed: int | None = None,
    temperature: float | None = None,
) -> dict[str, Any]:
    """The chat-completions request body, as sent and as written to batch files.

    ``temperature`` overrides the profile's (repeated samples are drawn above 0), but only
    where the profile sends a temperature at all.
    """
    body: dict[str, Any] = {"model": profile.model, "messages": messages}
    if sends_temperature(profile):
        body["temperature"] = profile.temperature if temperature is None else temperature
    chosen_seed = seed if seed is not None else profile.seed
    if chosen_seed is not None:
        body["seed"] = chosen_seed
    body[token_param(profile)] = max_output_tokens
    fmt = response_format(contract, schema)
    if fmt is not None:
        body["response_format"] = fmt
    return body


def preload() -> None:
    """Import the SDK now (it takes a noticeable moment), e.g. in a thread while inputs load."""
    import openai  # noqa: F401


class ChatClient:
    """A thread-safe client for one endpoint profile."""

    def __init__(
        self, profile: EndpointProfile, api_key: str | None, *, max_retries: int | None = None
    ) -> None:
        if not profile.urls or not profile.model:
            raise EndpointError(
                f"Endpoint '{profile.name}' needs a base URL and a model.", kind="bad_request"
            )
        import openai

        self.profile = profile
        self._keyed = api_key is not None
        key = api_key or KEYLESS_PLACEHOLDER
        retries = profile.max_retries if max_retries is None else max_retries
        self.max_retries = retries
        timeout = openai.Timeout(profile.timeout, connect=min(_CONNECT_TIMEOUT, profile.timeout))
        headers = dict(profile.headers) or None
        self._clients: list[tuple[str, openai.OpenAI]] = []
        for url in profile.urls:
            client: openai.OpenAI
            http = _http_client(profile.timeout)
            if profile.api_version:
                client = openai.AzureOpenAI(
                    azure_endpoint=url,
                    api_version=profile.api_version,
                    api_key=key,
                    timeout=timeout,
                    max_retries=retries,
                    default_headers=headers,
                    http_client=http,
                )
            else:
                client = openai.OpenAI(
                    base_url=url,
                    api_key=key,
                    timeout=timeout,
                    max_retries=retries,
                    default_headers=headers,
                    http_client=http,
                )
            self._clients.append((url, client))
        self._cycle = itertools.cycle(self._clients)
        self._cycle_lock = threading.Lock()

    @property
    def url(self) -> str:
        return self._clients[0][0]

    def _next(self) -> tuple[str, openai.OpenAI]:
        with self._cycle_lock:
            return next(self._cycle)

    def complete(
        self,
        messages: list[Message],
        *,
        contract: Contract,
        max_output_tokens: int,
        schema: dict[str, Any] | None = None,
        seed: int | None = None,
        temperature: float | None = None,
    ) -> Completion:
        """Send one chat request; raise EndpointError (never an SDK exception) on failure."""
        body = build_request_body(
            self.profile,
            messages,
            contract=contract,
            max_output_tokens=max_output_tokens,
            schema=schema,
            seed=seed,
            temperature=temperature,
        )
        url, client = self._next()
        start = time.perf_counter()
        try:
            response = client.chat.completions.create(**body)
        except Exception as exc:
            raise self._map_error(exc, url, contract) from None
        duration_ms = int((time.perf_counter() - start) * 1000)
        try:
            return _completion(response, duration_ms)
        except _NotACompletion as exc:
            raise self._bad_reply(url, str(exc)) from None

    def list_models(self) -> list[str]:
        """The model ids the server lists (``GET /models``)."""
        url, client = self._clients[0]
        try:
            return sorted(m.id for m in client.models.list())
        except Exception as exc:
            raise self._map_error(exc, url, "prompt", route="/models") from None

    def close(self) -> None:
        for _url, client in self._clients:
            client.close()

    # ----------------------------------------------------------------- errors
    def _map_error(
        self, exc: Exception, url: str, contract: Contract, route: str = "/chat/completions"
    ) -> EndpointError:
        import openai

        name = f"Endpoint '{self.profile.name}' ({url})"
        if isinstance(exc, ValueError | RecursionError | TypeError | AttributeError):
            # The SDK could not decode the body of a 2xx reply (HTML, text, JSON nested
            # past the recursion limit): the server answered, but not with a completion.
            return self._bad_reply(url, f"the body is not JSON ({type(exc).__name__})")
        if isinstance(exc, openai.APITimeoutError):
            return EndpointError(
                f"{name} did not answer within {self.profile.timeout:g} s: raise the profile's"
                " timeout, lower --concurrency, or check that the server is not stuck.",
                kind="timeout",
            )
        if isinstance(exc, openai.APIConnectionError):
            return EndpointError(
                f"Cannot reach {name[0].lower()}{name[1:]}: {_cause(exc)}. Is the server"
                " running, and is the base URL right?",
                kind="connection",
            )
        if not isinstance(exc, openai.APIStatusError):
            return EndpointError(f"{name} failed: {type(exc).__name__}: {exc}", kind="server")
        return self._status_error(exc, name, contract, route)

    def _bad_reply(self, url: str, why: str) -> EndpointError:
        return EndpointError(
            f"Endpoint '{self.profile.name}' ({url}) sent a reply that is not a chat completion"
            f" ({why}); check that the base URL points at a chat-completions server.",
            kind="bad_reply",
        )

    def _status_error(
        self, exc: openai.APIStatusError, name: str, contract: Contract, route: str
    ) -> EndpointError:
        """The error for an HTTP error status, with the fix for its likely cause."""
        env = self.profile.api_key_env or "OPENAI_API_KEY"
        status = exc.status_code
        text = _error_text(exc)
        lowered = text.lower()
        retried = f" after {self.max_retries} retries" if self.max_retries else ""
        if contract != "prompt" and status in (400, 422, 500) and "response_format" in lowered:
            return EndpointError(
                f"{name} rejects response_format {contract} ({status}): {text}",
                kind="contract",
                status=status,
            )
        if status in (401, 403):
            if not self._keyed:
                fix = (
                    f"it needs an API key: set {env}, or give the profile api_key_env or"
                    " api_key_file."
                )
            else:
                fix = f"set {env} or the profile's api_key_env to a valid key."
            verb = "rejected the API key" if status == 401 else "refused access"
            return EndpointError(f"{name} {verb} ({status}): {fix}", kind="auth", status=status)
        if status == 404:
            return self._not_found(name, route, text, lowered)
        if status == 429:
            return self._too_many(exc, name, text, lowered, retried)
        if status >= 500 or status in (408, 409):
            return EndpointError(
                f"{name} failed with {status}{retried}: {text} Try again later.",
                kind="server",
                status=status,
            )
        return EndpointError(
            f"{name} rejected the request ({status}): {text}{_hint(lowered)}",
            kind="bad_request",
            status=status,
        )

    def _not_found(self, name: str, route: str, text: str, lowered: str) -> EndpointError:
        """404: a missing Azure deployment, an unknown model, or a wrong base URL."""
        model = self.profile.model
        if route == "/chat/completions" and self.profile.api_version:
            message = (
                f"{name} has no deployment '{model}' (404): {text} Use the deployment name as"
                " --model and check the resource URL."
            )
        elif route == "/chat/completions" and "model" in lowered:
            message = (
                f"{name} has no model '{model}' (404): run `interviewer endpoints check"
                f" {self.profile.name}` to list its models, then fix --model or the profile."
            )
        else:
            message = (
                f"{name} answered 404 for {route}: check the base URL (most servers expect it"
                " to end in /v1)."
            )
        return EndpointError(message, kind="not_found", status=404)

    def _too_many(
        self, exc: openai.APIStatusError, name: str, text: str, lowered: str, retried: str
    ) -> EndpointError:
        """429: an exhausted quota (stop) or rate limiting that outlasted the retries."""
        status = 429
        if "quota" in lowered or "billing" in lowered or exc.code == "insufficient_quota":
            return EndpointError(
                f"{name} reports the quota is exhausted (429): {text} Check the plan and"
                " billing of this API key; grading stopped.",
                kind="quota",
                status=status,
            )
        wait = exc.response.headers.get("retry-after")
        asked = f", server asked to wait {wait} s" if wait else ""
        return EndpointError(
            f"{name} is still rate-limiting{retried} (429{asked}): lower --concurrency or"
            " wait, then run `interviewer regrade`.",
            kind="rate_limit",
            status=status,
        )


def _http_client(total: float) -> Any:
    """An HTTP client with ``total`` seconds as a deadline per attempt (see ``deadline``).

    The SDK's own timeout (and httpx's) limits each read, so a server that trickles bytes
    would hold a request for ever.
    """
    from interviewer.grading.deadline import DeadlineClient

    return DeadlineClient(total)


class _NotACompletion(Exception):
    """A 2xx reply whose body does not have the shape of a chat completion."""


def _completion(response: Any, duration_ms: int) -> Completion:
    """The reply as a Completion; _NotACompletion when its shape is wrong.

    The SDK builds its response objects without validating them, so a JSON array or a
    ``choices`` that is not a list of messages arrives here as whatever the server sent.
    """
    choices = getattr(response, "choices", None)
    if not isinstance(choices, list) or not choices:
        raise _NotACompletion("no choices" if choices == [] else "no list of choices")
    choice = choices[0]
    message = getattr(choice, "message", None)
    if message is None:
        raise _NotACompletion("the first choice has no message")
    content = getattr(message, "content", None)
    if content is not None and not isinstance(content, str):
        raise _NotACompletion("the message content is not text")
    finish = getattr(choice, "finish_reason", None)
    model = getattr(response, "model", None)
    refusal = getattr(message, "refusal", None)
    reasoning = _reasoning(message)
    fingerprint = getattr(response, "system_fingerprint", None)
    # A lone "\\ud800" escape decodes to text that cannot be written as UTF-8 anywhere.
    return Completion(
        text=without_surrogates(content or ""),
        finish_reason=finish if isinstance(finish, str) else None,
        usage=_usage(getattr(response, "usage", None)),
        model=model if isinstance(model, str) else None,
        reasoning=without_surrogates(reasoning) if reasoning else None,
        refusal=without_surrogates(refusal) if isinstance(refusal, str) and refusal else None,
        duration_ms=duration_ms,
        system_fingerprint=fingerprint if isinstance(fingerprint, str) and fingerprint else None,
    )


def _usage(usage: Any) -> Usage | None:
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


def _hint(lowered: str) -> str:
    if "max_tokens" in lowered and "max_completion_tokens" in lowered:
        return ' Set token_param = "max_completion_tokens" in the profile.'
    if "temperature" in lowered:
        return " Remove temperature from the profile (temperature = none)."
    if "context" in lowered and ("length" in lowered or "window" in lowered):
        return " Lower the profile's answer_token_budget or max_output_tokens."
    if "seed" in lowered:
        return " Remove seed from the profile."
    return ""


def _error_text(exc: openai.APIStatusError) -> str:
    """The server's own message, whatever the body shape, on one short line."""
    body = exc.body
    message: Any = None
    if isinstance(body, dict):
        message = body.get("message") or body.get("error") or body.get("detail")
        if isinstance(message, dict):
            message = message.get("message")
    elif isinstance(body, str):
        message = body
    if not message:
        try:
            message = exc.response.text
        except Exception:  # the body may be unreadable; the status still says enough
            message = ""
    text = " ".join(str(message).split()) if message else f"HTTP {exc.status_code}"
    if len(text) > 300:
        text = text[:297] + "..."
    return text if text.endswith((".", "!", "?")) else text + "."


def _cause(exc: Exception) -> str:
    """The innermost reason of a connection failure (refused, DNS, reset)."""
    inner: BaseException | None = exc
    while inner is not None and inner.__cause__ is not None:
        inner = inner.__cause__
    text = str(inner) if inner is not None else ""
    if "refused" in text.lower():
        return "connection refused"
    return " ".join(text.split())[:200] or "connection error"


def _reasoning(message: Any) -> str | None:
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
