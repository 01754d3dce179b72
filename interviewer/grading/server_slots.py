"""How many requests a server computes at once, where it says so.

A llama.cpp server has a fixed number of slots; requests beyond them wait in its queue, and
a client that times out while waiting abandons a request the server will still compute. So
the default concurrency for a local server is its slot count when the server states it:
llama.cpp's ``llama-server`` in ``GET /props`` (``total_slots``; older builds list one entry
per slot in ``GET /slots``), both at the server root (the base URL without ``/v1``).
llama-cpp-python's server holds a lock around each completion, so it computes one request at
a time; it names itself in its FastAPI ``/openapi.json`` title. Ollama, vLLM and hosted APIs
do not say. The requests go through ``ChatClient.server_slots`` (the one module that talks
to endpoints).
"""

from __future__ import annotations

from typing import Any

from interviewer.config import EndpointProfile, resolve_api_key
from interviewer.errors import ConfigError

# The routes asked, in order; the first that states a slot count wins.
ROUTES = ("/props", "/slots", "/openapi.json")


def server_root(url: str) -> str:
    """A base URL without its OpenAI-style ``/v1`` suffix: where llama.cpp serves ``/props``."""
    trimmed = url.rstrip("/")
    return trimmed[: -len("/v1")] if trimmed.endswith("/v1") else trimmed


def server_slots(profile: EndpointProfile) -> int | None:
    """How many requests the profile's server computes at once, where it says; else None.

    llama.cpp's ``llama-server`` gives ``total_slots`` in ``GET /props`` (older builds: one
    entry per slot in ``GET /slots``); llama-cpp-python's server (its FastAPI title names it)
    holds a lock around each completion, so it computes one at a time. Ollama, vLLM and
    hosted APIs do not say. Each probe waits at most a few seconds and is never retried.
    """
    if not profile.urls or not profile.model:
        return None
    try:
        key = resolve_api_key(profile)
    except ConfigError:
        key = None
    from interviewer.grading.chat_client import ChatClient

    client = ChatClient(profile, key, max_retries=0)
    try:
        return client.server_slots()
    finally:
        client.close()


def slots_in(route: str, data: Any) -> int | None:
    """The slot count a route's JSON states (None when it states none)."""
    if route == "/props" and isinstance(data, dict):
        total = data.get("total_slots")
        return total if isinstance(total, int) and total > 0 else None
    if route == "/slots" and isinstance(data, list) and data:
        return len(data)
    if route == "/openapi.json" and isinstance(data, dict):
        title = str((data.get("info") or {}).get("title") or "")
        return 1 if "llama.cpp Python" in title else None
    return None
