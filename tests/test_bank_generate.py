"""`interviewer bank generate`: new questions drafted against the loopback chat server."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from interviewer.bank.library import load_bank_file
from interviewer.cli import app
from tests.chat_server import ChatServer, Reply, Request, completion

runner = CliRunner()

EXISTING: dict[str, Any] = {
    "bank": {"id": "mine", "title": "Mine", "language": "en"},
    "questions": [
        {
            "id": "mine-1",
            "question": "What is gradient clipping and why is it used?",
            "reference": "It caps the gradient norm so that one bad batch cannot blow up training.",
        }
    ],
}


def draft(question: str, **changes: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "question": question,
        "reference": (
            "Weight decay adds a penalty on the size of the weights to the loss. It keeps the"
            " weights small and reduces overfitting."
        ),
        "key_points": [
            "Weight decay adds a penalty on the size of the weights",
            "It reduces overfitting",
        ],
        "topic": "Optimisation",
        "difficulty": "medium",
        "tags": ["regularisation"],
    }
    entry.update(changes)
    return entry


def reply(*questions: dict[str, Any]) -> Reply:
    return completion(json.dumps({"questions": list(questions)}))


@pytest.fixture
def bank_dir(tmp_path: Path) -> Path:
    path = tmp_path / "banks" / "mine.yaml"
    path.parent.mkdir()
    path.write_text(yaml.safe_dump(EXISTING), encoding="utf-8")
    return path.parent


def generate(server: ChatServer, bank_dir: Path, *args: str | Path) -> Any:
    endpoint = ["--grader", "llm", "--base-url", server.url, "--model", "test-model"]
    return runner.invoke(
        app,
        ["bank", "generate", *map(str, args), "--bank-dir", str(bank_dir), *endpoint],
    )


def test_generate_writes_a_valid_bank_marked_generated(
    chat_server: ChatServer, bank_dir: Path, tmp_path: Path
):
    chat_server.enqueue(
        reply(draft("What does weight decay do?"), draft("How does L2 differ from L1 norm?"))
    )
    out = tmp_path / "draft.yaml"
    args = ("--topic", "regularisation", "--count", "2", "--lang", "en", "--out", out)
    result = generate(chat_server, bank_dir, *args, "--difficulty", "hard")
    assert result.exit_code == 0, result.output
    bank = load_bank_file(out)
    assert bank.info.id == "draft-regularisation"
    assert bank.info.language == "en"
    assert [q.id for q in bank.questions] == ["draft-regularisation-1", "draft-regularisation-2"]
    first = bank.questions[0]
    assert first.question == "What does weight decay do?"
    assert first.difficulty == "hard"
    assert first.topic == "optimisation"
    assert len(first.key_points) == 2
    assert {"question", "reference", "key_points"} <= set(first.generated)
    assert "0 duplicate(s) dropped" in result.output
    request = chat_server.chat_requests[0]
    assert "regularisation" in request.prompt_text
    # The existing question is shown to the model so it can avoid it.
    assert EXISTING["questions"][0]["question"] in request.prompt_text
    schema = request.response_format["json_schema"]["schema"]
    item = schema["properties"]["questions"]["items"]
    assert item["required"] == list(item["properties"])
    assert item["additionalProperties"] is False


def test_duplicates_are_dropped_counted_and_replaced(
    chat_server: ChatServer, bank_dir: Path, tmp_path: Path
):
    chat_server.enqueue(
        reply(
            draft("What is gradient clipping, and why is it used?"),  # an existing question
            draft("What does weight decay do?"),
        ),
        reply(draft("What does weight decay do to the weights?")),  # near its own first draft
        reply(draft("Why does dropout regularise a network?")),
    )
    out = tmp_path / "draft.yaml"
    args = ("--topic", "training", "--count", "2", "--lang", "en", "--out", out)
    result = generate(chat_server, bank_dir, *args)
    assert result.exit_code == 0, result.output
    questions = [q.question for q in load_bank_file(out).questions]
    assert questions == ["What does weight decay do?", "Why does dropout regularise a network?"]
    assert "2 duplicate(s) dropped" in result.output
    assert "too close to mine-1" in result.output
    assert len(chat_server.chat_requests) == 3


def test_unsupported_key_points_of_a_draft_are_dropped(
    chat_server: ChatServer, bank_dir: Path, tmp_path: Path
):
    points = ["Weight decay adds a penalty on the size of the weights", "Adam needs warmup"]
    chat_server.enqueue(reply(draft("What does weight decay do?", key_points=points)))
    out = tmp_path / "draft.yaml"
    args = ("--topic", "decay", "--count", "1", "--lang", "en", "--out", out)
    result = generate(chat_server, bank_dir, *args)
    assert result.exit_code == 0, result.output
    assert load_bank_file(out).questions[0].key_points == points[:1]
    assert "1 unsupported key point(s) dropped" in result.output


def test_a_chinese_draft_is_checked_with_chinese_overlap(
    chat_server: ChatServer, bank_dir: Path, tmp_path: Path
):
    zh = draft(
        "什么是权重衰减？",
        reference="权重衰减在损失中加入权重大小的惩罚项，使权重保持较小，从而减轻过拟合。",
        key_points=["在损失中加入权重大小的惩罚项", "减轻过拟合", "需要更大的批量大小"],
    )
    chat_server.enqueue(reply(zh))
    out = tmp_path / "draft.yaml"
    args = ("--topic", "正则化", "--count", "1", "--lang", "zh", "--out", out)
    result = generate(chat_server, bank_dir, *args)
    assert result.exit_code == 0, result.output
    bank = load_bank_file(out)
    assert bank.info.id == "draft"
    assert bank.questions[0].key_points == ["在损失中加入权重大小的惩罚项", "减轻过拟合"]


def test_a_reply_broken_twice_is_reported_and_nothing_is_written(
    chat_server: ChatServer, bank_dir: Path, tmp_path: Path
):
    chat_server.handler = lambda request: completion('{"questions": [{"question": ')
    out = tmp_path / "draft.yaml"
    args = ("--topic", "x", "--count", "1", "--lang", "en", "--out", out)
    result = generate(chat_server, bank_dir, *args)
    assert result.exit_code == 1
    assert "could not be used" in result.output
    assert len(chat_server.chat_requests) == 2  # the request and one re-ask
    assert not out.exists()


def test_a_broken_reply_is_re_asked(chat_server: ChatServer, bank_dir: Path, tmp_path: Path):
    chat_server.enqueue(
        completion("Sure! Here are your questions."), reply(draft("What does weight decay do?"))
    )
    out = tmp_path / "draft.yaml"
    args = ("--topic", "x", "--count", "1", "--lang", "en", "--out", out)
    result = generate(chat_server, bank_dir, *args)
    assert result.exit_code == 0, result.output
    reask: Request = chat_server.chat_requests[1]
    assert "could not be used" in reask.messages[-1]["content"]
    assert len(load_bank_file(out).questions) == 1


def test_generate_needs_an_endpoint_and_never_overwrites(
    chat_server: ChatServer, bank_dir: Path, tmp_path: Path
):
    args = ["bank", "generate", "--topic", "x", "--count", "1", "--lang", "en"]
    offline = runner.invoke(app, [*args, "--grader", "offline"])
    assert offline.exit_code == 1
    assert "drafts through an LLM" in offline.output
    out = tmp_path / "draft.yaml"
    out.write_text("mine\n", encoding="utf-8")
    taken = generate(chat_server, bank_dir, *args[2:], "--out", out)
    assert taken.exit_code == 1
    assert out.read_text(encoding="utf-8") == "mine\n"
    assert chat_server.chat_requests == []
