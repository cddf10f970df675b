"""Language-ID and matching stages: the two steps that run Python on the workers.

Both run on Arrow record batches through ``mapInArrow``. Language ID loads the fastText model
once per Python worker. Matching runs after the rows are grouped by language, so a task builds
only the automata of the languages it sees; a worker keeps them for its next tasks.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from typing import Iterator

import pyarrow as pa

from curation import schemas as S

logger = logging.getLogger(__name__)

_LID_DDL = f"{S.IMAGE_ID} string, {S.URL} string, {S.TEXT} string, {S.LANG} string, {S.LID_LABEL} string, {S.LID_SCORE} float"


@dataclass(frozen=True)
class AnnotateOptions:
    """Where the models live and how rows are spread over matching tasks."""

    metadata_dir: str
    metadata_languages: frozenset[str]
    lid_model: str | None = None
    match_buckets: int = 8
    automaton_cache_entries: int = 2_000_000
    kill_worker_marker: str | None = None


def _local_path(path: str) -> str:
    """Return ``path`` on this worker: as given, or the copy Spark shipped with addFile."""
    if os.path.exists(path):
        return path
    from pyspark import SparkFiles

    shipped = SparkFiles.get(os.path.basename(os.path.normpath(path)))
    if not os.path.exists(shipped):
        raise FileNotFoundError(f"{path} is neither on this worker nor shipped with the job")
    return shipped


def identify_languages(prepared, options: AnnotateOptions):
    """Add ``lang``, ``lid_label`` and ``lid_score`` to the prepared rows."""
    lid_model = options.lid_model
    languages = options.metadata_languages

    def identify_batches(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        from curation.lid import get_identifier

        identifier = get_identifier(_local_path(lid_model) if lid_model else None)
        for batch in batches:
            texts = batch.column(S.TEXT).to_pylist()
            result = identifier.identify(texts, languages)
            yield pa.RecordBatch.from_arrays(
                [
                    batch.column(S.IMAGE_ID),
                    batch.column(S.URL),
                    batch.column(S.TEXT),
                    pa.array(result.languages, pa.string()),
                    pa.array(result.labels, pa.string()),
                    pa.array(result.scores, pa.float32()),
                ],
                names=[S.IMAGE_ID, S.URL, S.TEXT, S.LANG, S.LID_LABEL, S.LID_SCORE],
            )

    return prepared.select(S.IMAGE_ID, S.URL, S.TEXT).mapInArrow(identify_batches, _LID_DDL)


_matcher_caches: dict[str, object] = {}


def _matcher_cache(metadata_dir: str, languages: frozenset[str], max_entries: int):
    from curation.matching import MatcherCache
    from metadata.store import load_language_entries

    def load_entries(lang: str) -> list[str]:
        # A language the metadata lacks, such as an absent `other` bucket, matches nothing.
        return load_language_entries(metadata_dir, lang).entries if lang in languages else []

    cache = _matcher_caches.get(metadata_dir)
    if cache is None:
        cache = MatcherCache(load_entries, max_entries)
        _matcher_caches[metadata_dir] = cache
    return cache


def match_entries(identified, options: AnnotateOptions, partitions: int):
    """Group rows by language and add the ids of the metadata entries each text contains."""
    from pyspark.sql import functions as F

    metadata_dir = options.metadata_dir
    languages = options.metadata_languages
    max_entries = options.automaton_cache_entries
    kill_marker = options.kill_worker_marker

    def match_batches(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        from curation.faults import maybe_kill_worker

        cache = _matcher_cache(_local_path(metadata_dir), languages, max_entries)
        for batch in batches:
            maybe_kill_worker(kill_marker)
            langs = batch.column(S.LANG).to_pylist()
            texts = batch.column(S.TEXT).to_pylist()
            entry_ids: list[list[int]] = []
            for lang, text in zip(langs, texts):
                entry_ids.append(cache.get(lang).match(text))
            yield pa.RecordBatch.from_arrays(
                [
                    batch.column(S.IMAGE_ID),
                    batch.column(S.URL),
                    batch.column(S.TEXT),
                    batch.column(S.LANG),
                    batch.column(S.LID_LABEL),
                    batch.column(S.LID_SCORE),
                    pa.array(entry_ids, pa.list_(pa.int32())),
                ],
                names=[S.IMAGE_ID, S.URL, S.TEXT, S.LANG, S.LID_LABEL, S.LID_SCORE, S.ENTRY_IDS],
            )

    # Rows of one language are spread over a few hash buckets, so a large language such as
    # English does not land in a single task, and each task sees few languages.
    bucket = F.pmod(F.xxhash64(S.IMAGE_ID, S.TEXT), F.lit(options.match_buckets))
    grouped = identified.repartition(partitions, F.col(S.LANG), bucket).sortWithinPartitions(S.LANG)
    return grouped.mapInArrow(match_batches, S.ANNOTATED_DDL)
