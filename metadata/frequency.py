"""Read word-frequency lists, the unigram source when no Wikipedia text is at hand.

Two kinds are read: files with ``word<TAB>count`` or ``word<TAB>zipf`` rows (a header row is
optional), and the lists bundled with the ``wordfreq`` package, which need no download.
"""

from __future__ import annotations

import logging
import math
import os
from dataclasses import dataclass

from metadata.merge import RankedList
from metadata.sources import DependencyError, SourceError, open_text

logger = logging.getLogger(__name__)

HEADER_WORDS = {"word", "token", "term", "lemma"}
WEIGHT_COLUMNS = {"count", "zipf", "frequency", "freq"}


@dataclass
class FrequencyList:
    """A ranked word list of one language, its weight kind and the number of malformed rows."""

    lang: str
    ranked: RankedList
    weight: str
    malformed: int = 0


def read_frequency_file(path: str, lang: str) -> FrequencyList:
    """Read a ``word<TAB>count`` or ``word<TAB>zipf`` file; malformed rows are counted and skipped.

    The weight kind is taken from the header (``count`` or ``zipf``) when there is one, else
    ``count``. Rows whose weight is not a finite number, or whose word is empty, are malformed.
    A word listed twice keeps its larger weight.
    """
    weights: dict[str, float] = {}
    weight_kind = "count"
    malformed = 0
    with open_text(path) as handle:
        for line_number, line in enumerate(handle, start=1):
            line = line.rstrip("\n").rstrip("\r")
            if not line:
                continue
            parts = line.split("\t")
            if line_number == 1 and parts[0].strip().lower() in HEADER_WORDS:
                if len(parts) > 1 and parts[1].strip().lower() in WEIGHT_COLUMNS:
                    weight_kind = "zipf" if parts[1].strip().lower() == "zipf" else "count"
                continue
            if len(parts) != 2 or not parts[0].strip():
                malformed += 1
                continue
            try:
                weight = float(parts[1])
            except ValueError:
                malformed += 1
                continue
            if not math.isfinite(weight):
                malformed += 1
                continue
            word = parts[0]
            if weight > weights.get(word, -math.inf):
                weights[word] = weight

    if malformed:
        logger.warning("%s: skipped %d malformed rows", path, malformed)
    items = sorted(weights.items(), key=lambda item: (-item[1], item[0]))
    return FrequencyList(
        lang=lang,
        ranked=RankedList(items=items, distinct=len(items)),
        weight=weight_kind,
        malformed=malformed,
    )


def wordfreq_version() -> str:
    """Return the installed wordfreq version, or raise with the install command."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("wordfreq")
    except PackageNotFoundError as error:
        raise DependencyError("the wordfreq package is not installed: pip install wordfreq") from error


def check_wordfreq_language(lang: str) -> None:
    """Raise SourceError when the wordfreq package has no list for ``lang``."""
    wordfreq_version()
    import wordfreq

    available = wordfreq.available_languages("best")
    if lang not in available:
        raise SourceError(
            f"wordfreq has no word list for language {lang!r}; available: {', '.join(sorted(available))}"
        )


def read_wordfreq_list(lang: str, top: int | None = None) -> FrequencyList:
    """Read the ``best`` list that the wordfreq package bundles for ``lang``.

    The weight is the zipf value (9 minus the centibel bin over 100). ``distinct`` is the size
    of the whole list, and ``top`` (when given) keeps only that many of its most frequent words.
    Raises SourceError for a language wordfreq has no list for.
    """
    check_wordfreq_language(lang)
    import wordfreq

    # get_frequency_list returns the words by centibel bin and does not tokenize them, so no
    # segmenter (jieba, MeCab) is needed here.
    bins = wordfreq.get_frequency_list(lang, wordlist="best")
    items: list[tuple[str, float]] = []
    seen: set[str] = set()
    for index, words in enumerate(bins):
        zipf = round(9.0 - index / 100.0, 2)
        for word in words:
            if word in seen:
                continue
            seen.add(word)
            items.append((word, zipf))

    distinct = len(items)
    items.sort(key=lambda item: (-item[1], item[0]))
    if top is not None:
        items = items[:top]
    logger.info("wordfreq %s: %d words, %d kept", lang, distinct, len(items))
    return FrequencyList(lang=lang, ranked=RankedList(items=items, distinct=distinct), weight="zipf")


def wordfreq_source_name(lang: str) -> str:
    """Return how a wordfreq list is named in the manifest."""
    return f"wordfreq:{lang}:best"


def language_of_frequency_file(path: str) -> str:
    """Return the language a frequency file is named after (``zh_cn.tsv`` -> ``zh_cn``)."""
    name = os.path.basename(path)
    for suffix in (".gz", ".tsv", ".txt"):
        if name.endswith(suffix):
            name = name[: -len(suffix)]
    return name
