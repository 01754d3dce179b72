"""The converter that generates the bundled handbook and data-science banks.

The sources themselves are not part of the repository, so these tests feed the converter's
steps small pieces written in the sources' own shapes.
"""

from __future__ import annotations

import importlib.util
import sys
from types import ModuleType

import pytest

from interviewer.bank.articles import ArticleQuestion, parse_text

from .conftest import REPO


@pytest.fixture(scope="module")
def build() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "build_banks", REPO / "scripts" / "build_banks.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["build_banks"] = module
    spec.loader.exec_module(module)
    return module


HANDBOOK_DOC = """# 05 · Inference 推理

## 📑 本章目录

- [Q01 · KV Cache](#q01)
- [Q02 · Continuous Batching](#q02)

---

## Q01 · KV Cache

### 🎯 核心要点

- 缓存每层注意力的 K 和 V
- 每步只算新 token 的 Q、K、V
- 显存随序列长度线性增长

### 🪤 面试常见追问

- **Q：KV Cache 占多少显存？**
  A：2 × 层数 × KV 头数 × 头维度 × 序列长度 × 字节数。

---

## Q02 · Continuous Batching

### 🎯 核心思想

**Continuous batching**：请求一结束立刻移出，新请求马上加入。

### 🪤 追问

- **Q：和 PagedAttention 什么关系？**
  A：互补。

- **Q：谁在用？**
  A：vLLM。

---

[⬅ 回到首页](../README.md)
"""


def test_handbook_sections_give_references_follow_ups_and_key_points(build):
    article = parse_text(HANDBOOK_DOC)
    assert [q.number for q in article.questions] == [1, 2]
    first, second = article.questions
    meta = {"topic": "inference", "difficulty": "medium", "tags": ["kv-cache"], "question": "?"}
    entry = build.handbook_entry("05-01", first, meta)
    assert entry["id"] == "llm-handbook-zh-05-01"
    assert entry["reference"].startswith("### 🎯 核心要点")
    assert "A：2 × 层数" in entry["reference"]
    assert entry["follow_ups"] == ["KV Cache 占多少显存？"]
    assert entry["key_points"] == [
        "缓存每层注意力的 K 和 V",
        "每步只算新 token 的 Q、K、V",
        "显存随序列长度线性增长",
    ]
    entry = build.handbook_entry("05-02", second, {**meta, "reference_notes": "【更正/补充】x"})
    assert entry["follow_ups"] == ["和 PagedAttention 什么关系？", "谁在用？"]
    assert "key_points" not in entry  # no bullet list under 🎯: the grader derives them
    assert entry["reference_notes"] == "【更正/补充】x"
    assert "回到首页" not in entry["reference"]


def test_theory_markup_and_difficulty_marks_are_converted(build):
    html = (
        'Solve for <img src="https://render.githubusercontent.com/render/math?math=\\beta%20=%201">'
        " with y<sub>i</sub> and <strong>M</strong>SE. <br/>\n\n<br/>"
    )
    assert build.clean_markup(html) == "Solve for $\\beta = 1$ with y_i and MSE."
    assert build.clean_markup("<b>Grid Search</b> needs <i>manual</i> values") == (
        "**Grid Search** needs *manual* values"
    )
    question = ArticleQuestion(1, "What is AUC? \u200d⭐️", "Area under the ROC curve.")
    assert build.ds_question(question) == ("What is AUC?", "medium")
    easy = ArticleQuestion(1, "What is overfitting? 👶", "x")
    assert build.ds_question(easy) == ("What is overfitting?", "easy")
    assert build.PLACEHOLDER.match("Answer here")
