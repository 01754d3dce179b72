"""`interviewer grade` through the CLI: outputs, exit statuses, resume, dry run, batch files,
replicas, and a real process killed mid-run and resumed."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from interviewer.cli import app
from tests.batch_support import (
    bank_rows,
    grade_content,
    grading_handler,
    read_results,
    write_bank,
    write_csv,
    write_jsonl,
)
from tests.chat_server import ChatServer, Request, completion, unauthorized
from tests.conftest import REPO
from tests.processes import child

runner = CliRunner()


def grade(*args: str | Path) -> Any:
    return runner.invoke(app, ["grade", *[str(a) for a in args]])


@pytest.fixture
def setup(tmp_path: Path) -> dict[str, Path]:
    banks = write_bank(tmp_path / "banks")
    source = write_csv(tmp_path / "answers.csv", bank_rows(12))
    return {"banks": banks, "csv": source, "out": tmp_path / "out" / "results.jsonl"}


def llm_args(server: ChatServer) -> list[str]:
    return ["--grader", "llm", "--base-url", server.url, "--model", "test-model"]


# --------------------------------------------------------------------------- offline


def test_offline_run_writes_every_output_and_resumes(setup: dict[str, Path]) -> None:
    out = setup["out"]
    result = grade(setup["csv"], "--out", out, "--bank-dir", setup["banks"], "--grader", "offline")
    assert result.exit_code == 0, result.output
    assert "Batch grading" in result.stdout
    assert "Graded now" in result.stdout
    records = read_results(out)
    assert len(records) == 12
    assert sorted(r["row"] for r in records) == list(range(1, 13))
    assert all(r["graded"] for r in records)
    folder = out.parent
    assert (folder / "results.summary.csv").read_text(encoding="utf-8-sig").startswith("source,")
    assert "<svg" in (folder / "results.report.html").read_text(encoding="utf-8")
    assert "# Batch grading report" in (folder / "results.report.md").read_text(encoding="utf-8")
    assert not (folder / "results.errors.csv").exists()

    again = grade(setup["csv"], "--out", out, "--bank-dir", setup["banks"], "--grader", "offline")
    assert again.exit_code == 0, again.output
    assert "12 already in the results" in again.stderr
    assert len(read_results(out)) == 12


def test_bad_rows_are_listed_and_exit_2(setup: dict[str, Path], tmp_path: Path) -> None:
    rows = bank_rows(6)
    rows[1]["answer"] = ""
    rows[4]["question_id"] = "ghost"
    source = write_csv(tmp_path / "bad.csv", rows)
    report_dir = tmp_path / "reports"
    result = grade(
        source,
        "--out",
        setup["out"],
        "--bank-dir",
        setup["banks"],
        "--grader",
        "offline",
        "--report-dir",
        report_dir,
    )
    assert result.exit_code == 2, result.output
    assert "1 invalid row(s) skipped" in result.stderr
    assert "row 5 (id r4): unknown question id 'ghost'" in result.stderr
    errors = (report_dir / "results.errors.csv").read_text(encoding="utf-8").splitlines()
    assert len(errors) == 2
    results = read_results(setup["out"])
    assert len(results) == 5
    blank = next(r for r in results if r["row"] == 2)
    assert (blank["graded"], blank["score"]) == (True, 0.0)


def test_unreadable_input_fails_at_once(setup: dict[str, Path], tmp_path: Path) -> None:
    result = grade(tmp_path / "nope.csv", "--out", setup["out"])
    assert result.exit_code == 1, result.output
    assert "nope.csv: no such file" in result.stderr
    wrong = tmp_path / "wrong.csv"
    wrong.write_text("qid,response\nq-rag,text\n", encoding="utf-8")
    result = grade(wrong, "--out", setup["out"], "--grader", "offline")
    assert result.exit_code == 1, result.output
    assert "no 'answer' column" in result.stderr
    assert not setup["out"].exists()


def test_column_options_and_jsonl(setup: dict[str, Path], tmp_path: Path) -> None:
    rows = [
        {
            "task": "Why cache keys?",
            "gold": "To skip recomputation.",
            "text": "Saves work",
            "who": "x",
        }
    ]
    source = write_jsonl(tmp_path / "exam.jsonl", rows)
    result = grade(
        source,
        "--out",
        setup["out"],
        "--grader",
        "offline",
        "--question-col",
        "task",
        "--reference-col",
        "gold",
        "--answer-col",
        "text",
        "--candidate-col",
        "who",
    )
    assert result.exit_code == 0, result.output
    [record] = read_results(setup["out"])
    assert (record["question"], record["answer"], record["candidate"]) == (
        "Why cache keys?",
        "Saves work",
        "x",
    )


def test_outputs_never_overwrite_inputs(setup: dict[str, Path]) -> None:
    result = grade(setup["csv"], "--out", setup["csv"], "--grader", "offline")
    assert result.exit_code == 1, result.output
    assert "would overwrite the input" in result.stderr


def test_one_mode_at_a_time(setup: dict[str, Path], tmp_path: Path) -> None:
    result = grade(
        setup["csv"], "--out", setup["out"], "--dry-run", "--export-batch", tmp_path / "b.jsonl"
    )
    assert result.exit_code == 1, result.output
    assert "only one of" in result.stderr


# --------------------------------------------------------------------------- LLM


def test_llm_run_with_concurrency(setup: dict[str, Path], chat_server: ChatServer) -> None:
    chat_server.handler = grading_handler
    chat_server.delay = 0.02
    result = grade(
        setup["csv"],
        "--out",
        setup["out"],
        "--bank-dir",
        setup["banks"],
        "--concurrency",
        "3",
        *llm_args(chat_server),
    )
    assert result.exit_code == 0, result.output
    assert chat_server.max_active <= 3
    records = read_results(setup["out"])
    assert len(records) == 12
    assert {r["outcome"]["info"]["model"] for r in records} == {"test-model"}
    assert "Tokens (prompt / completion)" in result.stdout


def test_fatal_endpoint_error_exits_1_and_keeps_rows(
    setup: dict[str, Path], chat_server: ChatServer
) -> None:
    seen = 0

    def handler(request: Request) -> Any:
        nonlocal seen
        seen += 1
        return grading_handler(request) if seen <= 4 else unauthorized()

    chat_server.handler = handler
    args: list[str | Path] = [setup["csv"], "--out", setup["out"], "--bank-dir", setup["banks"]]
    result = grade(*args, "--concurrency", "1", *llm_args(chat_server))
    assert result.exit_code == 1, result.output
    assert "re-run the same command to continue" in " ".join(result.stderr.split())
    assert len(read_results(setup["out"])) == 4
    chat_server.handler = grading_handler
    again = grade(*args, "--concurrency", "2", *llm_args(chat_server))
    assert again.exit_code == 0, again.output
    keys = [r["key"] for r in read_results(setup["out"])]
    assert len(keys) == len(set(keys)) == 12


def test_ungraded_rows_exit_2_until_retried(
    setup: dict[str, Path], chat_server: ChatServer
) -> None:
    def handler(request: Request) -> Any:
        content = grade_content(request)
        if "#3" in request.prompt_text:
            return completion(content[:50], finish_reason="length")
        return completion(content)

    chat_server.handler = handler
    args: list[str | Path] = [setup["csv"], "--out", setup["out"], "--bank-dir", setup["banks"]]
    result = grade(*args, *llm_args(chat_server))
    assert result.exit_code == 2, result.output
    assert "truncated 1" in result.stdout
    assert "--retry-ungraded" in result.stderr
    chat_server.handler = grading_handler
    plain = grade(*args, *llm_args(chat_server))
    assert plain.exit_code == 2, plain.output
    retried = grade(*args, "--retry-ungraded", *llm_args(chat_server))
    assert retried.exit_code == 0, retried.output
    records = read_results(setup["out"])
    assert len(records) == 13  # the ungraded line stays; the retry is appended
    latest = {r["key"]: r["graded"] for r in records}
    assert all(latest.values())


def test_dry_run_remote_prices_and_writes_nothing(setup: dict[str, Path], tmp_path: Path) -> None:
    rows = bank_rows(6)
    rows[2]["question_id"] = "ghost"
    source = write_csv(tmp_path / "dry.csv", rows)
    result = grade(
        source,
        "--out",
        setup["out"],
        "--bank-dir",
        setup["banks"],
        "--dry-run",
        "--grader",
        "llm",
        "--base-url",
        "https://api.openai.com/v1",
        "--model",
        "gpt-4o-mini",
    )
    assert result.exit_code == 2, result.output  # one invalid row
    assert "row 3 (id r2): unknown question id 'ghost'" in result.stderr
    assert "Dry run: nothing was sent or written" in result.stdout
    assert "Prompt tokens" in result.stdout
    assert "Estimated cost (USD)" in result.stdout
    assert "0.15 / 0.6" in result.stdout
    assert "config.toml" in result.stdout
    assert not setup["out"].parent.exists()  # no results, no errors file, no report


def test_dry_run_local_measures_a_sample(setup: dict[str, Path], chat_server: ChatServer) -> None:
    chat_server.handler = grading_handler
    result = grade(
        setup["csv"],
        "--out",
        setup["out"],
        "--bank-dir",
        setup["banks"],
        "--dry-run",
        "--concurrency",
        "2",
        *llm_args(chat_server),
    )
    assert result.exit_code == 0, result.output
    assert "none (local endpoint)" in result.stdout
    assert "Expected time" in result.stdout
    assert len(chat_server.chat_requests) == 4
    assert "nothing was sent" not in result.stdout
    assert "Dry run: 4 sample requests sent, nothing written" in result.stdout
    assert not setup["out"].exists()


def test_export_then_import_synthetic_batch_output(setup: dict[str, Path], tmp_path: Path) -> None:
    requests_file = tmp_path / "batch" / "requests.jsonl"
    base: list[str | Path] = [setup["csv"], "--out", setup["out"], "--bank-dir", setup["banks"]]
    model = ["--grader", "llm", "--base-url", "http://127.0.0.1:9/v1", "--model", "served"]
    exported = grade(*base, *model, "--export-batch", requests_file)
    assert exported.exit_code == 0, exported.output
    lines = [json.loads(x) for x in requests_file.read_text(encoding="utf-8").splitlines()]
    assert len(lines) == 12
    assert not setup["out"].exists()
    # A vLLM run-batch style output (current layout), errors inline.
    out_lines = []
    for n, line in enumerate(lines):
        request = Request("POST", line["url"], {}, {}, line["body"])
        if n == 0:
            out_lines.append(
                {
                    "id": "vllm-0",
                    "custom_id": line["custom_id"],
                    "response": {"status_code": 400, "request_id": "r", "body": None},
                    "error": "The model does not exist.",
                }
            )
            continue
        body = completion(grade_content(request)).body
        out_lines.append(
            {
                "id": f"vllm-{n}",
                "custom_id": line["custom_id"],
                "response": {"status_code": 200, "request_id": f"r{n}", "body": body},
                "error": None,
            }
        )
    output = tmp_path / "batch" / "output.jsonl"
    output.write_text("".join(json.dumps(x) + "\n" for x in out_lines), encoding="utf-8")
    imported = grade(*base, *model, "--import-batch", output)
    assert imported.exit_code == 2, imported.output
    records = read_results(setup["out"])
    assert len(records) == 12
    assert sum(r["graded"] for r in records) == 11
    [failed] = [r for r in records if not r["graded"]]
    assert failed["ungraded_reason"] == "endpoint_error"
    assert "does not exist" in failed["outcome"]["ungraded_detail"]
    # Replies made for another model match no row: said plainly, nothing written.
    other = ["--grader", "llm", "--base-url", "http://127.0.0.1:9/v1", "--model", "other"]
    mismatch = grade(*base, *other, "--import-batch", output)
    assert mismatch.exit_code == 2, mismatch.output
    assert "None of the 12 replies" in mismatch.stderr
    assert len(read_results(setup["out"])) == 12


def test_batch_files_grade_a_blank_answer_without_a_request(
    setup: dict[str, Path], tmp_path: Path
) -> None:
    rows = bank_rows(4)
    rows[2]["answer"] = ""
    source = write_csv(tmp_path / "blank.csv", rows)
    requests_file = tmp_path / "requests.jsonl"
    base: list[str | Path] = [source, "--out", setup["out"], "--bank-dir", setup["banks"]]
    model = ["--grader", "llm", "--base-url", "http://127.0.0.1:9/v1", "--model", "served"]
    assert grade(*base, *model, "--export-batch", requests_file).exit_code == 0
    lines = [json.loads(x) for x in requests_file.read_text(encoding="utf-8").splitlines()]
    assert len(lines) == 3  # no request for the blank answer
    replies = []
    for line in lines:
        body = completion(grade_content(Request("POST", line["url"], {}, {}, line["body"]))).body
        replies.append(
            {"custom_id": line["custom_id"], "response": {"status_code": 200, "body": body}}
        )
    output = tmp_path / "output.jsonl"
    output.write_text("".join(json.dumps(x) + "\n" for x in replies), encoding="utf-8")
    imported = grade(*base, *model, "--import-batch", output)
    assert imported.exit_code == 0, imported.output
    records = read_results(setup["out"])
    assert len(records) == 4
    blank = next(r for r in records if r["row"] == 3)
    assert (blank["graded"], blank["score"]) == (True, 0.0)
    assert blank["outcome"]["grade"]["feedback"] == "No answer."


def test_batch_files_need_the_llm_grader(setup: dict[str, Path], tmp_path: Path) -> None:
    result = grade(
        setup["csv"], "--out", setup["out"], "--grader", "offline", "--export-batch", tmp_path / "b"
    )
    assert result.exit_code == 1, result.output
    assert "needs the LLM grader" in result.stderr


def test_replicas_from_a_profile_skip_a_dead_one(
    setup: dict[str, Path], chat_server: ChatServer, isolated_home: Path
) -> None:
    chat_server.handler = grading_handler
    isolated_home.mkdir(parents=True, exist_ok=True)
    (isolated_home / "config.toml").write_text(
        "[endpoints.pool]\n"
        f'base_urls = ["http://127.0.0.1:9/v1", "{chat_server.url}"]\n'
        'model = "test-model"\n'
        "max_retries = 0\n"
        "timeout = 5\n"
        "concurrency = 2\n",
        encoding="utf-8",
    )
    result = grade(
        setup["csv"], "--out", setup["out"], "--bank-dir", setup["banks"], "--endpoint", "pool"
    )
    assert result.exit_code == 0, result.output
    assert "Took http://127.0.0.1:9/v1 out of the rotation" in result.stderr
    assert len(read_results(setup["out"])) == 12
    assert chat_server.max_active <= 2


# --------------------------------------------------------------------------- a real process


def _count_lines(path: Path) -> int:
    if not path.exists():
        return 0
    return path.read_bytes().count(b"\n")


@pytest.mark.slow
def test_killed_process_resumes_to_a_complete_duplicate_free_result(tmp_path: Path) -> None:
    banks = write_bank(tmp_path / "banks")
    total = 60
    source = write_csv(tmp_path / "answers.csv", bank_rows(total))
    out = tmp_path / "results.jsonl"
    env = {**os.environ, "INTERVIEWER_HOME": str(tmp_path / "home"), "PYTHONPATH": str(REPO)}
    with ChatServer(handler=grading_handler, delay=0.05, record=False) as server:
        cmd = [
            sys.executable,
            "-m",
            "interviewer",
            "grade",
            str(source),
            "--out",
            str(out),
            "--bank-dir",
            str(banks),
            "--grader",
            "llm",
            "--base-url",
            server.url,
            "--model",
            "test-model",
            "--concurrency",
            "4",
        ]
        quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
        with child(cmd, env=env, cwd=tmp_path, **quiet) as proc:
            deadline = time.monotonic() + 60
            while _count_lines(out) < 12 and proc.poll() is None and time.monotonic() < deadline:
                time.sleep(0.02)
            assert proc.poll() is None, "the run finished before it could be killed"
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=10)
        partial = _count_lines(out)
        assert 12 <= partial < total
        # Simulate the worst case too: a line torn by the kill.
        with out.open("ab") as fh:
            fh.write(b'{"key": "torn-by-kill", "gra')
        again = subprocess.run(
            cmd, env=env, capture_output=True, text=True, cwd=tmp_path, timeout=120
        )
    assert again.returncode == 0, again.stderr
    assert "Dropped an incomplete last line" in again.stderr
    records = read_results(out)
    keys = [r["key"] for r in records]
    assert len(keys) == len(set(keys)) == total
    assert sorted(r["row"] for r in records) == list(range(1, total + 1))
    assert all(r["graded"] for r in records)


@pytest.mark.slow
def test_ctrl_c_stops_cleanly(tmp_path: Path) -> None:
    banks = write_bank(tmp_path / "banks")
    source = write_csv(tmp_path / "answers.csv", bank_rows(80))
    out = tmp_path / "results.jsonl"
    env = {**os.environ, "INTERVIEWER_HOME": str(tmp_path / "home"), "PYTHONPATH": str(REPO)}
    with ChatServer(handler=grading_handler, delay=0.1, record=False) as server:
        cmd = [
            sys.executable,
            "-m",
            "interviewer",
            "grade",
            str(source),
            "--out",
            str(out),
            "--bank-dir",
            str(banks),
            "--grader",
            "llm",
            "--base-url",
            server.url,
            "--model",
            "test-model",
            "--concurrency",
            "4",
        ]
        pipes = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE}
        with child(cmd, env=env, text=True, cwd=tmp_path, **pipes) as proc:
            deadline = time.monotonic() + 60
            while _count_lines(out) < 8 and proc.poll() is None and time.monotonic() < deadline:
                time.sleep(0.02)
            proc.send_signal(signal.SIGINT)
            _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    assert "Interrupted" in stderr
    data = out.read_bytes()
    assert data.endswith(b"\n")
    records = read_results(out)
    assert 8 <= len(records) < 80
    assert len({r["key"] for r in records}) == len(records)


def test_the_configured_grader_is_used_when_no_flag_is_given(
    setup: dict[str, Path], isolated_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # An endpoint left in the environment must not override `grader = "offline"` in the
    # config file: flags > INTERVIEWER_GRADER > config file > auto.
    isolated_home.mkdir(parents=True, exist_ok=True)
    (isolated_home / "config.toml").write_text('grader = "offline"\n', encoding="utf-8")
    monkeypatch.setenv("INTERVIEWER_BASE_URL", "http://127.0.0.1:9/v1")
    monkeypatch.setenv("INTERVIEWER_MODEL", "gone")
    result = grade(setup["csv"], "--out", setup["out"], "--bank-dir", setup["banks"])
    assert result.exit_code == 0, result.output
    records = read_results(setup["out"])
    assert len(records) == 12
    assert {r["outcome"]["info"]["kind"] for r in records} == {"offline"}
