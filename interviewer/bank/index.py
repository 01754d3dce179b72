"""A validated index of bank files, so `bank list` need not parse and validate YAML each run.

The index holds only what a listing shows: per question its id, bank, topic, difficulty,
tags and the first line of its text; per bank its id, title and question count. It is kept
in ``<home>/cache/bank-index.json``, one entry per bank file keyed by the file's resolved
path and stamped with its mtime (ns), size and the interviewer version. A file whose stamp
does not match is loaded with :func:`interviewer.bank.library.load_bank_file`, so a broken file
raises exactly the BankError a full load would, and only a file that validated is cached.

This module must stay light: on a cache hit it imports neither yaml nor pydantic models.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any, NamedTuple

from interviewer import __version__, paths
from interviewer.bank.selection import Selection, UniqueIds, filter_items, unknown_bank
from interviewer.paths import bank_files, config_path, home_dir
from interviewer.paths import bank_paths as _bank_paths

CACHE_FORMAT = 2  # 2: banks carry their language


class QuestionRow(NamedTuple):
    """What a listing shows of one question."""

    id: str
    bank: str
    topic: str
    difficulty: str
    tags: tuple[str, ...]
    first_line: str


class BankRow(NamedTuple):
    """What a listing shows of one bank."""

    id: str
    title: str
    question_count: int
    path: Path
    language: str = ""


class BankIndex(NamedTuple):
    """Every loaded bank's rows, in load order."""

    banks: tuple[BankRow, ...]
    questions: tuple[QuestionRow, ...]

    def bank(self, bank_id: str) -> BankRow:
        """Return the bank with this id or raise the BankError Library.bank raises."""
        for bank in self.banks:
            if bank.id == bank_id:
                return bank
        raise unknown_bank(bank_id, (b.id for b in self.banks))

    def filter(
        self,
        *,
        bank: str | None = None,
        topic: str | None = None,
        difficulty: str | None = None,
        tag: str | None = None,
    ) -> list[QuestionRow]:
        """The questions matching every filter that is set, by the rules of a session."""
        sel = Selection(bank=bank, topic=topic, difficulty=difficulty, tag=tag)
        return filter_items(self.questions, sel)


# --------------------------------------------------------------------------- paths


def cache_path() -> Path:
    """Where the index is kept."""
    return home_dir() / "cache" / "bank-index.json"


def bank_paths(extra: list[Path] | None = None) -> list[Path]:
    """The bank directories to load, as ``config.bank_paths(load_config(), extra)`` gives.

    Without a config file the answer needs no config parsing, so the config module (and its
    pydantic models) is imported only when the file exists, to read and validate it.
    """
    if config_path().exists():
        from interviewer.config import bank_paths as configured_paths
        from interviewer.config import load_config

        return configured_paths(load_config(), extra)
    return _bank_paths((), extra)


# --------------------------------------------------------------------------- cache


def _read_cache(path: Path) -> dict[str, Any]:
    """The cached entries by resolved file path; anything unreadable is an empty cache."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if (
        not isinstance(data, dict)
        or data.get("format") != CACHE_FORMAT
        or data.get("version") != __version__
        or not isinstance(data.get("files"), dict)
    ):
        return {}
    files: dict[str, Any] = data["files"]
    return files


def _write_cache(path: Path, files: dict[str, Any]) -> None:
    """Replace the cache atomically; a home we cannot write to just means no cache."""
    # Imported here: only a cache miss writes, and a hit should not pay for tempfile.
    from interviewer.files import write_atomic

    payload = {"format": CACHE_FORMAT, "version": __version__, "files": files}
    with contextlib.suppress(OSError):
        write_atomic(path, json.dumps(payload, ensure_ascii=False))


def _stamp(file: Path) -> list[int | str]:
    try:
        st = file.stat()
    except OSError:
        return []
    return [st.st_mtime_ns, st.st_size, __version__]


def _entry_for(file: Path) -> dict[str, Any]:
    """Load and validate one bank file and keep only what a listing shows."""
    from interviewer.bank.library import load_bank_file

    bank = load_bank_file(file)
    return {
        "bank": {"id": bank.info.id, "title": bank.info.title, "language": bank.info.language},
        "questions": [
            [q.id, q.topic, q.difficulty, list(q.tags), q.question.splitlines()[0]]
            for q in bank.questions
        ],
    }


def _valid_entry(entry: Any, stamp: list[int | str]) -> bool:
    # A file over the size limit is loaded again, so that it fails as in every other command.
    return (
        isinstance(entry, dict)
        and bool(stamp)
        and int(stamp[1]) <= paths.MAX_BANK_BYTES
        and entry.get("stamp") == stamp
        and isinstance(entry.get("bank"), dict)
        and isinstance(entry.get("questions"), list)
    )


def load_index(paths: Iterable[Path], cache_file: Path | None = None) -> BankIndex:
    """Index every bank under ``paths`` with the checks of interviewer.bank.library.load_library.

    Files whose cached entry is stale are validated again (raising their BankError); bank
    ids and question ids must be unique overall, with the same messages as a full load.
    """
    cache_file = cache_file or cache_path()
    cached = _read_cache(cache_file)
    changed = False
    banks: list[BankRow] = []
    questions: list[QuestionRow] = []
    ids = UniqueIds()
    for file in bank_files(paths):
        key = str(file.resolve())
        stamp = _stamp(file)
        entry = cached.get(key)
        if not _valid_entry(entry, stamp):
            entry = {**_entry_for(file), "stamp": stamp}
            cached[key] = entry
            changed = True
        assert entry is not None
        bank_id = str(entry["bank"]["id"])
        ids.add(file, bank_id, [q[0] for q in entry["questions"]])
        for qid, topic, difficulty, tags, first_line in entry["questions"]:
            questions.append(QuestionRow(qid, bank_id, topic, difficulty, tuple(tags), first_line))
        count = len(entry["questions"])
        language = str(entry["bank"].get("language", ""))
        banks.append(BankRow(bank_id, str(entry["bank"]["title"]), count, file, language))
    if changed:
        # Forget files that no longer exist so the cache does not grow without bound.
        kept = {k: v for k, v in cached.items() if Path(k).exists()}
        _write_cache(cache_file, kept)
    return BankIndex(banks=tuple(banks), questions=tuple(questions))
