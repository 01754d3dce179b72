"""The session loop practice and mock share, driven by a scripted reader and a recording view.

Practice and mock differ only in their configuration, so the same scripts run through both
and must save, grade and count the same way.
"""

from __future__ import annotations

import time
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Any

import pytest

from interviewer.bank.library import Question
from interviewer.grading.grade import GraderInfo, Outcome
from interviewer.history.store import HistoryStore
from interviewer.session.driver import Exchange, SessionSummary
from interviewer.session.mock import MockReport, mock_config
from interviewer.session.runner import (
    AnswerInput,
    AnswerRequest,
    Banner,
    Clock,
    Report,
    SessionConfig,
    SessionRunner,
    released,
)
from tests.history_fakes import ScriptedGrader, make_question

# The scripted grader always offers this follow-up (tests/history_fakes.make_grade).
GRADER_FOLLOW_UP = "What about the trade-offs?"
CURATED = "Which failure have you seen in production?"


def practice_config(follow_ups: int = 3, **kw: Any) -> SessionConfig:
    return SessionConfig(
        mode="practice", title="practice", follow_ups=follow_ups, hint_penalty=10.0, **kw
    )


def mock(follow_ups: int = 3, minutes: float = 30) -> SessionConfig:
    return mock_config(minutes, follow_ups, {"bank": None, "topic": None})


class ScriptedReader:
    """Hands out scripted inputs in order; a (seconds, input) entry waits first."""

    def __init__(self, *script: AnswerInput | tuple[float, AnswerInput]) -> None:
        self.script = list(script)
        self.requests: list[AnswerRequest] = []

    def read(self, request: AnswerRequest) -> AnswerInput:
        self.requests.append(request)
        step = self.script.pop(0)
        if isinstance(step, tuple):
            pause, step = step
            time.sleep(pause)
        return step

    def interactive(self) -> bool:
        return False

    def close(self) -> None:
        pass

    def choose_next(self, reference: bool = True) -> str:
        raise AssertionError("piped input never pauses between questions")


class RecordingView:
    def __init__(self) -> None:
        self.questions: list[tuple[str, Clock | None]] = []
        self.follow_ups: list[tuple[str, int, int]] = []
        self.references: list[str] = []
        self.time_ups = 0
        self.report: Report | None = None
        self.summary_seen: SessionSummary | None = None
        self.banners: list[Banner] = []
        self.skips: list[bool] = []

    def header(self, banner: Banner) -> None:
        self.banners.append(banner)

    def question(self, question: Question, index: int, total: int, clock: Clock | None) -> None:
        self.questions.append((question.id, clock))

    def follow_up(self, text: str, number: int, total: int, clock: Clock | None) -> None:
        self.follow_ups.append((text, number, total))

    def time_up(self) -> None:
        self.time_ups += 1

    def skipped(self, follow_up: bool) -> None:
        self.skips.append(follow_up)

    def grading(self, info: GraderInfo) -> AbstractContextManager[None]:
        return nullcontext()

    def result(self, exchange: Exchange, hint_penalty: float) -> None:
        pass

    def reference(self, question: Question) -> None:
        self.references.append(question.id)

    def summary(
        self, exchanges: list[Exchange], summary: SessionSummary, report: Report | None
    ) -> None:
        self.summary_seen = summary
        self.report = report


def answer(text: str) -> AnswerInput:
    return AnswerInput("answer", text)


def run(
    tmp_path: Path, config: SessionConfig, reader: ScriptedReader, questions: list[Question]
) -> tuple[RecordingView, HistoryStore, ScriptedGrader]:
    store = HistoryStore(tmp_path / "history.db")
    grader = ScriptedGrader()
    view = RecordingView()
    runner = SessionRunner(store, grader, config, answers=reader, view=view)
    try:
        runner.run(questions)
    finally:
        store.close()
    return view, HistoryStore(tmp_path / "history.db"), grader


@pytest.mark.parametrize("config", [practice_config(), mock()], ids=["practice", "mock"])
def test_follow_ups_are_counted_one_way_in_practice_and_mock(tmp_path, config):
    # Three follow-ups allowed, two on offer (the curated one, then the grader's): the
    # second is skipped, so it counts in "n/2" but is neither saved nor summarised.
    question = make_question("q1", follow_ups=[CURATED])
    reader = ScriptedReader(
        answer("score:80 first"), answer("score:70 curated"), AnswerInput("skip")
    )
    view, store, _ = run(tmp_path, config, reader, [question])
    with store:
        kinds = [(a.kind, a.prompt) for a in store.attempts(oldest_first=True)]
    assert view.follow_ups == [(CURATED, 1, 2), (GRADER_FOLLOW_UP, 2, 2)]
    assert kinds == [("answer", None), ("follow_up", CURATED)]
    assert view.summary_seen is not None
    assert view.summary_seen.follow_ups == 1
    assert [r.prompt for r in reader.requests][1:] == ["Your answer to the follow-up"] * 2


def test_the_answer_is_saved_before_the_grader_sees_it(tmp_path):
    saved_at_grading: list[list[str]] = []

    class CheckingGrader(ScriptedGrader):
        def grade(self, question: Question, answer: str) -> Outcome:
            with HistoryStore(tmp_path / "history.db") as other:
                saved_at_grading.append([a.answer for a in other.attempts()])
            return super().grade(question, answer)

    store = HistoryStore(tmp_path / "history.db")
    reader = ScriptedReader(answer("score:75 saved first"))
    runner = SessionRunner(
        store, CheckingGrader(), practice_config(0), answers=reader, view=RecordingView()
    )
    with store:
        runner.run([make_question("q1")])
    assert saved_at_grading == [["score:75 saved first"]]


