"""The one place that talks to an OpenAI-compatible endpoint (the only importer of openai).

``ChatClient`` wraps one sync ``openai.OpenAI`` client per base URL of a profile (replicas
are used round-robin); it is shared by every grading thread, as the SDK's HTTP client allows.
openai itself is imported only when a client is built, so importing this module is cheap and
``interviewer --help`` never pays the two seconds openai costs.

What it settles, so that callers never see the SDK:

* the request body: temperature 0 and a seed where the model accepts them, the token-limit
  parameter the endpoint understands (``max_completion_tokens`` for OpenAI o-series and
  gpt-5, ``max_tokens`` elsewhere, or the profile's ``token_param``), the ``response_format``
  of the output contract in use (``build_request_body``, also used for batch files). Under
  json_object a schema, when given, rides along as ``{"type": "json_object", "schema": ...}``:
  llama.cpp's server and llama-cpp-python's (which rejects json_schema) compile it to a
  grammar, so the reply must have the grade's shape rather than be any JSON such as ``{}``.
  Ollama reads a schema only from ``json_schema`` (into its ``format``) and ignores this one;
* retries: the SDK's own, ``max_retries`` from the profile, honouring ``Retry-After``, for
  hosted APIs. A server of one's own (``config.is_local_url``) is different: a request that
  timed out is usually still being computed (a single-slot llama.cpp server works through
  its queue one request at a time), and sending it again only queues a second copy behind
  it. So for a local server a timeout is never retried and its message says the server may
  still be working on it and how to raise ``timeout``; connection failures and 5xx/429
  answers are still retried here, ``max_retries`` times;
* the server's parallel slots, where it says (``ChatClient.server_slots``; see
  ``interviewer.grading.server_slots``), so local concurrency can match;
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
from typing import TYPE_CHECKING, Any

from interviewer.config import KEYLESS_PLACEHOLDER, Contract, EndpointProfile, is_local_url
from interviewer.errors import EndpointError
from interviewer.grading.completion import Completion as Completion  # re-exported
from interviewer.grading.completion import NotACompletion, read_completion
from interviewer.grading.server_slots import ROUTES, server_root, slots_in
from interviewer.redaction import display_url, scrub_text, url_secrets

if TYPE_CHECKING:
    import openai

Message = dict[str, str]

# OpenAI reasoning models reject max_tokens and any temperature but the default.
_REASONING_MODEL = re.compile(r"^(?:o\d|gpt-5)", re.IGNORECASE)
_CONNECT_TIMEOUT = 10.0
# How long to wait for a server to say how many slots it has; it answers at once or not at all.
_PROPS_TIMEOUT = 5.0
# Errors a local server gets another try for (never a timeout: see the module docstring).
_RETRIED_LOCALLY = ("connection", "server", "rate_limit")


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
        return (
            {"type": "json_object"} if schema is None else {"type": "json_object", "schema": schema}
        )
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
        self._key = api_key
        key = api_key or KEYLESS_PLACEHOLDER
        retries = profile.max_retries if max_retries is None else max_retries
        self.max_retries = retries
        # Local servers: the SDK retries nothing (it would re-send a timed-out request);
        # complete() retries the other transient failures itself.
        self._own_retries = {url: retries if is_local_url(url) else 0 for url in profile.urls}
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
                    max_retries=retries - self._own_retries[url],
                    default_headers=headers,
                    http_client=http,
                )
            else:
                client = openai.OpenAI(
                    base_url=url,
                    api_key=key,
                    timeout=timeout,
                    max_retries=retries - self._own_retries[url],
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
        own_retries = self._own_retries.get(url, 0)
        for attempt in range(own_retries + 1):
            try:
                response = client.chat.completions.create(**body)
                break
            except Exception as exc:
                error = self._map_error(exc, url, contract)
                if attempt < own_retries and error.kind in _RETRIED_LOCALLY:
                    time.sleep(_retry_delay(exc, attempt))
                    continue
                raise error from None
        duration_ms = int((time.perf_counter() - start) * 1000)
        try:
            return read_completion(response, duration_ms)
        except NotACompletion as exc:
            raise self._bad_reply(url, str(exc)) from None

    def server_slots(self) -> int | None:
        """The first base URL's parallel slots, where the server says (``server_slots``)."""
        url, client = self._clients[0]
        quick = client.with_options(max_retries=0, timeout=_PROPS_TIMEOUT)
        root = server_root(url)
        for route in ROUTES:
            try:
                data = quick.get(root + route, cast_to=object)
            except Exception:  # no such route, or no answer: this server does not say
                continue
            slots = slots_in(route, data)
            if slots is not None:
                return slots
        return None

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
        """The EndpointError for a failed request, with no credential in its message.

        A server may echo the Authorization header or the key in its error body, and the
        URL may carry a password or a key: all are masked before the text becomes a message.
        """
        error = self._describe_error(exc, url, contract, route)
        secrets = [self._key, *url_secrets(url)]
        return EndpointError(scrub_text(str(error), secrets), kind=error.kind, status=error.status)

    def _describe_error(
        self, exc: Exception, url: str, contract: Contract, route: str
    ) -> EndpointError:
        import openai

        name = f"Endpoint '{self.profile.name}' ({display_url(url)})"
        if isinstance(exc, ValueError | RecursionError | TypeError | AttributeError):
            # The SDK could not decode the body of a 2xx reply (HTML, text, JSON nested
            # past the recursion limit): the server answered, but not with a completion.
            return self._bad_reply(url, f"the body is not JSON ({type(exc).__name__})")
        if isinstance(exc, openai.APITimeoutError):
            return self._timed_out(name, url)
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
        message = (
            f"Endpoint '{self.profile.name}' ({display_url(url)}) sent a reply that is not a chat"
            f" completion ({why}); check that the base URL points at a chat-completions server."
        )
        return EndpointError(scrub_text(message, [self._key, *url_secrets(url)]), kind="bad_reply")

    def _timed_out(self, name: str, url: str) -> EndpointError:
        """A timeout, saying whether the request was sent again and what to change."""
        waited = f"{self.profile.timeout:g} s"
        if is_local_url(url):
            return EndpointError(
                f"{name} did not answer within {waited}. The request was not sent again: a"
                " local server may still be working on it (a single-slot server computes one"
                " request at a time and queues the rest). Raise the endpoint's timeout"
                f" (`interviewer endpoints add {self.profile.name} --base-url {url} --model"
                f" {self.profile.model} --timeout 600`, or timeout = 600 under"
                f" [endpoints.{self.profile.name}] in config.toml), or lower --concurrency to"
                " the server's parallel slots.",
                kind="timeout",
            )
        tried = f" ({self.max_retries + 1} attempts)" if self.max_retries else ""
        return EndpointError(
            f"{name} did not answer within {waited}{tried}: raise the profile's timeout, lower"
            " --concurrency, or check that the server is not stuck.",
            kind="timeout",
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


def _retry_delay(exc: Exception, attempt: int) -> float:
    """Seconds before another try: the server's Retry-After (up to a minute), else backoff."""
    response = getattr(exc, "response", None)
    asked = response.headers.get("retry-after") if response is not None else None
    try:
        wait = float(asked) if asked else None
    except ValueError:
        wait = None
    if wait is not None and 0 <= wait <= 60:
        return wait
    return min(0.5 * 2.0**attempt, 8.0)


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
