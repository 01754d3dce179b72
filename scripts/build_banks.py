"""Build the bundled banks that are converted from published question sets.

    python scripts/build_banks.py --handbook PATH/llm-handbook-zh --ds PATH/ds-interviews-en

writes bank/llm-handbook-zh.yaml (all 81 questions of the MIT-licensed llm-interview-handbook)
and bank/ds-theory-en.yaml (the answered questions of theory.md from the CC BY 4.0
data-science-interviews repository). The sources are the repositories at the commits named in
each bank's header. Questions are found with the article parser of `interviewer bank import`;
what the project wrote itself lives in scripts/bank_sources/ and is merged in:

- llm-handbook-zh.header.yaml, ds-theory-en.header.yaml: the bank headers and the license
  comments at the top of the files;
- llm-handbook-zh.curated.yaml: 29 hand-curated entries, copied unchanged (their ids and
  grading identity stay stable);
- llm-handbook-zh.questions.yaml: the question, topic, difficulty and tags of the other 52
  (the handbook titles its sections by topic);
- llm-handbook-zh.notes.yaml: corrections of checked handbook references (reference_notes);
- llm-handbook-zh.key_points.yaml: key points for the questions whose answer states them;
- ds-theory-en.notes.yaml: corrections of checked references (reference_notes), by id.

Run it again after editing those files; the output is deterministic.
"""

from __future__ import annotations

import argparse
import re
import sys
import unicodedata
import urllib.parse
from pathlib import Path
from typing import Any

import yaml

from interviewer.bank.articles import ArticleQuestion, parse_text
from interviewer.bank.drafts import dump_bank
from interviewer.bank.library import load_bank_file

ROOT = Path(__file__).resolve().parent.parent
SOURCES = Path(__file__).resolve().parent / "bank_sources"
MAX_KEY_POINT_CELLS = 110


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def cells(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def write_bank(path: Path, comment: str, document: dict[str, Any]) -> None:
    lines = "".join(f"# {line}".rstrip() + "\n" for line in comment.strip("\n").split("\n"))
    path.write_text(lines + dump_bank(document), encoding="utf-8")
    bank = load_bank_file(path)  # the output must load like any bank
    print(f"{path}: {len(bank.questions)} questions")


# --------------------------------------------------------------------------- handbook

FOLLOW_UP = re.compile(r"^- \*\*Q[：:]\s*(.+?)\*\*\s*$")


def handbook_sections(docs: Path) -> list[tuple[str, ArticleQuestion]]:
    """Every question of the handbook as (CHAPTER-NN, question), in chapter order."""
    found = []
    for path in sorted(docs.glob("[0-9][0-9]-*.md")):
        article = parse_text(path.read_text(encoding="utf-8"))
        numbers = [q.number for q in article.questions]
        if numbers != list(range(1, len(numbers) + 1)):
            sys.exit(f"{path}: questions are numbered {numbers}; check the parser's notices")
        found += [(f"{path.name[:2]}-{q.number:02d}", q) for q in article.questions]
    return found


def follow_ups(answer: str) -> list[str]:
    """The follow-up questions of the handbook's 追问 section ("- **Q：…**")."""
    return [m.group(1).strip() for line in answer.splitlines() if (m := FOLLOW_UP.match(line))]


def key_points(answer: str) -> list[str]:
    """The bullets of the opening 🎯 section, when they are 3–6 short self-contained points."""
    match = re.match(r"### 🎯[^\n]*\n+((?:- [^\n]+\n?)+)(?:\n|$)", answer)
    if not match:
        return []
    points = [re.sub(r"\*\*|\$", "", line[2:]).strip() for line in match.group(1).splitlines()]
    if not 3 <= len(points) <= 6 or any(cells(p) > MAX_KEY_POINT_CELLS for p in points):
        return []
    return points


def handbook_entry(key: str, q: ArticleQuestion, meta: dict[str, Any]) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "id": f"llm-handbook-zh-{key}",
        "topic": meta["topic"],
        "difficulty": meta["difficulty"],
        "tags": meta["tags"],
        "question": meta["question"],
        "reference": q.answer,
    }
    if meta.get("reference_notes"):
        entry["reference_notes"] = meta["reference_notes"]
    points = meta.get("key_points") or key_points(q.answer)
    if points:
        entry["key_points"] = points
    asked = follow_ups(q.answer)
    if asked:
        entry["follow_ups"] = asked
    return entry


def build_handbook(source: Path, out: Path) -> None:
    curated_file = load_yaml(SOURCES / "llm-handbook-zh.curated.yaml")
    curated = {q["id"]: q for q in curated_file["questions"]}
    written = load_yaml(SOURCES / "llm-handbook-zh.questions.yaml")
    for key, note in load_yaml(SOURCES / "llm-handbook-zh.notes.yaml").items():
        written[key]["reference_notes"] = note
    for key, points in load_yaml(SOURCES / "llm-handbook-zh.key_points.yaml").items():
        written[key]["key_points"] = points
    questions = []
    for key, q in handbook_sections(source / "docs"):
        qid = f"llm-handbook-zh-{key}"
        if qid in curated:
            questions.append(curated.pop(qid))
        elif key in written:
            questions.append(handbook_entry(key, q, written.pop(key)))
        else:
            sys.exit(f"no curated entry and no question text for handbook question {key}")
    if curated or written:
        sys.exit(f"entries for questions the handbook does not have: {[*curated, *written]}")
    header = load_yaml(SOURCES / "llm-handbook-zh.header.yaml")
    document = {"bank": header["bank"], "questions": questions}
    write_bank(out / "llm-handbook-zh.yaml", header["comment"], document)


