"""The bank index behind `bank list`: cache hits and misses, re-validation, filter parity."""

from __future__ import annotations

import io
import json
import os
import shutil
from pathlib import Path

import pytest
from rich.cells import cell_len
from rich.console import Console
from typer.testing import CliRunner

from interviewer.bank import index as bank_index
from interviewer.bank.index import bank_paths, cache_path, load_index
from interviewer.bank.library import Selection, filter_questions, load_library
from interviewer.cli import app
from interviewer.config import bank_paths as config_bank_paths
from interviewer.config import builtin_bank_dir, config_path, home_dir, load_config
from interviewer.errors import BankError
from interviewer.ui.bank import Row, banks_line, plain_rows, print_rows, terminal_width, wants_plain
from interviewer.ui.console import THEME

DATA = Path(__file__).parent / "data" / "bank"

BANK = """bank:
  id: mine
  title: Mine
  language: en
questions:
  - id: mine-1
    question: |
      What is a closure?
      Explain with an example.
    reference: A function with captured variables.
    topic: Python
    difficulty: easy
    tags: [Functions, scope]
  - id: mine-2
    question: What is the GIL?
    reference: A global interpreter lock.
    topic: runtime
    difficulty: hard
"""


@pytest.fixture
def user_bank(tmp_path: Path) -> Path:
    folder = tmp_path / "banks"
    folder.mkdir()
    (folder / "mine.yaml").write_text(BANK, encoding="utf-8")
    return folder