def test_practice_offers_hints_and_reveals_while_mock_is_timed_without_hints(tmp_path):
    questions = [make_question("q1")]
    practice_reader = ScriptedReader(answer("score:60 a"))
    view, store, _ = run(
        tmp_path / "p", practice_config(0, reveal=True), practice_reader, questions
    )
    store.close()
    request = practice_reader.requests[0]
    assert request.hint is not None
    assert request.hint(0) == "point one"
    assert request.deadline is None
    assert view.references == ["q1"]
    assert view.questions == [("q1", None)]
    assert view.banners[0].hints is True
    assert view.banners[0].banks == ("test",)

    mock_reader = ScriptedReader(answer("score:60 a"))
    view, store, _ = run(tmp_path / "m", mock(0), mock_reader, questions)
    store.close()
    assert mock_reader.requests[0].hint is None
    assert mock_reader.requests[0].deadline is not None
    assert mock_reader.requests[0].interview_end is not None
    assert view.banners[0].hints is False  # the banner offers no /hint
    assert view.references == []
    clock = view.questions[0][1]
    assert clock is not None
    assert 0 < clock.question_left <= clock.total_left <= 30 * 60


def test_mock_stops_when_the_interview_time_is_up(tmp_path):
    questions = [make_question("q1"), make_question("q2")]
    config = mock(0, minutes=0.002)  # 0.12 s in all
    # The first answer runs past the whole interview's time and is submitted as typed.
    timed_out = AnswerInput("answer", "score:50 half an answer", timed_out=True)
    reader = ScriptedReader((0.2, timed_out))
    view, store, _ = run(tmp_path, config, reader, questions)
    with store:
        answers = [a.answer for a in store.attempts()]
        session = store.sessions()[0]
    assert [qid for qid, _ in view.questions] == ["q1"]
    assert view.time_ups == 1
    assert answers == ["score:50 half an answer"]
    assert isinstance(view.report, MockReport)
    assert view.report.timed_out == 1
    assert session.report is not None
    assert session.report["timed_out"] == 1


def test_ctrl_c_in_a_mock_follow_up_saves_it_ungraded_and_closes_the_session(tmp_path):
    interrupted = AnswerInput("quit", "the first half", interrupted=True)
    reader = ScriptedReader(answer("score:80 first"), (0.02, interrupted))
    with pytest.raises(KeyboardInterrupt):
        run(tmp_path, mock(1), reader, [make_question("q1")])
    with HistoryStore(tmp_path / "history.db") as store:
        follow_up = store.attempts(kinds=["follow_up"])[0]
        session = store.sessions()[0]
    assert follow_up.answer == "the first half"
    assert follow_up.grade is None  # saved, not graded: `regrade` grades it later
    assert follow_up.time_taken_ms is not None
    assert follow_up.time_taken_ms >= 20
    assert session.ended_at is not None
    assert session.report is not None
    assert "verdict" in session.report


def test_the_grader_is_closed_when_the_session_ends_even_by_ctrl_c(tmp_path):
    class ClosableGrader(ScriptedGrader):
        closed = 0

        def close(self) -> None:
            self.closed += 1

    grader = ClosableGrader()
    interrupted = AnswerInput("quit", "", interrupted=True)
    reader = ScriptedReader(interrupted)
    with (
        HistoryStore(tmp_path / "history.db") as store,
        pytest.raises(KeyboardInterrupt),
        released(grader),
    ):
        SessionRunner(store, grader, practice_config(), answers=reader, view=RecordingView()).run(
            [make_question("q1")]
        )
    assert grader.closed == 1
    with released(ScriptedGrader()):  # a grader with nothing to close
        pass


class PausingReader(ScriptedReader):
    """A person at a terminal: answers, then picks a key between questions."""

    def __init__(self, keys: list[str], *script: AnswerInput) -> None:
        super().__init__(*script)
        self.keys = keys
        self.offered_reference: list[bool] = []

    def interactive(self) -> bool:
        return True

    def choose_next(self, reference: bool = True) -> str:
        self.offered_reference.append(reference)
        return self.keys.pop(0)


def test_r_shows_the_reference_then_waits_for_next_or_quit(tmp_path):
    questions = [make_question("q1"), make_question("q2"), make_question("q3")]
    reader = PausingReader(["r", "", "r", "q"], answer("score:60 a"), answer("score:70 b"))
    view, store, _ = run(tmp_path, practice_config(0), reader, questions)
    store.close()
    assert view.references == ["q1", "q2"]
    # After the reference only next or quit is offered; q then ends before q3.
    assert reader.offered_reference == [True, False, True, False]
    assert [qid for qid, _ in view.questions] == ["q1", "q2"]


def test_skip_is_confirmed_for_questions_and_follow_ups(tmp_path):
    questions = [make_question("q1", follow_ups=[CURATED]), make_question("q2")]
    reader = ScriptedReader(
        answer("score:60 a"),
        AnswerInput("skip"),
        AnswerInput("skip"),
    )
    view, store, _ = run(tmp_path, practice_config(1), reader, questions)
    store.close()
    assert view.skips == [True, False]
