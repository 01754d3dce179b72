"""Token counting for prompt budgets: exact with tiktoken when its encoding is at hand, else a
CJK-aware estimate. The only module that imports tiktoken.

Counts here are for pre-flight budgeting (cutting an over-long answer, checking that a prompt
fits a context window); the server's reported ``usage`` stays the truth for what was spent.

tiktoken downloads an encoding file on first use. This module never lets it do so on its own:
an encoding is loaded only when its file is already in tiktoken's cache directory
(``$TIKTOKEN_CACHE_DIR``, else ``$DATA_GYM_CACHE_DIR``, else ``<tempdir>/data-gym-cache``,
the file named ``sha1(url)``) and its SHA-256 matches. Set ``INTERVIEWER_TIKTOKEN_DOWNLOAD=1``
to allow one download (bounded by a timeout) that fills that cache. Otherwise, and whenever
loading fails, counts fall back to an estimate (about 0.6 token per CJK character and 0.3 per
other character, the ratios DeepSeek documents) and one notice per process says so:
``take_notice()`` hands it to whoever displays notices, ``estimated()`` tells whether any
count so far was an estimate.

Model names tiktoken does not know (Azure deployments, qwen, llama, deepseek...) use
``o200k_base``, the vocabulary closest to current models.
"""

from __future__ import annotations

import base64
import hashlib
import math
import os
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import tiktoken

DEFAULT_ENCODING = "o200k_base"
DOWNLOAD_ENV = "INTERVIEWER_TIKTOKEN_DOWNLOAD"
DOWNLOAD_TIMEOUT = 30.0
# OpenAI cookbook heuristic for chat messages: a few tokens of framing per message plus the
# reply priming. An estimate; the server's usage.prompt_tokens is authoritative.
TOKENS_PER_MESSAGE = 3
REPLY_PRIMING = 3


@dataclass(frozen=True)
class _Spec:
    url: str
    sha256: str
    pat_str: str
    special_tokens: dict[str, int]


_BASE_URL = "https://openaipublic.blob.core.windows.net/encodings/"
# Copied from tiktoken_ext/openai_public.py (tiktoken 0.14): building the Encoding here from
# the verified cache file keeps tiktoken's own loader, which downloads on a miss, out of the way.
_O200K_PAT = "|".join(
    [
        r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
        r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
        r"""\p{N}{1,3}""",
        r""" ?[^\s\p{L}\p{N}]+[\r\n/]*""",
        r"""\s*[\r\n]+""",
        r"""\s+(?!\S)""",
        r"""\s+""",
    ]
)
_CL100K_PAT = (
    r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+| ?[^\s\p{L}\p{N}]++[\r\n]*+"""
    r"""|\s++$|\s*[\r\n]|\s+(?!\S)|\s"""
)
_SPECS: dict[str, _Spec] = {
    "o200k_base": _Spec(
        _BASE_URL + "o200k_base.tiktoken",
        "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d",
        _O200K_PAT,
        {"<|endoftext|>": 199999, "<|endofprompt|>": 200018},
    ),
    "cl100k_base": _Spec(
        _BASE_URL + "cl100k_base.tiktoken",
        "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7",
        _CL100K_PAT,
        {
            "<|endoftext|>": 100257,
            "<|fim_prefix|>": 100258,
            "<|fim_middle|>": 100259,
            "<|fim_suffix|>": 100260,
            "<|endofprompt|>": 100276,
        },
    ),
}

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
    from tiktoken.model import encoding_name_for_model

    try:
        name = encoding_name_for_model(model)
    except KeyError:
        return DEFAULT_ENCODING
    # gpt-oss's o200k_harmony shares o200k's ranks; only its special tokens differ.
    return name if name in _SPECS else DEFAULT_ENCODING


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


def cache_path(name: str) -> Path | None:
    """Where tiktoken caches encoding ``name`` (None when caching is disabled)."""
    if "TIKTOKEN_CACHE_DIR" in os.environ:
        cache_dir = os.environ["TIKTOKEN_CACHE_DIR"]
    elif "DATA_GYM_CACHE_DIR" in os.environ:
        cache_dir = os.environ["DATA_GYM_CACHE_DIR"]
    else:
        cache_dir = os.path.join(tempfile.gettempdir(), "data-gym-cache")
    if cache_dir == "":
        return None
    spec = _SPECS[name]
    return Path(cache_dir) / hashlib.sha1(spec.url.encode()).hexdigest()


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
                    f"Token counts are estimates: the tiktoken encoding {name} is not available"
                    f" ({problem}). Put it in TIKTOKEN_CACHE_DIR, or set {DOWNLOAD_ENV}=1 once"
                    " online to fetch it."
                )
        if encoding is None:
            _state["estimated"] = True
    return encoding


def _load(name: str) -> tuple[tiktoken.Encoding | None, str]:
    """Load an encoding from the verified cache file, or download it when allowed."""
    spec = _SPECS[name]
    path = cache_path(name)
    if path is not None and path.is_file():
        data = path.read_bytes()
        if hashlib.sha256(data).hexdigest() == spec.sha256:
            return _build(name, data), ""
        problem = f"cached file {path} is corrupt"
    else:
        problem = "not in the tiktoken cache" if path is not None else "TIKTOKEN_CACHE_DIR is ''"
    if os.environ.get(DOWNLOAD_ENV) != "1":
        return None, problem
    return _download(name)


def _build(name: str, data: bytes) -> tiktoken.Encoding:
    import tiktoken

    spec = _SPECS[name]
    ranks = {
        base64.b64decode(token): int(rank)
        for token, rank in (line.split() for line in data.splitlines() if line)
    }
    return tiktoken.Encoding(
        name, pat_str=spec.pat_str, mergeable_ranks=ranks, special_tokens=spec.special_tokens
    )


def _download(name: str) -> tuple[tiktoken.Encoding | None, str]:
    """Let tiktoken fetch (and cache) the encoding, giving up after DOWNLOAD_TIMEOUT."""
    result: dict[str, Any] = {}

    def fetch() -> None:
        try:
            import tiktoken

            result["encoding"] = tiktoken.get_encoding(name)
        except Exception as exc:  # any network or file failure means: estimate instead
            result["error"] = f"download failed: {type(exc).__name__}"

    # tiktoken's download has no timeout of its own; a daemon thread bounds the wait.
    worker = threading.Thread(target=fetch, daemon=True)
    worker.start()
    worker.join(DOWNLOAD_TIMEOUT)
    if "encoding" in result:
        return result["encoding"], ""
    return None, result.get("error", f"download timed out after {DOWNLOAD_TIMEOUT:.0f} s")


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
