"""Benchmark of the curation job on the shared captions.

Two numbers: the language-ID and matching stages inside Spark against the same work done by a
plain single-process loop (fastText batch predict, then the automaton per text), as rows per
second per core and as a ratio; and the whole job's rows per second per core.

Run: ``python -m benchmarks.curation [--copies N]`` from the repository root.
"""

from __future__ import annotations

import argparse
import logging
import os
import platform
import tempfile
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from benchmarks.captions import build_caption_metadata, read_caption_rows

logger = logging.getLogger(__name__)

DEFAULT_COPIES = 8
SPARK_CORES = 2
COMMAND = "python -m benchmarks.curation --copies {copies}"
LID_BATCH_ROWS = 10_000


def write_input(rows: list[dict], copies: int, path: Path) -> int:
    """Write ``copies`` copies of the caption rows, each copy with its own URLs; return the rows."""
    table_rows = []
    for copy in range(copies):
        for row in rows:
            table_rows.append({"url": f"{row['url']}?copy={copy}", "text": row["text"]})
    pq.write_table(pa.Table.from_pylist(table_rows), path)
    return len(table_rows)


def time_plain_loop(texts: list[str], metadata: Path) -> float:
    """Return the seconds one process takes to identify the language of and match every text."""
    from curation.lid import get_identifier
    from curation.matching import MatcherCache
    from metadata.store import load_language_entries, read_manifest

    languages = frozenset(read_manifest(str(metadata))["languages"])
    identifier = get_identifier()
    cache = MatcherCache(lambda lang: load_language_entries(str(metadata), lang).entries if lang in languages else [])
    for lang in languages:
        cache.get(lang)

    started = time.perf_counter()
    for start in range(0, len(texts), LID_BATCH_ROWS):
        batch = texts[start : start + LID_BATCH_ROWS]
        result = identifier.identify(batch, languages)
        for lang, text in zip(result.languages, batch):
            cache.get(lang).match(text)
    return time.perf_counter() - started


def time_spark_stages(spark, input_path: Path, metadata: Path) -> float:
    """Return the seconds Spark takes for the language-ID and matching stages alone."""
    from curation.annotate import AnnotateOptions, identify_languages, match_entries
    from metadata.store import read_manifest

    languages = frozenset(read_manifest(str(metadata))["languages"])
    options = AnnotateOptions(metadata_dir=str(metadata), metadata_languages=languages)
    rows = spark.read.parquet(str(input_path)).selectExpr("substring(sha2(url, 256), 1, 32) AS image_id", "url", "text")
    rows = rows.repartition(SPARK_CORES * 4).cache()
    rows.count()

    # A warm-up run starts the Python workers and loads the model and automata once, as a
    # long job would; the timed run then measures the steady state.
    match_entries(identify_languages(rows.limit(2000), options), options, SPARK_CORES * 4).write.format("noop").mode("overwrite").save()
    started = time.perf_counter()
    match_entries(identify_languages(rows, options), options, SPARK_CORES * 4).write.format("noop").mode("overwrite").save()
    elapsed = time.perf_counter() - started
    rows.unpersist()
    return elapsed


def time_whole_job(spark, input_path: Path, metadata: Path, output: Path) -> tuple[float, int]:
    from curation.inputs import InputSpec
    from curation.pipeline import CurationConfig, run_curation

    started = time.perf_counter()
    result = run_curation(spark, CurationConfig(input=InputSpec(path=str(input_path)), output=str(output), metadata_dir=str(metadata), t_en=500))
    return time.perf_counter() - started, result.stats.stages[-1].total.rows_out


def run(shared_data: Path, copies: int = DEFAULT_COPIES) -> str:
    """Run the curation benchmark; return a Markdown section."""
    from curation.spark_session import create_spark_session

    with tempfile.TemporaryDirectory(prefix="curation-bench-") as scratch:
        scratch_path = Path(scratch)
        metadata = build_caption_metadata(shared_data, scratch_path / "metadata")
        captions = read_caption_rows(shared_data)
        input_path = scratch_path / "input.parquet"
        rows = write_input(captions, copies, input_path)
        texts = [row["text"] for row in captions] * copies

        loop_seconds = time_plain_loop(texts, metadata)
        spark = create_spark_session(master=f"local[{SPARK_CORES}]", app_name="curation-benchmark", shuffle_partitions=SPARK_CORES * 4)
        try:
            spark_seconds = time_spark_stages(spark, input_path, metadata)
            job_seconds, curated = time_whole_job(spark, input_path, metadata, scratch_path / "out")
        finally:
            spark.stop()

    loop_rate = rows / loop_seconds
    spark_rate = rows / spark_seconds / SPARK_CORES
    job_rate = rows / job_seconds / SPARK_CORES
    lines = [
        "## Curation job",
        "",
        f"Machine: {os.cpu_count()} cores, Python {platform.python_version()}, Spark local[{SPARK_CORES}]. "
        f"Command: `{COMMAND.format(copies=copies)}`. Input: the {len(captions):,} shared captions "
        f"repeated {copies} times ({rows:,} rows), metadata from WordNet lemmas and word-frequency lists.",
        "",
        "| measure | rows/s/core |",
        "|---|---:|",
        f"| plain loop, one process: lid.176 batch predict + automaton per text | {loop_rate:,.0f} |",
        f"| the same stages inside Spark (mapInArrow, {SPARK_CORES} cores) | {spark_rate:,.0f} |",
        f"| whole job (read to curated shards, {SPARK_CORES} cores) | {job_rate:,.0f} |",
        "",
        f"Spark stages against the plain loop: **{spark_rate / loop_rate:.2f}** (target at least 0.80). "
        f"The whole job kept {curated:,} rows in {job_seconds:.1f} s.",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared-data", default=os.environ.get("WORLDCLIP_SHARED_DATA", "../shared/data"), help="shared data directory")
    parser.add_argument("--copies", type=int, default=DEFAULT_COPIES, help="how many times the captions are repeated")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    print(run(Path(args.shared_data), args.copies))


if __name__ == "__main__":
    main()
