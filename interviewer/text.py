"""CJK-aware text analysis for the offline grader: language, normalisation, units, sentences.

Chinese has no spaces between words, so whitespace tokenisation sees a whole Chinese
sentence as one "word". Everything here treats the two scripts on their own terms:

* English (and any Latin-script run, including the English terms inside Chinese text) is
  split into words, normalised, lightly stemmed and stripped of stopwords.
* Chinese (Han, plus kana so that Japanese does not fall through) is cut into character
  unigrams and bigrams. Bigrams approximate words without a dictionary; unigrams give partial
  credit for a paraphrase that shares characters but not whole words.

Sentences and clauses are returned as substrings of the original text, never normalised
copies, so a grader can quote them and the quote really occurs in the answer.

Only the standard library is used: ``import interviewer.text`` must stay cheap because the
interactive commands load the offline grader on start-up.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from typing import Literal

Language = Literal["zh", "en"]

# A CJK share at or above this among letters marks a text as Chinese. Chinese technical
# prose carries many Latin terms (TCP, O(n), pop), so the threshold is well below one half.
ZH_THRESHOLD = 0.25

# Characters of Chinese per English word, for length comparisons across languages. Parallel
# corpora put the ratio between 1.4 and 1.8; the middle is close enough for length sanity.
CJK_CHARS_PER_UNIT = 1.6

_CJK_RANGES = (
    (0x3040, 0x30FF),  # hiragana, katakana
    (0x3400, 0x4DBF),  # CJK extension A
    (0x4E00, 0x9FFF),  # CJK unified ideographs
    (0xF900, 0xFAFF),  # compatibility ideographs
    (0x20000, 0x2FA1F),  # extensions B-F and compatibility supplement
)

# NFKC folds full-width ASCII (，（１） -> ,(1)) but leaves CJK punctuation alone.
_CJK_PUNCT = str.maketrans(
    {
        "。": ".",
        "、": ",",
        "；": ";",
        "：": ":",
        "「": '"',
        "」": '"',
        "『": '"',
        "』": '"',
        "【": "[",
        "】": "]",
        "《": '"',
        "》": '"',
        "〈": "<",
        "〉": ">",
        "“": '"',
        "”": '"',
        "‘": "'",
        "’": "'",
        "—": "-",
        "–": "-",
        "·": " ",
        "\u3000": " ",
    }
)

_STOPWORD_LIST = """
    a about above after again against all also am an and any are aren as at be because been
    before being below between both but by can cannot could did didn do does doesn doing don
    down during each either etc few for from further had has have having he her here hers him
    his how however i if in into is isn it its itself just let like may me might more most
    must my no nor not of off on once only or other our ours out over own per same shall she
    should so some such than that the their theirs them then there these they this those
    through thus to too under until up upon us very via was we were what when where whether
    which while who whom why will with within without would yes yet you your e g ie eg i.e
    one two three four five first second third many much lot lots thing things something
    way ways kind also
