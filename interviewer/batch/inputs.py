"""Streaming readers for batch-grading input files: CSV, JSONL and YAML.

A row either names a bank question (``question_id``) or carries its own ``question``,
``reference`` and optional ``key_points``; ``answer`` holds the answer, and ``candidate`` and
``id`` are optional. ``ColumnMap`` renames these columns for files that use other names.

Reading streams one row at a time, so memory does not grow with the number of rows. Two
kinds of failure are kept apart:

* a file that cannot be used at all (missing, unreadable, unknown format or encoding, a CSV
  header without the needed columns, broken YAML) raises ``InputError`` as soon as the file
  is opened or read, before any grading starts;
* a bad row (no answer, an undecodable line, invalid JSON, a CSV row with the wrong number
  of fields) is yielded as a ``BadRow`` naming its file, row and line, and the rest of the
  file is read as usual.

Undecodable bytes are decoded with ``surrogateescape`` so that one bad line cannot stop a
CSV or JSONL file: a row whose text holds an escaped byte is reported instead of graded.
YAML is the exception: a YAML stream cannot be resynchronised after an error, so an
undecodable byte or a syntax error fails the whole file with its line number.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import re
from collections import deque
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import yaml

from interviewer.batch.input_rows import (
    DEFAULT_ENCODING,
    BadRow,
    ColumnMap,
    InputFormat,
    InputRow,
    blank_to_none,
    check_encoding,
    detect_format,
    field_text,
    json_limit_reason,
    lone_surrogate,
    runaway_field,
    split_key_points,
    text_or_none,
)
from interviewer.batch.yaml_rows import MAX_DEPTH, TOO_NESTED, TextLoader, TooDeep, skip_open
from interviewer.errors import InputError

# A long written answer can exceed the csv module's default field limit (128 KiB).
_CSV_FIELD_LIMIT = 16 * 1024 * 1024
_ESCAPED_BYTE = re.compile("[\udc80-\udcff]")
_BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


class _Lines:
    """The text lines a csv.reader reads, counted, with the current record's kept so that
    they can be pushed back and read again (after a quote that was never closed)."""

    def __init__(self, fh: IO[str]) -> None:
        self._fh = fh
        self._pending: deque[str] = deque()
        self.taken: list[str] = []
        self.number = 0

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        line = self._pending.popleft() if self._pending else next(self._fh)
        self.taken.append(line)
        self.number += 1
        return line

    def push_back(self, lines: list[str]) -> None:
        self._pending.extendleft(reversed(lines))
        self.number -= len(lines)


class InputReader:
    """One input file, checked when constructed and read lazily by ``rows()``.

    Construction raises InputError for a file that cannot be used at all, so every input
    can be checked before a batch starts spending tokens.
    """

    def __init__(
        self,
        path: Path,
        *,
        fmt: str = "auto",
        columns: ColumnMap | None = None,
        encoding: str = DEFAULT_ENCODING,
        keep: tuple[str, ...] = (),
    ) -> None:
        self.path, self.keep = path, keep
        self.source = str(path)
        if not path.exists():
            raise InputError(f"{path}: no such file; check the path.")
        if path.is_dir():
            raise InputError(f"{path}: is a directory; pass the input files themselves.")
        self.format: InputFormat = detect_format(path, fmt)
        self.columns = columns or ColumnMap()
        self._explicit_encoding = encoding.lower().replace("_", "-") not in (
            "utf-8-sig",
            "utf8-sig",
        )
        self.encoding = check_encoding(encoding)
        self._delimiter = "\t" if path.suffix.lower() == ".tsv" else ","
        self._header: list[str] = []
        self._check_file()
        if self.format == "csv":
            self._read_header()

    @property
    def encoding_label(self) -> str:
        return "UTF-8" if self.encoding.startswith("utf-8") else self.encoding

    # ------------------------------------------------------------------ opening

    def _check_file(self) -> None:
        path = self.path
        try:
            with path.open("rb") as fh:
                head = fh.read(4096)
        except OSError as exc:
            raise InputError(f"{path}: cannot read ({exc.strerror}).") from None
        if not self._explicit_encoding:
            # Spreadsheet "Unicode text" exports are UTF-16 with a BOM: honour the BOM.
            for bom, name in _BOMS:
                if head.startswith(bom):
                    self.encoding = name
                    break
        # UTF-16/32 text is full of NUL bytes; in any other encoding they mean binary data.
        if b"\x00" not in "a".encode(self.encoding) and b"\x00" in head:
            raise InputError(
                f"{path}: looks like a binary file (it contains NUL bytes), not {self.format}"
                " text; export it as CSV UTF-8, or pass --encoding if it is UTF-16."
            )
        if self.format == "jsonl":
            text = head.decode(self.encoding, errors="ignore").lstrip("\ufeff \t\r\n")
            if text.startswith("["):
                raise InputError(
                    f"{path}: holds a JSON array; write one JSON object per line (JSONL),"
                    " or use a YAML list."
                )

    def _open_text(self) -> IO[str]:
        try:
            raw = self.path.open("rb")
        except OSError as exc:
            raise InputError(f"{self.path}: cannot read ({exc.strerror}).") from None
        # newline="" keeps CSV's quoted line breaks intact; surrogateescape turns a bad
        # byte into a marker we can report per row instead of an exception mid-file.
        return io.TextIOWrapper(raw, encoding=self.encoding, errors="surrogateescape", newline="")

    def _read_header(self) -> None:
        with self._open_text() as fh:
            try:
                first = fh.readline()
                while first and not first.strip():
                    first = fh.readline()
            except UnicodeDecodeError as exc:
                raise self._decode_error(exc) from None
        if not first.strip():
            raise InputError(
                f"{self.path}: the file is empty; a CSV needs a header line naming its columns"
                f" (at least '{self.columns.answer}' and '{self.columns.question_id}' or"
                f" '{self.columns.question}')."
            )
        first = first.removeprefix("\ufeff")
        if _ESCAPED_BYTE.search(first):
            raise InputError(
                f"{self.path}:1: the header line is not valid {self.encoding_label}; pass"
                " --encoding with the file's encoding (e.g. gbk, cp1252, utf-16)."
            )
        wanted = self.columns.answer
        candidates = [self._delimiter, ",", ";", "\t"]
        header: list[str] = []
        for delimiter in dict.fromkeys(candidates):
            parsed = next(csv.reader([first], delimiter=delimiter), [])
            names = [name.strip() for name in parsed]
            if wanted in names:
                self._delimiter, header = delimiter, names
                break
        if not header:
            header = [n.strip() for n in next(csv.reader([first], delimiter=self._delimiter))]
        self._header = header
        self._check_columns(header)

    def _check_columns(self, header: list[str]) -> None:
        cols = self.columns
        found = ", ".join(f"'{h}'" for h in header) or "none"
        for name in cols.fields().values():
            if header.count(name) > 1:
                raise InputError(
                    f"{self.path}:1: column '{name}' appears {header.count(name)} times in the"
                    " header; rename the extra ones."
                )
        if cols.answer not in header:
            raise InputError(
                f"{self.path}:1: no '{cols.answer}' column (columns found: {found}); rename"
                " the column or pass --answer-col NAME."
            )
        if cols.question_id not in header and cols.question not in header:
            raise InputError(
                f"{self.path}:1: no '{cols.question_id}' or '{cols.question}' column (columns"
                f" found: {found}); pass --question-id-col NAME for bank question ids or"
                " --question-col NAME (with --reference-col) for questions given in the file."
            )
        if cols.question_id not in header and cols.reference not in header:
            raise InputError(
                f"{self.path}:1: questions are given in the file but there is no"
                f" '{cols.reference}' column (columns found: {found}); add the reference"
                " answers or pass --reference-col NAME."
            )

    # ------------------------------------------------------------------ reading

    def rows(self) -> Iterator[InputRow | BadRow]:
        """Yield each row in file order: an InputRow to grade or a BadRow to report."""
        reader = {"csv": self._csv_rows, "jsonl": self._jsonl_rows}.get(self.format)
        try:
            yield from (reader or self._yaml_rows)()
        except UnicodeDecodeError as exc:
            raise self._decode_error(exc) from None

    def _decode_error(self, exc: UnicodeDecodeError) -> InputError:
        # surrogateescape covers single bad bytes; a wide codec (UTF-16/32) still fails on
        # a lone or cut-off code unit, which no row boundary can recover from.
        return InputError(
            f"{self.path}: is not valid {self.encoding_label} text ({exc.reason}); pass"
            " --encoding with the file's encoding, or re-save it as UTF-8."
        )

    def _csv_rows(self) -> Iterator[InputRow | BadRow]:
        csv.field_size_limit(_CSV_FIELD_LIMIT)
        width = len(self._header)
        index = {name: i for i, name in enumerate(self._header)}
        with self._open_text() as fh:
            lines = _Lines(fh)
            reader = csv.reader(lines, delimiter=self._delimiter)
            header_seen = False
            row_number = 0
            while True:
                start = lines.number + 1
                lines.taken.clear()
                try:
                    record = next(reader)
                except StopIteration:
                    return
                except csv.Error as exc:
                    row_number += 1
                    yield BadRow(self.source, row_number, start, f"malformed CSV: {exc}")
                    continue
                if not header_seen:
                    if any(field.strip() for field in record):
                        header_seen = True
                    continue
                if not any(field.strip() for field in record):
                    continue  # blank lines and all-empty spreadsheet rows are not rows
                row_number += 1
                runaway = runaway_field(record, width, self._delimiter)
                if runaway is not None:
                    end = lines.number
                    # Read the lines the open quote swallowed again, as rows of their own.
                    lines.push_back(lines.taken[1:])
                    reader = csv.reader(lines, delimiter=self._delimiter)
                    yield BadRow(
                        self.source,
                        row_number,
                        start,
                        f"{runaway} (to line {end}): is a quote here never closed? Close it,"
                        ' or write a quote inside a field as ""; the lines after this one are'
                        " read as rows again",
                    )
                    continue
                if len(record) != width:
                    yield BadRow(
                        self.source,
                        row_number,
                        start,
                        f"has {len(record)} fields but the header has {width} (a stray"
                        " delimiter or an unquoted line break?)",
                    )
                    continue
                values: dict[str, object] = {name: record[i] for name, i in index.items()}
                yield self._make_row(values, row_number, start)

    def _jsonl_rows(self) -> Iterator[InputRow | BadRow]:
        with self._open_text() as fh:
            row_number = 0
            for line_number, line in enumerate(fh, start=1):
                if line_number == 1:
                    line = line.removeprefix("\ufeff")
                if not line.strip():
                    continue
                row_number += 1
                if _ESCAPED_BYTE.search(line):
                    yield self._undecodable(line, row_number, line_number)
                    continue
                try:
                    value = json.loads(line)
                except json.JSONDecodeError as exc:
                    yield BadRow(self.source, row_number, line_number, f"invalid JSON: {exc.msg}")
                    continue
                except (ValueError, RecursionError) as exc:
                    yield BadRow(self.source, row_number, line_number, json_limit_reason(exc))
                    continue
                if not isinstance(value, dict):
                    yield BadRow(
                        self.source,
                        row_number,
                        line_number,
                        "each line must be a JSON object with an answer",
                    )
                    continue
                yield self._make_row(value, row_number, line_number)

    def _yaml_rows(self) -> Iterator[InputRow | BadRow]:
        with self._open_text() as fh:
            # The pure-Python loader exposes compose_node, which lets us build one row's
            # node at a time instead of the whole document.
            loader: Any = None
            try:
                loader = TextLoader(fh)  # reads and checks the first characters already
                yield from self._yaml_stream(loader)
            except yaml.MarkedYAMLError as exc:
                mark = exc.problem_mark or exc.context_mark
                line = f":{mark.line + 1}" if mark is not None else ""
                raise InputError(
                    f"{self.path}{line}: invalid YAML: {exc.problem or exc}; fix the file"
                    " (a YAML file cannot be read past an error)."
                ) from None
            except yaml.reader.ReaderError as exc:
                raise InputError(
                    f"{self.path}: character {exc.position + 1} is not valid"
                    f" {self.encoding_label} text; pass --encoding with the file's encoding."
                ) from None
            except yaml.YAMLError as exc:
                raise InputError(f"{self.path}: invalid YAML: {exc}.") from None
            finally:
                if loader is not None:
                    loader.dispose()

    def _yaml_stream(self, loader: Any) -> Iterator[InputRow | BadRow]:
        loader.get_event()  # StreamStart
        if loader.check_event(yaml.StreamEndEvent):
            return
        loader.get_event()  # DocumentStart
        if loader.check_event(yaml.SequenceStartEvent):
            loader.get_event()
            yield from self._yaml_items(loader)
            return
        if loader.check_event(yaml.MappingStartEvent):
            loader.get_event()
            found = False
            while not loader.check_event(yaml.MappingEndEvent):
                key_node = loader.compose_node(None, None)
                if key_node.value == "rows" and loader.check_event(yaml.SequenceStartEvent):
                    loader.get_event()
                    found = True
                    yield from self._yaml_items(loader)
                else:
                    loader.compose_node(None, None)
                loader.anchors = {}
            if found:
                return
        if loader.check_event(yaml.ScalarEvent) and loader.peek_event().value == "":
            return  # an empty document holds no rows
        raise InputError(
            f"{self.path}:1: a YAML input must be a list of rows, or a mapping with a"
            " 'rows:' list; see the `grade` command's help for an example."
        )

    def _yaml_items(self, loader: Any) -> Iterator[InputRow | BadRow]:
        row_number = 0
        while not loader.check_event(yaml.SequenceEndEvent):
            row_number += 1
            line = loader.peek_event().start_mark.line + 1
            try:
                node = loader.compose_node(None, None)
            except TooDeep:
                skip_open(loader, MAX_DEPTH)
                loader.anchors = {}
                yield BadRow(self.source, row_number, line, TOO_NESTED)
                continue
            loader.anchors = {}  # aliases across rows would keep every row alive
            value = loader.construct_document(node)
            if not isinstance(value, dict):
                yield BadRow(self.source, row_number, line, "each row must be a mapping")
                continue
            yield self._make_row(value, row_number, line)
        loader.get_event()

    # ------------------------------------------------------------------ fields

    def _undecodable(self, text: str, row: int, line: int) -> BadRow:
        match = _ESCAPED_BYTE.search(text)
        byte = ord(match.group()) - 0xDC00 if match else 0
        return BadRow(
            self.source,
            row,
            line,
            f"byte 0x{byte:02x} is not valid {self.encoding_label} text; pass --encoding with the"
            " file's encoding (e.g. gbk, cp1252) or fix the line",
        )

    def _make_row(self, values: dict[str, object], row: int, line: int) -> InputRow | BadRow:
        cols = self.columns
        ident = text_or_none(values.get(cols.id))
        try:
            fields = {
                name: field_text(values.get(column), column)
                for name, column in cols.fields().items()
                if name != "key_points"
            }
            key_points = split_key_points(blank_to_none(values.get(cols.key_points)))
        except ValueError as exc:
            return BadRow(self.source, row, line, str(exc), ident)
        for text in (*fields.values(), *(key_points or ()), ident):
            if text is not None and _ESCAPED_BYTE.search(text):
                return self._undecodable(text, row, line)
            problem = lone_surrogate(text) if text is not None else None
            if problem is not None:
                return BadRow(self.source, row, line, problem)
        answer = fields["answer"]
        if answer is None:
            return BadRow(self.source, row, line, f"no answer (column '{cols.answer}')", ident)
        question_id = fields["question_id"]
        question = fields["question"]
        reference = fields["reference"]
        if question_id is None:
            if question is None:
                return BadRow(
                    self.source,
                    row,
                    line,
                    f"names no question: fill '{cols.question_id}' or '{cols.question}'",
                    ident,
                )
            if reference is None:
                return BadRow(
                    self.source,
                    row,
                    line,
                    f"question given without a reference answer (column '{cols.reference}')",
                    ident,
                )
        return InputRow(
            source=self.source,
            row=row,
            line=line,
            answer=answer,
            question_id=question_id,
            question=question,
            reference=reference,
            key_points=key_points,
            candidate=fields["candidate"],
            id=ident,
            extra=tuple((name, values[name]) for name in self.keep if name in values),
        )


def open_inputs(
    paths: list[Path],
    *,
    fmt: str = "auto",
    columns: ColumnMap | None = None,
    encoding: str = DEFAULT_ENCODING,
) -> list[InputReader]:
    """Check every input file up front; raise InputError for the first unusable one."""
    if not paths:
        raise InputError("No input file given; pass one or more CSV, JSONL or YAML files.")
    seen: set[Path] = set()
    readers: list[InputReader] = []
    for path in paths:
        resolved = path.resolve()
        if resolved in seen:
            raise InputError(f"{path}: given twice; pass each input file once.")
        seen.add(resolved)
        readers.append(InputReader(path, fmt=fmt, columns=columns, encoding=encoding))
    return readers
