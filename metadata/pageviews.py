"""Sum Wikimedia hourly page views per Wikipedia title with Spark and keep each language's head.

Each line of a page-view file is ``domain_code page_title count_views total_response_size``,
separated by single spaces (files are gzip-compressed, which Spark reads directly). Only
Wikipedia domains are kept: ``de`` (desktop) and ``de.m`` (mobile) are both German Wikipedia
and their views are summed. Domains of other projects (``de.b`` Wikibooks, ``de.m.d``
Wiktionary, ``commons.m``) are skipped and counted. Titles containing ``:`` (namespaces such as
``Special:`` or ``File:``) are skipped, percent-escapes are decoded and underscores become
spaces.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from typing import Iterator
from urllib.parse import unquote

from metadata.merge import MergeOptions, RankedList
from metadata.sources import SourceError

logger = logging.getLogger(__name__)

# A Wikipedia language code of a page-view domain: "en", "zh-min-nan", "be-tarask", "simple".
_WIKIPEDIA_LANGUAGE = re.compile(r"^(?:[a-z]{2,3}(?:-[a-z0-9]+)*|simple)$")
# Wikimedia wikis whose domain codes look like language codes but are not a Wikipedia edition.
NOT_WIKIPEDIA = frozenset({"www", "ten", "api", "wg"})

TITLE = "t"
STATISTIC = "s"


@dataclass
class PageviewTitles:
    """The head titles of each language with the statistics of every line read."""

    per_language: dict[str, RankedList]
    statistics: dict[str, int] = field(default_factory=dict)
    skipped: dict[str, int] = field(default_factory=dict)


def parse_pageview_line(line: str) -> tuple[str, str, int] | str:
    """Return (language, title, views) of a Wikipedia line, or the reason the line is skipped."""
    parts = line.rstrip("\n").rstrip("\r").split(" ")
    if len(parts) != 4:
        return "malformed_line"
    domain, raw_title, views_text, _response_size = parts
    if not views_text.isdigit():
        return "malformed_views"

    labels = domain.lower().split(".")
    language = labels[0]
    if labels[1:] not in ([], ["m"]) or language in NOT_WIKIPEDIA or not _WIKIPEDIA_LANGUAGE.match(language):
        return "not_wikipedia"

    title = unquote(raw_title, errors="strict") if "%" in raw_title else raw_title
    if ":" in title:
        return "namespace_title"
    title = title.replace("_", " ").strip()
    if not title or title == "-":
        return "empty_title"
    return language, title, int(views_text)


def _parse_partition(lines: Iterator[str]) -> Iterator[tuple[tuple, int]]:
    for line in lines:
        try:
            parsed = parse_pageview_line(line)
        except UnicodeDecodeError:
            parsed = "malformed_title_escape"
        if isinstance(parsed, str):
            yield (STATISTIC, parsed), 1
            continue
        language, title, views = parsed
        yield (STATISTIC, "wikipedia_lines"), 1
        yield (TITLE, language, title), views


def sum_pageviews(spark, paths: list[str], merge_options: MergeOptions | None = None) -> PageviewTitles:
    """Sum views per (language, title) over all ``paths``; keep each language's head titles.

    The head is the top min(title_max, floor(title_fraction * distinct titles)) titles by
    views, ties broken by code point.
    """
    from pyspark.sql import Window
    from pyspark.sql import functions as F
    from pyspark.storagelevel import StorageLevel

    merge_options = merge_options or MergeOptions()
    for path in paths:
        if "," in path:
            raise SourceError(f"Spark cannot read a path with a comma, rename it: {path}")

    records = (
        spark.sparkContext.textFile(",".join(paths))
        .mapPartitions(_parse_partition)
        .reduceByKey(lambda left, right: left + right)
        .persist(StorageLevel.MEMORY_AND_DISK)
    )
    statistics = dict(records.filter(lambda item: item[0][0] == STATISTIC).map(lambda item: (item[0][1], item[1])).collect())
    titles = spark.createDataFrame(
        records.filter(lambda item: item[0][0] == TITLE).map(lambda item: (item[0][1], item[0][2], item[1])),
        "lang string, title string, views long",
    )

    ranked = titles.withColumn(
        "rank", F.row_number().over(Window.partitionBy("lang").orderBy(F.desc("views"), F.asc("title")))
    ).withColumn("distinct", F.count("*").over(Window.partitionBy("lang")))
    fraction = float(merge_options.title_fraction)
    head = ranked.filter(
        (F.col("rank") <= F.least(F.lit(merge_options.title_max), F.floor(F.col("distinct") * F.lit(fraction))))
    ).collect()

    per_language: dict[str, list[tuple[str, float]]] = {}
    distinct_per_language: dict[str, int] = {}
    for row in head:
        per_language.setdefault(row["lang"], []).append((row["title"], float(row["views"])))
        distinct_per_language[row["lang"]] = int(row["distinct"])
    # Languages whose head is empty (fewer titles than 1 / title_fraction) still count as present.
    for row in titles.groupBy("lang").count().collect():
        distinct_per_language.setdefault(row["lang"], int(row["count"]))
        per_language.setdefault(row["lang"], [])

    result = {
        lang: RankedList(items=sorted(items, key=lambda item: (-item[1], item[0])), distinct=distinct_per_language[lang])
        for lang, items in per_language.items()
    }
    records.unpersist()

    skipped = {key: value for key, value in statistics.items() if key != "wikipedia_lines"}
    logger.info(
        "page views: %d Wikipedia lines in %d languages; skipped %s",
        statistics.get("wikipedia_lines", 0),
        len(result),
        skipped or "nothing",
    )
    return PageviewTitles(
        per_language=result,
        statistics={"wikipedia_lines": statistics.get("wikipedia_lines", 0)},
        skipped=skipped,
    )
