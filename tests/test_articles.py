"""Importing articles of questions with answers: every format, the traps, and the CLI.

The fixtures in tests/data/articles are written to look like the articles people paste in:
a preamble, answers with tables, lists and code (with comments that look like headings or
numbers), labelled answers, and closing text with links and sign-offs.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from interviewer.bank.articles import parse_text
from interviewer.bank.drafts import draft_bank, read_article
from interviewer.bank.library import load_bank_file
from interviewer.cli import app
from interviewer.errors import BankError

ARTICLES = Path(__file__).parent / "data" / "articles"


def questions(name: str) -> list[str]:
    return [q.question for q in read_article(ARTICLES / name).questions]


def answers(name: str) -> list[str]:
    return [q.answer for q in read_article(ARTICLES / name).questions]


def notices(name: str) -> list[tuple[int, str]]:
    return [(n.line, n.text) for n in read_article(ARTICLES / name).notices]


# --------------------------------------------------------------------------- formats


def test_numbered_chinese_text_with_preamble_lists_and_closing_text():
    article = read_article(ARTICLES / "llm-basics-zh.txt")
    assert [q.number for q in article.questions] == [1, 2, 3, 4, 5, 6]
    assert article.questions[0].question == "什么是 Token？为什么大模型按 Token 计费？"
    first = article.questions[0].answer
    assert first.startswith("Token 是模型处理文本的基本单位")
    assert "答案" not in first
    # The numbered list inside answer 3 stays in the answer and is not taken for questions.
    decoding = article.questions[2].answer
    assert decoding.startswith("常见的解码策略有：\n1.贪心解码")
    assert "3.Top-k / Top-p 采样" in decoding
    # A table after "可以这样估算：" belongs to answer 4.
    kv = article.questions[3].answer
    assert "| 总 KV Cache | 每 Token 占用 × 序列长度 × batch size |" in kv
    # The last answer ends before the teaser for the next article and the sign-off.
    last = article.questions[5].answer
    assert last.endswith("可训练参数通常只有全量微调的千分之一左右。")
    assert "7-12" not in last
    assert all("相关推荐" not in a for a in answers("llm-basics-zh.txt"))


def test_an_answer_labelled_with_its_question_number_is_reported():
    found = notices("llm-basics-zh.txt")
    assert (1, "skipped before the first question (preamble) (lines 1–9)") in found
    assert any(
        line == 18 and "its own number (3)" in text and "question at line 17" in text
        for line, text in found
    )
    assert any(line == 39 and "after the last answer" in text for line, text in found)


def test_one_heading_per_question_with_code_tables_and_subheadings():
    found = questions("python-interview-en.md")
    assert found == [
        "What is the difference between a list and a tuple?",
        "How does a Python decorator work?",
        "What is the GIL, and when does it matter?",
        "How does Python manage memory?",
        "What are generators, and why use them?",
    ]
    table, decorator, gil, _, generators = answers("python-interview-en.md")
    assert "| Mutable | yes | no |" in table
    # Comments in code ("# ...", "## Applied like this:") are code, not headings.
    assert "## Applied like this:" in decorator
    assert decorator.endswith("show the original name.")
    # A deeper heading and a numbered list stay inside the answer.
    assert "#### Example" in gil
    assert "3. Python 3.13 has an experimental free-threaded build" in gil
    # Section headings end an answer; "## Wrapping up" is closing text.
    assert "Memory and performance" not in gil
    assert generators.rstrip().endswith("```")
    assert "subscribe" not in generators
    assert any("after the last answer" in text for _, text in notices("python-interview-en.md"))


def test_bold_question_and_answer_pairs():
    found = questions("sql-bold-en.md")
    assert found[0] == "What is the difference between WHERE and HAVING?"
    assert len(found) == 4
    where, _, duplicates, window = answers("sql-bold-en.md")
    assert where.startswith("`WHERE` filters rows before grouping")
    assert "-- Customers with more than five orders in 2024" in where
    assert duplicates.endswith("HAVING COUNT(*) > 1;\n```")
    assert "- `LAG()` / `LEAD()` to look at the previous or next row" in window
    assert "Thanks for reading" not in window


def test_numbered_bold_chinese_questions_with_bold_answer_labels():
    article = read_article(ARTICLES / "transformer-zh.md")
    assert [q.number for q in article.questions] == [1, 2, 3, 4]
    assert article.questions[1].question == (
        "LayerNorm 和 BatchNorm 有什么区别？为什么 Transformer 用 LayerNorm？"
    )
    code = article.questions[2].answer
    assert code.startswith("核心是 softmax")
    # The comment in the code mentions "第4题" and must not start question 4 early.
    assert "# 第4题会问：为什么填 -inf 而不是 0？" in code
    assert code.endswith("梯度变小。")
    assert "| 依赖 batch 大小 | 是 | 否 |" in article.questions[1].answer
    assert "点赞" not in article.questions[3].answer
    assert article.title == "Transformer 面试题精选（附答案）"


def test_q_numbers_with_answer_prefixes_and_a_labelled_number():
    article = read_article(ARTICLES / "ml-qa-en.txt")
    assert [q.question for q in article.questions][:2] == [
        "What is the bias-variance trade-off?",
        "How do you handle an imbalanced data set?",
    ]
    assert len(article.questions) == 5
    imbalance = article.questions[1].answer
    assert imbalance.startswith("Several things help")
    assert "4) Move the decision threshold." in imbalance
    assert article.questions[3].answer.startswith("It adds a penalty")
    assert any("its own number (4)" in n.text for n in article.notices)
    assert "Good luck" not in article.questions[4].answer


def test_html_article_keeps_structure_and_points_at_source_lines():
    article = read_article(ARTICLES / "deep-learning-en.html")
    assert article.title == "Deep Learning Interview Questions"
    assert [q.question for q in article.questions] == [
        "Why do we need non-linear activation functions?",
        "What causes vanishing gradients, and how are they addressed?",
        "Compare SGD with momentum and Adam.",
        "How does dropout work?",
    ]
    html_lines = (ARTICLES / "deep-learning-en.html").read_text().splitlines()
    for q in article.questions:
        assert f"<strong>Q{q.number}.</strong>" in html_lines[q.line - 1]
    vanishing, adam, dropout = (q.answer for q in article.questions[1:])
    assert "2. Careful initialisation (Xavier, He)." in vanishing
    assert "| Adam | running averages of gradients and squared gradients |" in adam
    assert "# inverted dropout in NumPy" in dropout
    assert "mask = (np.random.rand(*x.shape) > p) / (1 - p)" in dropout
    everything = "\n".join(q.answer for q in article.questions)
    for boilerplate in ("Popular posts", "All rights reserved", "dataLayer", "Home"):
        assert boilerplate not in everything


# --------------------------------------------------------------------------- edge cases


def test_each_question_appears_once_and_unanswered_ones_are_reported():
    text = (
        "Contents\n\n1. What is a tensor?\n2. What is a gradient?\n\n"
        "1. What is a tensor?\nAnswer: An n-dimensional array.\n\n"
        "2. What is a gradient?\nAnswer: The vector of partial derivatives.\n"
    )
    article = parse_text(text)
    assert [q.question for q in article.questions] == [
        "What is a tensor?",
        "What is a gradient?",
    ]
    assert [q.line for q in article.questions] == [6, 9]
    assert article.questions[0].answer == "An n-dimensional array."


def test_numbered_list_in_an_answer_is_not_a_question_even_in_the_same_style():
    text = (
        "1. Name two ways to reduce overfitting?\n"
        "Answer: for example:\n"
        "1. more data\n"
        "2. regularisation\n\n"
        "2. What is early stopping?\n"
        "Answer: Stop training when validation loss stops improving.\n"
    )
    article = parse_text(text)
    assert [q.question for q in article.questions] == [
        "Name two ways to reduce overfitting?",
        "What is early stopping?",
    ]
    assert article.questions[0].answer == "for example:\n1. more data\n2. regularisation"


def test_other_numbering_styles_are_recognised():
    text = (
        "第1题：什么是过拟合？\n答：模型记住了训练数据的噪声。\n\n"
        "第2题：什么是欠拟合？\n答：模型太简单，连训练数据都拟合不好。\n"
    )
    assert [q.question for q in parse_text(text).questions] == ["什么是过拟合？", "什么是欠拟合？"]
    text = (
        "**Q1.** What is a p-value?\n\nThe probability of data at least this extreme under H0.\n\n"
        "**Q2.** What is a type I error?\n\nRejecting a true null hypothesis.\n"
    )
    article = parse_text(text)
    assert [q.question for q in article.questions] == [
        "What is a p-value?",
        "What is a type I error?",
    ]
    assert article.questions[1].answer == "Rejecting a true null hypothesis."
    text = "41) Why normalise inputs?\nAnswer: So features share a scale.\n"
    assert parse_text(text).questions[0].number == 41


def test_text_without_questions_is_an_error():
    with pytest.raises(BankError, match="No questions found"):
        parse_text("Just a blog post.\n\nNothing to see here.\n")


# --------------------------------------------------------------------------- drafts and CLI


def test_draft_is_a_valid_bank_with_answers_verbatim(tmp_path):
    draft = draft_bank(ARTICLES / "transformer-zh.md", bank_id="tf-zh")
    assert draft.bank.info.id == "tf-zh"
    assert draft.bank.info.language == "zh"
    assert [q.id for q in draft.bank.questions] == [f"tf-zh-{n}" for n in range(1, 5)]
    parsed = read_article(ARTICLES / "transformer-zh.md")
    assert [q.reference for q in draft.bank.questions] == [q.answer for q in parsed.questions]
    assert all(not q.key_points for q in draft.bank.questions)
    english = draft_bank(ARTICLES / "sql-bold-en.md")
    assert english.bank.info.language == "en"
    assert english.bank.info.id == "sql-bold-en"


def test_cli_out_writes_the_draft_without_installing(isolated_home, tmp_path):
    out = tmp_path / "draft.yaml"
    result = CliRunner().invoke(
        app, ["bank", "import", str(ARTICLES / "llm-basics-zh.txt"), "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert "6 question(s)" in result.output
    assert "llm-basics-zh.txt:18:" in result.output
    bank = load_bank_file(out)
    assert [q.id for q in bank.questions] == [f"llm-basics-zh-{n}" for n in range(1, 7)]
    raw = yaml.safe_load(out.read_text(encoding="utf-8"))
    assert raw["questions"][3]["reference"].startswith("KV Cache 是自回归生成时")
    assert not (isolated_home / "banks").exists()


def test_cli_installs_an_article_and_lists_it_as_json(isolated_home):
    runner = CliRunner()
    path = ARTICLES / "deep-learning-en.html"
    result = runner.invoke(app, ["bank", "import", str(path), "--bank-id", "dl"])
    assert result.exit_code == 0, result.output
    assert (isolated_home / "banks" / "dl.yaml").exists()
    listed = runner.invoke(app, ["bank", "list", "--json", "--bank", "dl"])
    assert listed.exit_code == 0, listed.output
    rows = json.loads(listed.stdout)
    assert [r["id"] for r in rows] == ["dl-1", "dl-2", "dl-3", "dl-4"]
    assert rows[0] == {
        "id": "dl-1",
        "bank": "dl",
        "language": "en",
        "topic": "general",
        "difficulty": "medium",
        "tags": [],
        "question": "Why do we need non-linear activation functions?",
    }
    again = runner.invoke(app, ["bank", "import", str(path), "--bank-id", "dl"])
    assert again.exit_code == 1
    assert "already imported" in again.output
    assert "deep-learning-en.html" in again.output


def test_cli_rejects_an_article_without_questions(isolated_home, tmp_path):
    empty = tmp_path / "notes.md"
    empty.write_text("# Notes\n\nNothing here yet.\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["bank", "import", str(empty)])
    assert result.exit_code == 1
    assert "notes.md" in result.output
    assert "No questions found" in result.output


def test_bank_list_json_filters_like_the_table(isolated_home):
    result = CliRunner().invoke(app, ["bank", "list", "--json", "--bank", "llm-en"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert rows
    assert all(r["bank"] == "llm-en" and r["language"] == "en" for r in rows)
    assert {"id", "bank", "language", "topic", "difficulty", "tags", "question"} == set(rows[0])
    unknown = CliRunner().invoke(app, ["bank", "list", "--json", "--bank", "nope"])
    assert unknown.exit_code == 1
    assert "Unknown bank 'nope'" in unknown.output


def test_cli_rejects_a_bad_bank_id_or_language_before_reading(isolated_home, tmp_path):
    article = str(ARTICLES / "sql-bold-en.md")
    bad_id = CliRunner().invoke(app, ["bank", "import", article, "--bank-id", "My Bank"])
    assert bad_id.exit_code == 1
    assert "--bank-id 'My Bank'" in bad_id.output
    bad_language = CliRunner().invoke(app, ["bank", "import", article, "--language", "English"])
    assert bad_language.exit_code == 1
    assert "--language 'English'" in bad_language.output
    two = CliRunner().invoke(app, ["bank", "import", article, article, "--out", "x.yaml"])
    assert two.exit_code == 1
    assert "exactly one article" in two.output
    assert not (isolated_home / "banks").exists()


def test_chinese_headings_with_sections_code_comments_and_a_summary():
    text = """# 机器学习面试题

