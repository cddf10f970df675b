"""Tokenization for n-gram counting: whitespace, punctuation breaks and word segmenters."""

from __future__ import annotations

import csv
import unicodedata

import pytest

from metadata.segmentation import get_segmenter, tokenize, tokenize_runs, tokenizer_name


def _captions(shared_data, file_name: str, lang: str, limit: int) -> list[str]:
    with (shared_data / "captions" / file_name).open(encoding="utf-8", newline="") as handle:
        rows = csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)
        next(rows)
        texts = [row[-1] for row in rows if row[0] == lang]
    return texts[:limit]


def _letters(text: str) -> str:
    return "".join(char for char in text if unicodedata.category(char)[0] not in "PSZ")


def test_punctuation_breaks_runs():
    runs = tokenize_runs("A man, riding a red bike.", "en")
    assert runs == [
        [("A", False), ("man", True)],
        [("riding", True), ("a", True), ("red", True), ("bike", True)],
    ]


def test_punctuation_inside_word_splits_it():
    assert tokenize("It's 3:30 pm", "en") == ["It", "s", "3", "30", "pm"]


def test_spaceless_characters_without_segmenter():
    assert tokenize("English 中文 text", "en") == ["English", "中", "文", "text"]
    # Lao has no segmenter here: each character (with its combining marks) is a token.
    assert tokenize("ຂີ່ລົດ", "lo") == ["ຂີ່", "ລົ", "ດ"]


def test_chinese_segmentation_on_captions(shared_data):
    texts = _captions(shared_data, "iglue_xflickrco_test.tsv", "zh", 50)
    assert tokenize(texts[0], "zh") == ["一个", "戴着", "橙色", "线帽", "的", "白人"]
    assert tokenize(texts[1], "zh") == ["一只", "在", "草地", "上", "奔跑", "的", "宠物狗"]
    for text in texts:
        tokens = tokenize(text, "zh")
        assert "".join(tokens) == _letters(text)
        assert any(len(token) > 1 for token in tokens), text


def test_japanese_segmentation_on_captions(shared_data):
    texts = _captions(shared_data, "iglue_xflickrco_test.tsv", "ja", 50)
    runs = tokenize_runs(texts[0], "ja")
    assert [token for token, _ in runs[0]] == ["耳", "ピアス", "を", "し", "た", "男", "が"]
    assert "オレンジ" in [token for token, _ in runs[1]]
    for text in texts:
        assert "".join(tokenize(text, "ja")) == _letters(text)


def test_japanese_keeps_space_before_latin_word():
    runs = tokenize_runs("東京都庁 iPhone ケース", "ja")
    assert runs == [[("東京", False), ("都庁", False), ("iPhone", True), ("ケース", True)]]


def test_thai_segmentation():
    tokens = tokenize("ผู้ชายกำลังขี่จักรยาน สีแดง", "th")
    assert tokens[:4] == ["ผู้ชาย", "กำลัง", "ขี่", "จักรยาน"]
    assert "".join(tokens) == "ผู้ชายกำลังขี่จักรยานสีแดง"


@pytest.mark.parametrize("lang, name", [("zh", "jieba"), ("ja", "sudachipy"), ("th", "pythainlp-newmm")])
def test_segmenter_names(lang, name):
    assert get_segmenter(lang).name == name
    assert tokenizer_name(lang).startswith(name + " ")


def test_languages_without_segmenter_fall_back():
    assert get_segmenter("km") is None
    assert get_segmenter("en") is None
    assert tokenizer_name("my").startswith("characters")
    assert tokenizer_name("de").startswith("whitespace")
