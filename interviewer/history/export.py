"""Export a session or a date range as Markdown, JSON Lines or a self-contained HTML page.

Every format carries the same content: each session (grader, settings, report) and each
attempt with the question, the answer, every grade oldest first (so a regrade is visible
next to the grade it revisited) and the follow-up exchanges.

- ``md``: readable anywhere; answers sit in fenced blocks longer than any backtick run
  inside them, so nothing a candidate typed can break the layout.
- ``jsonl``: one JSON object per line, ``{"type": "session", …}`` lines then
  ``{"type": "attempt", …}`` lines (follow-ups nested in their attempt); for scripts.
- ``html``: one file with inline CSS, no script and no external resource; every piece of
  text is HTML-escaped.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from interviewer.errors import HistoryError, InputError
from interviewer.files import write_atomic
from interviewer.grading.grade import KEY_POINT_MARKS, format_score
from interviewer.html_page import escape as _e
from interviewer.html_page import page
from interviewer.safe_text import markdown_text as _t

if TYPE_CHECKING:
    from interviewer.history.records import AttemptDetail, GradeRecord, SessionRecord
    from interviewer.history.store import HistoryStore

FORMATS: tuple[str, ...] = ("md", "jsonl", "html")
# File suffixes that name a format by another word.
_SQLITE_MAGIC = b"SQLite format 3\x00"
_SUFFIX_FORMATS = {"markdown": "md", "htm": "html", "json": "jsonl"}


@dataclass(frozen=True)
class ExportData:
    """What an export contains: sessions (oldest first) and their top-level attempts."""

    sessions: list[SessionRecord]
    details: list[AttemptDetail]
    title: str
    generated_at: datetime

    def attempts_of(self, session_id: str) -> list[AttemptDetail]:
        return [d for d in self.details if d.attempt.session_id == session_id]


def collect(
    store: HistoryStore,
    *,
    session_id: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    now: datetime | None = None,
) -> ExportData:
    """Gather one session, or every session and attempt in ``[since, until)``."""
    generated = now or datetime.now(UTC)
    if session_id is not None:
        session = store.session(session_id)
        details = store.details(session_id=session.id)
        return ExportData([session], details, f"Session {session.id[:8]}", generated)
    details = store.details(since=since, until=until)
    sessions = {s.id: s for s in store.sessions(since=since, until=until)}
    for detail in details:
        sid = detail.attempt.session_id
        if sid not in sessions:
            sessions[sid] = store.session(sid)
    ordered = sorted(sessions.values(), key=lambda s: s.started_at)
    span = " – ".join(part for part in (_day(since), _day(until, inclusive_end=True)) if part)
    title = f"Interview history {span}".strip() if span else "Interview history"
    return ExportData(ordered, details, title, generated)


def _day(moment: datetime | None, *, inclusive_end: bool = False) -> str:
    if moment is None:
        return ""
    from datetime import timedelta

    shown = moment - timedelta(microseconds=1) if inclusive_end else moment
    return shown.astimezone().date().isoformat()


def choose_format(fmt: str | None, out: Path | None) -> str:
    """The format to write: ``fmt`` if given, else the one ``out``'s suffix names, else md."""
    if not fmt:
        if out is None:
            return "md"
        suffix = out.suffix.lower().lstrip(".")
        chosen = _SUFFIX_FORMATS.get(suffix, suffix)
        return chosen if chosen in FORMATS else "md"
    if fmt.lower() not in FORMATS:
        raise InputError(f"--format '{fmt}' is not known; use one of {', '.join(FORMATS)}.")
    return fmt.lower()


def render_export(data: ExportData, fmt: str) -> str:
    """Render ``data`` in ``fmt`` (md, jsonl or html)."""
    renderers = {"md": export_markdown, "jsonl": export_jsonl, "html": export_html}
    if fmt not in renderers:
        raise HistoryError(f"Unknown export format '{fmt}'; use one of {', '.join(FORMATS)}.")
    return renderers[fmt](data)


