"""The terminal `SessionView`: what practice and mock sessions show, in one place."""

from __future__ import annotations

from contextlib import AbstractContextManager

from interviewer.bank.library import Question
from interviewer.grading.grade import GraderInfo
from interviewer.session.driver import Exchange, SessionSummary
from interviewer.session.mock import MockReport
from interviewer.session.runner import Banner, Clock, Report
from interviewer.ui import mock as mock_ui
from interviewer.ui import practice as ui


class TerminalView:
    """Renders a session with rich; a mock session adds the clock and the debrief."""

    def header(self, banner: Banner) -> None:
        ui.render_header(banner)

    def question(self, question: Question, index: int, total: int, clock: Clock | None) -> None:
        extra = mock_ui.clock(clock.question_left, clock.total_left) if clock else ""
        ui.render_question(question, index, total, extra)

    def follow_up(self, text: str, number: int, total: int, clock: Clock | None) -> None:
        ui.render_follow_up(text, number, total)
        if clock is not None:
            mock_ui.render_clock_line(clock.question_left)

    def time_up(self) -> None:
        mock_ui.render_time_up()

    def skipped(self, follow_up: bool) -> None:
        ui.render_skipped(follow_up)

    def grading(self, info: GraderInfo) -> AbstractContextManager[None]:
        return ui.grading_status(info)

    def result(self, exchange: Exchange, hint_penalty: float) -> None:
        ui.render_exchange(exchange, hint_penalty)

    def reference(self, question: Question) -> None:
        ui.render_reference(question)

    def summary(
        self, exchanges: list[Exchange], summary: SessionSummary, report: Report | None
    ) -> None:
        ui.render_summary(exchanges, summary)
        if isinstance(report, MockReport):
            mock_ui.render_report(report)
