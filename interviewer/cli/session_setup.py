"""What practice and mock share before the first question: the language and the questions.

A session is one language. It comes from ``--lang``; else from ``--bank`` (a bank has one
language); else from the config's ``practice.language``; else, in a terminal, the user is
asked once and the answer is saved to the config; else (piped input) from the locale.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from interviewer.errors import BankError

if TYPE_CHECKING:
    from pathlib import Path

    from interviewer.bank.library import Library, Question, Selection
    from interviewer.config import Config


def session_questions(
    bank_dirs: list[Path] | None, sel: Selection, *, lang: str | None, interactive: bool
) -> tuple[Config, Library, list[Question], str | None]:
    """The config, the library, the questions to ask (not yet cut to a count), their language.

    The library goes to the grader too: the offline grader grades an answer in another
    language against the bank's translation of the question.
    """
    from interviewer.bank.library import load_library
    from interviewer.config import bank_paths, load_config

    config = load_config()
    library = load_library(bank_paths(config, bank_dirs))
    language = session_language(config, library, lang=lang, bank=sel.bank, interactive=interactive)
    return config, library, pick_questions(library, sel, language, None), language


def session_language(
    config: Config, library: Library, *, lang: str | None, bank: str | None, interactive: bool
) -> str | None:
    """The language of this session's questions; None when ``--bank`` already decides it."""
    from interviewer.bank.languages import languages, locale_language

    offered = languages(library)
    if lang:
        code = lang.strip().lower()
        if code not in offered:
            known = ", ".join(offered) or "none"
            raise BankError(f"No bank has questions in '{lang}' (languages: {known}); fix --lang.")
        return code
    if bank:
        return None
    configured = config.practice.language
    if configured:
        if configured not in offered:
            known = ", ".join(offered) or "none"
            raise BankError(
                f"The config's practice.language is '{configured}', but no bank has questions"
                f" in it (languages: {known}); pass --lang or change the setting."
            )
        return configured
    guess = locale_language(os.environ, offered)
    if interactive and len(offered) > 1:
        return _ask_and_save(config, offered, guess)
    return guess


def _ask_and_save(config: Config, offered: dict[str, int], guess: str) -> str:
    from interviewer.config import config_path, save_config
    from interviewer.ui.practice import ask_language

    chosen = ask_language(offered, guess)
    practice = config.practice.model_copy(update={"language": chosen})
    save_config(config.model_copy(update={"practice": practice}))
    from interviewer.ui.console import notice

    notice(
        f'Saved practice.language = "{chosen}" in {config_path()};'
        " pass --lang to change it for one session."
    )
    return chosen


def pick_questions(
    library: Library, sel: Selection, language: str | None, count: int | None
) -> list[Question]:
    """The session's questions: filtered, one language, one edition of each, at most ``count``."""
    from interviewer.bank.languages import one_edition
    from interviewer.bank.library import select_questions

    questions = select_questions(library, sel)
    if language is not None:
        questions = [q for q in questions if q.language == language]
        if not questions:
            raise BankError(
                f"No question in '{language}' matches these filters; pass --lang with another"
                " language or run `interviewer bank list` to see what exists."
            )
    questions = one_edition(questions, library)
    return questions[:count] if count else questions
