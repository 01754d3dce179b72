"""The offline grader across languages: a translation when the bank has one, else ungraded."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from interviewer.bank.library import Library, Question, load_library
from interviewer.cli import app
from interviewer.config import bank_paths, load_config
from interviewer.grading.offline import OfflineGrader

EN_ANSWER = (
    "An A/B test randomly assigns users to model versions, keeps everything else equal, and "
    "collects real online data such as user satisfaction and business metrics. We fix the "
    "primary metric and sample size in advance and use a significance test, while watching "
    "guardrail metrics like latency and cost."
)
ZH_ANSWER = (
    "A/B 测试把用户随机分配到不同的模型版本，其他条件保持一致，在真实线上环境中收集用户满意度和"
    "业务指标，事先确定主要指标和样本量，用显著性检验判断差异是否真实，同时监控延迟和成本等护栏指标。"
)
EN_ATTENTION = (
    "Self-attention projects the input into queries, keys and values, takes the dot products "
    "of queries and keys, divides by the square root of d_k so the softmax does not saturate, "
    "and weights the values; the cost is quadratic in the sequence length."
)


@pytest.fixture(scope="module")
def library() -> Library:
    return load_library(bank_paths(load_config()))


@pytest.fixture(scope="module")
def grader(library: Library) -> OfflineGrader:
    return OfflineGrader(translations=library.translation)


def test_the_library_pairs_translated_questions_by_number(library: Library) -> None:
    zh, en = library.get("llm-zh-41"), library.get("llm-en-41")
    assert library.translation(zh, "en") == en
    assert library.translation(en, "zh") == zh
    assert library.translation(zh, "zh") is None  # the same language is no translation
    assert library.translation(library.get("llm-handbook-zh-01-02"), "en") is None


@pytest.mark.parametrize(
    ("asked", "edition", "answer"),
    [("llm-zh-41", "llm-en-41", EN_ANSWER), ("llm-en-41", "llm-zh-41", ZH_ANSWER)],
)
def test_an_answer_in_the_other_language_is_graded_against_the_translation(
    library: Library, grader: OfflineGrader, asked: str, edition: str, answer: str
) -> None:
    outcome = grader.grade(library.get(asked), answer)
    direct = grader.grade(library.get(edition), answer)
    assert outcome.grade is not None, outcome
    assert direct.grade is not None
    assert outcome.grade.score == direct.grade.score
    assert outcome.grade.score >= 50
    assert any(edition in notice for notice in outcome.notices), outcome.notices


def test_without_a_translation_the_answer_is_stored_ungraded_with_a_hint(
    library: Library, grader: OfflineGrader
) -> None:
    outcome = grader.grade(library.get("llm-handbook-zh-01-02"), EN_ATTENTION)
    assert outcome.grade is None
    assert outcome.ungraded_reason == "language"
    assert "\n" not in outcome.ungraded_detail
    assert "English" in outcome.ungraded_detail
    assert "Chinese" in outcome.ungraded_detail
    assert "endpoints add" in outcome.ungraded_detail


def test_a_chinese_answer_to_an_english_question_without_a_library_is_ungraded() -> None:
    question = Question(
        id="ab", question="What is an A/B test?", reference="A randomised online experiment."
    )
    outcome = OfflineGrader().grade(question, ZH_ANSWER)
    assert outcome.ungraded_reason == "language"


def test_a_few_english_terms_in_a_chinese_answer_are_still_chinese(
    library: Library, grader: OfflineGrader
) -> None:
    outcome = grader.grade(library.get("llm-zh-41"), "A/B test")
    assert outcome.grade is not None  # too short to call it another language
    # A long Chinese answer whose letters are mostly English terms is still Chinese.
    mixed = (
        "PPO 涉及 4 个模型：Actor（策略）、Critic（价值）、Reward Model、冻结的 Reference"
        " Model；KL penalty keeps the policy near the reference"
    )
    outcome = grader.grade(library.get("llm-handbook-zh-04-02"), mixed)  # no translation
    assert outcome.ungraded_reason is None, outcome.ungraded_detail
    english = (
        "PPO uses four models: the actor, the critic, a reward model and a frozen reference"
        " model; 注意力 is mentioned once."
    )
    assert grader.grade(library.get("llm-zh-41"), english).grade is not None  # translation


def stored_grades(home: Path) -> list[sqlite3.Row]:
    conn = sqlite3.connect(home / "history.db")
    conn.row_factory = sqlite3.Row
    try:
        return conn.execute("SELECT * FROM grades ORDER BY id").fetchall()
    finally:
        conn.close()


def practise(bank: str, answer: str) -> Any:
    args = ["practice", "--bank", bank, "--in-order", "-n", "1", "--follow-ups", "0"]
    return CliRunner().invoke(app, args, input=f"{answer}\n.\n")


def test_practice_grades_an_english_answer_to_a_chinese_question(isolated_home: Path) -> None:
    result = practise("llm-zh", EN_ANSWER)
    assert result.exit_code == 0, result.output
    assert "llm-en-41" in result.output  # says which edition it was graded against
    [grade] = stored_grades(isolated_home)
    assert grade["graded"] == 1
    assert grade["score"] >= 50


def test_practice_stores_an_answer_it_cannot_grade_across_languages(isolated_home: Path) -> None:
    result = practise("llm-handbook-zh", EN_ATTENTION)
    assert result.exit_code == 0, result.output
    assert "another language" in result.output
    assert "endpoints add" in " ".join(result.output.split())
    [grade] = stored_grades(isolated_home)
    assert (grade["graded"], grade["ungraded_reason"]) == (0, "language")


def test_eval_grades_english_answers_to_chinese_questions_against_the_translation(
    tmp_path: Path,
) -> None:
    words = EN_ANSWER.split()
    rows = [
        {
            "id": f"r{i}",
            "question_id": "llm-zh-41",
            "answer": " ".join(words[: 12 + 3 * i]),
            "human_score": i % 3,
            "max_score": 2,
        }
        for i in range(8)
    ]
    path = tmp_path / "scored.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    args = ["eval", str(path), "--grader", "offline", "--json", "--bootstrap", "0"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["n"] == 8  # none left ungraded
