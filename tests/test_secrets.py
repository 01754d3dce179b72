"""Credentials in a base URL or echoed by a server are never printed, stored or logged.

Each test runs commands with a secret in the URL's user part, in its query, or in the API key
that a server echoes back, then searches every output and every file under INTERVIEWER_HOME
(and the files the commands wrote) for the secret.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from interviewer.cli import app
from interviewer.redaction import display_url, scrub_text
from tests.batch_support import bank_rows, grading_handler, write_bank, write_csv
from tests.chat_server import ChatServer, Reply

runner = CliRunner()
DATA_BANK = Path(__file__).parent / "data" / "bank"
PASSWORD = "hunter2-Pw-9f3k"
QUERY_KEY = "qk-7d1e55aa90c4"
API_KEY = "sk-test-Secret-0123456789abcdef"
SECRETS = (PASSWORD, QUERY_KEY, API_KEY)
ANSWER = "A closure is a function that keeps the variables of the scope it was defined in.\n.\n"


class Outputs:
    """Every command's output, kept to be searched at the end."""

    def __init__(self) -> None:
        self.texts: list[str] = []

    def run(self, *args: str | Path, input: str | None = None) -> Any:
        result = runner.invoke(app, [str(a) for a in args], input=input)
        self.texts.append(result.output)
        if result.exception and not isinstance(result.exception, SystemExit):
            self.texts.append(repr(result.exception))
        return result


def assert_nowhere(outputs: Outputs, *roots: Path) -> None:
    for secret in SECRETS:
        for text in outputs.texts:
            assert secret not in text, text
        for root in roots:
            for path in [root] if root.is_file() else root.rglob("*"):
                if path.is_file() and path.name != "config.toml":
                    assert secret.encode() not in path.read_bytes(), path


def practice(out: Outputs, url: str, *extra: str) -> Any:
    return out.run(
        "practice", "--bank", "tiny", "--in-order", "-n", "1", "--follow-ups", "0",
        "--base-url", url, "--model", "test-model", "--bank-dir", DATA_BANK, *extra,
        input=ANSWER,
    )  # fmt: skip


def test_password_in_the_base_url(
    isolated_home: Path, chat_server: ChatServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", API_KEY)
    url = chat_server.url.replace("http://", f"http://alice:{PASSWORD}@")
    out = Outputs()
    graded = practice(out, url)
    assert graded.exit_code == 0, graded.output
    assert "Score" in graded.output
    banks = write_bank(tmp_path / "banks")
    source = write_csv(tmp_path / "answers.csv", bank_rows(3))
    results = tmp_path / "out" / "results.jsonl"
    chat_server.handler = grading_handler
    batch = out.run("grade", source, "--out", results, "--bank-dir", banks,
                    "--base-url", url, "--model", "test-model")  # fmt: skip
    assert batch.exit_code == 0, batch.output
    checked = out.run("endpoints", "check", "--base-url", url, "--model", "test-model")
    assert "127.0.0.1" in checked.output
    for command in (["history"], ["history", "show", "1"], ["stats"], ["due"]):
        assert out.run(*command).exit_code == 0
    page = tmp_path / "export.html"
    assert out.run("export", "--format", "html", "--out", page).exit_code == 0
    assert out.run("export", "--format", "jsonl", "--out", tmp_path / "e.jsonl").exit_code == 0
    assert out.run("export").exit_code == 0
    assert out.run("regrade", "--all", "--base-url", url, "--model", "test-model").exit_code == 0
    state = json.loads((isolated_home / "endpoint-state.json").read_text(encoding="utf-8"))
    assert any("127.0.0.1" in key for key in state["endpoints"])
    assert_nowhere(out, isolated_home, tmp_path)


def test_key_in_the_query_of_the_base_url(
    isolated_home: Path, chat_server: ChatServer, tmp_path: Path
) -> None:
    out = Outputs()
    url = f"{chat_server.url}?api_key={QUERY_KEY}&sig={QUERY_KEY}x"
    failed = practice(out, url)
    assert "127.0.0.1" in failed.output
    out.run("endpoints", "check", "--base-url", url, "--model", "test-model")
    added = out.run("endpoints", "add", "q", "--base-url", url, "--model", "test-model")
    assert added.exit_code == 0, added.output
    listed = out.run("endpoints", "list")
    assert "127.0.0.1" in listed.output
    from_env = runner.invoke(app, ["endpoints", "list"], env={"OPENAI_BASE_URL": url})
    out.texts.append(from_env.output)
    assert "From the environment" in from_env.output
    assert_nowhere(out, isolated_home, tmp_path)


def test_server_that_echoes_the_authorization_header(
    isolated_home: Path, chat_server: ChatServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", API_KEY)

    def echo(request: Any) -> Reply:
        auth = request.headers.get("Authorization") or request.headers.get("authorization")
        body = {"error": {"message": f"Bad request. Headers: Authorization: {auth}; {API_KEY}"}}
        return Reply(status=400, body=body)

    chat_server.handler = echo
    out = Outputs()
    practice(out, chat_server.url)
    shown = out.run("history", "show", "1")
    assert "Bad request" in " ".join(shown.output.split())
    out.run("endpoints", "check", "--base-url", chat_server.url, "--model", "test-model")
    assert_nowhere(out, isolated_home, tmp_path)


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://u:p4ss@h.example/v1", "https://***@h.example/v1"),
        ("https://tok3n@h.example:8443/v1", "https://***@h.example:8443/v1"),
        ("https://h.example/v1?api-version=1&key=k1", "https://h.example/v1?api-version=1&key=***"),
        ("http://127.0.0.1:8080/v1", "http://127.0.0.1:8080/v1"),
    ],
)
def test_display_url(url: str, shown: str) -> None:
    assert display_url(url) == shown


def test_scrub_text_removes_keys_and_authorization() -> None:
    text = scrub_text(
        f'{{"authorization": "Bearer {API_KEY}"}} token {QUERY_KEY} at https://u:{PASSWORD}@h/v1',
        [QUERY_KEY],
    )
    assert all(s not in text for s in SECRETS)
    assert "https://***@h/v1" in text
