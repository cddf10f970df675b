"""Image readers of the evaluation: Parquet with image bytes and webdataset tar shards."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from PIL import Image

from training.evaluation.images import ImageReadStats, expand_image_paths, read_images


def png_bytes(color: tuple[int, int, int]) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), color).save(buffer, format="PNG")
    return buffer.getvalue()


def add_member(archive: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    archive.addfile(info, io.BytesIO(data))


def test_parquet_binary_column(tmp_path):
    path = tmp_path / "images.parquet"
    table = pa.table({
        "image_id": ["a", "b", None, "d", "a"],
        "image": [png_bytes((255, 0, 0)), png_bytes((0, 255, 0)), png_bytes((0, 0, 255)), None, png_bytes((1, 1, 1))],
        "class_index": [0, 1, 2, 0, 1],
    })
    pq.write_table(table, path)

    stats = ImageReadStats()
    records = list(read_images([path], stats))
    assert [record.image_id for record in records] == ["a", "b"]
    assert records[0].metadata == {"class_index": 0}
    assert stats.read == 5
    assert stats.dropped == {"missing_image_id": 1, "missing_image_bytes": 1, "duplicate_image_id": 1}


def test_parquet_struct_column_and_custom_names(tmp_path):
    path = tmp_path / "hf.parquet"
    image_type = pa.struct([("bytes", pa.binary()), ("path", pa.string())])
    table = pa.table({
        "key": ["x", "y"],
        "jpg": pa.array([{"bytes": png_bytes((9, 9, 9)), "path": "x.png"}, {"bytes": None, "path": "y.png"}], image_type),
    })
    pq.write_table(table, path)

    stats = ImageReadStats()
    records = list(read_images([path], stats, id_column="key", image_column="jpg"))
    assert [record.image_id for record in records] == ["x"]
    assert stats.dropped == {"missing_image_bytes": 1}


def test_parquet_missing_column_rejected(tmp_path):
    path = tmp_path / "images.parquet"
    pq.write_table(pa.table({"id": ["a"], "image": [b"x"]}), path)
    with pytest.raises(ValueError, match="missing column 'image_id'"):
        list(read_images([path], ImageReadStats()))


def test_tar_samples_and_metadata(tmp_path):
    path = tmp_path / "shard-000000.tar"
    with tarfile.open(path, "w") as archive:
        add_member(archive, "s1.jpg", png_bytes((255, 0, 0)))
        add_member(archive, "s1.json", json.dumps({"wnid": "n00000001", "lang": "en"}).encode())
        add_member(archive, "s1.txt", "a red circle\n".encode())
        add_member(archive, "sub/s2.png", png_bytes((0, 255, 0)))
        add_member(archive, "sub/s2.cls", b"2\n")
        add_member(archive, "s3.json", b"{}")
        add_member(archive, "s4.jpg", png_bytes((0, 0, 255)))
        add_member(archive, "s4.json", b"{not json")

    stats = ImageReadStats()
    records = list(read_images([path], stats))
    assert [record.image_id for record in records] == ["s1", "sub/s2"]
    assert records[0].metadata == {"wnid": "n00000001", "lang": "en", "caption": "a red circle"}
    assert records[1].metadata == {"class_index": "2"}
    assert stats.read == 4
    assert stats.dropped == {"missing_image_bytes": 1, "invalid_json_metadata": 1}


def test_folder_expands_sorted(tmp_path):
    for name in ("b.tar", "a.parquet", "notes.txt"):
        (tmp_path / name).write_bytes(b"")
    assert [path.name for path in expand_image_paths([tmp_path])] == ["a.parquet", "b.tar"]


def test_missing_path_rejected(tmp_path):
    with pytest.raises(FileNotFoundError, match="not found"):
        expand_image_paths([tmp_path / "absent.parquet"])
    (tmp_path / "images.zip").write_bytes(b"")
    with pytest.raises(ValueError, match="unsupported image file"):
        expand_image_paths([tmp_path / "images.zip"])
