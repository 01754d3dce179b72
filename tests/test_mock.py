"""Mock interviews: the report, and a real time-up that submits what was typed so far."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys

from interviewer.bank.library import Question
from interviewer.grading.grade import Grade, GraderInfo, KeyPointResult, Outcome
from interviewer.session.driver import Exchange
from interviewer.session.mock import build_report, question_count
from tests.processes import child


def q(qid: str, topic: str) -> Question:
    return Question(id=qid, question="Q?", reference="R.", topic=topic, key_points=["a", "b"])


def graded(question: Question, score: float, missing: bool = False) -> Exchange:
    points = [KeyPointResult(index=1, text="a", status="missing" if missing else "covered")]
    grade = Grade(score=score, criteria=[], key_points=points)
    outcome = Outcome(grade=grade, info=GraderInfo(kind="offline"))
    return Exchange(question=question, kind="answer", prompt="Q?", outcome=outcome,
                    final_score=score, attempt_id=1)  # fmt: skip


def test_report_verdict_topics_and_revisit_order():
    exchanges = [
        graded(q("a", "evaluation"), 90),
        graded(q("b", "evaluation"), 80),
        graded(q("c", "peft"), 30, missing=True),
        Exchange(question=q("d", "peft"), kind="skip", prompt="Q?"),
        Exchange(
            question=q("e", "compression"),
            kind="answer",
            prompt="Q?",
            outcome=Outcome(info=GraderInfo(kind="llm"), ungraded_reason="truncated"),
        ),
    ]
    report = build_report(exchanges, minutes=30, elapsed_s=600, timed_out=1)
    # mean over graded answers and the skip (as 0); the ungraded one is not judged
    assert report.mean_score == round((90 + 80 + 30 + 0) / 4, 1)
    assert report.verdict.startswith("Borderline")
    assert report.strengths == ["evaluation"]
    assert report.weaknesses == ["peft"]
    assert [r["question_id"] for r in report.revisit] == ["d", "c", "b"]
    assert report.revisit[1]["why"] == "missed: a"
    assert report.ungraded == ["e"]


def test_question_count_fits_the_time():
    assert question_count(30, 11, None) == 6
    assert question_count(30, 3, None) == 3
    assert question_count(1, 11, None) == 1
    assert question_count(30, 11, 2) == 2


def test_time_up_submits_what_was_typed(tmp_path):
    env = {**os.environ, "INTERVIEWER_HOME": str(tmp_path), "COLUMNS": "100"}
    for name in ("OPENAI_BASE_URL", "INTERVIEWER_ENDPOINT", "INTERVIEWER_BASE_URL"):
        env.pop(name, None)
    cmd = [sys.executable, "-m", "interviewer", "mock", "--minutes", "0.05", "-n", "1",
           "--bank", "llm-en", "--follow-ups", "0"]  # fmt: skip
    pipes = {"stdin": subprocess.PIPE, "stdout": subprocess.PIPE, "stderr": subprocess.PIPE}
    with child(cmd, env=env, **pipes) as proc:
        assert proc.stdin is not None
        proc.stdin.write(b"Users are split at random between the two models\n")
        proc.stdin.flush()
        # Keep stdin open without finishing the answer: only the clock can end it. The
        # output is small enough to sit in the pipe buffers until the process exits.
        proc.wait(timeout=60)
        assert proc.stdout is not None
        assert proc.stderr is not None
        text = proc.stdout.read().decode()
        errors = proc.stderr.read().decode()
    assert proc.returncode == 0, text + errors
    assert "Time is up for this question" in text
    conn = sqlite3.connect(tmp_path / "history.db")
    answers = [r[0] for r in conn.execute("SELECT answer FROM attempts")]
    conn.close()
    assert answers == ["Users are split at random between the two models"]
