"""Writing a file so that a reader never sees half of it.

Every file the tool replaces (config, bank imports, the bank index cache, endpoint state,
exports and reports) goes through ``write_atomic``: the data is written to a temporary file
in the same directory and renamed over the target, so a crash or a full disk leaves either
the old file or the new one. The temporary name is unique per process and thread, so two
writers never clobber each other's half-written file; the last rename wins. ``AtomicFile`` does
the same for a file written piece by piece (a CSV streamed row by row).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import IO


def write_atomic(path: Path, data: str | bytes, *, mode: int | None = None) -> None:
    """Replace ``path`` with ``data`` (text is written as UTF-8) in one rename.

    ``mode`` sets the permission bits of the new file (e.g. 0o600 for a file that must not
    be world-readable). Without it, a replaced file keeps its permissions and a new one gets
    what the user's umask allows, as ``open()`` would give it (the temporary file is created
    0600, so this has to be restored explicitly). Raises ``OSError`` as the file system
    reports it; the caller turns it into a message that names the file.
    """
    payload = data.encode("utf-8") if isinstance(data, str) else data
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        tmp.chmod(mode if mode is not None else _default_mode(path))
        tmp.replace(path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
        raise


class AtomicFile:
    """A file written piece by piece that replaces ``path`` only on ``commit()``.

    Until then the data sits in a temporary file beside it; ``discard()`` (or an exception
    inside a ``with`` block) removes it and leaves ``path`` as it was.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        self._tmp = Path(name)
        self.handle: IO[bytes] = os.fdopen(fd, "wb")

    def commit(self) -> None:
        try:
            self.handle.flush()
            os.fsync(self.handle.fileno())
            self.handle.close()
            self._tmp.chmod(_default_mode(self.path))
            self._tmp.replace(self.path)
        except BaseException:
            self.discard()
            raise

    def discard(self) -> None:
        with contextlib.suppress(OSError):
            self.handle.close()
        with contextlib.suppress(OSError):
            self._tmp.unlink(missing_ok=True)

    def __enter__(self) -> AtomicFile:
        return self

    def __exit__(self, exc_type: object, *rest: object) -> None:
        if exc_type is None:
            self.commit()
        else:
            self.discard()


def _default_mode(path: Path) -> int:
    try:
        return path.stat().st_mode & 0o7777
    except OSError:
        return 0o666 & ~_umask()


def _umask() -> int:
    # os.umask can only be read by setting it, which races with other threads; Linux reports
    # it in /proc. Elsewhere assume the common 022.
    try:
        for line in Path("/proc/self/status").read_text(encoding="ascii").splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    return 0o022