def write_export(text: str, path: Path) -> Path:
    """Write an export atomically (a partial file never replaces a good one).

    An export may replace an earlier export or any text file, but never a database: a
    mistyped --out naming the history itself must not wipe it.
    """
    try:
        with path.open("rb") as fh:
            is_database = fh.read(16) == _SQLITE_MAGIC
    except OSError:
        is_database = False  # missing (or unreadable: the write below reports that)
    if is_database:
        raise HistoryError(
            f"{path}: is a database (perhaps the history itself), not an export; it is left"
            " alone: choose another --out."
        )
    try:
        write_atomic(path, text)
    except OSError as exc:
        raise HistoryError(f"Cannot write {path} ({exc.strerror}); choose another --out.") from None
    return path


# --------------------------------------------------------------------------- helpers


def _local(moment: datetime | None) -> str:
    return moment.astimezone().strftime("%Y-%m-%d %H:%M") if moment else "—"


def _grader_label(grade: GradeRecord) -> str:
    parts = [grade.grader_label]
    if grade.prompt_version:
        parts.append(f"prompt {grade.prompt_version}")
    return ", ".join(parts)


def _grade_summary(grade: GradeRecord) -> str:
    if not grade.graded:
        detail = f": {grade.ungraded_detail}" if grade.ungraded_detail else ""
        return f"ungraded ({grade.ungraded_reason}{detail})"
    text = format_score(grade.score)
    final, raw = grade.final_score, grade.score
    if final is not None and raw is not None and round(final, 1) != round(raw, 1):
        # Hints only lower a final score; a point recovered on a follow-up only raises it.
        text += f" → {format_score(final)} {'after hints' if final < raw else 'after follow-ups'}"
    return text


def _title_of(detail: AttemptDetail) -> str:
    a = detail.attempt
    return a.question_text or (detail.question.question if detail.question else a.question_id)


def _seconds(ms: int | None) -> str:
    return f"{ms / 1000:.0f} s" if ms is not None else "—"


# --------------------------------------------------------------------------- markdown


def _fence(text: str) -> str:
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}text\n{text}\n{fence}"


def _quote(text: str) -> str:
    lines = _t(text).splitlines() or [""]
    return "\n".join("> " + line if line else ">" for line in lines)


def _plain(value: Any) -> str:
    """A report value in words: mappings as 'key: value' pairs, empty parts left out."""
    if isinstance(value, dict):
        return ", ".join(
            f"{str(k).replace('_', ' ')}: {_plain(v)}"
            for k, v in value.items()
            if v not in (None, "", [], {})
        )
    if isinstance(value, list):
        return "; ".join(_plain(v) for v in value)
    return str(value)


def _md_report(report: dict[str, Any]) -> list[str]:
    lines = []
    for key, value in report.items():
        label = str(key).replace("_", " ")
        if isinstance(value, list) and value:
            lines.append(f"- **{_t(label)}**:")
            lines += [f"  - {_t(_plain(item))}" for item in value]
        else:
            shown = _t(_plain(value)) if value not in (None, []) else "—"
            lines.append(f"- **{_t(label)}**: {shown}")
    return lines


def _md_grade(grade: GradeRecord, heading: str) -> list[str]:
    lines = [
        f"{heading} {_grade_summary(grade)} · {_grader_label(grade)} · {_local(grade.created_at)}"
    ]
    if grade.note:
        lines += ["", _quote(grade.note)]
    full = grade.grade
    if full is None:
        return lines
    for kp in full.key_points:
        mark = KEY_POINT_MARKS[kp.status]
        quote = f" — “{_t(kp.quote)}”" if kp.quote else ""
        lines.append(f"- {mark} {kp.status}: {_t(kp.text)}{quote}")
    if full.criteria:
        criteria = ", ".join(f"{_t(c.name)} {c.score}/4" for c in full.criteria)
        lines.append("- criteria: " + criteria)
    for error in full.factual_errors:
        lines.append(f"- factual error: {_t(error)}")
    if full.feedback:
        lines += ["", _quote(full.feedback)]
    return lines


