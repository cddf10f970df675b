"""The metadata build end to end: the job's command line, the manifest and reproducibility."""

from __future__ import annotations

import csv
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from metadata.build import BuildConfig, build_metadata
from metadata.sources import SourceError, SourceSpec
from metadata.store import OTHER_LANGUAGE, load_language_entries, read_manifest, verify_metadata

REPOSITORY_ROOT = Path(__file__).resolve().parents[1]
TEST_DATA = Path(__file__).parent / "data" / "metadata"
JOB = REPOSITORY_ROOT / "jobs" / "build_metadata.py"

# The command the offline example of the curation job runs.
EXAMPLE_ARGUMENTS = [
    "--wordfreq-languages",
    "en,de,fr,es,it,pt,nl,ru,zh,ja,ko,tr,id,cs,ar",
    "--wordfreq-top",
    "5000",
]

# Old English has a Wikipedia but no language-ID label, so its entries go to "other".
OLD_ENGLISH_COUNTS = "cyning\t90\nhūs\t80\nland\t70\nweg\t60\nstān\t50\nbōc\t40\nwīf\t30\nmann\t20\ncild\t10\nhund\t5\n"


def _run_job(arguments: list[str]) -> subprocess.CompletedProcess:
    environment = dict(os.environ, HF_HUB_OFFLINE="1")
    return subprocess.run(
        [sys.executable, str(JOB), *arguments],
        capture_output=True,
        text=True,
        env=environment,
        cwd=str(REPOSITORY_ROOT),
        timeout=300,
    )


def _caption_file(shared_data: Path, lang: str, count: int, target: Path) -> Path:
    with (shared_data / "captions" / "multi30k_task1_train_first5000.tsv").open(encoding="utf-8", newline="") as handle:
        rows = csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)
        next(rows)
        texts = [row[-1] for row in rows if row[0] == lang][:count]
    target.write_text("\n".join(texts) + "\n", encoding="utf-8")
    return target


def test_example_command_builds_offline(tmp_path):
    output = tmp_path / "example-metadata"
    result = _run_job([*EXAMPLE_ARGUMENTS, "--output", str(output)])
    assert result.returncode == 0, result.stderr

    manifest = verify_metadata(str(output))
    assert sorted(manifest["languages"]) == sorted("en,de,fr,es,it,pt,nl,ru,zh,ja,ko,tr,id,cs,ar".split(","))
    english = load_language_entries(str(output), "en").entries
    assert "the" in english
    assert {str(number) for number in range(100)} <= set(english)
    assert manifest["packages"]["wordfreq"]
    assert manifest["counts"]["en"]["numerals"] == 100
    assert 4_900 <= manifest["counts"]["en"]["unigrams"] <= 5_000


def test_missing_path_is_one_line_error(tmp_path):
    result = _run_job(["--wordnet", str(tmp_path / "absent.txt"), "--output", str(tmp_path / "out")])
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "source not found" in lines[0]
    assert "absent.txt" in lines[0]


def test_help_names_units_and_defaults():
    result = _run_job(["--help"])
    assert result.returncode == 0
    assert "--bigram-min-pmi" in result.stdout
    assert "default: 30.0" in result.stdout
    assert "--master" in result.stdout


def test_wikipedia_needs_language():
    config = BuildConfig(output="unused", wikipedia=[SourceSpec(lang=None, path=str(TEST_DATA / "wiki_de.jsonl"))])
    with pytest.raises(SourceError, match="has no language"):
        build_metadata(config)


def test_english_entry_list_replaces_sources(tmp_path, shared_data):
    entry_list = tmp_path / "entries.json"
    entry_list.write_text(json.dumps(["dog", "hot dog", "", 7, "dog"]), encoding="utf-8")
    config = BuildConfig(
        output=str(tmp_path / "out"),
        wordnet=[SourceSpec("eng", str(shared_data / "wordnet" / "en" / "wordnet30_synset_head_lemmas.txt"))],
        english_entries=str(entry_list),
    )
    manifest = build_metadata(config)
    english = load_language_entries(str(tmp_path / "out"), "en").entries
    assert english == sorted([str(number) for number in range(100)] + ["dog", "hot dog"])
    assert manifest["skipped"][str(entry_list)] == {"not_a_string": 1}
    assert manifest["dropped"]["en"] == {"entry_list:empty": 1}
    assert "en" not in manifest["missing_sources"]


@pytest.fixture(scope="module")
def shared_build(spark, shared_data, tmp_path_factory):
    """Build from the shared sources twice, into two directories, with one Spark session."""
    inputs = tmp_path_factory.mktemp("inputs")
    (inputs / "ang.tsv").write_text(OLD_ENGLISH_COUNTS, encoding="utf-8")
    english_text = _caption_file(shared_data, "en", 300, inputs / "en.txt")
    omw = shared_data / "wordnet" / "omw"

    def config(output: Path) -> BuildConfig:
        return BuildConfig(
            output=str(output),
            wordnet=[
                SourceSpec(None, str(omw / "fra.txt")),
                SourceSpec(None, str(omw / "als.txt")),
                SourceSpec(None, str(shared_data / "wordnet" / "omw_wiktionary" / "deu.txt")),
                SourceSpec("eng", str(shared_data / "wordnet" / "en" / "wordnet30_synset_head_lemmas.txt")),
            ],
            frequency=[
                SourceSpec(None, str(shared_data / "frequency" / "opensubtitles2018_hermitdave" / "th.tsv")),
                SourceSpec(None, str(shared_data / "frequency" / "wordfreq" / "fr.tsv")),
                SourceSpec(None, str(inputs / "ang.tsv")),
            ],
            wikipedia=[SourceSpec("en", str(english_text))],
            pageviews=[str(path) for path in sorted(TEST_DATA.glob("pageviews-*.txt"))],
        )

    outputs = []
    for name in ("first", "second"):
        output = tmp_path_factory.mktemp(name) / "metadata"
        manifest = build_metadata(config(output), spark_factory=lambda: spark)
        outputs.append((output, manifest))
    return outputs


