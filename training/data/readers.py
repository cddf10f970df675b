"""Read samples from img2dataset shards, one block at a time.

Parquet shards (img2dataset ``output_format=parquet``) have a ``jpg`` bytes column, a ``caption``
column and pass-through columns. This reader uses ``image_id``, ``lang`` and ``entry_ids`` when
present and falls back to img2dataset's ``key`` for the image id. A block is one Parquet row group.

Webdataset tars (img2dataset ``output_format=webdataset``) hold ``<key>.jpg`` (or png/webp),
``<key>.txt`` with the caption and ``<key>.json`` with the pass-through columns. A tar is one block.

Readers do not decode images. A sample they cannot use keeps an ``error`` reason, and the data
loader counts and skips it. Only a file or block that cannot be read raises.
"""

from __future__ import annotations

import json
import logging
import tarfile
from dataclasses import dataclass
from pathlib import PurePosixPath

import pyarrow.parquet as pq

from training.data.shards import Shard

logger = logging.getLogger(__name__)

IMAGE_EXTENSIONS = ("jpg", "jpeg", "png", "webp")
PARQUET_COLUMNS = ("jpg", "caption", "image_id", "lang", "entry_ids", "key")


@dataclass
class SampleRecord:
    """One image-text row of a shard, image still encoded."""

    key: str
    image_bytes: bytes | None
    caption: str | None
    image_id: str
    lang: str | None = None
    entry_ids: tuple[int, ...] = ()
    # Why the sample cannot be used (e.g. "missing_image"); None when it looks usable.
    error: str | None = None


def count_blocks(shard: Shard) -> int:
    """Return the number of blocks (row groups, or 1 for a tar) of a shard."""
    if shard.format == "parquet":
        return pq.ParquetFile(shard.path).num_row_groups
    return 1


def read_block(shard: Shard, block_index: int) -> list[SampleRecord]:
    """Read one block of a shard as sample records in file order."""
    if shard.format == "parquet":
        return _read_parquet_row_group(shard, block_index)
    if shard.format == "webdataset":
        if block_index != 0:
            raise IndexError(f"a tar shard has one block, got block {block_index} of {shard.path}")
        return _read_tar(shard)
    raise ValueError(f"unknown shard format {shard.format!r} for {shard.path}")


def _read_parquet_row_group(shard: Shard, block_index: int) -> list[SampleRecord]:
    parquet_file = pq.ParquetFile(shard.path)
    columns = [c for c in PARQUET_COLUMNS if c in parquet_file.schema_arrow.names]
    if "jpg" not in columns:
        raise ValueError(f"shard {shard.path} has no 'jpg' column; columns: {parquet_file.schema_arrow.names}")
    table = parquet_file.read_row_group(block_index, columns=columns)
    data = {name: table.column(name).to_pylist() for name in columns}
    rows = table.num_rows

    records = []
    for row in range(rows):
        key = data["key"][row] if "key" in data and data["key"][row] is not None else f"{block_index}:{row}"
        image_id = data["image_id"][row] if "image_id" in data and data["image_id"][row] else None
        entry_ids = data["entry_ids"][row] if "entry_ids" in data and data["entry_ids"][row] else ()
        record = SampleRecord(
            key=str(key),
            image_bytes=data["jpg"][row],
            caption=data["caption"][row] if "caption" in data else None,
            image_id=str(image_id) if image_id else f"{shard.name}/{key}",
            lang=data["lang"][row] if "lang" in data else None,
            entry_ids=tuple(int(e) for e in entry_ids),
        )
        if record.image_bytes is None:
            record.error = "missing_image"
        records.append(record)
    return records


def _read_tar(shard: Shard) -> list[SampleRecord]:
    members: dict[str, dict[str, bytes]] = {}
    order: list[str] = []
    with tarfile.open(shard.path, "r:*") as archive:
        for member in archive:
            if not member.isfile():
                continue
            name = PurePosixPath(member.name)
            # img2dataset names files <key>.<ext>; the key may contain dots only in folder names.
            key, _, extension = name.name.partition(".")
            key = str(name.parent / key)
            handle = archive.extractfile(member)
            if handle is None:
                continue
            if key not in members:
                members[key] = {}
                order.append(key)
            members[key][extension.lower()] = handle.read()

    records = []
    for key in order:
        files = members[key]
        image_bytes = next((files[e] for e in IMAGE_EXTENSIONS if e in files), None)
        caption = files["txt"].decode("utf-8", errors="replace") if "txt" in files else None
        metadata: dict = {}
        error = None
        if "json" in files:
            try:
                metadata = json.loads(files["json"])
            except (json.JSONDecodeError, UnicodeDecodeError):
                error = "invalid_json"
        image_id = metadata.get("image_id") or f"{shard.name}/{key}"
        record = SampleRecord(
            key=key,
            image_bytes=image_bytes,
            caption=caption,
            image_id=str(image_id),
            lang=metadata.get("lang"),
            entry_ids=tuple(int(e) for e in (metadata.get("entry_ids") or ())),
            error=error,
        )
        if record.image_bytes is None and record.error is None:
            record.error = "missing_image"
        records.append(record)
    return records
