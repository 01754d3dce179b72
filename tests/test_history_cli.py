"""The history, stats, export, due and regrade commands, end to end through the CLI."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from interviewer.cli import app
from interviewer.config import db_path
from interviewer.history.store import HistoryStore
from tests.chat_server import ChatServer, unauthorized
from tests.history_fakes import (
    FAKE_INFO,
    ScriptedGrader,
    graded,
    make_question,
    ungraded,
)

runner = CliRunner()

BANK = """\
bank:
  id: clitest
  title: CLI test bank
  language: en
questions:
  - id: cli-rag
    question: What does retrieval-augmented generation add to a model?
    reference: Retrieved documents are put into the prompt so answers cite fresh facts.
    key_points: [retrieval of documents, documents in the prompt]
    topic: rag
    difficulty: easy
  - id: cli-new
    question: What is a vector index?
    reference: A structure for nearest-neighbour search over embeddings.
    topic: rag
"""


def invoke(*args: str, **kw: Any) -> Any:
    result = runner.invoke(app, list(args), **kw)
    return result


def ok(*args: str) -> Any:
    result = invoke(*args)
    assert result.exit_code == 0, result.output
    return result


@pytest.fixture
def bank_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "banks"
    folder.mkdir()
    (folder / "clitest.yaml").write_text(BANK, encoding="utf-8")
    return folder


@pytest.fixture
def seeded(isolated_home: Path) -> dict[str, Any]:
    """Two sessions in the default database: graded, ungraded, a follow-up and a skip."""
    q_rag = make_question("cli-rag", topic="rag", difficulty="easy", bank="clitest")
    q_gone = make_question("gone-q", topic="tuning", question="A question no bank has now")
    with HistoryStore.open_default() as store:
        first = store.start_session(mode="practice", grader=FAKE_INFO)
        a1 = store.record_answer(session_id=first, question=q_rag, answer="score:35 retrieval")
        store.record_outcome(a1, graded(35, q_rag))
        fu = store.record_answer(
            session_id=first,
            question=q_rag,
            answer="score:20 cannot say",
            kind="follow_up",
            parent_id=a1,
            prompt="Why not fine-tune instead?",
        )
        store.record_outcome(fu, ungraded("endpoint_error", "HTTP 503"))
        a2 = store.record_answer(session_id=first, question=q_gone, answer="score:81 lots")
        store.record_outcome(a2, ungraded("truncated", "finish_reason=length"))
        skip = store.record_skip(session_id=first, question=q_rag)
        store.end_session(first)
        second = store.start_session(mode="mock", grader=FAKE_INFO)
        a3 = store.record_answer(session_id=second, question=q_gone, answer="never graded")
    return {"first": first, "second": second, "a1": a1, "fu": fu, "a2": a2, "a3": a3, "skip": skip}


def grades_of(attempt_id: int) -> list[tuple[int, float | None, str | None]]:
    conn = sqlite3.connect(db_path())
    rows = conn.execute(
        "SELECT graded, final_score, model FROM grades WHERE attempt_id = ? ORDER BY id",
        (attempt_id,),
    ).fetchall()
    conn.close()
    return rows


def test_history_path_prints_the_database_location(isolated_home: Path) -> None:
    result = ok("history", "--path")
    assert result.stdout.strip() == str(isolated_home / "history.db")
    assert not (isolated_home / "history.db").exists()


def test_history_on_a_fresh_install(isolated_home: Path) -> None:
    result = ok("history")
    assert "No attempts match" in result.output


def test_history_lists_and_filters(seeded: dict[str, Any]) -> None:
    listing = ok("history").stdout
    for qid in ("cli-rag", "gone-q"):
        assert qid in listing
    assert "skipped" in listing
    assert "ungraded: truncated" in listing
    data = json.loads(ok("history", "--json").stdout)
    assert [a["id"] for a in data] == [
        seeded["a3"],
        seeded["skip"],
        seeded["a2"],
        seeded["fu"],
        seeded["a1"],
    ]
    ungraded_ids = [a["id"] for a in json.loads(ok("history", "--ungraded", "--json").stdout)]
    assert ungraded_ids == [seeded["a3"], seeded["a2"], seeded["fu"]]
    topic = json.loads(ok("history", "--topic", "TUNING", "--json").stdout)
    assert {a["question_id"] for a in topic} == {"gone-q"}
    one = json.loads(ok("history", "--session", seeded["second"][:7], "--json").stdout)
    assert [a["id"] for a in one] == [seeded["a3"]]
    assert json.loads(ok("history", "--limit", "2", "--json").stdout)[1]["id"] == seeded["skip"]
    assert json.loads(ok("history", "--since", "2999-01-01", "--json").stdout) == []
    sessions = json.loads(ok("history", "--sessions", "--json").stdout)
    assert [s["mode"] for s in sessions] == ["mock", "practice"]
    assert "mock" in ok("history", "--sessions").stdout


def test_history_show_puts_grades_side_by_side(seeded: dict[str, Any]) -> None:
    with HistoryStore.open_default() as store:
        store.record_outcome(seeded["a1"], graded(72, make_question("cli-rag")))
    out = ok("history", "show", str(seeded["a1"])).stdout
    assert "Grade 1" in out
    assert "Latest grade" in out
    assert "35" in out
    assert "72" in out
    assert "Why not fine-tune instead?" in out
    assert "ungraded: endpoint_error" in out
    assert "Reference answer" in out
    assert (
        "Reference answer" not in ok("history", "show", str(seeded["a1"]), "--no-reference").stdout
    )
    data = json.loads(ok("history", "show", str(seeded["a1"]), "--json").stdout)
    assert [g["score"] for g in data["grades"]] == [35.0, 72.0]


def test_key_point_marks_agree_on_screen_and_in_exports(
    isolated_home: Path, tmp_path: Path
) -> None:
    q = make_question("marks", key_points=["alpha", "beta", "gamma", "delta"])
    statuses = ["covered", "partial", "missing", "contradicted"]
    outcome = graded(60, q)
    assert outcome.grade is not None
    points = [
        kp.model_copy(update={"status": s})
        for kp, s in zip(outcome.grade.key_points, statuses, strict=True)
    ]
    outcome = outcome.model_copy(
        update={"grade": outcome.grade.model_copy(update={"key_points": points})}
    )
    with HistoryStore.open_default() as store:
        sid = store.start_session(mode="practice", grader=FAKE_INFO)
        attempt = store.record_answer(session_id=sid, question=q, answer="an answer")
        store.record_outcome(attempt, outcome)
    expected = {"alpha": "✓", "beta": "◐", "gamma": "✗", "delta": "‼"}
    screen = ok("history", "show", str(attempt)).stdout
    markdown = ok("export").stdout
    page = tmp_path / "marks.html"
    ok("export", "--out", str(page))
    html = page.read_text(encoding="utf-8")
    for (text, mark), status in zip(expected.items(), statuses, strict=True):
        assert f"{mark} {text}" in screen
        assert f"- {mark} {status}: {text}" in markdown
        assert f'<li class="{status}">{mark} {text}</li>' in html


def test_errors_are_one_line(seeded: dict[str, Any]) -> None:
    result = invoke("history", "show", "999")
    assert result.exit_code == 1, result.output
    # One message (the terminal may wrap it), no traceback.
    assert result.stderr.startswith("Error: No attempt 999")
    assert "`interviewer history` lists them." in " ".join(result.stderr.split())
    assert "Traceback" not in result.output
    result = invoke("history", "--since", "yesterday-ish")
    assert result.exit_code == 1, result.output
    assert "--since 'yesterday-ish' is not a date" in result.stderr
    result = invoke("history", "--session", "ffffffffff")
    assert result.exit_code == 1, result.output
    assert "No session 'ffffffffff'" in result.stderr


def test_newer_database_is_refused_by_every_command(isolated_home: Path) -> None:
    HistoryStore.open_default().close()
    conn = sqlite3.connect(db_path())
    conn.execute("INSERT INTO _migrations VALUES ('m999_future', 'x')")
    conn.commit()
    conn.close()
    for command in (["history"], ["stats"], ["regrade"], ["export"]):
        result = invoke(*command)
        assert result.exit_code == 1, result.output
        assert "newer interviewer" in result.stderr


def test_stats_json_and_charts(seeded: dict[str, Any]) -> None:
    data = json.loads(ok("stats", "--json").stdout)
    totals = data["totals"]
    # Practice + mock main answers: a1 (35), a2 (ungraded), a3 (pending), and the skip.
    assert (totals["attempts"], totals["graded"], totals["ungraded"], totals["skipped"]) == (
        4,
        1,
        2,
        1,
    )
    assert totals["mean"] == 35.0
    assert [t["topic"] for t in data["by_topic"]] == ["rag", "tuning"]
    screen = ok("stats").stdout
    assert "By topic" in screen
    assert "By difficulty" in screen
    assert any(ch in screen for ch in "▁▂▃▄▅▆▇█")
    assert json.loads(ok("stats", "--topic", "nothing", "--json").stdout)["totals"]["attempts"] == 0


def test_export_formats(seeded: dict[str, Any], tmp_path: Path) -> None:
    page = tmp_path / "out" / "history.html"
    result = ok("export", "--format", "html", "--out", str(page))
    assert "Wrote" in result.stderr
    text = page.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>")
    assert "Why not fine-tune instead?" in text
    lines = tmp_path / "one.jsonl"
    ok("export", "--session", seeded["second"][:8], "--out", str(lines))
    records = [json.loads(line) for line in lines.read_text(encoding="utf-8").splitlines()]
    assert [r["type"] for r in records] == ["session", "attempt"]
    assert records[1]["id"] == seeded["a3"]
    markdown = ok("export", "--since", "2000-01-01", "--until", "2999-12-31").stdout
    assert markdown.startswith("# Interview history 2000-01-01 – 2999-12-31")
    assert "score:81 lots" in markdown
    result = invoke("export", "--session", "abc", "--since", "7d")
    assert result.exit_code == 1, result.output
    assert "either --session or --since/--until" in result.stderr
    result = invoke("export", "--format", "pdf")
    assert result.exit_code == 1, result.output


def test_due_lists_due_upcoming_and_new(
    seeded: dict[str, Any], bank_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = json.loads(ok("due", "--bank-dir", str(bank_dir), "--json").stdout)
    # cli-rag was graded 35 (Again) and then skipped: scheduled for the next day.
    assert [d["question_id"] for d in data["due"] + data["upcoming"]] == ["cli-rag"]
    assert data["upcoming"][0]["last_rating"] == "again"
    new = {n["question_id"] for n in data["new"]}
    assert "cli-new" in new
    assert "cli-rag" not in new
    assert "gone-q" not in new
    screen = ok("due", "--bank-dir", str(bank_dir)).stdout
    assert "Never practised" in screen
    assert "cli-rag" in screen


def test_regrade_keeps_the_old_grades(
    seeded: dict[str, Any], bank_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    grader = ScriptedGrader()
    monkeypatch.setattr("interviewer.cli.history_cmd.build_grader", lambda config, **kw: grader)
    plan = ok("regrade", "--dry-run").stdout
    assert "Would regrade 3 attempt(s)" in plan
    assert grader.calls == []

    result = ok("regrade", "--bank-dir", str(bank_dir))
    assert "Regraded 3 of 3" in result.stdout
    assert grades_of(seeded["a2"]) == [(0, None, "fake-model"), (1, 81.0, "regrader-model")]
    assert grades_of(seeded["a3"]) == [(1, 66.0, "regrader-model")]
    assert grades_of(seeded["fu"])[-1] == (1, 20.0, "regrader-model")
    # The follow-up was graded against its own question, not the main one.
    asked = {answer: q.question for q, answer in grader.calls}
    assert asked["score:20 cannot say"] == "Why not fine-tune instead?"
    # gone-q is in no bank: its stored copy was used.
    assert asked["score:81 lots"] == "A question no bank has now"
    conn = sqlite3.connect(db_path())
    modes = [r[0] for r in conn.execute("SELECT mode FROM sessions ORDER BY started_at")]
    assert modes.count("regrade") == 1
    assert b"sk-test-should-never-be-stored" not in db_path().read_bytes()
    conn.close()

    again = ok("regrade")
    assert "Nothing to regrade" in again.stdout
    ok("regrade", "--all", "--session", seeded["first"][:8], "--bank-dir", str(bank_dir))
    # The bank's current version of cli-rag is graded, and both grades remain.
    assert grades_of(seeded["a1"]) == [(1, 35.0, "fake-model"), (1, 35.0, "regrader-model")]
    assert any(
        q.question == "What does retrieval-augmented generation add to a model?"
        for q, _ in grader.calls
    )
    show = ok("history", "show", str(seeded["a1"])).stdout
    assert "regrader-model" in show
    assert "fake-model" in show


def test_regrade_with_the_offline_grader(seeded: dict[str, Any], bank_dir: Path) -> None:
    pytest.importorskip("interviewer.grading.offline")
    result = ok("regrade", "--grader", "offline", "--session", seeded["second"])
    assert "Regraded 1 of 1" in result.stdout
    [(was_graded, score, _)] = grades_of(seeded["a3"])
    assert was_graded == 1
    assert score is not None
    conn = sqlite3.connect(db_path())
    [(grader,)] = conn.execute(
        "SELECT grader FROM grades WHERE attempt_id = ?", (seeded["a3"],)
    ).fetchall()
    conn.close()
    assert grader == "offline"


def test_regrade_stops_at_a_fatal_endpoint_error(
    seeded: dict[str, Any], bank_dir: Path, chat_server: ChatServer
) -> None:
    chat_server.enqueue(unauthorized())
    result = invoke(
        "regrade",
        "--bank-dir",
        str(bank_dir),
        "--base-url",
        chat_server.url,
        "--model",
        "test-model",
    )
    assert result.exit_code == 1, result.output
    assert "Stopped early" in result.stderr
    assert "Regraded 0 of 1" in result.stdout
    # The follow-up is the oldest ungraded answer: its failure is recorded, the rest untouched.
    assert grades_of(seeded["fu"])[-1] == (0, None, "test-model")
    assert grades_of(seeded["a2"]) == [(0, None, "fake-model")]
    assert grades_of(seeded["a3"]) == []
    conn = sqlite3.connect(db_path())
    [(report,)] = conn.execute("SELECT report_json FROM sessions WHERE mode = 'regrade'")
    conn.close()
    stored = json.loads(report)
    assert (stored["regraded"], stored["considered"]) == (0, 1)
    assert "401" in stored["stopped"]


def test_regrade_without_the_question_fails_that_attempt_only(
    seeded: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    grader = ScriptedGrader()
    monkeypatch.setattr("interviewer.cli.history_cmd.build_grader", lambda config, **kw: grader)
    conn = sqlite3.connect(db_path())
    with conn:
        conn.execute("DELETE FROM question_versions WHERE question_id = 'gone-q'")
    conn.close()
    result = ok("regrade")
    assert "Regraded 1 of 3 attempt(s), 2 still ungraded" in result.stdout
    assert "gone-q' is not in the loaded banks" in result.stderr
    assert grades_of(seeded["a2"]) == [(0, None, "fake-model")]
    assert grades_of(seeded["a3"]) == []
    assert grades_of(seeded["fu"])[-1] == (1, 20.0, "regrader-model")


def test_every_command_has_help() -> None:
    for command in (
        ["history"],
        ["history", "show"],
        ["stats"],
        ["export"],
        ["due"],
        ["regrade"],
    ):
        result = ok(*command, "--help")
        assert "Usage" in result.stdout
        assert len(result.stdout) > 200


def test_dates_use_local_days(seeded: dict[str, Any]) -> None:
    today = datetime.now(UTC).astimezone().date().isoformat()
    rows = json.loads(ok("history", "--since", today, "--until", today, "--json").stdout)
    assert len(rows) == 5


def test_due_survives_a_broken_bank(seeded: dict[str, Any], tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("bank: [this is not a bank\n", encoding="utf-8")
    result = ok("due", "--bank-dir", str(broken), "--json")
    assert "Banks not loaded" in result.stderr
    data = json.loads(result.stdout)
    assert [d["question_id"] for d in data["due"] + data["upcoming"]] == ["cli-rag"]
    assert data["new"] == []
