"""Finding the questions and answers in an interview-question article (Markdown or text).

Articles found on the web number their questions (``41、`` ``41.`` ``第41题`` ``Q41:``
``**Q41.**``), give each one a heading (``### …？``), or set each in bold, and often label the
answer (``答案:``, ``Answer:``). The same article also holds things that look like questions
and are not: numbered lists and headings inside answers, comments in code blocks, a preamble
and closing text. So the parser first collects every line that *could* start a question,
groups them by style (``41、`` is not the same style as ``1.``), picks the style that looks
most like a question sequence (question marks, answer labels, consecutive numbers), and only
then cuts the article at those lines. Whatever it leaves out or is unsure about is reported
with its line number, so a user can check the draft before relying on it.

HTML articles are turned into the same Markdown-like lines first (see html_article.py).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from interviewer.bank.article_ends import ANSWER_LABEL, last_answer_end
from interviewer.errors import BankError

FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
HEADING = re.compile(r"^ {0,3}(#{1,6})[ \t]+(.*?)[ \t]*#*[ \t]*$")
RULE = re.compile(r"^ {0,3}([-*_])([ \t]*\1){2,}[ \t]*$")
NUMBERED = re.compile(
    r"""^(?P<indent>[ \t]*)(?P<bold>\*\*)?[ \t]*(?:
        (?P<q>Q|Question|问题|题目)[ \t]*(?P<n1>\d{1,4})[ \t]*(?P<s1>[.．:：、)）])?
      | 第[ \t]*(?P<n2>\d{1,4})[ \t]*[题道问](?P<s2>)[ \t]*[.．:：、)）]?
      | (?P<n3>\d{1,4})[ \t]*(?P<s3>[、.．)）])(?!\d)
    )[ \t]*(?:\*\*)?[ \t]*(?P<text>.*)$""",
    re.X | re.I,
)
QUESTION_LABEL = re.compile(
    r"^(?P<indent>[ \t]*)(?P<bold>\*\*)?[ \t]*(?:Q|Question|问|问题)[ \t]*[:：][ \t]*(?:\*\*)?"
    r"[ \t]*(?P<text>.*)$",
    re.I,
)
BOLD_LINE = re.compile(r"^(?P<indent>[ \t]*)\*\*(?P<text>[^*].*?)\*\*[ \t]*$")
QUESTION_END = re.compile(r"[?？]\W*$")


@dataclass(frozen=True)
class Notice:
    """Something the parser skipped or was unsure about, at 1-based lines of the article.

    ``end`` closes a range of lines; ``ref`` is another line the message speaks of, written
    ``{ref}`` in ``message`` (kept apart so that lines can be mapped back to an HTML source).
    """

    line: int
    message: str
    end: int | None = None
    ref: int | None = None

    @property
    def text(self) -> str:
        where = f" (lines {self.line}–{self.end})" if self.end and self.end != self.line else ""
        return self.message.replace("{ref}", str(self.ref)) + where


@dataclass(frozen=True)
class ArticleQuestion:
    """One question found in an article, with its answer as written."""

    line: int
    question: str
    answer: str
    number: int | None = None


@dataclass
class Article:
    """The questions of an article and what was skipped on the way."""

    questions: list[ArticleQuestion]
    notices: list[Notice] = field(default_factory=list)
    title: str = ""


@dataclass(frozen=True)
class _Candidate:
    index: int  # 0-based line index
    style: tuple[str, ...]
    text: str
    indent: int
    number: int | None
    level: int = 0  # heading level, 0 for other styles
    marked: bool = False  # the number carries a question marker (Q41, 第41题)


def _code_lines(lines: Sequence[str]) -> set[int]:
    """Indexes of lines inside fenced code blocks (fences included)."""
    inside: set[int] = set()
    opener: str | None = None
    for i, line in enumerate(lines):
        match = FENCE.match(line)
        if opener is None and match:
            opener = match.group(1)
            inside.add(i)
        elif opener is not None:
            inside.add(i)
            if match and match.group(1)[0] == opener[0] and len(match.group(1)) >= len(opener):
                opener = None
    return inside


def _clean_question(text: str) -> str:
    text = text.strip()
    if text.endswith("**") and text.count("**") % 2:
        text = text[:-2].rstrip()
    if text.startswith("**") and text.endswith("**") and len(text) > 4:
        text = text[2:-2].strip()
    return text


def _candidate(index: int, line: str) -> _Candidate | None:
    heading = HEADING.match(line)
    if heading:
        level = len(heading.group(1))
        text = heading.group(2).strip()
        inner = NUMBERED.match(text)
        number = _number(inner) if inner else None
        if inner and inner.group("text").strip():
            text = inner.group("text").strip().lstrip("·•-—: ").strip()
        marked = bool(inner and (inner.group("n1") or inner.group("n2")))
        cleaned = _clean_question(text)
        return _Candidate(index, ("heading", str(level)), cleaned, 0, number, level, marked)
    if ANSWER_LABEL.match(line) and not NUMBERED.match(line):
        return None
    numbered = NUMBERED.match(line)
    if numbered and numbered.group("text").strip():
        kind = "q" if numbered.group("n1") else "di" if numbered.group("n2") is not None else "n"
        sep = (numbered.group("s1") or numbered.group("s3") or "").translate(_SEPARATORS)
        style = ("numbered", kind, sep, "bold" if numbered.group("bold") else "")
        indent = len(numbered.group("indent").expandtabs(4))
        text = _clean_question(numbered.group("text"))
        return _Candidate(index, style, text, indent, _number(numbered))
    labelled = QUESTION_LABEL.match(line)
    if labelled and labelled.group("text").strip():
        label_style = ("label", "bold" if labelled.group("bold") else "")
        indent = len(labelled.group("indent").expandtabs(4))
        text = _clean_question(labelled.group("text"))
        return _Candidate(index, label_style, text, indent, None)
    bold = BOLD_LINE.match(line)
    if bold:
        indent = len(bold.group("indent").expandtabs(4))
        return _Candidate(index, ("bold",), bold.group("text").strip(), indent, None)
    return None


_SEPARATORS = str.maketrans({"．": ".", "：": ":", "）": ")"})


def _number(match: re.Match[str]) -> int | None:
    raw = match.group("n1") or match.group("n2") or match.group("n3")
    return int(raw) if raw else None


def _answer_follows(lines: Sequence[str], start: int, code: set[int]) -> bool:
    """Whether an answer label opens one of the next few non-blank lines."""
    seen = 0
    for i in range(start + 1, min(len(lines), start + 8)):
        if not lines[i].strip():
            continue
        if i in code:
            return False
        if ANSWER_LABEL.match(lines[i]):
            return True
        seen += 1
        if seen >= 3 or _candidate(i, lines[i]) is not None:
            return False
    return False


def _strength(c: _Candidate, lines: Sequence[str], code: set[int]) -> int:
    """How much a candidate looks like a question: question mark, answer label, number."""
    score = 2 if QUESTION_END.search(c.text) else 0
    score += 2 if _answer_follows(lines, c.index, code) else 0
    if c.number is None:
        return score
    # "Q41" and "第41题" say "question" outright; a bare "41." may be any list item.
    return score + (4 if c.style[1:2] in (("q",), ("di",)) or c.marked else 1)


def _choose_style(cands: Sequence[_Candidate], strength: dict[int, int]) -> tuple[str, ...]:
    totals: dict[tuple[str, ...], int] = {}
    seen: set[tuple[tuple[str, ...], str]] = set()
    for c in cands:
        # Sub-headings that repeat under every question ("Answer", "Follow-ups") are structure.
        repeat = (c.style, c.text) in seen
        seen.add((c.style, c.text))
        totals[c.style] = totals.get(c.style, 0) + (-2 if repeat else strength[c.index])
    best = max(totals.items(), key=lambda item: item[1])
    if best[1] == 0:
        raise BankError(
            "No questions found: expected numbered questions (41、 41. 第41题 Q41:), "
            "one heading per question ending in '?', or bold questions."
        )
    return best[0]


def _select(
    cands: Sequence[_Candidate], strength: dict[int, int], notices: list[Notice]
) -> list[_Candidate]:
    """The candidates of the chosen style that really start questions, in order."""
    style = _choose_style(cands, strength)
    chosen = [c for c in cands if c.style == style]
    indent = min(c.indent for c in chosen)
    chosen = [c for c in chosen if c.indent == indent]
    strong = {c.index for c in chosen if strength[c.index] >= 2}
    mostly_strong = len(strong) * 2 >= len(chosen)
    kept: list[_Candidate] = []
    for n, c in enumerate(chosen):
        weak = c.index not in strong
        number, previous = c.number, kept[-1].number if kept else None
        if number is None or (kept and previous is None):
            if not (weak and mostly_strong):
                kept.append(c)
        elif previous is None:
            if not weak or not any(o.number == number for o in chosen[n + 1 :]):
                kept.append(c)
        elif number == previous + 1:
            # A weak item numbered like the next question is a list item inside this answer
            # when a real question with that number follows.
            later = any(o.number == number and o.index in strong for o in chosen[n + 1 :])
            if not (weak and later):
                kept.append(c)
        elif number > previous and not (weak and mostly_strong):
            notices.append(
                Notice(c.index + 1, f"question numbers jump from {previous} to {number}")
            )
            kept.append(c)
        elif strength[c.index] >= 4 and number != previous:
            notices.append(Notice(c.index + 1, f"question {number} is out of order; kept"))
            kept.append(c)
        # anything else is a numbered item inside the previous answer
    return kept


@dataclass
class _Span:
    cand: _Candidate
    end: int  # exclusive line index


def _boundary(line: str, cand: _Candidate) -> bool:
    """Whether a line ends the answer of the question ``cand`` (a section heading, a rule)."""
    if RULE.match(line):
        return True
    heading = HEADING.match(line)
    if heading is None:
        return False
    return cand.level == 0 or len(heading.group(1)) <= cand.level


@dataclass
class _Body:
    question: str
    answer: str
    label_number: int | None = None
    label_line: int | None = None


def _body(lines: Sequence[str], span: _Span, code: set[int]) -> _Body:
    """Split a question's lines into the question text and the answer as written."""
    cand = span.cand
    start = cand.index + 1
    label_at = next(
        (
            i
            for i in range(start, span.end)
            if i not in code and lines[i].strip() and ANSWER_LABEL.match(lines[i])
        ),
        None,
    )
    question = cand.text
    body_start = start
    label_number = None
    if label_at is not None:
        between = [line.strip() for line in lines[start:label_at]]
        while between and not between[-1]:
            between.pop()
        if all(between) and len(between) <= 3:
            # The question carries on up to its answer label.
            question = " ".join([question, *between]).strip()
            body_start = label_at
    answer_lines = list(lines[body_start : span.end])
    if label_at is not None and body_start == label_at:
        match = ANSWER_LABEL.match(answer_lines[0])
        assert match is not None
        label_number = int(match.group("n")) if match.group("n") else _leading_number(match[0])
        answer_lines[0] = answer_lines[0][match.end() :]
    while answer_lines and not answer_lines[0].strip():
        answer_lines.pop(0)
    while answer_lines and (not answer_lines[-1].strip() or RULE.match(answer_lines[-1])):
        answer_lines.pop()
    answer = "\n".join(line.rstrip() for line in answer_lines)
    if answer.endswith("**") and answer.count("**") % 2:
        answer = answer[:-2].rstrip()
    return _Body(question, answer, label_number, label_at)


