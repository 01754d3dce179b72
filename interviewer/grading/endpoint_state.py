"""What each endpoint accepted and how it graded: facts remembered between runs.

The grader tries ``response_format`` json_schema, else json_object, else prompt-only, stepping
down only when the server rejects a request and names response_format. Under json_object the
grade schema travels inside ``response_format`` too (llama.cpp and llama-cpp-python compile it
to a grammar); a server that rejects that is asked again without it. What each endpoint
(base URL + model) accepted is kept in ``endpoint-state.json`` in the user directory, so the
next run starts at the contract that works. ``interviewer endpoints check`` also records
there whether the model told a strong answer from a weak one (``Discrimination``), so that
practice can warn when it grades with a model that did not.
"""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from interviewer.config import CONTRACTS, STATE_NAME, Contract, EndpointProfile, home_dir
from interviewer.errors import ConfigError
from interviewer.files import write_atomic

_state_lock = threading.Lock()


def _state_key(profile: EndpointProfile) -> str:
    # Keyed by the displayable URL: the file must not hold a credential from the URL.
    return f"{profile.display_urls[0] if profile.urls else ''}|{profile.model}"


def _read_state() -> dict[str, Any]:
    """The remembered state, or an empty one; a file of another shape is a ConfigError."""
    path = home_dir() / STATE_NAME
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        why = exc.strerror if isinstance(exc, OSError) else "not valid JSON"
        raise _broken(path, f"cannot be read ({why})") from None
    problem = _shape_problem(data)
    if problem:
        raise _broken(path, problem)
    assert isinstance(data, dict)
    return data


def _shape_problem(data: Any) -> str | None:
    """What differs from the shape remember_contract writes, or None."""
    if not isinstance(data, dict):
        return "not a JSON object"
    endpoints = data.get("endpoints", {})
    if not isinstance(endpoints, dict):
        return "'endpoints' is not an object"
    for entry in endpoints.values():
        # Entry keys hold base URLs, which are not repeated in a message.
        if not isinstance(entry, dict):
            return "an entry of 'endpoints' is not an object"
        if entry.get("contract", CONTRACTS[0]) not in CONTRACTS:
            return "an entry has an unknown 'contract'"
        rejected = entry.get("rejected", {})
        if not isinstance(rejected, dict) or not all(isinstance(v, str) for v in rejected.values()):
            return "an entry's 'rejected' is not an object of texts"
    return None


def _broken(path: Path, problem: str) -> ConfigError:
    return ConfigError(
        f"{path}: {problem}. Delete the file: it only remembers which output format each"
        " endpoint accepted, and is written again on the next run."
    )


def remembered_contract(profile: EndpointProfile) -> Contract | None:
    """The output contract this endpoint accepted last time, if known."""
    with _state_lock:
        entry = _read_state().get("endpoints", {}).get(_state_key(profile))
    contract = entry.get("contract") if isinstance(entry, dict) else None
    return contract if contract in CONTRACTS else None


def _entry(profile: EndpointProfile) -> dict[str, Any]:
    with _state_lock:
        entry = _read_state().get("endpoints", {}).get(_state_key(profile))
    return entry if isinstance(entry, dict) else {}


def _update(profile: EndpointProfile, **fields: Any) -> None:
    """Merge ``fields`` into this endpoint's entry (read, change, write atomically)."""
    path = home_dir() / STATE_NAME
    with _state_lock:
        data = _read_state()
        endpoints = data.setdefault("endpoints", {})
        entry = endpoints.get(_state_key(profile))
        entry = entry if isinstance(entry, dict) else {}
        entry.update(fields)
        entry["updated"] = datetime.now(UTC).isoformat(timespec="seconds")
        endpoints[_state_key(profile)] = entry
        write_atomic(path, json.dumps(data, indent=2, sort_keys=True))


def remember_contract(
    profile: EndpointProfile, contract: Contract, rejected: dict[str, str] | None = None
) -> None:
    """Record the contract an endpoint accepts (and why better ones were rejected)."""
    merged = {**_entry(profile).get("rejected", {}), **(rejected or {})}
    _update(profile, contract=contract, rejected=merged)


def remembered_object_schema(profile: EndpointProfile) -> bool:
    """Whether to send the grade schema inside a json_object response_format.

    True until the endpoint rejected it: servers that do not know the field mostly ignore it.
    """
    return _entry(profile).get("json_object_schema") is not False


def remember_object_schema(profile: EndpointProfile, accepted: bool, why: str = "") -> None:
    """Record whether the endpoint takes a schema inside a json_object response_format."""
    fields: dict[str, Any] = {"json_object_schema": accepted}
    if not accepted and why:
        fields["rejected"] = {**_entry(profile).get("rejected", {}), "json_object+schema": why}
    _update(profile, **fields)


def next_contract(contract: Contract) -> Contract | None:
    """The next simpler contract, or None after the last."""
    index = CONTRACTS.index(contract)
    return CONTRACTS[index + 1] if index + 1 < len(CONTRACTS) else None


def remember_discrimination(
    profile: EndpointProfile, verdict: str, summary: str, prompt_version: str
) -> None:
    """Record what `endpoints check` found: whether this model told strong from weak."""
    _update(
        profile,
        discrimination={
            "verdict": verdict,
            "summary": summary,
            "prompt_version": prompt_version,
            "checked": datetime.now(UTC).isoformat(timespec="seconds"),
        },
    )


def remembered_discrimination(profile: EndpointProfile) -> dict[str, str] | None:
    """The last discrimination verdict recorded for this endpoint, if any."""
    found = _entry(profile).get("discrimination")
    return found if isinstance(found, dict) and "verdict" in found else None


def grading_warning(profile: EndpointProfile) -> str | None:
    """A warning when `endpoints check` found that this model's grades cannot be trusted."""
    found = remembered_discrimination(profile)
    if found is None or found["verdict"] == "discriminates":
        return None
    summary = found.get("summary", found["verdict"])
    if found["verdict"] == "ungraded":
        return (
            f"in `interviewer endpoints check`, {profile.model} {summary}: grades from this"
            " model are not to be trusted."
        )
    return (
        f"{profile.model} did not tell a strong answer from a weak one in `interviewer"
        f" endpoints check` ({summary}): grades from this model are not to be trusted."
    )
