"""Build a metadata directory from WordNet, word counts, Wikipedia text and page views.

Every source path is checked before any work. The small sources (WordNet, frequency lists, an
English entry list) are read on the driver, and the large ones (Wikipedia text, page-view files)
are counted with Spark. Each language is then merged with the selection rules of
``metadata.merge``, languages without a language-ID label go into ``other``, and the result is
written with ``metadata.store.write_metadata``.
"""

from __future__ import annotations

import json
import logging
import os
from collections import Counter
from dataclasses import dataclass, field
from typing import Callable

from metadata import merge
from metadata.frequency import (
    check_wordfreq_language,
    language_of_frequency_file,
    read_frequency_file,
    read_wordfreq_list,
    wordfreq_source_name,
    wordfreq_version,
)
from metadata.merge import LanguageCandidates, MergeOptions, MergeResult
from metadata.sources import SourceError, SourceFile, SourceSpec, expand_files, fingerprint
from metadata.store import ENTRIES_DIR, OTHER_LANGUAGE, write_metadata

logger = logging.getLogger(__name__)

# The source kinds a language can be built from, as named in the manifest.
KIND_WORDNET = "wordnet"
KIND_FREQUENCY = "frequency"
KIND_WORDFREQ = "wordfreq"
KIND_WIKIPEDIA = "wikipedia"
KIND_PAGEVIEWS = "pageviews"
KIND_ENTRY_LIST = "entry_list"

ENGLISH = "en"

# Codes that frequency lists and Wikipedia domains use for a language that has another
# Wikipedia code in the metadata.
LANGUAGE_ALIASES = {
    "zh_cn": "zh",
    "zh_tw": "zh",
    "zh-cn": "zh",
    "zh-tw": "zh",
    "simple": "en",
    "nb": "no",
    "fil": "tl",
}


def canonical_language(code: str) -> str:
    """Return the metadata language (a Wikipedia code) of a frequency-list or domain code."""
    lowered = code.strip().lower()
    return LANGUAGE_ALIASES.get(lowered, lowered)


@dataclass
class NgramOptions:
    """Options of the Wikipedia n-gram counting in ``metadata.wikipedia``."""

    bigram_min_count: int = 5
    text_format: str = "auto"


@dataclass
class BuildConfig:
    """Everything a build reads; the job's command line fills it in."""

    output: str
    wordnet: list[SourceSpec] = field(default_factory=list)
    frequency: list[SourceSpec] = field(default_factory=list)
    wordfreq_languages: list[str] = field(default_factory=list)
    wordfreq_top: int | None = None
    wikipedia: list[SourceSpec] = field(default_factory=list)
    pageviews: list[str] = field(default_factory=list)
    english_entries: str | None = None
    languages: list[str] | None = None
    merge_options: MergeOptions = field(default_factory=MergeOptions)
    ngram_options: NgramOptions = field(default_factory=NgramOptions)

    def requested_kinds(self) -> list[str]:
        kinds = []
        for kind, present in (
            (KIND_WORDNET, self.wordnet),
            (KIND_FREQUENCY, self.frequency),
            (KIND_WORDFREQ, self.wordfreq_languages),
            (KIND_WIKIPEDIA, self.wikipedia),
            (KIND_PAGEVIEWS, self.pageviews),
        ):
            if present:
                kinds.append(kind)
        return kinds

    def options_for_manifest(self) -> dict[str, object]:
        return {
            "merge": self.merge_options.as_dict(),
            "ngrams": {
                "bigram_min_count": self.ngram_options.bigram_min_count,
                "text_format": self.ngram_options.text_format,
            },
            "wordfreq_top": self.wordfreq_top,
            "languages": sorted(self.languages) if self.languages else None,
        }


