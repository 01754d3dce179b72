"""Token counting: exact through tiktoken's public API, CJK-aware estimate otherwise.

No test needs the network or a downloaded encoding: the suite's tiktoken cache is empty and
its downloads are refused on loopback (tests/conftest.py), and exact counts use a tiny
encoding built with tiktoken's public ``Encoding`` constructor.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
import tiktoken

from interviewer.grading import tokens


@pytest.fixture(autouse=True)
def fresh_tokens() -> Iterator[None]:
    """Encodings and the notice are per process; every test starts and ends clean."""
    tokens.reset()
    yield
    tokens.reset()


def tiny_encoding(name: str = "o200k_base") -> tiktoken.Encoding:
    """256 byte tokens plus merges for 'ab' and 'abab': exact BPE that differs from the estimate."""
    ranks = {bytes([b]): b for b in range(256)}
    ranks[b"ab"] = 256
    ranks[b"abab"] = 257
    return tiktoken.Encoding(name, pat_str=r"\S+|\s+", mergeable_ranks=ranks, special_tokens={})


@pytest.fixture
def loaded(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """tiktoken hands out the tiny encoding (as it would from its cache); records the names."""
    asked: list[str] = []

    def get_encoding(name: str) -> tiktoken.Encoding:
        asked.append(name)
        return tiny_encoding(name)

    monkeypatch.setattr(tiktoken, "get_encoding", get_encoding)
    return asked


def test_estimate_is_cjk_aware() -> None:
    assert tokens.estimate_tokens("") == 0
    assert tokens.estimate_tokens("一二三四五六七八九十") == 6  # 0.6 per CJK character
    assert tokens.estimate_tokens("abcdefghij") == 3  # 0.3 per other character
    # Whitespace tokenisation would call a Chinese sentence one word; this must not.
    sentence = "注意力机制通过查询和键的相似度加权求和值向量"
    assert tokens.estimate_tokens(sentence) > len(sentence) / 2


def test_without_network_or_cache_counts_fall_back_with_one_notice() -> None:
    # The real tiktoken loader runs here: nothing is cached and the download is refused.
    assert not tokens.estimated()
    assert tokens.count_tokens("hello world", "gpt-4o") == tokens.estimate_tokens("hello world")
    assert tokens.estimated()
    notice = tokens.take_notice()
    assert notice is not None
    assert "estimate" in notice
    assert "o200k_base" in notice
    assert "TIKTOKEN_CACHE_DIR" in notice
    tokens.count_tokens("more text", "qwen2.5-7b-instruct")
    assert tokens.take_notice() is None, "the notice is given once per process"


def test_exact_count_from_the_encoding_tiktoken_provides(loaded: list[str]) -> None:
    # 'abababab' -> 'abab' + 'abab' with the tiny merges: exact BPE, not the 3-token estimate.
    assert tokens.estimate_tokens("abababab") == 3
    assert tokens.count_tokens("abababab", "some-local-model") == 2
    assert tokens.count_tokens("abc", "gpt-4o") == 2
    assert tokens.count_tokens("ab", "gpt-4") == 1
    assert not tokens.estimated()
    assert tokens.take_notice() is None
    assert loaded == ["o200k_base", "cl100k_base"], "each encoding is loaded once"


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        ("gpt-4o-mini", "o200k_base"),
        ("gpt-4", "cl100k_base"),
        ("gpt-35-turbo", "cl100k_base"),
        ("gpt-oss-20b", "o200k_base"),
        ("text-davinci-003", "o200k_base"),
        ("qwen2.5:7b", "o200k_base"),
        ("my-azure-deployment", "o200k_base"),
        (None, "o200k_base"),
    ],
)
def test_encoding_name_falls_back_for_unknown_models(model: str | None, expected: str) -> None:
    assert tokens.encoding_name(model) == expected


def test_a_load_that_hangs_is_abandoned(monkeypatch: pytest.MonkeyPatch) -> None:
    release = threading.Event()

    def slow(name: str) -> Any:
        release.wait(5)
        raise OSError("unreachable")

    monkeypatch.setattr(tiktoken, "get_encoding", slow)
    monkeypatch.setattr(tokens, "LOAD_TIMEOUT", 0.05)
    try:
        assert tokens.count_tokens("abc") == 1
    finally:
        release.set()
    notice = tokens.take_notice()
    assert notice is not None
    assert "no answer within" in notice


def test_a_failed_load_falls_back_and_names_the_cause(monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(name: str) -> Any:
        raise ValueError("Hash mismatch for data downloaded from https://example.invalid/x")

    monkeypatch.setattr(tiktoken, "get_encoding", fail)
    assert tokens.count_tokens("abcdef") == 2
    notice = tokens.take_notice()
    assert notice is not None
    assert "ValueError: Hash mismatch" in notice


def test_truncate_estimated() -> None:
    text = "缓存" * 100  # 200 CJK characters, about 120 tokens
    cut, was_cut = tokens.truncate_to_budget(text, 30)
    assert was_cut
    assert tokens.estimate_tokens(cut) <= 30
    assert text.startswith(cut)
    assert len(cut) >= 45
    same, was_cut = tokens.truncate_to_budget("short", 30)
    assert (same, was_cut) == ("short", False)
    assert tokens.truncate_to_budget("anything", 0) == ("", True)


def test_truncate_exact_keeps_whole_characters(loaded: list[str]) -> None:
    cut, was_cut = tokens.truncate_to_budget("abab" * 5, 3)
    assert (cut, was_cut) == ("abab" * 3, True)
    # '缓' is three bytes, i.e. three byte-tokens here; a cut inside it must not leave U+FFFD.
    cut, was_cut = tokens.truncate_to_budget("缓缓", 4)
    assert (cut, was_cut) == ("缓", True)


def test_count_messages_adds_framing() -> None:
    messages = [
        {"role": "system", "content": "abcdefghij"},
        {"role": "user", "content": "一二三四五"},
    ]
    content = tokens.estimate_tokens("abcdefghij") + tokens.estimate_tokens("一二三四五")
    roles = tokens.estimate_tokens("system") + tokens.estimate_tokens("user")
    expected = content + roles + 2 * tokens.TOKENS_PER_MESSAGE + tokens.REPLY_PRIMING
    assert tokens.count_messages(messages) == expected
