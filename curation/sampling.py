"""Sampling: per image, choose one matched text and keep it with its keep probability.

Both draws come from Spark's xxhash64 of (seed, image id), never from a stateful generator, so a
rerun with the same seed keeps the same rows whatever the partitioning or executor count.
"""

from __future__ import annotations

from typing import Iterable

from curation import schemas as S

# The top 53 bits of a 64-bit hash give a uniform double in [0, 1).
_MANTISSA_MASK = (1 << 53) - 1
_MANTISSA_SCALE = float(1 << 53)


def keep_probability(entry_probabilities: Iterable[float]) -> float:
    """Return 1 - prod(1 - p_e): the chance that a text with these entries is kept."""
    remaining = 1.0
    for probability in entry_probabilities:
        remaining *= 1.0 - probability
    return 1.0 - remaining


def uniform_draw(seed: int, *columns: str, salt: str):
    """Return a Spark column with a uniform double in [0, 1) hashed from seed, columns and salt."""
    from pyspark.sql import functions as F

    hashed = F.xxhash64(F.lit(int(seed)), *[F.col(name) for name in columns], F.lit(salt))
    return hashed.bitwiseAND(F.lit(_MANTISSA_MASK)).cast("double") / F.lit(_MANTISSA_SCALE)


def choose_texts(matched, seed: int):
    """Return ``matched`` with a boolean ``chosen``: one text per image id, drawn by hash.

    Each text gets a draw from (seed, image id, text), and the text with the smallest draw is
    chosen. Equal draws fall back to the text itself, then the URL.
    """
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    draw = uniform_draw(seed, S.IMAGE_ID, S.TEXT, salt="choose")
    order = Window.partitionBy(S.IMAGE_ID).orderBy(F.col("_draw"), F.col(S.TEXT), F.col(S.URL))
    return (
        matched.withColumn("_draw", draw)
        .withColumn("chosen", F.row_number().over(order) == 1)
        .drop("_draw")
    )


def add_keep_probability(chosen, probabilities):
    """Add ``keep_prob`` to the chosen texts from the probabilities of their entries."""
    from pyspark.sql import functions as F

    per_entry = chosen.select(S.IMAGE_ID, S.LANG, F.explode(S.ENTRY_IDS).alias("entry_id")).join(
        probabilities.select(S.LANG, "entry_id", "prob"), on=[S.LANG, "entry_id"], how="inner"
    )
    keep = per_entry.groupBy(S.IMAGE_ID).agg(
        (F.lit(1.0) - F.product(F.lit(1.0) - F.col("prob"))).alias(S.KEEP_PROB)
    )
    return chosen.join(keep, on=S.IMAGE_ID, how="inner")


def draw_keep(with_probability, seed: int):
    """Add a boolean ``kept``: the keep draw from (seed, image id) is below ``keep_prob``."""
    from pyspark.sql import functions as F

    return with_probability.withColumn("kept", uniform_draw(seed, S.IMAGE_ID, salt="keep") < F.col(S.KEEP_PROB))
