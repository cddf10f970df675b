"""The curation job: read, prepare, identify languages, match, count, balance, sample, write.

Each stage's rows are accounted for in ``stats.json``: rows in = rows out + dropped by reason.
The expensive Python stages run once; their result is written under ``_stages/`` and read back
for the counts, the statistics and the sampling.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

from curation import schemas as S
from curation.annotate import AnnotateOptions, identify_languages, match_entries
from curation.balancing import REFERENCE_LANGUAGE, compute_thresholds, count_entries, entry_probabilities
from curation.faults import kill_worker_marker
from curation.inputs import InputSpec, read_input
from curation.outputs import (
    check_output_location,
    delete_directory,
    write_json,
    write_shards,
    write_success_marker,
)
from curation.prepare import PrepareOptions, annotate_prepare, drop_duplicate_texts
from curation.sampling import add_keep_probability, choose_texts, draw_keep
from curation.stats import RunStats, StageStats
from curation.thresholds import LanguageThreshold
from metadata.store import ENTRIES_DIR, verify_metadata

logger = logging.getLogger(__name__)

# Meta CLIP 2 keeps English's threshold at 170k matches, sized for billions of English pairs.
DEFAULT_T_EN = 170_000
LID_HISTOGRAM_BINS = 20


@dataclass(frozen=True)
class CurationConfig:
    """Everything one curation run needs; the job's command line fills it."""

    input: InputSpec
    output: str
    metadata_dir: str
    lid_model: str | None = None
    t_en: float = DEFAULT_T_EN
    tail_share: float | None = None
    seed: int = 0
    partitions: int | None = None
    max_text_chars: int = 4096
    match_buckets: int = 8
    rows_per_shard: int = 500_000
    overwrite: bool = False
    keep_stages: bool = False


@dataclass
class CurationResult:
    """What a run wrote: its accounting, thresholds and output locations."""

    stats: RunStats
    thresholds: list[LanguageThreshold]
    paths: dict[str, str] = field(default_factory=dict)


def _join(base: str, name: str) -> str:
    return f"{base.rstrip('/')}/{name}"


def _counts_by(df, *columns) -> list:
    return df.groupBy(*columns).count().collect()


def lid_score_histogram(annotated, bins: int = LID_HISTOGRAM_BINS) -> dict[str, dict]:
    """Return, per language, how many texts fell into each LID score bin of width 1 / bins."""
    from pyspark.sql import functions as F

    bin_index = F.least(F.floor(F.col(S.LID_SCORE) * bins).cast("int"), F.lit(bins - 1))
    histogram: dict[str, dict] = {}
    for row in _counts_by(annotated.withColumn("_bin", bin_index), S.LANG, "_bin"):
        item = histogram.setdefault(
            row[S.LANG], {"bins": [round(index / bins, 4) for index in range(bins + 1)], "counts": [0] * bins}
        )
        item["counts"][row["_bin"]] += row["count"]
    return dict(sorted(histogram.items()))


def check_locations(config: CurationConfig) -> dict:
    """Check the metadata and the output location before any Spark work; return the manifest."""
    manifest = verify_metadata(config.metadata_dir)
    check_output_location(config.output, config.input.path, config.overwrite)
    return manifest


