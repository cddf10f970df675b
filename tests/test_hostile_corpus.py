"""The hostile-input corpus end to end: every row is kept with its entries or dropped with its reason.

The corpus lives in tests/data/hostile/. ``cases.jsonl`` carries each row's expected outcome in
its ``expect*`` keys, which the job does not read. ``raw.jsonl`` contains the rows that JSON text
cannot carry, with their outcomes line by line in ``raw.expected.jsonl``. The 1 MB rows are built
at test time by ``generate.py``.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
from collections import Counter, defaultdict
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from conftest import REPOSITORY_ROOT
from curation import schemas as S
from curation.inputs import InputSpec, read_input
from curation.pipeline import CurationConfig, run_curation
from curation.prepare import PrepareOptions, annotate_prepare
from metadata.store import load_language_entries, write_metadata

CORPUS = REPOSITORY_ROOT / "tests" / "data" / "hostile"
KEPT = "kept"
MATCH_STAGE_REASONS = {S.NO_MATCH}
# Outcomes under which a row leaves the prepare stage with no drop reason.
PASSES_PREPARE = {KEPT, S.NO_MATCH, S.DUPLICATE_TEXT}


def load_generator():
    spec = importlib.util.spec_from_file_location("hostile_generate", CORPUS / "generate.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


generate = load_generator()


def read_expectations() -> list[dict]:
    """Return the expectations of the committed rows, in the order of cases.jsonl then raw.jsonl."""
    expectations = []
    for line in (CORPUS / generate.CASES_FILE).read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        expectation = {key: value for key, value in row.items() if key == "case" or key.startswith("expect")}
        if isinstance(row.get("url"), str):
            expectation["url"] = row["url"]
        expectations.append(expectation)
    for line in (CORPUS / generate.RAW_EXPECTED_FILE).read_text(encoding="utf-8").splitlines():
        expectations.append(json.loads(line))
    return expectations


@pytest.fixture(scope="module")
def corpus_run(spark, tmp_path_factory):
    """Run the job once on the whole corpus; return its output, prepared rows and expectations."""
    base = tmp_path_factory.mktemp("hostile")
    input_dir = base / "input"
    input_dir.mkdir()
    shutil.copy(CORPUS / generate.CASES_FILE, input_dir / generate.CASES_FILE)
    shutil.copy(CORPUS / generate.RAW_FILE, input_dir / generate.RAW_FILE)
    expectations = read_expectations() + generate.write_large(input_dir / "large.jsonl")

    # The job ships the metadata directory to workers by its name, so each module uses its own name.
    metadata_dir = base / "hostile-metadata"
    write_metadata(
        str(metadata_dir),
        {lang: {entry: ["hostile-corpus"] for entry in entries} for lang, entries in generate.metadata_entries().items()},
    )

    # Every URL is unique per image and every entry is in the tail, so a matched row is kept.
    output = base / "output"
    config = CurationConfig(input=InputSpec(path=str(input_dir)), output=str(output), metadata_dir=str(metadata_dir), tail_share=1.0)
    run_curation(spark, config)

    prepared = annotate_prepare(read_input(spark, config.input), PrepareOptions()).select(S.URL, S.DROP_REASON).collect()
    return {
        "output": output,
        "metadata": metadata_dir,
        "expectations": expectations,
        "prepared": prepared,
        "lines": sum(len(path.read_bytes().splitlines()) for path in input_dir.iterdir()),
    }


def read_rows(directory: Path) -> list[dict]:
    return pq.read_table(directory).to_pylist()


def entry_texts(metadata_dir: Path, lang: str, entry_ids: list[int]) -> set[str]:
    entries = load_language_entries(str(metadata_dir), lang).entries
    return {entries[entry_id] for entry_id in entry_ids}


def test_raw_rows_match_generator(tmp_path):
    generate.write_raw(tmp_path)
    for name in (generate.RAW_FILE, generate.RAW_EXPECTED_FILE):
        assert (tmp_path / name).read_bytes() == (CORPUS / name).read_bytes(), f"rerun generate.py: {name} is stale"


def test_corpus_covers_every_drop_reason():
    outcomes = {item["expect"] for item in read_expectations()} | {item["expect"] for _, item in generate.large_cases()}
    prepare_and_match = {
        S.BAD_ROW,
        S.MISSING_TEXT,
        S.INVALID_UTF8,
        S.EMPTY_TEXT,
        S.TEXT_TOO_LONG,
        S.MISSING_IMAGE_ID,
        S.DUPLICATE_TEXT,
        S.NO_MATCH,
    }
    assert prepare_and_match | {KEPT} == outcomes


def test_every_row_is_accounted_for(corpus_run):
    stats = json.loads((corpus_run["output"] / "stats.json").read_text())
    expected = Counter(item["expect"] for item in corpus_run["expectations"])

    assert stats["rows_in"] == corpus_run["lines"]
    assert stats["rows_in"] == len(corpus_run["expectations"])
    assert stats["rows_out"] == expected[KEPT]

    dropped = Counter()
    for stage in stats["stages"]:
        assert stage["rows_in"] == stage["rows_out"] + sum(stage["dropped"].values()), stage["stage"]
        dropped.update(stage["dropped"])
    del expected[KEPT]
    assert dict(dropped) == dict(expected)


def test_prepare_outcome_per_row(corpus_run):
    actual: dict[str, Counter] = defaultdict(Counter)
    for row in corpus_run["prepared"]:
        if row[S.URL] is not None:
            actual[row[S.URL]][row[S.DROP_REASON]] += 1

    expected: dict[str, Counter] = defaultdict(Counter)
    cases: dict[str, list[str]] = defaultdict(list)
    for item in corpus_run["expectations"]:
        if "url" in item:
            reason = None if item["expect"] in PASSES_PREPARE else item["expect"]
            expected[item["url"]][reason] += 1
            cases[item["url"]].append(item["case"])

    mismatches = [
        f"{'/'.join(cases[url])}: expected {dict(reasons)}, got {dict(actual[url])}"
        for url, reasons in expected.items()
        if actual[url] != reasons
    ]
    assert not mismatches, "\n".join(mismatches)


def describe_kept_mismatches(item: dict, row: dict | None, matched_urls: set[str], metadata_dir: Path) -> list[str]:
    """Return how a row expected to be kept differs from its expectation."""
    if row is None:
        return ["not in curated/"]
    problems = []
    if item["url"] not in matched_urls:
        problems.append("not in matched/")
    entries = entry_texts(metadata_dir, row[S.LANG], row[S.ENTRY_IDS])
    if "expect_entries" in item and entries != set(item["expect_entries"]):
        problems.append(f"entries {sorted(entries)}, expected {item['expect_entries']}")
    if "expect_entry_count" in item and len(entries) != item["expect_entry_count"]:
        problems.append(f"{len(entries)} entries, expected {item['expect_entry_count']}")
    if "expect_lang" in item and row[S.LANG] != item["expect_lang"]:
        problems.append(f"lang {row[S.LANG]}, expected {item['expect_lang']}")
    if "expect_text" in item and row[S.TEXT] != item["expect_text"]:
        problems.append(f"text {row[S.TEXT]!r}, expected {item['expect_text']!r}")
    if row[S.KEEP_PROB] != 1.0:
        problems.append(f"keep_prob {row[S.KEEP_PROB]}, expected 1.0")
    return problems


def test_kept_rows_have_expected_entries(corpus_run):
    curated = {row[S.URL]: row for row in read_rows(corpus_run["output"] / "curated")}
    matched_urls = {row[S.URL] for row in read_rows(corpus_run["output"] / "matched")}
    kept = [item for item in corpus_run["expectations"] if item["expect"] == KEPT]

    mismatches = []
    for item in kept:
        problems = describe_kept_mismatches(item, curated.get(item["url"]), matched_urls, corpus_run["metadata"])
        mismatches += [f"{item['case']}: {problem}" for problem in problems]
    assert not mismatches, "\n".join(mismatches)
    assert len(curated) == len(kept)


def test_unmatched_rows_are_not_written(corpus_run):
    matched_urls = {row[S.URL] for row in read_rows(corpus_run["output"] / "matched")}
    unmatched = [item["case"] for item in corpus_run["expectations"] if item["expect"] in MATCH_STAGE_REASONS]
    written = [item["case"] for item in corpus_run["expectations"] if item["expect"] in MATCH_STAGE_REASONS and item["url"] in matched_urls]
    assert unmatched
    assert written == []


def prepare_outcomes(spark, path: Path) -> dict[str | None, str | None]:
    """Return the prepare-stage drop reason of each row of ``path``, by URL."""
    prepared = annotate_prepare(read_input(spark, InputSpec(path=str(path))), PrepareOptions())
    return {row[S.URL]: row[S.DROP_REASON] for row in prepared.select(S.URL, S.DROP_REASON).collect()}


def test_byte_order_mark_files(spark, tmp_path):
    # Windows tools start a file with a byte order mark, which must not end up in a row or a column name.
    jsonl = tmp_path / "jsonl"
    jsonl.mkdir()
    (jsonl / "only.jsonl").write_bytes(b'\xef\xbb\xbf{"url": "https://a.test/1.jpg", "text": "a dog"}\n')
    assert prepare_outcomes(spark, jsonl) == {"https://a.test/1.jpg": None}

    tsv = tmp_path / "tsv"
    tsv.mkdir()
    (tsv / "part-1.tsv").write_bytes(b"\xef\xbb\xbfurl\ttext\nhttps://a.test/1.jpg\ta dog\n")
    (tsv / "part-2.tsv").write_bytes(b"url\ttext\nhttps://a.test/2.jpg\ta cat\n")
    assert prepare_outcomes(spark, tsv) == {"https://a.test/1.jpg": None, "https://a.test/2.jpg": None}