"""
STOPWORDS: frozenset[str] = frozenset(_STOPWORD_LIST.split())

# Function characters that say nothing on their own: they are dropped as unigrams, and a
# bigram containing one (表的, 度为, 可以) is dropped too. Such a bigram mostly straddles a
# word boundary; without a dictionary these are the boundaries we can see, and dropping
# them beat keeping them on the graded Chinese answers (the function words lost with them,
# 可以/因为/所以, carry no content anyway).
_ZH_STOP_CHARS = frozenset(
    "的了是在和与及或也就都而且但并即这那其之为以于被把让给对等个些有会能可要将着过所如若则"
    "我你他她它们吗呢吧啊呀么很还又再更最已从到向由"
)

# Variant spellings of one term, common in Chinese computing texts: folded onto one form so
# that 头结点 and 头节点 match.
_ZH_VARIANTS = (("结点", "节点"), ("储存", "存储"), ("存贮", "存储"))

_WORD_RE = re.compile(
    r"o\([^()\n]{1,16}\)"  # big-O notation: O(1), O(n log n)
    r"|[a-z][a-z0-9]*(?:['_][a-z0-9]+)*"  # words, snake_case and contractions
    r"|\d+(?:\.\d+)?"  # numbers, decimals kept whole
)
_LIST_MARKER_RE = re.compile(
    r"^\s*(?:[-*•●○▪►]+|\(?\d{1,2}[.)、:](?!\d)|\(?[a-z][.)](?=\s)|\(?[ivx]{1,4}\)|[①-⑳])\s*",
    re.IGNORECASE,
)
_SENTENCE_END_RE = re.compile(r"[。！？!?；;]+|\n|\.(?=\s|$)")
_CLAUSE_END_RE = re.compile(r"[,，、:：]")
_ABBREVIATIONS = frozenset({"e.g", "i.e", "eg", "ie", "etc", "vs", "cf", "approx", "resp"})


# Character classes built from the ranges: scanning with a regex is far faster than testing
# characters one by one in Python.
_CJK_CLASS = "".join(f"{chr(lo)}-{chr(hi)}" for lo, hi in _CJK_RANGES)
_CJK_CHAR_RE = re.compile(f"[{_CJK_CLASS}]")
_CJK_RUN_RE = re.compile(f"[{_CJK_CLASS}]+")
_LETTER_RE = re.compile(r"[^\W\d_]")


def is_cjk(char: str) -> bool:
    """Whether ``char`` is a Chinese/Japanese ideograph or kana."""
    return bool(_CJK_CHAR_RE.fullmatch(char))


def cjk_share(text: str) -> float:
    """Share of CJK characters among the letters of ``text`` (0.0 for no letters)."""
    cjk = len(_CJK_CHAR_RE.findall(text))
    letters = len(_LETTER_RE.findall(text))  # CJK characters are letters too
    return cjk / letters if letters else 0.0


def detect_language(text: str) -> Language:
    """Return "zh" when enough of the letters are CJK, else "en" (also for empty text)."""
    return "zh" if cjk_share(text) >= ZH_THRESHOLD else "en"


def is_chinese(language: str) -> bool:
    """Whether a language tag (zh, zh-CN, zh-Hans...) means Chinese."""
    return language.lower().startswith("zh")


def normalise(text: str) -> str:
    """NFKC, lower case, CJK punctuation folded to ASCII, whitespace collapsed."""
    folded = unicodedata.normalize("NFKC", text).translate(_CJK_PUNCT).casefold()
    return " ".join(folded.split())


@lru_cache(maxsize=65536)
def stem_word(word: str) -> str:
    """A light suffix stripper: simulate/simulates/simulated/simulating/simulation agree.

    Deliberately cruder than Porter: it only has to map inflections of one word onto one
    key, and over-stemming two related words together is harmless for coverage scoring.
    """
    if len(word) <= 3 or not word.isalpha():
        return word
    w = word
    if w.endswith("'s"):
        w = w[:-2]
    for suffix, replacement in (
        ("ational", "ate"),
        ("ations", "ate"),
        ("ation", "ate"),
        ("ements", ""),
        ("ement", ""),
        ("ments", ""),
        ("ment", ""),
        ("ities", ""),
        ("ity", ""),
        ("ness", ""),
        ("ings", ""),
        ("ing", ""),
        ("ions", ""),
        ("ion", ""),
        ("edly", ""),
        ("ied", "y"),
        ("ies", "y"),
        ("ed", ""),
        ("ers", ""),
        ("er", ""),
        ("ly", ""),
        ("sses", "ss"),
        ("es", ""),
        ("s", ""),
    ):
        if w.endswith(suffix) and len(w) - len(suffix) + len(replacement) >= 3:
            if suffix == "s" and w.endswith(("ss", "us", "is")):
                continue
            w = w[: len(w) - len(suffix)] + replacement
            break
    if w.endswith("our") and len(w) > 5:  # behaviour -> behavior
        w = w[:-3] + "or"
    # Undo the doubled consonant of stopped/running and the silent e of simulate.
    if len(w) >= 4 and w[-1] == w[-2] and w[-1] not in "aeiouls":
        w = w[:-1]
    if len(w) > 3 and w.endswith("e"):
        w = w[:-1]
    return w


def _latin_tokens(segment: str, *, plain: bool, out: list[str]) -> None:
    for match in _WORD_RE.finditer(segment):
        token = match.group()
        if token.startswith("o("):
            out.append("o(" + "".join(token[2:-1].split()) + ")")
        elif plain:
            out.append(token)
        elif token not in STOPWORDS:
            out.append(stem_word(token))


def _cjk_tokens(run: str, *, plain: bool, out: list[str]) -> None:
    if plain:
        out.extend(run)
        return
    for variant, canonical in _ZH_VARIANTS:
        if variant in run:
            run = run.replace(variant, canonical)
    for i, char in enumerate(run):
        if char not in _ZH_STOP_CHARS:
            out.append(char)
        if i + 1 < len(run) and char not in _ZH_STOP_CHARS and run[i + 1] not in _ZH_STOP_CHARS:
            out.append(char + run[i + 1])


def tokenise(text: str, *, plain: bool = False) -> list[str]:
    """Cut ``text`` into content units, in order, with repeats.

    Default: stemmed English content words (no stopwords) plus Chinese character unigrams
    and bigrams (function characters dropped). ``plain=True`` gives the unweighted baseline
    view instead: every normalised word unstemmed, and every Chinese character on its own.
    """
    norm = normalise(text)
    units: list[str] = []
    start = 0
    for run in _CJK_RUN_RE.finditer(norm):
        if run.start() > start:
            _latin_tokens(norm[start : run.start()], plain=plain, out=units)
        _cjk_tokens(run.group(), plain=plain, out=units)
        start = run.end()
    if start < len(norm):
        _latin_tokens(norm[start:], plain=plain, out=units)
    return units


def is_unigram(unit: str) -> bool:
    """Whether a unit is a single CJK character (weak evidence on its own)."""
    return len(unit) == 1 and is_cjk(unit)


def count_units(text: str) -> float:
    """Length of ``text`` in units comparable across languages (about one English word each).

    Latin-script words count one each, stopwords included; CJK characters count
    ``1 / CJK_CHARS_PER_UNIT`` each.
    """
    norm = normalise(text)
    cjk = len(_CJK_CHAR_RE.findall(norm))
    latin = sum(1 for _ in _WORD_RE.finditer(_CJK_RUN_RE.sub(" ", norm)))
    return latin + cjk / CJK_CHARS_PER_UNIT


def strip_list_marker(text: str) -> str:
    """Remove a leading list marker ("1.", "①", "-", "(a)", "ii)") and surrounding spaces."""
    return _LIST_MARKER_RE.sub("", text, count=1).strip()


def _is_abbreviation(text: str, dot: int) -> bool:
    start = dot
    while start > 0 and (text[start - 1].isalpha() or text[start - 1] == "."):
        start -= 1
    word = text[start:dot].lower()
    return word in _ABBREVIATIONS or (len(word) == 1 and word.isalpha())


def _is_list_number(text: str) -> bool:
    """Whether a would-be sentence is just the number of a list item ("2" in "2. Item")."""
    stripped = text.strip()
    return 0 < len(stripped) <= 2 and stripped.isdigit()


def _has_content(text: str) -> bool:
    return any(char.isalnum() for char in strip_list_marker(text))


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) offsets of the sentences of ``text``, stripped, terminators included.

    A sentence ends at 。！？；!?; a line break, or a full stop followed by a space, except
    after an abbreviation (e.g., i.e., etc.) or an initial. Pieces with no letter or digit
    (a lone list marker, a dash) are dropped.
    """
    spans: list[tuple[int, int]] = []
    start = 0
    for match in _SENTENCE_END_RE.finditer(text):
        if match.group() == "." and (
            _is_abbreviation(text, match.start()) or _is_list_number(text[start : match.start()])
        ):
            continue
        _add_span(text, start, match.end(), spans)
        start = match.end()
    _add_span(text, start, len(text), spans)
    return spans


