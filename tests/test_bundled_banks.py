"""The bundled question banks: they load, hold the expected questions, and keep their promises.

The banks are content, so these tests check the properties the rest of the program and the
graders rely on: ids, key-point counts, that the Chinese original and the English translation
stay in step, that the article's known errors carry marked corrections, and that the format
documentation in bank/README.md matches what the loader accepts.
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import pytest
import yaml

from interviewer.bank.library import BankInfo, Library, Question, load_bank_file, load_library
from interviewer.config import builtin_bank_dir

from .conftest import REPO

BANK_DIR = REPO / "bank"
README = BANK_DIR / "README.md"
SUFFIXES = ["41", "42", "43", "44", "44b", "45", "46", "47", "48", "49", "50"]
MARKERS = {"zh": "【更正/补充】", "en": "[Correction / completion]"}
# One small vocabulary across the bundled banks, so that `--topic` works the same in each.
TOPICS = {
    "architecture",
    "training",
    "fine-tuning",
    "peft",
    "alignment",
    "prompting",
    "inference",
    "compression",
    "scaling",
    "rag",
    "evaluation",
    "systems",
    "foundations",
    "agents",
    "multimodal",
    # ds-theory-en
    "supervised-learning",
    "regression",
    "validation",
    "classification",
    "regularization",
    "feature-selection",
    "trees",
    "ensembles",
    "tuning",
    "neural-networks",
    "optimization",
    "computer-vision",
    "nlp",
    "clustering",
    "dimensionality-reduction",
    "ranking",
    "recommenders",
    "time-series",
}
# A key point is one line: at most this many terminal cells (CJK characters take two).
MAX_KEY_POINT_CELLS = 110
HANDBOOK = "llm-handbook-zh"
DS = "ds-theory-en"
SOURCES = REPO / "scripts" / "bank_sources"
CJK = re.compile(r"[\u3400-\u9fff\u3000-\u303f\uff00-\uffef]")


@pytest.fixture(scope="module")
def library() -> Library:
    return load_library([BANK_DIR])


def bundled_questions() -> list[Question]:
    return load_library([BANK_DIR]).questions


def bundled_bank_ids() -> list[str]:
    return [b.info.id for b in load_library([BANK_DIR]).banks]


def cells(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def curated_ids() -> set[str]:
    """Questions written or curated by hand: llm-zh, llm-en and the handbook's curated subset."""
    raw = yaml.safe_load((SOURCES / "llm-handbook-zh.curated.yaml").read_text(encoding="utf-8"))
    handbook = {entry["id"] for entry in raw["questions"]}
    return handbook | {q.id for q in bundled_questions() if q.bank in ("llm-zh", "llm-en")}


def suffix(question: Question) -> str:
    return question.id.removeprefix(question.bank + "-")


def test_builtin_bank_dir_loads_the_llm_banks():
    library = load_library([builtin_bank_dir()])
    ids = {b.info.id for b in library.banks}
    assert {"llm-zh", "llm-en"} <= ids


@pytest.mark.parametrize(("bank_id", "language"), [("llm-zh", "zh"), ("llm-en", "en")])
def test_llm_banks_hold_the_expected_questions_in_order(library, bank_id, language):
    bank = library.bank(bank_id)
    assert bank.info.language == language
    assert [q.id for q in bank.questions] == [f"{bank_id}-{s}" for s in SUFFIXES]
    assert all(q.language == language and q.bank == bank_id for q in bank.questions)


def test_headers_give_source_license_and_translation(library):
    zh = library.bank("llm-zh").info
    en = library.bank("llm-en").info
    assert zh.translation_of is None
    assert en.translation_of == "llm-zh"
    for info in (zh, en):
        assert "https://www.ai-blog.cn/2181.html" in info.source
        assert "AI智研社" in info.source
        assert "2025-01-08" in info.source
        assert "转载请注明出处" in info.license
        assert "44b" in info.description
    assert "translat" in en.description.lower()
    assert "interviewer project" in en.description


def test_all_bundled_banks_load_with_unique_ids_and_enough_questions():
    library = load_library([builtin_bank_dir()])
    ids = [q.id for q in library.questions]
    assert len(ids) == len(set(ids))
    bank_ids = [b.info.id for b in library.banks]
    assert len(bank_ids) == len(set(bank_ids))
    assert {"llm-zh", "llm-en", HANDBOOK, DS} <= set(bank_ids)
    assert len(ids) >= 250


