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

import csv
import heapq
import html
import json
import statistics
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from interviewer.errors import InputError
from interviewer.grading.grade import format_score

BINS = 10
LEVELS = 5  # criterion levels 0-4
KEY_POINT_STATUSES = ("covered", "partial", "missing", "contradicted")
EXCERPT = 240


# --------------------------------------------------------------------------- data


@dataclass
class CriterionStats:
    """How often each level (0-4) was given for one criterion."""

    id: str
    name: str
    levels: list[int] = field(default_factory=lambda: [0] * LEVELS)

    @property
    def count(self) -> int:
        return sum(self.levels)

    @property
    def mean(self) -> float | None:
        if not self.count:
            return None
        return sum(level * n for level, n in enumerate(self.levels)) / self.count


@dataclass
class KeyPointStats:
    """How often one key point was covered, partial, missing or contradicted."""

    index: int
    text: str
    statuses: Counter[str] = field(default_factory=Counter)

    @property
    def total(self) -> int:
        return sum(self.statuses.values())

    @property
    def missed(self) -> int:
        return self.statuses["missing"] + self.statuses["contradicted"]

    @property
    def missed_rate(self) -> float:
        return self.missed / self.total if self.total else 0.0


class _Scored:
    """Counts and averages over the ``scores`` of graded rows (ungraded rows have none)."""

    scores: list[float]

    @property
    def graded(self) -> int:
        return len(self.scores)

    @property
    def mean(self) -> float | None:
        return statistics.fmean(self.scores) if self.scores else None

    @property
    def median(self) -> float | None:
        return statistics.median(self.scores) if self.scores else None


@dataclass
class QuestionStats(_Scored):
    """Everything reported about one question."""

    question_id: str
    text: str
    rows: int = 0
    ungraded: int = 0
    scores: list[float] = field(default_factory=list)
    criteria: dict[str, CriterionStats] = field(default_factory=dict)
    key_points: dict[tuple[int, str], KeyPointStats] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return question_label(self.question_id, self.text)

    @property
    def histogram(self) -> list[int]:
        return histogram(self.scores)


def question_label(question_id: str, text: str) -> str:
    """The bank id, or for a question given in the input file, its opening words."""
    if question_id.startswith("adhoc-") and text:
        return _excerpt(text, 60)
    return question_id


@dataclass
class WeakAnswer:
    """One of the lowest-scoring answers, with enough context to act on it."""

    score: float
    question_id: str
    question: str
    source: str
    row: int
    id: str | None
    candidate: str | None
    answer: str
    feedback: str
    missed: list[str]

    @property
    def label(self) -> str:
        return question_label(self.question_id, self.question)


@dataclass
class ReportData(_Scored):
    """The aggregated content of a results file (also shown on the terminal)."""

    results: str
    generated_at: str = ""
    rows: int = 0
    ungraded: int = 0
    reasons: Counter[str] = field(default_factory=Counter)
    scores: list[float] = field(default_factory=list)
    questions: dict[str, QuestionStats] = field(default_factory=dict)
    criteria: dict[str, CriterionStats] = field(default_factory=dict)
    weakest: list[WeakAnswer] = field(default_factory=list)
    graders: Counter[str] = field(default_factory=Counter)
    estimates: int = 0  # grades from the offline heuristic
    prompt_tokens: int = 0
    completion_tokens: int = 0

    def most_missed(self, limit: int = 15) -> list[tuple[QuestionStats, KeyPointStats]]:
        """Key points by how often they were missed or contradicted (rate, then count)."""
        pairs = [
            (q, kp) for q in self.questions.values() for kp in q.key_points.values() if kp.missed
        ]
        pairs.sort(key=lambda p: (-p[1].missed_rate, -p[1].missed, p[0].question_id, p[1].index))
        return pairs[:limit]


