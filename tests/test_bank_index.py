"""The bank index behind `bank list`: cache hits and misses, re-validation, filter parity."""

from __future__ import annotations

import io
import json
import os
import shutil
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner

from interviewer.bank import index as bank_index
from interviewer.bank.index import bank_paths, cache_path, load_index
from interviewer.bank.library import Selection, filter_questions, load_library
from interviewer.cli import app
from interviewer.config import bank_paths as config_bank_paths
from interviewer.config import builtin_bank_dir, config_path, home_dir, load_config
from interviewer.errors import BankError
from interviewer.ui.bank import format_rows, plain_colour, print_rows, terminal_width
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


@pytest.mark.parametrize("width", [60, 72, 80, 91, 100, 120, 160, 250])
@pytest.mark.parametrize("colour", [False, True])
@pytest.mark.parametrize("which", ["all", "first", "zh"])
def test_fast_table_writes_what_rich_writes(width, colour, which):
    index = load_index([builtin_bank_dir()])
    picked = {
        "all": index.questions,
        "first": index.questions[:2],
        "zh": [q for q in index.questions if q.bank == "llm-zh"],
    }[which]
    banks = [(b.id, b.question_count) for b in index.banks]
    rows = [(q.id, q.bank, q.topic, q.difficulty, q.first_line) for q in picked]
    fast = format_rows(banks, rows, width=width, colour=colour)
    buffer = io.StringIO()
    reference = Console(
        file=buffer,
        width=width,
        theme=THEME,
        highlight=False,
        force_terminal=colour,
        color_system="256" if colour else None,
    )
    print_rows(reference, banks, rows)
    assert fast == buffer.getvalue()


def test_fast_table_leaves_narrow_terminals_and_long_footers_to_rich():
    rows = [("a-very-long-question-id-0001", "bank", "topic", "easy", "What?")]
    assert format_rows([("bank", 1)], rows, width=12, colour=False) is None
    many = [(f"bank-{i}", 1) for i in range(30)]
    assert format_rows(many, rows, width=100, colour=False) is None
    assert format_rows(many[:1], rows, width=100, colour=False) is not None


def test_squeezed_table_keeps_ids_whole():
    rows = [("a-very-long-question-id-0001", "bank", "topic", "easy", "What is a closure? " * 5)]
    text = format_rows([("bank", 1)], rows, width=60, colour=False)
    assert text is not None
    assert "a-very-long-question-id-0001" in text
    assert all(len(line) <= 60 for line in text.splitlines())


def test_colour_detection_defers_unusual_settings_to_rich():
    piped = io.StringIO()
    assert plain_colour(piped, {}) is False
    assert plain_colour(piped, {"FORCE_COLOR": "1"}) is None
    assert plain_colour(piped, {"NO_COLOR": "1"}) is None

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    assert plain_colour(Terminal(), {"TERM": "xterm-256color"}) is True
    assert plain_colour(Terminal(), {"TERM": "xterm", "COLORTERM": "truecolor"}) is True
    assert plain_colour(Terminal(), {"TERM": "xterm"}) is None
    assert plain_colour(Terminal(), {"TERM": "dumb"}) is None


def test_terminal_width_prefers_columns(monkeypatch):
    assert terminal_width({"COLUMNS": "133"}) == 133
    assert terminal_width({"COLUMNS": "wide"}) > 0


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