@pytest.mark.parametrize("question", bundled_questions(), ids=lambda q: q.id)
def test_every_bundled_question_is_well_formed(question):
    assert question.question.strip()
    assert question.reference.strip()
    assert question.difficulty in {"easy", "medium", "hard"}
    # Key points are curated (3-6) or left to the grader to derive, never a token one or two.
    assert not question.key_points or 3 <= len(question.key_points) <= 6
    assert len(set(question.key_points)) == len(question.key_points)
    assert len(set(question.follow_ups)) == len(question.follow_ups)


@pytest.mark.parametrize("qid", sorted(curated_ids()))
def test_curated_questions_are_complete(library, qid):
    question = library.get(qid)
    assert 3 <= len(question.key_points) <= 6
    assert 2 <= len(question.follow_ups) <= 3


@pytest.mark.parametrize("bank_id", bundled_bank_ids())
def test_bundled_bank_conventions(library, bank_id):
    bank = library.bank(bank_id)
    assert bank.info.source
    assert bank.info.license
    for q in bank.questions:
        assert q.id.startswith(bank_id + "-"), q.id
        assert q.topic in TOPICS, q.id
        assert q.tags, q.id
        assert all(t == t.lower() and " " not in t for t in q.tags), q.id
        for point in q.key_points:
            assert cells(point) <= MAX_KEY_POINT_CELLS, (q.id, point)
        if q.reference_notes:
            assert q.reference_notes.startswith(MARKERS[q.language]), q.id
            assert q.reference_notes.strip() in q.full_reference


def test_english_edition_matches_the_chinese_one(library):
    zh = library.bank("llm-zh").questions
    en = library.bank("llm-en").questions
    assert [suffix(q) for q in zh] == [suffix(q) for q in en]
    for a, b in zip(zh, en, strict=True):
        assert (a.topic, a.difficulty, a.tags) == (b.topic, b.difficulty, b.tags), a.id
        assert len(a.key_points) == len(b.key_points), a.id
        assert len(a.follow_ups) == len(b.follow_ups), a.id
        assert bool(a.reference_notes) == bool(b.reference_notes), a.id


def test_editions_are_in_their_own_language(library):
    for q in library.bank("llm-zh").questions:
        for text in (q.question, q.reference, q.reference_notes, *q.key_points, *q.follow_ups):
            assert not text or CJK.search(text), (q.id, text)
    for q in library.bank("llm-en").questions:
        for text in (q.question, q.reference, q.reference_notes, *q.key_points, *q.follow_ups):
            assert not CJK.search(text), (q.id, text)


def test_q43_keeps_the_cut_off_reference_and_completes_it(library):
    zh = library.get("llm-zh-43")
    assert zh.reference.endswith("此外,微调还可以加速")
    assert zh.reference_notes.startswith("【更正/补充】")
    assert "中断" in zh.reference_notes
    assert "从零训练" in zh.reference_notes
    assert "领域" in zh.reference_notes
    en = library.get("llm-en-43")
    assert en.reference.endswith("fine-tuning can also speed up")
    assert "mid-sentence" in en.reference_notes
    assert "from scratch" in en.reference_notes


def test_q44b_is_split_out_and_corrects_prefix_tuning(library):
    zh = library.get("llm-zh-44b")
    assert zh.question == "Prompt Tuning 和 Prefix Tuning 在微调上有什么区别?"
    assert zh.reference.startswith("关于prompt tuning 和prefix tuning")
    # The article's section stays verbatim in 44b and out of 44.
    assert "直接修改模型参数" in zh.reference
    assert "Prefix Tuning" not in library.get("llm-zh-44").reference
    notes = zh.reference_notes
    assert "冻结" in notes
    assert "key 和 value" in notes
    assert "直接修改模型参数" in notes
    assert "错误" in notes
    assert "Lester" in notes
    assert "Li & Liang" in notes
    assert "P-Tuning v2" in notes
    en = library.get("llm-en-44b").reference_notes
    assert "frozen" in en
    assert "keys and values" in en
    assert "P-Tuning v2" in en


