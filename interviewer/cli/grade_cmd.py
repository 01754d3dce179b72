"""`interviewer grade`: grade a file (or many) of written answers into a results file.

Exit status: 0 every row graded; 1 a fatal error (nothing usable, or the endpoint refused
every request); 2 finished with rows ungraded, invalid or still to grade; 130 interrupted.
Re-running the same command resumes: rows already in the results file are skipped.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Annotated

import typer

from interviewer.cli.common import (
    AnswerColOpt,
    ApiKeyEnvOpt,
    BankDirOpt,
    BaseUrlOpt,
    EndpointOpt,
    GraderOpt,
    ModelOpt,
    QuestionColOpt,
    QuestionIdColOpt,
    ReferenceColOpt,
    close_when_done,
    grader_flags,
    handle_errors,
)

if TYPE_CHECKING:
    from interviewer.batch.command import GradeOutcome, GradeRequest, GradeSetup
    from interviewer.config import Config
    from interviewer.grading.factory import ChosenGrader

HELP = (
    "Grade written answers from CSV, JSONL or YAML files.\n\n"
    "Each row names a bank question (question_id) or carries its own question, reference and"
    " optional key_points; answer holds the answer; candidate and id are optional. Results are"
    " appended to --out (JSONL, one line per row); a CSV summary and an HTML/Markdown report"
    " are written next to it (or to --report-dir), invalid rows to STEM.errors.csv.\n\n"
    "Re-running the same command resumes: rows already graded are skipped (--retry-ungraded"
    " grades the ungraded ones again).\n\n"
    "Exit status: 0 all rows graded; 1 fatal error; 2 some rows ungraded, invalid or not yet"
    " graded; 130 interrupted (finished rows are kept)."
)

PRICES_NOTE = (
    "Prices: USD per million tokens, the vendors' published list prices built into"
    ' interviewer; edit or add models in config.toml, e.g. [prices."my-model"] input = 0.5,'
    " output = 1.5. OpenAI's Batch API bills half. Cached prompt prefixes can cost less."
)


def register(app: typer.Typer) -> None:
    """Add the `grade` command to ``app``."""
    app.command("grade", help=HELP)(grade)


# The options of `grade`, named so that its signature stays readable.
InputsOpt = Annotated[list[Path], typer.Argument(metavar="INPUT", help="CSV, JSONL or YAML files.")]

OutOpt = Annotated[
    Path, typer.Option("--out", "-o", help="Results file (JSONL); appended to and resumed.")
]

FmtOpt = Annotated[
    str, typer.Option("--format", help="auto (from the file name), csv, jsonl or yaml.")
]

EncodingOpt = Annotated[
    str, typer.Option(help="Text encoding of the inputs (UTF-8 with or without BOM).")
]


KeyPointsColOpt = Annotated[
    str,
    typer.Option("--key-points-col", help="Column with key points (a list, or ';'/newlines)."),
]


CandidateColOpt = Annotated[
    str, typer.Option("--candidate-col", help="Column with the candidate's name.")
]

IdColOpt = Annotated[str, typer.Option("--id-col", help="Column with the row's own id.")]

ConcurrencyOpt = Annotated[
    int | None,
    typer.Option(
        min=1, max=1024, help="Requests in flight per endpoint replica (default per endpoint)."
    ),
]

RetryUngradedOpt = Annotated[
    bool, typer.Option("--retry-ungraded", help="Grade rows whose last result is ungraded.")
]

DryRunOpt = Annotated[
    bool,
    typer.Option("--dry-run", help="Count rows, tokens and cost; send and write nothing."),
]

ExportBatchOpt = Annotated[
    Path | None,
    typer.Option(
        "--export-batch", help="Write the requests as OpenAI Batch API / vLLM run-batch JSONL."
    ),
]

ImportBatchOpt = Annotated[
    list[Path] | None,
    typer.Option("--import-batch", help="Grade from batch output (and error) files (repeatable)."),
]

ReportDirOpt = Annotated[
    Path | None,
    typer.Option("--report-dir", help="Where the summary, reports and errors file go."),
]

SortWindowOpt = Annotated[
    int,
    typer.Option(
        "--sort-window", min=1, help="Rows grouped by question at a time (prompt caching)."
    ),
]

MaxScoreOpt = Annotated[
    float | None,
    typer.Option(
        "--max-score",
        min=0.001,
        help="The teacher's scale (0..N) for rows without a max_score column.",
    ),
]


@handle_errors
def grade(
    inputs: InputsOpt,
    out: OutOpt,
    fmt: FmtOpt = "auto",
    encoding: EncodingOpt = "utf-8-sig",
    question_id_col: QuestionIdColOpt = "question_id",
    question_col: QuestionColOpt = "question",
    reference_col: ReferenceColOpt = "reference",
    key_points_col: KeyPointsColOpt = "key_points",
    answer_col: AnswerColOpt = "answer",
    candidate_col: CandidateColOpt = "candidate",
    id_col: IdColOpt = "id",
    concurrency: ConcurrencyOpt = None,
    retry_ungraded: RetryUngradedOpt = False,
    dry_run: DryRunOpt = False,
    export_batch: ExportBatchOpt = None,
    import_batch: ImportBatchOpt = None,
    grader: GraderOpt = None,
    endpoint: EndpointOpt = None,
    base_url: BaseUrlOpt = None,
    model: ModelOpt = None,
    api_key_env: ApiKeyEnvOpt = None,
    bank_dir: BankDirOpt = None,
    report_dir: ReportDirOpt = None,
    sort_window: SortWindowOpt = 2000,
    max_score: MaxScoreOpt = None,
) -> None:
    from interviewer.batch.command import GradeRequest
    from interviewer.batch.input_rows import ColumnMap
    from interviewer.config import load_config
    from interviewer.grading.factory import choose_grader

    request = GradeRequest(
        inputs=inputs,
        out=out,
        fmt=fmt,
        encoding=encoding,
        columns=ColumnMap(
            question_id=question_id_col,
            question=question_col,
            reference=reference_col,
            key_points=key_points_col,
            answer=answer_col,
            candidate=candidate_col,
            id=id_col,
        ),
        grader=grader,
        concurrency=concurrency,
        retry_ungraded=retry_ungraded,
        dry_run=dry_run,
        export_batch=export_batch,
        import_batch=list(import_batch or []),
        bank_dir=bank_dir,
        report_dir=report_dir,
        sort_window=sort_window,
        max_score=max_score,
    )
    config = load_config()
    chosen = choose_grader(
        config,
        grader_flags(
            grader=grader,
            endpoint=endpoint,
            base_url=base_url,
            model=model,
            api_key_env=api_key_env,
        ),
    )
    raise typer.Exit(_run(request, config, chosen))


# --------------------------------------------------------------------------- steps


def _run(request: GradeRequest, config: Config, chosen: ChosenGrader) -> int:
    """Run the command's mode; return its exit status."""
    from interviewer.batch import command
    from interviewer.ui import batch as ui

    close_when_done(chosen.grader)
    setup = command.prepare(request, config, chosen)
    for replica in setup.replicas:
        close_when_done(replica.grader)
    if request.dry_run:
        estimate = command.estimate(setup, notice=ui.render_notice)
        ui.render_bad_rows(estimate.scan, None)
        ui.render_estimate(estimate, prices_note=PRICES_NOTE)
        return command.estimate_exit(estimate)
    if request.export_batch is not None:
        summary = command.export(
            setup, on_scan=lambda scan: ui.render_bad_rows(scan, setup.errors_path)
        )
        ui.render_export(summary.files, summary.requests, summary.rows)
        return summary.exit_code
    return _grade(setup)


