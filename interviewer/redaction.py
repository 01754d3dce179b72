"""Keeping credentials out of what is printed, stored and logged.

A base URL may carry a credential (``https://user:password@host/v1`` or
``…/v1?api_key=…``), and a server may echo the request's ``Authorization`` header in an
error body. ``display_url`` turns a URL into the form that may be shown or stored, and
``scrub_text`` removes credentials from free text (an error message); every place that prints,
stores or logs an endpoint URL or a server's error text goes through one of them. The real
URL is used only to send requests.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

MASK = "***"

# Query parameters that carry a credential: key, api_key, api-key, apikey, access_token, token,
# sig, signature, secret, password, auth, code (OAuth) … compared case-insensitively.
_SECRET_PARAM = re.compile(
    r"(^|[_-])(key|apikey|token|sig|signature|secret|password|passwd|pwd|auth|code|"
    r"credential|session)s?$|^x-amz-|^access|^client_secret",
    re.IGNORECASE,
)
_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s'\"<>`]+")
_AUTH_HEADER = re.compile(
    r"""(authorization|api[-_]?key|x-api-key)(["']?\s*[:=]\s*["']?)(?:(bearer|basic)\s+)?[^\s"',;}]+""",
    re.IGNORECASE,
)
_BEARER = re.compile(r"\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{6,}", re.IGNORECASE)
_KEY_LIKE = re.compile(r"\b(sk-[A-Za-z0-9_\-]{12,}|gh[pousr]_[A-Za-z0-9]{20,})")


def secret_param(name: str) -> bool:
    """Whether a query parameter of this name carries a credential."""
    return bool(_SECRET_PARAM.search(name))


def display_url(url: str) -> str:
    """``url`` with any password in its user part and any credential-like query value masked."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return _mask_userinfo(url)
    netloc = parts.netloc
    if "@" in netloc:
        host = parts.hostname or ""
        if ":" in host:
            host = f"[{host}]"
        netloc = f"{MASK}@{host}" + (f":{port}" if port is not None else "")
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        if any(secret_param(k) for k, _ in pairs):
            masked = [(k, MASK if secret_param(k) else v) for k, v in pairs]
            query = urlencode(masked, safe="*")
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def _mask_userinfo(url: str) -> str:
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url
    authority, slash, tail = rest.partition("/")
    if "@" in authority:
        authority = MASK + "@" + authority.rpartition("@")[2]
    return f"{scheme}://{authority}{slash}{tail}"


def url_secrets(url: str) -> list[str]:
    """The credentials a URL carries (its password and credential-like query values)."""
    found: list[str] = []
    try:
        parts = urlsplit(url)
    except ValueError:
        return found
    if parts.password:
        found.append(parts.password)
    if parts.username and parts.password is None:
        found.append(parts.username)  # a lone user part is often a token
    found += [v for k, v in parse_qsl(parts.query) if secret_param(k) and v]
    return found


def scrub_text(text: str, secrets: Iterable[str | None] = ()) -> str:
    """``text`` without the given secrets, Authorization values, bearer tokens or URL secrets."""
    for secret in sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True):
        text = text.replace(secret, MASK)
    text = _URL.sub(lambda m: display_url(m.group(0)), text)
    text = _AUTH_HEADER.sub(lambda m: f"{m.group(1)}{m.group(2)}{MASK}", text)
    text = _BEARER.sub(lambda m: f"{m.group(1)} {MASK}", text)
    return _KEY_LIKE.sub(MASK, text)
