"""Reports on a batch results file: a CSV summary, Markdown, and a self-contained HTML page.

The results file is append-only, so a row may have several lines (an ungraded attempt, then
a graded retry): the latest line per row key wins. Reading is two streaming passes: the
first keeps only an offset per key, the second seeks to each winning line in input order,
aggregates it and writes its CSV row. Memory grows with the number of rows only by that
small index, never by the grades themselves.

What is reported: rows graded and ungraded (by reason; ungraded rows are never counted as a
score), the score distribution overall and per question, each criterion's level
distribution, the key points most often missed, and the weakest answers. The HTML page
uses inline CSS and SVG only -- no script, no font, no network -- and escapes every text
that came from an input file or a model.
"""

from __future__ import annotations

import contextlib
import csv
import heapq
import io
import json
import sys
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from interviewer.batch.anchor_store import RowScale, anchors_path, fit_run
from interviewer.batch.class_report import Scaler, add_to_class
from interviewer.batch.report_data import (
    KEY_POINT_STATUSES,
    LEVELS,
    CriterionStats,
    KeyPointStats,
    QuestionStats,
    ReportData,
    WeakAnswer,
    excerpt,
    open_results_file,
)
from interviewer.batch.report_html import render_html
from interviewer.batch.report_markdown import render_markdown
from interviewer.errors import InputError
from interviewer.files import AtomicFile, write_atomic
from interviewer.safe_text import spreadsheet_cell

# --------------------------------------------------------------------------- reading


@dataclass(slots=True)
class _Entry:
    offset: int
    source: int
    row: int
    question: str
    score: float | None  # the grader's score; None when ungraded or blank


def _index(path: Path, keys: set[str] | None) -> tuple[dict[str, _Entry], list[str]]:
    """Latest line per key, and the criterion ids in first-seen order."""
    latest: dict[str, _Entry] = {}
    sources: dict[str, int] = {}
    criteria: dict[str, None] = {}
    fh = open_results_file(path)
    with fh:
        offset = 0
        for raw in fh:
            start, offset = offset, offset + len(raw)
            if not raw.endswith(b"\n"):
                continue  # a torn last line
            try:
                record = json.loads(raw)
                key = str(record["key"])
            except (ValueError, KeyError, TypeError):
                continue
            if keys is not None and key not in keys:
                continue
            source = sources.setdefault(str(record.get("source")), len(sources))
            grade = (record.get("outcome") or {}).get("grade") or {}
            score = record.get("score")
            if not record.get("answer"):
                score = None  # a blank answer is 0 on any scale: it teaches the map nothing
            latest[key] = _Entry(
                start,
                source,
                int(record.get("row") or 0),
                sys.intern(str(record.get("question_id") or "?")),
                float(score) if record.get("graded") and score is not None else None,
            )
            for criterion in grade.get("criteria") or []:
                criteria.setdefault(str(criterion.get("criterion")), None)
    return latest, list(criteria)


def _records(path: Path, latest: dict[str, _Entry]) -> Iterable[dict[str, Any]]:
    """The winning line of each key, in input order (file, then row)."""
    order = sorted(latest.values(), key=lambda e: (e.source, e.row, e.offset))
    with path.open("rb") as fh:
        for entry in order:
            fh.seek(entry.offset)
            yield json.loads(fh.readline())


SUMMARY_COLUMNS = (
    "source",
    "row",
    "line",
    "id",
    "candidate",
    "question_id",
    "graded",
    "score",
    "ungraded_reason",
)
STATUS_COLUMNS = KEY_POINT_STATUSES
TRAILING_COLUMNS = ("dropped_quotes", "grader", "hash", "key")
SCALE_COLUMNS = ("max_score", "human_score", "calibrated_score")


