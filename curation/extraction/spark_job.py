"""Run the extraction stage on Spark: one task per input file, Parquet pairs plus job counters.

Output layout under the output folder:

- ``pairs/``: Parquet, one part file per input file, in input order (``PAIR_SCHEMA``).
- ``stats.json``: the counters of the whole job and of each file (see ``drops.py``).
- ``_SUCCESS``: written last, so its presence means the other two are complete.
"""

from __future__ import annotations

import json
import logging
import tempfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import fsspec
import pyarrow as pa

from curation.extraction.drops import ExtractionStats
from curation.extraction.gzip_members import DEFAULT_CHUNK_BYTES
from curation.extraction.pairs import PAIR_COLUMNS, ImageTextPair
from curation.extraction.stage import ExtractionStage
from curation.extraction.warc_records import DEFAULT_MAX_RECORD_BYTES

logger = logging.getLogger(__name__)

PAIRS_FOLDER = "pairs"
STATS_FILE = "stats.json"
SUCCESS_FILE = "_SUCCESS"
# Pairs per Arrow batch sent from a task to Spark.
BATCH_ROWS = 4096
# Column of the task output that carries a file's counters as JSON, in that file's last row only.
FILE_STATS_COLUMN = "file_stats"

PAIR_SCHEMA = pa.schema([(name, pa.string()) for name in PAIR_COLUMNS])
TASK_SCHEMA = PAIR_SCHEMA.append(pa.field(FILE_STATS_COLUMN, pa.string()))

_shipped_contexts: set[str] = set()


@dataclass(frozen=True)
class ExtractionResult:
    """Output locations and counters of one extraction job."""

    pairs_path: str
    stats_path: str
    stats: ExtractionStats


def _task_batch(pairs: list[ImageTextPair], file_stats: str | None) -> pa.RecordBatch:
    columns = {name: [getattr(pair, name) for pair in pairs] for name in PAIR_COLUMNS}
    if file_stats is not None:
        for name in PAIR_COLUMNS:
            columns[name].append(None)
    columns[FILE_STATS_COLUMN] = [None] * len(pairs) + ([file_stats] if file_stats is not None else [])
    return pa.RecordBatch.from_pydict(columns, schema=TASK_SCHEMA)


def extract_files_to_batches(
    batches: Iterator[pa.RecordBatch], stage: ExtractionStage
) -> Iterator[pa.RecordBatch]:
    """Run ``stage`` on every ``path`` of ``batches``; the last row of each file contains its counters."""
    for batch in batches:
        for path in batch.column("path").to_pylist():
            stats = ExtractionStats()
            pending: list[ImageTextPair] = []
            for pair in stage.process_file(path, stats):
                pending.append(pair)
                if len(pending) >= BATCH_ROWS:
                    yield _task_batch(pending, None)
                    pending = []
            yield _task_batch(pending, json.dumps({"source_file": path, **stats.to_dict()}))


def ship_package(spark) -> None:
    """Send the ``curation`` package to the executors as a zip, once per Spark context.

    Executors import the stage from it, so the job also runs where the package is not installed.
    """
    context = spark.sparkContext
    if context.applicationId in _shipped_contexts:
        return
    package_root = Path(__file__).resolve().parents[1]
    # The zip is left in the temporary folder, because executors fetch it when their tasks start.
    archive = Path(tempfile.mkdtemp(prefix="worldclip-extract-")) / "curation.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as handle:
        for source in sorted(package_root.rglob("*.py")):
            handle.write(source, source.relative_to(package_root.parent).as_posix())
    context.addPyFile(str(archive))
    _shipped_contexts.add(context.applicationId)


def _write_text(path: str, text: str, storage_options: dict[str, Any]) -> None:
    with fsspec.open(path, "w", encoding="utf-8", **storage_options) as handle:
        handle.write(text)


