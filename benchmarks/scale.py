"""Scale benchmark of the curation job: per-core throughput, shuffle bytes and worker memory.

For each metadata size, the benchmark generates metadata from real words of the shared frequency
lists and WordNet. Its realistic shape is 330 languages, English with 500k entries, the largest
non-English language with 1M and about 27M entries in all, and smaller sizes scale that shape
down. For each input size, it resamples the shared captions with small perturbations in Spark,
then measures:

- the whole job (``run_curation``): rows per second per core, task seconds per row and shuffle
  bytes per input row. Task seconds are the sum of the run times of the job's Spark tasks, so
  they leave out the driver's work between Spark jobs and cores left idle. The marginal rate
  between two input sizes leaves out the time that does not grow with the input;
- the matching stage alone, run through an instrumented copy of the stage's UDF: the time and
  row count of every task and the peak RSS of every Python worker. It runs once with the planned
  buckets and once with the former fixed 8 buckets per language, for comparison.

Run: ``python -m benchmarks.scale`` (small default, a few minutes) or
``python -m benchmarks.scale --rows 10000,100000,1000000 --metadata-scale 0.1,1`` from the
repository root. Generated data lives in a temporary directory and is deleted afterwards,
unless ``--work-dir`` keeps it for the next run.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

from benchmarks.captions import CAPTION_LANGUAGES, read_caption_rows

logger = logging.getLogger(__name__)

SPARK_CORES = 2
DEFAULT_ROWS = (10_000, 100_000)
DEFAULT_METADATA_SCALES = (0.1,)
DEFAULT_REPEATS = 2
COMMAND = (
    "python -m benchmarks.scale --rows {rows} --metadata-scale {scales} --repeats {repeats} "
    "--whole-job-max-rows {job_rows} --fixed-max-rows {fixed_rows}"
)
FIXED_BUCKETS = 8
WORKER_STATS_DDL = (
    "task int, pid int, rows long, seconds double, build_seconds double, max_rss_mb double, held_entries long, languages string"
)


# Metadata of a realistic shape.


@dataclass(frozen=True)
class MetadataShape:
    """The size of generated metadata: languages, English entries, largest language, total."""

    languages: int = 330
    english_entries: int = 500_000
    largest_entries: int = 1_000_000
    total_entries: int = 27_000_000
    largest_language: str = "zh"

    def scaled(self, factor: float) -> "MetadataShape":
        """Return the same shape with every entry count multiplied by ``factor``."""
        return MetadataShape(
            languages=self.languages,
            english_entries=round(self.english_entries * factor),
            largest_entries=round(self.largest_entries * factor),
            total_entries=round(self.total_entries * factor),
            largest_language=self.largest_language,
        )


def language_codes(count: int) -> list[str]:
    """Return ``count`` language codes: the caption languages, then LID languages, then made-up codes."""
    from metadata.lid_languages import languages_with_lid

    codes = list(CAPTION_LANGUAGES)
    lid_codes = sorted(lang for lang in languages_with_lid() if lang not in codes)
    codes += lid_codes
    synthetic = 0
    while len(codes) < count:
        codes.append(f"x{synthetic:03d}")
        synthetic += 1
    return codes[:count]


def language_sizes(shape: MetadataShape) -> dict[str, int]:
    """Return the entries of each language: a power-law tail below English and the largest language.

    The tail sizes are ``largest * rank**-a``, with ``a`` found by bisection so that all
    languages together hold ``total_entries``.
    """
    codes = language_codes(shape.languages)
    tail_codes = [code for code in codes if code not in ("en", shape.largest_language)]
    tail_total = shape.total_entries - shape.english_entries - shape.largest_entries
    if tail_total < len(tail_codes):
        raise ValueError(f"total_entries {shape.total_entries} is too small for {shape.languages} languages")

    def tail_sizes(exponent: float) -> list[int]:
        return [max(1, round(shape.largest_entries * (rank + 2) ** -exponent)) for rank in range(len(tail_codes))]

    low, high = 0.0, 8.0
    for _ in range(60):
        middle = (low + high) / 2
        if sum(tail_sizes(middle)) > tail_total:
            low = middle
        else:
            high = middle
    sizes = dict(zip(tail_codes, tail_sizes(high)))
    sizes["en"] = shape.english_entries
    sizes[shape.largest_language] = shape.largest_entries
    return sizes


def read_word_pools(shared_data: Path) -> dict[str, list[str]]:
    """Return the real words of every frequency list, by language, with English WordNet lemmas added."""
    pools: dict[str, list[str]] = {}
    for path in sorted((shared_data / "frequency" / "wordfreq").glob("*.tsv")):
        with path.open(encoding="utf-8") as handle:
            next(handle)
            pools[path.stem] = [line.split("\t", 1)[0] for line in handle if line.strip()]
    lemmas = (shared_data / "wordnet" / "en" / "wordnet30_lemmas.txt").read_text(encoding="utf-8").split("\n")
    pools["en"] = pools.get("en", []) + [lemma.replace("_", " ") for lemma in lemmas if lemma]
    return pools


def generate_entries(lang: str, size: int, pools: Mapping[str, list[str]]) -> set[str]:
    """Return ``size`` distinct entries: the language's real words, then 2- and 3-word phrases of them.

    Meta CLIP's English metadata is mostly single words (WordNet synsets, Wikipedia unigrams),
    and bigrams and article titles make up the rest. The phrases here stand for those. A
    language without a word list borrows one, chosen by a hash of its code.
    """
    names = sorted(pools)
    pool = pools.get(lang) or pools[names[zlib.crc32(lang.encode()) % len(names)]]
    rng = random.Random(zlib.crc32(f"entries-{lang}".encode()))
    entries: set[str] = set(pool[: size // 2])
    while len(entries) < size:
        # Draw words in bulk: 60% of the new phrases get 2 words, 40% get 3.
        missing = size - len(entries)
        words = rng.choices(pool, k=3 * missing)
        lengths = rng.choices((2, 3), weights=(6, 4), k=missing)
        position = 0
        for length in lengths:
            entries.add(" ".join(words[position : position + length]))
            position += length
    return entries


class _GeneratedLanguage(Mapping):
    """Entries of one generated language, each with the single source name ``generated``."""

    def __init__(self, entries: set[str]) -> None:
        self._entries = entries

    def __getitem__(self, entry: str) -> tuple[str, ...]:
        return ("generated",)

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)


class _GeneratedMetadata(Mapping):
    """Languages generated on first access; only the latest one is kept in memory."""

    def __init__(self, sizes: Mapping[str, int], pools: Mapping[str, list[str]]) -> None:
        self._sizes = sizes
        self._pools = pools
        self._current: tuple[str, _GeneratedLanguage] | None = None

    def __getitem__(self, lang: str) -> _GeneratedLanguage:
        if self._current is None or self._current[0] != lang:
            self._current = (lang, _GeneratedLanguage(generate_entries(lang, self._sizes[lang], self._pools)))
        return self._current[1]

    def __iter__(self) -> Iterator[str]:
        return iter(self._sizes)

    def __len__(self) -> int:
        return len(self._sizes)


def write_generated_metadata(shared_data: Path, shape: MetadataShape, output: Path) -> dict:
    """Write metadata of ``shape`` to ``output``; return the manifest."""
    from metadata.store import write_metadata

    sizes = language_sizes(shape)
    generated = _GeneratedMetadata(sizes, read_word_pools(shared_data))
    return write_metadata(str(output), generated, {"sources": {"generated": "benchmarks.scale"}})


def entry_length_summary(metadata: Path, lang: str) -> tuple[float, float]:
    """Return the mean characters and mean words of the entries of ``lang``."""
    from metadata.store import load_language_entries

    entries = load_language_entries(str(metadata), lang).entries
    return (
        statistics.fmean(len(entry) for entry in entries),
        statistics.fmean(entry.count(" ") + 1 for entry in entries),
    )


# Inputs resampled from the shared captions.


def write_resampled_input(spark, shared_data: Path, rows: int, output: Path, seed: int = 0) -> None:
    """Write ``rows`` caption rows drawn with replacement from the shared captions, perturbed.

    A third of the rows keep the caption, a third drop its last word, and a third gain the
    first word of another caption. Every row gets its own URL. All of it runs in Spark.
    """
    from pyspark.sql import functions as F

    captions = read_caption_rows(shared_data)
    table = spark.createDataFrame([(index, row["text"]) for index, row in enumerate(captions)], "idx long, caption string")
    count = len(captions)

    draws = spark.range(rows).select(
        F.col("id"),
        F.pmod(F.xxhash64(F.col("id"), F.lit(seed), F.lit("a")), F.lit(count)).alias("a"),
        F.pmod(F.xxhash64(F.col("id"), F.lit(seed), F.lit("b")), F.lit(count)).alias("b"),
        F.pmod(F.xxhash64(F.col("id"), F.lit(seed), F.lit("v")), F.lit(3)).alias("variant"),
    )
    first = table.select(F.col("idx").alias("a"), F.col("caption").alias("text_a"))
    second = table.select(F.col("idx").alias("b"), F.regexp_extract("caption", r"^(\S+)", 1).alias("word_b"))
    joined = draws.join(F.broadcast(first), "a").join(F.broadcast(second), "b")
    text = (
        F.when(F.col("variant") == 1, F.regexp_replace("text_a", r"\s+\S+$", ""))
        .when(F.col("variant") == 2, F.concat_ws(" ", "text_a", "word_b"))
        .otherwise(F.col("text_a"))
    )
    files = max(1, rows // 250_000)
    (
        joined.select(F.concat(F.lit("https://scale.test/"), F.col("id"), F.lit(".jpg")).alias("url"), text.alias("text"))
        .repartition(files)
        .write.mode("overwrite")
        .parquet(str(output))
    )


# Spark metrics from the session's own monitoring REST API.


def completed_stages(spark) -> dict[int, dict]:
    """Return the completed stages of this application by stage id, from its web UI's REST API."""
    base = spark.sparkContext.uiWebUrl
    if not base:
        return {}
    url = f"{base}/api/v1/applications/{spark.sparkContext.applicationId}/stages?status=complete"
    with urllib.request.urlopen(url, timeout=30) as response:
        return {item["stageId"]: item for item in json.load(response)}


