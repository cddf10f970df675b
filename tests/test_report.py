"""The run report on the outputs of a real curation run: content, embedded plots, failures."""

from __future__ import annotations

import base64
import csv
import json
import re
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from conftest import REPOSITORY_ROOT
from curation import report
from curation import schemas as S
from curation.inputs import InputSpec
from curation.pipeline import CurationConfig, run_curation
from metadata.store import write_metadata

LANGUAGES = ["de", "en", "es", "ja", "ru", "zh"]
ROWS_PER_LANGUAGE = 120
WORDS_PER_LANGUAGE = 1500
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# An entry name with HTML special characters, which the report must escape.
SPECIAL_ENTRY = "<b>rock & roll</b>"


@pytest.fixture(scope="module")
def report_metadata(shared_data, tmp_path_factory) -> Path:
    """Write metadata from the most frequent words of each language's wordfreq list."""
    entries: dict[str, dict[str, list[str]]] = {}
    for lang in LANGUAGES:
        with open(shared_data / "frequency" / "wordfreq" / f"{lang}.tsv", encoding="utf-8", newline="") as handle:
            reader = csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)
            next(reader)
            words = [fields[0] for _, fields in zip(range(WORDS_PER_LANGUAGE), reader)]
        entries[lang] = {word: ["wordfreq"] for word in words if len(word) > 1}
    # Spark ships the directory under its base name, so each test module uses its own name.
    directory = tmp_path_factory.mktemp("report-metadata") / "report-metadata"
    write_metadata(str(directory), entries)
    return directory


@pytest.fixture(scope="module")
def report_input(shared_data, tmp_path_factory) -> Path:
    rows = []
    taken = Counter()
    with open(shared_data / "captions" / "iglue_xflickrco_test.tsv", encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)
        next(reader)
        for index, fields in enumerate(reader):
            if fields[0] in LANGUAGES and taken[fields[0]] < ROWS_PER_LANGUAGE:
                taken[fields[0]] += 1
                rows.append({"url": f"https://captions.test/iglue/{index}.jpg", "text": fields[-1]})
    path = tmp_path_factory.mktemp("report-input") / "captions.jsonl"
    path.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def run_output(spark, report_input, report_metadata, tmp_path_factory) -> Path:
    output = tmp_path_factory.mktemp("report-run") / "out"
    config = CurationConfig(
        input=InputSpec(path=str(report_input)),
        output=str(output),
        metadata_dir=str(report_metadata),
        t_en=5,
        partitions=2,
    )
    run_curation(spark, config)
    return output


@pytest.fixture(scope="module")
def report_html(run_output, tmp_path_factory) -> str:
    # A copy, so that the report the job wrote into run_output stays as it was.
    copy = _copy_output(run_output, tmp_path_factory.mktemp("report-copy"))
    path = report.write_report(str(copy))
    assert path == f"{copy}/report.html"
    return Path(path).read_text(encoding="utf-8")