def _leading_number(label: str) -> int | None:
    match = re.match(r"[ \t]*(\d{1,4})", label)
    return int(match.group(1)) if match else None


def _spans(
    lines: Sequence[str], kept: Sequence[_Candidate], code: set[int], notices: list[Notice]
) -> list[_Span]:
    spans: list[_Span] = []
    for n, cand in enumerate(kept):
        limit = kept[n + 1].index if n + 1 < len(kept) else len(lines)
        end = limit
        for i in range(cand.index + 1, limit):
            if i not in code and _boundary(lines[i], cand):
                end = i
                break
        spans.append(_Span(cand, end))
        if n + 1 < len(kept):
            _report_skipped(
                lines, end, limit, code, notices, "between answers (not part of any answer)"
            )
    return spans


def _trim_last(
    lines: Sequence[str], spans: list[_Span], code: set[int], notices: list[Notice]
) -> None:
    """End the last answer where closing text begins (see article_ends.last_answer_end)."""
    if not spans:
        return
    last = spans[-1]
    others = [(span.cand.index + 1, span.end) for span in spans[:-1]]
    last.end = last_answer_end(lines, (last.cand.index + 1, last.end), others, code)
    where = "after the last answer (closing text)"
    _report_skipped(lines, last.end, len(lines), code, notices, where)


