"""Bank files that try to hurt: pipes read twice, YAML alias bombs, oversized files."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from interviewer import paths
from interviewer.bank.library import load_bank_file
from interviewer.cli import app
from interviewer.errors import BankError

BANK = """bank:
  id: piped
  title: Piped bank
  language: en
questions:
  - id: piped-1
    question: What?
    reference: This.
"""

LAUGHS = "\n".join(
    ["a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    + [f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join([f'*{chr(97 + i)}'] * 9)}]" for i in range(8)]
    + ["bank: {id: b, title: T, language: en}", "questions: [{id: q, question: *i, reference: x}]"]
)


def test_import_from_a_pipe_installs_what_was_validated(isolated_home):
    # A pipe (as `bank import <(cat x.yaml)` or /dev/stdin gives) can be read only once.
    read_end, write_end = os.pipe()
    try:
        os.write(write_end, BANK.encode())
        os.close(write_end)
        result = CliRunner().invoke(app, ["bank", "import", f"/dev/fd/{read_end}"])
    finally:
        os.close(read_end)
    assert result.exit_code == 0, result.output
    assert (isolated_home / "banks" / "piped.yaml").read_text(encoding="utf-8") == BANK
    listed = CliRunner().invoke(app, ["bank", "list", "--bank", "piped"])
    assert listed.exit_code == 0, listed.output
    assert "piped-1" in listed.output


def test_anchors_and_aliases_are_refused_with_their_line(tmp_path):
    path = tmp_path / "alias.yaml"
    path.write_text(
        BANK + "  - &q2\n    id: piped-2\n    question: Why?\n    reference: That.\n"
        "  - {<<: *q2, id: piped-3}\n",
        encoding="utf-8",
    )
    with pytest.raises(BankError) as err:
        load_bank_file(path)
    message = str(err.value)
    assert f"{path}:9:" in message
    assert "aliases" in message
    assert "write the value out in full" in message


def test_recursive_alias_is_refused(tmp_path):
    path = tmp_path / "loop.yaml"
    path.write_text("bank: &b {id: x, title: T, language: en, loop: *b}\nquestions: []\n")
    with pytest.raises(BankError, match="aliases"):
        load_bank_file(path)


@pytest.mark.slow
def test_alias_bomb_is_refused_at_once(tmp_path):
    # Under 1 KB of text that expands to 9**9 strings. The limit on the child is only there so
    # that a regression fails instead of hanging the suite.
    path = tmp_path / "laughs.yaml"
    path.write_text(LAUGHS, encoding="utf-8")
    assert path.stat().st_size < 1024
    env = {**os.environ, "INTERVIEWER_HOME": str(tmp_path / "home")}
    for command in (["bank", "validate", str(path)], ["bank", "list", "--bank-dir", str(path)]):
        done = subprocess.run(
            [sys.executable, "-m", "interviewer", *command],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
            check=False,
        )
        assert done.returncode == 1
        assert "aliases" in done.stdout + done.stderr


def test_oversized_bank_names_file_limit_and_fix(tmp_path, monkeypatch):
    monkeypatch.setattr(paths, "MAX_BANK_BYTES", 1000)
    path = tmp_path / "big.yaml"
    path.write_text(BANK + "# padding\n" * 100, encoding="utf-8")
    with pytest.raises(BankError) as err:
        load_bank_file(path)
    message = str(err.value)
    assert str(path) in message
    assert "1000 bytes" in message
    assert "split it" in message


def test_oversized_pipe_is_refused_without_reading_it_all(tmp_path, monkeypatch):
    monkeypatch.setattr(paths, "MAX_BANK_BYTES", 1000)
    read_end, write_end = os.pipe()
    try:
        os.write(write_end, b"x" * 4000)
        os.close(write_end)
        with pytest.raises(BankError, match="larger than"):
            load_bank_file(Path(f"/dev/fd/{read_end}"))
    finally:
        os.close(read_end)


def test_deep_nesting_is_a_bank_error(tmp_path):
    path = tmp_path / "deep.yaml"
    path.write_text("bank: " + "[" * 5000 + "]" * 5000 + "\nquestions: []\n", encoding="utf-8")
    with pytest.raises(BankError, match=str(path)):
        load_bank_file(path)


def test_index_does_not_serve_a_cached_bank_over_the_limit(tmp_path, monkeypatch):
    from interviewer.bank.index import load_index

    path = tmp_path / "piped.yaml"
    path.write_text(BANK, encoding="utf-8")
    cache = tmp_path / "index.json"
    assert [b.id for b in load_index([path], cache).banks] == ["piped"]
    # An index written before the limit (or with a higher one) must not outlive it.
    monkeypatch.setattr(paths, "MAX_BANK_BYTES", 100)
    with pytest.raises(BankError, match="larger than 100 bytes"):
        load_index([path], cache)


def test_an_article_from_a_pipe_is_still_converted(isolated_home):
    article = Path(__file__).parent / "data" / "articles" / "python-interview-en.md"
    read_end, write_end = os.pipe()
    try:
        os.write(write_end, article.read_bytes())
        os.close(write_end)
        args = ["bank", "import", f"/dev/fd/{read_end}", "--bank-id", "piped-article"]
        result = CliRunner().invoke(app, args)
    finally:
        os.close(read_end)
    assert result.exit_code == 0, result.output
    installed = isolated_home / "banks" / "piped-article.yaml"
    assert load_bank_file(installed).questions