def test_build_is_byte_identical(shared_build):
    (first, _), (second, _) = shared_build
    first_files = sorted(path.relative_to(first) for path in first.rglob("*") if path.is_file())
    second_files = sorted(path.relative_to(second) for path in second.rglob("*") if path.is_file())
    assert first_files == second_files
    for relative in first_files:
        assert (first / relative).read_bytes() == (second / relative).read_bytes(), relative


def test_build_manifest_counts(shared_build):
    output, manifest = shared_build[0]
    assert verify_metadata(str(output)) == read_manifest(str(output))
    counts = manifest["counts"]
    assert counts["sq"]["wordnet"] > 5_000
    assert counts["fr"]["wordnet"] > 50_000
    # 10% of the 12,000 words of the wordfreq file.
    assert counts["fr"]["unigrams"] == 1_200 - manifest["dropped"]["fr"].get("unigrams:punctuation_only", 0)
    assert counts["th"]["unigrams"] == 1_000 - manifest["dropped"].get("th", {}).get("unigrams:punctuation_only", 0)
    assert counts["en"]["bigrams"] > 0
    assert counts["de"]["titles"] == 3
    assert counts["en"]["titles"] == 5


def test_build_records_missing_sources(shared_build):
    _, manifest = shared_build[0]
    missing = manifest["missing_sources"]
    assert missing["th"] == ["pageviews", "wikipedia", "wordnet"]
    assert missing["sq"] == ["frequency", "pageviews", "wikipedia"]
    assert missing["de"] == ["frequency", "wikipedia"]
    assert "en" not in missing


def test_build_merges_languages_without_lid_into_other(shared_build):
    output, manifest = shared_build[0]
    assert manifest["merged_into_other"] == {OTHER_LANGUAGE: ["ang"]}
    assert "ang" not in manifest["languages"]
    entries = load_language_entries(str(output), OTHER_LANGUAGE).entries
    assert "cyning" in entries


def test_build_entries_table(shared_build):
    output, manifest = shared_build[0]
    table = pq.read_table(output / "entries" / "en.parquet").to_pylist()
    by_entry = {row["entry"]: row["sources"] for row in table}
    assert [row["entry_id"] for row in table] == list(range(len(table)))
    assert [row["entry"] for row in table] == sorted(by_entry)
    assert by_entry["0"] == ["numerals"]
    assert by_entry["Albert Einstein"] == ["titles"]
    assert "wordnet" in by_entry["dog"]
    assert manifest["tokenization"]["en"].startswith("whitespace")
    kinds = {source["kind"] for source in manifest["sources"]}
    assert kinds == {"frequency", "pageviews", "wikipedia", "wordnet"}
    assert all(len(source["sha256"]) == 64 for source in manifest["sources"])
    assert manifest["skipped"]["pageviews"] == {
        "empty_title": 1,
        "malformed_line": 1,
        "malformed_views": 1,
        "namespace_title": 4,
        "not_wikipedia": 5,
    }


def test_rebuild_removes_stale_language_files(tmp_path, shared_data):
    frequency = shared_data / "frequency" / "wordfreq"
    output = tmp_path / "metadata"
    build_metadata(BuildConfig(output=str(output), frequency=[SourceSpec(None, str(frequency / "de.tsv"))]))
    assert (output / "entries" / "de.parquet").is_file()

    manifest = build_metadata(BuildConfig(output=str(output), frequency=[SourceSpec(None, str(frequency / "nl.tsv"))]))
    assert sorted(manifest["languages"]) == ["nl"]
    assert not (output / "entries" / "de.parquet").exists()
    assert verify_metadata(str(output)) == manifest


def test_shipped_package_imports_from_zip(tmp_path):
    spec = importlib.util.spec_from_file_location("build_metadata_job", JOB)
    job = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(job)

    class RecordingContext:
        def __init__(self) -> None:
            self.added: list[str] = []

        def addPyFile(self, path: str) -> None:  # noqa: N802, the PySpark method name
            self.added.append(path)

    class Session:
        sparkContext = RecordingContext()

    session = Session()
    job.ship_metadata_package(session, str(tmp_path))
    archive = session.sparkContext.added[0]

    # Import from the archive alone, from a directory without the repository on the path.
    script = f"import sys; sys.path.insert(0, {archive!r}); import metadata.segmentation as s; print(s.__file__)"
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=str(tmp_path), timeout=60)
    assert result.returncode == 0, result.stderr
    assert "metadata.zip" in result.stdout
