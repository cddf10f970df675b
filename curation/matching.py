"""Substring matching of texts against the metadata entries of one language with Aho-Corasick.

A text is normalised first: padded with a space on each side, the punctuation marks
``, . ; : ? !`` surrounded by spaces, and tabs, carriage returns and newlines turned into spaces.
An occurrence of an entry counts when each of its sides is a word boundary. A side is a boundary
when the neighbouring character is a space or punctuation, or when that character or the entry's
own edge character belongs to a spaceless script (Han, Hiragana, Katakana, Hangul, Thai, Lao,
Myanmar, Khmer, Tibetan). So a Latin entry never matches inside a longer word, and Chinese,
Japanese, Korean or Thai entries match inside running text.
"""

from __future__ import annotations

import logging
import time
from array import array
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
    whitespace are skipped, because they would match every text. With ``ignore_case``, entries
    and texts are lower-cased before matching, so ``Hund`` matches an entry ``hund``. The automaton stores one
    integer per key (``STORE_INTS``) and the key lengths sit in a compact array, so a large
    language costs no Python object per entry.
    """

    def __init__(self, lang: str, entries: Sequence[str], ignore_case: bool = False) -> None:
        self.lang = lang
        self.entry_count = len(entries)
        self.ignore_case = ignore_case
        self._automaton = ahocorasick.Automaton(ahocorasick.STORE_INTS)
        self._key_lengths = array("i", [0]) * len(entries)
        # Entries that differ only in surrounding whitespace share one key: the first entry id
        # is the automaton's value, the others are listed here.
        self._shared_keys: dict[int, list[int]] = {}

        added = 0
        for entry_id, entry in enumerate(entries):
            key = entry.strip()
            if ignore_case:
                key = key.lower()
            if not key:
                continue
            first_id = self._automaton.get(key, -1)
            if first_id < 0:
                self._automaton.add_word(key, entry_id)
                self._key_lengths[entry_id] = len(key)
            else:
                self._shared_keys.setdefault(first_id, []).append(entry_id)
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
        if self.ignore_case:
            normalized = normalized.lower()
        found: set[int] = set()
        for end, entry_id in self._automaton.iter(normalized):
            start = end - self._key_lengths[entry_id] + 1
            # The normalised text starts and ends with a space, so both neighbours exist.
            if not _is_boundary(normalized[start - 1], normalized[start]):
                continue
            if not _is_boundary(normalized[end + 1], normalized[end]):
                continue
            found.add(entry_id)
            shared = self._shared_keys.get(entry_id)
            if shared:
                found.update(shared)
        return sorted(found)

    def match_many(self, texts: Iterable[str]) -> list[list[int]]:
        """Return the matched entry ids of each text."""
        return [self.match(text) for text in texts]


class MatcherCache:
    """Automata of recently used languages, bounded by their total number of entries.

    A Python worker keeps the automata across the tasks it runs. Before it builds the automaton
    of a new language, it drops least recently used languages until the new one fits within
    ``max_entries``, so it keeps at most ``max_entries`` entries plus the language being built.
    A single language larger than ``max_entries`` is still built, and is then the only one kept.
    The matching stage gives each task few languages, so a worker's peak memory follows the
    largest language (or the bound), not the sum over all languages.
    """

    def __init__(
        self, load_entries: Callable[[str], Sequence[str]], max_entries: int = 2_000_000, ignore_case: bool = False
    ) -> None:
        if max_entries < 1:
            raise ValueError(f"max_entries must be at least 1, got {max_entries}")
        self._load_entries = load_entries
        self._ignore_case = ignore_case
        self._max_entries = max_entries
        self._matchers: OrderedDict[str, EntryMatcher] = OrderedDict()
        self._held_entries = 0
        self.builds = 0
        self.build_seconds = 0.0

    @property
    def held_entries(self) -> int:
        """The number of entries over all automata held now."""
        return self._held_entries

    def get(self, lang: str) -> EntryMatcher:
        """Return the automaton of ``lang``, building it on first use."""
        matcher = self._matchers.get(lang)
        if matcher is not None:
            self._matchers.move_to_end(lang)
            return matcher

        entries = self._load_entries(lang)
        while self._matchers and self._held_entries + len(entries) > self._max_entries:
            evicted_lang, evicted = self._matchers.popitem(last=False)
            self._held_entries -= evicted.entry_count
            logger.debug("evicted automaton of %s (%d entries)", evicted_lang, evicted.entry_count)

        started = time.perf_counter()
        matcher = EntryMatcher(lang, entries, ignore_case=self._ignore_case)
        self._matchers[lang] = matcher
        self._held_entries += matcher.entry_count
        self.builds += 1
        self.build_seconds += time.perf_counter() - started
        return matcher

    def languages(self) -> list[str]:
        """Return the languages held, least recently used first."""
        return list(self._matchers)