def run_curation(spark, config: CurationConfig) -> CurationResult:
    """Run the whole job and return what it wrote."""
    from pyspark.sql import functions as F

    started = time.monotonic()
    manifest = check_locations(config)
    metadata_languages = frozenset(manifest["languages"])

    partitions = config.partitions or spark.sparkContext.defaultParallelism
    spark.conf.set("spark.sql.shuffle.partitions", str(partitions))
    if config.lid_model:
        spark.sparkContext.addFile(config.lid_model)
    spark.sparkContext.addFile(config.metadata_dir, recursive=True)

    stages_dir = _join(config.output, "_stages")
    paths = {
        "curated": _join(config.output, "curated"),
        "matched": _join(config.output, "matched"),
        "entry_counts": _join(config.output, "entry_counts"),
        "thresholds": _join(config.output, "thresholds.json"),
        "stats": _join(config.output, "stats.json"),
    }
    stats = RunStats()

    # Read and prepare: parse errors, invalid or empty texts, missing ids, duplicate texts.
    raw = read_input(spark, config.input)
    if config.partitions:
        raw = raw.repartition(partitions)
    prepared = annotate_prepare(raw, PrepareOptions(max_text_chars=config.max_text_chars))
    reasons = {row[S.DROP_REASON]: row["count"] for row in _counts_by(prepared, S.DROP_REASON)}
    bad_rows = reasons.pop(S.BAD_ROW, 0)
    stats.add(StageStats.from_counts("read", [(None, S.BAD_ROW, bad_rows), (None, None, sum(reasons.values()))]))

    valid = prepared.where(F.col(S.DROP_REASON).isNull()).drop(S.DROP_REASON)
    deduplicated, duplicates = drop_duplicate_texts(valid)
    duplicate_rows = duplicates.agg(F.sum("duplicates")).first()[0] or 0
    kept_rows = reasons.pop(None, 0)
    prepare_counts = [(None, reason, count) for reason, count in reasons.items()]
    prepare_counts += [(None, S.DUPLICATE_TEXT, duplicate_rows), (None, None, kept_rows - duplicate_rows)]
    stats.add(StageStats.from_counts("prepare", prepare_counts))
    logger.info("prepare done after %.1f s", time.monotonic() - started)

    # Language ID and matching, written once under _stages/ and read back.
    options = AnnotateOptions(
        metadata_dir=config.metadata_dir,
        metadata_languages=metadata_languages,
        lid_model=config.lid_model,
        match_buckets=config.match_buckets,
        kill_worker_marker=kill_worker_marker(),
    )
    annotated_path = _join(stages_dir, "annotated")
    identified = identify_languages(deduplicated, options)
    match_entries(identified, options, partitions).write.mode("overwrite").parquet(annotated_path)
    annotated = spark.read.parquet(annotated_path)
    logger.info("language ID and matching done after %.1f s", time.monotonic() - started)

    has_match = F.size(S.ENTRY_IDS) > 0
    lang_match_counts = _counts_by(annotated.withColumn("_matched", has_match), S.LANG, "_matched")
    stats.add(StageStats.from_counts("lid", [(row[S.LANG], None, row["count"]) for row in lang_match_counts]))
    stats.add(
        StageStats.from_counts(
            "match",
            [(row[S.LANG], None if row["_matched"] else S.NO_MATCH, row["count"]) for row in lang_match_counts],
        )
    )

    lid_histogram = lid_score_histogram(annotated)

    matched_rows = stats.stages[-1].total.rows_out
    write_shards(annotated.where(has_match), paths["matched"], matched_rows, config.rows_per_shard, [S.IMAGE_ID, S.TEXT])
    matched = spark.read.parquet(paths["matched"])

    # Counts, thresholds and entry probabilities.
    counts = count_entries(matched)
    thresholds = compute_thresholds(counts, config.t_en, config.tail_share, REFERENCE_LANGUAGE) if matched_rows else []
    entries = spark.read.parquet(_join(config.metadata_dir, ENTRIES_DIR)).select(S.LANG, "entry_id", "entry")
    entry_counts = entry_probabilities(counts, thresholds).join(entries, on=[S.LANG, "entry_id"], how="left")
    (
        entry_counts.select(S.LANG, "entry_id", "entry", "count", "prob")
        .repartition(1)
        .sortWithinPartitions(S.LANG, "entry_id")
        .write.mode("overwrite")
        .parquet(paths["entry_counts"])
    )
    probabilities = spark.read.parquet(paths["entry_counts"])
    write_json(paths["thresholds"], {"reference_lang": REFERENCE_LANGUAGE, "t_en": config.t_en, "languages": [item.to_dict() for item in thresholds]})

    # Sampling: one text per image, kept with its keep probability.
    sampled_path = _join(stages_dir, "sampled")
    chosen = choose_texts(matched, config.seed)
    chosen_counts = _counts_by(chosen, S.LANG, "chosen")
    sampled = draw_keep(add_keep_probability(chosen.where("chosen").drop("chosen"), probabilities), config.seed)
    sampled.write.mode("overwrite").parquet(sampled_path)
    sampled = spark.read.parquet(sampled_path)

    sample_counts = [(row[S.LANG], S.OTHER_TEXT_CHOSEN, row["count"]) for row in chosen_counts if not row["chosen"]]
    sample_counts += [
        (row[S.LANG], None if row["kept"] else S.NOT_SAMPLED, row["count"]) for row in _counts_by(sampled, S.LANG, "kept")
    ]
    stats.add(StageStats.from_counts("sample", sample_counts))

    curated_rows = stats.stages[-1].total.rows_out
    curated_columns = [S.IMAGE_ID, S.URL, S.TEXT, S.LANG, S.LID_LABEL, S.LID_SCORE, S.ENTRY_IDS, S.KEEP_PROB]
    write_shards(
        sampled.where("kept").select(*curated_columns), paths["curated"], curated_rows, config.rows_per_shard, [S.IMAGE_ID]
    )

    # Reports last, then the marker that tells readers the run is complete.
    result = stats.to_dict()
    result["lid_score_histogram"] = lid_histogram
    result["seconds"] = round(time.monotonic() - started, 1)
    write_json(paths["stats"], result)
    if not config.keep_stages:
        delete_directory(stages_dir)
    write_success_marker(config.output)
    logger.info("curation finished in %.1f s: %d rows in, %d kept", result["seconds"], result["rows_in"], result["rows_out"])
    return CurationResult(stats=stats, thresholds=thresholds, paths=paths)
