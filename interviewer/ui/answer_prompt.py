"""The answer prompt of a terminal: a multi-line editor on prompt_toolkit.

Used only when stdin and stdout are both a terminal (piped input keeps the plain line reader
of `interviewer.ui.answer_input`), and imported only then: prompt_toolkit costs start-up time
that `--help` and `bank list` must not pay.

The whole answer is one buffer: arrows, word jumps (Alt/Ctrl with arrows, Alt-B/F), Home/End,
history of earlier answers (Up on the first line), bracketed paste and wide characters all
come from prompt_toolkit. Enter on a line of its own holding ``.`` ends the answer, and the
``/hint``, ``/skip``, ``/quit``, ``/help`` and ``/edit`` lines work as they do on a pipe.
``/edit`` or Ctrl-X Ctrl-E opens ``$EDITOR`` with the text so far.

Nothing typed is lost: Ctrl-C, end of input and the mock clock hand back the buffer's whole
text, the line not yet ended included, and what was typed while the session was busy
grading is dropped at exit instead of reaching the shell.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import time
from pathlib import Path
from typing import Any, Literal

from prompt_toolkit import PromptSession
from prompt_toolkit.application import Application, get_app
from prompt_toolkit.buffer import Buffer
from prompt_toolkit.document import Document
from prompt_toolkit.formatted_text import FormattedText
from prompt_toolkit.history import FileHistory, History, InMemoryHistory
from prompt_toolkit.key_binding import KeyBindings, KeyPressEvent
from prompt_toolkit.keys import Keys
from prompt_toolkit.layout import Layout, Window
from prompt_toolkit.layout.controls import FormattedTextControl
from prompt_toolkit.styles import Style

from interviewer.session.runner import AnswerInput, AnswerRequest
from interviewer.ui.answer_input import (
    NEXT_KEYS,
    NEXT_KEYS_AFTER_REFERENCE,
    empty_answer_notice,
    print_help,
    print_hint,
)
from interviewer.ui.console import console
from interviewer.ui.practice import END_MARK

# Lines that end the prompt; every other line is part of the answer.
COMMANDS = {END_MARK: "answer", "/skip": "skip", "/quit": "quit", "/hint": "hint", "/help": "help"}
WARN_AT_S = 60.0
STYLE = Style.from_dict(
    {
        "bottom-toolbar": "noreverse bg:#303030 #d0d0d0",
        "toolbar.warn": "noreverse bg:ansired ansiwhite bold",
        "continuation": "#808080",
    }
)
PRACTICE_KEYS = (
    " '.' alone ends · /hint /skip /quit · /edit or Ctrl-X Ctrl-E: $EDITOR · ↑ earlier answers "
)


def _mmss(seconds: float) -> str:
    whole = max(0, int(seconds + 0.999))  # 0:01 is shown until the very end
    return f"{whole // 60}:{whole % 60:02d}"


def _exit(app: Application[Any], action: str, text: str) -> None:
    if not app.is_done:
        app.exit(result=(action, text))


def _without_line(text: str, row: int) -> str:
    lines = text.split("\n")
    del lines[row]
    return "\n".join(lines)


def _on_new_line(text: str) -> str:
    """``text`` with the cursor's line left empty after it, ready for the next line or '.'."""
    body = text.rstrip("\n")
    return body + "\n" if body.strip() else ""


def _edit(buffer: Buffer) -> None:
    """Open $EDITOR on the buffer; back in the prompt, not straight to grading.

    The text comes back with an empty line after it, so '.' submits it as it is.
    """
    task = buffer.open_in_editor(validate_and_handle=False)
    _editors.append(task)

    def done(_: object) -> None:
        _editors.remove(task)
        buffer.document = Document(_on_new_line(buffer.text))
        get_app().invalidate()

    task.add_done_callback(done)


# Editors open now; the mock clock lets one close before it submits, so its text counts.
_editors: list[asyncio.Task[None]] = []


def _bindings() -> KeyBindings:
    kb = KeyBindings()

    @kb.add("enter")
    def _enter(event: KeyPressEvent) -> None:
        """A command or '.' alone on the cursor's line acts; any other Enter is a new line."""
        buffer = event.current_buffer
        doc = buffer.document
        line = doc.current_line.strip().lower()
        if line == "/edit":
            buffer.text = _without_line(doc.text, doc.cursor_position_row)
            buffer.cursor_position = len(buffer.text)
            _edit(buffer)
            return
        action = COMMANDS.get(line)
        if action is None:
            buffer.insert_text("\n")
            return
        _exit(event.app, action, _without_line(doc.text, doc.cursor_position_row))

    @kb.add("c-x", "c-e")
    def _editor(event: KeyPressEvent) -> None:
        _edit(event.current_buffer)

    @kb.add("c-c")
    def _interrupt(event: KeyPressEvent) -> None:
        _exit(event.app, "interrupt", event.current_buffer.text)

    @kb.add("c-d", filter=_empty_buffer())
    def _eof(event: KeyPressEvent) -> None:
        _exit(event.app, "eof", "")

    return kb


def _empty_buffer() -> Any:
    from prompt_toolkit.filters import Condition

    @Condition
    def empty() -> bool:
        return not get_app().current_buffer.text

    return empty


