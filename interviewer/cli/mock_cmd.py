"""`interviewer mock`: a timed mock interview that ends with a debrief report."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Annotated

import typer

from interviewer.cli.common import (
    ApiKeyEnvOpt,
    BankDirOpt,
    BaseUrlOpt,
    EndpointOpt,
    GraderOpt,
    ModelOpt,
    build_grader,
    handle_errors,
)

if TYPE_CHECKING:
    from interviewer.bank.library import Question
    from interviewer.session.driver import Session


def register(app: typer.Typer) -> None:
    """Add the `mock` command to ``app``."""
    app.command("mock")(mock)


@handle_errors
def mock(
    minutes: Annotated[
        float, typer.Option(min=0.05, max=600, help="Length of the interview in minutes.")
    ] = 30,
    count: Annotated[
        int | None,
        typer.Option("--count", "-n", min=1, help="Questions to ask (default: one per 5 min)."),
    ] = None,
    bank: Annotated[str | None, typer.Option(help="Only questions of this bank id.")] = None,
    topic: Annotated[str | None, typer.Option(help="Only this topic.")] = None,
    difficulty: Annotated[str | None, typer.Option(help="easy, medium or hard.")] = None,
    tag: Annotated[str | None, typer.Option(help="Only questions with this tag.")] = None,
    seed: Annotated[int | None, typer.Option(help="Seed for a repeatable question order.")] = None,
    follow_ups: Annotated[
        int, typer.Option(min=0, max=5, help="Follow-up questions after each answer.")
    ] = 1,
    grader: GraderOpt = None,
    endpoint: EndpointOpt = None,
    base_url: BaseUrlOpt = None,
    model: ModelOpt = None,
    api_key_env: ApiKeyEnvOpt = None,
    bank_dir: BankDirOpt = None,
) -> None:
    """A timed mock interview: countdown per question, follow-ups on, hints off, a report.

    The time is split evenly across the questions; when a question's time runs out, what
    you typed so far is submitted. The report is saved with the session
    (`interviewer history`, `interviewer export --session ID`).
    """
    from interviewer.bank.library import Selection, load_library, select_questions
    from interviewer.config import bank_paths, load_config
    from interviewer.history.store import HistoryStore
    from interviewer.session.driver import Session
    from interviewer.session.mock import build_report, question_count
    from interviewer.ui import mock as mock_ui
    from interviewer.ui import practice as ui

    config = load_config()
    library = load_library(bank_paths(config, bank_dir))
    sel = Selection(bank=bank, topic=topic, difficulty=difficulty, tag=tag, shuffle=True, seed=seed)
    questions = select_questions(library, sel)
    questions = questions[: question_count(minutes, len(questions), count)]
    chosen = build_grader(
        config,
        grader=grader,
        endpoint=endpoint,
        base_url=base_url,
        model=model,
        api_key_env=api_key_env,
    )
    with HistoryStore.open_default() as store:
        session = Session(
            store,
            chosen,
            mode="mock",
            follow_ups=follow_ups,
            hint_penalty=0.0,
            settings={"minutes": minutes, "bank": bank, "topic": topic},
        )
        ui.render_header(chosen.info, len(questions), f"mock · {minutes:g} min", follow_ups)
        started = time.monotonic()
        timed_out = 0
        try:
            timed_out = run_timed(session, questions, minutes * 60.0)
        finally:
            report = build_report(
                session.exchanges,
                minutes=minutes,
                elapsed_s=int(time.monotonic() - started),
                timed_out=timed_out,
            )
            # The report's own figures win where both name one (its mean counts skips as 0).
            summary = session.finish(report={**session.summary().as_dict(), **report.as_dict()})
            ui.render_summary(session.exchanges, summary)
            mock_ui.render_report(report)


def run_timed(session: Session, questions: list[Question], total_s: float) -> int:
    """Ask each question against its share of the time; return how many ran out of time."""
    from interviewer.ui import mock as mock_ui
    from interviewer.ui import practice as ui

    end = time.monotonic() + total_s
    per_question = total_s / max(1, len(questions))
    timed_out = 0
    for index, question in enumerate(questions, 1):
        now = time.monotonic()
        if now >= end:
            mock_ui.render_time_up()
            return timed_out
        deadline = min(end, now + per_question)
        ui.render_question(
            question, index, len(questions), mock_ui.clock(deadline - now, end - now)
        )
        got = ui.read_answer(None, deadline=deadline)
        elapsed = int((time.monotonic() - now) * 1000)
        if got.interrupted:
            if got.text:
                session.answer(question, got.text, time_taken_ms=elapsed, grade=False)
            raise KeyboardInterrupt
        timed_out += got.timed_out
        if got.action == "quit" and not got.text:
            return timed_out
        if got.action == "skip":
            session.skip(question, time_taken_ms=elapsed)
            continue
        with ui.grading_status(session.grader_info):
            exchange = session.answer(question, got.text, time_taken_ms=elapsed)
        ui.render_exchange(exchange)
        if got.eof or got.action == "quit":
            return timed_out
        for number, follow_up in enumerate(session.follow_ups_for(exchange), 1):
            fu_start = time.monotonic()
            left = deadline - fu_start
            if left <= 0:
                break
            ui.render_follow_up(follow_up.text, number, session.max_follow_ups)
            mock_ui.render_clock_line(left)
            reply = ui.read_answer(None, prompt="Your answer to the follow-up", deadline=deadline)
            if reply.interrupted:
                if reply.text:
                    session.answer_follow_up(exchange, follow_up, reply.text, grade=False)
                raise KeyboardInterrupt
            timed_out += reply.timed_out
            if reply.action == "skip" or not reply.text:
                if reply.eof or reply.action == "quit":
                    return timed_out
                continue
            with ui.grading_status(session.grader_info):
                graded = session.answer_follow_up(
                    exchange,
                    follow_up,
                    reply.text,
                    time_taken_ms=int((time.monotonic() - fu_start) * 1000),
                )
            ui.render_exchange(graded)
            if reply.eof or reply.action == "quit":
                return timed_out
    return timed_out
