"""The answer prompt of a terminal, driven through a pseudo-terminal as a person would.

Each test types keys into `interviewer practice` or `interviewer mock` running in a real
pseudo-terminal (tests/terminal.py), then checks the screen and what reached the history
database: the stored answer is the proof that the editing really happened.
"""

from __future__ import annotations

import json
import sqlite3
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.terminal import terminal

pytestmark = pytest.mark.slow
PRACTICE = ["practice", "--grader", "offline", "--bank", "llm-en", "--follow-ups", "0"]


def rows(home: Path, sql: str) -> list[tuple[Any, ...]]:
    conn = sqlite3.connect(home / "history.db")
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def test_arrow_keys_and_word_jumps_edit_mid_line(tmp_path):
    with terminal([*PRACTICE, "-n", "1"], tmp_path) as term:
        term.wait_for("Your answer")
        term.type("random split", "left", "left", "left", "left", "left", "user ")
        term.type("buffer-end", "enter", "users at random", "word-back", "word-back", "assigned ")
        term.wait_for("users assigned at random")
        term.type("buffer-end", "enter", ".", "enter")
        term.wait_for("Session summary")
        assert term.exit_code() == 0
    answers = rows(tmp_path, "SELECT answer FROM attempts")
    assert answers == [("random user split\nusers assigned at random",)]


def test_hint_brings_the_prompt_back_on_a_fresh_line(tmp_path):
    with terminal([*PRACTICE, "-n", "1"], tmp_path) as term:
        term.wait_for("Your answer")
        term.type("users split at random", "enter", "/hint", "enter")
        term.wait_for("Hint 1:")
        term.type(".", "enter")
        term.wait_for("Session summary")
        assert term.exit_code() == 0
    assert rows(tmp_path, "SELECT answer, hints_used FROM attempts") == [
        ("users split at random", 1)
    ]


def test_up_recalls_an_earlier_answer_from_the_saved_history(tmp_path):
    with terminal([*PRACTICE, "-n", "2", "--in-order"], tmp_path) as term:
        term.wait_for("Your answer")
        term.type("A/B tests split users at random", "enter", ".", "enter")
        term.wait_for("[Enter] next · [r] reference answer · [q] quit")
        term.type("enter")
        term.wait_for("Question 2/2")
        term.type("up")
        term.wait_for("> A/B tests split users at random")
        term.type(" again", "enter", ".", "enter")
        term.wait_for("Session summary")
        assert term.exit_code() == 0
    answers = [a for (a,) in rows(tmp_path, "SELECT answer FROM attempts ORDER BY id")]
    assert answers == ["A/B tests split users at random", "A/B tests split users at random again"]
    assert "A/B tests split users at random" in (tmp_path / "answer-history").read_text("utf-8")


def test_backspace_over_wide_characters_leaves_no_ghost_cells(tmp_path):
    with terminal([*PRACTICE, "-n", "1"], tmp_path) as term:
        term.wait_for("Your answer")
        term.type("注意力机制很重要", "backspace", "backspace", "backspace")
        term.wait_for("> 注意力机制")
        # Nothing is left of the three erased characters, not even half a cell.
        assert term.line_with("> 注意力机制").rstrip() == "> 注意力机制"
        term.type("enter", ".", "enter")
        term.wait_for("Session summary")
        assert term.exit_code() == 0
    assert rows(tmp_path, "SELECT answer FROM attempts") == [("注意力机制",)]


def test_a_bracketed_paste_arrives_whole_even_with_a_dot_line(tmp_path):
    with terminal([*PRACTICE, "-n", "1"], tmp_path) as term:
        term.wait_for("Your answer")
        term.type("\x1b[200~pasted line one\r\n.\r\npasted 第三行\x1b[201~")
        term.wait_for("pasted 第三行")
        assert "Session summary" not in term.text()  # the pasted '.' did not end it
        term.type("enter", ".", "enter")
        term.wait_for("Session summary")
        assert term.exit_code() == 0
    assert rows(tmp_path, "SELECT answer FROM attempts") == [("pasted line one\n.\npasted 第三行",)]


def test_ctrl_c_mid_line_saves_every_line_typed_ungraded(tmp_path):
    with terminal([*PRACTICE, "-n", "2"], tmp_path) as term:
        term.wait_for("Your answer")
        term.type("Users are split at random", "enter", "and the unfinished line")
        term.wait_for("and the unfinished line")
        term.type("ctrl-c")
        term.wait_for("Interrupted.")
        assert term.exit_code() == 130
        assert b"Traceback" not in term.output
    answers = rows(tmp_path, "SELECT answer FROM attempts")
    assert answers == [("Users are split at random\nand the unfinished line",)]
    assert rows(tmp_path, "SELECT COUNT(*) FROM grades") == [(0,)]