def count_loads(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Record every file the index validates with the full loader."""
    import interviewer.bank.library

    loaded: list[Path] = []
    real = interviewer.bank.library.load_bank_file

    def spy(path: Path) -> interviewer.bank.library.Bank:
        loaded.append(path)
        return real(path)

    monkeypatch.setattr(interviewer.bank.library, "load_bank_file", spy)
    return loaded


def test_first_load_validates_and_writes_cache_then_hits(user_bank, monkeypatch):
    loaded = count_loads(monkeypatch)
    first = load_index([user_bank])
    assert loaded == [user_bank / "mine.yaml"]
    assert cache_path().is_file()
    assert cache_path() == home_dir() / "cache" / "bank-index.json"

    second = load_index([user_bank])
    assert loaded == [user_bank / "mine.yaml"], "an unchanged file must not be loaded again"
    assert second == first
    assert [q.id for q in second.questions] == ["mine-1", "mine-2"]
    row = second.questions[0]
    assert (row.bank, row.topic, row.difficulty) == ("mine", "Python", "easy")
    assert row.tags == ("Functions", "scope")
    assert row.first_line == "What is a closure?"
    assert [(b.id, b.title, b.question_count) for b in second.banks] == [("mine", "Mine", 2)]


def test_edited_file_is_validated_again(user_bank, monkeypatch):
    load_index([user_bank])
    loaded = count_loads(monkeypatch)
    path = user_bank / "mine.yaml"
    path.write_text(BANK.replace("What is the GIL?", "What is the GIL, really?"), "utf-8")
    index = load_index([user_bank])
    assert loaded == [path]
    assert index.questions[1].first_line == "What is the GIL, really?"


def test_broken_file_raises_even_when_cached_before(user_bank):
    load_index([user_bank])
    path = user_bank / "mine.yaml"
    path.write_text(BANK.replace("    reference: A global interpreter lock.\n", ""), "utf-8")
    with pytest.raises(BankError) as from_index:
        load_index([user_bank])
    with pytest.raises(BankError) as from_library:
        load_library([user_bank])
    assert str(from_index.value) == str(from_library.value)
    assert str(path) in str(from_index.value)
    assert "question 'mine-2'" in str(from_index.value)


def test_same_stamp_but_other_version_is_a_miss(user_bank, monkeypatch):
    load_index([user_bank])
    loaded = count_loads(monkeypatch)
    monkeypatch.setattr(bank_index, "__version__", "999.0")
    load_index([user_bank])
    assert loaded == [user_bank / "mine.yaml"]


def test_corrupt_or_unwritable_cache_is_only_a_miss(user_bank, tmp_path):
    cache_path().parent.mkdir(parents=True)
    cache_path().write_text("{not json", encoding="utf-8")
    assert [q.id for q in load_index([user_bank]).questions] == ["mine-1", "mine-2"]
    assert json.loads(cache_path().read_text(encoding="utf-8"))["files"]

    blocked = tmp_path / "file-not-dir"
    blocked.write_text("", encoding="utf-8")
    index = load_index([user_bank], cache_file=blocked / "cache" / "bank-index.json")
    assert [q.id for q in index.questions] == ["mine-1", "mine-2"]


def test_duplicate_ids_across_banks_fail_like_a_full_load(user_bank, tmp_path):
    other = tmp_path / "other"
    other.mkdir()
    shutil.copy(user_bank / "mine.yaml", other / "copy.yaml")
    paths = [user_bank, other]
    load_index([user_bank])  # the first file comes from the cache, the second does not
    with pytest.raises(BankError) as from_index:
        load_index(paths)
    with pytest.raises(BankError) as from_library:
        load_library(paths)
    assert str(from_index.value) == str(from_library.value)


SELECTIONS = [
    Selection(),
    Selection(bank="llm-en"),
    Selection(bank="LLM-ZH"),
    Selection(topic="training"),
    Selection(topic="TRAINING", difficulty="Hard"),
    Selection(difficulty="easy"),
    Selection(difficulty="nonsense"),
    Selection(tag="rlhf"),
    Selection(bank="llm-handbook-zh", tag="RLHF", difficulty="medium"),
    Selection(bank="nope"),
]


@pytest.mark.parametrize("sel", SELECTIONS, ids=repr)
def test_filters_match_filter_questions_on_bundled_banks(sel):
    paths = [builtin_bank_dir()]
    library = load_library(paths)
    for _ in range(2):  # a miss, then a hit
        index = load_index(paths)
        rows = index.filter(bank=sel.bank, topic=sel.topic, difficulty=sel.difficulty, tag=sel.tag)
        expected = filter_questions(library.questions, sel)
        assert [r.id for r in rows] == [q.id for q in expected]
        assert [r.first_line for r in rows] == [q.question.splitlines()[0] for q in expected]
    assert [(b.id, b.question_count) for b in index.banks] == [
        (b.info.id, len(b.questions)) for b in library.banks
    ]


def test_some_filter_selects_a_proper_subset():
    index = load_index([builtin_bank_dir()])
    tags = {t for q in index.questions for t in q.tags}
    assert tags, "the bundled banks should carry tags"
    tag = sorted(tags)[0]
    assert 0 < len(index.filter(tag=tag)) < len(index.questions)


def test_unknown_bank_error_matches_library():
    paths = [builtin_bank_dir()]
    with pytest.raises(BankError) as from_index:
        load_index(paths).bank("nope")
    with pytest.raises(BankError) as from_library:
        load_library(paths).bank("nope")
    assert str(from_index.value) == str(from_library.value)
    assert "Unknown bank 'nope'" in str(from_index.value)


def test_missing_bank_path_is_an_error_naming_it(tmp_path):
    missing = tmp_path / "missing"
    with pytest.raises(BankError, match="missing: no such file or directory"):
        load_index([missing], cache_file=tmp_path / "index.json")


def test_bank_paths_match_config(user_bank, monkeypatch, tmp_path):
    extra = [DATA]
    assert bank_paths(extra) == config_bank_paths(load_config(), extra)
    monkeypatch.setenv("INTERVIEWER_BANK_DIRS", os.pathsep.join([str(user_bank), str(DATA)]))
    assert bank_paths(extra) == config_bank_paths(load_config(), extra)
    config_path().parent.mkdir(parents=True, exist_ok=True)
    config_path().write_text(f'bank_dirs = ["{tmp_path}"]\n', encoding="utf-8")
    assert bank_paths(extra) == config_bank_paths(load_config(), extra)
    assert tmp_path in bank_paths(extra)


def test_cache_lives_in_the_xdg_data_home_without_override(monkeypatch, tmp_path):
    monkeypatch.delenv("INTERVIEWER_HOME")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert cache_path() == tmp_path / "xdg" / "interviewer" / "cache" / "bank-index.json"


def test_cli_list_uses_filters_and_reports_unknown_bank(user_bank):
    runner = CliRunner()
    ok = runner.invoke(
        app, ["bank", "list", "--bank-dir", str(user_bank), "--bank", "mine", "--tag", "SCOPE"]
    )
    assert ok.exit_code == 0, ok.output
    assert "mine-1" in ok.output
    assert "mine-2" not in ok.output
    assert "Banks: " in ok.output
    assert "mine (2)" in ok.output
    bad = runner.invoke(app, ["bank", "list", "--bank", "Mine", "--bank-dir", str(user_bank)])
    assert bad.exit_code == 1
    assert "Unknown bank 'Mine'" in bad.output


def bundled_rows(bank: str | None = None) -> tuple[list[tuple[str, int, str]], list[Row]]:
    index = load_index([builtin_bank_dir()])
    banks = [(b.id, b.question_count, b.language) for b in index.banks]
    rows = [
        (q.id, q.bank, q.topic, q.difficulty, q.first_line)
        for q in index.questions
        if bank is None or q.bank == bank
    ]
    return banks, rows


def column_starts(line: str) -> list[int]:
    """Where (in terminal cells) each plain column after the first begins."""
    starts, used, previous = [], 0, ""
    for i, char in enumerate(line):
        if char != " " and line[i - 2 : i] == "  " and i >= 2:
            starts.append(used)
        used += cell_len(char)
        previous = char
    assert previous != " ", "a plain line has no trailing blanks"
    return starts


@pytest.mark.parametrize("width", [60, 80, 100, 160])
@pytest.mark.parametrize("bank", [None, "llm-zh", "llm-handbook-zh"])
def test_plain_columns_align_in_terminal_cells(width, bank):
    banks, rows = bundled_rows(bank)
    lines = plain_rows(banks, rows, width=width).splitlines()
    assert lines[0] == f"{len(rows)} question(s)"
    assert lines[1].split() == ["id", "bank", "topic", "level", "question"]
    summary = banks_line(banks, rows, width=width).splitlines()
    assert " ".join(banks_line(banks, rows).splitlines()[0].split()) == "Banks: " + ", ".join(
        f"{b} ({n})" for b, n, _ in banks
    )
    assert lines[-len(summary) :] == summary
    body = lines[2 : -len(summary)]
    assert [line.split()[0] for line in body] == [r[0] for r in rows]
    header_starts = column_starts(lines[1])
    assert len(header_starts) == 4
    for line in body:
        # A CJK character takes two cells: columns line up on screen, not in characters.
        assert column_starts(line)[:4] == header_starts, line
        assert cell_len(line) <= max(width, header_starts[3] + 20)


def test_plain_columns_pad_wide_characters_by_their_cells():
    rows: list[Row] = [
        ("q-1", "b", "微调", "easy", "一?"),
        ("q-2", "b", "training", "hard", "Two?"),
    ]
    lines = plain_rows([("b", 2, "en")], rows, width=80).splitlines()
    # "微调" is two characters but four cells wide: four blanks pad it to the eight of "training".
    assert lines[2] == "q-1  b     微调      easy    一?"
    assert lines[3] == "q-2  b     training  hard    Two?"


def test_plain_rows_cut_long_questions_and_keep_short_ones():
    rows: list[Row] = [
        ("q-1", "b", "t", "easy", "Short?"),
        ("q-2", "b", "t", "hard", "为什么需要对大模型进行微调?" * 6),
    ]
    lines = plain_rows([("b", 2, "en")], rows, width=60).splitlines()
    assert lines[2].endswith("Short?")
    assert lines[3].endswith("…")
    assert cell_len(lines[3]) <= 60
    assert "为什么需要对大模型" in lines[3]


def test_rich_table_shows_every_row_and_the_banks_line():
    banks, rows = bundled_rows("llm-zh")
    buffer = io.StringIO()
    console = Console(file=buffer, width=100, theme=THEME, highlight=False)
    print_rows(console, banks, rows)
    text = buffer.getvalue()
    assert text.startswith(f"{len(rows)} question(s)")
    assert "┏" in text
    assert all(row[0] in text for row in rows)
    assert all(cell_len(line) <= 100 for line in text.splitlines())
    # The summary lines close the output (rich wraps the long topic line to the width).
    assert " ".join(text.split()).endswith(" ".join(banks_line(banks, rows).split()))


def test_the_summary_counts_questions_by_bank_language_and_topic():
    banks = [("a-en", 3, "en"), ("b-zh", 2, "zh")]
    rows: list[Row] = [
        ("a1", "a-en", "rag", "easy", "Q?"),
        ("a2", "a-en", "rag", "easy", "Q?"),
        ("b1", "b-zh", "peft", "hard", "问?"),
    ]
    lines = banks_line(banks, rows).splitlines()
    assert lines == [
        "Banks: a-en (3), b-zh (2)",
        "Languages: en (2), zh (1)",
        "Topics: rag (2), peft (1)",
    ]


def test_plain_output_only_when_not_a_terminal():
    piped = io.StringIO()
    assert wants_plain(piped, {}) is True
    assert wants_plain(piped, {"FORCE_COLOR": "1"}) is False
    assert wants_plain(piped, {"TTY_COMPATIBLE": "1"}) is False

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    assert wants_plain(Terminal(), {}) is False
    assert wants_plain(Terminal(), {"NO_COLOR": "1"}) is False


def test_terminal_width_prefers_columns(monkeypatch):
    assert terminal_width({"COLUMNS": "133"}) == 133
    assert terminal_width({"COLUMNS": "wide"}) > 0


def test_cli_list_writes_plain_columns_to_a_pipe(user_bank):
    result = CliRunner().invoke(app, ["bank", "list", "--bank-dir", str(user_bank)])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert "│" not in result.output
    assert lines[0].endswith("question(s)")
    mine = [line.split() for line in lines if line.startswith("mine-")]
    assert [m[:4] for m in mine] == [
        ["mine-1", "mine", "Python", "easy"],
        ["mine-2", "mine", "runtime", "hard"],
    ]


def test_cli_options_are_still_coerced_when_given(user_bank, tmp_path):
    other = tmp_path / "other"
    other.mkdir()
    (other / "more.yaml").write_text(
        BANK.replace("id: mine", "id: more").replace("mine-", "more-"), encoding="utf-8"
    )
    runner = CliRunner()
    args = ["bank", "list", "--bank-dir", str(user_bank), "--bank-dir", str(other)]
    result = runner.invoke(app, [*args, "--difficulty", "HARD", "--topic", "RUNTIME"])
    assert result.exit_code == 0, result.output
    assert "mine-2" in result.output
    assert "more-2" in result.output
    assert "mine-1" not in result.output
    assert "more (2)" in result.output
    unknown = runner.invoke(app, ["bank", "list", "--level", "hard"])
    assert unknown.exit_code == 2
    assert "--level" in unknown.output
