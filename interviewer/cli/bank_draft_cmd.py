"""`interviewer bank enrich | generate`: draft bank content with an LLM, for review."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from interviewer.cli.common import (
    ApiKeyEnvOpt,
    BankDirOpt,
    BaseUrlOpt,
    EndpointOpt,
    GraderOpt,
    ModelOpt,
    grader_flags,
    handle_errors,
)

if TYPE_CHECKING:
    from interviewer.authoring.enrich_run import EnrichSummary
    from interviewer.bank.library import Bank
    from interviewer.config import Config, EndpointProfile

ConcurrencyOpt = Annotated[
    int, typer.Option("--concurrency", min=1, max=64, help="Requests in flight at once.")
]


def register(bank_app: typer.Typer) -> None:
    """Add `enrich` and `generate` to the `bank` group."""
    bank_app.command("enrich")(handle_errors(enrich))
    bank_app.command("generate")(handle_errors(generate))


def _endpoint(
    config: Config,
    grader: str | None,
    endpoint: str | None,
    base_url: str | None,
    model: str | None,
    api_key_env: str | None,
) -> EndpointProfile | None:
    """The endpoint to draft with, chosen like a grader's (None: offline)."""
    from interviewer.cli.common import close_when_done
    from interviewer.grading.factory import choose_grader

    flags = grader_flags(
        grader=grader, endpoint=endpoint, base_url=base_url, model=model, api_key_env=api_key_env
    )
    chosen = choose_grader(config, flags)
    close_when_done(chosen.grader)
    return chosen.endpoint


def _bank(spec: str, bank_dir: list[Path] | None) -> Bank:
    from interviewer.bank.library import load_bank_file, load_library
    from interviewer.config import bank_paths, load_config

    path = Path(spec)
    if path.suffix in (".yaml", ".yml") or path.is_file():
        return load_bank_file(path)
    return load_library(bank_paths(load_config(), bank_dir)).bank(spec)


def enrich(
    bank: Annotated[str, typer.Argument(metavar="BANK", help="A bank id or a bank file.")],
    out: Annotated[
        Path | None,
        typer.Option("--out", help="The draft to write (default: BANK.enriched.yaml here)."),
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Also replace fields written by hand.")
    ] = False,
    concurrency: ConcurrencyOpt = 4,
    grader: GraderOpt = None,
    endpoint: EndpointOpt = None,
    base_url: BaseUrlOpt = None,
    model: ModelOpt = None,
    api_key_env: ApiKeyEnvOpt = None,
    bank_dir: BankDirOpt = None,
) -> None:
    """Draft key points, topic, tags, follow-ups and reference notes into a draft bank.

    With an endpoint an LLM drafts them; offline, key points are derived from the reference.
    Every field written is listed under the question's `generated:` (or `derived:`).
    Running again with the same --out resumes where the last run stopped.
    """
    from interviewer.authoring.enrich_run import enrich_bank
    from interviewer.config import load_config

    source = _bank(bank, bank_dir)
    profile = _endpoint(load_config(), grader, endpoint, base_url, model, api_key_env)
    target = out or Path.cwd() / f"{source.info.id}.enriched.yaml"
    summary = enrich_bank(source, target, profile, force=force, concurrency=concurrency)
    _report_enrich(summary)
    if summary.interrupted:
        raise KeyboardInterrupt
    if summary.failed or summary.stopped:
        raise typer.Exit(code=1)


