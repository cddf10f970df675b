"""Output validation: a real output passes, and each kind of damage is reported by its check."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Callable

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from conftest import REPOSITORY_ROOT
from curation import schemas as S
from curation.inputs import InputSpec
from curation.pipeline import CurationConfig, run_curation
from curation.validation import ValidationError, validate_output
from metadata.store import write_metadata

VALIDATE = str(REPOSITORY_ROOT / "jobs" / "validate.py")

ENTRIES = {
    "en": ["beach", "car", "cat", "dog", "house", "red", "tree"],
    "de": ["Haus", "Hund", "Katze", "Strand"],
}
CAPTIONS = [
    "A red dog runs on the beach",
    "A small dog sleeps in the house",
    "Two dogs play with a red ball on the beach",
    "A cat sits under a tree",
    "A red car is parked in front of the house",
    "The dog and the cat share a bed",
    "An old car drives along the beach road",
    "Ein Hund spielt am Strand",
    "Eine Katze schläft im Haus",
    "Der Hund und die Katze liegen vor dem Haus",
]


@pytest.fixture(scope="module")
def good_output(spark, tmp_path_factory) -> dict[str, Path]:
    """Run the job once on a small input with head entries and images with several texts."""
    base = tmp_path_factory.mktemp("validate")
    # The job ships the metadata directory to workers by its name, so each module uses its own name.
    metadata_dir = base / "validate-metadata"
    write_metadata(str(metadata_dir), {lang: {entry: ["test"] for entry in entries} for lang, entries in ENTRIES.items()})

    rows = []
    for index in range(60):
        caption = CAPTIONS[index % len(CAPTIONS)]
        rows.append({"url": f"https://validate.test/{index % 45}.jpg", "text": f"{caption} number {index}"})
    rows.append({"url": "https://validate.test/no-match.jpg", "text": "Nothing to see here at all"})
    input_path = base / "rows.jsonl"
    input_path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")

    output = base / "output"
    run_curation(spark, CurationConfig(input=InputSpec(path=str(input_path)), output=str(output), metadata_dir=str(metadata_dir), t_en=2))
    return {"output": output, "metadata": metadata_dir}


def part_file(directory: Path) -> Path:
    """Return the first part file with rows; entry_counts/ has one file per group of languages."""
    files = [path for path in sorted(directory.glob("part-*.parquet")) if pq.read_metadata(path).num_rows > 0]
    assert files
    return files[0]


def rewrite(directory: Path, change: Callable[[pa.Table], pa.Table]) -> None:
    path = part_file(directory)
    pq.write_table(change(pq.read_table(path)), path)


def replace_column(table: pa.Table, name: str, values: pa.Array) -> pa.Table:
    return table.set_column(table.schema.get_field_index(name), name, values)


def set_first(table: pa.Table, name: str, value: object) -> pa.Table:
    values = table.column(name).to_pylist()
    values[0] = value
    return replace_column(table, name, pa.array(values, table.schema.field(name).type))


def edit_json(path: Path, change: Callable[[dict], None]) -> None:
    value = json.loads(path.read_text(encoding="utf-8"))
    change(value)
    path.write_text(json.dumps(value), encoding="utf-8")


def stage(stats: dict, name: str) -> dict:
    return next(item for item in stats["stages"] if item["stage"] == name)


def shift_rows_out(stats: dict) -> None:
    stage(stats, "sample")["rows_out"] += 1
    stage(stats, "sample")["rows_in"] += 1


def unbalance_prepare(stats: dict) -> None:
    dropped = stage(stats, "prepare")["dropped"]
    dropped[S.EMPTY_TEXT] = dropped.get(S.EMPTY_TEXT, 0) + 5


def duplicate_first_row(table: pa.Table) -> pa.Table:
    return pa.concat_tables([table, table.slice(0, 1)])


def repeat_first_image_id(table: pa.Table) -> pa.Table:
    ids = table.column(S.IMAGE_ID).to_pylist()
    ids[1] = ids[0]
    return replace_column(table, S.IMAGE_ID, pa.array(ids, pa.string()))


def drop_last_row(table: pa.Table) -> pa.Table:
    return table.slice(0, table.num_rows - 1)


def change_first_keep_prob(table: pa.Table) -> pa.Table:
    # A value inside (0, 1] that differs from the one the entry probabilities give.
    current = table.column(S.KEEP_PROB)[0].as_py()
    return set_first(table, S.KEEP_PROB, 0.25 if current > 0.5 else 1.0)


def scale_thresholds(thresholds: dict) -> None:
    for item in thresholds["languages"]:
        item["t"] = item["t"] * 0.5


# Each case: (name, damage applied to a copy of the good output, the checks expected to report it).
DAMAGES: list[tuple[str, Callable[[Path], None], set[str]]] = [
    ("missing_success", lambda out: (out / "_SUCCESS").unlink(), {"success_marker"}),
    ("missing_shard_success", lambda out: (out / "curated" / "_SUCCESS").unlink(), {"success_marker"}),
    ("missing_matched", lambda out: shutil.rmtree(out / "matched"), {"files"}),
    ("missing_stats", lambda out: (out / "stats.json").unlink(), {"files"}),
    ("invalid_stats_json", lambda out: (out / "stats.json").write_text("{", encoding="utf-8"), {"files"}),
    ("missing_column", lambda out: rewrite(out / "curated", lambda table: table.drop_columns([S.KEEP_PROB])), {"schema"}),
    (
        "wrong_column_type",
        lambda out: rewrite(out / "matched", lambda table: replace_column(table, S.LID_SCORE, pc.cast(table.column(S.LID_SCORE), pa.float64()))),
        {"schema"},
    ),
    ("null_text", lambda out: rewrite(out / "curated", lambda table: set_first(table, S.TEXT, None)), {"schema"}),
    ("stage_out_changed", lambda out: edit_json(out / "stats.json", shift_rows_out), {"accounting"}),
    ("stage_unbalanced", lambda out: edit_json(out / "stats.json", unbalance_prepare), {"accounting"}),
    ("curated_row_lost", lambda out: rewrite(out / "curated", drop_last_row), {"accounting"}),
    ("matched_row_repeated", lambda out: rewrite(out / "matched", duplicate_first_row), {"accounting", "unique_image_id"}),
    ("curated_image_repeated", lambda out: rewrite(out / "curated", repeat_first_image_id), {"unique_image_id"}),
    ("entry_id_outside_metadata", lambda out: rewrite(out / "curated", lambda table: set_first(table, S.ENTRY_IDS, [0, 999])), {"entry_ids"}),
    ("entry_ids_unsorted", lambda out: rewrite(out / "matched", lambda table: set_first(table, S.ENTRY_IDS, [2, 1])), {"entry_ids"}),
    ("entry_ids_empty", lambda out: rewrite(out / "matched", lambda table: set_first(table, S.ENTRY_IDS, [])), {"entry_ids"}),
    ("language_not_in_metadata", lambda out: rewrite(out / "curated", lambda table: set_first(table, S.LANG, "xx")), {"entry_ids"}),
    ("keep_prob_zero", lambda out: rewrite(out / "curated", lambda table: set_first(table, S.KEEP_PROB, 0.0)), {"probability"}),
    ("keep_prob_above_one", lambda out: rewrite(out / "curated", lambda table: set_first(table, S.KEEP_PROB, 1.5)), {"probability"}),
    ("keep_prob_nan", lambda out: rewrite(out / "curated", lambda table: set_first(table, S.KEEP_PROB, float("nan"))), {"probability"}),
    ("keep_prob_inconsistent", lambda out: rewrite(out / "curated", change_first_keep_prob), {"keep_prob"}),
    ("lid_score_negative", lambda out: rewrite(out / "matched", lambda table: set_first(table, S.LID_SCORE, -0.5)), {"probability"}),
    ("prob_zero", lambda out: rewrite(out / "entry_counts", lambda table: set_first(table, "prob", 0.0)), {"probability", "thresholds"}),
    ("entry_text_changed", lambda out: rewrite(out / "entry_counts", lambda table: set_first(table, "entry", "changed")), {"entry_ids"}),
    ("thresholds_changed", lambda out: edit_json(out / "thresholds.json", scale_thresholds), {"thresholds"}),
]


def damaged_copy(good_output: dict[str, Path], tmp_path: Path, damage: Callable[[Path], None]) -> Path:
    copy = tmp_path / "output"
    shutil.copytree(good_output["output"], copy)
    damage(copy)
    return copy


def test_good_output_is_valid(good_output):
    assert validate_output(str(good_output["output"]), str(good_output["metadata"])) == []


def test_good_output_has_heads_and_drops(good_output):
    # The damages below are only meaningful when the output exercises sampling.
    curated = pq.read_table(good_output["output"] / "curated")
    stats = json.loads((good_output["output"] / "stats.json").read_text())
    assert pc.min(curated.column(S.KEEP_PROB)).as_py() < 1.0
    assert stage(stats, "sample")["dropped"].get(S.OTHER_TEXT_CHOSEN, 0) > 0
    assert stage(stats, "match")["dropped"].get(S.NO_MATCH, 0) == 1


@pytest.mark.parametrize("name, damage, checks", DAMAGES, ids=[item[0] for item in DAMAGES])
def test_damage_is_reported(good_output, tmp_path, name, damage, checks):
    output = damaged_copy(good_output, tmp_path, damage)
    violations = validate_output(str(output), str(good_output["metadata"]))
    reported = {violation.check for violation in violations}
    assert checks <= reported, "\n".join(map(str, violations))


def test_changed_metadata_raises(good_output, tmp_path):
    metadata_copy = tmp_path / "metadata"
    shutil.copytree(good_output["metadata"], metadata_copy)
    entries_file = metadata_copy / "entries" / "en.parquet"
    entries_file.write_bytes(entries_file.read_bytes() + b"\0")
    with pytest.raises(ValidationError, match="checksum mismatch"):
        validate_output(str(good_output["output"]), str(metadata_copy))


def run_validate(*arguments: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, VALIDATE, *arguments], capture_output=True, text=True, timeout=120)


def test_cli_exit_status_and_lines(good_output, tmp_path):
    valid = run_validate(str(good_output["output"]), "--metadata", str(good_output["metadata"]))
    assert valid.returncode == 0, valid.stdout + valid.stderr
    assert valid.stdout == ""

    output = damaged_copy(good_output, tmp_path, lambda out: ((out / "_SUCCESS").unlink(), rewrite(out / "matched", lambda table: set_first(table, S.LID_SCORE, -0.5))))
    damaged = run_validate(str(output), "--metadata", str(good_output["metadata"]))
    assert damaged.returncode == 1
    lines = damaged.stdout.splitlines()
    assert len(lines) == 2
    assert any(line.startswith("_SUCCESS: missing") for line in lines)
    assert any("lid_score" in line and "[probability]" in line for line in lines)
    assert "2 violations" in damaged.stderr

    missing = run_validate(str(tmp_path / "absent"))
    assert missing.returncode == 2
    assert "output directory not found" in missing.stderr
    assert "Traceback" not in missing.stderr


def test_cli_help_lists_options():
    result = run_validate("--help")
    assert result.returncode == 0
    assert "--metadata" in result.stdout
    assert "Exit status" in result.stdout
