"""Count unigrams and bigrams in Wikipedia text with Spark and score bigrams by PMI.

Input is wikiextractor output, either JSON lines (``id, url, title, text``) or its default text
format (``<doc ...>`` and ``</doc>`` lines around the article text), or any plain text with one
paragraph per line. Each line of text is tokenized on its own with ``metadata.segmentation``,
so no bigram crosses a line break or a punctuation character.

PMI of a bigram ``a b`` is the ratio, not its logarithm::

    pmi(a b) = count(a b) * N / (count(a) * count(b))

with N the number of unigram tokens of the language. A ratio of 30 is log2 PMI of about 4.9.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from typing import Iterator

from metadata.merge import MergeOptions, RankedList, top_count
from metadata.sources import SourceError

logger = logging.getLogger(__name__)

# Keys of the single counting pass: unigram, bigram and bookkeeping records.
UNIGRAM = "u"
BIGRAM = "b"
STATISTIC = "s"


@dataclass
class NgramCounts:
    """N-gram result of one language: its unigram head, its scored bigrams and its statistics."""

    unigrams: RankedList
    bigrams: list[tuple[str, float]]
    tokenizer: str
    tokens: int
    distinct_bigrams: int
    statistics: dict[str, int] = field(default_factory=dict)
    skipped: dict[str, int] = field(default_factory=dict)


def _texts_of_line(line: str, text_format: str) -> tuple[list[str], str | None]:
    """Return the text paragraphs of one input line, or ([], reason) when it is skipped."""
    stripped = line.strip()
    if not stripped:
        return [], None
    as_json = text_format == "json" or (text_format == "auto" and stripped.startswith("{"))
    if as_json:
        try:
            record = json.loads(stripped)
        except json.JSONDecodeError:
            return [], "malformed_json"
        text = record.get("text") if isinstance(record, dict) else None
        if not isinstance(text, str):
            return [], "json_without_text"
        return text.split("\n"), None
    if (stripped.startswith("<doc ") and stripped.endswith(">")) or stripped == "</doc>":
        return [], "wikiextractor_doc_tag"
    return [line], None


def count_line(line: str, lang: str, text_format: str) -> Iterator[tuple[tuple, int]]:
    """Yield the n-gram and statistic records of one input line, each with a count of 1."""
    from metadata.segmentation import tokenize_runs

    texts, reason = _texts_of_line(line, text_format)
    if reason is not None:
        yield (STATISTIC, f"skipped_{reason}"), 1
        return
    yield (STATISTIC, "lines"), 1
    for text in texts:
        for run in tokenize_runs(text, lang):
            previous: str | None = None
            for token, space_before in run:
                yield (UNIGRAM, token), 1
                if previous is not None:
                    yield (BIGRAM, previous, " " if space_before else "", token), 1
                previous = token


def _count_partition(lines: Iterator[str], lang: str, text_format: str) -> Iterator[tuple[tuple, int]]:
    for line in lines:
        yield from count_line(line, lang, text_format)


def count_wikipedia_ngrams(spark, paths: list[str], lang: str, options, merge_options: MergeOptions | None = None) -> NgramCounts:
    """Count the n-grams of ``lang`` in ``paths`` and select its unigram head and bigrams.

    Only the selected unigrams (the head by count) and the bigrams above the PMI threshold
    come back to the driver, so the full counts of a large dump stay on the executors.
    ``options`` is a ``metadata.build.NgramOptions``.
    """
    from pyspark.sql import functions as F
    from pyspark.storagelevel import StorageLevel

    from metadata.segmentation import tokenizer_name

    merge_options = merge_options or MergeOptions()
    text_format = options.text_format
    tokenizer = tokenizer_name(lang)
    for path in paths:
        if "," in path:
            raise SourceError(f"Spark cannot read a path with a comma, rename it: {path}")

    lines = spark.sparkContext.textFile(",".join(paths))
    counts = (
        lines.mapPartitions(lambda partition: _count_partition(partition, lang, text_format))
        .reduceByKey(lambda left, right: left + right)
        .persist(StorageLevel.MEMORY_AND_DISK)
    )

    # One pass for the statistics and, per n-gram kind, the number of distinct keys and their total.
    summary = (
        counts.map(lambda item: (item[0] if item[0][0] == STATISTIC else (item[0][0],), (1, item[1])))
        .reduceByKey(lambda left, right: (left[0] + right[0], left[1] + right[1]))
        .collectAsMap()
    )
    statistics = {key[1]: total for key, (_, total) in summary.items() if key[0] == STATISTIC}
    distinct, tokens = summary.get((UNIGRAM,), (0, 0))
    distinct_bigrams, _ = summary.get((BIGRAM,), (0, 0))

    head_size = top_count(distinct, merge_options.unigram_max, merge_options.unigram_fraction)
    head = (
        counts.filter(lambda item: item[0][0] == UNIGRAM).takeOrdered(head_size, key=lambda item: (-item[1], item[0][1]))
        if head_size
        else []
    )
    unigram_items = [(key[1], float(count)) for key, count in head]

    unigrams = spark.createDataFrame(
        counts.filter(lambda item: item[0][0] == UNIGRAM).map(lambda item: (item[0][1], item[1])),
        "token string, count long",
    )
    min_count = options.bigram_min_count
    bigrams = spark.createDataFrame(
        counts.filter(lambda item: item[0][0] == BIGRAM and item[1] >= min_count).map(
            lambda item: (item[0][1], item[0][2], item[0][3], item[1])
        ),
        "first string, separator string, second string, count long",
    )
    left = unigrams.select(F.col("token").alias("first"), F.col("count").alias("first_count"))
    right = unigrams.select(F.col("token").alias("second"), F.col("count").alias("second_count"))
    scored = (
        bigrams.join(left, "first")
        .join(right, "second")
        .withColumn(
            "pmi",
            F.col("count").cast("double") * F.lit(float(tokens)) / (F.col("first_count").cast("double") * F.col("second_count")),
        )
        .withColumn("entry", F.concat("first", "separator", "second"))
    )
    selected = (
        scored.filter(F.col("pmi") > merge_options.bigram_min_pmi)
        .orderBy(F.desc("pmi"), F.asc("entry"))
        .limit(merge_options.bigram_max)
        .select("entry", "pmi")
        .collect()
    )
    bigram_items = [(row["entry"], float(row["pmi"])) for row in selected]

    counts.unpersist()
    skipped = {key[len("skipped_"):]: value for key, value in statistics.items() if key.startswith("skipped_")}
    logger.info(
        "%s: %d lines, %d tokens, %d distinct unigrams (%d kept), %d distinct bigrams (%d above PMI %.1f)",
        lang,
        statistics.get("lines", 0),
        tokens,
        distinct,
        len(unigram_items),
        distinct_bigrams,
        len(bigram_items),
        merge_options.bigram_min_pmi,
    )
    return NgramCounts(
        unigrams=RankedList(items=unigram_items, distinct=distinct),
        bigrams=bigram_items,
        tokenizer=tokenizer,
        tokens=tokens,
        distinct_bigrams=distinct_bigrams,
        statistics={key: value for key, value in statistics.items() if not key.startswith("skipped_")},
        skipped=skipped,
    )
