"""The curation job on a real Spark standalone cluster, with the packaged environment archive.

A master and one worker run on 127.0.0.1, started with ``spark-class`` from the pip-installed
pyspark. The worker's own Python is the system interpreter without the project's dependencies,
so the job can only succeed when the executors run ``./env/bin/python`` from the archive that
``make package`` builds. The output must equal that of a local-mode run on the same input.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from conftest import REPOSITORY_ROOT
from curation import schemas as S
from curation.inputs import InputSpec
from curation.pipeline import CurationConfig, run_curation
from metadata.store import write_metadata

pytestmark = pytest.mark.cluster

DIST_DIR = REPOSITORY_ROOT / "dist"
ENV_ARCHIVE = DIST_DIR / "worldclip-env.tar.gz"
SPARK_HOME = Path(__import__("pyspark").__file__).resolve().parent
# A Python 3.11 without numpy, pyarrow or the project: what a bare cluster node has.
WORKER_PYTHON = shutil.which("python3.11", path="/usr/bin") or "/usr/bin/python3"
STARTUP_TIMEOUT_S = 60
# A guard against a hung job, well above the usual run time of the job on this input.
SUBMIT_TIMEOUT_S = 300
CAPTION_LANGUAGES = ["de", "en", "es", "id", "ja", "ru", "tr", "zh"]
ROWS_PER_LANGUAGE = 150
WORDS_PER_LANGUAGE = 3000
T_EN = 5


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _log_tail(path: Path, characters: int = 3000) -> str:
    return path.read_text(errors="replace")[-characters:] if path.exists() else f"({path} not written)"


class StandaloneCluster:
    """A Spark standalone master and one worker on 127.0.0.1, started as separate JVMs."""

    def __init__(self, directory: Path, worker_cores: int = 2, worker_memory: str = "2g") -> None:
        self.directory = directory
        self.master_port = _free_port()
        self.master_ui_port = _free_port()
        self.worker_cores = worker_cores
        self.worker_memory = worker_memory
        self.url = f"spark://127.0.0.1:{self.master_port}"
        self.work_dir = directory / "worker-work"
        self.processes: list[tuple[subprocess.Popen, Path]] = []

    def _environment(self) -> dict[str, str]:
        # The daemons see neither the project's venv nor its Python: a bare node.
        environment = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("PYSPARK_", "PYTHON", "VIRTUAL_ENV", "SPARK_"))
        }
        environment["PATH"] = "/usr/local/bin:/usr/bin:/bin"
        environment["SPARK_HOME"] = str(SPARK_HOME)
        environment["SPARK_LOCAL_IP"] = "127.0.0.1"
        environment["PYSPARK_PYTHON"] = WORKER_PYTHON
        environment["SPARK_LOG_DIR"] = str(self.directory / "logs")
        return environment

    def _start(self, name: str, arguments: list[str]) -> None:
        log = self.directory / f"{name}.log"
        handle = open(log, "wb")
        process = subprocess.Popen(
            [str(SPARK_HOME / "bin" / "spark-class"), *arguments],
            stdout=handle,
            stderr=subprocess.STDOUT,
            env=self._environment(),
            cwd=self.directory,
        )
        handle.close()
        self.processes.append((process, log))

    def start(self) -> None:
        self.work_dir.mkdir(parents=True, exist_ok=True)
        self._start(
            "master",
            [
                "org.apache.spark.deploy.master.Master",
                "--host", "127.0.0.1",
                "--port", str(self.master_port),
                "--webui-port", str(self.master_ui_port),
            ],
        )
        self._start(
            "worker",
            [
                "org.apache.spark.deploy.worker.Worker",
                self.url,
                "--host", "127.0.0.1",
                "--port", str(_free_port()),
                "--webui-port", str(_free_port()),
                "--cores", str(self.worker_cores),
                "--memory", self.worker_memory,
                "--work-dir", str(self.work_dir),
            ],
        )
        self.wait_for_worker()

    def wait_for_worker(self) -> None:
        """Wait until the master's JSON status lists one ALIVE worker."""
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while time.monotonic() < deadline:
            for process, log in self.processes:
                if process.poll() is not None:
                    raise RuntimeError(f"{log.stem} exited with code {process.returncode}:\n{_log_tail(log)}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.master_ui_port}/json/", timeout=2) as response:
                    status = json.loads(response.read())
                if any(worker.get("state") == "ALIVE" for worker in status.get("workers", [])):
                    return
            except OSError:
                pass
            time.sleep(1)
        logs = "\n".join(f"--- {log.stem}\n{_log_tail(log)}" for _, log in self.processes)
        raise TimeoutError(f"no ALIVE worker after {STARTUP_TIMEOUT_S} s:\n{logs}")

    def executor_logs(self) -> str:
        return "\n".join(f"--- {path}\n{_log_tail(path)}" for path in sorted(self.work_dir.glob("app-*/*/stderr")))

    def stop(self) -> None:
        # Worker first, so the master does not log it as lost.
        for process, _ in reversed(self.processes):
            if process.poll() is None:
                process.terminate()
        for process, _ in reversed(self.processes):
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)


