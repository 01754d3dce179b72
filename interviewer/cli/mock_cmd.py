"""`interviewer mock`: a timed mock interview that ends with a debrief report."""

from __future__ import annotations

from contextlib import closing
from typing import Annotated

import typer

from interviewer.cli.common import (
    ApiKeyEnvOpt,
    BankDirOpt,
    BaseUrlOpt,
    EndpointOpt,
    GraderOpt,
    LangOpt,
    ModelOpt,
    build_grader,
    handle_errors,
)


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
    lang: LangOpt = None,
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
    from interviewer.bank.library import Selection
    from interviewer.cli.session_setup import session_questions
    from interviewer.history.store import HistoryStore
    from interviewer.session.mock import mock_config, question_count
    from interviewer.session.runner import SessionRunner, released
    from interviewer.ui.answer_input import answer_reader
    from interviewer.ui.screen import TerminalView

    sel = Selection(bank=bank, topic=topic, difficulty=difficulty, tag=tag, shuffle=True, seed=seed)
    answers = answer_reader()
    config, library, questions, language = session_questions(
        bank_dir, sel, lang=lang, interactive=answers.interactive()
    )
    questions = questions[: question_count(minutes, len(questions), count)]
    chosen = build_grader(
        config,
        grader=grader,
        endpoint=endpoint,
        base_url=base_url,
        model=model,
        api_key_env=api_key_env,
        library=library,
    )
    setup = mock_config(minutes, follow_ups, {"bank": bank, "topic": topic, "language": language})
    with HistoryStore.open_default() as store, released(chosen), closing(answers):
        runner = SessionRunner(store, chosen, setup, answers=answers, view=TerminalView())
        runner.run(questions)