def stage_totals_since(spark, before: Mapping[int, dict]) -> tuple[int, float]:
    """Return the shuffle bytes written and the task seconds of the stages completed since ``before``."""
    # The REST API lags the job end slightly; a short wait lets the last stages appear.
    time.sleep(2)
    new = [item for stage_id, item in completed_stages(spark).items() if stage_id not in before]
    shuffle_bytes = sum(item.get("shuffleWriteBytes", 0) for item in new)
    task_seconds = sum(item.get("executorRunTime", 0) for item in new) / 1000
    return shuffle_bytes, task_seconds


# Measurements.


@dataclass
class JobMeasure:
    """One run of the whole job."""

    rows: int
    seconds: float
    shuffle_bytes: int
    task_seconds: float = 0.0

    @property
    def rows_per_core_second(self) -> float:
        return self.rows / self.seconds / SPARK_CORES

    @property
    def rows_per_task_second(self) -> float:
        return self.rows / self.task_seconds if self.task_seconds else 0.0


@dataclass
class MatchMeasure:
    """One run of the matching stage with per-task statistics from inside the workers."""

    rows: int
    seconds: float
    scheme: str
    tasks: list[dict] = field(default_factory=list)

    @property
    def rows_per_core_second(self) -> float:
        return self.rows / self.seconds / SPARK_CORES

    def task_spread(self, without_builds: bool = False) -> tuple[float, float]:
        """Return the median and maximum seconds of the tasks with rows, optionally without automaton builds."""
        times = [task["seconds"] - (task["build_seconds"] if without_builds else 0.0) for task in self.tasks if task["rows"]]
        return statistics.median(times), max(times)

    def rows_per_core_second_without_builds(self) -> float:
        """Return rows per second of task time once the automaton builds are taken out: the marginal cost."""
        matching_seconds = sum(task["seconds"] - task["build_seconds"] for task in self.tasks)
        return self.rows / matching_seconds

    def build_seconds(self) -> float:
        return sum(task["build_seconds"] for task in self.tasks)

    def peak_rss_mb(self) -> float:
        return max(task["max_rss_mb"] for task in self.tasks)

    def max_task_share(self) -> float:
        return max(task["rows"] for task in self.tasks) / self.rows


