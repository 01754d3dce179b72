"""`interviewer practice` and `interviewer mock` driven through the CLI with piped answers.

Each test asserts the exit code (with the output as the message), then what was written to
the history database: answers are saved before grading, grades after.
"""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from interviewer.cli import app
from interviewer.grading.grade import Grade

runner = CliRunner()
DATA_BANK = Path(__file__).parent / "data" / "bank"

ZH_ANSWER = (
    "A/B 测试把用户随机分配到不同的模型版本，其他条件保持一致，在真实线上环境中收集用户满意度和"
    "业务指标，事先确定主要指标和样本量，用显著性检验判断差异是否真实，同时监控延迟和成本等护栏指标。"
)
EN_ANSWER = (
    "An A/B test randomly assigns users to model versions, keeps everything else equal, and "
    "collects real online data such as user satisfaction and business metrics. We fix the "
    "primary metric and sample size in advance and use a significance test, while watching "
    "guardrail metrics like latency and cost."
)


def rows(home: Path, sql: str, *params: Any) -> list[sqlite3.Row]:
    conn = sqlite3.connect(home / "history.db")
    conn.row_factory = sqlite3.Row
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def practice(*args: str, input: str) -> Any:
    return runner.invoke(app, ["practice", *args], input=input)


@pytest.mark.parametrize(
    ("bank", "qid", "answer"),
    [("llm-zh", "llm-zh-41", ZH_ANSWER), ("llm-en", "llm-en-41", EN_ANSWER)],
)
def test_piped_session_grades_offline_and_writes_db(isolated_home, bank, qid, answer):
    result = practice(
        "--bank", bank, "--in-order", "-n", "1", "--follow-ups", "0", input=f"{answer}\n.\n"
    )
    assert result.exit_code == 0, result.output
    assert "offline estimate" in result.output
    assert "Key points" in result.output
    assert "Session summary" in result.output
    attempts = rows(isolated_home, "SELECT * FROM attempts")
    assert len(attempts) == 1
    assert attempts[0]["question_id"] == qid
    assert attempts[0]["answer"] == answer
    grades = rows(isolated_home, "SELECT * FROM grades")
    assert len(grades) == 1
    assert grades[0]["graded"] == 1
    assert grades[0]["grader"] == "offline"
    assert grades[0]["score"] > 30  # a complete answer is not graded as a blank one


def test_good_answer_scores_above_vague_and_off_topic(isolated_home):
    scores = []
    for answer in (ZH_ANSWER, "A/B 测试就是比较两个东西。", "今天天气很好，我喜欢吃苹果。"):
        result = practice(
            "--bank", "llm-zh", "--in-order", "-n", "1", "--follow-ups", "0",
            input=f"{answer}\n.\n",
        )  # fmt: skip
        assert result.exit_code == 0, result.output
    for row in rows(isolated_home, "SELECT score FROM grades ORDER BY id"):
        scores.append(row["score"])
    assert scores[0] > scores[1] > scores[2], scores