本文整理了几道常见面试题。

## 一、基础篇

### 什么是过拟合？

过拟合指模型把训练数据里的噪声也学了进去，训练集表现好、测试集表现差。

常见的缓解方法：

1. 增加数据
2. 加正则
3. 早停

### 为什么要做特征归一化？

```python
# 为什么要先 fit 再 transform？
scaler = StandardScaler().fit(X_train)
```

让各特征处于相近的尺度，梯度下降收敛更快，带正则的模型对各特征惩罚也更公平。

## 二、进阶篇

### 什么是正则化？

在损失函数中加入对参数大小的惩罚项，例如 L1 和 L2。

## 总结

以上就是本期的全部内容，欢迎点赞收藏。
"""
    article = parse_text(text)
    assert [q.question for q in article.questions] == [
        "什么是过拟合？",
        "为什么要做特征归一化？",
        "什么是正则化？",
    ]
    overfitting, scaling, regularization = (q.answer for q in article.questions)
    assert overfitting.endswith("3. 早停")
    assert "# 为什么要先 fit 再 transform？" in scaling
    assert "二、进阶篇" not in scaling
    assert regularization == "在损失函数中加入对参数大小的惩罚项，例如 L1 和 L2。"
    skipped = [(n.line, n.text) for n in article.notices]
    assert (3, "skipped before the first question (preamble)") in skipped
    assert any(line == 34 and "after the last answer" in text for line, text in skipped)