def time_whole_job(spark, input_path: Path, metadata: Path, output: Path, rows: int) -> JobMeasure:
    """Run the curation job once; return its time and shuffle bytes."""
    from curation.inputs import InputSpec
    from curation.pipeline import CurationConfig, run_curation

    before = completed_stages(spark)
    started = time.perf_counter()
    run_curation(spark, CurationConfig(input=InputSpec(path=str(input_path)), output=str(output), metadata_dir=str(metadata), overwrite=True))
    seconds = time.perf_counter() - started
    shuffle_bytes, task_seconds = stage_totals_since(spark, before)
    return JobMeasure(rows=rows, seconds=seconds, shuffle_bytes=shuffle_bytes, task_seconds=task_seconds)


def instrumented_match(metadata_dir: str, languages: frozenset[str], max_entries: int):
    """Return a mapInArrow function that matches like the stage and yields one statistics row per task."""

    def match_and_measure(batches):
        import pyarrow as pa
        from pyspark import TaskContext

        from curation.annotate import _matcher_cache, match_record_batches

        cache = _matcher_cache(metadata_dir, languages, max_entries)
        builds_before = cache.build_seconds
        started = time.perf_counter()
        rows = 0
        seen: list[str] = []
        for batch in match_record_batches(batches, metadata_dir, languages, max_entries):
            rows += batch.num_rows
            for lang in batch.column("lang").unique().to_pylist():
                if lang not in seen:
                    seen.append(lang)
        seconds = time.perf_counter() - started
        yield pa.RecordBatch.from_pylist(
            [
                {
                    "task": TaskContext.get().partitionId(),
                    "pid": os.getpid(),
                    "rows": rows,
                    "seconds": seconds,
                    "build_seconds": cache.build_seconds - builds_before,
                    # ru_maxrss is in kilobytes on Linux.
                    "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                    "held_entries": cache.held_entries,
                    "languages": ",".join(seen),
                }
            ],
            schema=pa.schema(
                [
                    ("task", pa.int32()),
                    ("pid", pa.int32()),
                    ("rows", pa.int64()),
                    ("seconds", pa.float64()),
                    ("build_seconds", pa.float64()),
                    ("max_rss_mb", pa.float64()),
                    ("held_entries", pa.int64()),
                    ("languages", pa.string()),
                ]
            ),
        )

    return match_and_measure


