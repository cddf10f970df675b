"""Prepare stage: validate and clean texts, derive image ids, drop duplicate texts of an image.

All of it runs in Spark SQL, with no Python per row. Each input row leaves either as a prepared
row (``image_id, url, text``) or with one drop reason.
"""

from __future__ import annotations

from dataclasses import dataclass

from curation import schemas as S
from curation.ids import IMAGE_ID_HEX_DIGITS

# Control characters (C0, DEL, C1), tabs and line breaks included, become spaces. Bidirectional
# marks, embeddings, overrides and isolates are removed: they only change how a text is shown.
# Runs of whitespace and Unicode space separators (no-break, em, ideographic space) become one
# space. Zero-width joiners and non-joiners stay, because emoji sequences and Indic and Persian
# words need them.
_CONTROL_CHARACTERS = r"[\p{Cc}\u2028\u2029]"
_BIDI_CONTROLS = r"[\u061C\u200E\u200F\u202A-\u202E\u2066-\u2069]"
_WHITESPACE_RUN = r"[\s\p{Z}]+"
_REPLACEMENT_CHARACTER = "\ufffd"


@dataclass(frozen=True)
class PrepareOptions:
    """Limits of the prepare stage."""

    max_text_chars: int = 4096


def annotate_prepare(raw, options: PrepareOptions):
    """Return the input rows with a cleaned ``text``, an ``image_id`` and a ``drop_reason``.

    ``drop_reason`` is null for rows that go on.
    """
    from pyspark.sql import functions as F

    cleaned_text = F.trim(
        F.regexp_replace(
            F.regexp_replace(F.regexp_replace(F.col("_text"), _BIDI_CONTROLS, ""), _CONTROL_CHARACTERS, " "),
            _WHITESPACE_RUN,
            " ",
        )
    )
    derived_id = F.when(
        F.col("_url").isNotNull() & (F.trim(F.col("_url")) != ""),
        F.substring(F.sha2(F.col("_url"), 256), 1, IMAGE_ID_HEX_DIGITS),
    )
    image_id = F.coalesce(F.nullif(F.trim(F.col("_image_id")), F.lit("")), derived_id)

    # The first reason that applies wins; checks on the raw text come before cleaning.
    reason = (
        F.when(F.col("_bad_row"), F.lit(S.BAD_ROW))
        .when(F.col("_text").isNull(), F.lit(S.MISSING_TEXT))
        .when(
            ~F.expr("is_valid_utf8(_text)") | (F.instr(F.col("_text"), _REPLACEMENT_CHARACTER) > 0),
            F.lit(S.INVALID_UTF8),
        )
        .when(F.col("text") == "", F.lit(S.EMPTY_TEXT))
        .when(F.length(F.col("text")) > options.max_text_chars, F.lit(S.TEXT_TOO_LONG))
        .when(F.col(S.IMAGE_ID).isNull(), F.lit(S.MISSING_IMAGE_ID))
    )

    return (
        raw.withColumn("text", cleaned_text)
        .withColumn(S.IMAGE_ID, image_id)
        .withColumn(S.DROP_REASON, reason)
        .select(S.IMAGE_ID, F.col("_url").alias(S.URL), S.TEXT, S.DROP_REASON)
    )


DUPLICATE_ROWS = "_duplicate_rows"


def drop_duplicate_texts(valid):
    """Keep one row per (image id, text), with ``_duplicate_rows``: how many rows were dropped.

    Of duplicate rows the one with the smallest URL is kept, so the choice does not depend on
    partitioning.
    """
    from pyspark.sql import functions as F

    return valid.groupBy(S.IMAGE_ID, S.TEXT).agg(
        F.min(S.URL).alias(S.URL), (F.count(F.lit(1)) - 1).alias(DUPLICATE_ROWS)
    ).select(S.IMAGE_ID, S.URL, S.TEXT, DUPLICATE_ROWS)
