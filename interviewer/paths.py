"""Where files live: the user's home directory, bundled content, bank files on disk.

Kept free of pydantic and yaml so that the fastest commands (`bank list` on a warm index)
can find their files without building any model; interviewer.config re-exports these.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable
from pathlib import Path

from interviewer.errors import BankError

CONFIG_NAME = "config.toml"
DB_NAME = "history.db"
BANK_SUFFIXES = (".yaml", ".yml")
# Every command but `bank list` loads and validates each bank in full, so a bank index cannot
# keep a huge bank fast; a limit can. 2 MiB is 16 times the largest bundled bank; it loads in
# 0.1 s CPU with real questions and 2 s with 31,000 one-line ones, the worst case
# (benchmarks/bank_load.py). A 65 MB bank took 44 s for every command.
MAX_BANK_BYTES = 2 * 1024 * 1024


def home_dir() -> Path:
    """Return the directory holding every user file (created on demand by writers)."""
    override = os.environ.get("INTERVIEWER_HOME")
    if override:
        return Path(override).expanduser()
    if sys.platform == "win32":
        base = Path(os.environ.get("APPDATA") or Path.home() / "AppData" / "Roaming")
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Application Support"
    else:
        base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return base / "interviewer"


def config_path() -> Path:
    return home_dir() / CONFIG_NAME


def db_path() -> Path:
    override = os.environ.get("INTERVIEWER_DB")
    return Path(override).expanduser() if override else home_dir() / DB_NAME


def _package_data(name: str) -> Path:
    """Locate bundled content: inside the wheel (_data/) or at the top of a source tree."""
    here = Path(__file__).resolve().parent
    bundled = here / "_data" / name
    if bundled.is_dir():
        return bundled
    return here.parent / name


def builtin_bank_dir() -> Path:
    return _package_data("bank")


def builtin_prompts_dir() -> Path:
    return _package_data("prompts")


def user_bank_dir() -> Path:
    """Where `interviewer bank import` puts bank files; loaded after the built-in banks."""
    return home_dir() / "banks"


def bank_paths(configured: Iterable[str], extra: Iterable[Path] | None = None) -> list[Path]:
    """The bank directories to load: built-in, imported, the config's, env, then flags."""
    paths = [builtin_bank_dir()]
    imported = user_bank_dir()
    if imported.is_dir():
        paths.append(imported)
    dirs = [Path(p).expanduser() for p in configured]
    env = os.environ.get("INTERVIEWER_BANK_DIRS")
    if env:
        dirs += [Path(p).expanduser() for p in env.split(os.pathsep) if p]
    for path in [*dirs, *(extra or [])]:
        if path not in paths:
            paths.append(path)
    return paths


def bank_files(paths: Iterable[Path]) -> list[Path]:
    """Expand directories into their bank files (sorted), keep files as given."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(
                sorted(p for p in path.rglob("*") if p.suffix in BANK_SUFFIXES and p.is_file())
            )
        elif path.exists():
            files.append(path)
        else:
            raise BankError(f"{path}: no such file or directory; check the bank path.")
    return files