@dataclass
class CollectedSources:
    """Candidates per language, the files they came from and what reading them skipped."""

    candidates: dict[str, LanguageCandidates] = field(default_factory=dict)
    kinds: dict[str, set[str]] = field(default_factory=dict)
    files: list[SourceFile] = field(default_factory=list)
    packages: dict[str, str] = field(default_factory=dict)
    skipped: dict[str, Counter] = field(default_factory=dict)
    tokenization: dict[str, str] = field(default_factory=dict)
    corpus: dict[str, dict[str, int]] = field(default_factory=dict)
    pageviews: dict[str, object] = field(default_factory=dict)
    cleaned: dict[str, int] = field(default_factory=dict)

    def language(self, lang: str, kind: str) -> LanguageCandidates:
        self.kinds.setdefault(lang, set()).add(kind)
        return self.candidates.setdefault(lang, LanguageCandidates())

    def count_skipped(self, source: str, reason: str, count: int) -> None:
        if count:
            self.skipped.setdefault(source, Counter())[reason] += count


def check_sources(config: BuildConfig) -> None:
    """Raise SourceError naming the first source path that does not exist or contains no file."""
    for spec in config.wordnet + config.frequency + config.wikipedia:
        expand_files(spec.path)
    for path in config.pageviews:
        expand_files(path)
    if config.english_entries is not None:
        expand_files(config.english_entries)
    for spec in config.wikipedia:
        if spec.lang is None:
            raise SourceError(
                f"Wikipedia source {spec.path} has no language: write it as LANG=PATH, e.g. de={spec.path}"
            )
    for code in config.wordfreq_languages:
        check_wordfreq_language(code)


def _is_selected_language(config: BuildConfig, lang: str) -> bool:
    return config.languages is None or lang in config.languages


def collect_frequency_lists(config: BuildConfig, collected: CollectedSources) -> None:
    """Read the frequency files and the wordfreq lists as unigram candidates."""
    for spec in config.frequency:
        for path in expand_files(spec.path, suffixes=(".tsv", ".txt", ".tsv.gz", ".txt.gz"), recursive=False):
            lang = canonical_language(spec.lang or language_of_frequency_file(path))
            if not _is_selected_language(config, lang):
                continue
            frequency_list = read_frequency_file(path, lang)
            collected.language(lang, KIND_FREQUENCY).unigram_lists.append(frequency_list.ranked)
            collected.files.append(fingerprint(KIND_FREQUENCY, lang, path))
            collected.count_skipped(path, "malformed", frequency_list.malformed)

    if config.wordfreq_languages:
        collected.packages["wordfreq"] = wordfreq_version()
    for code in config.wordfreq_languages:
        lang = canonical_language(code)
        if not _is_selected_language(config, lang):
            continue
        frequency_list = read_wordfreq_list(code, top=config.wordfreq_top)
        collected.language(lang, KIND_WORDFREQ).unigram_lists.append(frequency_list.ranked)
        collected.files.append(
            SourceFile(kind=KIND_WORDFREQ, lang=lang, path=wordfreq_source_name(code), sha256="", bytes=0)
        )


def collect_wordnet(config: BuildConfig, collected: CollectedSources) -> None:
    """Read OMW tab files and lemma lists as WordNet candidates."""
    if not config.wordnet:
        return
    from metadata.wordnet import read_wordnet_source

    for spec in config.wordnet:
        for path in expand_files(spec.path, suffixes=(".tab", ".txt", ".tab.gz", ".txt.gz"), recursive=False):
            lemmas = read_wordnet_source(path, spec.lang)
            if not _is_selected_language(config, lemmas.lang):
                continue
            collected.language(lemmas.lang, KIND_WORDNET).lemmas.extend(lemmas.lemmas)
            collected.files.append(fingerprint(KIND_WORDNET, lemmas.lang, path))
            for reason, count in sorted(lemmas.dropped.items()):
                collected.count_skipped(path, reason, count)
            if lemmas.cleaned:
                collected.cleaned[path] = lemmas.cleaned


