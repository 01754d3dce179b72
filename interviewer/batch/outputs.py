"""Which existing files `interviewer grade` may write over: only its own.

Every file `grade` writes can be told by how it begins: a results file's lines are result
records (each starts ``{"key":"``), the summary and errors CSVs start with their header, the
reports with their title, a Batch API export with ``{"custom_id":``. An existing file that does
not begin so — the history database, a spreadsheet, notes, an input — is never appended to,
cut or replaced: the run stops before any work with one line naming the file and the fix.
An empty file is taken as ours (there is nothing in it to lose).

The check runs on all outputs before grading starts; the reports, CSVs and exports are then
written whole through ``files.AtomicFile``/``write_atomic``, so a crash or a full disk leaves
the earlier version or the new one, never half of either.
"""

from __future__ import annotations

import codecs
from pathlib import Path
from typing import Literal

from interviewer.errors import InputError

OutputKind = Literal["results", "summary", "errors", "markdown", "html", "batch"]

_HEAD_BYTES = 512
_SIGNATURES: dict[OutputKind, tuple[bytes, ...]] = {
    "results": (b'{"key":"',),
    "summary": (b"source,row,line,id,candidate,question_id,",),
    "errors": (b"source,row,line,id,reason",),
    "markdown": (b"# Batch grading report",),
    "html": (b"<!DOCTYPE html>", b"<title>Batch grading report</title>"),
    "batch": (b'{"custom_id":',),
}
_FLAGS: dict[OutputKind, str] = {
    "results": "--out",
    "summary": "--out or --report-dir",
    "errors": "--out or --report-dir",
    "markdown": "--out or --report-dir",
    "html": "--out or --report-dir",
    "batch": "--export-batch",
}


def is_ours(path: Path, kind: OutputKind) -> bool:
    """Whether ``path`` is missing, empty, or begins as a file of this kind written by `grade`."""
    try:
        with path.open("rb") as fh:
            head = fh.read(_HEAD_BYTES)
    except FileNotFoundError:
        return True
    except IsADirectoryError:
        return False
    head = head.removeprefix(codecs.BOM_UTF8)
    if not head:
        return True
    first, *rest = _SIGNATURES[kind]
    return head.startswith(first) and all(sign in head for sign in rest)


def check_output(path: Path, kind: OutputKind) -> None:
    """Raise InputError unless ``grade`` may write ``path`` as an output of this kind."""
    try:
        ours = is_ours(path, kind)
    except OSError as exc:
        raise InputError(f"{path}: cannot read this output file ({exc.strerror}).") from None
    if ours:
        return
    flag = _FLAGS[kind]
    if path.is_dir():
        raise InputError(f"{path}: is a directory, not a file; choose another {flag}.")
    if kind == "results":
        raise InputError(
            f"{path}: exists and is not a results file of `interviewer grade`, so it is left"
            f" alone; choose another --out (a new file, or an earlier run's results)."
        )
    raise InputError(
        f"{path}: exists and was not written by `interviewer grade`, so it is left alone; move"
        f" it away or choose another {flag}."
    )


def check_report_dir(report_dir: Path | None) -> None:
    if report_dir is not None and report_dir.exists() and not report_dir.is_dir():
        raise InputError(
            f"{report_dir}: is a file, not a folder; give --report-dir a folder (it is"
            " created when missing)."
        )
