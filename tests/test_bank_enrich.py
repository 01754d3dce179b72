"""`interviewer bank enrich`: drafts against the loopback chat server, and offline."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from interviewer.authoring.journal import journal_path
from interviewer.bank.library import CuratedFollowUp, load_bank_file
from interviewer.cli import app
from tests.chat_server import (
    ChatServer,
    Reply,
    Request,
    completion,
    personality,
    unauthorized,
)
from tests.processes import child

runner = CliRunner()

BANK: dict[str, Any] = {
    "bank": {"id": "demo", "title": "Demo", "language": "en"},
    "questions": [
        {
            "id": "demo-1",
            "question": "What is overfitting?",
            "reference": (
                "Overfitting is when a model learns the noise of its training data instead of"
                " the pattern. Training accuracy is high while validation accuracy is low."
                " Regularisation and early stopping reduce it."
            ),
        },
        {
            "id": "demo-2",
            "question": "Why use a small learning rate for fine-tuning?",
            "reference": "A large learning rate moves the weights far from the pretrained ones.",
            "key_points": ["Large steps move weights away from pretrained weights"],
            "topic": "fine-tuning",
        },
        {
            "id": "demo-3",
            "question": "What does dropout do?",
            "reference": (
                "Dropout randomly zeroes activations during training, which prevents units"
                " from co-adapting and acts as a regulariser."
            ),
        },
    ],
}

GOOD_POINTS = {
    "demo-1": [
        "The model learns the noise of its training data instead of the pattern",
        "Training accuracy is high while validation accuracy is low",
        "Regularisation and early stopping reduce overfitting",
    ],
    "demo-2": ["Large steps move weights away from pretrained weights"],
    "demo-3": [
        "Dropout randomly zeroes activations during training",
        "It prevents units from co-adapting",
        "Dropout acts as a regulariser",
    ],
}


def enrich_payload(qid: str, **changes: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "key_points": GOOD_POINTS[qid],
        "topic": "Regularisation",
        "difficulty": "easy",
        "tags": ["overfitting", "Training"],
        "follow_ups": [
            {
                "question": f"How would you detect it? ({qid})",
                "probes": [2, 9],
                "reference": "Compare training and validation metrics.",
            }
        ],
        "reference_notes": "",
    }
    payload.update(changes)
    return payload


def qid_of(request: Request) -> str:
    for qid, entry in zip(GOOD_POINTS, BANK["questions"], strict=True):
        if entry["question"] in request.prompt_text:
            return qid
    raise AssertionError("the request names no question of the bank")


def replying(**per_question: dict[str, Any]) -> Any:
    def handle(request: Request) -> Reply:
        qid = qid_of(request)
        return completion(json.dumps(per_question.get(qid) or enrich_payload(qid)))

    return handle


@pytest.fixture
def bank_file(tmp_path: Path) -> Path:
    path = tmp_path / "demo.yaml"
    path.write_text(yaml.safe_dump(BANK, allow_unicode=True), encoding="utf-8")
    return path


def enrich(server: ChatServer | None, *args: str | Path) -> Any:
    endpoint = (
        ["--grader", "llm", "--base-url", server.url, "--model", "test-model"]
        if server
        else ["--grader", "offline"]
    )
    return runner.invoke(app, ["bank", "enrich", *map(str, args), *endpoint])


def test_enrich_writes_a_valid_draft_marking_what_it_generated(
    chat_server: ChatServer, bank_file: Path, tmp_path: Path
):
    chat_server.handler = replying()
    out = tmp_path / "draft.yaml"
    result = enrich(chat_server, bank_file, "--out", out)
    assert result.exit_code == 0, result.output
    draft = {q.id: q for q in load_bank_file(out).questions}
    first = draft["demo-1"]
    assert first.key_points == GOOD_POINTS["demo-1"]
    assert first.topic == "regularisation"
    assert first.difficulty == "easy"
    assert first.tags == ["overfitting", "training"]
    assert first.follow_ups == [
        CuratedFollowUp(
            question="How would you detect it? (demo-1)",
            probes=[2],  # kp9 does not exist
            reference="Compare training and validation metrics.",
        )
    ]
    assert set(first.generated) == {"key_points", "topic", "difficulty", "tags", "follow_ups"}
    # Hand-written fields stay as written and are not marked.
    second = draft["demo-2"]
    assert second.key_points == BANK["questions"][1]["key_points"]
    assert second.topic == "fine-tuning"
    assert "key_points" not in second.generated
    assert "topic" not in second.generated
    assert "kept hand-written" in result.output
    # Every request carried one strict schema.
    for request in chat_server.chat_requests:
        schema = request.response_format["json_schema"]["schema"]
        assert request.response_format["json_schema"]["strict"] is True
        assert_strict(schema)
    # The source bank is untouched.
    assert yaml.safe_load(bank_file.read_text(encoding="utf-8")) == BANK


def assert_strict(schema: dict[str, Any]) -> None:
    if schema.get("type") == "object":
        assert schema["additionalProperties"] is False
        assert schema["required"] == list(schema["properties"])
        for child in schema["properties"].values():
            assert_strict(child)
    elif schema.get("type") == "array":
        assert_strict(schema["items"])


def test_force_replaces_hand_written_fields(
    chat_server: ChatServer, bank_file: Path, tmp_path: Path
):
    points = ["Large learning rates move the weights far from the pretrained ones"]
    chat_server.handler = replying(**{"demo-2": enrich_payload("demo-2", key_points=points)})
    out = tmp_path / "draft.yaml"
    result = enrich(chat_server, bank_file, "--out", out, "--force")
    assert result.exit_code == 0, result.output
    second = {q.id: q for q in load_bank_file(out).questions}["demo-2"]
    assert second.key_points == points
    assert second.topic == "regularisation"
    assert {"key_points", "topic"} <= set(second.generated)


def test_unsupported_key_points_are_dropped_and_reported(
    chat_server: ChatServer, bank_file: Path, tmp_path: Path
):
    invented = "Dropout doubles the batch size used by the Adam optimiser"
    points = [*GOOD_POINTS["demo-3"], invented]
    chat_server.handler = replying(**{"demo-3": enrich_payload("demo-3", key_points=points)})
    out = tmp_path / "draft.yaml"
    result = enrich(chat_server, bank_file, "--out", out)
    assert result.exit_code == 0, result.output
    third = {q.id: q for q in load_bank_file(out).questions}["demo-3"]
    assert third.key_points == GOOD_POINTS["demo-3"]
    assert invented in result.output
    assert "1 unsupported key point(s) dropped" in " ".join(result.output.split())


def test_reference_notes_get_the_correction_marker(
    chat_server: ChatServer, bank_file: Path, tmp_path: Path
):
    note = "The reference stops short: it also destroys pretrained knowledge."
    chat_server.handler = replying(**{"demo-2": enrich_payload("demo-2", reference_notes=note)})
    out = tmp_path / "draft.yaml"
    assert enrich(chat_server, bank_file, "--out", out).exit_code == 0
    second = {q.id: q for q in load_bank_file(out).questions}["demo-2"]
    assert second.reference_notes == f"[Correction / completion] {note}"
    assert "reference_notes" in second.generated


def test_a_broken_reply_is_re_asked_once(chat_server: ChatServer, bank_file: Path, tmp_path: Path):
    broken = {"done": False}

    def handle(request: Request) -> Reply:
        qid = qid_of(request)
        if qid == "demo-3" and not broken["done"]:
            broken["done"] = True
            return completion('{"key_points": ["unterminated')
        return completion(json.dumps(enrich_payload(qid)))

    chat_server.handler = handle
    out = tmp_path / "draft.yaml"
    result = enrich(chat_server, bank_file, "--out", out)
    assert result.exit_code == 0, result.output
    reasks = [r for r in chat_server.chat_requests if len(r.messages) > 2]
    assert len(reasks) == 1
    assert "could not be used" in reasks[0].messages[-1]["content"]
    third = {q.id: q for q in load_bank_file(out).questions}["demo-3"]
    assert third.key_points == GOOD_POINTS["demo-3"]


def test_a_reply_broken_twice_is_reported_and_retried_next_run(
    chat_server: ChatServer, bank_file: Path, tmp_path: Path
):
    def handle(request: Request) -> Reply:
        qid = qid_of(request)
        if qid == "demo-1":
            return completion(json.dumps({"topic": "no key points here"}))
        return completion(json.dumps(enrich_payload(qid)))

    chat_server.handler = handle
    out = tmp_path / "draft.yaml"
    result = enrich(chat_server, bank_file, "--out", out)
    assert result.exit_code == 1
    assert "demo-1: not enriched" in result.output
    first = {q.id: q for q in load_bank_file(out).questions}["demo-1"]
    assert first.key_points == []
    assert first.generated == []

    chat_server.handler = replying()
    chat_server.clear()
    again = enrich(chat_server, bank_file, "--out", out)
    assert again.exit_code == 0, again.output
    assert [qid_of(r) for r in chat_server.chat_requests] == ["demo-1"]
    first = {q.id: q for q in load_bank_file(out).questions}["demo-1"]
    assert first.key_points == GOOD_POINTS["demo-1"]


def test_an_interrupted_run_resumes_where_it_stopped(
    chat_server: ChatServer, bank_file: Path, tmp_path: Path
):
    out = tmp_path / "draft.yaml"
    good = replying()
    chat_server.enqueue(good)
    chat_server.handler = lambda request: unauthorized()
    result = enrich(chat_server, bank_file, "--out", out, "--concurrency", "1")
    assert result.exit_code == 1
    assert "Stopped" in result.output
    journal = journal_path(out)
    lines = journal.read_text(encoding="utf-8").splitlines()
    assert sum(1 for line in lines if json.loads(line)["key"] == "demo-1") == 1
    # A crash mid-write leaves half a line: it is ignored, never an error.
    with journal.open("a", encoding="utf-8") as handle:
        handle.write('{"key": "demo-2", "source": "x", "rep')

    chat_server.handler = good
    chat_server.clear()
    again = enrich(chat_server, bank_file, "--out", out, "--concurrency", "1")
    assert again.exit_code == 0, again.output
    assert [qid_of(r) for r in chat_server.chat_requests] == ["demo-2", "demo-3"]
    assert "1 from the journal" in again.output
    draft = load_bank_file(out)
    assert all(q.generated for q in draft.questions)


def test_an_edited_draft_is_never_overwritten(bank_file: Path, tmp_path: Path):
    out = tmp_path / "draft.yaml"
    assert enrich(None, bank_file, "--out", out).exit_code == 0
    out.write_text(out.read_text(encoding="utf-8") + "# reviewed\n", encoding="utf-8")
    result = enrich(None, bank_file, "--out", out)
    assert result.exit_code == 1
    assert "edited" in result.output
    assert out.read_text(encoding="utf-8").endswith("# reviewed\n")


def test_offline_enrich_derives_key_points_from_the_reference(bank_file: Path, tmp_path: Path):
    out = tmp_path / "draft.yaml"
    result = enrich(None, bank_file, "--out", out)
    assert result.exit_code == 0, result.output
    draft = {q.id: q for q in load_bank_file(out).questions}
    first = draft["demo-1"]
    assert len(first.key_points) >= 2
    reference = re.sub(r"\s+", " ", BANK["questions"][0]["reference"])
    assert all(point.rstrip(".") in reference for point in first.key_points)
    assert first.derived == ["key_points"]
    assert first.generated == []
    assert draft["demo-2"].derived == []  # hand-written key points kept


def test_enrich_by_bank_id_writes_next_to_where_it_runs(
    bank_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(
        app, ["bank", "enrich", "demo", "--bank-dir", str(bank_file), "--grader", "offline"]
    )
    assert result.exit_code == 0, result.output
    assert load_bank_file(tmp_path / "demo.enriched.yaml").info.id == "demo"


def test_enrich_steps_down_the_output_contract_like_grading(
    chat_server: ChatServer, bank_file: Path, tmp_path: Path
):
    chat_server.handler = personality("deepseek", replying())
    out = tmp_path / "draft.yaml"
    result = enrich(chat_server, bank_file, "--out", out, "--concurrency", "1")
    assert result.exit_code == 0, result.output
    formats = [r.format_type for r in chat_server.chat_requests]
    assert formats[0] == "json_schema"
    assert formats[-1] == "json_object"
    assert all(q.generated for q in load_bank_file(out).questions)


ZH_BANK: dict[str, Any] = {
    "bank": {"id": "zh-demo", "title": "中文示例", "language": "zh"},
    "questions": [
        {
            "id": "zh-demo-1",
            "question": "LoRA 是什么？",
            "reference": "LoRA 在冻结的预训练权重旁加入低秩矩阵 A 和 B，只训练这两个矩阵，",
        }
    ],
}


def test_chinese_enrich_checks_points_and_marks_notes_in_chinese(
    chat_server: ChatServer, tmp_path: Path
):
    path = tmp_path / "zh.yaml"
    path.write_text(yaml.safe_dump(ZH_BANK, allow_unicode=True), encoding="utf-8")
    payload = {
        "key_points": ["冻结预训练权重", "只训练低秩矩阵 A 和 B", "LoRA 需要更大的批量大小"],
        "topic": "peft",
        "difficulty": "medium",
        "tags": ["lora"],
        "follow_ups": [],
        "reference_notes": "参考答案在句中截断：可训练参数因此大幅减少。",
    }
    chat_server.handler = lambda request: completion(json.dumps(payload, ensure_ascii=False))
    out = tmp_path / "draft.yaml"
    result = enrich(chat_server, path, "--out", out)
    assert result.exit_code == 0, result.output
    question = load_bank_file(out).questions[0]
    assert question.key_points == ["冻结预训练权重", "只训练低秩矩阵 A 和 B"]
    assert question.reference_notes.startswith("【更正/补充】")
    assert "only 2 supported key point(s)" in result.output
    assert "【更正/补充】" in chat_server.chat_requests[0].prompt_text


def test_ctrl_c_keeps_every_reply_that_arrived(bank_file: Path, tmp_path: Path):
    out = tmp_path / "draft.yaml"
    journal = journal_path(out)
    args = [sys.executable, "-m", "interviewer", "bank", "enrich", str(bank_file)]
    args += ["--out", str(out), "--concurrency", "1", "--grader", "llm", "--model", "test-model"]
    with ChatServer(delay=1.0) as server:
        server.handler = replying()
        command = [*args, "--base-url", server.url]
        with child(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as proc:
            deadline = time.monotonic() + 60
            while not (journal.exists() and journal.read_text(encoding="utf-8").strip()):
                assert proc.poll() is None, proc.communicate()
                assert time.monotonic() < deadline, "no reply was journalled"
                time.sleep(0.02)
            proc.send_signal(signal.SIGINT)
            _, err = proc.communicate(timeout=60)
        assert proc.returncode == 130, err
        assert "Interrupted" in err
        done = {
            json.loads(line)["key"] for line in journal.read_text(encoding="utf-8").splitlines()
        }
        assert "demo-1" in done
        first = {q.id: q for q in load_bank_file(out).questions}["demo-1"]
        assert first.key_points == GOOD_POINTS["demo-1"]

        server.clear()
        again = enrich(server, bank_file, "--out", out, "--concurrency", "1")
        assert again.exit_code == 0, again.output
        sent = {qid_of(r) for r in server.chat_requests}
        assert sent == set(GOOD_POINTS) - done
        assert sent  # the interrupt really cut the run short