def collect_english_entries(config: BuildConfig, collected: CollectedSources) -> None:
    """Read a JSON list of strings that replaces the English sources."""
    path = config.english_entries
    if path is None:
        return
    with open(path, encoding="utf-8") as handle:
        try:
            values = json.load(handle)
        except json.JSONDecodeError as error:
            raise SourceError(f"invalid JSON in English entry list {path}: {error}") from error
    if not isinstance(values, list):
        raise SourceError(f"English entry list {path} is not a JSON list of strings")

    entries = [value for value in values if isinstance(value, str)]
    collected.count_skipped(path, "not_a_string", len(values) - len(entries))
    collected.language(ENGLISH, KIND_ENTRY_LIST).entry_list = entries
    collected.files.append(fingerprint(KIND_ENTRY_LIST, ENGLISH, path))


def collect_spark_sources(config: BuildConfig, collected: CollectedSources, spark) -> None:
    """Count Wikipedia n-grams and sum page views with Spark."""
    from metadata.pageviews import sum_pageviews
    from metadata.wikipedia import count_wikipedia_ngrams

    by_language: dict[str, list[str]] = {}
    for spec in config.wikipedia:
        lang = canonical_language(spec.lang or "")
        if _is_selected_language(config, lang):
            by_language.setdefault(lang, []).extend(expand_files(spec.path))
    for lang in sorted(by_language):
        paths = by_language[lang]
        counts = count_wikipedia_ngrams(spark, paths, lang, config.ngram_options, config.merge_options)
        candidates = collected.language(lang, KIND_WIKIPEDIA)
        candidates.unigram_lists.append(counts.unigrams)
        candidates.bigrams.extend(counts.bigrams)
        collected.tokenization[lang] = counts.tokenizer
        collected.corpus[lang] = {
            **counts.statistics,
            "tokens": counts.tokens,
            "distinct_unigrams": counts.unigrams.distinct,
            "distinct_bigrams": counts.distinct_bigrams,
            "bigrams_above_min_pmi": len(counts.bigrams),
        }
        for path in paths:
            collected.files.append(fingerprint(KIND_WIKIPEDIA, lang, path))
        for reason, count in sorted(counts.skipped.items()):
            collected.count_skipped(f"wikipedia:{lang}", reason, count)

    if config.pageviews:
        paths = [path for argument in config.pageviews for path in expand_files(argument)]
        titles = sum_pageviews(spark, paths, config.merge_options)
        for lang in sorted(titles.per_language):
            lang_code = canonical_language(lang)
            if not _is_selected_language(config, lang_code):
                continue
            collected.language(lang_code, KIND_PAGEVIEWS).title_lists.append(titles.per_language[lang])
        collected.pageviews = {
            **titles.statistics,
            "distinct_titles": {lang: ranked.distinct for lang, ranked in sorted(titles.per_language.items())},
        }
        for path in paths:
            collected.files.append(fingerprint(KIND_PAGEVIEWS, "*", path))
        for reason, count in sorted(titles.skipped.items()):
            collected.count_skipped("pageviews", reason, count)


def merge_languages(
    collected: CollectedSources, options: MergeOptions, languages_with_lid: set[str]
) -> tuple[dict[str, MergeResult], dict[str, list[str]]]:
    """Merge each language; languages without a LID label go into ``other``.

    Returns the merged languages and, for ``other``, the languages merged into it.
    """
    merged: dict[str, MergeResult] = {}
    into_other: list[str] = []
    for lang in sorted(collected.candidates):
        result = merge.merge_language(collected.candidates[lang], options)
        if lang in languages_with_lid:
            merged[lang] = result
            continue
        into_other.append(lang)
        if OTHER_LANGUAGE not in merged:
            merged[OTHER_LANGUAGE] = result
        else:
            merge.merge_into(merged[OTHER_LANGUAGE], result)

    if into_other:
        logger.info("merged %d languages without a LID label into %r: %s", len(into_other), OTHER_LANGUAGE, ", ".join(into_other))
    return merged, {OTHER_LANGUAGE: into_other} if into_other else {}


def count_entries_per_source(merged: dict[str, MergeResult]) -> dict[str, dict[str, int]]:
    """Count, per language, the entries each source contributed (an entry may have several)."""
    counts: dict[str, dict[str, int]] = {}
    for lang, result in sorted(merged.items()):
        per_source: Counter = Counter()
        for sources in result.entries.values():
            per_source.update(sources)
        counts[lang] = {"entries": len(result.entries), **dict(sorted(per_source.items()))}
    return counts


