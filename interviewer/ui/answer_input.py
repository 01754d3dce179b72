"""Answers typed, pasted or piped on stdin, read line by line.

A line holding only ``.`` ends an answer; end of input ends the answer and the session.
Commands typed on a line of their own: ``/skip``, ``/hint``, ``/quit``, ``/help``.
"""

from __future__ import annotations

import codecs
import io
import os
import select
import sys
import time
from collections.abc import Callable
from typing import Literal

from rich.markup import escape

from interviewer.session.runner import AnswerInput, AnswerReader, AnswerRequest
from interviewer.ui.console import console, err_console
from interviewer.ui.practice import END_MARK

# Earlier answers, recalled with Up at the terminal prompt; kept in the home directory.
HISTORY_NAME = "answer-history"
NEXT_KEYS = "[Enter] next · [r] reference answer · [q] quit"
NEXT_KEYS_AFTER_REFERENCE = "[Enter] next · [q] quit"


class _StdinLines:
    """Line reader on stdin that can wait with a deadline.

    ``select`` on the file descriptor tells whether input is ready, but Python's buffered
    ``sys.stdin`` may already hold lines the descriptor no longer shows, so with a deadline we
    read the descriptor ourselves and keep our own buffer. Without a deadline, or where stdin
    has no selectable descriptor (Windows, an in-memory stream under test), this is plain
    ``readline``.
    """

    def __init__(self) -> None:
        self._buffer = ""
        self._eof = False
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="surrogateescape")
        # Set when input was not valid UTF-8; the caller says so once.
        self.replaced = False

    def _fileno(self) -> int | None:
        try:
            fd = sys.stdin.fileno()
            select.select([fd], [], [], 0)
        except (AttributeError, ValueError, OSError):
            return None
        return fd

    def readline(self, deadline: float | None = None) -> str | None:
        """Return the next line ('' at end of input) or None when the deadline passed.

        A process reads either always with a deadline (mock) or never (practice): the two
        paths buffer separately, so mixing them could reorder input.
        """
        stdin = sys.stdin
        if isinstance(stdin, io.TextIOWrapper) and stdin.errors == "strict":
            # Undecodable input must reach _clean, not end the session with a traceback.
            stdin.reconfigure(errors="surrogateescape")
        fd = self._fileno() if deadline is not None else None
        if fd is None:
            if self._buffer:
                line, self._buffer = self._take()
                return self._clean(line)
            return self._clean(sys.stdin.readline())
        while "\n" not in self._buffer and not self._eof:
            assert deadline is not None
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            ready, _, _ = select.select([fd], [], [], remaining)
            if not ready:
                return None
            chunk = os.read(fd, 65536)
            if not chunk:
                self._eof = True
                self._buffer += self._decoder.decode(b"", final=True)
            else:
                self._buffer += self._decoder.decode(chunk)
        line, self._buffer = self._take()
        return self._clean(line)

    def _take(self) -> tuple[str, str]:
        head, sep, tail = self._buffer.partition("\n")
        return head + sep, tail

    def _clean(self, text: str) -> str:
        """Turn bytes that were not UTF-8 (surrogate escapes) into U+FFFD, and remember it.

        Such text cannot be stored or sent anywhere as UTF-8; the rest of the answer is kept.
        """
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            self.replaced = True
            return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
        return text


_stdin = _StdinLines()


def print_hint(hint: Callable[[int], str | None] | None, hints_used: int, penalty: float) -> int:
    """Show the next hint; return 1 when one was revealed, else 0.

    A revealed key point earns at most half credit in the final score (``penalty`` is no
    longer a flat cost; it is kept for callers that still pass it).
    """
    if hint is None:
        console.print("[muted]Hints are off in this mode.[/muted]")
        return 0
    revealed = hint(hints_used)
    if revealed is None:
        console.print("[muted]No more hints for this question.[/muted]")
        return 0
    console.print(f"[warn]Hint {hints_used + 1}:[/warn] ", end="")
    console.print(revealed, markup=False, end=" ")
    console.print("[muted](this key point now earns at most half credit)[/muted]")
    return 1