def run_extraction(
    spark,
    files: list[str],
    output: str,
    chunk_bytes: int = DEFAULT_CHUNK_BYTES,
    storage_options: dict[str, Any] | None = None,
    job_options: dict[str, Any] | None = None,
    max_record_bytes: int = DEFAULT_MAX_RECORD_BYTES,
) -> ExtractionResult:
    """Extract the pairs of ``files`` into ``output`` (its pairs/, stats.json and _SUCCESS are replaced)."""
    from pyspark import StorageLevel
    from pyspark.sql import functions as F

    if not files:
        raise ValueError("no input file to extract from")
    storage_options = storage_options or {}
    output = output.rstrip("/")
    pairs_path = f"{output}/{PAIRS_FOLDER}"
    stats_path = f"{output}/{STATS_FILE}"
    success_path = f"{output}/{SUCCESS_FILE}"

    filesystem, local_output = fsspec.core.url_to_fs(output, **storage_options)
    for stale in (SUCCESS_FILE, STATS_FILE):
        stale_path = f"{local_output}/{stale}"
        if filesystem.exists(stale_path):
            filesystem.rm(stale_path)
    filesystem.makedirs(local_output, exist_ok=True)

    ship_package(spark)
    stage = ExtractionStage(
        chunk_bytes=chunk_bytes, storage_options=storage_options, max_record_bytes=max_record_bytes
    )
    logger.info("Extracting image-text pairs from %d files into %s", len(files), output)

    # One partition per file, so each file is one task and the part files follow the input order.
    file_rows = spark.sparkContext.parallelize(list(enumerate(files)), numSlices=len(files))
    file_frame = spark.createDataFrame(file_rows, "file_index long, path string")
    task_output = file_frame.mapInArrow(
        lambda batches: extract_files_to_batches(batches, stage),
        ", ".join(f"{name} string" for name in TASK_SCHEMA.names),
    ).persist(StorageLevel.MEMORY_AND_DISK)

    try:
        pairs = task_output.where(F.col(FILE_STATS_COLUMN).isNull()).drop(FILE_STATS_COLUMN)
        pairs.write.mode("overwrite").parquet(pairs_path)
        file_stats_rows = (
            task_output.where(F.col(FILE_STATS_COLUMN).isNotNull()).select(FILE_STATS_COLUMN).collect()
        )
    finally:
        task_output.unpersist()

    file_order = {path: index for index, path in reversed(list(enumerate(files)))}
    per_file = sorted(
        (json.loads(row[0]) for row in file_stats_rows), key=lambda item: file_order[item["source_file"]]
    )
    job_stats = ExtractionStats()
    for file_stats in per_file:
        job_stats.merge(ExtractionStats.from_dict({k: v for k, v in file_stats.items() if k != "source_file"}))

    problems = job_stats.unbalanced()
    if problems:
        raise RuntimeError("extraction counters do not balance: " + "; ".join(problems))
    if len(per_file) != len(files):
        raise RuntimeError(f"counters came back for {len(per_file)} of {len(files)} files")

    report = {
        "job": "extract_pairs",
        "options": job_options or {},
        "parsers": parser_versions(),
        "input_files": len(files),
        "output": {"pairs": pairs_path},
        "totals": job_stats.to_dict(),
        "per_file": per_file,
    }
    _write_text(stats_path, json.dumps(report, indent=2, ensure_ascii=False) + "\n", storage_options)
    _write_text(success_path, "", storage_options)

    totals = job_stats.to_dict()
    logger.info(
        "Read %d records from %d files: %d used, %d pairs emitted, faults %s",
        totals["records_read"],
        totals["files"],
        totals["records_used"],
        totals["pairs_emitted"],
        {fault: count for fault, count in totals["faults"].items() if count},
    )
    return ExtractionResult(pairs_path=pairs_path, stats_path=stats_path, stats=job_stats)


def parser_versions() -> dict[str, str]:
    """Return the versions of the parsing packages, recorded in the stats file."""
    from importlib.metadata import version

    return {package: version(package) for package in ("fastwarc", "selectolax", "resiliparse")}
