"""Bank loading: both valid content and every kind of broken file, with precise errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from interviewer.bank.library import Selection, load_bank_file, load_library, select_questions
from interviewer.errors import BankError

DATA = Path(__file__).parent / "data" / "bank"

GOOD_HEADER = """bank:
  id: b
  title: T
  language: en
questions:
"""


def write(tmp_path: Path, text: str, name: str = "bank.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_tiny_bank_loads_with_header_fields_applied():
    bank = load_bank_file(DATA / "tiny.yaml")
    assert bank.info.id == "tiny"
    assert [q.id for q in bank.questions] == ["tiny-closure", "tiny-gil", "tiny-cache"]
    first = bank.questions[0]
    assert first.bank == "tiny"
    assert first.language == "en"
    assert len(first.key_points) == 3
    assert first.follow_ups == ["How does the late-binding behaviour of closures bite in a loop?"]


def test_question_sha_changes_with_reference_but_not_with_tags():
    q = load_bank_file(DATA / "tiny.yaml").questions[0]
    assert q.sha != q.model_copy(update={"reference": q.reference + " More."}).sha
    assert q.sha == q.model_copy(update={"tags": ["other"]}).sha


def test_missing_field_names_file_line_question_and_field(tmp_path):
    path = write(
        tmp_path,
        GOOD_HEADER
        + """  - id: q1
    question: What?
    reference: This.
  - id: q2
    question: Why?
""",
    )
    with pytest.raises(BankError) as err:
        load_bank_file(path)
    message = str(err.value)
    assert str(path) in message
    assert "question 'q2'" in message
    assert "reference" in message
    assert ":9:" in message  # the line of the q2 entry


def test_wrong_difficulty_points_at_its_line(tmp_path):
    path = write(
        tmp_path,
        GOOD_HEADER
        + """  - id: q1
    question: What?
    reference: This.
    difficulty: impossible
""",
    )
    with pytest.raises(BankError, match=r":9: question 'q1', field 'difficulty'"):
        load_bank_file(path)


def test_broken_yaml_reports_line(tmp_path):
    path = write(tmp_path, GOOD_HEADER + "  - id: q1\n    question: [unclosed\n")
    with pytest.raises(BankError, match=r"bank\.yaml:\d+: invalid YAML"):
        load_bank_file(path)


def test_duplicate_key_is_reported_not_silently_collapsed(tmp_path):
    path = write(
        tmp_path,
        GOOD_HEADER
        + """  - id: q1
    question: What?
    reference: First.
    reference: Second.
