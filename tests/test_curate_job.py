"""The curation job end to end on the shared captions, with real Spark, lid.176 and Parquet."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from benchmarks.captions import build_caption_metadata, read_caption_rows
from curation import schemas as S
from curation.inputs import InputSpec
from curation.pipeline import CurationConfig, run_curation


@pytest.fixture(scope="module")
def caption_metadata(shared_data, tmp_path_factory) -> Path:
    return build_caption_metadata(shared_data, tmp_path_factory.mktemp("metadata") / "captions")


@pytest.fixture(scope="module")
def caption_rows(shared_data) -> list[dict]:
    return read_caption_rows(shared_data)


@pytest.fixture(scope="module")
def caption_input(caption_rows, tmp_path_factory) -> Path:
    # The input carries the files' `lang` column on purpose: the job must not read it.
    path = tmp_path_factory.mktemp("input") / "captions.parquet"
    pq.write_table(pa.Table.from_pylist(caption_rows), path)
    return path


@pytest.fixture(scope="module")
def full_run(spark, caption_input, caption_metadata, tmp_path_factory):
    output = tmp_path_factory.mktemp("curated") / "run"
    config = CurationConfig(
        input=InputSpec(path=str(caption_input)),
        output=str(output),
        metadata_dir=str(caption_metadata),
        t_en=50,
        keep_stages=True,
    )
    result = run_curation(spark, config)
    return output, result


def read_rows(path: Path) -> list[dict]:
    return pq.read_table(path).to_pylist()


def test_lid_accuracy_on_shared_captions(full_run, caption_rows):
    output, _ = full_run
    gold = {row["url"]: row["lang"] for row in caption_rows}
    annotated = pq.read_table(output / "_stages" / "annotated", columns=[S.URL, S.LANG]).to_pylist()
    assert len(annotated) == len(caption_rows)

    total = Counter()
    correct = Counter()
    for row in annotated:
        lang = gold[row[S.URL]]
        total[lang] += 1
        correct[lang] += row[S.LANG] == lang
    for lang in sorted(total):
        print(f"LID accuracy {lang}: {correct[lang] / total[lang]:.4f} of {total[lang]}")
    overall = sum(correct.values()) / sum(total.values())
    print(f"LID accuracy overall: {overall:.4f}")

    assert overall >= 0.97
    assert correct["zh"] / total["zh"] >= 0.95
    assert correct["ja"] / total["ja"] >= 0.97


def test_stats_account_for_every_row(full_run, caption_rows):
    output, _ = full_run
    stats = json.loads((output / "stats.json").read_text())
    assert stats["rows_in"] == len(caption_rows)
    previous_out = None
    for stage in stats["stages"]:
        assert stage["rows_in"] == stage["rows_out"] + sum(stage["dropped"].values()), stage["stage"]
        if previous_out is not None:
            assert stage["rows_in"] == previous_out, stage["stage"]
        previous_out = stage["rows_out"]
        for lang, counts in stage.get("by_lang", {}).items():
            assert counts["rows_in"] == counts["rows_out"] + sum(counts["dropped"].values()), (stage["stage"], lang)
    assert [stage["stage"] for stage in stats["stages"]] == ["read", "prepare", "lid", "match", "sample"]
    assert stats["rows_out"] == pq.read_table(output / "curated").num_rows


def test_outputs_have_documented_schema(full_run):
    output, _ = full_run
    curated = pq.read_table(output / "curated")
    expected = {
        S.IMAGE_ID: pa.string(),
        S.URL: pa.string(),
        S.TEXT: pa.string(),
        S.LANG: pa.string(),
        S.LID_LABEL: pa.string(),
        S.LID_SCORE: pa.float32(),
        S.KEEP_PROB: pa.float64(),
    }
    for name, dtype in expected.items():
        assert curated.schema.field(name).type == dtype, name
    assert pa.types.is_list(curated.schema.field(S.ENTRY_IDS).type)
    assert curated.schema.field(S.ENTRY_IDS).type.value_type == pa.int32()
    assert (output / "curated" / "_SUCCESS").exists()
    assert (output / "_SUCCESS").exists()

    counts = pq.read_table(output / "entry_counts")
    assert counts.column_names == ["lang", "entry_id", "entry", "count", "prob"]
    assert counts.schema.field("count").type == pa.int64()


def test_curated_rows_are_consistent(full_run, caption_metadata):
    output, _ = full_run
    curated = read_rows(output / "curated")
    assert curated
    assert len({row[S.IMAGE_ID] for row in curated}) == len(curated)
    for row in curated[:500]:
        assert row[S.ENTRY_IDS] == sorted(set(row[S.ENTRY_IDS]))
        assert 0.0 < row[S.KEEP_PROB] <= 1.0
        assert 0.0 <= row[S.LID_SCORE] <= 1.0

    # Every matched entry id is the id of an entry that occurs in the text.
    entries = pq.read_table(caption_metadata / "entries").to_pylist()
    by_id = {(item["lang"], item["entry_id"]): item["entry"] for item in entries}
    for row in curated[:500]:
        for entry_id in row[S.ENTRY_IDS]:
            assert by_id[(row[S.LANG], entry_id)] in row[S.TEXT]


def test_thresholds_follow_english_tail_share(full_run):
    output, result = full_run
    thresholds = json.loads((output / "thresholds.json").read_text())
    by_lang = {item["lang"]: item for item in thresholds["languages"]}
    assert by_lang["en"]["t"] == 50
    p = by_lang["en"]["tail_share"]
    assert 0.0 < p < 1.0
    for lang, item in by_lang.items():
        assert item["p"] == pytest.approx(p), lang

    counts = pq.read_table(output / "entry_counts").to_pylist()
    for item in counts[:2000]:
        expected = min(1.0, by_lang[item["lang"]]["t"] / item["count"])
        assert item["prob"] == pytest.approx(expected)
    assert {item.lang for item in result.thresholds} == set(by_lang)


def test_balancing_drops_rows_of_frequent_entries(full_run):
    output, _ = full_run
    stats = json.loads((output / "stats.json").read_text())
    sample = stats["stages"][-1]
    assert sample["dropped"].get("not_sampled", 0) > 0


@pytest.fixture(scope="module")
def small_input(caption_rows, tmp_path_factory) -> Path:
    # Three captions per image id, so the per-image choice has something to choose from.
    rows = [row for index, row in enumerate(caption_rows) if index % 20 == 0]
    for index, row in enumerate(rows):
        row["image_id"] = f"image-{index // 3}"
    path = tmp_path_factory.mktemp("small") / "small.parquet"
    pq.write_table(pa.Table.from_pylist(rows), path)
    return path


def curated_rows_of_run(spark, input_path, metadata, output, partitions, seed=7) -> list[tuple]:
    config = CurationConfig(
        input=InputSpec(path=str(input_path), id_col="image_id"),
        output=str(output),
        metadata_dir=str(metadata),
        t_en=5,
        seed=seed,
        partitions=partitions,
    )
    run_curation(spark, config)
    rows = read_rows(output / "curated")
    return sorted((row[S.IMAGE_ID], row[S.TEXT], tuple(row[S.ENTRY_IDS]), row[S.KEEP_PROB]) for row in rows)


def test_output_independent_of_partitioning(spark, small_input, caption_metadata, tmp_path):
    runs = {
        partitions: curated_rows_of_run(spark, small_input, caption_metadata, tmp_path / f"p{partitions}", partitions)
        for partitions in (1, 3, 8)
    }
    assert runs[1]
    assert runs[1] == runs[3]
    assert runs[1] == runs[8]

    rerun = curated_rows_of_run(spark, small_input, caption_metadata, tmp_path / "rerun", 3)
    assert rerun == runs[3]

    other_seed = curated_rows_of_run(spark, small_input, caption_metadata, tmp_path / "seed", 3, seed=8)
    assert other_seed != runs[3]
