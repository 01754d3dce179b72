"""Shared fixtures. Every test runs with a temporary INTERVIEWER_HOME and no endpoint env.

This file is shared by all test modules: append fixtures, keep them small, and put larger
helpers (the loopback chat server, data builders) in their own modules under tests/.
"""

from __future__ import annotations

from pathlib import Path

import pytest

# Nothing listens on the discard port of the loopback interface.
CLOSED_PROXY = "http://127.0.0.1:9"
ENDPOINT_ENV = (
    "OPENAI_BASE_URL",
    "OPENAI_API_KEY",
    "OPENAI_MODEL",
    "INTERVIEWER_ENDPOINT",
    "INTERVIEWER_BASE_URL",
    "INTERVIEWER_MODEL",
    "INTERVIEWER_BANK_DIRS",
    "INTERVIEWER_DB",
    "INTERVIEWER_GRADER",
)


@pytest.fixture(autouse=True)
def isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point every user file at a temp dir and hide any endpoint the developer configured."""
    home = tmp_path / "home"
    monkeypatch.setenv("INTERVIEWER_HOME", str(home))
    for name in ENDPOINT_ENV:
        monkeypatch.delenv(name, raising=False)
    # tiktoken must never reach the network in tests: its cache is an empty directory, and
    # its download (https) goes to a proxy on a closed loopback port, so it is refused at
    # once and counting takes the offline fallback path. Plain-http loopback is unaffected.
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path / "tiktoken-cache"))
    monkeypatch.setenv("HTTPS_PROXY", CLOSED_PROXY)
    monkeypatch.setenv("https_proxy", CLOSED_PROXY)
    monkeypatch.setenv("COLUMNS", "120")
    return home


REPO = Path(__file__).resolve().parent.parent
from tests.chat_server import chat_server  # noqa: E402, F401  (loopback chat server fixture)