def _md_attempt(detail: AttemptDetail, number: str, depth: int) -> list[str]:
    a = detail.attempt
    hashes = "#" * min(6, 3 + depth)
    if a.kind == "follow_up":
        head = f"{hashes} Follow-up {number}: {_t(a.prompt or '')}".rstrip()
    else:
        head = f"{hashes} {number}. {_t(a.question_id)} — {_t(_title_of(detail))}"
    lines = [
        head,
        "",
        f"*{_t(a.bank or '?')} · {_t(a.topic or '?')} · {_t(a.difficulty or '?')} · attempt {a.id}"
        f" · {_local(a.created_at)} · time {_seconds(a.time_taken_ms)}"
        f" · hints {a.hints_used}*",
        "",
    ]
    if a.kind == "skip":
        lines += ["Skipped.", ""]
    else:
        lines += ["**Answer**", "", _fence(a.answer), ""]
        if not detail.grades:
            lines += ["**Grade:** not graded yet (run `interviewer regrade`).", ""]
        for index, grade in enumerate(detail.grades, 1):
            label = "**Grade:**" if len(detail.grades) == 1 else f"**Grade {index}:**"
            lines += [*_md_grade(grade, label), ""]
    question = detail.question
    if a.kind == "answer" and question is not None:
        lines += ["<details><summary>Reference answer</summary>", ""]
        lines += [_quote(question.full_reference), "", "</details>", ""]
    for index, follow_up in enumerate(detail.follow_ups, 1):
        lines += _md_attempt(follow_up, f"{number}.{index}", depth + 1)
    return lines


def export_markdown(data: ExportData) -> str:
    lines = [
        f"# {_t(data.title)}",
        "",
        f"Exported {_local(data.generated_at)}: {len(data.sessions)} session(s),"
        f" {len(data.details)} question(s).",
        "",
    ]
    for session in data.sessions:
        lines += [
            f"## {session.mode.capitalize()} session {_local(session.started_at)}",
            "",
            f"- id: `{session.id}`",
            f"- grader: {_t(session.grader or '?')}"
            + (f" ({_t(session.model)} @ {_t(session.endpoint or '')})" if session.model else ""),
            f"- answers: {session.answers}, skipped: {session.skips},"
            f" mean score: {format_score(session.mean_score)}",
        ]
        if session.report:
            lines += ["", "### Report", "", *_md_report(session.report)]
        lines.append("")
        for index, detail in enumerate(data.attempts_of(session.id), 1):
            lines += _md_attempt(detail, str(index), 0)
    return "\n".join(lines).rstrip() + "\n"


# --------------------------------------------------------------------------- jsonl


def export_jsonl(data: ExportData) -> str:
    out = []
    for session in data.sessions:
        out.append(json.dumps({"type": "session", **session.to_dict()}, ensure_ascii=False))
    for detail in data.details:
        out.append(json.dumps({"type": "attempt", **detail.to_dict()}, ensure_ascii=False))
    return "\n".join(out) + ("\n" if out else "")


# --------------------------------------------------------------------------- html

_CSS = """
body{font-size:15px;line-height:1.5;max-width:60rem;color:#1d232a}
h2{margin-top:2.5rem;border-bottom:2px solid #d0d7de;padding-bottom:.3rem}
article{border:1px solid #d0d7de;border-radius:8px;padding:1rem 1.2rem;margin:1rem 0}
article article{border-left:4px solid #8c959f;margin-left:.5rem}
.meta{color:#57606a;font-size:.85rem}.answer{white-space:pre-wrap;background:#f6f8fa;
padding:.7rem;border-radius:6px;font-family:ui-monospace,Menlo,Consolas,monospace}
.grades{display:flex;gap:1rem;flex-wrap:wrap}.grade{flex:1 1 16rem;border:1px solid #d0d7de;
border-radius:6px;padding:.6rem}.score{font-size:1.4rem;font-weight:600}
.ungraded{color:#8250df}.covered{color:#1a7f37}.partial{color:#9a6700}.missing{color:#cf222e}
.contradicted{color:#cf222e;font-weight:700}.feedback{white-space:pre-wrap}
ul{padding-left:1.2rem}details{margin-top:.6rem}pre{white-space:pre-wrap}
"""


def _html_report(report: dict[str, Any]) -> str:
    items = []
    for key, value in report.items():
        label = _e(str(key).replace("_", " "))
        if isinstance(value, list) and value:
            inner = "".join(f"<li>{_e(_plain(v))}</li>" for v in value)
            items.append(f"<li><b>{label}</b><ul>{inner}</ul></li>")
        else:
            shown = _plain(value) if value not in (None, []) else "—"
            items.append(f"<li><b>{label}</b>: {_e(shown)}</li>")
    return f"<h3>Report</h3><ul>{''.join(items)}</ul>"


