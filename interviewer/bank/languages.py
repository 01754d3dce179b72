"""One language per session: which languages the banks offer, and one edition of a question.

A translated bank (``translation_of: ORIGINAL``) repeats its original's questions, with ids
that differ only in the bank-id prefix (``llm-en-41`` translates ``llm-zh-41``). A session
asks each question once, in one language: mixing both editions would ask the same thing
twice.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping

from interviewer.bank.library import Library, Question

FALLBACK = "en"
NAMES = {"en": "English", "zh": "Chinese (中文)"}


def languages(library: Library) -> dict[str, int]:
    """Each language the loaded banks hold, with its number of questions, most first."""
    counts = Counter(q.language for q in library.questions)
    return dict(counts.most_common())


def language_name(code: str) -> str:
    return NAMES.get(code, code)


def locale_language(env: Mapping[str, str], available: Iterable[str]) -> str:
    """The language of the user's locale when a bank has it, else English, else the first."""
    offered = list(available)
    for name in ("LC_ALL", "LC_MESSAGES", "LANG", "LANGUAGE"):
        value = env.get(name, "")
        code = value.split(":")[0].split(".")[0].split("_")[0].split("-")[0].lower()
        if code and code not in ("c", "posix"):
            if code in offered:
                return code
            break
    if FALLBACK in offered or not offered:
        return FALLBACK
    return offered[0]


def _edition_key(question: Question, translated_from: Mapping[str, str]) -> tuple[str, str]:
    """The (original bank, question) pair that every edition of a question shares."""
    original = translated_from.get(question.bank)
    if original is None:
        return question.bank, question.id.removeprefix(f"{question.bank}-")
    return original, question.id.removeprefix(f"{question.bank}-")


def one_edition(questions: Iterable[Question], library: Library) -> list[Question]:
    """``questions`` in order without a second edition (original or translation) of any."""
    translated_from = {
        b.info.id: b.info.translation_of for b in library.banks if b.info.translation_of
    }
    seen: set[tuple[str, str]] = set()
    kept: list[Question] = []
    for question in questions:
        key = _edition_key(question, translated_from)
        if key not in seen:
            seen.add(key)
            kept.append(question)
    return kept
