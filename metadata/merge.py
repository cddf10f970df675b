"""Merge the sources of one language into its metadata entries, with the selection rules.

A language's entries are the union of numerals, WordNet lemmas, the head of its unigram lists,
its bigrams above a PMI threshold and its most viewed Wikipedia titles. Each entry keeps the
names of the sources it came from, and every candidate that is not kept is counted by reason.
"""

from __future__ import annotations

import dataclasses
import math
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from typing import Iterable, Sequence

# Source names stored in the ``sources`` column of the metadata.
NUMERALS = "numerals"
WORDNET = "wordnet"
UNIGRAMS = "unigrams"
BIGRAMS = "bigrams"
TITLES = "titles"
ENTRY_LIST = "entry_list"
SOURCE_NAMES = (NUMERALS, WORDNET, UNIGRAMS, BIGRAMS, TITLES, ENTRY_LIST)

# Drop reasons counted in the manifest.
DROP_EMPTY = "empty"
DROP_PUNCTUATION = "punctuation_only"
DROP_TOO_LONG = "too_long"


@dataclass(frozen=True)
class MergeOptions:
    """Selection rules of the merge. The defaults are the Meta CLIP 2 per-language budget."""

    max_numeral: int = 99
    unigram_max: int = 251_465
    unigram_fraction: float = 0.10
    bigram_min_pmi: float = 30.0
    bigram_max: int = 100_646
    title_max: int = 61_235
    title_fraction: float = 0.76
    max_entry_chars: int = 256

    def __post_init__(self) -> None:
        for name in ("unigram_fraction", "title_fraction"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be within [0, 1], got {value}")
        if self.max_numeral < -1:
            raise ValueError(f"max_numeral must be -1 (no numerals) or more, got {self.max_numeral}")
        for name in ("unigram_max", "bigram_max", "title_max"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be 0 or more, got {getattr(self, name)}")
        if self.max_entry_chars < 1:
            raise ValueError(f"max_entry_chars must be 1 or more, got {self.max_entry_chars}")

    def as_dict(self) -> dict[str, float | int]:
        return dataclasses.asdict(self)


@dataclass
class LanguageCandidates:
    """The candidate entries of one metadata language, grouped by source.

    ``unigram_lists`` and ``title_lists`` hold one ranked list per input (a corpus count, a
    frequency list, a set of page-view files). ``distinct`` is the number of distinct items of
    that input before any truncation, the base of the fraction rules.
    """

    lemmas: list[str] = field(default_factory=list)
    unigram_lists: list["RankedList"] = field(default_factory=list)
    bigrams: list[tuple[str, float]] = field(default_factory=list)
    title_lists: list["RankedList"] = field(default_factory=list)
    entry_list: list[str] | None = None


@dataclass
class RankedList:
    """Items with a weight (a count, a zipf value or page views), and the list's full size."""

    items: list[tuple[str, float]]
    distinct: int


@dataclass
class MergeResult:
    """Entries of one language with their sources, and the candidates dropped by reason."""

    entries: dict[str, set[str]]
    selected: Counter
    dropped: Counter


def is_punctuation_only(text: str) -> bool:
    """Return True when no character is a letter, a digit or an other symbol (emoji).

    Entries made only of punctuation, math or currency signs, spaces, combining marks or
    control and format characters (a lone U+FE0F variation selector) match no text usefully.
    """
    return not any(unicodedata.category(char)[0] in "LN" or unicodedata.category(char) == "So" for char in text)


def clean_entry(text: str, max_chars: int) -> tuple[str | None, str | None]:
    """Strip ``text``; return (entry, None) when it is kept, else (None, drop reason)."""
    entry = text.strip()
    if not entry:
        return None, DROP_EMPTY
    if is_punctuation_only(entry):
        return None, DROP_PUNCTUATION
    if len(entry) > max_chars:
        return None, DROP_TOO_LONG
    return entry, None


def numerals(max_numeral: int) -> list[str]:
    """Return the numerals "0" to ``max_numeral`` as text."""
    return [str(number) for number in range(max_numeral + 1)]


def top_count(distinct: int, maximum: int, fraction: float) -> int:
    """Return min(maximum, floor(fraction * distinct)), the size of a head selection."""
    return max(0, min(maximum, math.floor(fraction * distinct)))


def select_top(ranked: RankedList, maximum: int, fraction: float) -> list[str]:
    """Select the head of a ranked list: highest weight first, ties by code point."""
    count = top_count(ranked.distinct, maximum, fraction)
    ordered = sorted(ranked.items, key=lambda item: (-item[1], item[0]))
    return [text for text, _ in ordered[:count]]


def select_bigrams(bigrams: Sequence[tuple[str, float]], min_pmi: float, maximum: int) -> list[str]:
    """Select bigrams with PMI above ``min_pmi``, at most ``maximum``, highest PMI first."""
    above = [(text, pmi) for text, pmi in bigrams if pmi > min_pmi]
    above.sort(key=lambda item: (-item[1], item[0]))
    return [text for text, _ in above[:maximum]]


def _add(
    entries: dict[str, set[str]],
    candidates: Iterable[str],
    source: str,
    options: MergeOptions,
    selected: Counter,
    dropped: Counter,
) -> None:
    for candidate in candidates:
        entry, reason = clean_entry(candidate, options.max_entry_chars)
        if entry is None:
            dropped[f"{source}:{reason}"] += 1
            continue
        entries.setdefault(entry, set()).add(source)
        selected[source] += 1


def merge_language(candidates: LanguageCandidates, options: MergeOptions) -> MergeResult:
    """Merge the candidates of one language into entries with their sources.

    ``selected`` counts the candidates each source contributed after cleaning, so an entry
    found by two sources counts once for each.
    """
    entries: dict[str, set[str]] = {}
    selected: Counter = Counter()
    dropped: Counter = Counter()

    _add(entries, numerals(options.max_numeral), NUMERALS, options, selected, dropped)

    if candidates.entry_list is not None:
        _add(entries, candidates.entry_list, ENTRY_LIST, options, selected, dropped)
        return MergeResult(entries, selected, dropped)

    _add(entries, candidates.lemmas, WORDNET, options, selected, dropped)

    for ranked in candidates.unigram_lists:
        head = select_top(ranked, options.unigram_max, options.unigram_fraction)
        _add(entries, head, UNIGRAMS, options, selected, dropped)

    chosen_bigrams = select_bigrams(candidates.bigrams, options.bigram_min_pmi, options.bigram_max)
    _add(entries, chosen_bigrams, BIGRAMS, options, selected, dropped)

    for ranked in candidates.title_lists:
        head = select_top(ranked, options.title_max, options.title_fraction)
        _add(entries, head, TITLES, options, selected, dropped)

    return MergeResult(entries, selected, dropped)


def merge_into(target: MergeResult, other: MergeResult) -> None:
    """Add the entries and counts of ``other`` to ``target`` (used for the ``other`` bucket)."""
    for entry, sources in other.entries.items():
        target.entries.setdefault(entry, set()).update(sources)
    target.selected.update(other.selected)
    target.dropped.update(other.dropped)