def test_empty_answer_is_refused_then_real_answer_graded(isolated_home):
    result = practice(
        "--bank", "llm-en", "--in-order", "-n", "1", "--follow-ups", "0",
        input=f".\n\n.\n{EN_ANSWER}\n.\n",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "empty answer can't be graded" in result.output
    answers = [r["answer"] for r in rows(isolated_home, "SELECT answer FROM attempts")]
    assert answers == [EN_ANSWER]


def test_skip_hint_and_quit(isolated_home):
    script = "/skip\n/hint\nrandom users, significance test\n.\n/quit\n"
    result = practice(
        "--bank", "llm-en", "--in-order", "-n", "3", "--follow-ups", "0", input=script
    )
    assert result.exit_code == 0, result.output
    assert "Hint 1:" in result.output
    assert "(this key point now earns at most half credit)" in " ".join(result.output.split())
    attempts = rows(isolated_home, "SELECT kind, hints_used FROM attempts ORDER BY id")
    assert [(a["kind"], a["hints_used"]) for a in attempts] == [("skip", 0), ("answer", 1)]
    stored = rows(isolated_home, "SELECT score, final_score, grade_json FROM grades")[0]
    grade = Grade.model_validate_json(stored["grade_json"])
    # The first key point was revealed: the final score counts it at most as partial.
    assert stored["final_score"] == grade.final_score({1})
    assert stored["final_score"] <= stored["score"]


def test_end_of_input_ends_answer_and_session(isolated_home):
    result = practice("--bank", "llm-en", "--in-order", "-n", "3", input=EN_ANSWER)
    assert result.exit_code == 0, result.output
    attempts = rows(isolated_home, "SELECT answer FROM attempts")
    assert [a["answer"] for a in attempts] == [EN_ANSWER]
    sessions = rows(isolated_home, "SELECT ended_at FROM sessions")
    assert sessions[0]["ended_at"] is not None


def test_follow_up_exchange_is_saved_with_its_parent(isolated_home):
    script = f"{EN_ANSWER}\n.\nI would run it longer and check guardrails.\n.\n"
    result = practice(
        "--bank", "llm-en", "--in-order", "-n", "1", "--follow-ups", "1", input=script
    )
    assert result.exit_code == 0, result.output
    assert "Follow-up 1/1" in result.output
    attempts = rows(isolated_home, "SELECT * FROM attempts ORDER BY id")
    assert [a["kind"] for a in attempts] == ["answer", "follow_up"]
    assert attempts[1]["parent_id"] == attempts[0]["id"]
    assert attempts[1]["prompt"]  # the follow-up question text is kept
    assert attempts[1]["answer"] == "I would run it longer and check guardrails."
    assert len(rows(isolated_home, "SELECT * FROM grades")) == 2
    shown = runner.invoke(app, ["history", "show", str(attempts[1]["id"])])
    assert shown.exit_code == 0, shown.output
    assert f"follow-up to llm-en-41 (attempt {attempts[0]['id']})" in shown.output
    assert attempts[1]["prompt"][:30] in " ".join(shown.output.split())


def test_user_bank_dir_and_filters(isolated_home):
    result = practice(
        "--bank-dir", str(DATA_BANK), "--bank", "tiny", "--topic", "systems",
        "--follow-ups", "0", input="Use a TTL and versioned keys.\n.\n",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert [r["question_id"] for r in rows(isolated_home, "SELECT * FROM attempts")] == [
        "tiny-cache"
    ]


def test_bad_filters_fail_with_one_clear_line(isolated_home):
    result = practice("--bank", "nope", input="")
    assert result.exit_code == 1
    assert "Unknown bank 'nope'" in result.output
    assert "Traceback" not in result.output


def test_mock_interview_runs_from_a_pipe_and_saves_a_report(isolated_home):
    script = f"{EN_ANSWER}\n.\n/skip\n/skip\n"
    result = runner.invoke(
        app,
        ["mock", "--minutes", "5", "-n", "2", "--bank", "llm-en", "--seed", "1"],
        input=script,
    )
    assert result.exit_code == 0, result.output
    assert "Mock interview report" in result.output
    assert "Revisit first" in result.output
    session = rows(isolated_home, "SELECT * FROM sessions")[0]
    assert session["mode"] == "mock"
    report = json.loads(session["report_json"])
    assert report["answered"] == 1
    assert report["verdict"]
    assert report["revisit"][0]["score"] == 0.0  # a skipped question is revisited first
    answered = report["revisit"][1]["score"]
    assert report["mean_score"] == round(answered / 2, 1)  # the skip counts as 0
    kinds = [r["kind"] for r in rows(isolated_home, "SELECT kind FROM attempts ORDER BY id")]
    assert kinds[0] == "answer"
    assert "skip" in kinds


def test_answer_that_is_not_utf8_is_kept_with_a_notice(isolated_home):
    result = runner.invoke(
        app,
        ["practice", "--bank", "llm-en", "-n", "1", "--follow-ups", "0"],
        input="caf\xe9 au lait, randomly split users\n.\n".encode("latin-1"),
    )
    assert result.exit_code == 0, result.output
    assert "not valid UTF-8" in result.output
    answer = rows(isolated_home, "SELECT answer FROM attempts")[0]["answer"]
    assert answer == "caf\ufffd au lait, randomly split users"


def test_piped_session_is_five_questions_of_one_language_from_the_locale(
    isolated_home, monkeypatch
):
    monkeypatch.setenv("LANG", "zh_CN.UTF-8")
    monkeypatch.delenv("LC_ALL", raising=False)
    monkeypatch.delenv("LC_MESSAGES", raising=False)
    result = practice("--follow-ups", "0", "--seed", "3", input="/skip\n" * 9)
    assert result.exit_code == 0, result.output
    assert "Question 1/5" in result.output
    assert "Skipped: saved as not known" in result.output
    asked = [r["question_id"] for r in rows(isolated_home, "SELECT question_id FROM attempts")]
    assert len(asked) == 5
    assert all(q.startswith("llm-zh-") or q.startswith("llm-handbook-zh-") for q in asked), asked
    assert not (isolated_home / "config.toml").exists()  # only a person is asked, and saved


def test_lang_picks_the_language_and_the_banner_names_the_banks(isolated_home):
    result = practice("--lang", "en", "--follow-ups", "0", "-n", "2", input="/quit\n")
    assert result.exit_code == 0, result.output
    banner = " ".join(result.output.split())
    named = re.search(r"2 question\(s\) from ([\w\-, ]+?) ·", banner)
    assert named is not None, banner
    english = {"llm-en", "ds-theory-en"}
    assert set(named.group(1).split(", ")) <= english, named.group(1)
    unknown = practice("--lang", "fr", input="")
    assert unknown.exit_code == 1
    assert "No bank has questions in 'fr'" in unknown.output


def test_a_question_and_its_translation_never_share_a_session(isolated_home):
    from interviewer.bank.languages import one_edition
    from interviewer.bank.library import load_library
    from interviewer.config import builtin_bank_dir

    library = load_library([builtin_bank_dir()])
    kept = [q.id for q in one_edition(library.questions, library)]
    numbers = [
        q.removeprefix("llm-zh-").removeprefix("llm-en-")
        for q in kept
        if q.startswith(("llm-zh-", "llm-en-"))
    ]
    assert len(numbers) == len(set(numbers)) == 11
    handbook = [q for q in library.questions if q.bank == "llm-handbook-zh"]
    assert sum("handbook" in q for q in kept) == len(handbook)
    # The first edition met is the one kept, whichever language it is in.
    en_first = [b for b in library.questions if b.bank == "llm-en"] + library.questions
    assert {q.bank for q in one_edition(en_first, library)} == {
        "llm-en",
        "llm-handbook-zh",
        "ds-theory-en",
    }


def test_locale_language_falls_back_to_a_language_the_banks_have():
    from interviewer.bank.languages import locale_language

    assert locale_language({"LANG": "zh_CN.UTF-8"}, ["en", "zh"]) == "zh"
    assert locale_language({"LC_ALL": "fr_FR.UTF-8", "LANG": "zh_CN"}, ["en", "zh"]) == "en"
    assert locale_language({"LANG": "C.UTF-8"}, ["zh"]) == "zh"
    assert locale_language({}, ["zh", "en"]) == "en"
