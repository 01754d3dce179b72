"""The bank filter rules and id checks, shared by full loads and the bank index.

A practice session filters validated questions; `bank list` filters rows of the bank index.
Both must agree on what a filter matches, which bank ids exist and which ids clash, so the
rules live here once. Kept free of yaml and pydantic: `bank list` imports it on a warm index.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, TypeVar

from interviewer.errors import BankError

DIFFICULTIES: tuple[str, ...] = ("easy", "medium", "hard")


if TYPE_CHECKING:
    # Only for type checking: a Protocol class costs start-up time `bank list` need not pay.
    class Filterable(Protocol):
        """What a filter looks at: a validated question and an index row both have it."""

        @property
        def bank(self) -> str: ...
        @property
        def topic(self) -> str: ...
        @property
        def difficulty(self) -> str: ...
        @property
        def tags(self) -> Iterable[str]: ...


T = TypeVar("T", bound="Filterable")


@dataclass(frozen=True)
class Selection:
    """Filters and ordering for picking questions."""

    bank: str | None = None
    topic: str | None = None
    difficulty: str | None = None
    tag: str | None = None
    count: int | None = None
    shuffle: bool = False
    seed: int | None = None

    def matches(self, item: Filterable) -> bool:
        """Whether ``item`` passes every filter that is set (case-insensitive)."""
        if self.bank and item.bank.lower() != self.bank.lower():
            return False
        if self.topic and item.topic.lower() != self.topic.lower():
            return False
        if self.difficulty and item.difficulty != self.difficulty.lower():
            return False
        return not (self.tag and self.tag.lower() not in {t.lower() for t in item.tags})


def filter_items(items: Iterable[T], sel: Selection) -> list[T]:
    """The items matching every filter of ``sel`` that is set, in their order."""
    return [item for item in items if sel.matches(item)]


def check_difficulty(difficulty: str | None) -> None:
    """Raise BankError for a difficulty no question can have."""
    if difficulty and difficulty.lower() not in DIFFICULTIES:
        raise BankError(f"Unknown difficulty '{difficulty}'; use one of {', '.join(DIFFICULTIES)}.")


def unknown_bank(bank_id: str, known: Iterable[str]) -> BankError:
    """The error for a bank id that no loaded bank has."""
    listed = ", ".join(known) or "none"
    return BankError(f"Unknown bank '{bank_id}'. Known banks: {listed}.")


class UniqueIds:
    """Bank ids and question ids seen so far, each with the file that used it first."""

    def __init__(self) -> None:
        self._banks: dict[str, Path] = {}
        self._questions: dict[str, Path] = {}

    def add(
        self,
        file: Path,
        bank_id: str,
        question_ids: Iterable[str],
        *,
        fix: str = "give one of them another id",
    ) -> None:
        """Record one bank file's ids; raise BankError naming ``file`` on a clash.

        ``fix`` tells the user how to resolve a clash of bank ids. Ids within one file are
        unique already (the loader checks them), so only clashes with earlier files count.
        """
        if bank_id in self._banks:
            raise BankError(
                f"{file}: bank id '{bank_id}' is already used by {self._banks[bank_id]}; {fix}."
            )
        self._banks[bank_id] = file
        for qid in question_ids:
            owner = self._questions.get(qid)
            if owner is not None:
                raise BankError(
                    f"{file}: question id '{qid}' is already used in {owner};"
                    " question ids must be unique across banks."
                )
            self._questions[qid] = file
