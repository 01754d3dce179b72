"""Replies that are not chat completions: HTML, plain text, arrays, very deep JSON, wrong shapes.

Whatever a 200 carries, the client turns it into one ``EndpointError`` of kind ``bad_reply``
(one line, naming the endpoint), and `grade` and `practice` keep the answer ungraded instead
of stopping with a traceback.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from interviewer.cli import app
from interviewer.config import EndpointProfile
from interviewer.errors import EndpointError
from interviewer.grading.chat_client import ChatClient
from tests.batch_support import bank_rows, grading_handler, read_results, write_bank, write_csv
from tests.chat_server import NOT_A_COMPLETION, ChatServer, Reply, Request, not_a_completion

runner = CliRunner()
DATA_BANK = Path(__file__).parent / "data" / "bank"
KINDS = sorted(NOT_A_COMPLETION)


def _client(server: ChatServer) -> ChatClient:
    profile = EndpointProfile(name="t", base_url=server.url, model="test-model", max_retries=0)
    return ChatClient(profile, None)


@pytest.mark.parametrize("kind", KINDS)
def test_client_reports_a_reply_that_is_not_a_completion(
    chat_server: ChatServer, kind: str
) -> None:
    chat_server.enqueue(not_a_completion(kind))
    client = _client(chat_server)
    try:
        with pytest.raises(EndpointError) as caught:
            client.complete(
                [{"role": "user", "content": "hi"}], contract="prompt", max_output_tokens=10
            )
    finally:
        client.close()
    assert caught.value.kind == "bad_reply"
    message = str(caught.value)
    assert "\n" not in message
    assert "'t'" in message
    assert chat_server.url in message
    assert "chat completion" in message
    assert len(message) < 400


def test_usage_that_is_not_counts_is_dropped_not_fatal(chat_server: ChatServer) -> None:
    body = {
        "choices": [{"message": {"content": "fine"}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": "many", "completion_tokens": [1]},
    }
    chat_server.enqueue(Reply(200, body))
    client = _client(chat_server)
    try:
        reply = client.complete(
            [{"role": "user", "content": "hi"}], contract="prompt", max_output_tokens=10
        )
    finally:
        client.close()
    assert (reply.text, reply.usage, reply.finish_reason) == ("fine", None, "stop")


@pytest.mark.parametrize("kind", ["html", "text", "array", "deep", "message_null"])
def test_grade_keeps_rows_ungraded_on_broken_replies(
    tmp_path: Path, chat_server: ChatServer, kind: str
) -> None:
    banks = write_bank(tmp_path / "banks")
    source = write_csv(tmp_path / "answers.csv", bank_rows(4))
    out = tmp_path / "results.jsonl"

    def handler(request: Request) -> Any:
        return not_a_completion(kind) if "#2" in request.prompt_text else grading_handler(request)

    chat_server.handler = handler
    result = runner.invoke(app, ["grade", str(source), "--out", str(out), "--bank-dir", str(banks),
                                 "--grader", "llm", "--base-url", chat_server.url, "--model",
                                 "test-model", "--concurrency", "1"])  # fmt: skip
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    assert result.exit_code == 2, result.output
    records = read_results(out)
    assert len(records) == 4
    ungraded = [r for r in records if not r["graded"]]
    assert len(ungraded) == 1
    assert "chat completion" in ungraded[0]["outcome"]["ungraded_detail"]


@pytest.mark.parametrize("kind", ["html", "array", "deep"])
def test_practice_keeps_the_answer_on_a_broken_reply(
    isolated_home: Path, chat_server: ChatServer, kind: str
) -> None:
    chat_server.handler = lambda request: not_a_completion(kind)
    answer = "Users are split at random between the two models and we compare satisfaction."
    args = ["practice", "--bank", "llm-en", "--in-order", "-n", "1", "--base-url",
            chat_server.url, "--model", "test-model", "--bank-dir", str(DATA_BANK)]  # fmt: skip
    result = runner.invoke(app, args, input=f"{answer}\n.\n")
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    assert "Traceback" not in result.output
    assert "chat completion" in " ".join(result.output.split())
    from tests.test_practice_llm import rows

    assert [r["answer"] for r in rows(isolated_home, "SELECT answer FROM attempts")] == [answer]
    grade = rows(isolated_home, "SELECT * FROM grades")[0]
    assert (grade["graded"], grade["ungraded_reason"]) == (0, "endpoint_error")


def test_lone_surrogate_in_a_reply_is_replaced_not_fatal(
    tmp_path: Path, chat_server: ChatServer
) -> None:
    banks = write_bank(tmp_path / "banks")
    source = write_csv(tmp_path / "answers.csv", bank_rows(2))
    out = tmp_path / "results.jsonl"

    def handler(request: Request) -> Any:
        reply = grading_handler(request)
        body = reply.body
        content = body["choices"][0]["message"]["content"]
        body["choices"][0]["message"]["content"] = content.replace(
            '"feedback": "', '"feedback": "\ud800 '
        )
        body["choices"][0]["message"]["reasoning_content"] = "\udfff"
        return reply

    chat_server.handler = handler
    result = runner.invoke(app, ["grade", str(source), "--out", str(out), "--bank-dir", str(banks),
                                 "--grader", "llm", "--base-url", chat_server.url, "--model",
                                 "test-model"])  # fmt: skip
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    records = read_results(out)
    assert len(records) == 2
    assert all("\ufffd" in r["outcome"]["raw_reply"] for r in records)


@pytest.mark.parametrize("kind", ["html", "array", "deep"])
def test_endpoints_check_reports_a_broken_reply_in_one_line(
    isolated_home: Path, chat_server: ChatServer, kind: str
) -> None:
    chat_server.handler = lambda request: not_a_completion(kind)
    args = ["endpoints", "check", "--base-url", chat_server.url, "--model", "test-model"]
    result = runner.invoke(app, args)
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit), result.output
    assert "not a chat completion" in " ".join(result.output.split())
