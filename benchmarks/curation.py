"""Benchmark of the curation job on the shared captions.

It reports two numbers. The first compares the language-ID and matching stages inside Spark
with the same work done by a plain single-process loop (fastText batch predict, then the
automaton per text), as rows per second per core and as a ratio. The second is the whole job's
rows per second per core.

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


_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _process_cpu_seconds(pid: int) -> tuple[int, float]:
    """Return (parent pid, CPU seconds of the process and of its exited children) from /proc."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as handle:
        fields = handle.read().rsplit(")", 1)[1].split()
    # After the command name: state, ppid, ..., utime (12), stime (13), cutime (14), cstime (15).
    return int(fields[1]), sum(int(value) for value in fields[11:15]) / _CLOCK_TICKS


def process_tree_cpu_seconds(root: int) -> float:
    """Return the CPU seconds used so far by ``root`` and every process below it (Linux only)."""
    parents: dict[int, int] = {}
    seconds: dict[int, float] = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            parents[int(name)], seconds[int(name)] = _process_cpu_seconds(int(name))
        except (FileNotFoundError, ProcessLookupError, IndexError):
            continue
    tree = {root}
    changed = True
    while changed:
        changed = False
        for pid, parent in parents.items():
            if parent in tree and pid not in tree:
                tree.add(pid)
                changed = True
    return sum(seconds.get(pid, 0.0) for pid in tree)


def time_plain_loop(texts: list[str], metadata: Path) -> tuple[float, float]:
    """Return the wall and CPU seconds one process takes to identify and match every text."""
    from curation.lid import get_identifier
    from curation.matching import MatcherCache
    from metadata.store import load_language_entries, read_manifest

    languages = frozenset(read_manifest(str(metadata))["languages"])
    identifier = get_identifier()
    cache = MatcherCache(lambda lang: load_language_entries(str(metadata), lang).entries if lang in languages else [])
    for lang in languages:
        cache.get(lang)

    started = time.perf_counter()
    cpu_started = time.process_time()
    for start in range(0, len(texts), LID_BATCH_ROWS):
        batch = texts[start : start + LID_BATCH_ROWS]
        result = identifier.identify(batch, languages)
        for lang, text in zip(result.languages, batch):
            cache.get(lang).match(text)
    return time.perf_counter() - started, time.process_time() - cpu_started


def time_spark_stages(spark, input_path: Path, metadata: Path) -> tuple[float, float]:
    """Return the wall and CPU seconds (JVM and Python workers) of the language-ID and matching stages."""
    from curation.annotate import AnnotateOptions, identify_languages, match_entries
    from metadata.store import read_manifest

    languages = frozenset(read_manifest(str(metadata))["languages"])
    options = AnnotateOptions(metadata_dir=str(metadata), metadata_languages=languages)
    rows = spark.read.parquet(str(input_path)).selectExpr("substring(sha2(url, 256), 1, 32) AS image_id", "url", "text")
    rows = rows.repartition(SPARK_CORES * 4).cache()
    rows.count()

    # A warm-up run starts the Python workers and loads the model and automata once, as a long
    # job would. The timed run then measures the steady state.
    match_entries(identify_languages(rows.limit(2000), options), options, SPARK_CORES * 4).write.format("noop").mode("overwrite").save()
    jvm = spark.sparkContext._gateway.proc.pid
    started = time.perf_counter()
    cpu_started = process_tree_cpu_seconds(jvm)
    match_entries(identify_languages(rows, options), options, SPARK_CORES * 4).write.format("noop").mode("overwrite").save()
    elapsed = time.perf_counter() - started
    cpu = process_tree_cpu_seconds(jvm) - cpu_started
    rows.unpersist()
    return elapsed, cpu


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

        loop_seconds, loop_cpu = time_plain_loop(texts, metadata)
        spark = create_spark_session(master=f"local[{SPARK_CORES}]", app_name="curation-benchmark", shuffle_partitions=SPARK_CORES * 4)
        try:
            spark_seconds, spark_cpu = time_spark_stages(spark, input_path, metadata)
            job_seconds, curated = time_whole_job(spark, input_path, metadata, scratch_path / "out")
        finally:
            spark.stop()

    loop_rate = rows / loop_seconds
    spark_rate = rows / spark_seconds / SPARK_CORES
    loop_cpu_rate = rows / loop_cpu
    spark_cpu_rate = rows / spark_cpu
    job_rate = rows / job_seconds / SPARK_CORES
    load = os.getloadavg()[0]
    lines = [
        "## Curation job",
        "",
        f"Machine: {os.cpu_count()} cores, Python {platform.python_version()}, Spark local[{SPARK_CORES}]. "
        f"Command: `{COMMAND.format(copies=copies)}`. Input: the {len(captions):,} shared captions "
        f"repeated {copies} times ({rows:,} rows), metadata from WordNet lemmas and word-frequency lists.",
        "",
        f"Load average at the end: {load:.1f} on {os.cpu_count()} cores. Rows per wall-clock second per core",
        "depend on what else runs; rows per CPU second count the CPU time of the process tree that did",
        "the work (for Spark: the JVM and its Python workers, read from /proc), so they stay comparable under load.",
        "",
        "| measure | rows/s/core (wall) | rows per CPU second |",
        "|---|---:|---:|",
        f"| plain loop, one process: lid.176 batch predict + automaton per text | {loop_rate:,.0f} | {loop_cpu_rate:,.0f} |",
        f"| the same stages inside Spark (mapInArrow, {SPARK_CORES} cores) | {spark_rate:,.0f} | {spark_cpu_rate:,.0f} |",
        f"| whole job (read to curated shards, {SPARK_CORES} cores) | {job_rate:,.0f} | |",
        "",
        f"Spark stages against the plain loop: **{spark_rate / loop_rate:.2f}** by wall clock, "
        f"**{spark_cpu_rate / loop_cpu_rate:.2f}** by CPU time (target at least 0.80). "
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
