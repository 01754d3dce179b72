"""Builders for history tests: questions, grades, a scripted grader and a settable clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from interviewer.bank.library import Question
from interviewer.grading.grade import (
    CriterionResult,
    Grade,
    GraderInfo,
    KeyPointResult,
    Outcome,
    Usage,
)

START = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)  # a Monday


class Clock:
    """A clock tests move by hand, so several days pass in a second."""

    def __init__(self, start: datetime = START) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now

    def set_day(self, day: int, hour: int = 9, minute: int = 0) -> datetime:
        self.now = START.replace(hour=hour, minute=minute) + timedelta(days=day)
        return self.now


def make_question(
    qid: str = "q1",
    *,
    topic: str = "rag",
    difficulty: str = "medium",
    bank: str = "test",
    question: str | None = None,
    key_points: list[str] | None = None,
    follow_ups: list[str] | None = None,
    language: str = "en",
) -> Question:
    return Question.model_validate(
        {
            "id": qid,
            "question": question or f"Explain {qid}.",
            "reference": f"The reference answer for {qid}.",
            "key_points": key_points if key_points is not None else ["point one", "point two"],
            "topic": topic,
            "difficulty": difficulty,
            "follow_ups": follow_ups or [],
            "bank": bank,
            "language": language,
        }
    )


def make_grade(score: float, question: Question | None = None, feedback: str = "ok") -> Grade:
    points = question.key_points if question is not None else ["point one"]
    return Grade(
        score=score,
        criteria=[
            CriterionResult(criterion="correctness", name="Correctness", weight=1.0, score=3)
        ],
        key_points=[
            KeyPointResult(index=i, text=text, status="covered" if score >= 50 else "missing")
            for i, text in enumerate(points, 1)
        ],
        feedback=feedback,
        follow_ups=["What about the trade-offs?"],
    )


FAKE_INFO = GraderInfo(
    kind="llm",
    model="fake-model",
    endpoint="http://127.0.0.1:9/v1",
    prompt_version="test-v1",
    settings={"temperature": 0.0, "max_tokens": 512},
)


def graded(score: float, question: Question | None = None, **kw: Any) -> Outcome:
    return Outcome(
        grade=make_grade(score, question),
        info=kw.pop("info", FAKE_INFO),
        raw_reply='{"score": "as json"}',
        usage=Usage(prompt_tokens=120, completion_tokens=30),
        duration_ms=15,
        **kw,
    )


def ungraded(reason: str = "endpoint_error", detail: str = "HTTP 503") -> Outcome:
    return Outcome(
        ungraded_reason=reason,
        ungraded_detail=detail,
        raw_reply=None,
        info=FAKE_INFO,
    )


class ScriptedGrader:
    """A grader that reads the score it should give from the answer ("score:72").

    An answer containing "cannot-grade" comes back ungraded. Every call is recorded so a
    test can check what question text the grader saw.
    """

    def __init__(self, model: str = "regrader-model", default: float = 66.0) -> None:
        self._info = GraderInfo(
            kind="llm",
            model=model,
            endpoint="http://127.0.0.1:9/v1",
            prompt_version="test-v2",
            settings={"temperature": 0.0, "api_key": "sk-test-should-never-be-stored-1234"},
        )
        self.default = default
        self.calls: list[tuple[Question, str]] = []

    @property
    def info(self) -> GraderInfo:
        return self._info

    def grade(self, question: Question, answer: str) -> Outcome:
        self.calls.append((question, answer))
        if "cannot-grade" in answer:
            return Outcome(ungraded_reason="unparseable", raw_reply="garbage", info=self._info)
        score = self.default
        for word in answer.split():
            if word.startswith("score:"):
                score = float(word.removeprefix("score:"))
        return Outcome(
            grade=make_grade(score, question, feedback=f"regraded by {self._info.model}"),
            raw_reply="{}",
            usage=Usage(prompt_tokens=200, completion_tokens=40),
            duration_ms=7,
            info=self._info,
        )