def time_matching_stage(spark, identified, metadata: Path, rows: int, scheme: str) -> MatchMeasure:
    """Run the matching stage on LID output with the planned or the fixed buckets."""
    from pyspark.sql import functions as F

    from curation import schemas as S
    from curation.annotate import AnnotateOptions, assign_match_tasks, estimate_languages, plan_for
    from metadata.store import read_manifest

    languages = frozenset(read_manifest(str(metadata))["languages"])
    options = AnnotateOptions(metadata_dir=str(metadata), metadata_languages=languages)
    partitions = SPARK_CORES * 4

    started = time.perf_counter()
    if scheme == "planned":
        # As in the job: rows and work per row estimated from a hash sample.
        estimate = estimate_languages(identified, options, rows)
        plan = plan_for(identified, options, partitions, estimate.rows, estimate.work_per_row)
        grouped = assign_match_tasks(identified, plan)
    else:
        bucket = F.pmod(F.xxhash64(S.IMAGE_ID, S.TEXT), F.lit(FIXED_BUCKETS))
        grouped = identified.repartition(partitions, F.col(S.LANG), bucket).sortWithinPartitions(S.LANG)
    measure = instrumented_match(str(metadata), languages, options.automaton_cache_entries)
    tasks = [row.asDict() for row in grouped.mapInArrow(measure, WORKER_STATS_DDL).collect()]
    return MatchMeasure(rows=rows, seconds=time.perf_counter() - started, scheme=scheme, tasks=tasks)


