"""Crashes and reruns: a driver killed with SIGKILL, a Python worker that dies, changed options.

Each case ends with outputs whose content equals that of an uninterrupted run.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from benchmarks.captions import read_caption_rows
from conftest import REPOSITORY_ROOT
from curation.faults import KILL_DRIVER_ENV, KILL_WORKER_ENV
from curation.inputs import InputSpec
from curation.pipeline import CurationConfig, run_curation
from metadata.store import write_metadata

CURATE = str(REPOSITORY_ROOT / "jobs" / "curate.py")
PARQUET_OUTPUTS = ("curated", "matched", "entry_counts")
JSON_OUTPUTS = ("thresholds.json", "stats.json")


@pytest.fixture(scope="module")
def fault_metadata(shared_data, tmp_path_factory) -> Path:
    """Metadata from the top words of three frequency lists, written without Spark."""
    entries = {}
    for lang in ("en", "de", "zh"):
        lines = (shared_data / "frequency" / "wordfreq" / f"{lang}.tsv").read_text(encoding="utf-8").splitlines()[1:3001]
        entries[lang] = {line.split("\t")[0]: ["wordfreq"] for line in lines}
    directory = tmp_path_factory.mktemp("metadata") / "faults"
    write_metadata(str(directory), entries)
    return directory


@pytest.fixture(scope="module")
def fault_input(shared_data, tmp_path_factory) -> Path:
    rows = [row for index, row in enumerate(read_caption_rows(shared_data)) if index % 90 == 0]
    for index, row in enumerate(rows):
        row["image_id"] = f"image-{index // 2}"
    path = tmp_path_factory.mktemp("input") / "rows.parquet"
    pq.write_table(pa.Table.from_pylist(rows), path)
    return path


def run_job(input_path: Path, metadata: Path, output: Path, *extra: str, env: dict | None = None) -> subprocess.CompletedProcess:
    command = [
        sys.executable, CURATE,
        "--input", str(input_path), "--id-col", "image_id",
        "--metadata", str(metadata), "--output", str(output),
        "--t-en", "5", "--seed", "3", "--rows-per-shard", "40", "--no-report",
        *extra,
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=600, env={**os.environ, **(env or {})})


def output_content(output: Path) -> dict:
    """Return the rows of every Parquet output, shard by shard in file order, and the JSON reports."""
    content = {}
    for name in PARQUET_OUTPUTS:
        shards = sorted(path for path in (output / name).glob("*.parquet"))
        content[name] = [pq.read_table(path).to_pylist() for path in shards]
    for name in JSON_OUTPUTS:
        content[name] = json.loads((output / name).read_text())
    return content


def library_config(input_path: Path, metadata: Path, output: Path, **options) -> CurationConfig:
    """Return the configuration that the command line of ``run_job`` sets, plus ``options``."""
    return CurationConfig(
        input=InputSpec(path=str(input_path), id_col="image_id"),
        output=str(output),
        metadata_dir=str(metadata),
        t_en=options.pop("t_en", 5),
        seed=3,
        rows_per_shard=40,
        write_report=False,
        **options,
    )


@pytest.fixture(scope="module")
def baseline_run(spark, fault_input, fault_metadata, tmp_path_factory) -> tuple[Path, dict]:
    """An uninterrupted run through the library, with the options the job's command line sets."""
    output = tmp_path_factory.mktemp("baseline") / "out"
    run_curation(spark, library_config(fault_input, fault_metadata, output, keep_stages=True))
    content = output_content(output)
    assert len(content["curated"]) > 1
    return output, content


def test_killed_driver_resumes_to_same_output(baseline_run, fault_input, fault_metadata, tmp_path):
    _, baseline = baseline_run
    output = tmp_path / "out"

    # Killed inside a stage, after its data was written but before its checkpoint.
    killed = run_job(fault_input, fault_metadata, output, env={KILL_DRIVER_ENV: "before-checkpoint:annotated"})
    assert killed.returncode == -signal.SIGKILL
    assert not (output / "_SUCCESS").exists()
    assert not (output / "curated").exists()

    rejected = run_job(fault_input, fault_metadata, output)
    assert rejected.returncode == 2
    assert "--resume" in rejected.stderr

    # Resumed, then killed again right after the balancing stage recorded its checkpoint.
    killed = run_job(fault_input, fault_metadata, output, "--resume", env={KILL_DRIVER_ENV: "after:entry_counts"})
    assert killed.returncode == -signal.SIGKILL
    assert "stage prepared: resumed" in killed.stderr
    assert not (output / "_SUCCESS").exists()

    # Resumed, then killed again while publishing: one output is in place, the others not.
    killed = run_job(fault_input, fault_metadata, output, "--resume", env={KILL_DRIVER_ENV: "publish:matched"})
    assert killed.returncode == -signal.SIGKILL
    assert "stage entry_counts: resumed" in killed.stderr
    assert (output / "matched").exists()
    assert not (output / "curated").exists()
    assert not (output / "_SUCCESS").exists()

    resumed = run_job(fault_input, fault_metadata, output, "--resume")
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert "resumed stages: prepared, annotated, matched, entry_counts, sampled, curated" in resumed.stderr
    assert (output / "_SUCCESS").exists()
    assert output_content(output) == baseline


def test_dead_worker_is_retried(spark, baseline_run, fault_input, fault_metadata, tmp_path, monkeypatch):
    _, baseline = baseline_run
    marker = tmp_path / "worker-killed"
    monkeypatch.setenv(KILL_WORKER_ENV, str(marker))
    output = tmp_path / "out"
    run_curation(spark, library_config(fault_input, fault_metadata, output))
    assert marker.exists()
    assert output_content(output) == baseline


def test_changed_option_recomputes_later_stages(spark, baseline_run, fault_input, fault_metadata):
    output, _ = baseline_run

    same = run_curation(spark, library_config(fault_input, fault_metadata, output, resume=True, keep_stages=True))
    assert same.resumed_stages == ["prepared", "annotated", "matched", "entry_counts", "sampled", "curated"]

    changed = run_curation(spark, library_config(fault_input, fault_metadata, output, t_en=2, resume=True, keep_stages=True))
    assert changed.resumed_stages == ["prepared", "annotated", "matched"]
    thresholds = json.loads((output / "thresholds.json").read_text())
    assert {item["lang"]: item["t"] for item in thresholds["languages"]}["en"] == 2
