"""Text that is not ours is printed exactly as written, by every command.

Bank content, answers, model replies, file names and server messages often hold bracket tags
(``[INST]``, ``[/INST]``, ``[bold]``, ``[/]``, ``[link=…]``) that the terminal renderer would
read as its own markup: an unmatched closing tag crashes the command, a known style tag
silently swallows the brackets. Each command below is run on such text and must print it
literally.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from interviewer.cli import app
from tests.batch_support import write_csv
from tests.chat_server import ChatServer, Reply, grade_reply, matching_grade_reply

runner = CliRunner()
OFFLINE_SAMPLE = Path(__file__).parent / "data" / "offline" / "saf-en-sample.jsonl"

# Each tag alone survives a line wrap; every one of them must appear as typed.
TAGS = ("[INST]", "[/INST]", "[bold]", "[/bold]", "[/]", "[red]x[/red]", "[link=https://e.example]")
MARKED = " ".join(TAGS)
BANK = f"""bank:
  id: tags
  title: "Tags {MARKED}"
  language: en
questions:
  - id: tags-1
    topic: "[bold]topic[/bold]"
    tags: ["[red]t[/red]"]
    question: "{MARKED} What is a closure?"
    reference: "{MARKED} A function that keeps its enclosing scope."
    reference_notes: "{MARKED} note"
    key_points:
      - "{MARKED} keeps the enclosing scope"
      - "{MARKED} captured by reference"
    follow_ups:
      - "{MARKED} Why does late binding bite?"
"""
ANSWER = f"{MARKED} it keeps the enclosing scope, captured by reference"


def flat(result: Any) -> str:
    """All output (stdout and stderr) with line wraps and box edges folded away."""
    text = result.output
    for edge in "│┃║":
        text = text.replace(edge, " ")
    return " ".join(text.split())


def ok(*args: str | Path, input: str | None = None, codes: tuple[int, ...] = (0,)) -> str:
    result = runner.invoke(app, [str(a) for a in args], input=input)
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(
        result.exception
    )
    assert result.exit_code in codes, result.output
    return flat(result)


def assert_literal(text: str, tags: tuple[str, ...] = TAGS) -> None:
    for tag in tags:
        assert tag in text, (tag, text)


@pytest.fixture
def bank_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "banks"
    folder.mkdir()
    (folder / "tags.yaml").write_text(BANK, encoding="utf-8")
    monkeypatch.setenv("INTERVIEWER_BANK_DIRS", str(folder))
    return folder


def practice(*extra: str, codes: tuple[int, ...] = (0,)) -> str:
    # An answer, then the follow-up's answer, each ended by a line '.'.
    script = f"{ANSWER}\n.\n{ANSWER}\n.\n"
    args = ("practice", "--bank", "tags", "--follow-ups", "1", *extra)
    return ok(*args, input=script, codes=codes)


def test_bank_commands(bank_dir: Path) -> None:
    assert_literal(ok("bank", "list", "--bank", "tags"), ("[INST]", "[/INST]", "[bold]"))
    shown = ok("bank", "show", "tags-1")
    assert_literal(shown)
    assert "[bold]topic[/bold]" in shown
    assert "[red]t[/red]" in shown
    assert "✓" in ok("bank", "validate", bank_dir / "tags.yaml")


def test_offline_practice_history_and_progress(
    bank_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    out = practice("--grader", "offline")
    assert_literal(out)
    assert "[bold]topic[/bold]" in out
    assert_literal(ok("history"), ("[INST]", "[/INST]"))
    assert_literal(ok("history", "show", "1"))
    assert "[bold]topic[/bold]" in ok("stats")
    due = ok("due")
    assert "[bold]topic[/bold]" in due
    assert_literal(ok("export"))
    page = Path("[bold]page.html")
    assert "[bold]page.html" in ok("export", "--out", page)
    regraded = ok("regrade", "--all", "--grader", "offline")
    assert "Regraded" in regraded


def test_mock_interview(bank_dir: Path) -> None:
    script = f"{ANSWER}\n.\n{ANSWER}\n.\n"
    out = ok("mock", "--bank", "tags", "--grader", "offline", "--follow-ups", "0", input=script)
    assert_literal(out)
    assert "[bold]topic[/bold]" in out


def test_llm_practice_with_a_marked_up_reply(bank_dir: Path, chat_server: ChatServer) -> None:
    reply = grade_reply(
        feedback=f"{MARKED} feedback",
        follow_ups=[f"{MARKED} model follow-up"],
        factual_errors=[f"{MARKED} error"],
        reference_issues=[f"{MARKED} issue"],
        key_points=[("covered", "[INST] it keeps"), ("partial", "")],
    )
    chat_server.models = ["[bold]m[/]"]
    chat_server.enqueue(reply)
    chat_server.handler = matching_grade_reply
    out = practice("--base-url", chat_server.url, "--model", "[bold]m[/]")
    assert_literal(out)
    assert "[bold]m[/]" in out
    assert_literal(ok("history", "show", "1"))


def test_server_messages_are_literal(bank_dir: Path, chat_server: ChatServer) -> None:
    chat_server.models = ["m", "[bold]m[/]"]
    chat_server.handler = lambda request: Reply(400, {"error": {"message": f"{MARKED} bad"}})
    # The endpoint refuses every request: the session stops with the server's message.
    assert_literal(practice("--base-url", chat_server.url, "--model", "m", codes=(1,)))
    checked = ok("endpoints", "check", "--base-url", chat_server.url, "--model", "m", codes=(1,))
    assert_literal(checked)
    added = ok("endpoints", "add", "p", "--base-url", chat_server.url, "--model", "[bold]m[/]")
    assert "p" in added
    assert "[bold]m[/]" in ok("endpoints", "list")


def test_grade_and_eval_summaries(
    bank_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Relative paths, so that no long temporary path is folded across lines.
    monkeypatch.chdir(tmp_path)
    source = write_csv(
        Path("[INST]answers[bold].csv"),
        [{"id": "r1", "question_id": "tags-1", "answer": ANSWER}],
    )
    out = Path("[bold]out") / "results.jsonl"
    graded = ok("grade", source, "--out", out, "--grader", "offline", codes=(0, 2))
    assert "[bold]out/results.jsonl" in graded
    sample = Path("[bold]sample[INST].jsonl")
    shutil.copy(OFFLINE_SAMPLE, sample)
    evaluated = ok("eval", sample, "--grader", "offline", "--bootstrap", "0")
    assert "[bold]sample[INST].jsonl" in evaluated
