"""The curation job: read, prepare, identify languages, match, count, balance, sample, write.

Every stage writes its result under ``OUTPUT/_stages/`` and records a checkpoint, so a rerun
with ``resume`` skips the stages that completed with the same inputs and options. Outputs are
published only at the end: the finished directories are renamed into place, the reports are
written, and ``_SUCCESS`` comes last. Each stage's rows are accounted for in ``stats.json``:
rows in = rows out + dropped by reason.
"""

from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass, field

from curation import schemas as S
from curation.annotate import AnnotateOptions, identify_and_match
from curation.balancing import REFERENCE_LANGUAGE, add_entry_texts, compute_thresholds, count_entries, entry_probabilities
from curation.checkpoints import StageCheckpoints, fingerprint, path_fingerprint
from curation.faults import kill_worker_marker, maybe_kill_driver
from curation.inputs import InputSpec, read_input
from curation.outputs import (
    check_output_location,
    delete_directory,
    output_is_complete,
    publish_directory,
    remove_success_marker,
    restore_unpublished,
    write_json,
    write_shards,
    write_success_marker,
)
from curation.prepare import DUPLICATE_ROWS, PrepareOptions, annotate_prepare, drop_duplicate_texts
from curation.sampling import add_keep_probability, choose_texts, draw_keep
from curation.shipping import ship_metadata
from curation.stats import RunStats, StageStats
from curation.thresholds import LanguageThreshold
from metadata.store import verify_metadata

logger = logging.getLogger(__name__)

# Meta CLIP 2 keeps English's threshold at 170k matches, sized for billions of English pairs.
DEFAULT_T_EN = 170_000
LID_HISTOGRAM_BINS = 20
PUBLISHED_DIRECTORIES = ("matched", "entry_counts", "curated")
# entry_counts/ is hashed by language into at most this many files.
ENTRY_COUNT_FILES = 64
CURATED_COLUMNS = [S.IMAGE_ID, S.URL, S.TEXT, S.LANG, S.LID_LABEL, S.LID_SCORE, S.ENTRY_IDS, S.KEEP_PROB]


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
    max_task_rows: int = 1_000_000
    ignore_case: bool = False
    rows_per_shard: int = 500_000
    overwrite: bool = False
    resume: bool = False
    keep_stages: bool = False
    write_report: bool = True


@dataclass
class CurationResult:
    """The accounting, thresholds and output locations of a finished run."""

    stats: RunStats
    thresholds: list[LanguageThreshold]
    paths: dict[str, str] = field(default_factory=dict)
    resumed_stages: list[str] = field(default_factory=list)


def _join(base: str, name: str) -> str:
    return f"{base.rstrip('/')}/{name}"


def _counts_by(df, *columns) -> list:
    return df.groupBy(*columns).count().collect()


def check_locations(config: CurationConfig) -> dict:
    """Check the metadata and the output location before any Spark work; return the manifest."""
    manifest = verify_metadata(config.metadata_dir)
    check_output_location(config.output, config.input.path, config.overwrite, config.resume)
    return manifest


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


