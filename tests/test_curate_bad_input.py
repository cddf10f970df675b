"""Bad rows and unusable arguments: counted drops with reasons, one-line errors, no tracebacks."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from conftest import REPOSITORY_ROOT
from curation import schemas as S
from curation.inputs import InputError, InputSpec, read_input
from curation.pipeline import CurationConfig, run_curation
from curation.prepare import PrepareOptions, annotate_prepare
from metadata.store import write_metadata

CURATE = str(REPOSITORY_ROOT / "jobs" / "curate.py")


@pytest.fixture(scope="module")
def small_metadata(tmp_path_factory) -> Path:
    directory = tmp_path_factory.mktemp("metadata") / "small"
    entries = {
        "en": {entry: ["test"] for entry in ["dog", "cat", "beach", "red", "car", "house", "tree"]},
        "de": {entry: ["test"] for entry in ["Hund", "Katze", "Strand", "Haus"]},
    }
    write_metadata(str(directory), entries)
    return directory


def write_bad_jsonl(path: Path) -> dict[str, int]:
    """Write a JSONL file with one row per kind of bad input; return the expected drops."""
    lines = [
        json.dumps({"url": "https://a.test/1.jpg", "text": "A red dog on the beach"}).encode(),
        json.dumps({"url": "https://a.test/2.jpg", "text": "A cat\x00 in\x07 the\u202e house"}).encode(),
        json.dumps({"url": "https://a.test/3.jpg", "text": "x" * 100_000}).encode(),
        json.dumps({"url": "https://a.test/4.jpg"}).encode(),
        json.dumps({"url": "https://a.test/5.jpg", "text": None}).encode(),
        json.dumps({"url": "https://a.test/6.jpg", "text": " \t\n "}).encode(),
        b'{"url": "https://a.test/7.jpg", "text": "invalid \xff\xfe bytes"}',
        b'{"url": "https://a.test/8.jpg", "text": "unterminated',
        json.dumps({"text": "A red car without a URL"}).encode(),
        json.dumps({"url": "https://a.test/1.jpg", "text": "A red dog on the beach"}).encode(),
        json.dumps({"url": "https://a.test/9.jpg", "text": "Ein Hund am Strand vor dem Haus"}).encode(),
    ]
    path.write_bytes(b"\n".join(lines) + b"\n")
    return {
        S.TEXT_TOO_LONG: 1,
        S.MISSING_TEXT: 2,
        S.EMPTY_TEXT: 1,
        S.INVALID_UTF8: 1,
        S.BAD_ROW: 1,
        S.MISSING_IMAGE_ID: 1,
        S.DUPLICATE_TEXT: 1,
    }


def prepare_reasons(spark, spec: InputSpec) -> Counter:
    prepared = annotate_prepare(read_input(spark, spec), PrepareOptions())
    return Counter({row[S.DROP_REASON]: row["count"] for row in prepared.groupBy(S.DROP_REASON).count().collect()})


def test_jsonl_bad_rows_are_counted(spark, small_metadata, tmp_path):
    path = tmp_path / "bad.jsonl"
    expected = write_bad_jsonl(path)
    output = tmp_path / "out"
    run_curation(spark, CurationConfig(input=InputSpec(path=str(path)), output=str(output), metadata_dir=str(small_metadata), t_en=10))

    stats = json.loads((output / "stats.json").read_text())
    assert stats["rows_in"] == 11
    dropped = Counter()
    for stage in stats["stages"]:
        assert stage["rows_in"] == stage["rows_out"] + sum(stage["dropped"].values())
        dropped.update(stage["dropped"])
    for reason, count in expected.items():
        assert dropped[reason] == count, reason

    curated = {row[S.URL]: row for row in pq.read_table(output / "curated").to_pylist()}
    # Control characters became spaces and the bidirectional override was removed.
    assert curated["https://a.test/2.jpg"][S.TEXT] == "A cat in the house"
    assert curated["https://a.test/9.jpg"][S.LANG] == "de"


def test_tsv_malformed_row_and_quote(spark, tmp_path):
    path = tmp_path / "rows.tsv"
    path.write_text(
        'url\ttext\tlang\n'
        'https://a.test/1.jpg\t"Quoted" dog on a beach\ten\n'
        'https://a.test/2.jpg\tone field too many\ten\textra\n'
        'https://a.test/3.jpg\n'
        'https://a.test/4.jpg\ta cat\ten\n',
        encoding="utf-8",
    )
    reasons = prepare_reasons(spark, InputSpec(path=str(path)))
    assert reasons[None] == 2
    assert reasons[S.BAD_ROW] == 2


def test_parquet_invalid_utf8_is_counted(spark, tmp_path):
    path = tmp_path / "rows.parquet"
    table = pa.table(
        {
            "url": ["https://a.test/1.jpg", "https://a.test/2.jpg", "https://a.test/3.jpg"],
            "text": pa.array([b"a dog", b"bad \xc3\x28 bytes", None], pa.binary()),
        }
    )
    pq.write_table(table, path)
    reasons = prepare_reasons(spark, InputSpec(path=str(path)))
    assert reasons == Counter({None: 1, S.INVALID_UTF8: 1, S.MISSING_TEXT: 1})


def test_unknown_column_raises_input_error(spark, tmp_path):
    path = tmp_path / "rows.jsonl"
    path.write_text('{"url": "https://a.test/1.jpg", "caption": "a dog"}\n', encoding="utf-8")
    with pytest.raises(InputError, match="column 'text' not found"):
        read_input(spark, InputSpec(path=str(path)))


def run_job(*arguments: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, CURATE, *arguments], capture_output=True, text=True, timeout=300)


def test_help_names_units_and_defaults():
    result = run_job("--help")
    assert result.returncode == 0
    for option in ("--t-en", "--seed", "--max-text-chars", "--rows-per-shard", "--master", "--lid-model"):
        assert option in result.stdout
    assert "matches per entry" in result.stdout
    assert "local[*]" in result.stdout


def test_missing_input_is_one_line_error(small_metadata, tmp_path):
    result = run_job("--input", str(tmp_path / "absent.jsonl"), "--metadata", str(small_metadata), "--output", str(tmp_path / "out"))
    assert result.returncode == 2
    assert "input not found" in result.stderr
    assert "Traceback" not in result.stderr


def test_missing_metadata_is_one_line_error(tmp_path):
    source = tmp_path / "rows.jsonl"
    source.write_text('{"url": "u", "text": "t"}\n', encoding="utf-8")
    result = run_job("--input", str(source), "--metadata", str(tmp_path / "none"), "--output", str(tmp_path / "out"))
    assert result.returncode == 2
    assert "metadata directory not found" in result.stderr


def test_job_errors_exit_without_traceback(small_metadata, tmp_path):
    source = tmp_path / "rows.jsonl"
    source.write_text('{"url": "https://a.test/1.jpg", "caption": "a dog"}\n', encoding="utf-8")
    occupied = tmp_path / "occupied"
    occupied.mkdir()
    (occupied / "file").write_text("x")

    unknown_column = run_job("--input", str(source), "--metadata", str(small_metadata), "--output", str(tmp_path / "out"), "--master", "local[1]")
    assert unknown_column.returncode == 2
    assert "column 'text' not found" in unknown_column.stderr
    assert "Traceback" not in unknown_column.stderr

    not_empty = run_job("--input", str(source), "--metadata", str(small_metadata), "--output", str(occupied), "--text-col", "caption")
    assert not_empty.returncode == 2
    assert "is not empty" in not_empty.stderr

    inside_input = run_job("--input", str(tmp_path), "--metadata", str(small_metadata), "--output", str(tmp_path / "nested"), "--text-col", "caption")
    assert inside_input.returncode == 2
    assert "inside the input" in inside_input.stderr

    unwritable = run_job("--input", str(source), "--metadata", str(small_metadata), "--output", "/proc/worldclip-out", "--text-col", "caption")
    assert unwritable.returncode == 2
    assert "cannot create output directory" in unwritable.stderr
