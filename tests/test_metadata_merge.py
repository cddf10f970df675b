"""Selection rules and cleaning of the per-language merge."""

from __future__ import annotations

import pytest

from metadata import merge
from metadata.merge import LanguageCandidates, MergeOptions, RankedList


def test_numerals_cover_0_to_99():
    values = merge.numerals(99)
    assert values[0] == "0"
    assert values[-1] == "99"
    assert len(values) == 100


def test_top_count_takes_smaller_bound():
    assert merge.top_count(distinct=1_000_000, maximum=251_465, fraction=0.10) == 100_000
    assert merge.top_count(distinct=10_000_000, maximum=251_465, fraction=0.10) == 251_465
    assert merge.top_count(distinct=9, maximum=251_465, fraction=0.10) == 0
    assert merge.top_count(distinct=100, maximum=61_235, fraction=0.76) == 76


@pytest.mark.parametrize(
    "text, expected",
    [
        ("  dog  ", ("dog", None)),
        ("", (None, merge.DROP_EMPTY)),
        ("   ", (None, merge.DROP_EMPTY)),
        ("...", (None, merge.DROP_PUNCTUATION)),
        ("«»", (None, merge.DROP_PUNCTUATION)),
        ("\ufe0f", (None, merge.DROP_PUNCTUATION)),
        ("x" * 257, (None, merge.DROP_TOO_LONG)),
        ("x" * 256, ("x" * 256, None)),
        ("C++", ("C++", None)),
        ("😀", ("😀", None)),
    ],
)
def test_clean_entry_cases(text, expected):
    assert merge.clean_entry(text, max_chars=256) == expected


def test_select_top_orders_by_weight_then_code_point():
    ranked = RankedList(items=[("b", 5.0), ("a", 5.0), ("c", 9.0), ("d", 1.0)], distinct=40)
    assert merge.select_top(ranked, maximum=10, fraction=0.10) == ["c", "a", "b", "d"]
    assert merge.select_top(ranked, maximum=2, fraction=0.10) == ["c", "a"]


def test_select_bigrams_threshold_is_strict():
    bigrams = [("new york", 120.0), ("of the", 2.0), ("hot dog", 30.0), ("ice cream", 31.0)]
    assert merge.select_bigrams(bigrams, min_pmi=30.0, maximum=10) == ["new york", "ice cream"]
    assert merge.select_bigrams(bigrams, min_pmi=30.0, maximum=1) == ["new york"]


def test_merge_records_every_source():
    candidates = LanguageCandidates(
        lemmas=["dog", "hot_dog", "  cat ", "1"],
        unigram_lists=[RankedList(items=[("dog", 100.0), ("the", 500.0), (".", 900.0)], distinct=30)],
        bigrams=[("hot dog", 50.0)],
        title_lists=[RankedList(items=[("Dog", 10.0), ("Cat", 8.0)], distinct=2)],
    )
    result = merge.merge_language(candidates, MergeOptions())

    assert result.entries["dog"] == {merge.WORDNET, merge.UNIGRAMS}
    assert result.entries["cat"] == {merge.WORDNET}
    assert result.entries["1"] == {merge.NUMERALS, merge.WORDNET}
    assert result.entries["hot dog"] == {merge.BIGRAMS}
    assert result.entries["the"] == {merge.UNIGRAMS}
    # 76% of 2 titles is 1 title.
    assert result.entries["Dog"] == {merge.TITLES}
    assert "Cat" not in result.entries
    assert result.dropped == {"unigrams:punctuation_only": 1}


def test_merge_entry_list_replaces_sources():
    candidates = LanguageCandidates(lemmas=["dog"], entry_list=["photo", "photo", ""])
    result = merge.merge_language(candidates, MergeOptions(max_numeral=-1))
    assert set(result.entries) == {"photo"}
    assert result.selected[merge.ENTRY_LIST] == 2
    assert result.dropped == {"entry_list:empty": 1}


def test_merge_options_reject_invalid_values():
    with pytest.raises(ValueError, match="unigram_fraction"):
        MergeOptions(unigram_fraction=1.5)
    with pytest.raises(ValueError, match="bigram_max"):
        MergeOptions(bigram_max=-1)
    with pytest.raises(ValueError, match="max_entry_chars"):
        MergeOptions(max_entry_chars=0)


def test_merge_into_unions_sources():
    first = merge.merge_language(LanguageCandidates(lemmas=["a"]), MergeOptions(max_numeral=0))
    second = merge.merge_language(LanguageCandidates(lemmas=["a", "b"]), MergeOptions(max_numeral=0))
    merge.merge_into(first, second)
    assert first.entries == {"0": {merge.NUMERALS}, "a": {merge.WORDNET}, "b": {merge.WORDNET}}
    assert first.selected[merge.WORDNET] == 3
