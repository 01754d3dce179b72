"""`interviewer history | stats | export | due | regrade`: look back at past practice.

Dates for --since/--until: YYYY-MM-DD (a local day; --until includes that day), an ISO time,
or a span back from now such as 7d, 2w or 12h.
"""

from __future__ import annotations

import inspect
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

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
    from interviewer.history.store import HistoryStore

history_app = typer.Typer(
    invoke_without_command=True,
    no_args_is_help=False,
)

SinceOpt = Annotated[
    str | None,
    typer.Option("--since", help="From this date on: YYYY-MM-DD, an ISO time, or 7d / 2w / 12h."),
]
UntilOpt = Annotated[
    str | None,
    typer.Option("--until", help="Up to and including this date (YYYY-MM-DD or ISO time)."),
]
SessionOpt = Annotated[
    str | None,
    typer.Option("--session", help="Only this session (an id or its first characters)."),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON on stdout for scripts.")]


def register(app: typer.Typer) -> None:
    """Add `history` (`show`, `dispute`), `stats`, `export`, `due` and `regrade` to ``app``."""
    app.add_typer(history_app, name="history", help=_reflow(history.__doc__))
    for name, command in (("stats", stats), ("export", export), ("due", due)):
        app.command(name, help=_reflow(command.__doc__))(command)
    app.command("regrade", help=_reflow(regrade.__doc__))(regrade)


def _reflow(doc: str | None) -> str:
    """Join a docstring's wrapped lines so that --help reflows each paragraph to the terminal."""
    paragraphs = inspect.cleandoc(doc or "").split("\n\n")
    return "\n\n".join(" ".join(p.split()) for p in paragraphs)


def _print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2) + "\n")


def _session_id(store: HistoryStore, session: str | None) -> str | None:
    return store.resolve_session_id(session) if session else None


# --------------------------------------------------------------------------- history


