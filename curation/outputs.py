"""Writing outputs: Parquet shards in a deterministic layout, JSON reports and success markers."""

from __future__ import annotations

import json
import logging
import math
import os

from curation import schemas as S

logger = logging.getLogger(__name__)

SUCCESS_MARKER = "_SUCCESS"


class OutputError(ValueError):
    """Raised for an output location that cannot be used as asked."""


def _filesystem(path: str):
    from pyarrow import fs

    if "://" not in path:
        return fs.LocalFileSystem(), os.path.abspath(path)
    return fs.FileSystem.from_uri(path)


def check_output_location(output: str, input_path: str, overwrite: bool, resume: bool = False) -> None:
    """Refuse an output inside the input, and a non-empty output unless ``overwrite`` or ``resume``.

    ``overwrite`` empties the directory; ``resume`` keeps it so that completed stages are reused.
    """
    from pyarrow import fs

    if overwrite and resume:
        raise OutputError("--overwrite and --resume exclude each other: choose one")
    filesystem, path = _filesystem(output)
    if "://" not in input_path:
        input_abs = os.path.abspath(input_path)
        if path == input_abs or path.startswith(input_abs.rstrip(os.sep) + os.sep):
            raise OutputError(f"output {output} lies inside the input {input_path}; choose another --output")

    info = filesystem.get_file_info(path)
    if info.type == fs.FileType.File:
        raise OutputError(f"output {output} is a file; pass a directory to --output")
    if info.type == fs.FileType.Directory:
        children = filesystem.get_file_info(fs.FileSelector(path))
        if children and not (overwrite or resume):
            raise OutputError(
                f"output directory {output} is not empty; pass --resume to continue that run, "
                "--overwrite to replace it, or choose another --output"
            )
        if children and overwrite:
            logger.warning("removing the previous contents of %s (--overwrite)", output)
            filesystem.delete_dir_contents(path)
    try:
        filesystem.create_dir(path, recursive=True)
    except OSError as error:
        raise OutputError(f"cannot create output directory {output}: {error}; check the path and permissions") from error


def publish_directory(staged: str, final: str) -> None:
    """Move a finished output directory from its staging location to its final one.

    A rename is atomic on local filesystems and HDFS, so readers see the whole directory or
    none of it. A resumed run may find it already moved, which is fine.
    """
    from pyarrow import fs

    filesystem, staged_path = _filesystem(staged)
    _, final_path = _filesystem(final)
    if filesystem.get_file_info(staged_path).type != fs.FileType.Directory:
        if filesystem.get_file_info(final_path).type == fs.FileType.Directory:
            return
        raise OutputError(f"staged output {staged} not found; rerun with --resume to compute it again")
    if filesystem.get_file_info(final_path).type != fs.FileType.NotFound:
        filesystem.delete_dir(final_path)
    # NOTE: object stores such as S3 have no rename: pyarrow copies, and readers can see a
    # directory while it fills. Read only outputs that have the top-level _SUCCESS there.
    filesystem.move(staged_path, final_path)


def restore_unpublished(final: str, staged: str) -> None:
    """Move an output published by an interrupted run back to staging, so that a resumed run
    finds every stage's data where its checkpoint expects it."""
    from pyarrow import fs

    filesystem, final_path = _filesystem(final)
    _, staged_path = _filesystem(staged)
    if filesystem.get_file_info(final_path).type != fs.FileType.Directory:
        return
    if filesystem.get_file_info(staged_path).type == fs.FileType.NotFound:
        filesystem.create_dir(os.path.dirname(staged_path), recursive=True)
        filesystem.move(final_path, staged_path)
    else:
        filesystem.delete_dir(final_path)


def output_is_complete(directory: str) -> bool:
    """Return True when ``directory`` contains the top-level ``_SUCCESS`` of a finished run."""
    from pyarrow import fs

    filesystem, resolved = _filesystem(directory)
    return filesystem.get_file_info(f"{resolved.rstrip('/')}/{SUCCESS_MARKER}").type == fs.FileType.File


def remove_success_marker(directory: str) -> None:
    from pyarrow import fs

    filesystem, resolved = _filesystem(directory)
    marker = f"{resolved.rstrip('/')}/{SUCCESS_MARKER}"
    if filesystem.get_file_info(marker).type == fs.FileType.File:
        filesystem.delete_file(marker)


def write_json(path: str, value: object) -> None:
    """Write ``value`` as indented JSON to ``path`` on any filesystem pyarrow reaches."""
    filesystem, resolved = _filesystem(path)
    data = (json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode("utf-8")
    with filesystem.open_output_stream(resolved) as stream:
        stream.write(data)


def write_success_marker(directory: str) -> None:
    filesystem, resolved = _filesystem(directory)
    with filesystem.open_output_stream(f"{resolved.rstrip('/')}/{SUCCESS_MARKER}") as stream:
        stream.write(b"")


def delete_directory(directory: str) -> None:
    filesystem, resolved = _filesystem(directory)
    filesystem.delete_dir(resolved)


def shard_count(rows: int, rows_per_shard: int) -> int:
    return max(1, math.ceil(rows / rows_per_shard))


def write_shards(df, path: str, rows: int, rows_per_shard: int, sort_columns: list[str]) -> int:
    """Write ``df`` as Parquet shards hashed by image id and sorted within each shard.

    The same rows always land in the same shard in the same order, so reruns write the same
    content. Returns the number of shards.
    """
    shards = shard_count(rows, rows_per_shard)
    (
        df.repartition(shards, S.IMAGE_ID)
        .sortWithinPartitions(*sort_columns)
        .write.mode("overwrite")
        .option("compression", "zstd")
        .parquet(path)
    )
    logger.info("wrote %d rows in %d shards to %s", rows, shards, path)
    return shards
