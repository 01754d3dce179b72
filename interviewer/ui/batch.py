"""What `interviewer grade` shows: progress, bad rows, the dry-run estimate and the summary.

Progress is a rich bar (rows done, rate, ETA, ungraded count) when stderr is a terminal,
and a plain line every few seconds otherwise, so logs of unattended runs stay readable.
Everything here goes to stderr except the final summary table, which is the command's
result and goes to stdout.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType

from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from rich.text import Text

from interviewer.batch.batch_api import ImportResult
from interviewer.batch.costs import Estimate
from interviewer.batch.input_rows import BadRow
from interviewer.batch.report import ReportFiles
from interviewer.batch.report_data import ReportData
from interviewer.batch.rows import ScanSummary
from interviewer.batch.run import BatchCounts, BatchResult
from interviewer.ui.cells import score_text
from interviewer.ui.console import console, err_console, notice

PLAIN_EVERY = 5.0  # seconds between plain progress lines


def _rate(counts: BatchCounts) -> float:
    elapsed = time.monotonic() - counts.started
    return counts.finished / elapsed if elapsed > 0 else 0.0


class BatchProgress:
    """A progress display for a grading run; call ``update`` after each row."""

    def __init__(self, total: int, *, label: str = "Grading", force_plain: bool = False) -> None:
        self.total = total
        self.label = label
        self.fancy = err_console.is_terminal and not force_plain
        self._progress: Progress | None = None
        self._task: TaskID | None = None
        self._last_plain = 0.0
        self._last: BatchCounts | None = None

    def __enter__(self) -> BatchProgress:
        if self.fancy and self.total:
            self._progress = Progress(
                TextColumn("[accent]{task.description}[/accent]"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[rate]}"),
                TextColumn("ETA"),
                TimeRemainingColumn(),
                TimeElapsedColumn(),
                TextColumn("{task.fields[ungraded]}"),
                console=err_console,
                transient=False,
            )
            self._progress.start()
            self._task = self._progress.add_task(self.label, total=self.total, rate="", ungraded="")
        return self

    def update(self, counts: BatchCounts) -> None:
        self._last = counts
        if self._progress is not None and self._task is not None:
            ungraded = f"[ungraded]ungraded {counts.ungraded}[/ungraded]" if counts.ungraded else ""
            self._progress.update(
                self._task,
                completed=counts.finished,
                rate=f"{_rate(counts):.1f} rows/s",
                ungraded=ungraded,
            )
            return
        now = time.monotonic()
        if now - self._last_plain >= PLAIN_EVERY or counts.finished == self.total:
            self._last_plain = now
            self._plain(counts)

    def _plain(self, counts: BatchCounts) -> None:
        rate = _rate(counts)
        left = self.total - counts.finished
        eta = f", ETA {_duration(left / rate)}" if rate > 0 and left > 0 else ""
        err_console.print(
            f"{self.label}: {counts.finished}/{self.total} rows, {counts.ungraded} ungraded,"
            f" {rate:.1f} rows/s{eta}",
            markup=False,
            highlight=False,
        )

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._progress is not None:
            self._progress.stop()
        elif self._last is not None and self._last.finished != self.total:
            self._plain(self._last)


def _duration(seconds: float) -> str:
    seconds = max(0, round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02d}m"
    if minutes:
        return f"{minutes}m{secs:02d}s"
    return f"{secs}s"


def render_start(scan: ScanSummary, grader_label: str, concurrency: str) -> None:
    """One line before grading: what will be graded, with what."""
    parts = [f"{scan.rows} rows"]
    if scan.done:
        parts.append(f"{scan.done} already in the results")
    if scan.bad:
        parts.append(f"{scan.bad} invalid")
    parts.append(f"{scan.to_grade} to grade")
    err_console.print(
        f"{', '.join(parts)} · grader {grader_label} · {concurrency}",
        markup=False,
        highlight=False,
    )


def render_bad_rows(scan: ScanSummary, errors_file: Path | None, limit: int = 10) -> None:
    """List the first invalid rows on stderr, and where the full list is."""
    if not scan.bad:
        return
    err_console.print(f"[warn]{scan.bad} invalid row(s) skipped:[/warn]")
    shown: Sequence[BadRow] = scan.bad_rows[:limit]
    for bad in shown:
        err_console.print("  " + bad.describe(), markup=False, highlight=False)
    if scan.bad > len(shown):
        where = "" if errors_file is not None else " (a real run lists them all in STEM.errors.csv)"
        err_console.print(f"  … and {scan.bad - len(shown)} more{where}", markup=False)
    if errors_file is not None:
        err_console.print(f"  Full list: {errors_file}", markup=False, highlight=False)


def render_notice(message: str) -> None:
    notice(message)


def render_estimate(estimate: Estimate, *, prices_note: str) -> None:
    """The --dry-run table on stdout."""
    scan = estimate.scan
    sampled = f"{estimate.sample_rows} sample requests sent, nothing written"
    title = "Dry run: " + (sampled if estimate.sample_rows else "nothing was sent or written")
    table = Table(title=title, show_header=False)
    table.add_column("what", style="muted")
    table.add_column("value", justify="right")
    table.add_row("Rows", str(scan.rows))
    table.add_row("Invalid rows", str(scan.bad))
    table.add_row("Already in the results", str(scan.done))
    table.add_row("To grade", str(scan.to_grade))
    table.add_row("Requests (identical rows share one)", str(estimate.requests))
    if estimate.model is not None:
        approx = " (approximate: tokenizer unavailable)" if estimate.tokens_estimated else ""
        table.add_row("Model", Text(estimate.model))
        table.add_row("Prompt tokens" + approx, f"{estimate.prompt_tokens:,}")
        table.add_row(
            f"Expected output tokens ({estimate.output_basis})", f"{estimate.output_tokens:,}"
        )
        if estimate.local:
            table.add_row("Estimated cost", "none (local endpoint)")
        elif estimate.price is not None and estimate.cost is not None:
            price = estimate.price
            table.add_row(
                Text(f"Price ({price.model}, USD per 1M tokens in/out)"),
                f"{price.input:g} / {price.output:g}",
            )
            table.add_row("Estimated cost (USD)", f"{estimate.cost:,.4f}")
        else:
            table.add_row("Estimated cost", Text(f"unknown: no price for '{estimate.model}'"))
        if estimate.expected_seconds is not None:
            table.add_row(
                f"Measured sample ({estimate.sample_rows} rows at concurrency"
                f" {estimate.sample_concurrency})",
                f"{estimate.sample_seconds:.1f}s",
            )
            table.add_row("Expected time", _duration(estimate.expected_seconds))
    else:
        table.add_row("Grader", "offline (no tokens, no cost)")
    console.print(table)
    if estimate.model is not None and not estimate.local:
        console.print(prices_note, style="muted", markup=False, highlight=False)


def render_export(files: list[Path], requests: int, rows: int) -> None:
    names = ", ".join(str(f) for f in files) or "nothing (no row to grade)"
    console.print(
        f"Wrote {requests} request(s) for {rows} row(s) to {names}.", markup=False, highlight=False
    )


def render_summary(
    scan: ScanSummary,
    counts: BatchCounts,
    *,
    result: BatchResult | None = None,
    imported: ImportResult | None = None,
    report: ReportData | None = None,
    files: ReportFiles | None = None,
    results_file: Path,
    errors_file: Path | None,
    cost: float | None = None,
) -> None:
    """The end-of-run table on stdout, then where everything was written."""
    table = Table(title="Batch grading", show_header=False)
    table.add_column("what", style="muted")
    table.add_column("value", justify="right")
    table.add_row("Rows in the input", str(scan.rows))
    if scan.bad:
        table.add_row("Invalid rows (skipped)", f"[bad]{scan.bad}[/bad]")
    if scan.done:
        table.add_row("Already in the results", str(scan.done))
    table.add_row("Graded now", f"[ok]{counts.graded}[/ok]")
    if counts.reused:
        table.add_row("  of which identical to another row", str(counts.reused))
    if counts.ungraded:
        reasons = ", ".join(f"{r} {n}" for r, n in counts.reasons.most_common())
        table.add_row("Ungraded now", f"[ungraded]{counts.ungraded}[/ungraded] ({reasons})")
    if scan.done_ungraded:
        table.add_row("Still ungraded from earlier runs", f"[ungraded]{scan.done_ungraded}[/]")
    remaining = scan.to_grade - counts.finished
    if remaining > 0:
        table.add_row("Not graded yet", f"[warn]{remaining}[/warn]")
    if imported is not None and imported.missing:
        table.add_row("Rows with no reply in the batch files", str(imported.missing))
    if counts.prompt_tokens or counts.completion_tokens:
        table.add_row(
            "Tokens (prompt / completion)",
            f"{counts.prompt_tokens:,} / {counts.completion_tokens:,}",
        )
    if cost is not None:
        table.add_row("Cost at list prices (USD)", f"{cost:,.4f}")
    if result is not None and result.seconds > 0 and counts.finished:
        table.add_row(
            "Time",
            f"{_duration(result.seconds)} ({counts.finished / result.seconds:.1f} rows/s)",
        )
    if report is not None and report.graded:
        table.add_row(
            "Score over all graded rows",
            f"mean {score_text(report.mean)} · median {score_text(report.median)}"
            f" (n={report.graded})",
        )
    console.print(table)
    if report is not None and report.questions:
        render_questions(report)
    lines = [f"Results: {results_file}"]
    if files is not None:
        lines.append(f"Summary: {files.summary_csv}")
        lines.append(f"Report:  {files.html} (and {files.markdown.name})")
    if errors_file is not None and scan.bad:
        lines.append(f"Invalid rows: {errors_file}")
    for line in lines:
        console.print(line, markup=False, highlight=False)


def render_questions(report: ReportData, limit: int = 20) -> None:
    """Per-question scores, worst mean first."""
    table = Table(title="Per question (lowest mean first)")
    table.add_column("Question")
    table.add_column("Rows", justify="right")
    table.add_column("Graded", justify="right")
    table.add_column("Mean", justify="right")
    table.add_column("Most missed key point")
    questions = sorted(
        report.questions.values(), key=lambda q: (q.mean is None, q.mean or 0.0, q.question_id)
    )
    for q in questions[:limit]:
        worst = max(q.key_points.values(), key=lambda k: (k.missed_rate, -k.index), default=None)
        missed = f"{worst.text[:60]} ({worst.missed_rate:.0%})" if worst and worst.missed else "–"
        table.add_row(
            Text(q.label),
            str(q.rows),
            str(q.graded),
            score_text(q.mean),
            Text(missed),
        )
    console.print(table)
    if len(questions) > limit:
        console.print(f"… {len(questions) - limit} more questions in the report.", style="muted")
