"""The extraction job: Spark tasks, Parquet output, stats.json and the command line."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from curation.extraction.inputs import read_listing, resolve_inputs
from curation.extraction.spark_job import run_extraction

REPOSITORY_ROOT = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).parent / "data" / "extraction"
JOB = REPOSITORY_ROOT / "jobs" / "extract_pairs.py"


@pytest.fixture(scope="module")
def job_inputs(shared_data) -> list[str]:
    return [
        str(shared_data / "commoncrawl" / "whirlwind.warc.gz"),
        str(FIXTURES / "pages.warc.gz"),
        str(FIXTURES / "pages.wat.gz"),
        str(FIXTURES / "truncated.warc.gz"),
        str(FIXTURES / "bad_content_length.warc.gz"),
        str(FIXTURES / "absent.warc.gz"),
    ]


@pytest.fixture(scope="module")
def job_output(spark, job_inputs, tmp_path_factory) -> Path:
    output = tmp_path_factory.mktemp("extraction") / "run"
    run_extraction(spark, job_inputs, str(output))
    return output


def test_job_writes_layout(job_output):
    assert (job_output / "_SUCCESS").is_file()
    assert (job_output / "stats.json").is_file()
    assert (job_output / "pairs" / "_SUCCESS").is_file()


def test_job_pairs_schema_and_order(job_output, job_inputs):
    table = pq.read_table(job_output / "pairs")
    assert table.schema.names == [
        "image_id", "url", "page_url", "text", "text_source", "warc_record_id", "source_file",
    ]
    assert all(str(field.type) == "string" for field in table.schema)

    rows = table.to_pylist()
    sources = [row["source_file"] for row in rows]
    assert sources == sorted(sources, key=job_inputs.index)
    assert rows[0]["text"] == "Biquipedia"
    assert len(rows) == 7 + 14 + 5 + 2 + 3


def test_job_stats_account_for_every_record(job_output, job_inputs):
    report = json.loads((job_output / "stats.json").read_text(encoding="utf-8"))
    totals = report["totals"]
    assert report["input_files"] == len(job_inputs)
    assert [entry["source_file"] for entry in report["per_file"]] == job_inputs
    assert totals["records_read"] == totals["records_used"] + sum(totals["record_drops"].values())
    assert totals["candidates"] == totals["pairs_emitted"] + sum(totals["candidate_drops"].values())
    assert totals["pairs_emitted"] == pq.read_table(job_output / "pairs").num_rows
    assert totals["faults"] == {
        "truncated_gzip": 1,
        "corrupt_gzip": 0,
        "unreadable_file": 1,
        "invalid_warc_header": 1,
    }
    assert {entry["fault"] for entry in totals["files_with_faults"]} == {
        "truncated_gzip", "unreadable_file", "invalid_warc_header",
    }
    assert set(report["parsers"]) == {"fastwarc", "selectolax", "resiliparse"}


def test_image_id_matches_spark_sql_hash(spark, job_output):
    from pyspark.sql import functions as F

    frame = spark.read.parquet(str(job_output / "pairs"))
    mismatched = frame.where(F.col("image_id") != F.substring(F.sha2(F.col("url"), 256), 1, 32)).count()
    assert mismatched == 0


def test_job_rerun_gives_same_pairs(spark, job_inputs, job_output, tmp_path):
    output = tmp_path / "again"
    run_extraction(spark, job_inputs, str(output))
    assert pq.read_table(output / "pairs").to_pylist() == pq.read_table(job_output / "pairs").to_pylist()


def test_listing_with_base(tmp_path):
    listing = tmp_path / "warc.paths.gz"
    listing.write_bytes(
        gzip.compress(
            b"crawl-data/CC-MAIN-2024-22/segments/1/warc/a.warc.gz\n\ncrawl-data/CC-MAIN-2024-22/segments/1/warc/b.warc.gz\n"
        )
    )
    assert read_listing(str(listing), "s3://commoncrawl/") == [
        "s3://commoncrawl/crawl-data/CC-MAIN-2024-22/segments/1/warc/a.warc.gz",
        "s3://commoncrawl/crawl-data/CC-MAIN-2024-22/segments/1/warc/b.warc.gz",
    ]
    assert read_listing(str(listing), None)[0] == f"{tmp_path}/crawl-data/CC-MAIN-2024-22/segments/1/warc/a.warc.gz"


def test_resolve_inputs_expands_folders_and_globs():
    files = resolve_inputs([str(FIXTURES), str(FIXTURES / "pages.*.gz")])
    names = [Path(file).name for file in files]
    assert names == [
        "bad_content_length.warc.gz",
        "pages.warc.gz",
        "pages.wat.gz",
        "single_member.warc.gz",
        "truncated.warc.gz",
    ]


def test_resolve_inputs_limits_and_rejects_empty(tmp_path):
    assert len(resolve_inputs([str(FIXTURES)], max_files=2)) == 2
    with pytest.raises(ValueError, match="no input file"):
        resolve_inputs([str(tmp_path)])


def test_command_line_help():
    completed = subprocess.run(
        [sys.executable, str(JOB), "--help"], capture_output=True, text=True, check=True, timeout=60
    )
    assert "--listing" in completed.stdout
    assert "default: local[*]" in completed.stdout


def test_command_line_rejects_bad_options(tmp_path):
    sys.path.insert(0, str(JOB.parent))
    try:
        import extract_pairs
    finally:
        sys.path.remove(str(JOB.parent))

    assert extract_pairs.main(["--output", str(tmp_path), "--storage-options", "{bad", "x.warc.gz"]) == 2
    assert extract_pairs.main(["--output", str(tmp_path), "--max-files", "0", "x.warc.gz"]) == 2
    assert extract_pairs.main(["--output", str(tmp_path), str(tmp_path)]) == 2
