"""Batch API files: export requests for OpenAI's Batch API / vLLM run-batch, import replies.

``export_batch`` writes one request line per distinct row hash (``custom_id``);
``import_batch`` turns their output into result lines, parsed exactly like a live reply.
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from interviewer.bank.library import Question
from interviewer.batch.costs import RequestBuilder
from interviewer.batch.outputs import check_output
from interviewer.batch.results import ResultSink, result_line
from interviewer.batch.rows import RowTask
from interviewer.batch.run import BatchCounts, ProgressCallback
from interviewer.errors import InputError
from interviewer.files import AtomicFile
from interviewer.grading.grade import GraderInfo, Outcome
from interviewer.safe_text import without_surrogates

# OpenAI Batch API limits per input file (vLLM run-batch has none, but splitting is harmless).
BATCH_MAX_REQUESTS = 50_000
BATCH_MAX_BYTES = 190 * 1024 * 1024


def export_batch(
    tasks: Iterable[RowTask],
    grader: RequestBuilder,
    out: Path,
    *,
    max_requests: int = BATCH_MAX_REQUESTS,
    max_bytes: int = BATCH_MAX_BYTES,
) -> tuple[list[Path], int, int]:
    """Write one OpenAI Batch API request line per distinct row hash.

    ``custom_id`` is the row hash, so the output maps straight back to rows (identical rows
    share one request). Files over the Batch API's limits are split into ``NAME.2.jsonl``…
    Returns (files written, requests, rows covered).
    """
    files: list[Path] = []
    seen: set[str] = set()
    requests = rows = 0
    part: AtomicFile | None = None
    size = count = 0
    try:
        for task in tasks:
            rows += 1
            if task.hash in seen:
                continue
            seen.add(task.hash)
            line = {
                "custom_id": task.hash,
                "method": "POST",
                "url": "/v1/chat/completions",
                "body": grader.request_body(task.question, task.row.answer),
            }
            data = (json.dumps(line, ensure_ascii=False, separators=(",", ":")) + "\n").encode()
            if part is None or count >= max_requests or size + len(data) > max_bytes:
                if part is not None:
                    part.commit()
                path = (
                    out if not files else out.with_name(f"{out.stem}.{len(files) + 1}{out.suffix}")
                )
                check_output(path, "batch")
                part = AtomicFile(path)
                files.append(path)
                size = count = 0
            part.handle.write(data)
            size += len(data)
            count += 1
            requests += 1
        if part is not None:
            part.commit()
    except OSError as exc:
        raise InputError(f"{out}: cannot write the batch file ({exc.strerror}).") from None
    finally:
        if part is not None:
            part.discard()
    return files, requests, rows


@dataclass(frozen=True)
class BatchReply:
    """One reply from a batch output file, reduced to what grading needs."""

    content: str | None = None
    finish_reason: str | None = None
    usage: dict[str, Any] | None = None
    error: str | None = None


def parse_batch_line(entry: dict[str, Any]) -> BatchReply:
    """Read one output line of OpenAI's Batch API or vLLM run-batch (either layout).

    OpenAI and current vLLM wrap the chat completion in ``response.body``; older vLLM put it
    directly under ``response``. Failures come as ``error`` (an object or, from vLLM, a
    string), as a non-2xx ``status_code``, or as a body holding ``error``.
    """
    error = entry.get("error")
    response = entry.get("response")
    body: Any = None
    status: Any = None
    if isinstance(response, dict):
        status = response.get("status_code")
        if "body" in response:
            body = response.get("body")
        elif "choices" in response:
            body = response
    if isinstance(body, str):
        with contextlib.suppress(ValueError, RecursionError):
            body = json.loads(body)
    failed = bool(error) or (isinstance(status, int) and not 200 <= status < 300)
    if not failed and isinstance(body, dict) and body.get("error") and not body.get("choices"):
        failed = True
    if not failed and not (isinstance(body, dict) and body.get("choices")):
        failed = True
        error = error or "no chat completion in the response"
    if failed:
        return BatchReply(error=_describe_batch_error(error, body, status))
    assert isinstance(body, dict)
    choice = body["choices"][0] if isinstance(body["choices"], list) else None
    message = choice.get("message") if isinstance(choice, dict) else None
    if not isinstance(choice, dict) or not isinstance(message, dict):
        return BatchReply(error="batch request failed: the reply is not a chat completion")
    content = message.get("content")
    finish = choice.get("finish_reason")
    return BatchReply(
        content=without_surrogates(content) if isinstance(content, str) else None,
        finish_reason=finish if isinstance(finish, str) else None,
        usage=_token_counts(body.get("usage")),
    )


def _token_counts(usage: Any) -> dict[str, int] | None:
    """The usage's token counts, without anything that is not a count."""
    if not isinstance(usage, dict):
        return None
    counts = {k: v for k, v in usage.items() if k.endswith("_tokens") and type(v) is int}
    return counts or None