def _grade(setup: GradeSetup) -> int:
    """Grade (or import) with a progress bar; write the reports; show the summary."""
    from interviewer.batch import command
    from interviewer.batch.replicas import concurrency_label, grader_label
    from interviewer.ui import batch as ui

    stop, abandon = threading.Event(), threading.Event()
    with command.open_job(setup) as job:
        scan = job.open()
        if job.state is not None and job.state.torn_bytes:
            ui.render_notice(
                f"Dropped an incomplete last line ({job.state.torn_bytes} bytes) from"
                f" {setup.request.out}, left by an interrupted run."
            )
        ui.render_bad_rows(scan, setup.errors_path)
        ui.render_start(
            scan, grader_label(setup.replicas), concurrency_label(setup.replicas, setup.inline)
        )
        with ui.BatchProgress(scan.to_grade) as bar, _interrupts(stop, abandon):
            outcome = command.grade(
                setup,
                job,
                stop=stop,
                abandon=abandon,
                progress=bar.update,
                notice=ui.render_notice,
            )
    for message in command.import_notices(outcome):
        ui.render_notice(message)
    command.finish(setup, outcome)
    outcome.stopped = stop.is_set() or abandon.is_set()
    _show_outcome(setup, outcome)
    return outcome.exit_code


def _show_outcome(setup: GradeSetup, outcome: GradeOutcome) -> None:
    from interviewer.batch import command
    from interviewer.ui import batch as ui
    from interviewer.ui.console import error

    assert outcome.report is not None
    assert outcome.report_files is not None
    ui.render_summary(
        outcome.scan,
        outcome.counts,
        result=outcome.result,
        imported=outcome.imported,
        report=outcome.report,
        files=outcome.report_files,
        results_file=setup.request.out,
        errors_file=setup.errors_path,
        cost=outcome.cost,
    )
    if outcome.result is not None and outcome.result.fatal is not None:
        error(
            f"{outcome.result.fatal} (finished rows are kept; re-run the same command to continue)"
        )
    message = command.closing_notice(outcome)
    if message is not None:
        ui.render_notice(message)


@contextlib.contextmanager
def _interrupts(stop: threading.Event, abandon: threading.Event) -> Iterator[None]:
    """First Ctrl-C: finish the rows in flight, then stop. Second: stop now. SIGTERM: now.

    Either way only whole result lines are written, so a re-run resumes cleanly.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    presses = 0

    def on_signal(signum: int, frame: FrameType | None) -> None:
        nonlocal presses
        presses += 1
        stop.set()
        if signum == signal.SIGTERM or presses >= 2:
            abandon.set()
        if presses >= 3:
            raise KeyboardInterrupt
        if presses == 1 and signum == signal.SIGINT:
            from interviewer.ui.console import notice

            notice("Stopping after the rows in flight… (Ctrl-C again to stop at once)")

    previous_int = signal.signal(signal.SIGINT, on_signal)
    previous_term = signal.signal(signal.SIGTERM, on_signal)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous_int)
        signal.signal(signal.SIGTERM, previous_term)