# --------------------------------------------------------------------------- data science

DS_TOPICS = {
    "Supervised machine learning": "supervised-learning",
    "Linear regression": "regression",
    "Validation": "validation",
    "Classification": "classification",
    "Regularization": "regularization",
    "Feature selection": "feature-selection",
    "Decision trees": "trees",
    "Random forest": "ensembles",
    "Gradient boosting": "ensembles",
    "Parameter tuning": "tuning",
    "Neural networks": "neural-networks",
    "Optimization in neural networks": "optimization",
    "Neural networks for computer vision": "computer-vision",
    "Text classification": "nlp",
    "Clustering": "clustering",
    "Dimensionality reduction": "dimensionality-reduction",
    "Ranking and search": "ranking",
    "Recommender systems": "recommenders",
    "Time series": "time-series",
}
DS_TAGS = {
    "Random forest": "random-forest",
    "Gradient boosting": "gradient-boosting",
    "Decision trees": "decision-trees",
}
DIFFICULTY = {"👶": "easy", "⭐": "medium", "🚀": "hard"}
# Two questions of theory.md are not written as questions, so the parser would read them as
# part of the answer before them; they are repaired before parsing.
SOURCE_FIXES = [
    (
        "**Precision-recall trade-off \u200d⭐️**",
        "**What is the precision-recall trade-off? \u200d⭐️**",
    ),
    ("Is it a useful metric? \u200d⭐️I**", "Is it a useful metric? \u200d⭐️**"),
]
PLACEHOLDER = re.compile(r"^(Answer here|For specifics, refer to the above answer)", re.I)
MATH_IMAGE = re.compile(
    r'<img src="https://render\.githubusercontent\.com/render/math\?math=([^"]+)">'
)


def clean_markup(text: str) -> str:
    """The few HTML bits of theory.md as Markdown: formulas, <sub>, <strong>, <b>, <i>, <br/>."""
    text = MATH_IMAGE.sub(lambda m: "$" + urllib.parse.unquote(m.group(1)) + "$", text)
    text = re.sub(r"<sub>(.*?)</sub>", r"_\1", text)
    text = re.sub(r"</?strong>", "", text)
    text = re.sub(r"<b>(.*?)</b>", r"**\1**", text)
    text = re.sub(r"<i>(.*?)</i>", r"*\1*", text)
    text = re.sub(r"[ \t]*<br\s*/?>[ \t]*", "\n", text)
    text = re.sub(r"[ \t]+\n", "\n", text)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def ds_question(q: ArticleQuestion) -> tuple[str, str]:
    """The question without its difficulty emoji, and the difficulty it stood for."""
    mark = next((level for emoji, level in DIFFICULTY.items() if emoji in q.question), "medium")
    text = re.sub(r"[\u200d\ufe0f👶⭐🚀]", "", q.question).strip()
    return text, mark


def build_ds(source: Path, out: Path) -> None:
    text = (source / "theory.md").read_text(encoding="utf-8")
    for old, new in SOURCE_FIXES:
        if old not in text:
            sys.exit(f"theory.md changed: {old!r} not found")
        text = text.replace(old, new)
    lines = text.split("\n")
    sections = [
        (i + 1, " ".join(line[3:].split()))
        for i, line in enumerate(lines)
        if line.startswith("## ")
    ]
    notes = load_yaml(SOURCES / "ds-theory-en.notes.yaml") or {}
    questions, skipped = [], []
    for number, q in enumerate(parse_text(text).questions, 1):
        section = max((s for s in sections if s[0] < q.line), key=lambda s: s[0])[1]
        qid = f"ds-theory-en-{number:03d}"
        question, difficulty = ds_question(q)
        answer = clean_markup(q.answer)
        if not answer or PLACEHOLDER.match(answer):
            skipped.append(qid)
            continue
        topic = DS_TOPICS[section]
        entry: dict[str, Any] = {
            "id": qid,
            "topic": topic,
            "difficulty": difficulty,
            "tags": [DS_TAGS.get(section, topic)],
            "question": question,
            "reference": answer,
        }
        if qid in notes:
            entry["reference_notes"] = notes.pop(qid)
        questions.append(entry)
    if notes:
        sys.exit(f"notes for questions that are not in the bank: {sorted(notes)}")
    header = load_yaml(SOURCES / "ds-theory-en.header.yaml")
    bank = header["bank"]
    bank["description"] = bank["description"].format(count=len(questions), skipped=len(skipped))
    write_bank(out / "ds-theory-en.yaml", header["comment"], {"bank": bank, "questions": questions})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--handbook", type=Path, required=True, help="llm-interview-handbook copy")
    parser.add_argument("--ds", type=Path, required=True, help="data-science-interviews copy")
    parser.add_argument("--out", type=Path, default=ROOT / "bank", help="bank directory")
    args = parser.parse_args()
    build_handbook(args.handbook, args.out)
    build_ds(args.ds, args.out)


if __name__ == "__main__":
    main()