class CurationRun:
    """One run of the job: its stages in order, each checkpointed under ``OUTPUT/_stages``."""

    def __init__(self, spark, config: CurationConfig, manifest: dict) -> None:
        self.spark = spark
        self.config = config
        self.metadata_languages = frozenset(manifest["languages"])
        self.partitions = config.partitions or spark.sparkContext.defaultParallelism
        self.checkpoints = StageCheckpoints(_join(config.output, "_stages"), resume=config.resume)
        self.stats = RunStats()
        self.resumed: list[str] = []
        self.started = time.monotonic()

        # The workers of the language-ID, matching and balancing stages read these files.
        if config.lid_model and not spark.sparkContext.master.startswith("local"):
            spark.sparkContext.addFile(config.lid_model)
        ship_metadata(spark, config.metadata_dir)

        # A stage's fingerprint chains the fingerprint of the stage before it.
        self.source_fingerprint = fingerprint(
            "source",
            path_fingerprint(config.input.path),
            asdict(config.input),
            config.max_text_chars,
            fingerprint(manifest),
            path_fingerprint(config.lid_model) if config.lid_model else "lid.176",
        )

    # Helpers shared by the stages.

    def _stage(self, name: str, upstream: str, *options) -> tuple[str, dict | None]:
        stage_fingerprint = fingerprint(name, upstream, *options)
        state = self.checkpoints.load(name, stage_fingerprint)
        if state is not None:
            self.resumed.append(name)
        else:
            self.checkpoints.invalidate(name)
        return stage_fingerprint, state

    def _complete(self, name: str, stage_fingerprint: str, state: dict) -> None:
        maybe_kill_driver(f"before-checkpoint:{name}")
        self.checkpoints.save(name, stage_fingerprint, state)
        logger.info("stage %s done after %.1f s", name, time.monotonic() - self.started)
        maybe_kill_driver(f"after:{name}")

    def _add_stats(self, saved: list[dict]) -> None:
        for item in saved:
            self.stats.add(StageStats.from_dict(item))

    # The stages.

    def prepare(self) -> str:
        """Read the input, clean texts, derive image ids and drop duplicates."""
        from pyspark.sql import functions as F

        stage_fingerprint, state = self._stage("prepared", self.source_fingerprint)
        if state is None:
            raw = read_input(self.spark, self.config.input)
            if self.config.partitions:
                raw = raw.repartition(self.partitions)
            prepared = annotate_prepare(raw, PrepareOptions(max_text_chars=self.config.max_text_chars))
            reasons = {row[S.DROP_REASON]: row["count"] for row in _counts_by(prepared, S.DROP_REASON)}
            bad_rows = reasons.pop(S.BAD_ROW, 0)
            read_stats = StageStats.from_counts("read", [(None, S.BAD_ROW, bad_rows), (None, None, sum(reasons.values()))])

            valid = prepared.where(F.col(S.DROP_REASON).isNull()).drop(S.DROP_REASON)
            path = self.checkpoints.data_path("prepared")
            drop_duplicate_texts(valid).write.mode("overwrite").parquet(path)
            duplicate_rows = self.spark.read.parquet(path).agg(F.sum(DUPLICATE_ROWS)).first()[0] or 0
            kept_rows = reasons.pop(None, 0)
            prepare_counts = [(None, reason, count) for reason, count in reasons.items()]
            prepare_counts += [(None, S.DUPLICATE_TEXT, duplicate_rows), (None, None, kept_rows - duplicate_rows)]
            prepare_stats = StageStats.from_counts("prepare", prepare_counts)
            state = {"stats": [read_stats.to_dict(), prepare_stats.to_dict()]}
            self._complete("prepared", stage_fingerprint, state)

        self._add_stats(state["stats"])
        return stage_fingerprint

    def annotate(self, upstream: str) -> tuple[str, dict]:
        """Identify the language of every text and match it against its language's metadata."""
        from pyspark.sql import functions as F

        options = AnnotateOptions(
            metadata_dir=self.config.metadata_dir,
            metadata_languages=self.metadata_languages,
            lid_model=self.config.lid_model,
            max_task_rows=self.config.max_task_rows,
            ignore_case=self.config.ignore_case,
            kill_worker_marker=kill_worker_marker(),
        )
        stage_fingerprint, state = self._stage("annotated", upstream, self.config.ignore_case)
        path = self.checkpoints.data_path("annotated")
        if state is None:
            # Language ID on a small hash sample plans the matching tasks, so language ID and
            # matching then run in one pass and nothing is written between them.
            prepared = self.spark.read.parquet(self.checkpoints.data_path("prepared")).drop(DUPLICATE_ROWS)
            prepared_rows = self.stats.stages[-1].total.rows_out
            identify_and_match(prepared, options, self.partitions, prepared_rows).write.mode("overwrite").parquet(path)

            annotated = self.spark.read.parquet(path)
            counts = _counts_by(annotated.withColumn("_matched", F.size(S.ENTRY_IDS) > 0), S.LANG, "_matched")
            lid_stats = StageStats.from_counts("lid", [(row[S.LANG], None, row["count"]) for row in counts])
            match_stats = StageStats.from_counts(
                "match", [(row[S.LANG], None if row["_matched"] else S.NO_MATCH, row["count"]) for row in counts]
            )
            state = {"stats": [lid_stats.to_dict(), match_stats.to_dict()], "lid_score_histogram": lid_score_histogram(annotated)}
            self._complete("annotated", stage_fingerprint, state)

        self._add_stats(state["stats"])
        return stage_fingerprint, state

    def write_matched(self, upstream: str) -> str:
        """Write the texts that matched at least one entry, sharded by image id."""
        from pyspark.sql import functions as F

        stage_fingerprint, state = self._stage("matched", upstream, self.config.rows_per_shard)
        if state is None:
            annotated = self.spark.read.parquet(self.checkpoints.data_path("annotated"))
            rows = self.stats.stages[-1].total.rows_out
            write_shards(
                annotated.where(F.size(S.ENTRY_IDS) > 0),
                self.checkpoints.data_path("matched"),
                rows,
                self.config.rows_per_shard,
                [S.IMAGE_ID, S.TEXT],
            )
            self._complete("matched", stage_fingerprint, {"rows": rows})
        return stage_fingerprint

    def balance(self, upstream: str) -> tuple[str, list[LanguageThreshold]]:
        """Count entries, derive each language's threshold and every entry's probability."""
        stage_fingerprint, state = self._stage("entry_counts", upstream, self.config.t_en, self.config.tail_share)
        if state is None:
            matched = self.spark.read.parquet(self.checkpoints.data_path("matched"))
            counts = count_entries(matched)
            has_matches = self.stats.stages[-1].total.rows_out > 0
            thresholds = compute_thresholds(counts, self.config.t_en, self.config.tail_share, REFERENCE_LANGUAGE) if has_matches else []

            # Entry texts come from the metadata shipped to the executors, one task per language.
            entry_counts = add_entry_texts(entry_probabilities(counts, thresholds), self.config.metadata_dir, self.metadata_languages)
            (
                entry_counts.select(S.LANG, "entry_id", "entry", "count", "prob")
                .repartition(max(1, min(len(thresholds), ENTRY_COUNT_FILES)), S.LANG)
                .sortWithinPartitions(S.LANG, "entry_id")
                .write.mode("overwrite")
                .parquet(self.checkpoints.data_path("entry_counts"))
            )
            state = {"thresholds": [item.to_dict() for item in thresholds]}
            self._complete("entry_counts", stage_fingerprint, state)

        thresholds = [LanguageThreshold(**item) for item in state["thresholds"]]
        return stage_fingerprint, thresholds

    def sample(self, upstream: str) -> str:
        """Choose one text per image and keep it with its keep probability."""
        stage_fingerprint, state = self._stage("sampled", upstream, self.config.seed)
        if state is None:
            matched = self.spark.read.parquet(self.checkpoints.data_path("matched"))
            probabilities = self.spark.read.parquet(self.checkpoints.data_path("entry_counts"))
            chosen = choose_texts(matched, self.config.seed)
            sampled = draw_keep(add_keep_probability(chosen.where("chosen").drop("chosen"), probabilities), self.config.seed)
            path = self.checkpoints.data_path("sampled")
            sampled.write.mode("overwrite").parquet(path)

            # Texts not chosen = matched texts of a language - its chosen texts.
            kept_counts = _counts_by(self.spark.read.parquet(path), S.LANG, "kept")
            chosen_per_lang: dict[str, int] = {}
            for row in kept_counts:
                chosen_per_lang[row[S.LANG]] = chosen_per_lang.get(row[S.LANG], 0) + row["count"]
            matched_per_lang = {lang: item.rows_out for lang, item in self.stats.stages[-1].by_lang.items()}
            counts = [
                (lang, S.OTHER_TEXT_CHOSEN, rows - chosen_per_lang.get(lang, 0))
                for lang, rows in matched_per_lang.items()
                if rows > chosen_per_lang.get(lang, 0)
            ]
            counts += [(row[S.LANG], None if row["kept"] else S.NOT_SAMPLED, row["count"]) for row in kept_counts]
            state = {"stats": [StageStats.from_counts("sample", counts).to_dict()]}
            self._complete("sampled", stage_fingerprint, state)

        self._add_stats(state["stats"])
        return stage_fingerprint

    def write_curated(self, upstream: str) -> str:
        """Write the kept texts, one per image, sharded by image id."""
        stage_fingerprint, state = self._stage("curated", upstream, self.config.rows_per_shard)
        if state is None:
            sampled = self.spark.read.parquet(self.checkpoints.data_path("sampled"))
            rows = self.stats.stages[-1].total.rows_out
            write_shards(
                sampled.where("kept").select(*CURATED_COLUMNS),
                self.checkpoints.data_path("curated"),
                rows,
                self.config.rows_per_shard,
                [S.IMAGE_ID],
            )
            self._complete("curated", stage_fingerprint, {"rows": rows})
        return stage_fingerprint

    def publish(self, thresholds: list[LanguageThreshold], annotated_state: dict) -> dict[str, str]:
        """Move the finished outputs into place, write the reports, then ``_SUCCESS``."""
        output = self.config.output
        paths = {name: _join(output, name) for name in PUBLISHED_DIRECTORIES}
        paths["thresholds"] = _join(output, "thresholds.json")
        paths["stats"] = _join(output, "stats.json")

        for name in PUBLISHED_DIRECTORIES:
            publish_directory(self.checkpoints.data_path(name), paths[name])
            maybe_kill_driver(f"publish:{name}")

        write_json(
            paths["thresholds"],
            {"reference_lang": REFERENCE_LANGUAGE, "t_en": self.config.t_en, "languages": [item.to_dict() for item in thresholds]},
        )
        stats = self.stats.to_dict()
        stats["lid_score_histogram"] = annotated_state["lid_score_histogram"]
        write_json(paths["stats"], stats)

        if self.config.write_report:
            # The data is complete at this point, so a failed report only costs the report.
            try:
                from curation.report import write_report

                paths["report"] = write_report(output)
            except Exception as error:  # noqa: BLE001 - any failure of the plots must not fail the run
                logger.warning("report.html not written (%s); draw it later with `python -m curation.report %s`", error, output)

        if not self.config.keep_stages:
            delete_directory(self.checkpoints.stages_dir)
        write_success_marker(output)
        return paths