def _add_span(text: str, start: int, end: int, spans: list[tuple[int, int]]) -> None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    if end > start and _has_content(text[start:end]):
        spans.append((start, end))


def split_sentences(text: str) -> list[str]:
    """The sentences of ``text`` as substrings of it (see ``sentence_spans``)."""
    return [text[a:b] for a, b in sentence_spans(text)]


def clause_spans(text: str, *, min_units: float = 3.0) -> list[tuple[int, int]]:
    """(start, end) offsets of clauses: sentences cut further at commas, 、 and colons.

    A clause shorter than ``min_units`` is joined to the next one in the same sentence, so
    that "TCP, UDP" does not fall apart into single words.
    """
    spans: list[tuple[int, int]] = []
    for s_start, s_end in sentence_spans(text):
        pieces: list[tuple[int, int]] = []
        start = s_start
        depth = 0
        scanned = s_start
        for match in _CLAUSE_END_RE.finditer(text, s_start, s_end):
            segment = text[scanned : match.start()]
            scanned = match.start()
            depth = max(
                0,
                depth
                + sum(segment.count(c) for c in "(（[")
                - sum(segment.count(c) for c in ")）]"),
            )
            # A comma inside brackets (e.g. RLHF, DPO), inside a number (1,000) or a colon in
            # a time is not a clause break.
            before = text[match.start() - 1] if match.start() > 0 else ""
            after = text[match.end()] if match.end() < len(text) else ""
            if depth > 0 or (before.isdigit() and after.isdigit()):
                continue
            _add_span(text, start, match.end(), pieces)
            start = match.end()
        _add_span(text, start, s_end, pieces)
        merged: list[tuple[int, int]] = []
        pending: tuple[int, int] | None = None
        for piece in pieces:
            current = (pending[0], piece[1]) if pending else piece
            if count_units(text[current[0] : current[1]]) < min_units:
                pending = current
            else:
                merged.append(current)
                pending = None
        if pending is not None:
            if merged:
                merged[-1] = (merged[-1][0], pending[1])
            else:
                merged.append(pending)
        spans.extend(merged)
    return spans


def split_clauses(text: str, *, min_units: float = 3.0) -> list[str]:
    """The clauses of ``text`` as substrings of it (see ``clause_spans``)."""
    return [text[a:b] for a, b in clause_spans(text, min_units=min_units)]