def missing_sources(config: BuildConfig, collected: CollectedSources) -> dict[str, list[str]]:
    """Return, per language, the requested source kinds that had no input for it.

    The wordfreq lists count as a frequency source, and an English entry list replaces every
    other English source, so neither is reported missing where the other is present.
    """
    requested = set(config.requested_kinds())
    unigram_kinds = {KIND_FREQUENCY, KIND_WORDFREQ, KIND_WIKIPEDIA}
    missing: dict[str, list[str]] = {}
    for lang in sorted(collected.kinds):
        present = collected.kinds[lang]
        if KIND_ENTRY_LIST in present:
            continue
        absent = sorted(requested - present)
        if present & unigram_kinds:
            absent = [kind for kind in absent if kind not in {KIND_FREQUENCY, KIND_WORDFREQ}]
        if absent:
            missing[lang] = absent
    return missing


def build_metadata(
    config: BuildConfig,
    spark_factory: Callable[[], object] | None = None,
    languages_with_lid: set[str] | None = None,
) -> dict:
    """Build the metadata directory described by ``config``; return its manifest.

    ``spark_factory`` is called only when Wikipedia text or page views are given, so a build
    from WordNet and frequency lists alone starts no Spark session.
    """
    check_sources(config)
    if languages_with_lid is None:
        from metadata.lid_languages import languages_with_lid as load_languages_with_lid

        languages_with_lid = load_languages_with_lid()

    collected = CollectedSources()
    collect_wordnet(config, collected)
    collect_frequency_lists(config, collected)
    collect_english_entries(config, collected)
    if config.wikipedia or config.pageviews:
        if spark_factory is None:
            raise ValueError("Wikipedia text and page views need a Spark session: pass spark_factory")
        collect_spark_sources(config, collected, spark_factory())

    merged, merged_into = merge_languages(collected, config.merge_options, languages_with_lid)
    if not merged:
        selected = ", ".join(config.languages or [])
        raise SourceError(f"the sources contain no language to build (--languages {selected}): nothing to write")

    missing = missing_sources(config, collected)
    for lang, kinds in missing.items():
        logger.warning("language %s has no %s source; built from the others", lang, ", ".join(kinds))

    files = sorted(collected.files, key=lambda item: (item.kind, item.lang, item.path))
    manifest_fields = {
        "builder": "jobs/build_metadata.py",
        "sources": [item.as_dict() for item in files],
        "packages": dict(sorted(collected.packages.items())),
        "options": config.options_for_manifest(),
        "counts": count_entries_per_source(merged),
        "selected": {lang: dict(sorted(result.selected.items())) for lang, result in sorted(merged.items())},
        "dropped": {
            lang: dict(sorted(result.dropped.items())) for lang, result in sorted(merged.items()) if result.dropped
        },
        "skipped": {source: dict(sorted(reasons.items())) for source, reasons in sorted(collected.skipped.items())},
        "lemmas_cleaned": dict(sorted(collected.cleaned.items())),
        "missing_sources": missing,
        "merged_into_other": merged_into,
        "tokenization": dict(sorted(collected.tokenization.items())),
        "wikipedia_counts": dict(sorted(collected.corpus.items())),
        "pageview_counts": collected.pageviews,
    }
    entries = {lang: result.entries for lang, result in merged.items()}
    remove_stale_entry_files(config.output, set(entries))
    return write_metadata(config.output, entries, manifest_fields)


def remove_stale_entry_files(directory: str, languages: set[str]) -> None:
    """Delete entry files of a previous build whose language this build does not write."""
    entries_dir = os.path.join(directory, ENTRIES_DIR)
    if not os.path.isdir(entries_dir):
        return
    for name in sorted(os.listdir(entries_dir)):
        if name.endswith(".parquet") and name[: -len(".parquet")] not in languages:
            os.remove(os.path.join(entries_dir, name))
            logger.info("removed %s of a previous build", os.path.join(entries_dir, name))
