"""Question banks: the file format, loading with precise errors, and question selection.

A bank is one YAML file with a ``bank:`` header and a ``questions:`` list (see bank/README.md).
Loading validates every field with pydantic and maps each validation error back to the YAML
line it came from, so a broken file is reported as ``file:line: question 'id', field 'x': …``
rather than as a pydantic path. Duplicate mapping keys, which YAML would silently collapse
into the last one, are reported too.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    ValidationError,
    field_validator,
    model_validator,
)

from interviewer.bank.bank_yaml import check_nodes, decode_bank, node_at
from interviewer.bank.bank_yaml import looks_like_bank as looks_like_bank  # re-exported
from interviewer.bank.bank_yaml import read_bank_bytes as read_bank_bytes  # re-exported
from interviewer.bank.rubric import DEFAULT_CRITERIA, Criterion
from interviewer.bank.selection import DIFFICULTIES as DIFFICULTIES  # re-exported
from interviewer.bank.selection import Selection as Selection  # re-exported for callers
from interviewer.bank.selection import (
    UniqueIds,
    check_difficulty,
    filter_items,
    unknown_bank,
)
from interviewer.errors import BankError
from interviewer.files import write_atomic
from interviewer.paths import bank_files as bank_files  # re-exported for callers

Difficulty = Literal["easy", "medium", "hard"]
ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]*$"
CORRECTION_MARKERS = ("[Correction / completion]", "【更正/补充】")
# The fields a drafting tool may fill in: what `generated:` and `derived:` may list.
GeneratedField = Literal[
    "question",
    "reference",
    "key_points",
    "topic",
    "difficulty",
    "tags",
    "follow_ups",
    "reference_notes",
]


def _clean_list(values: list[str]) -> list[str]:
    cleaned = [v.strip() for v in values]
    if any(not v for v in cleaned):
        raise ValueError("entries must not be empty")
    return cleaned


class CuratedFollowUp(BaseModel):
    """A follow-up written in the bank that names what it probes.

    ``probes`` are 1-based numbers of the question's key points; ``reference`` and
    ``key_points`` are the follow-up's own material, for what it asks beyond them.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    question: str = Field(min_length=1)
    probes: list[int] = Field(default_factory=list)
    reference: str = ""
    key_points: list[str] = Field(default_factory=list, max_length=12)

    @field_validator("question")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be blank")
        return value.strip()

    @field_validator("reference")
    @classmethod
    def _strip(cls, value: str) -> str:
        return value.strip()

    @field_validator("probes")
    @classmethod
    def _positive(cls, values: list[int]) -> list[int]:
        if any(v < 1 for v in values):
            raise ValueError("key point numbers start at 1")
        return list(dict.fromkeys(values))

    @field_validator("key_points")
    @classmethod
    def _entries(cls, values: list[str]) -> list[str]:
        return _clean_list(values)


def _follow_up_kind(value: object) -> str:
    return "mapping" if isinstance(value, dict | CuratedFollowUp) else "text"


# Tagged so that a broken mapping is reported by its own fields, not as "not a string".
FollowUpEntry = Annotated[
    Annotated[str, Tag("text")] | Annotated[CuratedFollowUp, Tag("mapping")],
    Discriminator(_follow_up_kind),
]
# Union tags pydantic puts in an error location; they are not YAML keys.
_UNION_TAGS = frozenset({"text", "mapping"})