def run_curation(spark, config: CurationConfig) -> CurationResult:
    """Run the whole job and return what it wrote."""
    manifest = check_locations(config)
    spark.conf.set("spark.sql.shuffle.partitions", str(config.partitions or spark.sparkContext.defaultParallelism))
    if config.resume:
        if not config.keep_stages and output_is_complete(config.output):
            logger.warning(
                "%s contains a finished run whose stage data was deleted when it was published, so "
                "every stage runs again; pass --keep-stages to let later reruns skip them",
                config.output,
            )
        # The run is incomplete again until it publishes; stale outputs go back to staging.
        remove_success_marker(config.output)
        for name in PUBLISHED_DIRECTORIES:
            restore_unpublished(_join(config.output, name), _join(_join(config.output, "_stages"), name))

    run = CurationRun(spark, config, manifest)
    prepared = run.prepare()
    annotated, annotated_state = run.annotate(prepared)
    matched = run.write_matched(annotated)
    balanced, thresholds = run.balance(matched)
    sampled = run.sample(balanced)
    run.write_curated(sampled)
    paths = run.publish(thresholds, annotated_state)

    logger.info(
        "curation finished in %.1f s: %d rows in, %d kept%s",
        time.monotonic() - run.started,
        run.stats.stages[0].total.rows_in,
        run.stats.stages[-1].total.rows_out,
        f"; resumed stages: {', '.join(run.resumed)}" if run.resumed else "",
    )
    return CurationResult(stats=run.stats, thresholds=thresholds, paths=paths, resumed_stages=run.resumed)