def histogram(scores: Iterable[float], bins: int = BINS) -> list[int]:
    """Counts of 0-100 scores in ``bins`` equal bins (100 falls in the last one)."""
    counts = [0] * bins
    width = 100 / bins
    for score in scores:
        counts[min(int(score // width), bins - 1)] += 1
    return counts


# --------------------------------------------------------------------------- reading


@dataclass(slots=True)
class _Entry:
    offset: int
    source: int
    row: int


def _index(path: Path, keys: set[str] | None) -> tuple[dict[str, _Entry], list[str]]:
    """Latest line per key, and the criterion ids in first-seen order."""
    latest: dict[str, _Entry] = {}
    sources: dict[str, int] = {}
    criteria: dict[str, None] = {}
    try:
        fh = path.open("rb")
    except FileNotFoundError:
        raise InputError(f"{path}: no results file; run `interviewer grade` first.") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror}).") from None
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
            latest[key] = _Entry(start, source, int(record.get("row") or 0))
            grade = (record.get("outcome") or {}).get("grade") or {}
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


def build_report(
    results: Path,
    *,
    keys: set[str] | None = None,
    summary_csv: Path | None = None,
    weakest: int = 10,
) -> ReportData:
    """Aggregate a results file (only ``keys`` when given) and write the CSV summary."""
    latest, criterion_ids = _index(results, keys)
    data = ReportData(
        results=str(results), generated_at=datetime.now(UTC).isoformat(timespec="seconds")
    )
    heap: list[tuple[float, int, WeakAnswer]] = []
    out: IO[str] | None = None
    writer: Any = None
    if summary_csv is not None:
        summary_csv.parent.mkdir(parents=True, exist_ok=True)
        out = summary_csv.open("w", encoding="utf-8-sig", newline="")
        writer = csv.writer(out)
        writer.writerow([*SUMMARY_COLUMNS, *criterion_ids, *STATUS_COLUMNS, *TRAILING_COLUMNS])
    try:
        for seq, record in enumerate(_records(results, latest)):
            outcome = record.get("outcome") or {}
            grade = outcome.get("grade")
            _aggregate(data, record, outcome, grade)
            if grade is not None:
                weak = _weak_answer(record, grade)
                # Keep the lowest scores: a max-heap on score via negation, bounded in size.
                item = (-weak.score, -seq, weak)
                if len(heap) < weakest:
                    heapq.heappush(heap, item)
                elif item > heap[0]:
                    heapq.heapreplace(heap, item)
            if writer is not None:
                writer.writerow(_summary_row(record, outcome, grade, criterion_ids))
    finally:
        if out is not None:
            out.close()
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
        answer=_excerpt(str(record.get("answer") or "")),
        feedback=_excerpt(str(grade.get("feedback") or "")),
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


def _cell(value: Any) -> str:
    """Text for a spreadsheet cell; a leading = + - @ must not become a formula."""
    if value is None:
        return ""
    text = str(value)
    if text[:1] in ("=", "+", "-", "@") and not _is_number(text):
        return "'" + text
    return text


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _excerpt(text: str, limit: int = EXCERPT) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


def _fmt(value: float | None, digits: int = 1) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


# --------------------------------------------------------------------------- Markdown


def _md(text: object) -> str:
    """Text safe inside a Markdown table cell."""
    flat = " ".join(str(text).split())
    return flat.replace("\\", "\\\\").replace("|", "\\|").replace("<", "&lt;")


def render_markdown(data: ReportData) -> str:
    """The report as Markdown (GitHub tables)."""
    lines: list[str] = ["# Batch grading report", ""]
    lines += [
        f"Results: `{_md(data.results)}` · generated {data.generated_at}",
        "",
        f"- Rows: {data.rows} · graded: {data.graded} · ungraded: {data.ungraded}",
        f"- Score: mean {format_score(data.mean)} · median {format_score(data.median)}"
        " (0–100; ungraded rows are not counted)",
    ]
    if data.reasons:
        reasons = ", ".join(f"{r} {n}" for r, n in data.reasons.most_common())
        lines.append(f"- Ungraded by reason: {reasons}")
    if data.graders:
        lines.append(
            "- Graded by: " + ", ".join(f"{_md(g)} ({n})" for g, n in data.graders.items())
        )
    if data.estimates:
        lines.append(
            f"- {data.estimates} grades are offline estimates (key-point overlap, not a model)."
        )
    lines += ["", "## Score distribution", ""]
    lines += _md_histogram(histogram(data.scores))
    lines += ["", "## Questions", ""]
    lines += ["| Question | Rows | Graded | Mean | Median | Distribution (0→100) |"]
    lines += ["|---|---:|---:|---:|---:|---|"]
    for q in data.questions.values():
        lines.append(
            f"| **{_md(q.question_id)}** {_md(_excerpt(q.text, 90))} | {q.rows} | {q.graded}"
            f" | {format_score(q.mean)} | {format_score(q.median)} | `{_spark(q.histogram)}` |"
        )
    lines += ["", "## Criteria", ""]
    lines += [
        "| Criterion | Mean level (0–4) | " + " | ".join(f"L{i}" for i in range(LEVELS)) + " |"
    ]
    lines += ["|---|---:|" + "---:|" * LEVELS]
    for c in data.criteria.values():
        cells = " | ".join(str(n) for n in c.levels)
        lines.append(f"| {_md(c.name)} | {_fmt(c.mean, 2)} | {cells} |")
    if len(data.questions) > 1 and data.criteria:
        lines += ["", "Mean level per question:", ""]
        ids = list(data.criteria)
        lines.append("| Question | " + " | ".join(_md(data.criteria[i].name) for i in ids) + " |")
        lines.append("|---|" + "---:|" * len(ids))
        for q in data.questions.values():
            cells = " | ".join(_fmt(q.criteria[i].mean, 2) if i in q.criteria else "–" for i in ids)
            lines.append(f"| {_md(q.label)} | {cells} |")
    lines += ["", "## Key points most often missed", ""]
    missed = data.most_missed()
    if missed:
        lines += ["| Question | Key point | Missed | Contradicted | Of |"]
        lines += ["|---|---|---:|---:|---:|"]
        for q, kp in missed:
            lines.append(
                f"| {_md(q.label)} | {_md(kp.text)} | {kp.statuses['missing']}"
                f" | {kp.statuses['contradicted']} | {kp.total} |"
            )
    else:
        lines.append("No key point was missed.")
    lines += ["", "## Weakest answers", ""]
    if data.weakest:
        lines += ["| Score | Question | Row | Candidate | Answer | Feedback |"]
        lines += ["|---:|---|---|---|---|---|"]
        for w in data.weakest:
            where = f"{w.source}:{w.row}" + (f" (id {w.id})" if w.id else "")
            lines.append(
                f"| {format_score(w.score)} | {_md(w.label)} | {_md(where)}"
                f" | {_md(w.candidate or '')} | {_md(w.answer)} | {_md(w.feedback)} |"
            )
    else:
        lines.append("No graded answer yet.")
    lines.append("")
    return "\n".join(lines)


def _md_histogram(counts: list[int]) -> list[str]:
    top = max(counts) if counts else 0
    rows = ["| Score | Rows | |", "|---|---:|---|"]
    width = 100 // len(counts) if counts else 10
    for i, n in enumerate(counts):
        bar = "█" * (round(30 * n / top) if top else 0)
        upper = 100 if i == len(counts) - 1 else (i + 1) * width
        rows.append(f"| {i * width}–{upper} | {n} | {bar} |")
    return rows


def _spark(counts: list[int]) -> str:
    blocks = " ▁▂▃▄▅▆▇█"
    top = max(counts) if counts else 0
    if not top:
        return "·" * len(counts)
    return "".join(blocks[min(8, round(8 * n / top))] if n else "·" for n in counts)


# --------------------------------------------------------------------------- HTML

_LEVEL_COLOURS = ("#c0392b", "#e67e22", "#f1c40f", "#7dbb4c", "#27ae60")
_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans","PingFang SC",
"Microsoft YaHei",sans-serif;margin:2rem auto;max-width:1100px;padding:0 1rem;color:#222;
line-height:1.45}
h1{font-size:1.6rem;margin-bottom:.2rem}h2{margin-top:2.2rem;border-bottom:1px solid #ddd;
padding-bottom:.2rem}h3{margin:.2rem 0 .5rem;font-size:1.05rem}
.muted{color:#666;font-size:.9rem}
.cards{display:flex;flex-wrap:wrap;gap:.8rem;margin:1rem 0}
.card{border:1px solid #ddd;border-radius:6px;padding:.6rem 1rem;min-width:8rem}
.card b{display:block;font-size:1.5rem}
table{border-collapse:collapse;width:100%;margin:.5rem 0 1rem;font-size:.92rem}
th,td{border-bottom:1px solid #eee;padding:.35rem .5rem;text-align:left;vertical-align:top}
th{background:#f7f7f7}td.num,th.num{text-align:right;white-space:nowrap}
.question{border:1px solid #e3e3e3;border-radius:6px;padding:.8rem 1rem;margin:1rem 0}
.qtext{color:#333;margin:.2rem 0 .6rem}
.legend span{display:inline-block;margin-right:.8rem;font-size:.85rem}
.swatch{display:inline-block;width:.8rem;height:.8rem;margin-right:.25rem;vertical-align:-1px}
.answer{color:#444;font-size:.88rem}
.warn{background:#fff7e0;border:1px solid #f0d98c;padding:.5rem .8rem;border-radius:6px}
"""


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _svg_histogram(counts: list[int], *, width: int = 320, height: int = 90) -> str:
    """Bars for score bins 0-10 … 90-100, with axis labels; inline SVG."""
    top = max(counts) if counts else 0
    n = len(counts)
    gap = 2
    plot_h = height - 16
    bar_w = (width - gap * (n - 1)) / n
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}"'
        f' viewBox="0 0 {width} {height}" role="img" aria-label="score distribution">'
    ]
    for i, count in enumerate(counts):
        h = 0 if not top else max(1.0 if count else 0.0, plot_h * count / top)
        x = i * (bar_w + gap)
        low, high = i * 100 // n, (i + 1) * 100 // n
        parts.append(
            f'<rect x="{x:.1f}" y="{plot_h - h:.1f}" width="{bar_w:.1f}" height="{h:.1f}"'
            f' fill="#3b82c4"><title>{low}–{high}: {count}</title></rect>'
        )
    parts.append(
        f'<line x1="0" y1="{plot_h}" x2="{width}" y2="{plot_h}" stroke="#999" stroke-width="1"/>'
    )
    for label, x, anchor in (("0", 0, "start"), ("50", width / 2, "middle"), ("100", width, "end")):
        parts.append(
            f'<text x="{x:.1f}" y="{height - 2}" font-size="10" fill="#666"'
            f' text-anchor="{anchor}">{label}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _svg_levels(levels: list[int], *, width: int = 260, height: int = 14) -> str:
    """A stacked bar of how often each level 0-4 was given."""
    total = sum(levels)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}"'
        f' viewBox="0 0 {width} {height}" role="img" aria-label="level distribution">'
    ]
    x = 0.0
    for level, count in enumerate(levels):
        if not count or not total:
            continue
        w = width * count / total
        parts.append(
            f'<rect x="{x:.2f}" y="0" width="{w:.2f}" height="{height}"'
            f' fill="{_LEVEL_COLOURS[level]}"><title>level {level}: {count}</title></rect>'
        )
        x += w
    if not total:
        parts.append(f'<rect x="0" y="0" width="{width}" height="{height}" fill="#eee"/>')
    parts.append("</svg>")
    return "".join(parts)


def _legend() -> str:
    items = "".join(
        f'<span><span class="swatch" style="background:{colour}"></span>level {level}</span>'
        for level, colour in enumerate(_LEVEL_COLOURS)
    )
    return f'<div class="legend">{items}</div>'


def render_html(data: ReportData) -> str:
    """The report as one self-contained HTML page (inline CSS and SVG, nothing fetched)."""
    out: list[str] = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        "<title>Batch grading report</title>",
        f"<style>{_CSS}</style></head><body>",
        "<h1>Batch grading report</h1>",
        f'<p class="muted">{_e(data.results)} · generated {_e(data.generated_at)}</p>',
        '<div class="cards">',
        f'<div class="card"><b>{data.rows}</b>rows</div>',
        f'<div class="card"><b>{data.graded}</b>graded</div>',
        f'<div class="card"><b>{data.ungraded}</b>ungraded</div>',
        f'<div class="card"><b>{_e(format_score(data.mean))}</b>mean score</div>',
        f'<div class="card"><b>{_e(format_score(data.median))}</b>median score</div>',
        "</div>",
    ]
    if data.reasons:
        reasons = ", ".join(f"{_e(r)}: {n}" for r, n in data.reasons.most_common())
        out.append(
            f'<p class="warn">Ungraded rows ({reasons}) are not counted in any score; re-run'
            " with <code>--retry-ungraded</code> to grade them again.</p>"
        )
    if data.estimates:
        out.append(
            f'<p class="warn">{data.estimates} grades are offline estimates from key-point'
            " overlap, not a model's judgement.</p>"
        )
    if data.graders:
        graders = ", ".join(f"{_e(g)} ({n})" for g, n in data.graders.items())
        out.append(f'<p class="muted">Graded by: {graders}</p>')

    out.append("<h2>Score distribution</h2>")
    out.append(_svg_histogram(histogram(data.scores), width=520, height=130))

    out.append("<h2>Criteria</h2>")
    out.append(_legend())
    out.append('<table><tr><th>Criterion</th><th class="num">Mean level (0–4)</th>')
    out.append("<th>Levels given</th></tr>")
    for c in data.criteria.values():
        out.append(
            f"<tr><td>{_e(c.name)}</td><td class='num'>{_e(_fmt(c.mean, 2))}</td>"
            f"<td>{_svg_levels(c.levels)}</td></tr>"
        )
    out.append("</table>")

    out.append("<h2>Questions</h2>")
    for q in data.questions.values():
        out.append('<div class="question">')
        out.append(
            f"<h3>{_e(q.question_id)} <span class='muted'>· {q.rows} rows · {q.graded} graded"
            f" · mean {_e(format_score(q.mean))} · median {_e(format_score(q.median))}</span></h3>"
        )
        out.append(f'<div class="qtext">{_e(q.text)}</div>')
        out.append(_svg_histogram(q.histogram))
        if q.criteria:
            out.append('<table><tr><th>Criterion</th><th class="num">Mean</th><th>Levels</th></tr>')
            for c in q.criteria.values():
                out.append(
                    f"<tr><td>{_e(c.name)}</td><td class='num'>{_e(_fmt(c.mean, 2))}</td>"
                    f"<td>{_svg_levels(c.levels, width=200, height=12)}</td></tr>"
                )
            out.append("</table>")
        if q.key_points:
            out.append(
                '<table><tr><th>Key point</th><th class="num">Covered</th>'
                '<th class="num">Partial</th><th class="num">Missed</th>'
                '<th class="num">Contradicted</th></tr>'
            )
            for kp in sorted(q.key_points.values(), key=lambda k: k.index):
                s = kp.statuses
                out.append(
                    f"<tr><td>{_e(kp.text)}</td><td class='num'>{s['covered']}</td>"
                    f"<td class='num'>{s['partial']}</td><td class='num'>{s['missing']}</td>"
                    f"<td class='num'>{s['contradicted']}</td></tr>"
                )
            out.append("</table>")
        out.append("</div>")

    out.append("<h2>Key points most often missed</h2>")
    missed = data.most_missed()
    if missed:
        out.append(
            '<table><tr><th>Question</th><th>Key point</th><th class="num">Missed</th>'
            '<th class="num">Rate</th></tr>'
        )
        for q, kp in missed:
            out.append(
                f"<tr><td>{_e(q.label)}</td><td>{_e(kp.text)}</td>"
                f"<td class='num'>{kp.missed} / {kp.total}</td>"
                f"<td class='num'>{kp.missed_rate:.0%}</td></tr>"
            )
        out.append("</table>")
    else:
        out.append("<p>No key point was missed.</p>")

    out.append("<h2>Weakest answers</h2>")
    if data.weakest:
        out.append(
            '<table><tr><th class="num">Score</th><th>Question</th><th>Row</th>'
            "<th>Candidate</th><th>Answer and feedback</th></tr>"
        )
        for w in data.weakest:
            where = f"{w.source}:{w.row}" + (f" (id {w.id})" if w.id else "")
            missed_points = (
                "<br><span class='muted'>Missed: " + _e("; ".join(w.missed)) + "</span>"
                if w.missed
                else ""
            )
            out.append(
                f"<tr><td class='num'>{format_score(w.score)}</td><td>{_e(w.label)}</td>"
                f"<td>{_e(where)}</td><td>{_e(w.candidate or '')}</td>"
                f"<td><div class='answer'>{_e(w.answer)}</div>{_e(w.feedback)}{missed_points}"
                "</td></tr>"
            )
        out.append("</table>")
    else:
        out.append("<p>No graded answer yet.</p>")
    out.append("</body></html>")
    return "\n".join(out) + "\n"


# --------------------------------------------------------------------------- files


@dataclass(frozen=True)
class ReportFiles:
    """Where the reports were written."""

    summary_csv: Path
    markdown: Path
    html: Path


def report_paths(results: Path, report_dir: Path | None = None) -> ReportFiles:
    """Report file names for a results file: ``STEM.summary.csv``, ``STEM.report.md|html``."""
    folder = report_dir or results.parent
    stem = results.stem
    return ReportFiles(
        summary_csv=folder / f"{stem}.summary.csv",
        markdown=folder / f"{stem}.report.md",
        html=folder / f"{stem}.report.html",
    )


def write_reports(
    results: Path,
    *,
    report_dir: Path | None = None,
    keys: set[str] | None = None,
) -> tuple[ReportData, ReportFiles]:
    """Write the CSV summary, Markdown and HTML reports; return the data and the paths."""
    files = report_paths(results, report_dir)
    data = build_report(results, keys=keys, summary_csv=files.summary_csv)
    _write_text(files.markdown, render_markdown(data))
    _write_text(files.html, render_html(data))
    return data, files


def _write_text(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