def write_identified(spark, input_path: Path, metadata: Path, output: Path) -> None:
    """Run language ID on the input and write its result, as the job's language-ID stage does."""
    from pyspark.sql import functions as F

    from curation.annotate import AnnotateOptions, identify_languages
    from metadata.store import read_manifest

    languages = frozenset(read_manifest(str(metadata))["languages"])
    options = AnnotateOptions(metadata_dir=str(metadata), metadata_languages=languages)
    rows = spark.read.parquet(str(input_path)).select(
        F.substring(F.sha2("url", 256), 1, 32).alias("image_id"), "url", "text"
    )
    identify_languages(rows, options).write.mode("overwrite").parquet(str(output))


def automaton_memory_mb(metadata: Path, lang: str) -> tuple[int, float, float]:
    """Build the automaton of ``lang`` in a fresh process; return entries, RSS growth in MB and build seconds.

    The growth is the resident set (``/proc/self/statm``, 4 KiB pages) after the build minus
    before it, with the entry list already loaded, so it is the automaton's own memory.
    """
    script = (
        "import sys, time\n"
        "from curation.matching import EntryMatcher\n"
        "from metadata.store import load_language_entries\n"
        "def rss_mb():\n"
        "    with open('/proc/self/statm') as handle:\n"
        "        return int(handle.read().split()[1]) * 4096 / 2**20\n"
        "entries = load_language_entries(sys.argv[1], sys.argv[2]).entries\n"
        "before = rss_mb()\n"
        "started = time.perf_counter()\n"
        "matcher = EntryMatcher(sys.argv[2], entries)\n"
        "seconds = time.perf_counter() - started\n"
        "print(len(entries), rss_mb() - before, seconds)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script, str(metadata), lang], check=True, capture_output=True, text=True, cwd=Path(__file__).resolve().parents[1]
    )
    count, growth, seconds = result.stdout.split()
    return int(count), float(growth), float(seconds)


@dataclass
class ScaleResult:
    """Every measurement of one metadata size."""

    scale: float
    manifest_entries: int
    languages: int
    generate_seconds: float
    entry_lengths: tuple[float, float]
    automata: list[tuple[str, int, float, float]] = field(default_factory=list)
    jobs: dict[int, list[JobMeasure]] = field(default_factory=dict)
    lid_seconds: dict[int, list[float]] = field(default_factory=dict)
    matches: dict[tuple[int, str], list[MatchMeasure]] = field(default_factory=dict)


def measure_scale(
    shared_data: Path,
    scratch: Path,
    scale: float,
    row_counts: list[int],
    repeats: int,
    whole_job_max_rows: int,
    fixed_max_rows: int | None = None,
) -> ScaleResult:
    """Generate metadata at ``scale`` and run every input size against it in a fresh Spark session."""
    from curation.spark_session import create_spark_session

    from metadata.store import read_manifest

    shape = MetadataShape().scaled(scale)
    metadata = scratch / f"metadata-{scale}"
    started = time.perf_counter()
    if (metadata / "manifest.json").is_file():
        # A kept working directory already has this size; generation is deterministic.
        manifest = read_manifest(str(metadata))
    else:
        manifest = write_generated_metadata(shared_data, shape, metadata)
    generate_seconds = time.perf_counter() - started
    entries = sum(item["entries"] for item in manifest["languages"].values())
    logger.info("generated metadata at scale %s: %d entries in %.0f s", scale, entries, generate_seconds)

    result = ScaleResult(
        scale=scale,
        manifest_entries=entries,
        languages=len(manifest["languages"]),
        generate_seconds=generate_seconds,
        entry_lengths=entry_length_summary(metadata, "en"),
    )
    for lang in ("en", shape.largest_language):
        result.automata.append((lang, *automaton_memory_mb(metadata, lang)))

    # A fresh session per metadata size, so its Python workers hold no automata of another size.
    spark = create_spark_session(master=f"local[{SPARK_CORES}]", app_name="scale-benchmark", shuffle_partitions=SPARK_CORES * 4)
    try:
        for rows in row_counts:
            input_path = scratch / f"input-{rows}"
            if not input_path.exists():
                write_resampled_input(spark, shared_data, rows, input_path)
            identified_path = scratch / f"identified-{scale}-{rows}"
            for repeat in range(repeats):
                started = time.perf_counter()
                write_identified(spark, input_path, metadata, identified_path)
                result.lid_seconds.setdefault(rows, []).append(time.perf_counter() - started)
                identified = spark.read.parquet(str(identified_path))
                # The scheme that runs second finds automata built by the first, so the order alternates.
                schemes = ("planned", "fixed") if repeat % 2 == 0 else ("fixed", "planned")
                if fixed_max_rows is not None and rows > fixed_max_rows:
                    schemes = ("planned",)
                for scheme in schemes:
                    measure = time_matching_stage(spark, identified, metadata, rows, scheme)
                    result.matches.setdefault((rows, scheme), []).append(measure)
                if rows <= whole_job_max_rows:
                    job = time_whole_job(spark, input_path, metadata, scratch / f"out-{scale}-{rows}", rows)
                    result.jobs.setdefault(rows, []).append(job)
                logger.info("scale %s, %d rows, repeat %d done:\n%s", scale, rows, repeat + 1, "\n".join(format_result(result)))
    finally:
        spark.stop()
    return result


