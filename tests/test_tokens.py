"""Token counting: exact from a verified cache file, CJK-aware estimate otherwise, no network."""

from __future__ import annotations

import base64
import hashlib
import threading
from collections.abc import Iterator
from pathlib import Path
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


@pytest.fixture
def no_download(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record any attempt to let tiktoken fetch an encoding (it would go to the network)."""
    calls: list[str] = []

    def refuse(name: str) -> Any:
        calls.append(name)
        raise AssertionError("tiktoken.get_encoding must not be called")

    monkeypatch.setattr(tiktoken, "get_encoding", refuse)
    monkeypatch.delenv(tokens.DOWNLOAD_ENV, raising=False)
    return calls


def write_tiny_encoding(monkeypatch: pytest.MonkeyPatch, cache: Path) -> Path:
    """A valid BPE file (256 bytes + merges for 'ab' and 'abab') under tiktoken's cache name,
    with the expected hash pointed at it: the loader's own checks then accept it."""
    ranks = {bytes([b]): b for b in range(256)}
    ranks[b"ab"] = 256
    ranks[b"abab"] = 257
    data = b"".join(
        base64.b64encode(tok) + b" " + str(r).encode() + b"\n" for tok, r in ranks.items()
    )
    spec = tokens._SPECS["o200k_base"]
    monkeypatch.setitem(
        tokens._SPECS,
        "o200k_base",
        tokens._Spec(spec.url, hashlib.sha256(data).hexdigest(), spec.pat_str, spec.special_tokens),
    )
    cache.mkdir(parents=True, exist_ok=True)
    path = cache / hashlib.sha1(spec.url.encode()).hexdigest()
    path.write_bytes(data)
    return path


def test_estimate_is_cjk_aware() -> None:
    assert tokens.estimate_tokens("") == 0
    assert tokens.estimate_tokens("一二三四五六七八九十") == 6  # 0.6 per CJK character
    assert tokens.estimate_tokens("abcdefghij") == 3  # 0.3 per other character
    # Whitespace tokenisation would call a Chinese sentence one word; this must not.
    sentence = "注意力机制通过查询和键的相似度加权求和值向量"
    assert tokens.estimate_tokens(sentence) > len(sentence) / 2


def test_offline_counts_fall_back_with_one_notice(no_download: list[str]) -> None:
    assert not tokens.estimated()
    assert tokens.count_tokens("hello world", "gpt-4o") == tokens.estimate_tokens("hello world")
    assert tokens.estimated()
    notice = tokens.take_notice()
    assert notice is not None
    assert "estimate" in notice
    assert tokens.DOWNLOAD_ENV in notice
    tokens.count_tokens("more text", "qwen2.5-7b-instruct")
    assert tokens.take_notice() is None, "the notice is given once per process"
    assert no_download == []


def test_exact_count_from_verified_cache_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, no_download: list[str]
) -> None:
    write_tiny_encoding(monkeypatch, tmp_path / "tiktoken-cache")
    # 'abababab' -> 'abab' + 'abab' with the tiny merges: exact BPE, not the 3-token estimate.
    assert tokens.estimate_tokens("abababab") == 3
    assert tokens.count_tokens("abababab", "some-local-model") == 2
    assert tokens.count_tokens("abc", "gpt-4o") == 2
    assert not tokens.estimated()
    assert tokens.take_notice() is None
    assert no_download == []


def test_corrupt_cache_file_is_not_trusted(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, no_download: list[str]
) -> None:
    path = write_tiny_encoding(monkeypatch, tmp_path / "tiktoken-cache")
    path.write_bytes(path.read_bytes() + b"tampered\n")
    assert tokens.count_tokens("ababab") == tokens.estimate_tokens("ababab")
    notice = tokens.take_notice()
    assert notice is not None
    assert "corrupt" in notice
    assert path.exists(), "the user's cache file is left alone"
    assert no_download == []


def test_empty_cache_dir_setting_disables_the_cache(
    monkeypatch: pytest.MonkeyPatch, no_download: list[str]
) -> None:
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", "")
    assert tokens.cache_path("o200k_base") is None
    assert tokens.count_tokens("abc") == 1
    assert tokens.estimated()


def test_cache_path_follows_tiktoken_naming(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path))
    # The file names the research computed for tiktoken's cache (sha1 of the URL).
    assert tokens.cache_path("o200k_base") == tmp_path / "fb374d419588a4632f3f557e76b4b70aebbca790"
    assert tokens.cache_path("cl100k_base") == tmp_path / "9b5ad71b2ce5302211f9c61530b329a4922fc6a4"
    monkeypatch.delenv("TIKTOKEN_CACHE_DIR")
    monkeypatch.setenv("DATA_GYM_CACHE_DIR", str(tmp_path / "gym"))
    assert (
        tokens.cache_path("o200k_base")
        == tmp_path / "gym" / "fb374d419588a4632f3f557e76b4b70aebbca790"
    )


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


def test_download_only_when_allowed_and_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    release = threading.Event()

    def slow(name: str) -> Any:
        release.wait(5)
        raise OSError("unreachable")

    monkeypatch.setattr(tiktoken, "get_encoding", slow)
    monkeypatch.setenv(tokens.DOWNLOAD_ENV, "1")
    monkeypatch.setattr(tokens, "DOWNLOAD_TIMEOUT", 0.05)
    try:
        assert tokens.count_tokens("abc") == 1
    finally:
        release.set()
    notice = tokens.take_notice()
    assert notice is not None
    assert "timed out" in notice


def test_download_failure_falls_back(monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(name: str) -> Any:
        raise ConnectionError("Failed to resolve 'openaipublic.blob.core.windows.net'")

    monkeypatch.setattr(tiktoken, "get_encoding", fail)
    monkeypatch.setenv(tokens.DOWNLOAD_ENV, "1")
    assert tokens.count_tokens("abcdef") == 2
    notice = tokens.take_notice()
    assert notice is not None
    assert "ConnectionError" in notice


def test_truncate_estimated(no_download: list[str]) -> None:
    text = "缓存" * 100  # 200 CJK characters, about 120 tokens
    cut, was_cut = tokens.truncate_to_budget(text, 30)
    assert was_cut
    assert tokens.estimate_tokens(cut) <= 30
    assert text.startswith(cut)
    assert len(cut) >= 45
    same, was_cut = tokens.truncate_to_budget("short", 30)
    assert (same, was_cut) == ("short", False)
    assert tokens.truncate_to_budget("anything", 0) == ("", True)


def test_truncate_exact_keeps_whole_characters(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, no_download: list[str]
) -> None:
    write_tiny_encoding(monkeypatch, tmp_path / "tiktoken-cache")
    cut, was_cut = tokens.truncate_to_budget("abab" * 5, 3)
    assert (cut, was_cut) == ("abab" * 3, True)
    # '缓' is three bytes, i.e. three byte-tokens here; a cut inside it must not leave U+FFFD.
    cut, was_cut = tokens.truncate_to_budget("缓缓", 4)
    assert (cut, was_cut) == ("缓", True)


def test_count_messages_adds_framing(no_download: list[str]) -> None:
    messages = [
        {"role": "system", "content": "abcdefghij"},
        {"role": "user", "content": "一二三四五"},
    ]
    content = tokens.estimate_tokens("abcdefghij") + tokens.estimate_tokens("一二三四五")
    roles = tokens.estimate_tokens("system") + tokens.estimate_tokens("user")
    expected = content + roles + 2 * tokens.TOKENS_PER_MESSAGE + tokens.REPLY_PRIMING
    assert tokens.count_messages(messages) == expected
