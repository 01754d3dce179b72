"""Servers of one's own: their parallel slots set the default concurrency, and a request that
timed out is never sent again behind the user's back."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from interviewer.batch.replicas import default_concurrency
from interviewer.cli import app
from interviewer.config import EndpointProfile, is_local_url, load_config
from interviewer.errors import EndpointError
from interviewer.grading import chat_client as llm
from tests import chat_server as cs
from tests.batch_support import bank_rows, grading_handler, write_bank, write_csv
from tests.chat_server import ChatServer

MESSAGES = [{"role": "user", "content": "Reply in JSON."}]


def profile_for(server: ChatServer, **changes: Any) -> EndpointProfile:
    data: dict[str, Any] = {"name": "local", "base_url": server.url, "model": "test-model"}
    data.update(changes)
    return EndpointProfile(**data)


def introspection(server: ChatServer) -> list[str]:
    return [r.path for r in server.requests if not r.path.startswith("/v1/")]


# --------------------------------------------------------------------------- slots


def test_llama_server_props_give_the_concurrency(chat_server: ChatServer) -> None:
    chat_server.props = {"total_slots": 3, "default_generation_settings": {"n_ctx": 4096}}
    assert default_concurrency(profile_for(chat_server)) == 3
    # The base URL's /v1 is stripped: llama.cpp serves /props at the root.
    assert introspection(chat_server) == ["/props"]


def test_single_slot_server_gets_one_request_at_a_time(chat_server: ChatServer) -> None:
    chat_server.props = {"total_slots": 1}
    assert default_concurrency(profile_for(chat_server)) == 1


def test_older_llama_server_slots_list_is_counted(chat_server: ChatServer) -> None:
    chat_server.slots = [{"id": 0, "is_processing": False}, {"id": 1, "is_processing": True}]
    assert default_concurrency(profile_for(chat_server)) == 2
    assert introspection(chat_server) == ["/props", "/slots"]


def test_llama_cpp_python_computes_one_request_at_a_time(chat_server: ChatServer) -> None:
    chat_server.openapi_title = "🦙 llama.cpp Python API"
    assert default_concurrency(profile_for(chat_server)) == 1


def test_a_server_that_does_not_say_keeps_the_default(chat_server: ChatServer) -> None:
    chat_server.openapi_title = "vLLM API"  # a FastAPI title that says nothing about slots
    assert default_concurrency(profile_for(chat_server)) == 8
    assert introspection(chat_server) == ["/props", "/slots", "/openapi.json"]


def test_a_chosen_concurrency_is_not_second_guessed(chat_server: ChatServer) -> None:
    chat_server.props = {"total_slots": 1}
    assert default_concurrency(profile_for(chat_server, concurrency=4)) == 4
    assert introspection(chat_server) == []


def test_batch_grading_sends_no_more_than_the_slots(
    tmp_path: Path, chat_server: ChatServer
) -> None:
    chat_server.props = {"total_slots": 1}
    chat_server.handler = grading_handler
    chat_server.delay = 0.05
    banks = write_bank(tmp_path / "banks")
    source = write_csv(tmp_path / "answers.csv", bank_rows(4))
    result = CliRunner().invoke(
        app,
        [
            "grade",
            str(source),
            "--out",
            str(tmp_path / "out" / "results.jsonl"),
            "--bank-dir",
            str(banks),
            "--grader",
            "llm",
            "--base-url",
            chat_server.url,
            "--model",
            "test-model",
        ],
    )
    assert result.exit_code == 0, result.output + result.stderr
    assert "1 in flight" in " ".join(result.output.split())
    assert len(chat_server.chat_requests) == 4
    assert chat_server.max_active == 1


# --------------------------------------------------------------------------- timeouts


def test_local_timeout_is_not_sent_again_and_says_why(chat_server: ChatServer) -> None:
    chat_server.enqueue(cs.completion("late", delay=2))
    client = llm.ChatClient(profile_for(chat_server, timeout=0.3, max_retries=2), None)
    with pytest.raises(EndpointError) as caught:
        client.complete(MESSAGES, contract="json_object", max_output_tokens=64)
    client.close()
    error = caught.value
    assert error.kind == "timeout"
    assert len(chat_server.chat_requests) == 1
    text = str(error)
    assert "did not answer within 0.3 s. The request was not sent again" in text
    assert "may still be working on it" in text
    assert f"interviewer endpoints add local --base-url {chat_server.url}" in text
    assert "--timeout 600" in text


def test_local_server_errors_are_still_retried(chat_server: ChatServer) -> None:
    chat_server.enqueue(cs.server_error(), cs.rate_limited(0.01), cs.completion("third time"))
    client = llm.ChatClient(profile_for(chat_server, max_retries=2), None)
    done = client.complete(MESSAGES, contract="prompt", max_output_tokens=64)
    client.close()
    assert done.text == "third time"
    assert len(chat_server.chat_requests) == 3


def test_local_contract_rejection_is_not_retried(chat_server: ChatServer) -> None:
    chat_server.enqueue(cs.REJECTIONS["llamacpp_python_json_schema"], cs.completion("{}"))
    client = llm.ChatClient(profile_for(chat_server, max_retries=2), None)
    with pytest.raises(EndpointError) as caught:
        client.complete(MESSAGES, contract="json_schema", max_output_tokens=64, schema={})
    client.close()
    assert caught.value.kind == "contract"
    assert len(chat_server.chat_requests) == 1


def test_timeout_can_be_set_when_adding_an_endpoint(chat_server: ChatServer) -> None:
    args = ["add", "slow", "--base-url", chat_server.url, "--model", "m", "--timeout", "9"]
    result = CliRunner().invoke(app, ["endpoints", *args])
    assert result.exit_code == 0, result.output
    assert load_config().endpoints["slow"].timeout == 9


@pytest.mark.parametrize(
    ("url", "local"),
    [
        ("http://127.0.0.1:8080/v1", True),
        ("http://localhost:11434/v1", True),
        ("http://192.168.1.20:8000/v1", True),
        ("https://api.openai.com/v1", False),
        ("https://8.8.8.8/v1", False),
    ],
)
def test_what_counts_as_local(url: str, local: bool) -> None:
    assert is_local_url(url) is local