@history_app.callback(invoke_without_command=True)
@handle_errors
def history(
    ctx: typer.Context,
    bank: Annotated[
        str | None, typer.Option(help="Only attempts at this bank's questions.")
    ] = None,
    topic: Annotated[str | None, typer.Option(help="Only this topic.")] = None,
    since: SinceOpt = None,
    until: UntilOpt = None,
    ungraded: Annotated[
        bool, typer.Option("--ungraded", help="Only answers without a successful grade.")
    ] = False,
    session: SessionOpt = None,
    sessions: Annotated[
        bool, typer.Option("--sessions", help="List sessions instead of attempts.")
    ] = False,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, help="Show at most N rows.")] = 20,
    path: Annotated[
        bool, typer.Option("--path", help="Print where the history database lives and exit.")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """List past attempts or sessions; `history show ID` for one.

    Attempts are listed newest first with their current score (the latest successful
    grade; ungraded ones say why). Examples: `interviewer history --topic rag --since 7d`,
    `interviewer history --ungraded`, `interviewer history --sessions`,
    `interviewer history show 42`, `interviewer history --path`.
    """
    if ctx.invoked_subcommand is not None:
        return
    from interviewer.config import db_path
    from interviewer.history.store import HistoryStore
    from interviewer.history.times import parse_range
    from interviewer.ui import history as ui

    if path:
        ui.render_path(str(db_path()))
        return
    start, end = parse_range(since, until)
    with HistoryStore.open_default() as store:
        session_id = _session_id(store, session)
        if sessions:
            found = store.sessions(since=start, until=end, session_id=session_id, limit=limit)
            if as_json:
                _print_json([s.to_dict() for s in found])
            else:
                ui.render_sessions(found)
            return
        attempts = store.attempts(
            session_id=session_id,
            bank=bank,
            topic=topic,
            since=start,
            until=end,
            ungraded=ungraded,
            limit=limit,
        )
    if as_json:
        _print_json([a.to_dict() for a in attempts])
    else:
        ui.render_history(attempts, limit=limit, ungraded=ungraded)


@history_app.command("show")
@handle_errors
def show(
    attempt_id: Annotated[
        int, typer.Argument(help="Attempt id, as listed by `interviewer history`.")
    ],
    no_reference: Annotated[
        bool, typer.Option("--no-reference", help="Do not print the reference answer.")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Show one attempt in full: question, answer, every grade side by side, follow-ups."""
    from interviewer.history.store import HistoryStore
    from interviewer.ui import history as ui

    with HistoryStore.open_default() as store:
        detail = store.attempt(attempt_id)
    if as_json:
        _print_json(detail.to_dict())
    else:
        ui.render_attempt(detail, reference=not no_reference)


@history_app.command("dispute")
@handle_errors
def dispute(
    attempt_id: Annotated[
        int, typer.Argument(help="Attempt id, as listed by `interviewer history`.")
    ],
    score: Annotated[
        float, typer.Option("--score", min=0, max=100, help="Your score for the answer, 0-100.")
    ],
    note: Annotated[str, typer.Option("--note", help="Why, in a few words.")] = "",
) -> None:
    """Record your own grade of an answer beside the grader's.

    The model grades stay; the latest human grade is the one that counts for statistics and
    the review schedule. Example: `interviewer history dispute 42 --score 80 --note "the
    grader missed the second half"`.
    """
    from interviewer.history.store import HistoryStore
    from interviewer.ui import history as ui

    with HistoryStore.open_default() as store:
        store.record_dispute(attempt_id, score, note)
        detail = store.attempt(attempt_id)
    ui.render_dispute(detail)


# --------------------------------------------------------------------------- stats


@handle_errors
def stats(
    bank: Annotated[str | None, typer.Option(help="Only this bank's questions.")] = None,
    topic: Annotated[str | None, typer.Option(help="Only this topic.")] = None,
    since: SinceOpt = None,
    until: UntilOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Progress per topic and difficulty, with bars and sparklines.

    Tries, graded/ungraded/skipped counts, mean, best and trend (later half minus earlier
    half) of the main answers of practice and mock sessions. Scores are final scores
    (with hints and follow-ups counted); ungraded answers are never averaged. `--json`
    prints the same numbers for scripts.
    """
    from interviewer.history.stats import compute_stats
    from interviewer.history.store import HistoryStore
    from interviewer.history.times import parse_range
    from interviewer.ui import progress as ui

    start, end = parse_range(since, until)
    with HistoryStore.open_default() as store:
        result = compute_stats(store, bank=bank, topic=topic, since=start, until=end)
    if as_json:
        _print_json(result)
    else:
        ui.render_stats(result)


# --------------------------------------------------------------------------- export


@handle_errors
def export(
    session: SessionOpt = None,
    since: SinceOpt = None,
    until: UntilOpt = None,
    fmt: Annotated[
        str | None,
        typer.Option(
            "--format",
            "-f",
            help="md, jsonl or html (default: from the --out suffix, else md).",
        ),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="File to write; '-' or nothing prints to stdout."),
    ] = None,
) -> None:
    """Export a session or a date range as Markdown, JSONL or HTML.

    The HTML page is self-contained (inline CSS, no scripts or external files). Without
    --session or dates, everything is exported. Example:
    `interviewer export --since 2025-03-01 --format html --out march.html`.
    """
    from interviewer.errors import InputError
    from interviewer.history.export import (
        choose_format,
        collect,
        export_summary,
        render_export,
        write_export,
    )
    from interviewer.history.store import HistoryStore
    from interviewer.history.times import parse_range
    from interviewer.ui import history as ui

    if session and (since or until):
        raise InputError("Give either --session or --since/--until, not both.")
    target = out if out is not None and str(out) != "-" else None
    chosen = choose_format(fmt, target)
    start, end = parse_range(since, until)
    with HistoryStore.open_default() as store:
        data = collect(store, session_id=session, since=start, until=end)
    text = render_export(data, chosen)
    if target is None:
        sys.stdout.write(text)
        return
    ui.render_export_written(write_export(text, target), chosen, export_summary(data))


# --------------------------------------------------------------------------- due


@handle_errors
def due(
    bank: Annotated[str | None, typer.Option(help="Only this bank's questions.")] = None,
    limit: Annotated[
        int, typer.Option("--limit", "-n", min=1, help="Upcoming and new questions to list.")
    ] = 10,
    bank_dir: BankDirOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """What is due for review and when, and what is still new.

    Scheduling uses FSRS: a final score under 40 (or a skip) rates Again, under 60 Hard,
    under 85 Good, else Easy. Ungraded answers never change the schedule.
    `interviewer practice --due` asks the due questions first.
    """
    from interviewer.bank.library import load_library
    from interviewer.config import bank_paths, load_config
    from interviewer.errors import BankError
    from interviewer.history.stats import store_overview
    from interviewer.history.store import HistoryStore
    from interviewer.ui import progress as ui
    from interviewer.ui.console import notice

    try:
        questions = load_library(bank_paths(load_config(), bank_dir)).questions
    except BankError as exc:
        # A broken bank file must not hide the schedule: show it without question texts.
        notice(f"Banks not loaded ({exc}); new questions cannot be listed.")
        questions = []
    with HistoryStore.open_default() as store:
        overview = store_overview(store, questions, bank=bank)
    if as_json:
        _print_json(overview.to_dict())
    else:
        ui.render_due(overview, upcoming_limit=limit, new_limit=limit)


# --------------------------------------------------------------------------- regrade


@handle_errors
def regrade(
    session: SessionOpt = None,
    since: SinceOpt = None,
    until: UntilOpt = None,
    all_attempts: Annotated[
        bool, typer.Option("--all", help="Regrade every answer in range, not only ungraded ones.")
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="List what would be regraded and stop.")
    ] = False,
    grader: GraderOpt = None,
    endpoint: EndpointOpt = None,
    base_url: BaseUrlOpt = None,
    model: ModelOpt = None,
    api_key_env: ApiKeyEnvOpt = None,
    bank_dir: BankDirOpt = None,
) -> None:
    """Grade stored answers again; earlier grades are kept.

    Uses the current grader (same options as practice). By default only answers without a
    successful grade (endpoint errors, unreadable replies, interrupted sessions); --all
    regrades every answer in range. Questions come from the loaded banks, or from the copy
    stored with the attempt if the bank lost them. Example:
    `interviewer regrade --since 7d --all --endpoint local`.
    """
    from interviewer.bank.library import load_library
    from interviewer.config import bank_paths, load_config
    from interviewer.errors import BankError
    from interviewer.history.regrade import RegradeResult, select_attempts
    from interviewer.history.regrade import regrade as run_regrade
    from interviewer.history.store import HistoryStore
    from interviewer.history.times import parse_range
    from interviewer.ui import history as ui

    config = load_config()
    start, end = parse_range(since, until)
    with HistoryStore.open_default() as store:
        attempts = select_attempts(
            store,
            session_id=_session_id(store, session),
            since=start,
            until=end,
            include_graded=all_attempts,
        )
        if dry_run:
            ui.render_regrade_plan(attempts)
            return
        if not attempts:
            ui.render_regrade(RegradeResult(session_id=None))
            return
        try:
            library = load_library(bank_paths(config, bank_dir))
        except BankError as exc:
            from interviewer.ui.console import notice

            notice(f"Banks not loaded ({exc}); grading against the questions stored in history.")
            library = None
        chosen = build_grader(
            config,
            grader=grader,
            endpoint=endpoint,
            base_url=base_url,
            model=model,
            api_key_env=api_key_env,
            library=library,
        )
        result = run_regrade(
            store,
            chosen,
            attempts,
            library=library,
            hint_penalty=config.practice.hint_penalty,
            on_item=ui.render_regrade_item,
        )
    ui.render_regrade(result)
    if result.stopped:
        raise typer.Exit(code=1)
