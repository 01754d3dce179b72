"""Running `bank enrich` over a bank: journal, concurrency, the draft and its summary."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from interviewer.authoring.draft_file import write_draft
from interviewer.authoring.enrich import (
    ENRICH_KEYS,
    EnrichReply,
    Merged,
    apply_reply,
    derive,
    enrich_messages,
    enrich_schema,
    parse_enrich,
)
from interviewer.authoring.journal import Journal, journal_path, run_concurrently, source_hash
from interviewer.authoring.llm import DraftClient
from interviewer.bank.library import Bank, Question
from interviewer.config import EndpointProfile
from interviewer.errors import BankError

DRAFT_KEY = "#draft"


@dataclass
class EnrichSummary:
    """What an enrich run did, for the command to report."""

    out: Path
    merged: list[Merged] = field(default_factory=list)
    sent: int = 0
    resumed: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)
    stopped: str | None = None
    offline: bool = False
    interrupted: bool = False

    @property
    def unsupported(self) -> int:
        return sum(len(m.unsupported) for m in self.merged)


def enrich_bank(
    bank: Bank,
    out: Path,
    profile: EndpointProfile | None,
    *,
    force: bool = False,
    concurrency: int = 4,
    progress: Callable[[Question], None] | None = None,
) -> EnrichSummary:
    """Draft what every question of ``bank`` lacks into ``out`` (resuming its journal)."""
    journal = Journal(journal_path(out))
    records = journal.load()
    _check_out(out, records)
    summary = EnrichSummary(out=out, offline=profile is None)
    if profile is None:
        summary.merged = [derive(q, force=force) for q in bank.questions]
    else:
        replies = _ask(bank, profile, journal, records, summary, force, concurrency, progress)
        summary.merged = [
            apply_reply(q, replies[q.id], force=force) if q.id in replies else Merged(q)
            for q in bank.questions
        ]
    write_draft(out, bank.info, [m.question for m in summary.merged])
    journal.append({"key": DRAFT_KEY, "sha": _file_sha(out)})
    return summary


def _ask(
    bank: Bank,
    profile: EndpointProfile,
    journal: Journal,
    records: dict[str, dict[str, object]],
    summary: EnrichSummary,
    force: bool,
    concurrency: int,
    progress: Callable[[Question], None] | None,
) -> dict[str, EnrichReply]:
    """The replies for every question: journalled ones, then the rest from the endpoint."""
    replies: dict[str, EnrichReply] = {}
    todo: list[tuple[Question, str]] = []
    for question in bank.questions:
        messages = enrich_messages(question, force=force)
        source = source_hash(profile.model or "", *(m["content"] for m in messages))
        record = records.get(question.id)
        if record is not None and record.get("source") == source:
            replies[question.id] = EnrichReply.model_validate(record.get("reply"))
            summary.resumed += 1
        else:
            todo.append((question, source))
    client = DraftClient(profile)
    schema = enrich_schema()

    def work(task: tuple[Question, str]) -> EnrichReply:
        return client.ask(enrich_messages(task[0], force=force), schema, ENRICH_KEYS, parse_enrich)

    def finished(task: tuple[Question, str], reply: EnrichReply) -> None:
        question, source = task
        journal.append({"key": question.id, "source": source, "reply": reply.model_dump()})
        replies[question.id] = reply
        if progress is not None:
            progress(question)

    try:
        report = run_concurrently(todo, work, finished, concurrency=concurrency)
    except KeyboardInterrupt:
        # The replies that arrived are journalled; the draft is still written from them.
        summary.interrupted = True
        summary.sent = len(replies) - summary.resumed
        return replies
    finally:
        client.close()
    summary.sent = report.done
    summary.failed = [(task[0].id, why) for task, why in report.failed]
    summary.stopped = report.stopped
    return replies


def _check_out(out: Path, records: dict[str, dict[str, object]]) -> None:
    """Refuse to replace a file this command did not write, or a draft edited since."""
    if not out.exists():
        return
    written = records.get(DRAFT_KEY, {}).get("sha")
    if written != _file_sha(out):
        raise BankError(
            f"{out} exists and is not the draft this command last wrote there (it was edited"
            " or comes from elsewhere); move it away or pass another --out."
        )


def _file_sha(path: Path) -> str:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError as exc:
        raise BankError(f"{path}: cannot read ({exc.strerror}).") from None
