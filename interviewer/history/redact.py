"""Keeping credentials out of the history database.

Grader settings, session settings and reports are stored as JSON; each passes through
``redact_secrets`` first, so an API key given on the command line or in a config never
reaches the file.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from interviewer.redaction import scrub_text

REDACTED = "[redacted]"

_TOKEN_COUNT = re.compile(r"tokens$|token_(param|budget|count|limit)s?$|_tokens_")
_SECRET_NAMES = ("key", "secret", "password", "passwd", "authorization", "cookie", "credential")
_SECRET_VALUE = re.compile(
    r"^(bearer\s+\S+|sk-[A-Za-z0-9_\-]{12,}|gh[pousr]_[A-Za-z0-9]{20,})", re.I
)


def _secret_name(name: str) -> bool:
    lowered = name.lower()
    if any(part in lowered for part in _SECRET_NAMES):
        return True
    # "max_tokens" or "prompt_tokens" are counts worth keeping; "token", "access_token" and
    # "x-auth-token" are credentials.
    return "token" in lowered and not _TOKEN_COUNT.search(lowered)


def redact_secrets(value: Any) -> Any:
    """Return ``value`` with anything that looks like a credential removed.

    Keys named like a secret (``*key*``, ``*token*`` except token counts, ``authorization``,
    ``password`` …) are dropped; string values that look like a bearer token or an API key
    are replaced by ``[redacted]``. Applied to every settings dict before it is stored.
    """
    if isinstance(value, dict):
        return {str(k): redact_secrets(v) for k, v in value.items() if not _secret_name(str(k))}
    if isinstance(value, list | tuple):
        return [redact_secrets(v) for v in value]
    if isinstance(value, str) and _SECRET_VALUE.match(value.strip()):
        return REDACTED
    if isinstance(value, str) and "://" in value:
        return scrub_text(value)
    if isinstance(value, Path):
        return str(value)
    return value
