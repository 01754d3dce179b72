"""`interviewer practice`: a mock interview on the bank's questions."""

from __future__ import annotations

import time
from functools import partial
from typing import TYPE_CHECKING, Annotated

import typer

from interviewer.cli.common import (
    ApiKeyEnvOpt,
    BankDirOpt,
    BaseUrlOpt,
    EndpointOpt,
    GraderOpt,
    ModelOpt,
    SamplesOpt,
    build_grader,
    handle_errors,
)

if TYPE_CHECKING:
    from interviewer.bank.library import Question
    from interviewer.grading.grade import Grader
    from interviewer.history.store import HistoryStore
    from interviewer.session.driver import Exchange, Session


def register(app: typer.Typer) -> None:
    """Add the `practice` command to ``app``."""
    app.command("practice")(practice)


def order_due_first(questions: list[Question], store: HistoryStore) -> list[Question]:
    """Due questions first (most overdue first), then never-seen ones, then the rest."""
    due = store.due_question_ids()
    seen = store.seen_question_ids()
    rank = {qid: i for i, qid in enumerate(due)}
    due_qs = sorted((q for q in questions if q.id in rank), key=lambda q: rank[q.id])
    new_qs = [q for q in questions if q.id not in rank and q.id not in seen]
    rest = [q for q in questions if q.id not in rank and q.id in seen]
    return due_qs + new_qs + rest


@handle_errors
def practice(
    bank: Annotated[str | None, typer.Option(help="Only questions of this bank id.")] = None,
    topic: Annotated[str | None, typer.Option(help="Only this topic.")] = None,
    difficulty: Annotated[str | None, typer.Option(help="easy, medium or hard.")] = None,
    tag: Annotated[str | None, typer.Option(help="Only questions with this tag.")] = None,
    count: Annotated[
        int | None, typer.Option("--count", "-n", min=1, help="Ask at most N questions.")
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
    bank_dir: BankDirOpt = None,
) -> None:
    """Practise: answer questions, get a rubric grade, key points, feedback and follow-ups.

    Answers can be typed or piped; a line with only '.' ends an answer, end of input ends
    the session. Every answer is saved before it is graded.
    """
    from interviewer.bank.library import Selection, load_library, select_questions
    from interviewer.config import bank_paths, load_config
    from interviewer.history.store import HistoryStore
    from interviewer.session.driver import Session
    from interviewer.ui import practice as ui

    config = load_config()
    library = load_library(bank_paths(config, bank_dir))
    sel = Selection(
        bank=bank,
        topic=topic,
        difficulty=difficulty,
        tag=tag,
        shuffle=shuffle and not due,
        seed=seed,
    )
    questions = select_questions(library, sel)
    chosen_grader = build_grader(
        config,
        grader=grader,
        endpoint=endpoint,
        base_url=base_url,
        model=model,
        api_key_env=api_key_env,
        samples=samples,
    )
    n_follow = config.practice.follow_ups if follow_ups is None else follow_ups
    limit = count or config.practice.count
    with HistoryStore.open_default() as store:
        if due:
            questions = order_due_first(questions, store)
        if limit:
            questions = questions[:limit]
        session = Session(
            store,
            chosen_grader,
            mode="practice",
            follow_ups=n_follow,
            hint_penalty=config.practice.hint_penalty,
            settings={"bank": bank, "topic": topic, "difficulty": difficulty, "tag": tag},
        )
        _render_header(chosen_grader, len(questions), n_follow)
        try:
            run_questions(session, questions, reveal=reveal)
        finally:
            summary = session.finish()
            ui.render_summary(session.exchanges, summary)


def _render_header(grader: Grader, count: int, follow_ups: int) -> None:
    """The session banner, with a warning when `endpoints check` found that this endpoint's
    model does not tell a strong answer from a weak one."""
    from interviewer.config import EndpointProfile
    from interviewer.grading.endpoint_state import grading_warning
    from interviewer.ui import practice as ui

    profile = getattr(grader, "profile", None)  # an LLM grader's endpoint
    warning = grading_warning(profile) if isinstance(profile, EndpointProfile) else None
    ui.render_header(grader.info, count, "practice", follow_ups, warning)


def run_questions(session: Session, questions: list[Question], *, reveal: bool) -> None:
    """Ask each question, grade, ask follow-ups; stop on /quit or end of input."""
    from interviewer.ui import practice as ui

    penalty = session.hint_penalty
    for index, question in enumerate(questions, 1):
        ui.render_question(question, index, len(questions))
        started = time.monotonic()
        got = ui.read_answer(partial(session.hint, question), hint_penalty=penalty)
        elapsed = int((time.monotonic() - started) * 1000)
        if got.interrupted:
            if got.text:
                session.answer(
                    question, got.text, hints_used=got.hints_used, time_taken_ms=elapsed,
                    grade=False,
                )  # fmt: skip
            raise KeyboardInterrupt
        if got.action == "quit" and not got.text:
            return
        if got.action == "skip":
            session.skip(question, time_taken_ms=elapsed)
            continue
        with ui.grading_status(session.grader_info):
            exchange = session.answer(
                question, got.text, hints_used=got.hints_used, time_taken_ms=elapsed
            )
        ui.render_exchange(exchange, penalty)
        if reveal:
            ui.render_reference(question)
        if got.eof or got.action == "quit":
            return
        if not ask_follow_ups(session, exchange):
            return
        if ui.interactive() and index < len(questions):
            choice = ui.ask_next()
            if choice == "r":
                ui.render_reference(question)
            elif choice == "q":
                return


def ask_follow_ups(session: Session, exchange: Exchange) -> bool:
    """Ask the follow-ups of one answer; False when the candidate ended the session."""
    from interviewer.ui import practice as ui

    follow_ups = session.follow_ups_for(exchange)
    for number, follow_up in enumerate(follow_ups, 1):
        ui.render_follow_up(follow_up.text, number, len(follow_ups))
        started = time.monotonic()
        got = ui.read_answer(prompt="Your answer to the follow-up")
        elapsed = int((time.monotonic() - started) * 1000)
        if got.interrupted:
            if got.text:
                session.answer_follow_up(
                    exchange, follow_up, got.text, time_taken_ms=elapsed, grade=False
                )
            raise KeyboardInterrupt
        if got.action == "skip":
            continue
        if got.action == "quit" and not got.text:
            return False
        with ui.grading_status(session.grader_info):
            reply = session.answer_follow_up(exchange, follow_up, got.text, time_taken_ms=elapsed)
        ui.render_exchange(reply, 0.0)
        if got.eof or got.action == "quit":
            return False
    return True
