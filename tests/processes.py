"""Child processes for tests: each one is killed if it is still running, and always waited for.

A `subprocess.Popen` that is garbage collected while its process runs emits a
ResourceWarning. The suite runs with warnings as errors, so such a leftover fails whichever
test happens to be running when the collector gets to it, usually an unrelated one and only
on a busy machine. Start every long-lived child with `child()` instead of `Popen`.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from typing import Any


def stop(proc: subprocess.Popen[Any], timeout: float = 30) -> None:
    """Kill the process if it is still running, then wait for it to exit."""
    if proc.poll() is None:
        proc.kill()
    proc.wait(timeout=timeout)


@contextmanager
def child(args: Sequence[str], **kwargs: Any) -> Iterator[subprocess.Popen[Any]]:
    """`subprocess.Popen(args, **kwargs)` that is stopped and reaped however the test ends."""
    proc: subprocess.Popen[Any] = subprocess.Popen(args, **kwargs)
    try:
        yield proc
    finally:
        stop(proc)
        # Close the pipes the test left open. The process is gone, so a write still buffered
        # for its stdin can only fail with a broken pipe, which says nothing about the test.
        with suppress(BrokenPipeError), proc:
            pass
