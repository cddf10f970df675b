"""Substring matching of texts against the metadata entries of one language with Aho-Corasick.

A text is normalised first: padded with a space on each side, the punctuation marks
``, . ; : ? !`` surrounded by spaces, and tabs, carriage returns and newlines turned into spaces.
An occurrence of an entry counts when each of its sides is a word boundary: the neighbouring
character is a space, or it is punctuation, or it or the entry's own edge character belongs to a
spaceless script (Han, Hiragana, Katakana, Hangul, Thai, Lao, Myanmar, Khmer, Tibetan). So a Latin
entry never matches inside a longer word, and Chinese, Japanese, Korean or Thai entries match
inside running text.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from typing import Callable, Iterable, Sequence

import ahocorasick

from curation.scripts import is_punctuation, is_spaceless

logger = logging.getLogger(__name__)

PUNCTUATION_TO_SPACE = (",", ".", ";", ":", "?", "!")
_WHITESPACE_TO_SPACE = str.maketrans({"\t": " ", "\n": " ", "\r": " "})


def normalize_for_matching(text: str) -> str:
    """Return ``text`` in the form entries are matched against."""
    spaced = f" {text.translate(_WHITESPACE_TO_SPACE)} "
    for mark in PUNCTUATION_TO_SPACE:
        if mark in spaced:
            spaced = spaced.replace(mark, f" {mark} ")
    return spaced


def _is_boundary(neighbour: str, edge: str) -> bool:
    if neighbour.isspace():
        return True
    if is_punctuation(neighbour):
        return True
    return is_spaceless(neighbour) or is_spaceless(edge)


class EntryMatcher:
    """An Aho-Corasick automaton over the entries of one language.

    ``entries[i]`` is the entry with id ``i``. Empty entries and entries made only of
    whitespace are skipped, because they would match every text.
    """

    def __init__(self, lang: str, entries: Sequence[str]) -> None:
        self.lang = lang
        self.entry_count = len(entries)
        self._automaton = ahocorasick.Automaton()

        added = 0
        for entry_id, entry in enumerate(entries):
            key = entry.strip()
            if not key:
                continue
            existing = self._automaton.get(key, None)
            if existing is None:
                self._automaton.add_word(key, (len(key), [entry_id]))
            else:
                # Two entries that differ only in surrounding whitespace share one key.
                existing[1].append(entry_id)
            added += 1

        if added:
            self._automaton.make_automaton()
        self._empty = added == 0
        logger.debug("built automaton for %s with %d entries", lang, added)

    def match(self, text: str) -> list[int]:
        """Return the sorted, deduplicated ids of the entries found in ``text``."""
        if self._empty or not text:
            return []

        normalized = normalize_for_matching(text)
        found: set[int] = set()
        for end, (length, entry_ids) in self._automaton.iter(normalized):
            start = end - length + 1
            # The normalised text starts and ends with a space, so both neighbours exist.
            if not _is_boundary(normalized[start - 1], normalized[start]):
                continue
            if not _is_boundary(normalized[end + 1], normalized[end]):
                continue
            found.update(entry_ids)
        return sorted(found)

    def match_many(self, texts: Iterable[str]) -> list[list[int]]:
        """Return the matched entry ids of each text."""
        return [self.match(text) for text in texts]


class MatcherCache:
    """Automata of recently used languages, bounded by their total number of entries.

    A Python worker keeps the automata across the tasks it runs and drops the least recently
    used language when a new one does not fit, so its memory follows the largest languages it
    sees, not the sum over all languages.
    """

    def __init__(self, load_entries: Callable[[str], Sequence[str]], max_entries: int = 2_000_000) -> None:
        self._load_entries = load_entries
        self._max_entries = max_entries
        self._matchers: OrderedDict[str, EntryMatcher] = OrderedDict()

    def get(self, lang: str) -> EntryMatcher:
        matcher = self._matchers.get(lang)
        if matcher is not None:
            self._matchers.move_to_end(lang)
            return matcher

        matcher = EntryMatcher(lang, self._load_entries(lang))
        held = sum(item.entry_count for item in self._matchers.values())
        while self._matchers and held + matcher.entry_count > self._max_entries:
            evicted_lang, evicted = self._matchers.popitem(last=False)
            held -= evicted.entry_count
            logger.debug("evicted automaton of %s", evicted_lang)
        self._matchers[lang] = matcher
        return matcher

    def languages(self) -> list[str]:
        return list(self._matchers)
