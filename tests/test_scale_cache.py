"""Automaton cache bound: entries held, eviction before a build, one oversized language."""

import pytest

from curation.matching import EntryMatcher, MatcherCache

LANGUAGE_SIZES = {"en": 5, "de": 3, "fr": 3, "zh": 8}


def load_sized(lang):
    return [f"{lang}{index}" for index in range(LANGUAGE_SIZES[lang])]


def test_cache_never_holds_more_than_bound():
    cache = MatcherCache(load_sized, max_entries=8)
    for lang in ["en", "de", "fr", "en", "de", "fr"]:
        cache.get(lang)
        assert cache.held_entries <= 8


def test_cache_evicts_least_recent_to_fit():
    cache = MatcherCache(load_sized, max_entries=8)
    cache.get("en")
    cache.get("de")
    cache.get("fr")
    assert cache.languages() == ["de", "fr"]
    assert cache.held_entries == 6


def test_cache_holds_oversized_language_alone():
    cache = MatcherCache(load_sized, max_entries=4)
    cache.get("de")
    cache.get("zh")
    assert cache.languages() == ["zh"]
    assert cache.held_entries == 8


def test_cache_reuses_automaton():
    cache = MatcherCache(load_sized, max_entries=100)
    first = cache.get("en")
    assert cache.get("en") is first
    assert cache.builds == 1


def test_cache_rejects_invalid_bound():
    with pytest.raises(ValueError, match="max_entries"):
        MatcherCache(load_sized, max_entries=0)


def test_matcher_shared_key_returns_every_entry_id():
    matcher = EntryMatcher("en", ["dog", " dog", "cat"])
    assert matcher.match("a dog and a cat") == [0, 1, 2]