def _copy_output(run_output: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "out"
    shutil.copytree(run_output, copy)
    (copy / "report.html").unlink(missing_ok=True)
    return copy


def _embedded_images(document: str) -> list[bytes]:
    return [base64.b64decode(data) for data in re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', document)]


def test_report_has_every_section(report_html):
    for heading in [
        "Curation run report",
        "Rows in and out per stage",
        "Rows per language",
        "Thresholds",
        "Entry counts by rank",
        "entries per language, before and after balancing",
        "LID score histogram",
    ]:
        assert heading in report_html, heading


def test_report_embeds_valid_pngs(report_html):
    images = _embedded_images(report_html)
    # Stage funnel, rows per language, entry counts by rank, LID histogram.
    assert len(images) == 4
    for image in images:
        assert image.startswith(PNG_SIGNATURE)
        assert len(image) > 5000


def test_report_is_self_contained(report_html):
    assert "<script" not in report_html
    assert "<link" not in report_html
    assert not re.search(r'(src|href)="(?!data:)', report_html)


def test_report_escapes_entries(run_output, tmp_path):
    # Rename the most frequent English entry, which the top-entries table always shows.
    copy = _copy_output(run_output, tmp_path)
    counts = pq.read_table(copy / "entry_counts").to_pylist()
    top = max((row for row in counts if row["lang"] == "en"), key=lambda row: (row["count"], -row["entry_id"]))
    top["entry"] = SPECIAL_ENTRY
    shutil.rmtree(copy / "entry_counts")
    (copy / "entry_counts").mkdir()
    pq.write_table(pa.Table.from_pylist(counts, schema=S.ENTRY_COUNTS_SCHEMA), copy / "entry_counts" / "part-0.parquet")

    document = Path(report.write_report(str(copy))).read_text(encoding="utf-8")
    assert "&lt;b&gt;rock &amp; roll&lt;/b&gt;" in document
    assert SPECIAL_ENTRY not in document


def test_report_thresholds_table(report_html, run_output):
    thresholds = json.loads((run_output / "thresholds.json").read_text())
    assert {item["lang"] for item in thresholds["languages"]} >= set(LANGUAGES) - {"zh"}
    rows = re.findall(r"<tr><td>([a-z]+)</td><td class=\"number\">([^<]+)</td>", report_html.split("<h2>Thresholds</h2>")[1])
    by_lang = {lang: value for lang, value in rows}
    for item in thresholds["languages"]:
        assert by_lang[item["lang"]] == f"{item['t']:,.4g}", item["lang"]


def test_report_counts_curated_entries(run_output):
    curated = pq.read_table(run_output / "curated", columns=["lang", "entry_ids"]).to_pylist()
    expected = Counter((row["lang"], entry_id) for row in curated for entry_id in row["entry_ids"])
    outputs = report.read_outputs(str(run_output))
    counted = {(row["lang"], row["entry_id"]): row["count"] for row in outputs.curated_entry_counts.to_pylist()}
    assert counted == dict(expected)
    assert outputs.curated_rows == len(curated)
    assert outputs.complete is True


def test_report_rows_per_language_match_stats(run_output):
    stats = json.loads((run_output / "stats.json").read_text())
    rows = report.language_rows(stats)
    sample = next(stage for stage in stats["stages"] if stage["stage"] == "sample")
    for lang, counts in sample["by_lang"].items():
        assert rows[lang]["curated"] == counts["rows_out"], lang
    assert sum(item["curated"] for item in rows.values()) == stats["rows_out"]


def test_report_is_deterministic(run_output, tmp_path):
    copy = _copy_output(run_output, tmp_path)
    first = Path(report.write_report(str(copy))).read_bytes()
    second = Path(report.write_report(str(copy))).read_bytes()
    assert first == second


def test_report_above_row_limit_shows_expected_counts(run_output):
    outputs = report.read_outputs(str(run_output), max_curated_rows=0)
    assert outputs.curated_entry_counts is None
    document = report.render_report(outputs)
    assert "estimated texts" in document
    assert "min(count, t_lang)" in document


def test_report_without_lid_histogram(run_output, tmp_path):
    copy = _copy_output(run_output, tmp_path)
    stats = json.loads((copy / "stats.json").read_text())
    stats.pop("lid_score_histogram", None)
    (copy / "stats.json").write_text(json.dumps(stats))
    document = Path(report.write_report(str(copy))).read_text(encoding="utf-8")
    assert "has no lid_score_histogram" in document
    assert len(_embedded_images(document)) == 3


def test_report_warns_on_incomplete_run(run_output, tmp_path):
    copy = _copy_output(run_output, tmp_path)
    (copy / "_SUCCESS").unlink()
    document = Path(report.write_report(str(copy), check_success_marker=True)).read_text(encoding="utf-8")
    assert "_SUCCESS is missing" in document


def test_report_from_job_skips_marker_check(run_output, tmp_path):
    # The job writes the report just before _SUCCESS, so by default the marker is not checked.
    copy = _copy_output(run_output, tmp_path)
    (copy / "_SUCCESS").unlink()
    document = Path(report.write_report(str(copy))).read_text(encoding="utf-8")
    assert "_SUCCESS is missing" not in document


def test_job_writes_report(run_output):
    document = (run_output / "report.html").read_text(encoding="utf-8")
    assert "Curation run report" in document
    assert "_SUCCESS is missing" not in document


def test_report_missing_stats_raises(run_output, tmp_path):
    copy = _copy_output(run_output, tmp_path)
    (copy / "stats.json").unlink()
    with pytest.raises(report.ReportError, match="stats.json not found"):
        report.write_report(str(copy))


def test_report_corrupt_parquet_raises(run_output, tmp_path):
    copy = _copy_output(run_output, tmp_path)
    shard = sorted((copy / "curated").glob("*.parquet"))[0]
    shard.write_bytes(b"not a parquet file")
    with pytest.raises(report.ReportError, match="cannot read the Parquet outputs"):
        report.write_report(str(copy))


def test_report_missing_directory_raises(tmp_path):
    with pytest.raises(report.ReportError, match="not found"):
        report.write_report(str(tmp_path / "absent"))


def test_report_cli(run_output, tmp_path):
    copy = _copy_output(run_output, tmp_path)
    completed = subprocess.run(
        [sys.executable, "-m", "curation.report", str(copy)],
        cwd=REPOSITORY_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.strip() == f"{copy}/report.html"
    assert (copy / "report.html").stat().st_size > 10_000


def test_report_cli_error_exit_code(tmp_path):
    completed = subprocess.run(
        [sys.executable, "-m", "curation.report", str(tmp_path / "absent")],
        cwd=REPOSITORY_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode == 2
    assert "output directory" in completed.stderr
    assert "not found" in completed.stderr


def test_rank_curve_keeps_short_curves_whole():
    from curation.report_plots import rank_curve

    ranks, counts = rank_curve([3, 9, 1])
    assert ranks.tolist() == [1, 2, 3]
    assert counts.tolist() == [9.0, 3.0, 1.0]


def test_rank_curve_thins_long_curves():
    from curation.report_plots import rank_curve

    ranks, counts = rank_curve(list(range(1, 1_000_001)), max_points=500)
    assert len(ranks) <= 500
    assert ranks[0] == 1
    assert ranks[-1] == 1_000_000
    assert (ranks[1:] > ranks[:-1]).all()
    assert counts[0] == 1_000_000.0
    assert counts[-1] == 1.0
