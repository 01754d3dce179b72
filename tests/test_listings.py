"""Listings and scores as users see them: one score format, CJK answers measured in cells."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from interviewer.cli import app
from interviewer.grading.grade import format_score
from interviewer.history.store import HistoryStore
from tests.conftest import REPO
from tests.history_fakes import FAKE_INFO, graded, make_question

runner = CliRunner()

ZH_ANSWER = (
    "检索增强生成先从知识库中检索相关文档，再把文档放进提示词里，让模型基于最新的事实回答问题。" * 2
)


@pytest.mark.parametrize(
    ("value", "shown"),
    [(22.5, "22.5"), (22.0, "22"), (22.04, "22"), (99.96, "100"), (0.0, "0"), (None, "—")],
)
def test_a_score_shows_one_decimal_only_when_needed(value: float | None, shown: str) -> None:
    assert format_score(value) == shown


@pytest.fixture
def half_point(isolated_home: Path) -> dict[str, Any]:
    """One attempt graded 22.5, with a Chinese answer."""
    q = make_question("zh-rag", bank="clitest", language="zh", question="检索增强生成是什么？")
    with HistoryStore.open_default() as store:
        sid = store.start_session(mode="practice", grader=FAKE_INFO)
        attempt = store.record_answer(session_id=sid, question=q, answer=ZH_ANSWER)
        store.record_outcome(attempt, graded(22.5, q))
        store.end_session(sid)
    return {"session": sid, "attempt": attempt}


def invoke(*args: str) -> Any:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result


def piped(*args: str, columns: int = 80) -> str:
    """Run a command in a child process with stdout piped at ``columns`` cells."""
    env = {**os.environ, "COLUMNS": str(columns)}
    result = subprocess.run(
        [sys.executable, "-m", "interviewer", *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=env,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_history_list_and_show_and_export_agree_on_the_score(
    half_point: dict[str, Any], tmp_path: Path
) -> None:
    listed = invoke("history").stdout
    shown = invoke("history", "show", str(half_point["attempt"])).stdout
    out = tmp_path / "h.md"
    invoke("export", "--format", "md", "--out", str(out))
    assert "22.5" in listed
    assert "22.5" in shown
    assert "22.5" in out.read_text(encoding="utf-8")


def cells(line: str) -> int:
    from rich.cells import cell_len

    return cell_len(line)


def assert_fits(output: str, width: int = 80) -> None:
    wide = [line for line in output.splitlines() if cells(line) > width]
    assert not wide, "\n".join(wide)


@pytest.fixture
def chinese_answers(isolated_home: Path) -> list[int]:
    """Three graded attempts with long Chinese answers to a Chinese question."""
    q = make_question("zh-rag", bank="clitest", language="zh", question="检索增强生成是什么？" * 6)
    ids = []
    with HistoryStore.open_default() as store:
        sid = store.start_session(mode="practice", grader=FAKE_INFO)
        for score in (35.0, 60.0, 90.0):
            attempt = store.record_answer(session_id=sid, question=q, answer=ZH_ANSWER)
            store.record_outcome(attempt, graded(score, q))
            ids.append(attempt)
        store.end_session(sid)
    return ids


@pytest.mark.parametrize(
    "args",
    [("history",), ("history", "--sessions"), ("regrade", "--dry-run", "--all"), ("due",)],
)
def test_chinese_answers_keep_every_listing_within_80_cells(
    chinese_answers: list[int], args: tuple[str, ...]
) -> None:
    output = piped(*args)
    assert_fits(output)
    if args[0] != "due" and "--sessions" not in args:
        for attempt in chinese_answers:
            assert re.search(rf"^│ +{attempt} │", output, re.MULTILINE), output
        assert "│ rag " in output, output  # the topic column is not squeezed out either


def test_bank_list_of_chinese_questions_fits_80_cells_in_plain_mode() -> None:
    output = piped("bank", "list", "--bank", "llm-zh")
    assert_fits(output)
    assert "llm-zh-41" in output
