"""What the input readers produce: rows, bad rows, column names, formats and field values.

Every reader (CSV, JSONL, YAML) yields ``InputRow`` for a usable row and ``BadRow`` for one that
cannot be graded; the helpers here turn a raw field into the text a row holds.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from interviewer.errors import InputError

InputFormat = Literal["csv", "jsonl", "yaml"]
FORMATS: tuple[str, ...] = ("csv", "jsonl", "yaml")
DEFAULT_ENCODING = "utf-8-sig"
SUFFIX_FORMATS: dict[str, InputFormat] = {
    ".csv": "csv",
    ".tsv": "csv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
    ".yaml": "yaml",
    ".yml": "yaml",
}
_KEY_POINT_SPLIT = re.compile(r"[\n;；]")
_SURROGATE = re.compile("[\ud800-\udfff]")
# A CSV quote left open swallows the rows after it into one field. A field is taken for such
# a runaway when at least this many of its lines, and at least half, have exactly as many
# fields as the header (a multi-line answer rarely does), or when it is longer than this.
RUNAWAY_ROW_LINES = 2
RUNAWAY_LINES = 10_000


@dataclass(frozen=True)
class ColumnMap:
    """The column (or key) names to read each field from."""

    question_id: str = "question_id"
    question: str = "question"
    reference: str = "reference"
    key_points: str = "key_points"
    answer: str = "answer"
    candidate: str = "candidate"
    id: str = "id"

    def fields(self) -> dict[str, str]:
        """Field name -> column name, in a stable order."""
        return {
            "question_id": self.question_id,
            "question": self.question,
            "reference": self.reference,
            "key_points": self.key_points,
            "answer": self.answer,
            "candidate": self.candidate,
            "id": self.id,
        }


@dataclass(frozen=True, slots=True)
class InputRow:
    """One usable input row: an answer and what it answers.

    ``row`` counts records from 1 (a CSV header and blank lines are not rows); ``line`` is
    the physical line where the record starts, which is what an editor shows.
    """

    source: str
    row: int
    line: int
    answer: str
    question_id: str | None = None
    question: str | None = None
    reference: str | None = None
    key_points: tuple[str, ...] | None = None
    candidate: str | None = None
    id: str | None = None
    extra: tuple[tuple[str, object], ...] = ()  # the columns named by InputReader(keep=...)


@dataclass(frozen=True, slots=True)
class BadRow:
    """A row that cannot be graded, with the reason in words a user can act on."""

    source: str
    row: int
    line: int
    reason: str
    id: str | None = None

    def describe(self) -> str:
        ident = f" (id {self.id})" if self.id else ""
        return f"{self.source}:{self.line}: row {self.row}{ident}: {self.reason}"


def lone_surrogate(text: str) -> str | None:
    """Why ``text`` is not text when it holds a lone UTF-16 surrogate (a JSON or YAML
    ``\\ud800`` escape without its pair), else None; such text cannot be written as UTF-8."""
    match = _SURROGATE.search(text)
    if match is None:
        return None
    return (
        f"holds a lone surrogate escape (\\u{ord(match.group()):04x}) that is not a character;"
        " fix the escape (it needs its pair) or remove it"
    )


def json_limit_reason(exc: BaseException) -> str:
    """Why Python's decoder refused a JSON line that is well-formed (too deep, too long)."""
    if isinstance(exc, RecursionError):
        return "is nested too deeply (a row holds text fields, not structures)"
    if "digits" in str(exc):
        return "holds a number with too many digits (over 4300); quote it as text"
    return f"invalid JSON: {exc}"


def runaway_field(record: list[str], width: int, delimiter: str) -> str | None:
    """Why a CSV record looks like the run-on of an unterminated quote, else None."""
    for field in record:
        lines = field.split("\n")
        if len(lines) < 3:
            continue
        if len(lines) > RUNAWAY_LINES:
            return f"a quoted field runs on for {len(lines)} lines"
        inner = [line for line in lines[1:] if line.strip()]
        looks = sum(1 for line in inner if _fields_in(line, delimiter) == width)
        if looks >= RUNAWAY_ROW_LINES and 2 * looks >= len(inner):
            return (
                f"a quoted field runs on for {len(lines)} lines and holds {looks} lines that"
                " look like rows"
            )
    return None


def _fields_in(line: str, delimiter: str) -> int:
    import csv

    try:
        return len(next(csv.reader([line], delimiter=delimiter), []))
    except csv.Error:
        return 0


def detect_format(path: Path, fmt: str = "auto") -> InputFormat:
    """Return the input format named by ``fmt`` or, for ``auto``, by the file's suffix."""
    if fmt != "auto":
        if fmt not in FORMATS:
            raise InputError(f"Unknown input format '{fmt}'; use auto, csv, jsonl or yaml.")
        return fmt  # type: ignore[return-value]
    found = SUFFIX_FORMATS.get(path.suffix.lower())
    if found is None:
        raise InputError(
            f"{path}: cannot tell the format from the name '{path.name}'; name it .csv, .jsonl"
            " or .yaml, or pass --format csv|jsonl|yaml."
        )
    return found


def check_encoding(encoding: str) -> str:
    """Return the codec's canonical name, or raise InputError for an unknown one."""
    try:
        return codecs.lookup(encoding).name
    except LookupError:
        raise InputError(
            f"Unknown encoding '{encoding}' (--encoding); use e.g. utf-8, utf-16, gbk, cp1252."
        ) from None


def split_key_points(value: object) -> tuple[str, ...] | None:
    """Key points from a list, or from text separated by newlines or semicolons."""
    if value is None:
        return None
    items: list[object]
    if isinstance(value, list | tuple):
        items = list(value)
    elif isinstance(value, str):
        items = list(_KEY_POINT_SPLIT.split(value))
    else:
        raise ValueError("key points must be a list or text")
    points: list[str] = []
    for item in items:
        if isinstance(item, dict | list):
            raise ValueError("each key point must be text")
        text = str(item).strip()
        if text:
            points.append(text)
    return tuple(points) if points else None


def blank_to_none(value: object) -> object:
    if isinstance(value, str) and not value.strip():
        return None
    return value


def field_text(value: object, column: str) -> str | None:
    """A field as stripped text; None when absent or blank; ValueError for a structure."""
    if value is None:
        return None
    if isinstance(value, dict | list):
        raise ValueError(f"field '{column}' must be text, not a {type(value).__name__}")
    text = value if isinstance(value, str) else scalar_text(value)
    text = text.strip()
    return text or None


def scalar_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def text_or_none(value: object) -> str | None:
    try:
        return field_text(value, "id")
    except ValueError:
        return None
