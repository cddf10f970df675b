"""Fixtures shared by the test suite: the shared data directory and a local Spark session."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

REPOSITORY_ROOT = Path(__file__).resolve().parents[1]

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)


def shared_data_dir() -> Path:
    """Return the shared data directory: $WORLDCLIP_SHARED_DATA, else ../shared/data."""
    configured = os.environ.get("WORLDCLIP_SHARED_DATA")
    if configured:
        return Path(configured).resolve()
    return (REPOSITORY_ROOT.parent / "shared" / "data").resolve()


@pytest.fixture(scope="session")
def shared_data() -> Path:
    path = shared_data_dir()
    if not (path / "MANIFEST.md").is_file():
        pytest.fail(
            f"shared data not found at {path}: set WORLDCLIP_SHARED_DATA to the folder with MANIFEST.md"
        )
    return path


@pytest.fixture(scope="session")
def spark():
    from curation.spark_session import create_spark_session

    # local[2,2]: two cores, and a failed task is retried once, as on a cluster.
    session = create_spark_session(master="local[2,2]", app_name="worldclip-tests", shuffle_partitions=4)
    yield session
    session.stop()


# Fixtures of the training package (a tiny model trained once per session) live in their own
# module so that the training and evaluation tests can share them.
pytest_plugins = ["fixtures_training"]
