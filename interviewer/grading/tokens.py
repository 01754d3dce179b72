"""Token counting for prompt budgets: exact with tiktoken when its encoding is at hand, else a
CJK-aware estimate. The only module that imports tiktoken.

Counts here are for pre-flight budgeting (cutting an over-long answer, checking that a prompt
fits a context window); the server's reported ``usage`` stays the truth for what was spent.

Encodings come from tiktoken's public API (``tiktoken.get_encoding``), which keeps each
encoding file in its own cache (``$TIKTOKEN_CACHE_DIR``, else its default cache directory)
after the first download, so a cached encoding works offline. When the encoding cannot be
loaded (no network and nothing cached, a failed or slow download: the wait is bounded by
``LOAD_TIMEOUT``) counts fall back to an estimate (about 0.6 token per CJK character and 0.3
per other character, the ratios DeepSeek documents) and one notice per process says so:
``take_notice()`` hands it to whoever displays notices, ``estimated()`` tells whether any
count so far was an estimate.

Model names tiktoken does not know (Azure deployments, qwen, llama, deepseek...) and models of
older vocabularies use ``o200k_base``, the vocabulary closest to current models.
"""

from __future__ import annotations

import math
import threading
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import tiktoken

DEFAULT_ENCODING = "o200k_base"
# The vocabularies of current chat models; any other name tiktoken gives (gpt-oss's
# o200k_harmony shares o200k's ranks, davinci's p50k is obsolete) counts with the default,
# so at most these two files ever need to be cached.
ENCODINGS = ("o200k_base", "cl100k_base")
# tiktoken's download has no timeout of its own; a first run without network must not hang.
LOAD_TIMEOUT = 20.0
# OpenAI cookbook heuristic for chat messages: a few tokens of framing per message plus the
# reply priming. An estimate; the server's usage.prompt_tokens is authoritative.
TOKENS_PER_MESSAGE = 3
REPLY_PRIMING = 3

_lock = threading.Lock()
_encodings: dict[str, tiktoken.Encoding | None] = {}
_state: dict[str, Any] = {"estimated": False, "notice": None, "noticed": False}


# --------------------------------------------------------------------------- public API


def count_tokens(text: str, model: str | None = None) -> int:
    """Tokens in ``text`` for ``model``: exact when the encoding is available, else estimated."""
    if not text:
        return 0
    encoding = _encoding_for(model)
    if encoding is None:
        return estimate_tokens(text)
    return len(encoding.encode(text, disallowed_special=()))


def count_messages(messages: list[dict[str, Any]], model: str | None = None) -> int:
    """Prompt tokens of a chat request (content plus per-message framing)."""
    total = REPLY_PRIMING
    for message in messages:
        total += TOKENS_PER_MESSAGE
        total += count_tokens(str(message.get("content") or ""), model)
        total += count_tokens(str(message.get("role") or ""), model)
        if message.get("name"):
            total += 1 + count_tokens(str(message["name"]), model)
    return total


def truncate_to_budget(text: str, budget: int, model: str | None = None) -> tuple[str, bool]:
    """Cut ``text`` to at most ``budget`` tokens; return the text and whether it was cut."""
    if budget <= 0:
        return "", bool(text)
    encoding = _encoding_for(model)
    if encoding is None:
        return _truncate_estimated(text, budget)
    ids = encoding.encode(text, disallowed_special=())
    if len(ids) <= budget:
        return text, False
    # A token boundary can split a multi-byte character; drop the replacement char it leaves.
    cut = encoding.decode(ids[:budget]).rstrip("\ufffd")
    return cut, True


def estimate_tokens(text: str) -> int:
    """A CJK-aware estimate that errs on the high side (safe for budgets)."""
    cjk = sum(1 for ch in text if _is_cjk(ch))
    other = len(text) - cjk
    return math.ceil(cjk * 0.6 + other * 0.3)


def encoding_name(model: str | None) -> str:
    """The tiktoken encoding for ``model``; unknown names get the default encoding."""
    if not model:
        return DEFAULT_ENCODING
    import tiktoken

    try:
        name = tiktoken.encoding_name_for_model(model)
    except KeyError:
        return DEFAULT_ENCODING
    return name if name in ENCODINGS else DEFAULT_ENCODING


def estimated() -> bool:
    """Whether any count in this process was an estimate rather than exact."""
    return bool(_state["estimated"])


def take_notice() -> str | None:
    """The one-per-process notice that counts are estimated; None once taken or if exact."""
    with _lock:
        notice = _state["notice"]
        if notice is None or _state["noticed"]:
            return None
        _state["noticed"] = True
        return str(notice)


def reset() -> None:
    """Forget loaded encodings and the notice (for tests and long-lived processes)."""
    with _lock:
        _encodings.clear()
        _state.update(estimated=False, notice=None, noticed=False)


# --------------------------------------------------------------------------- loading


def _encoding_for(model: str | None) -> tiktoken.Encoding | None:
    name = encoding_name(model)
    with _lock:
        if name in _encodings:
            encoding = _encodings[name]
        else:
            encoding, problem = _load(name)
            _encodings[name] = encoding
            if encoding is None and _state["notice"] is None:
                _state["notice"] = (
                    f"Token counts are estimates: tiktoken could not load the encoding {name}"
                    f" ({problem}). tiktoken fetches it once and keeps it in its cache"
                    " (TIKTOKEN_CACHE_DIR if set): run once with network access, or copy the"
                    " cached file there."
                )
        if encoding is None:
            _state["estimated"] = True
    return encoding


def _load(name: str) -> tuple[tiktoken.Encoding | None, str]:
    """Load an encoding through tiktoken (its cache first), giving up after LOAD_TIMEOUT."""
    result: dict[str, Any] = {}

    def fetch() -> None:
        try:
            import tiktoken

            result["encoding"] = tiktoken.get_encoding(name)
        except Exception as exc:  # any network, file or cache failure means: estimate instead
            result["error"] = f"{type(exc).__name__}: {_first_line(str(exc))}"

    # A daemon thread bounds the wait; a download that finishes late still fills the cache.
    worker = threading.Thread(target=fetch, name=f"tiktoken-{name}", daemon=True)
    worker.start()
    worker.join(LOAD_TIMEOUT)
    if "encoding" in result:
        return result["encoding"], ""
    return None, result.get("error", f"no answer within {LOAD_TIMEOUT:.0f} s")


def _first_line(text: str, limit: int = 160) -> str:
    line = text.strip().splitlines()[0] if text.strip() else ""
    return line if len(line) <= limit else line[: limit - 3] + "..."


def _truncate_estimated(text: str, budget: int) -> tuple[str, bool]:
    if estimate_tokens(text) <= budget:
        return text, False
    spent = 0.0
    for i, ch in enumerate(text):
        spent += 0.6 if _is_cjk(ch) else 0.3
        if math.ceil(spent) > budget:
            return text[:i], True
    return text, False


def _is_cjk(ch: str) -> bool:
    code = ord(ch)
    return (
        0x4E00 <= code <= 0x9FFF  # CJK unified ideographs
        or 0x3400 <= code <= 0x4DBF  # extension A
        or 0x3000 <= code <= 0x30FF  # CJK punctuation, kana
        or 0xAC00 <= code <= 0xD7AF  # hangul
        or 0xFF00 <= code <= 0xFFEF  # full-width forms
        or 0x20000 <= code <= 0x2FA1F  # extensions B+ and compatibility
    )