def _report_skipped(
    lines: Sequence[str], start: int, end: int, code: set[int], notices: list[Notice], where: str
) -> None:
    used = [
        i
        for i in range(start, end)
        if lines[i].strip()
        and not RULE.match(lines[i])
        and (i in code or not HEADING.match(lines[i]))
    ]
    if used:
        notices.append(Notice(used[0] + 1, f"skipped {where}", end=used[-1] + 1))


def parse_lines(lines: Sequence[str]) -> Article:
    """Find the questions and answers in an article given as lines of Markdown or text."""
    code = _code_lines(lines)
    cands = [
        c
        for i, line in enumerate(lines)
        if i not in code and (c := _candidate(i, line)) is not None
    ]
    if not cands:
        raise BankError(
            "No questions found: expected numbered questions (41、 41. 第41题 Q41:), "
            "one heading per question ending in '?', or bold questions."
        )
    strength = {c.index: _strength(c, lines, code) for c in cands}
    notices: list[Notice] = []
    kept = _select(cands, strength, notices)
    _report_skipped(lines, 0, kept[0].index, code, notices, "before the first question (preamble)")
    spans = _spans(lines, kept, code, notices)
    _trim_last(lines, spans, code, notices)
    return _collect(lines, spans, code, notices)


def _collect(
    lines: Sequence[str], spans: Sequence[_Span], code: set[int], notices: list[Notice]
) -> Article:
    questions: list[ArticleQuestion] = []
    seen: dict[str, int] = {}
    for span in spans:
        cand = span.cand
        body = _body(lines, span, code)
        line = cand.index + 1
        if body.label_number is not None and body.label_line is not None:
            own = "its own" if body.label_number == cand.number else "another"
            notices.append(
                Notice(
                    body.label_line + 1,
                    f"answer labelled with {own} number ({body.label_number}); "
                    "taken as the answer to the question at line {ref}",
                    ref=line,
                )
            )
        if not body.answer:
            notices.append(Notice(line, f"skipped question without an answer: {body.question}"))
            continue
        key = re.sub(r"\s+", " ", body.question).casefold()
        if key in seen:
            notices.append(
                Notice(line, "skipped a repeat of the question at line {ref}", ref=seen[key])
            )
            continue
        seen[key] = line
        questions.append(ArticleQuestion(line, body.question, body.answer, cand.number))
    title = next((m.group(2) for ln in lines if (m := HEADING.match(ln)) and m.group(1) == "#"), "")
    notices.sort(key=lambda n: n.line)
    return Article(questions, notices, title.strip())


def parse_text(text: str) -> Article:
    """Find the questions and answers in a Markdown or plain-text article."""
    return parse_lines(text.replace("\r\n", "\n").replace("\r", "\n").split("\n"))
