"""Ship the files a job's Python workers read (metadata, LID model) to the executors.

Under a local master the driver's paths are the workers' paths. On a cluster the files travel
with the job: ``addFile`` for single files, a zip archive for a local directory, which Spark
unpacks under the directory's base name on each executor.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile

logger = logging.getLogger(__name__)


def local_path(path: str) -> str:
    """Return ``path`` on this worker: as given, or the copy Spark shipped under its base name."""
    if os.path.exists(path):
        return path
    from pyspark import SparkFiles

    shipped = SparkFiles.get(os.path.basename(os.path.normpath(path)))
    if not os.path.exists(shipped):
        raise FileNotFoundError(f"{path} is neither on this worker nor shipped with the job")
    return shipped


def ship_metadata(spark, metadata_dir: str) -> None:
    """Make the metadata directory available to every executor under its base name.

    Under a local master nothing is shipped. On a cluster a local directory is zipped on the
    driver and shipped as an archive that executors unpack under the same name, where
    ``SparkFiles.get`` finds it.
    """
    # NOTE: files are shipped by base name, so one Spark session cannot curate with two
    # metadata directories of the same name on a cluster: Spark rejects the second.
    context = spark.sparkContext
    if context.master.startswith("local"):
        # Local workers read the driver's path directly, so nothing is shipped.
        return
    is_local_path = "://" not in metadata_dir or metadata_dir.startswith("file:")
    if not is_local_path:
        context.addFile(metadata_dir, recursive=True)
        return

    local_dir = metadata_dir.removeprefix("file://")
    name = os.path.basename(os.path.normpath(local_dir))
    # NOTE: the zip stays in the temporary directory after the run, because executors fetch it
    # when their first task starts and Spark does not say when the last one has.
    scratch = tempfile.mkdtemp(prefix="worldclip-metadata-")
    archive = shutil.make_archive(os.path.join(scratch, name), "zip", local_dir)
    context.addArchive(f"{archive}#{name}")
    logger.info("shipping metadata %s to the executors as %s", metadata_dir, archive)