# Report.


def _spread(values: list[float]) -> str:
    """Format the median and the range of repeated measurements."""
    if len(values) == 1:
        return f"{values[0]:,.0f}"
    return f"{statistics.median(values):,.0f} ({min(values):,.0f}–{max(values):,.0f})"


def format_result(result: ScaleResult) -> list[str]:
    """Return the Markdown lines of one metadata size."""
    mean_chars, mean_words = result.entry_lengths
    lines = [
        f"### Metadata scale {result.scale}: {result.languages} languages, {result.manifest_entries:,} entries",
        "",
        f"Generated (or read back from --work-dir) in {result.generate_seconds:.0f} s. English entries: {mean_chars:.1f} characters and "
        f"{mean_words:.2f} words on average.",
        "",
        "Automaton of one language, built in a fresh process:",
        "",
        "| language | entries | RSS growth (MB) | build (s) |",
        "|---|---:|---:|---:|",
    ]
    for lang, count, growth, seconds in result.automata:
        lines.append(f"| {lang} | {count:,} | {growth:,.0f} | {seconds:.1f} |")

    lines += [
        "",
        "Language ID and matching (rows/s/core: median and range over repeats; task times from inside the workers):",
        "",
        "| input rows | LID rows/s/core | buckets | matching rows/s/core | without builds | build s (all tasks) | tasks | "
        "largest task share | task s median / max | without builds | peak worker RSS (MB) |",
        "|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for (rows, scheme), measures in sorted(result.matches.items()):
        lid_rates = [rows / seconds / SPARK_CORES for seconds in result.lid_seconds[rows]]
        median, longest = measures[-1].task_spread()
        median_matching, longest_matching = measures[-1].task_spread(without_builds=True)
        lines.append(
            f"| {rows:,} | {_spread(lid_rates)} | {scheme} | {_spread([item.rows_per_core_second for item in measures])} | "
            f"{_spread([item.rows_per_core_second_without_builds() for item in measures])} | "
            f"{_spread([item.build_seconds() for item in measures])} | {len(measures[-1].tasks)} | {max(item.max_task_share() for item in measures):.0%} | "
            f"{median:.2f} / {longest:.2f} | {median_matching:.2f} / {longest_matching:.2f} | "
            f"{max(item.peak_rss_mb() for item in measures):,.0f} |"
        )

    if result.jobs:
        lines += [
            "",
            "Whole job (read to curated shards). The marginal rate is the rows added from the previous size over the "
            "seconds added, per core, so the part of the time that does not grow with the input cancels out. "
            "Task seconds are the summed run times of the job's Spark tasks.",
            "",
            "| input rows | rows/s/core | seconds | marginal rows/s/core | rows per task second | shuffle bytes per input row |",
            "|---:|---:|---:|---:|---:|---:|",
        ]
        previous: tuple[int, float] | None = None
        for rows, measures in sorted(result.jobs.items()):
            seconds = statistics.median(item.seconds for item in measures)
            marginal = "" if previous is None else f"{(rows - previous[0]) / (seconds - previous[1]) / SPARK_CORES:,.0f}"
            previous = (rows, seconds)
            lines.append(
                f"| {rows:,} | {_spread([item.rows_per_core_second for item in measures])} | "
                f"{_spread([item.seconds for item in measures])} | {marginal} | "
                f"{_spread([item.rows_per_task_second for item in measures])} | "
                f"{_spread([item.shuffle_bytes / rows for item in measures])} |"
            )
    lines.append("")
    return lines


def run(
    shared_data: Path,
    rows: tuple[int, ...] = DEFAULT_ROWS,
    metadata_scales: tuple[float, ...] = DEFAULT_METADATA_SCALES,
    repeats: int = DEFAULT_REPEATS,
    whole_job_max_rows: int = max(DEFAULT_ROWS),
    work_dir: Path | None = None,
    fixed_max_rows: int | None = None,
) -> str:
    """Run the scale benchmark; return a Markdown section.

    Generated metadata and inputs go to a temporary directory, or to ``work_dir`` when given,
    where they are kept and reused by the next run.
    """
    load_before = os.getloadavg()[0]
    results = []
    with tempfile.TemporaryDirectory(prefix="scale-bench-") as scratch:
        directory = work_dir or Path(scratch)
        directory.mkdir(parents=True, exist_ok=True)
        for scale in metadata_scales:
            result = measure_scale(shared_data, directory, scale, list(rows), repeats, whole_job_max_rows, fixed_max_rows)
            results.append(result)
            logger.info("results of metadata scale %s:\n%s", scale, "\n".join(format_result(result)))
    load_after = os.getloadavg()[0]

    command = COMMAND.format(
        rows=",".join(map(str, rows)),
        scales=",".join(map(str, metadata_scales)),
        repeats=repeats,
        job_rows=whole_job_max_rows,
        fixed_rows=fixed_max_rows if fixed_max_rows is not None else max(rows),
    )
    lines = [
        "## Curation at scale",
        "",
        f"Machine: {os.cpu_count()} cores, Python {platform.python_version()}, Spark local[{SPARK_CORES}], "
        f"load average {load_before:.1f} before and {load_after:.1f} after. Command: `{command}`. Inputs: the shared captions resampled with small perturbations; "
        "metadata: real words and phrases of them, in the shape 330 languages, English 500k, largest 1M, 27M entries, "
        "times the scale.",
        "",
    ]
    for result in results:
        lines += format_result(result)
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared-data", default=os.environ.get("WORLDCLIP_SHARED_DATA", "../shared/data"), help="shared data directory")
    parser.add_argument("--rows", default=",".join(map(str, DEFAULT_ROWS)), help="comma-separated input sizes in rows")
    parser.add_argument(
        "--metadata-scale",
        default=",".join(map(str, DEFAULT_METADATA_SCALES)),
        help="comma-separated factors of the realistic metadata size (1 = 27M entries)",
    )
    parser.add_argument("--repeats", type=int, default=DEFAULT_REPEATS, help="runs of each measurement")
    parser.add_argument(
        "--whole-job-max-rows",
        type=int,
        default=max(DEFAULT_ROWS),
        help="run the whole job only for input sizes up to this many rows (0: never)",
    )
    parser.add_argument(
        "--fixed-max-rows",
        type=int,
        help="run the former fixed-bucket scheme only for input sizes up to this many rows (default: every size)",
    )
    parser.add_argument("--work-dir", type=Path, help="keep generated metadata and inputs here and reuse them")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    print(
        run(
            Path(args.shared_data),
            tuple(int(value) for value in args.rows.split(",")),
            tuple(float(value) for value in args.metadata_scale.split(",")),
            args.repeats,
            args.whole_job_max_rows,
            args.work_dir,
            args.fixed_max_rows,
        )
    )


if __name__ == "__main__":
    main()
