"""Writing a file so that a reader never sees half of it.

Every file the tool replaces (config, bank imports, the bank index cache, endpoint state,
exports and reports) goes through ``write_atomic``: the data is written to a temporary file
in the same directory and renamed over the target, so a crash or a full disk leaves either
the old file or the new one. The temporary name is unique per process and thread, so two
writers never clobber each other's half-written file; the last rename wins.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path


def write_atomic(path: Path, data: str | bytes, *, mode: int | None = None) -> None:
    """Replace ``path`` with ``data`` (text is written as UTF-8) in one rename.

    ``mode`` sets the permission bits of the new file (e.g. 0o600 for a file that must not
    be world-readable). Raises ``OSError`` as the file system reports it; the caller turns
    it into a message that names the file.
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
        if mode is not None:
            tmp.chmod(mode)
        tmp.replace(path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
        raise