def _html_grade(grade: GradeRecord, label: str) -> str:
    css = "score" if grade.graded else "score ungraded"
    parts = [
        f'<div class="grade"><div class="meta">{_e(label)} · {_e(_grader_label(grade))}'
        f" · {_e(_local(grade.created_at))}</div>",
        f'<div class="{css}">{_e(_grade_summary(grade))}</div>',
    ]
    if grade.note:
        parts.append(f'<p class="feedback">{_e(grade.note)}</p>')
    full = grade.grade
    if full is not None:
        points = "".join(
            f'<li class="{_e(kp.status)}">{_e(KEY_POINT_MARKS[kp.status])} {_e(kp.text)}'
            + (f" — <q>{_e(kp.quote)}</q>" if kp.quote else "")
            + "</li>"
            for kp in full.key_points
        )
        if points:
            parts.append(f"<ul>{points}</ul>")
        if full.criteria:
            crit = ", ".join(f"{c.name} {c.score}/4" for c in full.criteria)
            parts.append(f'<div class="meta">{_e(crit)}</div>')
        if full.feedback:
            parts.append(f'<p class="feedback">{_e(full.feedback)}</p>')
    parts.append("</div>")
    return "".join(parts)


def _html_attempt(detail: AttemptDetail, number: str) -> str:
    a = detail.attempt
    if a.kind == "follow_up":
        head = f"<h4>Follow-up {_e(number)}: {_e(a.prompt or '')}</h4>"
    else:
        head = f"<h3>{_e(number)}. {_e(a.question_id)} — {_e(_title_of(detail))}</h3>"
    meta = (
        f"{a.bank or '?'} · {a.topic or '?'} · {a.difficulty or '?'} · attempt {a.id}"
        f" · {_local(a.created_at)} · time {_seconds(a.time_taken_ms)} · hints {a.hints_used}"
    )
    parts = [f"<article>{head}", f'<div class="meta">{_e(meta)}</div>']
    if a.kind == "skip":
        parts.append("<p>Skipped.</p>")
    else:
        parts.append(f'<div class="answer">{_e(a.answer)}</div>')
        if detail.grades:
            labels = (
                ["Grade"]
                if len(detail.grades) == 1
                else [f"Grade {i}" for i in range(1, len(detail.grades) + 1)]
            )
            grades = "".join(
                _html_grade(g, label) for g, label in zip(detail.grades, labels, strict=True)
            )
            parts.append(f'<div class="grades">{grades}</div>')
        else:
            parts.append('<p class="ungraded">Not graded yet.</p>')
    question = detail.question
    if a.kind == "answer" and question is not None:
        parts.append(
            "<details><summary>Reference answer</summary>"
            f"<pre>{_e(question.full_reference)}</pre></details>"
        )
    for index, follow_up in enumerate(detail.follow_ups, 1):
        parts.append(_html_attempt(follow_up, f"{number}.{index}"))
    parts.append("</article>")
    return "".join(parts)


def export_html(data: ExportData) -> str:
    body = [
        f"<h1>{_e(data.title)}</h1>",
        f'<p class="meta">Exported {_e(_local(data.generated_at))}: {len(data.sessions)}'
        f" session(s), {len(data.details)} question(s).</p>",
    ]
    for session in data.sessions:
        grader = session.grader or "?"
        if session.model:
            grader += f" ({session.model} @ {session.endpoint})"
        body.append(
            f"<section><h2>{_e(session.mode.capitalize())} session"
            f" {_e(_local(session.started_at))}</h2>"
            f'<p class="meta">id {_e(session.id)} · grader {_e(grader)} · answers'
            f" {session.answers}, skipped {session.skips}, mean score"
            f" {_e(format_score(session.mean_score))}</p>"
        )
        if session.report:
            body.append(_html_report(session.report))
        for index, detail in enumerate(data.attempts_of(session.id), 1):
            body.append(_html_attempt(detail, str(index)))
        body.append("</section>")
    return page(data.title, "".join(body), css=_CSS)


def export_summary(data: ExportData) -> dict[str, Any]:
    """Counts for the CLI to report after writing a file."""
    follow_ups: Sequence[Any] = [f for d in data.details for f in d.follow_ups]
    return {
        "sessions": len(data.sessions),
        "questions": len(data.details),
        "follow_ups": len(follow_ups),
    }