""",
    )
    with pytest.raises(BankError, match=r":9: duplicate key 'reference' \(first at line 8\)"):
        load_bank_file(path)


def test_duplicate_question_ids_in_one_file(tmp_path):
    entry = "  - id: q1\n    question: What?\n    reference: This.\n"
    path = write(tmp_path, GOOD_HEADER + entry + entry)
    with pytest.raises(BankError, match="question id 'q1' is used twice"):
        load_bank_file(path)


def test_duplicate_ids_across_banks(tmp_path):
    entry = "  - id: shared\n    question: What?\n    reference: This.\n"
    write(tmp_path, GOOD_HEADER + entry, "a.yaml")
    write(tmp_path, GOOD_HEADER.replace("id: b", "id: c") + entry, "b.yaml")
    with pytest.raises(BankError, match="already used in"):
        load_library([tmp_path])


def test_duplicate_bank_ids_name_both_files(tmp_path):
    first = write(
        tmp_path, GOOD_HEADER + "  - id: q1\n    question: What?\n    reference: This.\n", "a.yaml"
    )
    second = write(
        tmp_path, GOOD_HEADER + "  - id: q2\n    question: Why?\n    reference: That.\n", "b.yaml"
    )
    with pytest.raises(BankError) as raised:
        load_library([tmp_path])
    assert str(raised.value) == (
        f"{second}: bank id 'b' is already used by {first}; give one of them another id."
    )


def test_non_utf8_file_says_how_to_fix(tmp_path):
    path = tmp_path / "latin.yaml"
    path.write_bytes((GOOD_HEADER + "  - id: q\n    question: caf\xe9\n").encode("latin-1"))
    with pytest.raises(BankError, match=r"not valid UTF-8.*save the file as UTF-8"):
        load_bank_file(path)


def test_empty_and_non_mapping_files(tmp_path):
    with pytest.raises(BankError, match="empty"):
        load_bank_file(write(tmp_path, "", "empty.yaml"))
    with pytest.raises(BankError, match="must be a mapping"):
        load_bank_file(write(tmp_path, "- just\n- a list\n", "list.yaml"))


def test_unknown_field_is_rejected(tmp_path):
    path = write(
        tmp_path,
        GOOD_HEADER + "  - id: q1\n    question: What?\n    reference: R.\n    refernce: typo\n",
    )
    with pytest.raises(BankError, match="field 'refernce'"):
        load_bank_file(path)


def test_selection_filters_and_seeded_shuffle():
    library = load_library([DATA])
    python = select_questions(library, Selection(topic="python"))
    assert {q.id for q in python} == {"tiny-closure", "tiny-gil"}
    hard = select_questions(library, Selection(difficulty="hard"))
    assert [q.id for q in hard] == ["tiny-cache"]
    one = select_questions(library, Selection(shuffle=True, seed=3))
    two = select_questions(library, Selection(shuffle=True, seed=3))
    assert [q.id for q in one] == [q.id for q in two]
    assert sorted(q.id for q in one) == sorted(q.id for q in library.questions)
    assert len(select_questions(library, Selection(count=2))) == 2


def test_selection_errors_are_clear():
    library = load_library([DATA])
    with pytest.raises(BankError, match="No question matches"):
        select_questions(library, Selection(tag="nothing-has-this"))
    with pytest.raises(BankError, match="Unknown difficulty"):
        select_questions(library, Selection(difficulty="brutal"))
    with pytest.raises(BankError, match="Unknown bank 'nope'"):
        select_questions(library, Selection(bank="nope"))
    with pytest.raises(BankError, match="Unknown question id 'zzz'"):
        library.get("zzz")
    assert library.get("tiny/tiny-gil").id == "tiny-gil"


def test_bank_import_copies_validates_and_refuses_clashes(isolated_home, tmp_path):
    from typer.testing import CliRunner

    from interviewer.cli import app

    runner = CliRunner()
    mine = write(tmp_path, GOOD_HEADER.replace("id: b", "id: mine") + (
        "  - id: mine-1\n    question: What?\n    reference: This.\n"
    ), "mine.yaml")  # fmt: skip
    result = runner.invoke(app, ["bank", "import", str(mine)])
    assert result.exit_code == 0, result.output
    copied = isolated_home / "banks" / "mine.yaml"
    assert copied.read_bytes() == mine.read_bytes()
    listed = runner.invoke(app, ["bank", "list", "--bank", "mine"])
    assert listed.exit_code == 0, listed.output
    assert "mine-1" in listed.output

    again = runner.invoke(app, ["bank", "import", str(mine)])
    assert again.exit_code == 1
    assert "already imported" in again.output
    assert runner.invoke(app, ["bank", "import", "--replace", str(mine)]).exit_code == 0

    clash = write(tmp_path, GOOD_HEADER.replace("id: b", "id: other") + (
        "  - id: llm-en-41\n    question: What?\n    reference: This.\n"
    ), "clash.yaml")  # fmt: skip
    refused = runner.invoke(app, ["bank", "import", str(clash)])
    assert refused.exit_code == 1
    assert "question id 'llm-en-41' is already used" in refused.output
    assert not (isolated_home / "banks" / "other.yaml").exists()

    same_id = write(tmp_path, GOOD_HEADER.replace("id: b", "id: llm-en") + (
        "  - id: fresh-1\n    question: What?\n    reference: This.\n"
    ), "same-id.yaml")  # fmt: skip
    refused = runner.invoke(app, ["bank", "import", str(same_id)])
    assert refused.exit_code == 1
    assert "bank id 'llm-en' is already used by" in refused.output
    assert "give the bank another id" in refused.output
    # Nothing but the one import is left in the banks directory: no copy, no temporary file.
    assert sorted(p.name for p in (isolated_home / "banks").iterdir()) == ["mine.yaml"]

    broken = write(tmp_path, GOOD_HEADER + "  - id: q\n", "broken.yaml")
    bad = runner.invoke(app, ["bank", "import", str(broken)])
    assert bad.exit_code == 1
    assert "broken.yaml:6" in bad.output
