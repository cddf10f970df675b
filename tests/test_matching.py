"""Matching rules per script: word boundaries, spaceless scripts, punctuation."""

import pytest

from curation.matching import EntryMatcher, MatcherCache, normalize_for_matching


def matched_entries(entries, text):
    matcher = EntryMatcher("xx", entries)
    return [entries[i] for i in matcher.match(text)]


def test_normalization_spaces_punctuation_and_line_breaks():
    # The text is padded first, so the final "!" gains a space on each side of the padding.
    assert normalize_for_matching("a,b.c\td\ne!") == " a , b . c d e !  "


def test_latin_entry_inside_longer_word_does_not_match():
    assert matched_entries(["cat", "dog"], "A catalog of hotdogs") == []


def test_latin_entry_matches_whole_word():
    assert matched_entries(["cat", "dog"], "The cat and the dog") == ["cat", "dog"]


def test_multi_word_entry_matches():
    assert matched_entries(["hot dog", "dog"], "a hot dog stand") == ["hot dog", "dog"]


@pytest.mark.parametrize(
    "text",
    ["dog.", "(dog)", "dog, cat", "«dog»", "dog!", "dog?", "\"dog\"", "dog's bowl"],
)
def test_punctuation_is_a_boundary(text):
    assert matched_entries(["dog"], text) == ["dog"]


def test_chinese_entry_matches_inside_running_text():
    assert matched_entries(["小狗", "草地"], "一只小狗在草地上玩球") == ["小狗", "草地"]


def test_japanese_kana_entry_matches_inside_running_text():
    assert matched_entries(["こども", "ネコ"], "こどもたちがネコと遊ぶ") == ["こども", "ネコ"]


def test_japanese_kanji_entry_matches_before_kana():
    assert matched_entries(["公園"], "公園で遊ぶ子供たち") == ["公園"]


def test_korean_entry_matches_with_particle_attached():
    assert matched_entries(["고양이"], "고양이가 창가에서 자고 있다") == ["고양이"]


def test_thai_entry_matches_inside_running_text():
    assert matched_entries(["แมว"], "แมวนอนอยู่บนโซฟา") == ["แมว"]


def test_latin_entry_next_to_han_matches():
    assert matched_entries(["iPhone"], "我的iPhone坏了") == ["iPhone"]


def test_matching_is_case_sensitive():
    assert matched_entries(["dog"], "Dog") == []


def test_entry_ids_are_sorted_and_deduplicated():
    matcher = EntryMatcher("en", ["zebra", "apple", "dog"])
    assert matcher.match("dog apple dog zebra apple") == [0, 1, 2]


def test_empty_entries_are_ignored():
    matcher = EntryMatcher("en", ["", "  ", "dog"])
    assert matcher.match("a dog") == [2]


def test_matcher_without_entries_matches_nothing():
    assert EntryMatcher("other", []).match("anything at all") == []


def test_cache_evicts_least_recently_used_language():
    loaded = []

    def load(lang):
        loaded.append(lang)
        return ["a", "b", "c"]

    cache = MatcherCache(load, max_entries=6)
    cache.get("en")
    cache.get("de")
    cache.get("en")
    cache.get("fr")
    assert cache.languages() == ["en", "fr"]
    assert loaded == ["en", "de", "fr"]


def test_ignore_case_matches_capitalised_words():
    matcher = EntryMatcher("de", ["hund", "katze", "see"], ignore_case=True)
    assert matcher.match("Der Hund und die KATZE am See") == [0, 1, 2]


def test_ignore_case_joins_entries_differing_in_case():
    matcher = EntryMatcher("en", ["Apple", "apple", "pie"], ignore_case=True)
    assert matcher.match("apple pie") == [0, 1, 2]


def test_ignore_case_keeps_word_boundaries():
    assert EntryMatcher("en", ["cat"], ignore_case=True).match("Catalog") == []
