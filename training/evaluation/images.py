"""Read evaluation images from Parquet files with image bytes or from webdataset tar shards.

Both readers yield ``ImageRecord`` values: an image id, the encoded image bytes and the other
fields of the sample (class label, captions) as metadata. Rows that cannot be read (no id,
no bytes, a repeated id) are counted in ``ImageReadStats`` by reason. Decoding happens later,
in the embedding step, which counts images that fail to decode.

Parquet layout: an id column (``image_id`` by default) and an image column (``image`` by default)
that is either binary or a struct with a ``bytes`` field, as Hugging Face ``datasets`` writes it.
Every other column becomes metadata.

Tar layout (webdataset): the files of one sample share a key, the member path up to the first
dot of the file name, and sit next to each other in the tar. The image is the member with an
image extension. ``.json`` members are merged into the metadata, ``.cls`` becomes
``class_index`` and ``.txt`` becomes ``caption``. The key is the image id.
"""

from __future__ import annotations

import json
import logging
import tarfile
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

logger = logging.getLogger(__name__)

IMAGE_EXTENSIONS = frozenset({"jpg", "jpeg", "png", "webp", "bmp", "gif", "tif", "tiff", "ppm"})
PARQUET_BATCH_ROWS = 256


@dataclass(frozen=True)
class ImageRecord:
    image_id: str
    data: bytes
    metadata: dict[str, Any]


@dataclass
class ImageReadStats:
    """Counts of samples read and of samples dropped before decoding, by reason."""

    read: int = 0
    dropped: Counter = field(default_factory=Counter)


def expand_image_paths(paths: Sequence[str | Path]) -> list[Path]:
    """Expand folders into their ``.parquet`` and ``.tar`` files, sorted, and check that files exist."""
    files: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found = sorted(child for child in path.iterdir() if child.suffix in (".parquet", ".tar"))
            if not found:
                raise FileNotFoundError(f"no .parquet or .tar files in image folder {path}")
            files.extend(found)
        elif path.is_file():
            if path.suffix not in (".parquet", ".tar"):
                raise ValueError(f"unsupported image file {path}: expected .parquet or .tar")
            files.append(path)
        else:
            raise FileNotFoundError(f"image file or folder not found: {path}")
    return files


def read_images(
    files: Sequence[Path],
    stats: ImageReadStats,
    id_column: str = "image_id",
    image_column: str = "image",
) -> Iterator[ImageRecord]:
    """Yield the images of all files in order, each id once, and count dropped samples in ``stats``."""
    seen: set[str] = set()
    for path in files:
        records = (
            _read_tar(path, stats) if path.suffix == ".tar" else _read_parquet(path, stats, id_column, image_column)
        )
        for record in records:
            if record.image_id in seen:
                stats.dropped["duplicate_image_id"] += 1
                continue
            seen.add(record.image_id)
            yield record


def _read_parquet(path: Path, stats: ImageReadStats, id_column: str, image_column: str) -> Iterator[ImageRecord]:
    parquet = pq.ParquetFile(path)
    names = parquet.schema_arrow.names
    for column in (id_column, image_column):
        if column not in names:
            raise ValueError(f"{path}: missing column {column!r}; the file has {names}")

    image_type = parquet.schema_arrow.field(image_column).type
    if pa.types.is_struct(image_type) and image_type.get_field_index("bytes") < 0:
        raise ValueError(f"{path}: struct column {image_column!r} has no 'bytes' field")

    for batch in parquet.iter_batches(batch_size=PARQUET_BATCH_ROWS):
        for row in batch.to_pylist():
            stats.read += 1
            raw_id = row.pop(id_column)
            image = row.pop(image_column)
            data = image.get("bytes") if isinstance(image, dict) else image
            if raw_id is None or str(raw_id) == "":
                stats.dropped["missing_image_id"] += 1
                continue
            if not data:
                stats.dropped["missing_image_bytes"] += 1
                continue
            yield ImageRecord(image_id=str(raw_id), data=bytes(data), metadata=row)


def _sample_key(member_name: str) -> tuple[str, str]:
    """Split a tar member path into the webdataset sample key and the extension after the first dot."""
    folder, _, file_name = member_name.rpartition("/")
    stem, _, extension = file_name.partition(".")
    key = f"{folder}/{stem}" if folder else stem
    return key, extension.lower()


def _read_tar(path: Path, stats: ImageReadStats) -> Iterator[ImageRecord]:
    try:
        archive = tarfile.open(path, mode="r:*")
    except tarfile.TarError as error:
        raise ValueError(f"cannot open tar shard {path}: {error}") from error

    with archive:
        current_key: str | None = None
        members: dict[str, bytes] = {}
        for member in archive:
            if not member.isfile():
                continue
            key, extension = _sample_key(member.name)
            if key != current_key:
                if current_key is not None:
                    yield from _tar_sample(current_key, members, stats, path)
                current_key, members = key, {}
            handle = archive.extractfile(member)
            members[extension] = handle.read() if handle else b""
        if current_key is not None:
            yield from _tar_sample(current_key, members, stats, path)


def _tar_sample(key: str, members: dict[str, bytes], stats: ImageReadStats, path: Path) -> Iterator[ImageRecord]:
    stats.read += 1
    image_extensions = [extension for extension in members if extension in IMAGE_EXTENSIONS]
    if not image_extensions:
        stats.dropped["missing_image_bytes"] += 1
        return
    if len(image_extensions) > 1:
        logger.warning(
            "%s: sample %s has several images %s, using .%s", path, key, image_extensions, image_extensions[0]
        )

    metadata: dict[str, Any] = {}
    if "json" in members:
        try:
            parsed = json.loads(members["json"].decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            stats.dropped["invalid_json_metadata"] += 1
            return
        if isinstance(parsed, dict):
            metadata.update(parsed)
    if "cls" in members:
        metadata["class_index"] = members["cls"].decode("utf-8").strip()
    if "txt" in members:
        metadata["caption"] = members["txt"].decode("utf-8").strip()

    data = members[image_extensions[0]]
    if not data:
        stats.dropped["missing_image_bytes"] += 1
        return
    yield ImageRecord(image_id=key, data=data, metadata=metadata)
