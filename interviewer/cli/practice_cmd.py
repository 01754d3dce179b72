"""`interviewer practice`: a mock interview on the bank's questions."""

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
    PanelOpt,
    SamplesOpt,
    build_grader,
    grading_warning,
    handle_errors,
)


def register(app: typer.Typer) -> None:
    """Add the `practice` command to ``app``."""
    app.command("practice")(practice)


@handle_errors
def practice(
    bank: Annotated[str | None, typer.Option(help="Only questions of this bank id.")] = None,
    lang: LangOpt = None,
    topic: Annotated[str | None, typer.Option(help="Only this topic.")] = None,
    difficulty: Annotated[str | None, typer.Option(help="easy, medium or hard.")] = None,
    tag: Annotated[str | None, typer.Option(help="Only questions with this tag.")] = None,
    count: Annotated[
        int | None,
        typer.Option(
            "--count", "-n", min=1, help="Ask N questions (default 5, config practice.count)."
        ),
    ] = None,
    shuffle: Annotated[
        bool, typer.Option("--random/--in-order", help="Random order (default) or bank order.")
    ] = True,
    seed: Annotated[int | None, typer.Option(help="Seed for a repeatable random order.")] = None,
    due: Annotated[
        bool, typer.Option("--due", help="Ask questions due for review first, then new ones.")
    ] = False,
    follow_ups: Annotated[
        int | None,
        typer.Option(min=0, max=5, help="Follow-up questions after each answer (default 1)."),
    ] = None,
    reveal: Annotated[
        bool, typer.Option("--reveal", help="Show the reference answer after each grade.")
    ] = False,
    grader: GraderOpt = None,
    endpoint: EndpointOpt = None,
    base_url: BaseUrlOpt = None,
    model: ModelOpt = None,
    api_key_env: ApiKeyEnvOpt = None,
    samples: SamplesOpt = 1,
    panel: PanelOpt = None,
    bank_dir: BankDirOpt = None,
) -> None:
    """Practise: answer questions, get a rubric grade, key points, feedback and follow-ups.

    Answers can be typed or piped; a line with only '.' ends an answer, end of input ends
    the session. Every answer is saved before it is graded.
    """
    from interviewer.bank.library import Selection
    from interviewer.cli.session_setup import session_questions
    from interviewer.history.store import HistoryStore
    from interviewer.session.runner import SessionConfig, SessionRunner, order_due_first, released
    from interviewer.ui.answer_input import answer_reader
    from interviewer.ui.screen import TerminalView

    sel = Selection(bank, topic, difficulty, tag, shuffle=shuffle and not due, seed=seed)
    answers = answer_reader()
    config, library, questions, language = session_questions(
        bank_dir, sel, lang=lang, interactive=answers.interactive()
    )
    chosen_grader = build_grader(
        config, grader=grader, endpoint=endpoint, base_url=base_url, model=model,
        api_key_env=api_key_env, samples=samples, panel=panel, library=library,
    )  # fmt: skip
    setup = SessionConfig(
        mode="practice",
        title="practice",
        follow_ups=config.practice.follow_ups if follow_ups is None else follow_ups,
        hint_penalty=config.practice.hint_penalty,
        reveal=reveal,
        warning=grading_warning(chosen_grader),
        settings={"bank": bank, "topic": topic, "difficulty": difficulty, "tag": tag}
        | {"language": language},
    )
    limit = count or config.practice.count
    with HistoryStore.open_default() as store, released(chosen_grader), closing(answers):
        if due:
            questions = order_due_first(questions, store)
        runner = SessionRunner(store, chosen_grader, setup, answers=answers, view=TerminalView())
        runner.run(questions[:limit])