def test_q50_treats_model_bloating_as_a_nonstandard_term(library):
    zh = library.get("llm-zh-50").reference_notes
    assert "不是学术界的标准术语" in zh
    for word in ("Chinchilla", "MoE", "剪枝", "量化", "蒸馏"):
        assert word in zh
    en = library.get("llm-en-50").reference_notes
    assert "not an established term" in en
    for word in ("Chinchilla", "MoE", "pruning", "quantization", "distillation"):
        assert word in en


@pytest.mark.parametrize(
    ("qid", "needles"),
    [
        ("llm-zh-41", ["显著性检验", "护栏指标"]),
        ("llm-zh-45", ["Attention Is All You Need", "编码器–解码器", "位置编码"]),
        ("llm-zh-47", ["零样本", "少样本", "思维链"]),
        ("llm-zh-48", ["n-gram", "ROUGE", "MMLU", "LLM-as-a-judge"]),
        ("llm-zh-49", ["Hinton", "温度", "软标签"]),
    ],
)
def test_other_known_gaps_are_filled(library, qid, needles):
    notes = library.get(qid).reference_notes
    for needle in needles:
        assert needle in notes, (qid, needle)


# --------------------------------------------------------------------------- handbook


def test_handbook_bank_holds_the_whole_handbook_with_its_license(library):
    bank = library.bank(HANDBOOK)
    # Ids carry the handbook's chapter and question number, e.g. llm-handbook-zh-04-03.
    assert all(re.fullmatch(rf"{HANDBOOK}-\d\d-\d\d", q.id) for q in bank.questions)
    per_chapter = {"00": 6, "01": 11, "02": 7, "03": 6, "04": 7, "05": 9, "06": 8, "07": 6}
    per_chapter |= {"08": 7, "09": 5, "10": 5, "99": 4}
    expected = [f"{HANDBOOK}-{c}-{n:02d}" for c, k in per_chapter.items() for n in range(1, k + 1)]
    assert [q.id for q in bank.questions] == expected
    assert len(expected) == 81
    assert bank.info.language == "zh"
    assert "https://github.com/axiaoquan/llm-interview-handbook" in bank.info.source
    assert "MIT" in bank.info.license
    assert "Copyright (c) 2026 axiaoquan" in bank.info.license
    text = bank.path.read_text(encoding="utf-8")
    assert "# Copyright (c) 2026 axiaoquan" in text
    assert "# Permission is hereby granted, free of charge" in text
    assert "# The above copyright notice and this permission notice shall be included" in text


def test_curated_handbook_questions_are_bundled_unchanged(library):
    raw = yaml.safe_load((SOURCES / "llm-handbook-zh.curated.yaml").read_text(encoding="utf-8"))
    assert len(raw["questions"]) == 29
    for entry in raw["questions"]:
        curated = Question.model_validate({**entry, "bank": HANDBOOK, "language": "zh"})
        bundled = library.get(entry["id"])
        assert bundled.sha == curated.sha, entry["id"]
        assert bundled == curated, entry["id"]


def test_handbook_follow_ups_come_from_its_follow_up_questions(library):
    # The handbook's "追问" pairs: the questions become follow_ups, the answers stay in the
    # reference, where a follow-up answer is graded.
    question = library.get(f"{HANDBOOK}-04-02")
    assert question.follow_ups == ["PPO 为什么稳定？", "为什么需要 reference model？"]
    assert "clip 机制 + 重要性采样比" in question.reference
    curated = curated_ids()
    asked = [q for q in library.bank(HANDBOOK).questions if q.follow_ups and q.id not in curated]
    assert len(asked) >= 25
    for q in asked:
        for follow_up in q.follow_ups:
            assert f"- **Q：{follow_up}**" in q.reference, (q.id, follow_up)