class Question(BaseModel):
    """One interview question with its reference answer and key points."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=ID_PATTERN, max_length=80)
    question: str = Field(min_length=1)
    reference: str = Field(min_length=1)
    key_points: list[str] = Field(default_factory=list, max_length=12)
    topic: str = "general"
    difficulty: Difficulty = "medium"
    tags: list[str] = Field(default_factory=list)
    # A plain string, or a follow-up that names the key points it probes.
    follow_ups: list[FollowUpEntry] = Field(default_factory=list)
    reference_notes: str = ""
    rubric: list[Criterion] | None = None
    # Drafted by a tool and not yet reviewed: `generated` by an LLM, `derived` offline.
    generated: list[GeneratedField] = Field(default_factory=list)
    derived: list[GeneratedField] = Field(default_factory=list)
    # Filled in from the bank header, not written per question.
    bank: str = ""
    language: str = "en"

    @field_validator("question", "reference")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be blank")
        return value.strip()

    @field_validator("key_points", "tags")
    @classmethod
    def _entries(cls, values: list[str]) -> list[str]:
        return _clean_list(values)

    @field_validator("follow_ups")
    @classmethod
    def _follow_ups(cls, values: list[FollowUpEntry]) -> list[FollowUpEntry]:
        for value in values:
            if isinstance(value, str) and not value.strip():
                raise ValueError("entries must not be empty")
        return [v.strip() if isinstance(v, str) else v for v in values]

    @model_validator(mode="after")
    def _probes_exist(self) -> Question:
        for number, entry in enumerate(self.follow_ups, 1):
            if isinstance(entry, str) or not entry.probes:
                continue
            if not self.key_points:
                raise ValueError(
                    f"follow-up {number} names probes, but the question has no key_points"
                    " to number; add key_points or drop probes"
                )
            beyond = [p for p in entry.probes if p > len(self.key_points)]
            if beyond:
                raise ValueError(
                    f"follow-up {number} probes key point {beyond[0]}, but the question has"
                    f" {len(self.key_points)}"
                )
        return self

    @property
    def follow_up_texts(self) -> list[str]:
        """The follow-up questions as asked, plain or curated alike."""
        return [f if isinstance(f, str) else f.question for f in self.follow_ups]

    @property
    def criteria(self) -> tuple[Criterion, ...]:
        """The rubric this question is graded against."""
        return tuple(self.rubric) if self.rubric else DEFAULT_CRITERIA

    @property
    def full_reference(self) -> str:
        """The reference answer followed by its corrections, as a grader should read it."""
        notes = self.reference_notes.strip()
        if not notes:
            return self.reference
        # Bank authors usually start their notes with the marker already; don't say it twice.
        if notes.startswith(CORRECTION_MARKERS):
            return f"{self.reference}\n\n{notes}"
        return f"{self.reference}\n\n[Correction / completion]\n{notes}"

    @property
    def sha(self) -> str:
        """A hash of everything that determines how an answer to this question is graded.

        Follow-ups are left out: they never change how the answer itself is graded. A
        follow-up answer is graded against its own question (`session.follow_ups`), whose sha
        covers what the follow-up is graded on.
        """
        payload = {
            "question": self.question,
            "reference": self.reference,
            "reference_notes": self.reference_notes,
            "key_points": self.key_points,
            "rubric": [c.model_dump() for c in self.criteria],
            "language": self.language,
        }
        blob = json.dumps(payload, ensure_ascii=False, sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()[:16]


class BankInfo(BaseModel):
    """The ``bank:`` header of a bank file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=ID_PATTERN, max_length=60)
    title: str = Field(min_length=1)
    language: str = Field(pattern=r"^[a-z]{2,3}(-[A-Za-z0-9]+)?$")
    source: str = ""
    license: str = ""
    translation_of: str | None = None
    description: str = ""


class _BankFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    bank: BankInfo
    questions: list[dict[str, Any]] = Field(min_length=1)


@dataclass(frozen=True)
class Bank:
    """A loaded bank: its header, its questions and the file it came from."""

    info: BankInfo
    questions: tuple[Question, ...]
    path: Path


@dataclass
class Library:
    """Every loaded bank, with lookup by question id."""

    banks: list[Bank] = field(default_factory=list)

    @property
    def questions(self) -> list[Question]:
        return [q for b in self.banks for q in b.questions]

    def get(self, question_id: str) -> Question:
        """Return the question with this id (``ID`` or ``BANK/ID``) or raise BankError."""
        bank_id, _, qid = question_id.rpartition("/")
        for bank in self.banks:
            if bank_id and bank.info.id != bank_id:
                continue
            for q in bank.questions:
                if q.id == qid:
                    return q
        hint = ", ".join(q.id for q in self.questions[:5])
        raise BankError(
            f"Unknown question id '{question_id}'. Run `interviewer bank list` to see the ids"
            + (f" (e.g. {hint})." if hint else ".")
        )

    def translation(self, question: Question, language: str) -> Question | None:
        """The same question in a loaded edition of its bank in ``language``, if any.

        Editions are linked by ``translation_of`` (a translation to its original, or two
        translations of one original) and share question numbering: ``llm-en-41`` is
        ``llm-zh-41`` in the ``llm-en`` bank.
        """
        source = next((b for b in self.banks if b.info.id == question.bank), None)
        if source is None or not question.id.startswith(source.info.id):
            return None
        number = question.id[len(source.info.id) :]
        for bank in self.banks:
            info = bank.info
            if bank is source or _language_family(info.language) != _language_family(language):
                continue
            siblings = info.translation_of is not None and (
                info.translation_of == source.info.translation_of
            )
            linked = (
                info.translation_of == source.info.id
                or source.info.translation_of == info.id
                or siblings
            )
            if linked:
                wanted = info.id + number
                found = next((q for q in bank.questions if q.id == wanted), None)
                if found is not None:
                    return found
        return None

    def bank(self, bank_id: str) -> Bank:
        for bank in self.banks:
            if bank.info.id == bank_id:
                return bank
        raise unknown_bank(bank_id, (b.info.id for b in self.banks))


def _language_family(tag: str) -> str:
    """The language of a tag without its region or script: zh-CN and zh-Hans are zh."""
    return tag.split("-", 1)[0].lower()


# --------------------------------------------------------------------------- loading


def _describe(loc: Sequence[int | str], raw: dict[str, Any]) -> str:
    """Render a pydantic location as 'question 'id', field 'x'' or 'field bank.title'."""
    if len(loc) >= 2 and loc[0] == "questions" and isinstance(loc[1], int):
        questions = raw.get("questions") or []
        entry = questions[loc[1]] if loc[1] < len(questions) else None
        qid = entry.get("id") if isinstance(entry, dict) else None
        who = f"question '{qid}'" if qid else f"question #{loc[1] + 1}"
        rest = ".".join(str(p) for p in loc[2:])
        return f"{who}, field '{rest}'" if rest else who
    return "field '" + ".".join(str(p) for p in loc) + "'"