def build_report(
    results: Path,
    *,
    keys: set[str] | None = None,
    summary_csv: Path | None = None,
    weakest: int = 10,
    scales: dict[str, RowScale] | None = None,
    default_max: float | None = None,
) -> ReportData:
    """Aggregate a results file (only ``keys`` when given) and write the CSV summary.

    With ``scales`` (the rows' teacher scores and maxima), the anchor map is fitted and
    stored beside the results, and every row gets its score on the teacher's scale.
    """
    latest, criterion_ids = _index(results, keys)
    data = ReportData(
        results=str(results), generated_at=datetime.now(UTC).isoformat(timespec="seconds")
    )
    scales = scales or {}
    if scales or default_max is not None or anchors_path(results).exists():
        graded = [(k, e.question, e.score) for k, e in latest.items() if e.score is not None]
        data.calibration, scales = fit_run(results, graded, scales, default_max)
    scaler = Scaler(data.calibration, scales, default_max)
    data.scaled = bool(scales) or default_max is not None
    heap: list[tuple[float, int, WeakAnswer]] = []
    out: io.TextIOWrapper | None = None
    target: AtomicFile | None = None
    writer: Any = None
    if summary_csv is not None:
        target = _open_output(summary_csv)
        out = io.TextIOWrapper(target.handle, encoding="utf-8-sig", newline="")
        writer = csv.writer(out)
        writer.writerow(
            [*SUMMARY_COLUMNS, *criterion_ids, *STATUS_COLUMNS, *TRAILING_COLUMNS, *SCALE_COLUMNS]
        )
    try:
        for seq, record in enumerate(_records(results, latest)):
            outcome = record.get("outcome") or {}
            grade = outcome.get("grade")
            _aggregate(data, record, outcome, grade)
            point = scaler.point(record)
            on_scale = scaler.on_scale(point, blank=not record.get("answer"))
            add_to_class(data, record, grade, point, on_scale, scaler.maximum(point))
            if grade is not None:
                weak = _weak_answer(record, grade)
                # Keep the lowest scores: a max-heap on score via negation, bounded in size.
                item = (-weak.score, -seq, weak)
                if len(heap) < weakest:
                    heapq.heappush(heap, item)
                elif item > heap[0]:
                    heapq.heapreplace(heap, item)
            if writer is not None:
                row = _summary_row(record, outcome, grade, criterion_ids)
                writer.writerow(
                    [spreadsheet_cell(c) for c in (*row, *scaler.columns(point, on_scale))]
                )
        if out is not None and target is not None:
            out.flush()
            out.detach()  # the wrapper must not close the handle commit() closes
            out = None
            target.commit()
    except OSError as exc:
        raise InputError(f"{summary_csv}: cannot write the summary ({exc.strerror}).") from None
    finally:
        if out is not None:
            with contextlib.suppress(OSError, ValueError):
                out.close()
        if target is not None:
            target.discard()
    data.weakest = [w for _, _, w in sorted(heap, key=lambda t: (-t[0], -t[1]))]
    return data


def _aggregate(
    data: ReportData, record: dict[str, Any], outcome: dict[str, Any], grade: Any
) -> None:
    qid = str(record.get("question_id") or "?")
    question = data.questions.get(qid)
    if question is None:
        question = QuestionStats(qid, str(record.get("question") or ""))
        data.questions[qid] = question
    data.rows += 1
    question.rows += 1
    usage = outcome.get("usage") or {}
    data.prompt_tokens += int(usage.get("prompt_tokens") or 0)
    data.completion_tokens += int(usage.get("completion_tokens") or 0)
    info = outcome.get("info") or {}
    if info.get("kind") == "offline":
        data.graders["offline"] += 1
    elif info:
        data.graders[f"{info.get('model') or '?'}"] += 1
    if not isinstance(grade, dict):
        data.ungraded += 1
        question.ungraded += 1
        data.reasons[str(record.get("ungraded_reason") or "unknown")] += 1
        return
    score = float(grade.get("score") or 0.0)
    data.scores.append(score)
    question.scores.append(score)
    if grade.get("estimate"):
        data.estimates += 1
    for c in grade.get("criteria") or []:
        cid = str(c.get("criterion"))
        level = int(c.get("score") or 0)
        if not 0 <= level < LEVELS:
            continue
        name = str(c.get("name") or cid)
        for table in (data.criteria, question.criteria):
            stats = table.get(cid)
            if stats is None:
                stats = table[cid] = CriterionStats(cid, name)
            stats.levels[level] += 1
    for kp in grade.get("key_points") or []:
        index = int(kp.get("index") or 0)
        text = str(kp.get("text") or "")
        point = question.key_points.get((index, text))
        if point is None:
            point = question.key_points[(index, text)] = KeyPointStats(index, text)
        point.statuses[str(kp.get("status"))] += 1


def _weak_answer(record: dict[str, Any], grade: dict[str, Any]) -> WeakAnswer:
    return WeakAnswer(
        score=float(grade.get("score") or 0.0),
        question_id=str(record.get("question_id") or "?"),
        question=str(record.get("question") or ""),
        source=str(record.get("source") or ""),
        row=int(record.get("row") or 0),
        id=record.get("id"),
        candidate=record.get("candidate"),
        answer=excerpt(str(record.get("answer") or "")),
        feedback=excerpt(str(grade.get("feedback") or "")),
        missed=[
            str(kp.get("text"))
            for kp in grade.get("key_points") or []
            if kp.get("status") in ("missing", "contradicted")
        ],
    )


