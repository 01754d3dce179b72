"""A pseudo-terminal for tests: run a command in it, type keys, read the screen.

The child runs under pexpect in a real pseudo-terminal, and everything it writes is fed to
pyte, a VT100 emulator, so a test reads the screen a person would see (wide characters take
two cells, erased text is gone). The emulator answers the terminal queries the child sends
(cursor position reports), as a real terminal does.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pexpect
import pyte

from tests.conftest import REPO

KEYS = {
    "enter": "\r",
    "left": "\x1b[D",
    "right": "\x1b[C",
    "up": "\x1b[A",
    "down": "\x1b[B",
    "backspace": "\x7f",
    "ctrl-c": "\x03",
    "ctrl-x ctrl-e": "\x18\x05",
    "word-back": "\x1bb",  # Alt-B
    "buffer-end": "\x1b>",  # Alt->
}


class _Screen(pyte.Screen):
    """A pyte screen that sends its replies (cursor position reports) back to the child."""

    def __init__(self, cols: int, rows: int) -> None:
        super().__init__(cols, rows)
        self.replies: list[str] = []

    def write_process_input(self, data: str) -> None:
        self.replies.append(data)


class Terminal:
    """A running command in a pseudo-terminal, and its screen."""

    def __init__(self, proc: Any, rows: int, cols: int) -> None:
        self.proc = proc
        self.screen = _Screen(cols, rows)
        self.stream = pyte.ByteStream(self.screen)
        self.output = b""

    def pump(self, wait: float = 0.05) -> None:
        """Read whatever the child wrote so far onto the screen, and answer its queries."""
        while True:
            try:
                chunk = self.proc.read_nonblocking(65536, timeout=wait)
            except (pexpect.TIMEOUT, pexpect.EOF):
                break
            self.output += chunk
            self.stream.feed(chunk)
            wait = 0.05
        for reply in self.screen.replies:
            self.proc.send(reply)
        self.screen.replies.clear()

    def text(self) -> str:
        return "\n".join(line.rstrip() for line in self.screen.display)

    def wait_for(self, needle: str, timeout: float = 30, *, scrolled: bool = False) -> str:
        """Wait until ``needle`` is on the screen; return the screen.

        ``scrolled``: also accept it in text that has since scrolled off the screen.
        """
        deadline = time.monotonic() + timeout
        while True:
            self.pump()
            screen = self.text()
            if needle in screen or (scrolled and needle.encode() in self.output):
                return screen
            if time.monotonic() > deadline or not self.proc.isalive():
                break
        self.pump()
        if needle in self.text() or (scrolled and needle.encode() in self.output):
            return self.text()
        raise AssertionError(f"{needle!r} never appeared; the screen:\n{self.text()}")

    def type(self, *keys: str) -> None:
        """Type text or named keys (see KEYS), one after the other."""
        for key in keys:
            self.proc.send(KEYS.get(key, key))
            self.pump(0.1)

    def line_with(self, needle: str) -> str:
        """The screen line holding ``needle`` (an AssertionError names the screen if none)."""
        for line in self.text().splitlines():
            if needle in line:
                return line
        raise AssertionError(f"no line holds {needle!r}; the screen:\n{self.text()}")

    def exit_code(self, timeout: float = 30) -> int:
        """Wait for the child to exit, reading its last output; return its exit status."""
        deadline = time.monotonic() + timeout
        while self.proc.isalive() and time.monotonic() < deadline:
            self.pump()
        self.pump()
        self.proc.close()
        status = self.proc.exitstatus
        return status if status is not None else 128 + (self.proc.signalstatus or 0)


@contextmanager
def terminal(
    args: Sequence[str], home: Path, *, rows: int = 30, cols: int = 100, **env: str
) -> Iterator[Terminal]:
    """``python -m interviewer ARGS`` in a pseudo-terminal; always stopped and waited for."""
    environ = {
        **os.environ,
        "INTERVIEWER_HOME": str(home),
        "TERM": "xterm-256color",
        "LANG": "C.UTF-8",
        **env,
    }
    environ.pop("COLUMNS", None)
    proc = pexpect.spawn(
        sys.executable,
        ["-m", "interviewer", *args],
        cwd=str(REPO),
        env=environ,
        dimensions=(rows, cols),
        timeout=30,
    )
    try:
        yield Terminal(proc, rows, cols)
    finally:
        # close(force=True) kills the child if it still runs and waits for it.
        proc.close(force=True)