def load_bank_file(path: Path, raw: bytes | None = None) -> Bank:
    """Load and validate one bank file; raise BankError naming file, line and field.

    ``raw`` is the file's content when the caller has already read it (see read_bank_bytes).
    """
    text = decode_bank(read_bank_bytes(path) if raw is None else raw, path)
    loader = yaml.CSafeLoader(text) if hasattr(yaml, "CSafeLoader") else yaml.SafeLoader(text)
    try:
        root = loader.get_single_node()
        if root is None:
            raise BankError(f"{path}: the file is empty; see bank/README.md for the format.")
        check_nodes(root, path)
        raw = loader.construct_document(root)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        line = f":{mark.line + 1}" if mark is not None else ""
        raise BankError(f"{path}{line}: invalid YAML: {exc.problem}.") from None
    except yaml.YAMLError as exc:
        raise BankError(f"{path}: invalid YAML: {exc}.") from None
    finally:
        loader.dispose()
    if not isinstance(raw, dict):
        raise BankError(
            f"{path}:1: a bank file must be a mapping with 'bank:' and 'questions:' keys."
        )

    def fail(exc: ValidationError, base: tuple[int | str, ...] = ()) -> BankError:
        err = exc.errors()[0]
        loc = base + tuple(p for p in err["loc"] if p not in _UNION_TAGS)
        node = node_at(root, loc)
        line = node.start_mark.line + 1 if node is not None else 1
        return BankError(f"{path}:{line}: {_describe(loc, raw)}: {err['msg']}.")

    try:
        header = _BankFile.model_validate(raw)
    except ValidationError as exc:
        raise fail(exc) from None

    questions: list[Question] = []
    seen: set[str] = set()
    for index, entry in enumerate(header.questions):
        data = {**entry, "bank": header.bank.id, "language": header.bank.language}
        try:
            question = Question.model_validate(data)
        except ValidationError as exc:
            raise fail(exc, ("questions", index)) from None
        if question.id in seen:
            id_node = node_at(root, ("questions", index, "id"))
            id_line = id_node.start_mark.line + 1 if id_node is not None else 1
            raise BankError(
                f"{path}:{id_line}: question id '{question.id}' is used twice; ids must be unique."
            )
        seen.add(question.id)
        questions.append(question)
    return Bank(info=header.bank, questions=tuple(questions), path=path)


def load_library(paths: Iterable[Path]) -> Library:
    """Load every bank under ``paths``; bank ids and question ids must be unique overall."""
    library = Library()
    ids = UniqueIds()
    for file in bank_files(paths):
        bank = load_bank_file(file)
        ids.add(file, bank.info.id, [q.id for q in bank.questions])
        library.banks.append(bank)
    return library


def import_bank(
    source: Path,
    library: Library,
    dest_dir: Path,
    *,
    replace: bool = False,
    raw: bytes | None = None,
) -> Path:
    """Validate a bank file and copy it, byte for byte, into ``dest_dir`` as ``BANK_ID.yaml``.

    The copy is refused when its bank id or a question id is already used by another loaded
    bank, so that an import can never make the library fail to load. ``replace`` allows
    overwriting an earlier import of the same bank. ``raw`` is the file's content when the
    caller has already read it (a pipe can be read only once).
    """
    raw = read_bank_bytes(source) if raw is None else raw
    bank = load_bank_file(source, raw)
    dest = dest_dir / f"{bank.info.id}.yaml"
    previous = dest.resolve() if dest.exists() else None
    if previous is not None and not replace:
        raise BankError(
            f"Bank '{bank.info.id}' is already imported ({dest}); pass --replace to overwrite it."
        )
    ids = UniqueIds()
    for other in library.banks:
        if other.path.resolve() != previous:
            ids.add(other.path, other.info.id, [q.id for q in other.questions])
    ids.add(source, bank.info.id, [q.id for q in bank.questions], fix="give the bank another id")
    try:
        write_atomic(dest, raw)
    except OSError as exc:
        raise BankError(
            f"{dest}: cannot write the imported bank ({exc.strerror}); make {dest_dir} writable"
            " or set INTERVIEWER_HOME to a directory you can write."
        ) from None
    return dest


# --------------------------------------------------------------------------- selection


def filter_questions(questions: Iterable[Question], sel: Selection) -> list[Question]:
    """Return the questions matching every filter that is set (case-insensitive)."""
    return filter_items(questions, sel)


def select_questions(library: Library, sel: Selection) -> list[Question]:
    """Pick questions for a session; raise BankError when the filters match nothing."""
    if sel.bank:
        library.bank(sel.bank)
    check_difficulty(sel.difficulty)
    chosen = filter_questions(library.questions, sel)
    if not chosen:
        raise BankError(
            "No question matches these filters; run `interviewer bank list` to see what exists."
        )
    if sel.shuffle:
        random.Random(sel.seed).shuffle(chosen)
    if sel.count is not None:
        if sel.count < 1:
            raise BankError("--count must be at least 1.")
        chosen = chosen[: sel.count]
    return chosen