class PromptAnswerReader:
    """The `AnswerReader` of a terminal: prompt_toolkit's editor, one buffer per answer."""

    def __init__(self, history_path: Path | None = None) -> None:
        history: History = InMemoryHistory()
        if history_path is not None:
            with contextlib.suppress(OSError):
                history_path.parent.mkdir(parents=True, exist_ok=True)
                history = FileHistory(str(history_path))
        self._session: PromptSession[tuple[str, str]] = PromptSession(
            multiline=True,
            key_bindings=_bindings(),
            history=history,
            style=STYLE,
            prompt_continuation=lambda width, line, wrap: [("class:continuation", "… ")],
            tempfile_suffix=".md",
            enable_history_search=False,
        )
        self._deadline: float | None = None
        self._interview_end: float | None = None

    def interactive(self) -> bool:
        return True

    def read(self, request: AnswerRequest) -> AnswerInput:
        """One answer; '.' alone ends it, the clock and Ctrl-C hand back all that was typed."""
        console.print(f"[muted]{request.prompt} (end with a line '{END_MARK}'):[/muted]")
        text = ""
        hints_used = 0
        while True:
            action, text = self._prompt(text, request)
            answer = text.strip()
            if action == "interrupt":
                self._remember(answer)
                return AnswerInput("quit", answer, hints_used, interrupted=True)
            if action == "timeout":
                self._remember(answer)
                console.print("[warn]Time is up for this question: submitting your answer.[/warn]")
                return AnswerInput(
                    "answer" if answer else "skip", answer, hints_used, timed_out=True
                )
            if action == "eof":
                return AnswerInput("answer" if answer else "quit", answer, hints_used, eof=True)
            if action in ("hint", "help") or (action == "answer" and not answer):
                # The prompt comes back with the text so far, on a fresh line.
                text = _on_new_line(text)
            if action == "hint":
                hints_used += print_hint(request.hint, hints_used, request.hint_penalty)
                continue
            if action == "help":
                print_help(editor=True)
                continue
            if action == "answer" and not answer:
                empty_answer_notice()
                continue
            self._remember(answer)
            kind: Literal["answer", "skip", "quit"] = (
                "skip" if action == "skip" else "quit" if action == "quit" else "answer"
            )
            return AnswerInput(kind, answer, hints_used)

    def _prompt(self, text: str, request: AnswerRequest) -> tuple[str, str]:
        session = self._session
        deadline = request.deadline

        def start_clock() -> None:
            if deadline is not None:
                session.app.create_background_task(self._expire(session.app, deadline))

        self._deadline = deadline
        self._interview_end = request.interview_end
        try:
            return session.prompt(
                "> ",
                default=text,
                bottom_toolbar=self._toolbar,
                refresh_interval=0.5 if deadline is not None else None,
                pre_run=start_clock,
            )
        except EOFError:
            return ("eof", "")
        except KeyboardInterrupt:
            return ("interrupt", text)

    async def _expire(self, app: Application[Any], deadline: float) -> None:
        await asyncio.sleep(max(0.0, deadline - time.monotonic()))
        while _editors:
            await asyncio.sleep(0.2)
        _exit(app, "timeout", app.current_buffer.text)

    def _toolbar(self) -> FormattedText:
        if self._deadline is None:
            return FormattedText([("class:bottom-toolbar", PRACTICE_KEYS)])
        left = self._deadline - time.monotonic()
        if left <= WARN_AT_S:
            return FormattedText(
                [
                    (
                        "class:toolbar.warn",
                        f" ⏱ {_mmss(left)} left: wrap up, your answer is submitted at 0:00 ",
                    )
                ]
            )
        whole = ""
        if self._interview_end is not None:
            whole = f" · {_mmss(self._interview_end - time.monotonic())} in the interview"
        return FormattedText(
            [("class:bottom-toolbar", f" ⏱ {_mmss(left)} left for this question{whole} ")]
        )

    def _remember(self, answer: str) -> None:
        if answer:
            with contextlib.suppress(OSError):
                self._session.history.append_string(answer)

    def choose_next(self, reference: bool = True) -> str:
        """One key after a grade: Enter for the next question, r for the reference, q to quit."""
        keys = NEXT_KEYS if reference else NEXT_KEYS_AFTER_REFERENCE
        key = read_key(keys + " ")
        return "" if key in ("\r", "\n", " ") else key.lower()

    def close(self) -> None:
        """Drop keys typed while the session was busy, so that the shell never runs them."""
        drop_typeahead()


def read_key(message: str) -> str:
    """Wait for one key press and return what it typed ('' for keys that type nothing)."""
    kb = KeyBindings()

    @kb.add(Keys.Any)
    def _any(event: KeyPressEvent) -> None:
        event.app.exit(result=event.key_sequence[0].data)

    @kb.add("c-c")
    def _interrupt(event: KeyPressEvent) -> None:
        event.app.exit(exception=KeyboardInterrupt())

    @kb.add("enter")
    def _enter(event: KeyPressEvent) -> None:
        event.app.exit(result="\r")

    control = FormattedTextControl(FormattedText([("#808080", message)]), show_cursor=True)
    app: Application[str] = Application(
        layout=Layout(Window(control, height=1)), key_bindings=kb, full_screen=False
    )
    try:
        return app.run()
    except EOFError:
        return "q"


def drop_typeahead() -> None:
    """Discard terminal input not read yet (POSIX only; elsewhere nothing to do)."""
    try:
        import termios

        termios.tcflush(sys.stdin.fileno(), termios.TCIFLUSH)
    except (ImportError, OSError, ValueError):
        pass