def test_mock_clock_ticks_and_time_up_submits_the_whole_buffer(tmp_path):
    args = ["mock", "--grader", "offline", "--bank", "llm-en", "-n", "1", "--follow-ups", "0"]
    with terminal([*args, "--minutes", "0.15"], tmp_path) as term:
        screen = term.wait_for("left: wrap up")
        assert "/hint" not in screen  # hints are off in a mock interview
        first = term.line_with("⏱").strip()
        term.type("alpha", "enter", "beta gamma")
        # The toolbar counts down by itself, with no key pressed.
        term.wait_for("beta gamma")
        seen = {first}
        while len(seen) < 3 and "Time is up" not in term.text():
            term.pump(0.2)
            if "⏱" in term.text() and "wrap up" in term.text():
                seen.add(term.line_with("wrap up").strip())
        assert len(seen) >= 2, seen
        term.wait_for("Time is up for this question", scrolled=True)
        term.wait_for("Mock interview report")
        assert term.exit_code() == 0
    assert rows(tmp_path, "SELECT answer FROM attempts") == [("alpha\nbeta gamma",)]
    assert rows(tmp_path, "SELECT COUNT(*) FROM grades") == [(1,)]
    (report,) = rows(tmp_path, "SELECT report_json FROM sessions")
    assert json.loads(report[0])["timed_out"] == 1


def test_edit_opens_the_editor_with_the_text_so_far(tmp_path):
    editor = tmp_path / "editor.py"
    editor.write_text(
        "import sys\n"
        "path = sys.argv[1]\n"
        "text = open(path, encoding='utf-8').read()\n"
        "open(path, 'w', encoding='utf-8').write(text.upper() + '\\nmore from the editor\\n')\n",
        encoding="utf-8",
    )
    with terminal([*PRACTICE, "-n", "1"], tmp_path, EDITOR=f"{sys.executable} {editor}") as term:
        term.wait_for("Your answer")
        term.type("draft", "enter", "/edit", "enter")
        term.wait_for("more from the editor")
        # Back in the prompt on a fresh line: '.' submits the edited text as it is.
        term.type(".", "enter")
        term.wait_for("Session summary")
        assert term.exit_code() == 0
    assert rows(tmp_path, "SELECT answer FROM attempts") == [("DRAFT\nmore from the editor",)]


def test_first_interactive_session_asks_the_language_once_and_keeps_it(tmp_path):
    with terminal(["practice", "--grader", "offline", "-n", "1"], tmp_path) as term:
        term.wait_for("Which language")
        term.type("zh", "enter")
        term.wait_for("Question 1/1")
        screen = term.wait_for("Your answer")
        assert "llm-en" not in screen
        term.type("/quit", "enter")
        assert term.exit_code() == 0
    assert 'language = "zh"' in (tmp_path / "config.toml").read_text("utf-8")
    with terminal(["practice", "--grader", "offline", "-n", "1"], tmp_path) as term:
        screen = term.wait_for("Your answer")
        assert "Which language" not in screen
        assert "from llm-" in screen
        assert "zh" in term.line_with("from llm-")
        term.type("/quit", "enter")
        assert term.exit_code() == 0


def test_r_shows_the_reference_and_waits_for_one_key(tmp_path):
    with terminal([*PRACTICE, "-n", "2", "--in-order"], tmp_path) as term:
        term.wait_for("Your answer")
        term.type("Users are split at random", "enter", ".", "enter")
        term.wait_for("[Enter] next · [r] reference answer · [q] quit")
        term.type("r")
        screen = term.wait_for("[Enter] next · [q] quit")
        assert b"Reference answer" in term.output
        assert "Question 2/2" not in screen  # the reference stays until a key is pressed
        term.type("q")
        term.wait_for("Session summary")
        assert term.exit_code() == 0
    assert rows(tmp_path, "SELECT COUNT(*) FROM attempts") == [(1,)]


def test_time_up_while_the_editor_is_open_waits_for_its_text(tmp_path):
    editor = tmp_path / "slow_editor.py"
    # Still editing when the question's time (6 s) runs out.
    editor.write_text(
        "import sys, time\n"
        "time.sleep(8)\n"
        "open(sys.argv[1], 'a', encoding='utf-8').write('written in the editor\\n')\n",
        encoding="utf-8",
    )
    args = ["mock", "--grader", "offline", "--bank", "llm-en", "-n", "1", "--follow-ups", "0"]
    slow = f"{sys.executable} {editor}"
    with terminal([*args, "--minutes", "0.1"], tmp_path, EDITOR=slow) as term:
        term.wait_for("Your answer")
        term.type("typed first", "enter", "/edit", "enter")
        term.wait_for("Mock interview report", timeout=60)
        assert term.exit_code() == 0
    (answer,) = rows(tmp_path, "SELECT answer FROM attempts")
    assert answer[0].startswith("typed first")
    assert answer[0].endswith("written in the editor")