def _summary_row(
    record: dict[str, Any], outcome: dict[str, Any], grade: Any, criterion_ids: list[str]
) -> list[Any]:
    levels: dict[str, Any] = {}
    statuses: Counter[str] = Counter()
    dropped: Any = ""
    if isinstance(grade, dict):
        levels = {str(c.get("criterion")): c.get("score") for c in grade.get("criteria") or []}
        statuses = Counter(str(kp.get("status")) for kp in grade.get("key_points") or [])
        dropped = grade.get("dropped_quotes", 0)
    info = outcome.get("info") or {}
    grader = "offline" if info.get("kind") == "offline" else str(info.get("model") or "")
    return [
        record.get("source"),
        record.get("row"),
        record.get("line"),
        _cell(record.get("id")),
        _cell(record.get("candidate")),
        _cell(record.get("question_id")),
        "yes" if record.get("graded") else "no",
        "" if record.get("score") is None else record.get("score"),
        record.get("ungraded_reason") or "",
        *[levels.get(cid, "") for cid in criterion_ids],
        *[statuses.get(s, 0) if isinstance(grade, dict) else "" for s in STATUS_COLUMNS],
        dropped,
        grader,
        record.get("hash"),
        record.get("key"),
    ]


def _open_output(path: Path) -> AtomicFile:
    try:
        return AtomicFile(path)
    except OSError as exc:
        raise InputError(f"{path}: cannot write the summary ({exc.strerror}).") from None


def _cell(value: Any) -> str:
    """Text for a spreadsheet cell (see ``safe_text.spreadsheet_cell``)."""
    return str(spreadsheet_cell(value))


# --------------------------------------------------------------------------- files


@dataclass(frozen=True)
class ReportFiles:
    """Where the reports were written."""

    summary_csv: Path
    markdown: Path
    html: Path
    gradebook: Path


def report_paths(results: Path, report_dir: Path | None = None) -> ReportFiles:
    """Report file names for a results file: ``STEM.summary.csv``, ``STEM.report.md|html``."""
    folder = report_dir or results.parent
    stem = results.stem
    return ReportFiles(
        summary_csv=folder / f"{stem}.summary.csv",
        markdown=folder / f"{stem}.report.md",
        html=folder / f"{stem}.report.html",
        gradebook=folder / f"{stem}.gradebook.csv",
    )


def gradebook_csv(data: ReportData) -> str:
    """One row per candidate, one column per question (on the teacher's scale), the total."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    questions = list(data.questions.values())
    header = ["candidate"]
    for q in questions:
        scale = f" (/{q.maximum:g})" if q.maximum is not None else ""
        header.append(_cell(f"{q.label}{scale}"))
    writer.writerow([*header, "total", "out_of"])
    for sheet in data.candidates.values():
        cells: list[Any] = [_cell(sheet.name)]
        for q in questions:
            answer = sheet.answers.get(q.question_id)
            value = None
            if answer is not None:
                value = answer.on_scale if answer.on_scale is not None else answer.score
            cells.append("" if value is None else round(value, 2))
        total, out_of = sheet.total, data.out_of
        if total is None:  # no teacher's scale: the total of 0-100 scores
            scores = [a.score for a in sheet.answers.values() if a.score is not None]
            total = sum(scores) if scores else None
        cells += ["" if total is None else round(total, 2), "" if out_of is None else out_of]
        writer.writerow(cells)
    return "\ufeff" + buffer.getvalue()


def write_reports(
    results: Path,
    *,
    report_dir: Path | None = None,
    keys: set[str] | None = None,
    scales: dict[str, RowScale] | None = None,
    default_max: float | None = None,
) -> tuple[ReportData, ReportFiles]:
    """Write the CSV summary, Markdown and HTML reports; return the data and the paths.

    With candidates in the rows, also the gradebook (``STEM.gradebook.csv``).
    """
    files = report_paths(results, report_dir)
    data = build_report(
        results,
        keys=keys,
        summary_csv=files.summary_csv,
        scales=scales,
        default_max=default_max,
    )
    outputs = [(files.markdown, render_markdown(data)), (files.html, render_html(data))]
    if data.candidates:
        outputs.append((files.gradebook, gradebook_csv(data)))
    for path, text in outputs:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            write_atomic(path, text)
        except OSError as exc:
            raise InputError(f"{path}: cannot write the report ({exc.strerror}).") from None
    return data, files