def _describe_batch_error(error: Any, body: Any, status: Any) -> str:
    parts: list[str] = []
    if isinstance(status, int):
        parts.append(f"HTTP {status}")
    source = error
    if not source and isinstance(body, dict):
        source = body.get("error") or body.get("message")
    if isinstance(source, dict):
        code = source.get("code") or source.get("type")
        message = source.get("message") or json.dumps(source, ensure_ascii=False)
        parts.append(f"{code}: {message}" if code else str(message))
    elif source:
        parts.append(str(source))
    return "batch request failed: " + (" ".join(parts) if parts else "unknown error")


class BatchOutputIndex:
    """custom_id -> where its reply is, over several output/error files.

    Only offsets are held in memory; each reply is read back when its row comes up. A
    successful reply wins over an error for the same custom_id (a retried request).
    """

    def __init__(self, paths: list[Path]) -> None:
        self.paths = paths
        self.entries: dict[str, tuple[int, int, bool]] = {}  # id -> (file, offset, ok)
        self.lines = 0
        self.invalid: list[str] = []
        for number, path in enumerate(paths):
            self._index(number, path)

    def _index(self, number: int, path: Path) -> None:
        try:
            fh = path.open("rb")
        except OSError as exc:
            raise InputError(f"{path}: cannot read the batch output ({exc.strerror}).") from None
        with fh:
            offset = 0
            for line_number, raw in enumerate(fh, start=1):
                start, offset = offset, offset + len(raw)
                if not raw.strip():
                    continue
                try:
                    entry = json.loads(raw)
                    custom_id = entry["custom_id"]
                except (ValueError, KeyError, TypeError, RecursionError):
                    entry = custom_id = None
                if not isinstance(custom_id, str):  # ours are row hashes: never another type
                    self.invalid.append(f"{path}:{line_number}")
                    continue
                self.lines += 1
                ok = parse_batch_line(entry).error is None
                known = self.entries.get(custom_id)
                if known is None or (ok and not known[2]):
                    self.entries[custom_id] = (number, start, ok)

    def get(self, custom_id: str) -> BatchReply | None:
        where = self.entries.get(custom_id)
        if where is None:
            return None
        number, offset, _ = where
        with self.paths[number].open("rb") as fh:
            fh.seek(offset)
            return parse_batch_line(json.loads(fh.readline()))


class ReplyParser(Protocol):
    """What --import-batch needs from the LLM grader: the live run's reply parsing."""

    @property
    def info(self) -> GraderInfo: ...

    def outcome_from_reply(
        self,
        question: Question,
        answer: str,
        content: str | None,
        finish_reason: str | None,
        usage: Any,
    ) -> Outcome: ...


@dataclass
class ImportResult:
    """What --import-batch did."""

    counts: BatchCounts
    matched: int = 0
    missing: int = 0  # rows to grade with no reply in the files
    replies: int = 0  # distinct custom_ids in the files
    invalid_lines: list[str] = field(default_factory=list)


def import_batch(
    tasks: Iterable[RowTask],
    grader: ReplyParser,
    index: BatchOutputIndex,
    writer: ResultSink,
    *,
    to_grade: int = 0,
    progress: ProgressCallback | None = None,
    stop: threading.Event | None = None,
) -> ImportResult:
    """Turn batch replies into result lines, parsed exactly as in a live run."""
    result = ImportResult(
        BatchCounts(to_grade=to_grade),
        invalid_lines=list(index.invalid),
        replies=len(index.entries),
    )
    counts = result.counts
    for task in tasks:
        if stop is not None and stop.is_set():
            break
        reply = index.get(task.hash)
        if reply is None:
            result.missing += 1
            continue
        result.matched += 1
        if reply.error is not None:
            outcome = Outcome(
                ungraded_reason="endpoint_error", ungraded_detail=reply.error, info=grader.info
            )
        else:
            outcome = grader.outcome_from_reply(
                task.question, task.row.answer, reply.content, reply.finish_reason, reply.usage
            )
        writer.add(result_line(task, outcome))
        counts.record(outcome)
        if counts.finished % 64 == 0:
            writer.flush()
        if progress is not None:
            progress(counts)
    writer.sync()
    return result
