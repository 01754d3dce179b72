"""What each endpoint accepted: the output contracts remembered between runs.

The grader tries ``response_format`` json_schema, else json_object, else prompt-only, stepping
down only when the server rejects a request and names response_format. What each endpoint
(base URL + model) accepted is kept in ``endpoint-state.json`` in the user directory, so the
next run starts at the contract that works.
"""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from typing import Any

from interviewer.config import CONTRACTS, STATE_NAME, Contract, EndpointProfile, home_dir
from interviewer.files import write_atomic

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
        write_atomic(path, json.dumps(data, indent=2, sort_keys=True))


def next_contract(contract: Contract) -> Contract | None:
    """The next simpler contract, or None after the last."""
    index = CONTRACTS.index(contract)
    return CONTRACTS[index + 1] if index + 1 < len(CONTRACTS) else None
