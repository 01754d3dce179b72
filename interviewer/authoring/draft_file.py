"""Writing a draft bank: questions as YAML in the bank format, validated before it is written.

The text is written to a temporary file beside the target, loaded back with the bank loader
(``load_bank_file``, the same checks as `bank validate`) and only then renamed over the
target, so a draft that exists is always a valid bank and a failed check leaves the old one.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any

import yaml

from interviewer.bank.library import Bank, BankInfo, Question, load_bank_file
from interviewer.errors import BankError
from interviewer.files import write_atomic

# Question fields in the order a reviewer reads them; defaults are left out.
_ORDER = (
    "id",
    "topic",
    "difficulty",
    "tags",
    "question",
    "reference",
    "reference_notes",
    "key_points",
    "follow_ups",
    "rubric",
    "generated",
    "derived",
)


def _default(name: str) -> Any:
    info = Question.model_fields.get(name)
    return info.get_default(call_default_factory=True) if info is not None else None


class _Dumper(yaml.SafeDumper):
    """Block scalars for multi-line text, so references read as they were written."""


def _text(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


class _Flow(list[Any]):
    """A list of short labels (tags, probes, generated), written on one line: `[a, b]`."""


def _flow(dumper: yaml.SafeDumper, value: _Flow) -> yaml.SequenceNode:
    return dumper.represent_sequence("tag:yaml.org,2002:seq", list(value), flow_style=True)


_Dumper.add_representer(str, _text)
_Dumper.add_representer(_Flow, _flow)


def question_entry(question: Question) -> dict[str, Any]:
    """A question as its bank-file mapping (fields at their defaults left out)."""
    data = question.model_dump(mode="json", exclude={"bank", "language"}, exclude_none=True)
    entry: dict[str, Any] = {}
    for name in _ORDER:
        if name not in data:
            continue
        value = data[name]
        always = name in ("id", "question", "reference")
        if always or value != _default(name):
            entry[name] = _shaped(name, value)
    return entry


def _shaped(name: str, value: Any) -> Any:
    """Label lists on one line; follow-ups without their empty fields."""
    if name in ("tags", "generated", "derived"):
        return _Flow(value)
    if name != "follow_ups":
        return value
    shaped: list[Any] = []
    for item in value:
        if isinstance(item, dict):
            item = {
                k: _Flow(v) if k == "probes" else v for k, v in item.items() if v not in ("", [])
            }
        shaped.append(item)
    return shaped


def bank_text(info: BankInfo, questions: list[Question]) -> str:
    header = info.model_dump(mode="json", exclude_defaults=True)
    header = {"id": info.id, "title": info.title, "language": info.language, **header}
    doc = {"bank": header, "questions": [question_entry(q) for q in questions]}
    return yaml.dump(doc, Dumper=_Dumper, allow_unicode=True, sort_keys=False, width=100)


def write_draft(path: Path, info: BankInfo, questions: list[Question]) -> Bank:
    """Write ``questions`` as a bank file at ``path`` once the loader accepts it."""
    if not questions:
        raise BankError(f"{path}: nothing to write, the draft has no questions.")
    check = path.with_name(f".{path.name}.check.yaml")
    try:
        write_atomic(check, bank_text(info, questions))
        bank = load_bank_file(check)
        os.replace(check, path)
        bank = Bank(info=bank.info, questions=bank.questions, path=path)
    except OSError as exc:
        raise BankError(f"{path}: cannot write the draft ({exc.strerror}).") from None
    except BankError as exc:
        raise BankError(f"The draft for {path} is not a valid bank: {exc}") from None
    finally:
        with contextlib.suppress(OSError):
            check.unlink()
    return bank
