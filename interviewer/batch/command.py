"""What `interviewer grade` does, apart from parsing options and drawing on the terminal.

The command has three modes besides grading: ``--dry-run`` (estimate, send and write
nothing), ``--export-batch`` (write Batch API request files) and ``--import-batch`` (grade
from Batch API replies). ``prepare`` checks the options and opens everything a mode needs;
the other functions each do one step and return what the terminal shows.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from interviewer.bank.library import Library
from interviewer.batch.anchor_store import anchors_path, calibration_path
from interviewer.batch.batch_api import ImportResult, export_batch
from interviewer.batch.costs import Estimate, Price, estimate_batch, measure_sample, price_table
from interviewer.batch.costs import run_cost as _run_cost
from interviewer.batch.input_rows import ColumnMap
from interviewer.batch.inputs import InputReader, open_inputs
from interviewer.batch.job import EXIT_INCOMPLETE, EXIT_OK, BatchJob, exit_status
from interviewer.batch.outputs import OutputKind, check_output, check_report_dir
from interviewer.batch.replicas import Replica, build_replicas
from interviewer.batch.report import ReportFiles, report_paths, write_reports
from interviewer.batch.report_data import ReportData
from interviewer.batch.results import ResultsState, load_results
from interviewer.batch.rows import (
    DEFAULT_WINDOW,
    RowTask,
    ScanSummary,
    pending_tasks,
    scan_inputs,
)
from interviewer.batch.run import BatchCounts, BatchResult, ProgressCallback
from interviewer.config import Config, EndpointProfile
from interviewer.errors import InputError
from interviewer.grading.grade import Grader, GraderInfo

if TYPE_CHECKING:
    from interviewer.grading.factory import ChosenGrader
    from interviewer.grading.llm_grader import LLMGrader

Notice = Callable[[str], None]


@dataclass(frozen=True)
class GradeRequest:
    """The options of one `interviewer grade` command."""

    inputs: list[Path]
    out: Path
    fmt: str = "auto"
    encoding: str = "utf-8-sig"
    columns: ColumnMap = field(default_factory=ColumnMap)
    grader: str | None = None
    concurrency: int | None = None
    retry_ungraded: bool = False
    dry_run: bool = False
    export_batch: Path | None = None
    import_batch: list[Path] = field(default_factory=list)
    bank_dir: list[Path] | None = None
    report_dir: Path | None = None
    sort_window: int = DEFAULT_WINDOW
    max_score: float | None = None  # the teacher's scale for rows without max_score


@dataclass
class GradeSetup:
    """Everything a mode needs, checked and opened by ``prepare``."""

    request: GradeRequest
    readers: list[InputReader]
    files: ReportFiles
    errors_path: Path
    replicas: list[Replica]
    profile: EndpointProfile | None
    inline: bool
    library: Library | None
    prices: dict[str, Price]

    @property
    def info(self) -> GraderInfo:
        return self.replicas[0].grader.info

    @property
    def llm(self) -> LLMGrader | None:
        """The grader as an LLMGrader (for request bodies and reply parsing), else None."""
        return _llm(self.replicas[0].grader)


@dataclass
class GradeOutcome:
    """How a grading (or import) run ended, and what was written after it."""

    scan: ScanSummary
    counts: BatchCounts
    result: BatchResult | None = None
    imported: ImportResult | None = None
    stopped: bool = False
    report: ReportData | None = None
    report_files: ReportFiles | None = None
    cost: float | None = None

    @property
    def fatal(self) -> bool:
        return self.result is not None and self.result.fatal is not None

    @property
    def exit_code(self) -> int:
        return exit_status(self.scan, self.counts, stopped=self.stopped, fatal=self.fatal)


def prepare(request: GradeRequest, config: Config, chosen: ChosenGrader) -> GradeSetup:
    """Check the options and open the inputs, the banks and the graders."""
    from interviewer.bank.library import load_library
    from interviewer.config import bank_paths

    modes = [request.dry_run, request.export_batch is not None, bool(request.import_batch)]
    if sum(modes) > 1:
        raise InputError("Use only one of --dry-run, --export-batch and --import-batch.")
    readers = open_inputs(
        request.inputs, fmt=request.fmt, columns=request.columns, encoding=request.encoding
    )
    check_report_dir(request.report_dir)
    files = report_paths(request.out, request.report_dir)
    errors_path = files.summary_csv.with_name(f"{request.out.stem}.errors.csv")
    outputs = [
        request.out,
        errors_path,
        files.summary_csv,
        files.markdown,
        files.html,
        files.gradebook,
        calibration_path(request.out),
        anchors_path(request.out),
    ]
    check_outputs(readers, [*outputs, request.export_batch])
    kinds: list[tuple[Path | None, OutputKind]] = [
        (request.out, "results"),
        (errors_path, "errors"),
        (files.summary_csv, "summary"),
        (files.markdown, "markdown"),
        (files.html, "html"),
        (request.export_batch, "batch"),
    ]
    for path, kind in kinds:
        if path is not None:
            check_output(path, kind)
    replicas, profile, inline = build_replicas(chosen, concurrency=request.concurrency)
    if not (request.dry_run or request.export_batch or request.import_batch):
        _preload_sdk(replicas)
    setup = GradeSetup(
        request=request,
        readers=readers,
        files=files,
        errors_path=errors_path,
        replicas=replicas,
        profile=profile,
        inline=inline,
        library=load_library(bank_paths(config, request.bank_dir)),
        prices=price_table(config.prices),
    )
    _check_llm_mode(setup)
    return setup


def _check_llm_mode(setup: GradeSetup) -> None:
    request = setup.request
    needs_llm = (
        "--export-batch"
        if request.export_batch
        else "--import-batch"
        if request.import_batch
        else None
    )
    if needs_llm and setup.info.kind != "llm":
        raise InputError(
            f"{needs_llm} needs the LLM grader: pass --grader llm with --model (and --base-url"
            " or --endpoint) naming the model the batch runs on."
        )


def check_outputs(readers: list[InputReader], outputs: list[Path | None]) -> None:
    """Refuse to write any output over an input file."""
    inputs = {r.path.resolve(): r.path for r in readers}
    for path in outputs:
        if path is not None and path.resolve() in inputs:
            raise InputError(
                f"{path}: this output would overwrite the input {inputs[path.resolve()]};"
                " choose another --out, --report-dir or --export-batch."
            )


def estimate(setup: GradeSetup, *, notice: Notice | None = None) -> Estimate:
    """``--dry-run``: rows, tokens and cost; on a local endpoint, time a small sample."""
    request = setup.request
    state = load_results(request.out, repair=False)
    result = estimate_batch(
        setup.readers,
        setup.library,
        setup.llm,
        state,
        info=setup.info,
        profile=setup.profile,
        prices=setup.prices,
        retry_ungraded=request.retry_ungraded,
        errors_path=None,  # a dry run writes nothing
    )
    if not (result.local and result.requests and not setup.inline):
        return result
    total = sum(r.concurrency for r in setup.replicas)
    rows = min(result.requests, max(4, min(2 * total, 64)))
    if notice is not None:
        notice(f"Measuring {rows} rows on the local endpoint to estimate the time…")
    tasks = _pending(setup, state)
    result.sample_rows, result.sample_seconds = measure_sample(tasks, setup.replicas, rows=rows)
    result.sample_concurrency = setup.replicas[0].concurrency
    return result


def _pending(setup: GradeSetup, state: ResultsState) -> Iterator[RowTask]:
    """The rows still to grade, in grading order (grouped by question)."""
    request = setup.request
    return pending_tasks(
        setup.readers,
        setup.library,
        setup.info,
        state,
        retry_ungraded=request.retry_ungraded,
        window=request.sort_window,
    )


def estimate_exit(result: Estimate) -> int:
    """The exit status of a dry run: 2 when some rows are invalid."""
    return EXIT_INCOMPLETE if result.scan.bad else EXIT_OK


@dataclass
class ExportSummary:
    """What ``--export-batch`` wrote."""

    scan: ScanSummary
    files: list[Path]
    requests: int
    rows: int

    @property
    def exit_code(self) -> int:
        return EXIT_INCOMPLETE if self.scan.bad else EXIT_OK


def export(
    setup: GradeSetup, *, on_scan: Callable[[ScanSummary], None] | None = None
) -> ExportSummary:
    """``--export-batch``: write the requests of the rows still to grade."""
    request = setup.request
    assert request.export_batch is not None
    llm = setup.llm
    assert llm is not None  # prepare() checked that the grader is the LLM grader
    state = load_results(request.out, repair=False)
    scan = scan_inputs(
        setup.readers,
        setup.library,
        setup.info,
        state,
        retry_ungraded=request.retry_ungraded,
        errors_path=setup.errors_path,
    )
    if on_scan is not None:
        on_scan(scan)
    tasks = _pending(setup, state)
    written, requests, rows = export_batch(tasks, llm, request.export_batch)
    return ExportSummary(scan, written, requests, rows)


def open_job(setup: GradeSetup) -> BatchJob:
    """The grading job of this command; ``open()`` it, then ``grade`` it."""
    request = setup.request
    return BatchJob(
        readers=setup.readers,
        library=setup.library,
        replicas=setup.replicas,
        results=request.out,
        errors_path=setup.errors_path,
        retry_ungraded=request.retry_ungraded,
        window=request.sort_window,
        inline=setup.inline,
    )


def grade(
    setup: GradeSetup,
    job: BatchJob,
    *,
    stop: threading.Event,
    abandon: threading.Event,
    progress: ProgressCallback | None = None,
    notice: Notice | None = None,
) -> GradeOutcome:
    """Grade (or import) the rows an opened job still has to grade."""
    assert job.scan is not None, "open the job first"
    parser = setup.llm
    if setup.request.import_batch and parser is not None:
        imported = job.import_replies(
            setup.request.import_batch, parser, progress=progress, stop=stop
        )
        return GradeOutcome(job.scan, imported.counts, imported=imported)
    result = job.run(stop=stop, abandon=abandon, progress=progress, notice=notice)
    return GradeOutcome(job.scan, result.counts, result=result)


def import_notices(outcome: GradeOutcome) -> list[str]:
    """Warnings about batch files that did not fit the input."""
    imported = outcome.imported
    if imported is None:
        return []
    notices: list[str] = []
    if imported.replies and not imported.matched and outcome.scan.to_grade:
        notices.append(
            f"None of the {imported.replies} replies in the batch files belongs to a row still to"
            " grade: were they produced from this input with the same --model, prompts and"
            " settings? (custom_id is the row's content hash)"
        )
    if imported.invalid_lines:
        notices.append(
            f"{len(imported.invalid_lines)} line(s) of the batch files are not batch output and"
            f" were ignored (first: {imported.invalid_lines[0]})."
        )
    return notices


def finish(setup: GradeSetup, outcome: GradeOutcome) -> GradeOutcome:
    """Write the reports and price the tokens used."""
    request = setup.request
    outcome.report, outcome.report_files = write_reports(
        request.out,
        report_dir=request.report_dir,
        keys=outcome.scan.keys,
        scales=outcome.scan.scales,
        default_max=request.max_score,
    )
    outcome.cost = _run_cost(setup.profile, outcome.counts, setup.prices)
    return outcome


def closing_notice(outcome: GradeOutcome) -> str | None:
    """What to tell the user after a run that did not finish cleanly (not a fatal error)."""
    if outcome.fatal:
        return None
    if outcome.stopped:
        return "Interrupted: finished rows are kept; re-run the same command to resume."
    if outcome.counts.ungraded or outcome.scan.done_ungraded:
        return "Some rows are ungraded; re-run with --retry-ungraded to try them again."
    return None


def _preload_sdk(replicas: list[Replica]) -> None:
    """Import the HTTP client's SDK in the background while the banks and inputs are read.

    The import is most of the time before a first request could go out. A failure here is
    ignored: the first grade meets it again and reports it properly.
    """
    if not any(_llm(r.grader) is not None for r in replicas):
        return

    def preload() -> None:
        from interviewer.grading import chat_client

        with contextlib.suppress(Exception):
            chat_client.preload()

    threading.Thread(target=preload, name="grade-preload", daemon=True).start()


def _llm(grader: Grader) -> LLMGrader | None:
    from interviewer.grading.llm_grader import LLMGrader

    return grader if isinstance(grader, LLMGrader) else None