@pytest.fixture(scope="module")
def env_archive() -> Path:
    if not ENV_ARCHIVE.is_file():
        pytest.skip(f"{ENV_ARCHIVE} not found: run `make package` before the cluster test")
    return ENV_ARCHIVE


@pytest.fixture(scope="module")
def cluster_input(shared_data, tmp_path_factory) -> Path:
    """Return JSON lines: the project's example rows plus shared captions in eight languages."""
    path = tmp_path_factory.mktemp("cluster-input") / "captions.jsonl"
    taken = {lang: 0 for lang in CAPTION_LANGUAGES}
    lines = (REPOSITORY_ROOT / "examples" / "captions.jsonl").read_text(encoding="utf-8").splitlines()
    with open(shared_data / "captions" / "iglue_xflickrco_test.tsv", encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)
        next(reader)
        for index, fields in enumerate(reader):
            lang = fields[0]
            if taken.get(lang, ROWS_PER_LANGUAGE) >= ROWS_PER_LANGUAGE:
                continue
            taken[lang] += 1
            row = {"url": f"https://captions.test/iglue/{index}.jpg", "text": fields[-1]}
            # The example's last line is malformed on purpose, so shared rows go before it.
            lines.insert(len(lines) - 1, json.dumps(row, ensure_ascii=False))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def cluster_metadata(shared_data, tmp_path_factory) -> Path:
    """Write metadata from the most frequent words of each caption language's wordfreq list."""
    entries: dict[str, dict[str, list[str]]] = {}
    for lang in CAPTION_LANGUAGES:
        with open(shared_data / "frequency" / "wordfreq" / f"{lang}.tsv", encoding="utf-8", newline="") as handle:
            reader = csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)
            next(reader)
            entries[lang] = {fields[0]: ["wordfreq"] for _, fields in zip(range(WORDS_PER_LANGUAGE), reader)}
    # Spark ships the directory under its base name, so each test module uses its own name.
    directory = tmp_path_factory.mktemp("cluster-metadata") / "cluster-metadata"
    write_metadata(str(directory), entries)
    return directory


@pytest.fixture(scope="module")
def local_run(spark, cluster_input, cluster_metadata, tmp_path_factory) -> Path:
    output = tmp_path_factory.mktemp("local-run") / "out"
    config = CurationConfig(
        input=InputSpec(path=str(cluster_input)),
        output=str(output),
        metadata_dir=str(cluster_metadata),
        t_en=T_EN,
        partitions=2,
    )
    run_curation(spark, config)
    return output


