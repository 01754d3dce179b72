from __future__ import annotations

import pytest

from interviewer import text as tx


@pytest.mark.parametrize(
    ("sample", "expected"),
    [
        ("简述顺序表和链表存储方式的特点", "zh"),
        ("TCP三次握手的过程是什么？", "zh"),
        ("按下标访问的时间复杂度为O(1)", "zh"),
        ("What is the difference between TCP and UDP?", "en"),
        ("What does 栈 mean in a stack-based VM?", "en"),
        ("", "en"),
        ("12345 !!!", "en"),
    ],
)
def test_detect_language(sample: str, expected: str) -> None:
    assert tx.detect_language(sample) == expected


def test_is_chinese_accepts_regional_tags() -> None:
    assert tx.is_chinese("zh")
    assert tx.is_chinese("zh-CN")
    assert tx.is_chinese("ZH-Hans")
    assert not tx.is_chinese("en")


def test_normalise_folds_width_case_and_cjk_punctuation() -> None:
    assert tx.normalise("时间复杂度为Ｏ（１）。") == "时间复杂度为o(1)."
    assert tx.normalise("《算法》、「栈」；  TCP\u3000Header") == '"算法","栈";' + " tcp header"


def test_english_units_are_stemmed_content_words() -> None:
    units = tx.tokenise("The simulation simulates behaviours; it simulated the queues.")
    # Inflections of one word share one unit; stopwords are gone.
    assert len({u for u in units if u.startswith("simulat")}) == 1
    assert "the" not in units
    assert "it" not in units
    assert tx.stem_word("behaviours") == tx.stem_word("behaviour") == tx.stem_word("behavior")
    assert tx.stem_word("running") == tx.stem_word("run")
    assert tx.stem_word("addresses") == tx.stem_word("address")
    # Short words and non-words are left alone.
    assert tx.stem_word("bus") == "bus"
    assert tx.stem_word("ipv6") == "ipv6"


def test_big_o_notation_is_one_unit_in_both_scripts() -> None:
    assert "o(nlogn)" in tx.tokenise("sorting costs O(n log n) time")
    assert "o(1)" in tx.tokenise("随机访问的时间复杂度为Ｏ（１）")


def test_chinese_is_cut_into_unigrams_and_bigrams_without_spaces() -> None:
    units = tx.tokenise("链表不支持随机访问")
    assert "链表" in units
    assert "随机" in units
    assert "访问" in units
    assert "链" in units
    # A bigram straddling a particle is noise and is dropped, as are stop characters.
    units = tx.tokenise("顺序表的存储")
    assert "表的" not in units
    assert "的存" not in units
    assert "的" not in units
    assert "存储" in units


def test_mixed_text_tokenises_each_script_its_own_way() -> None:
    units = tx.tokenise("栈的pop操作removes the top element")
    assert "pop" in units
    assert "操作" in units
    assert "remov" in units or "remove" in units
    assert "the" not in units


def test_plain_tokens_keep_every_word_and_single_characters() -> None:
    assert tx.tokenise("The Headers of 栈表", plain=True) == ["the", "headers", "of", "栈", "表"]


def test_count_units_makes_languages_comparable() -> None:
    english = "A linked list stores each element in a node with a pointer to the next node."
    chinese = "链表把每个元素存放在一个结点中，结点带有指向下一个结点的指针。"
    ratio = tx.count_units(chinese) / tx.count_units(english)
    assert 0.6 < ratio < 1.4
    assert tx.count_units("") == 0
    assert tx.count_units("one two three") == 3


def test_sentences_are_substrings_and_respect_abbreviations() -> None:
    text = "It is fast, e.g. for lookups. Use it when reads dominate!\n1. First item\n2) Second"
    sentences = tx.split_sentences(text)
    assert sentences == [
        "It is fast, e.g. for lookups.",
        "Use it when reads dominate!",
        "1. First item",
        "2) Second",
    ]
    assert all(s in text for s in sentences)


def test_chinese_sentences_split_on_cjk_terminators() -> None:
    text = "顺序表支持随机访问。链表不支持！为什么？因为结点不连续；所以要遍历"
    assert tx.split_sentences(text) == [
        "顺序表支持随机访问。",
        "链表不支持！",
        "为什么？",
        "因为结点不连续；",
        "所以要遍历",
    ]


def test_decimals_and_lone_markers_do_not_make_sentences() -> None:
    text = "The probability is 0.6 per flip. 2. \n - \n Done"
    assert tx.split_sentences(text) == ["The probability is 0.6 per flip.", "Done"]


def test_clauses_split_at_commas_and_merge_short_pieces() -> None:
    text = (
        "顺序表的存储空间连续，支持随机访问，但插入删除需要移动大量元素。"
        "TCP, UDP and IP are protocols, which carry data."
    )
    clauses = tx.split_clauses(text)
    assert clauses[0] == "顺序表的存储空间连续，"
    assert "但插入删除需要移动大量元素。" in clauses
    # "TCP," alone is too short to be a clause: it joins the next piece.
    assert "TCP, UDP and IP are protocols," in clauses
    assert all(c in text for c in clauses)
    assert tx.split_clauses("1,000 packets, sent fast") == ["1,000 packets, sent fast"]
    assert tx.split_clauses("alignment methods (e.g. RLHF, DPO, KTO), and then evaluation") == [
        "alignment methods (e.g. RLHF, DPO, KTO),",
        "and then evaluation",
    ]


def test_strip_list_marker() -> None:
    assert tx.strip_list_marker("1. First") == "First"
    assert tx.strip_list_marker("①将表中元素") == "将表中元素"
    assert tx.strip_list_marker("- Sequence number") == "Sequence number"
    assert tx.strip_list_marker("ii) less congestion") == "less congestion"
    assert tx.strip_list_marker("3.5 seconds") == "3.5 seconds"
