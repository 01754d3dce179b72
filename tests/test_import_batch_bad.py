"""--import-batch with malformed output files: every bad line is listed or its row kept
ungraded with a reason; nothing ends in a traceback."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from interviewer.cli import app
from tests.batch_support import bank_rows, grade_content, read_results, write_bank, write_csv
from tests.chat_server import Request, completion

runner = CliRunner()
MODEL = ["--grader", "llm", "--base-url", "http://127.0.0.1:9/v1", "--model", "served"]


def _ok(custom_id: str, body: Any) -> dict[str, Any]:
    return {"custom_id": custom_id, "response": {"status_code": 200, "body": body}}


def test_malformed_batch_output_lines(tmp_path: Path) -> None:
    banks = write_bank(tmp_path / "banks")
    source = write_csv(tmp_path / "in.csv", bank_rows(7))
    out = tmp_path / "r.jsonl"
    base = [str(source), "--out", str(out), "--bank-dir", str(banks), *MODEL]
    requests_file = tmp_path / "requests.jsonl"
    exported = runner.invoke(app, ["grade", *base, "--export-batch", str(requests_file)])
    assert exported.exit_code == 0, exported.output
    sent = [json.loads(x) for x in requests_file.read_text(encoding="utf-8").splitlines()]
    ids = [line["custom_id"] for line in sent]
    good = completion(grade_content(Request("POST", "/", {}, {}, sent[0]["body"]))).body
    broken_bodies = [
        {"choices": [1]},
        {"choices": [{"message": "not an object", "finish_reason": "stop"}]},
        {"choices": [{"message": {"content": 5}, "finish_reason": 7}]},
        {"choices": [{"message": {"content": "\ud800"}}], "usage": {"prompt_tokens": "x"}},
        {"choices": [{"message": {"content": None}}], "usage": [1, 2]},
    ]
    lines = [
        json.dumps(_ok(ids[0], good)),
        *(json.dumps(_ok(cid, body)) for cid, body in zip(ids[1:], broken_bodies, strict=False)),
        json.dumps(_ok(ids[6], "[" * 50_000 + "]" * 50_000)),
        "not json at all",
        "[1, 2, 3]",
        '{"custom_id": {"nested": true}, "response": 5}',
        '{"custom_id": ' + "9" * 5000 + "}",
        "[" * 100_000 + "]" * 100_000,
        '{"custom_id": "x", "response": {"body": ' + "[" * 100_000 + "]" * 100_000 + "}}",
    ]
    output = tmp_path / "output.jsonl"
    output.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = runner.invoke(app, ["grade", *base, "--import-batch", str(output)])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    assert result.exit_code == 2, result.output
    records = read_results(out)
    assert len(records) == 7
    assert sum(r["graded"] for r in records) == 1
    assert all(r["outcome"]["ungraded_detail"] for r in records if not r["graded"])
    message = " ".join(result.stderr.split())
    assert "line(s) of the batch files are not batch output" in message