def _report_enrich(summary: EnrichSummary) -> None:
    from interviewer.ui.console import console, err_console

    for merged in summary.merged:
        for point in merged.unsupported:
            err_console.print(
                f"{merged.question.id}: dropped a key point the reference does not support:"
                f" {point}",
                markup=False,
                soft_wrap=True,
                highlight=False,
            )
        if merged.too_few_points:
            err_console.print(
                f"{merged.question.id}: only {len(merged.question.key_points)} supported key"
                " point(s); review them against the reference",
                markup=False,
                highlight=False,
                soft_wrap=True,
            )
        if merged.kept:
            console.print(
                f"{merged.question.id}: kept hand-written {', '.join(merged.kept)}"
                " (--force replaces them)",
                markup=False,
                soft_wrap=True,
            )
    for qid, why in summary.failed:
        err_console.print(
            f"{qid}: not enriched: {why}", markup=False, highlight=False, soft_wrap=True
        )
    if summary.interrupted:
        err_console.print(
            "Interrupted: the replies that arrived are kept; run the same command again to"
            " continue.",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )
    if summary.stopped:
        err_console.print(
            f"Stopped: {summary.stopped}", markup=False, highlight=False, soft_wrap=True
        )
    how = "derived offline" if summary.offline else f"{summary.sent} drafted"
    resumed = f", {summary.resumed} from the journal" if summary.resumed else ""
    failed = f", {len(summary.failed)} failed (run again to retry)" if summary.failed else ""
    dropped = f", {summary.unsupported} unsupported key point(s) dropped"
    console.print(
        f"Wrote {summary.out}: {len(summary.merged)} question(s), {how}{resumed}{failed}{dropped}.",
        markup=False,
        soft_wrap=True,
        highlight=False,
    )


def generate(
    topic: Annotated[str, typer.Option("--topic", help="What the questions are about.")],
    count: Annotated[int, typer.Option("--count", min=1, max=50, help="How many to draft.")],
    lang: Annotated[str, typer.Option("--lang", help="The bank's language: zh or en.")],
    difficulty: Annotated[
        str | None, typer.Option("--difficulty", help="easy, medium or hard (default: any).")
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", help="The draft bank to write (default: BANK_ID.yaml here)."),
    ] = None,
    bank_id: Annotated[
        str | None, typer.Option("--bank-id", help="The draft bank's id (default: draft-TOPIC).")
    ] = None,
    grader: GraderOpt = None,
    endpoint: EndpointOpt = None,
    base_url: BaseUrlOpt = None,
    model: ModelOpt = None,
    api_key_env: ApiKeyEnvOpt = None,
    bank_dir: BankDirOpt = None,
) -> None:
    """Draft new questions with reference answers through an LLM, into a draft bank.

    Drafts too close to a question of a loaded bank are dropped (and counted); every field
    is marked `generated:` for review. The draft is checked like `bank validate` first.
    """
    from interviewer.authoring.draft_file import write_draft
    from interviewer.authoring.generate import (
        GenerateRequest,
        draft_bank_info,
        generate_questions,
    )
    from interviewer.authoring.llm import DraftClient
    from interviewer.bank.library import load_library
    from interviewer.bank.selection import check_difficulty
    from interviewer.config import bank_paths, load_config
    from interviewer.errors import BankError, ConfigError, InputError
    from interviewer.ui.console import console

    if lang not in ("zh", "en"):
        raise InputError(f"--lang {lang}: use zh or en.")
    check_difficulty(difficulty)
    difficulty = difficulty.lower() if difficulty else None
    config = load_config()
    profile = _endpoint(config, grader, endpoint, base_url, model, api_key_env)
    if profile is None:
        raise ConfigError(
            "`bank generate` drafts through an LLM: pass --base-url and --model, --endpoint,"
            " or set OPENAI_BASE_URL (it has no offline mode)."
        )
    library = load_library(bank_paths(config, bank_dir))
    request = GenerateRequest(topic=topic, count=count, language=lang, difficulty=difficulty)
    info = draft_bank_info(request, bank_id)
    target = out or Path.cwd() / f"{info.id}.yaml"
    if target.exists():
        raise BankError(f"{target} exists; move it away or pass another --out.")
    client = DraftClient(profile)
    try:
        result = generate_questions(client, request, info, library.questions)
    finally:
        client.close()
    if not result.questions:
        raise BankError(
            f"Every draft duplicated an existing question ({len(result.duplicates)} dropped);"
            " nothing written. Try a narrower or different --topic."
        )
    write_draft(target, info, result.questions)
    for text, similar in result.duplicates:
        console.print(f"dropped, too close to {similar}: {text}", markup=False, soft_wrap=True)
    short = f" (asked for {count})" if len(result.questions) < count else ""
    console.print(
        f"Wrote {target}: {len(result.questions)} question(s){short},"
        f" {len(result.duplicates)} duplicate(s) dropped,"
        f" {result.unsupported} unsupported key point(s) dropped.",
        markup=False,
        soft_wrap=True,
    )
