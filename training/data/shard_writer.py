"""Write shards in img2dataset's layouts, for tests, benchmarks and small examples.

Parquet shards get img2dataset's columns (``key``, ``jpg``, ``caption``, ``status``) plus
pass-through columns; webdataset tars get ``<key>.jpg``, ``<key>.txt`` and ``<key>.json``.
"""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path
from typing import Any, Sequence

import pyarrow as pa
import pyarrow.parquet as pq

PARQUET_SCHEMA = pa.schema(
    [
        pa.field("key", pa.string()),
        pa.field("jpg", pa.binary()),
        pa.field("caption", pa.string()),
        pa.field("status", pa.string()),
        pa.field("image_id", pa.string()),
        pa.field("lang", pa.string()),
        pa.field("entry_ids", pa.list_(pa.int32())),
    ]
)


def write_parquet_shard(path: str | Path, rows: Sequence[dict[str, Any]], row_group_size: int | None = None) -> Path:
    """Write rows with keys ``key, jpg, caption, image_id, lang, entry_ids`` as an img2dataset Parquet shard."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    columns = {name: [] for name in PARQUET_SCHEMA.names}
    for row in rows:
        for name in PARQUET_SCHEMA.names:
            if name == "status":
                columns[name].append("success" if row.get("jpg") is not None else "failed_to_download")
            else:
                columns[name].append(row.get(name))
    table = pa.table(columns, schema=PARQUET_SCHEMA)
    pq.write_table(table, path, row_group_size=row_group_size)
    return path


def write_webdataset_shard(path: str | Path, rows: Sequence[dict[str, Any]]) -> Path:
    """Write rows as an img2dataset webdataset tar: ``<key>.jpg``, ``<key>.txt``, ``<key>.json``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(path, "w") as archive:
        for row in rows:
            key = row["key"]
            metadata = {name: row.get(name) for name in ("key", "image_id", "lang", "entry_ids")}
            files = [("json", json.dumps(metadata).encode("utf-8"))]
            if row.get("jpg") is not None:
                files.insert(0, ("jpg", row["jpg"]))
            if row.get("caption") is not None:
                files.insert(1, ("txt", row["caption"].encode("utf-8")))
            for extension, payload in files:
                info = tarfile.TarInfo(f"{key}.{extension}")
                info.size = len(payload)
                info.mtime = 0
                archive.addfile(info, io.BytesIO(payload))
    return path