@pytest.fixture(scope="module")
def cluster_run(env_archive, cluster_input, cluster_metadata, tmp_path_factory):
    directory = tmp_path_factory.mktemp("standalone")
    output = directory / "out"
    # A relative metadata path does not resolve in the executors' working directory, so they
    # must read the copy that the job ships, as on nodes that do not share the driver's disk.
    shutil.copytree(cluster_metadata, directory / cluster_metadata.name)
    cluster = StandaloneCluster(directory)
    try:
        cluster.start()
        environment = {key: value for key, value in os.environ.items() if not key.startswith(("PYSPARK_", "SPARK_"))}
        environment["SPARK_HOME"] = str(SPARK_HOME)
        environment["SPARK_LOCAL_IP"] = "127.0.0.1"
        command = [
            str(SPARK_HOME / "bin" / "spark-submit"),
            "--master", cluster.url,
            "--deploy-mode", "client",
            "--archives", f"{env_archive}#env",
            "--conf", "spark.pyspark.python=./env/bin/python",
            "--conf", f"spark.pyspark.driver.python={sys.executable}",
            "--conf", "spark.executor.memory=1g",
            "--conf", "spark.executor.cores=2",
            "--conf", "spark.driver.host=127.0.0.1",
            "--conf", "spark.driver.bindAddress=127.0.0.1",
            "--conf", "spark.ui.enabled=false",
            str(REPOSITORY_ROOT / "jobs" / "curate.py"),
            "--input", str(cluster_input),
            "--metadata", cluster_metadata.name,
            "--output", str(output),
            "--t-en", str(T_EN),
            "--partitions", "2",
        ]
        try:
            completed = subprocess.run(
                command, env=environment, cwd=directory, capture_output=True, text=True, timeout=SUBMIT_TIMEOUT_S
            )
        except subprocess.TimeoutExpired as error:
            output = (error.stdout or b"").decode(errors="replace") if isinstance(error.stdout, bytes) else (error.stdout or "")
            pytest.fail(f"spark-submit timed out after {SUBMIT_TIMEOUT_S} s:\n{output[-4000:]}\n{cluster.executor_logs()}")
        executor_logs = cluster.executor_logs()
        unpacked = sorted(cluster.work_dir.glob("app-*/*/env/bin/python"))
    finally:
        cluster.stop()
    # spark-submit prints the driver's Python output, tracebacks included, on its stdout.
    assert completed.returncode == 0, f"spark-submit failed:\n{completed.stdout[-4000:]}\n{completed.stderr[-2000:]}\n{executor_logs}"
    return output, unpacked, completed.stderr


def _sorted_rows(path: Path) -> list[dict]:
    rows = pq.read_table(path).to_pylist()
    return sorted(rows, key=lambda row: (row[S.IMAGE_ID], row[S.TEXT]))


def test_worker_python_lacks_dependencies():
    # The premise of the cluster test: without the archive, executors could not import the job.
    completed = subprocess.run([WORKER_PYTHON, "-c", "import pyarrow"], capture_output=True, text=True)
    assert completed.returncode != 0


def test_executors_unpack_archive(cluster_run):
    _, unpacked, _ = cluster_run
    assert unpacked, "no executor directory contains env/bin/python"


def test_cluster_curated_equals_local(cluster_run, local_run):
    output, _, _ = cluster_run
    cluster_rows = _sorted_rows(output / "curated")
    local_rows = _sorted_rows(local_run / "curated")
    assert len(cluster_rows) > 100
    assert cluster_rows == local_rows


def test_cluster_reports_equal_local(cluster_run, local_run):
    output, _, _ = cluster_run
    assert (output / "_SUCCESS").exists()
    assert json.loads((output / "thresholds.json").read_text()) == json.loads((local_run / "thresholds.json").read_text())

    cluster_stats = json.loads((output / "stats.json").read_text())
    local_stats = json.loads((local_run / "stats.json").read_text())
    cluster_stats.pop("seconds", None)
    local_stats.pop("seconds", None)
    assert cluster_stats == local_stats


def test_cluster_entry_counts_equal_local(cluster_run, local_run):
    output, _, _ = cluster_run
    assert pq.read_table(output / "entry_counts").to_pylist() == pq.read_table(local_run / "entry_counts").to_pylist()