def test_data_science_bank_attributes_its_cc_by_source(library):
    bank = library.bank(DS)
    assert bank.info.language == "en"
    assert "CC BY 4.0" in bank.info.license
    assert "https://creativecommons.org/licenses/by/4.0/" in bank.info.license
    assert "Alexey Grigorev and contributors" in bank.info.license
    assert "https://github.com/alexeygrigorev/data-science-interviews" in bank.info.source
    assert "83a2fefb2f0cef229c0b96a729e8ce73e540ddc8" in bank.info.source
    text = bank.path.read_text(encoding="utf-8")
    assert "# licensed under CC BY 4.0, https://creativecommons.org/licenses/by/4.0/." in text
    assert "# Changes:" in text
    assert len(bank.questions) >= 145
    assert all(re.fullmatch(rf"{DS}-\d{{3}}", q.id) for q in bank.questions)
    for q in bank.questions:
        assert not q.reference.lower().startswith("answer here"), q.id
        assert "<br" not in q.reference, q.id
        assert not re.search("[👶⭐🚀]", q.question), q.id
    levels = {q.difficulty for q in bank.questions}
    assert levels == {"easy", "medium", "hard"}


@pytest.mark.parametrize(
    ("qid", "needles"),
    [
        ("ds-theory-en-005", ["size of that sample grows"]),
        ("ds-theory-en-033", ["inverting its scores", "0.5"]),
        ("ds-theory-en-051", ["intercept"]),
        ("ds-theory-en-057", ["filter methods", "wrapper methods", "embedded methods"]),
        ("llm-handbook-zh-04-07", ["Decoupled Clip and Dynamic sAmpling"]),
        ("llm-handbook-zh-10-04", ["显存带宽", "200–250 tokens/s"]),
        ("llm-handbook-zh-99-04", ["256 个路由专家中激活 8 个"]),
    ],
)
def test_checked_references_carry_corrections(library, qid, needles):
    question = library.get(qid)
    assert question.reference_notes.startswith(MARKERS[question.language])
    for needle in needles:
        assert needle in question.reference_notes, (qid, needle)


@pytest.mark.parametrize(
    ("qid", "needles"),
    [
        # DPO: the handbook has the effect of beta backwards.
        ("llm-handbook-zh-04-03", ["说反了", "越贴近 π_ref"]),
        # Post-Norm is LN(x + SubLayer(x)), not x + LN(SubLayer(x)).
        ("llm-handbook-zh-01-06", ["LN(x + SubLayer(x))"]),
        # MLA concatenates a decoupled RoPE key; it does not add one.
        ("llm-handbook-zh-01-04", ["拼接"]),
        # Recall@K was described as precision.
        ("llm-handbook-zh-06-06", ["Precision@K"]),
        # 16 bytes/parameter is not "optimizer state alone".
        ("llm-handbook-zh-02-02", ["56 GB"]),
    ],
)
def test_handbook_errors_carry_corrections(library, qid, needles):
    question = library.get(qid)
    assert question.reference_notes.startswith(MARKERS["zh"])
    for needle in needles:
        assert needle in question.reference_notes, (qid, needle)


# --------------------------------------------------------------------------- README


def readme_full_example() -> str:
    text = README.read_text(encoding="utf-8")
    marker = text.index("<!-- full-example")
    match = re.search(r"```yaml\n(.*?)```", text[marker:], re.DOTALL)
    assert match, "bank/README.md: no ```yaml block after the full-example marker"
    return match.group(1)


def test_readme_full_example_is_a_valid_bank_using_every_field(tmp_path: Path):
    path = tmp_path / "example.yaml"
    path.write_text(readme_full_example(), encoding="utf-8")
    bank = load_bank_file(path)
    assert len(bank.questions) >= 2
    header_fields = set(BankInfo.model_fields)
    assert header_fields <= set(bank.info.model_fields_set)
    used = set().union(*(q.model_fields_set for q in bank.questions))
    # rubric is optional and shown separately; bank/language come from the header.
    assert set(Question.model_fields) - {"rubric", "bank", "language"} <= used


def test_readme_documents_every_field_and_the_ways_to_add_banks():
    text = README.read_text(encoding="utf-8")
    for name in set(BankInfo.model_fields) | (set(Question.model_fields) - {"bank", "language"}):
        assert f"| `{name}` |" in text, name
    for needle in (
        "--bank-dir",
        "bank_dirs",
        "config.toml",
        "INTERVIEWER_BANK_DIRS",
        "os.pathsep",
        "interviewer bank validate",
        "unique across",
        "【更正/补充】",
        "[Correction / completion]",
    ):
        assert needle in text, needle