def print_help(editor: bool = False) -> None:
    edit = " · /edit or Ctrl-X Ctrl-E opens $EDITOR" if editor else ""
    console.print(
        f"[muted]'{END_MARK}' on its own line ends the answer · /hint · /skip · /quit{edit}"
        " · Ctrl-D ends the session[/muted]"
    )


def empty_answer_notice() -> None:
    err_console.print(
        "[warn]An empty answer can't be graded: type your answer, /skip or /quit.[/warn]"
    )


def read_answer(request: AnswerRequest) -> AnswerInput:
    """Read one multi-line answer; handle /hint, /skip, /quit, end of input and time-up.

    With a deadline (monotonic seconds), the lines typed so far are submitted when time
    runs out, as in a real interview.
    """
    prompt, hint, deadline = request.prompt, request.hint, request.deadline
    console.print(f"[muted]{prompt} (end with a line '{END_MARK}'):[/muted]")
    lines: list[str] = []
    hints_used = 0
    while True:
        replaced_before = _stdin.replaced
        try:
            raw = _stdin.readline(deadline)
        except KeyboardInterrupt:
            # Ctrl-C ends the session, but what was typed so far is handed back to be saved.
            return AnswerInput("quit", "\n".join(lines).strip(), hints_used, interrupted=True)
        if _stdin.replaced and not replaced_before:
            err_console.print(
                "[warn]Your input is not valid UTF-8: bytes that could not be read are kept"
                " as �. Set your terminal (or the file you pipe in) to UTF-8.[/warn]"
            )
        if raw is None:
            text = "\n".join(lines).strip()
            console.print("[warn]Time is up for this question.[/warn]")
            return AnswerInput("answer" if text else "skip", text, hints_used, timed_out=True)
        if raw == "":
            return AnswerInput(
                action="answer" if any(s.strip() for s in lines) else "quit",
                text="\n".join(lines).strip(),
                hints_used=hints_used,
                eof=True,
            )
        line = raw.rstrip("\r\n")
        command = line.strip().lower()
        if command == END_MARK:
            if any(s.strip() for s in lines):
                return AnswerInput("answer", "\n".join(lines).strip(), hints_used)
            empty_answer_notice()
            continue
        if command in ("/skip", "/quit"):
            action: Literal["skip", "quit"] = "skip" if command == "/skip" else "quit"
            return AnswerInput(action, "\n".join(lines).strip(), hints_used)
        if command == "/hint":
            hints_used += print_hint(hint, hints_used, request.hint_penalty)
            continue
        if command == "/help":
            print_help()
            continue
        lines.append(line)


class LineAnswerReader:
    """The `AnswerReader` of a terminal or a pipe: plain lines on stdin."""

    def read(self, request: AnswerRequest) -> AnswerInput:
        return read_answer(request)

    def interactive(self) -> bool:
        return sys.stdin.isatty()

    def choose_next(self, reference: bool = True) -> str:
        """After a grade in a terminal: Enter for next, r for the reference, q to quit."""
        keys = NEXT_KEYS if reference else NEXT_KEYS_AFTER_REFERENCE
        console.print(f"[muted]{escape(keys)}[/muted] ", end="")
        return (_stdin.readline() or "").strip().lower()

    def close(self) -> None:
        pass


def answer_reader() -> AnswerReader:
    """The editor-grade prompt in a terminal; plain line reading on a pipe, as scripts expect."""
    if sys.stdin.isatty() and sys.stdout.isatty():
        from interviewer.paths import home_dir
        from interviewer.ui.answer_prompt import PromptAnswerReader

        return PromptAnswerReader(home_dir() / HISTORY_NAME)
    return LineAnswerReader()
