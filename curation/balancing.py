"""Counting and balancing: text-level counts per (language, entry), thresholds, entry probabilities.

Counts are Spark aggregations. The threshold of each language is computed in one task per
language from that language's counts only (``applyInPandas``), so no per-row data reaches the
driver: it collects one row per language.
"""

from __future__ import annotations

import logging

from curation import schemas as S
from curation.thresholds import LanguageThreshold, compute_language_threshold, compute_reference_threshold

logger = logging.getLogger(__name__)

REFERENCE_LANGUAGE = "en"
_THRESHOLD_DDL = "lang string, t double, p double, entries long, matches long, tail_share double"


class BalancingError(ValueError):
    """Raised when thresholds cannot be derived, such as a run with no English matches."""


def count_entries(matched):
    """Return ``lang, entry_id, count``: the number of texts that contain each entry."""
    from pyspark.sql import functions as F

    return (
        matched.select(S.LANG, F.explode(S.ENTRY_IDS).alias("entry_id"))
        .groupBy(S.LANG, "entry_id")
        .agg(F.count(F.lit(1)).alias("count"))
    )


def reference_tail_share(counts, t_reference: float, reference_lang: str = REFERENCE_LANGUAGE) -> float | None:
    """Return p, the share of the reference language's matches on entries below ``t_reference``.

    Returns None when the reference language has no matches.
    """
    from pyspark.sql import functions as F

    row = (
        counts.where(F.col(S.LANG) == reference_lang)
        .agg(
            F.sum(F.when(F.col("count") < F.lit(t_reference), F.col("count")).otherwise(0)).alias("tail"),
            F.sum("count").alias("total"),
        )
        .first()
    )
    if row is None or not row["total"]:
        return None
    return row["tail"] / row["total"]


def compute_thresholds(
    counts,
    t_reference: float,
    tail_share: float | None = None,
    reference_lang: str = REFERENCE_LANGUAGE,
) -> list[LanguageThreshold]:
    """Return the threshold of every language that has matches.

    The reference language keeps ``t_reference``. p is its tail share unless ``tail_share`` is
    given, and ``tail_share`` is required when the input has no text in the reference language.
    """
    import pandas as pd

    p = reference_tail_share(counts, t_reference, reference_lang)
    if tail_share is not None:
        p = tail_share
    if p is None:
        raise BalancingError(
            f"no matches in the reference language {reference_lang!r}, so its tail share is unknown; "
            "pass --tail-share to set p directly"
        )
    logger.info("tail share p = %.6f (reference %s, t = %s)", p, reference_lang, t_reference)

    def threshold_of_language(frame: pd.DataFrame) -> pd.DataFrame:
        lang = frame[S.LANG].iloc[0]
        values = frame["count"].to_numpy()
        if lang == reference_lang:
            result = compute_reference_threshold(lang, values, t_reference)
        else:
            result = compute_language_threshold(lang, values, p)
        return pd.DataFrame([result.to_dict()])

    rows = counts.select(S.LANG, "count").groupBy(S.LANG).applyInPandas(threshold_of_language, _THRESHOLD_DDL).collect()
    thresholds = [
        LanguageThreshold(
            lang=row["lang"], t=row["t"], p=row["p"], entries=row["entries"], matches=row["matches"], tail_share=row["tail_share"]
        )
        for row in rows
    ]
    return sorted(thresholds, key=lambda item: item.lang)


def entry_probabilities(counts, thresholds: list[LanguageThreshold]):
    """Return ``lang, entry_id, count, prob`` with prob = min(1, t_lang / count)."""
    from pyspark.sql import functions as F

    spark = counts.sparkSession
    threshold_table = spark.createDataFrame([(item.lang, float(item.t)) for item in thresholds], "lang string, t double")
    return counts.join(F.broadcast(threshold_table), on=S.LANG, how="inner").select(
        S.LANG,
        "entry_id",
        "count",
        F.least(F.lit(1.0), F.col("t") / F.col("count")).alias("prob"),
    )


_ENTRY_COUNTS_DDL = "lang string, entry_id int, count long, prob double, entry string"


def add_entry_texts(probabilities, metadata_dir: str, metadata_languages: frozenset[str]):
    """Add each entry's text, read on the executors from the shipped metadata, one task per language."""
    import pandas as pd

    def with_texts(frame: pd.DataFrame) -> pd.DataFrame:
        from curation.shipping import local_path
        from metadata.store import load_language_entries

        lang = frame[S.LANG].iloc[0]
        entries = load_language_entries(local_path(metadata_dir), lang).entries if lang in metadata_languages else []
        result = frame[[S.LANG, "entry_id", "count", "prob"]].copy()
        result["entry"] = [entries[entry_id] for entry_id in frame["entry_id"]]
        return result

    return probabilities.groupBy(S.LANG).applyInPandas(with_texts, _ENTRY_COUNTS_DDL)
