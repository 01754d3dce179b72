"""Turning an article of questions and answers into a draft bank file.

`interviewer bank import ARTICLE` reads Markdown, plain text or HTML, finds the questions
with the article parser and writes a bank file in the usual YAML format: one question per
question of the article, its answer verbatim as the reference, no key points (the graders
derive them from the reference). The draft is validated by the normal bank loader before it
is written anywhere, so an imported article is never a file the program cannot load.
"""

from __future__ import annotations

import re
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import yaml

from interviewer.bank.articles import Article, Notice, parse_lines, parse_text
from interviewer.bank.library import ID_PATTERN, Bank, load_bank_file
from interviewer.errors import BankError
from interviewer.files import write_atomic

ARTICLE_SUFFIXES = {".md": "markdown", ".markdown": "markdown", ".txt": "text"}
HTML_SUFFIXES = {".html", ".htm", ".xhtml"}
BANK_SUFFIXES = {".yaml", ".yml"}
CJK = re.compile(r"[\u3400-\u9fff]")


def is_article(path: Path) -> bool:
    """Whether ``path`` is an article to convert rather than a bank file to copy."""
    return path.suffix.lower() not in BANK_SUFFIXES


@dataclass(frozen=True)
class Draft:
    """A bank drafted from an article: its YAML text, the loaded bank and the parser's notes."""

    text: str
    bank: Bank
    notices: list[Notice]


def read_article(path: Path) -> Article:
    """Parse an article file; line numbers in notices refer to that file."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise BankError(f"{path}: no such file; check the path.") from None
    except OSError as exc:
        raise BankError(f"{path}: cannot read ({exc.strerror}).") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise BankError(
            f"{path}: not valid UTF-8 (byte {exc.start}); save the article as UTF-8."
        ) from None
    try:
        if path.suffix.lower() in HTML_SUFFIXES or _looks_like_html(text):
            from interviewer.bank.html_article import html_to_lines

            lines, origins, title = html_to_lines(text)
            article = parse_lines(lines)
            article.notices = [_map_lines(n, origins) for n in article.notices]
            article.questions = [replace(q, line=origins[q.line - 1]) for q in article.questions]
            article.title = article.title or title
            return article
        return parse_text(text)
    except BankError as exc:
        raise BankError(f"{path}: {exc}") from None


def _map_lines(notice: Notice, origins: list[int]) -> Notice:
    def source(line: int | None) -> int | None:
        return None if line is None else origins[min(line, len(origins)) - 1]

    line = source(notice.line)
    assert line is not None
    return replace(notice, line=line, end=source(notice.end), ref=source(notice.ref))


def _looks_like_html(text: str) -> bool:
    head = text.lstrip()[:500].lower()
    return head.startswith(("<!doctype html", "<html")) or bool(re.search(r"<(body|p|h\d)\b", head))


def slug(text: str) -> str:
    """A bank id made from a file name: lowercase ASCII letters, digits and hyphens."""
    cleaned = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return (cleaned or "article")[:50]


def detect_language(article: Article) -> str:
    sample = "".join(q.question for q in article.questions)
    return "zh" if len(CJK.findall(sample)) * 4 >= len(sample) else "en"


class _Literal(str):
    """A string dumped as a YAML block scalar (``|``) so that answers stay readable."""


def _literal(dumper: yaml.SafeDumper, value: _Literal) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", str(value), style=style)


class _Dumper(yaml.SafeDumper):
    pass


class _Flow(list[str]):
    """A short list dumped on one line (``tags: [a, b]``)."""


def _flow(dumper: yaml.SafeDumper, value: _Flow) -> yaml.SequenceNode:
    return dumper.represent_sequence("tag:yaml.org,2002:seq", list(value), flow_style=True)


_Dumper.add_representer(_Literal, _literal)
_Dumper.add_representer(_Flow, _flow)


def dump_bank(document: dict[str, Any]) -> str:
    """A bank document as YAML: keys in the given order, multi-line text as block scalars."""

    def blocks(value: Any) -> Any:
        if isinstance(value, str) and "\n" in value:
            return _Literal(value)
        if isinstance(value, dict):
            return {k: _Flow(v) if k == "tags" else blocks(v) for k, v in value.items()}
        if isinstance(value, list):
            return [blocks(v) for v in value]
        return value

    return yaml.dump(
        blocks(document),
        Dumper=_Dumper,
        allow_unicode=True,
        sort_keys=False,
        width=1_000_000,
        indent=2,
    )


def bank_document(article: Article, *, bank_id: str, language: str, source: str) -> dict[str, Any]:
    """The bank file's content: a header and one question per question of the article."""
    numbers = [q.number for q in article.questions]
    use_numbers = None not in numbers and len(set(numbers)) == len(numbers)
    questions = []
    for index, q in enumerate(article.questions, 1):
        suffix = q.number if use_numbers else index
        questions.append(
            {
                "id": f"{bank_id}-{suffix}",
                "question": q.question,
                "reference": q.answer,
            }
        )
    header = {
        "id": bank_id,
        "title": article.title or bank_id,
        "language": language,
        "source": source,
        "license": "",
        "description": "Imported from an article by `interviewer bank import`; "
        "references are the article's answers as written.",
    }
    return {"bank": header, "questions": questions}


def draft_bank(path: Path, *, bank_id: str | None = None, language: str | None = None) -> Draft:
    """Parse an article and build a validated bank file from it."""
    if bank_id is not None and not re.fullmatch(ID_PATTERN, bank_id):
        raise BankError(
            f"--bank-id '{bank_id}': use letters, digits, '.', '_' and '-' only "
            "(starting with a letter or digit), e.g. my-article."
        )
    if language is not None and not re.fullmatch(r"[a-z]{2,3}(-[A-Za-z0-9]+)?", language):
        raise BankError(f"--language '{language}': use a language tag such as en, zh or pt-BR.")
    article = read_article(path)
    if not article.questions:
        raise BankError(f"{path}: no question with an answer found.")
    chosen_id = bank_id or slug(path.stem)
    document = bank_document(
        article,
        bank_id=chosen_id,
        language=language or detect_language(article),
        source=f"{path.name} (imported article)",
    )
    text = dump_bank(document)
    with tempfile.TemporaryDirectory() as tmp:
        check = Path(tmp) / f"{chosen_id}.yaml"
        check.write_text(text, encoding="utf-8")
        try:
            bank = load_bank_file(check)
        except BankError as exc:
            raise BankError(f"{path}: the drafted bank is invalid: {exc}") from None
    return Draft(text, bank, article.notices)


def write_draft(draft: Draft, dest: Path) -> None:
    """Write a draft bank file (replacing any file there)."""
    write_atomic(dest, draft.text.encode("utf-8"))
