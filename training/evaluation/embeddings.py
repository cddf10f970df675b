"""Embed an image set once per model and keep the embeddings in an on-disk cache.

The cache key combines the model fingerprint (weights and preprocessing), the SHA-256 of every
image file and the reader options, so a changed file or model never reuses stale embeddings.
Within one process an image set used by several tasks is also embedded only once.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import shutil
import tempfile
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from training.evaluation.checksums import describe_file
from training.evaluation.images import ImageReadStats, expand_image_paths, read_images
from training.evaluation.model import EmbeddingModel

logger = logging.getLogger(__name__)

CACHE_FORMAT_VERSION = 1
PROGRESS_EVERY_IMAGES = 5000
# Decode failures past this many are only counted, so a corrupt shard does not flood the log.
LOGGED_DECODE_FAILURES = 10


@dataclass
class EmbeddedImages:
    """Normalised embeddings of the images that decoded, with their ids, metadata and drop counts.

    ``dropped_ids`` maps the id of every dropped image whose id is known to the drop reason,
    so that tasks can tell a caption whose image failed from a caption with no image at all.
    """

    image_ids: list[str]
    embeddings: np.ndarray
    metadata: list[dict[str, Any]]
    read: int
    dropped: Counter
    dropped_ids: dict[str, str]
    files: list[dict[str, Any]]
    from_cache: bool = False

    @cached_property
    def row_by_id(self) -> dict[str, int]:
        return {image_id: row for row, image_id in enumerate(self.image_ids)}

    def row_of(self, image_id: str) -> int | None:
        """Return the embedding row of ``image_id``, or None when the image was not embedded."""
        return self.row_by_id.get(image_id)

    def summary(self) -> dict[str, Any]:
        return {
            "files": self.files,
            "images_read": self.read,
            "images_embedded": len(self.image_ids),
            "images_dropped": dict(sorted(self.dropped.items())),
            "embeddings_from_cache": self.from_cache,
        }


class ImageEmbedder:
    """Embed image sets with one model, reusing embeddings from memory and from ``cache_dir``."""

    def __init__(
        self,
        model: EmbeddingModel,
        cache_dir: Path | None,
        batch_size: int = 64,
        id_column: str = "image_id",
        image_column: str = "image",
    ) -> None:
        if batch_size < 1:
            raise ValueError(f"batch size must be at least 1, got {batch_size}")
        self.model = model
        self.cache_dir = cache_dir
        self.batch_size = batch_size
        self.id_column = id_column
        self.image_column = image_column
        self._memory: dict[str, EmbeddedImages] = {}

    def embed(self, paths: Sequence[str | Path]) -> EmbeddedImages:
        """Return the embeddings of the images in ``paths`` (files or folders of .parquet / .tar)."""
        files = expand_image_paths(paths)
        descriptions = [describe_file(path, "images") for path in files]
        key = self._cache_key(descriptions)

        if key in self._memory:
            return self._memory[key]

        embedded = self._load_cached(key, descriptions)
        if embedded is None:
            embedded = self._compute(files, descriptions)
            self._store(key, embedded)
        self._memory[key] = embedded
        return embedded

    def _cache_key(self, descriptions: list[dict[str, Any]]) -> str:
        payload = {
            "format": CACHE_FORMAT_VERSION,
            "model": self.model.fingerprint,
            "files": [description["sha256"] for description in descriptions],
            "id_column": self.id_column,
            "image_column": self.image_column,
        }
        return hashlib.sha256(json.dumps(payload, sort_keys=True).encode("utf-8")).hexdigest()[:32]

    def _compute(self, files: list[Path], descriptions: list[dict[str, Any]]) -> EmbeddedImages:
        stats = ImageReadStats()
        dropped_ids: dict[str, str] = {}
        image_ids: list[str] = []
        metadata: list[dict[str, Any]] = []
        batches: list[np.ndarray] = []
        pending_images: list[Image.Image] = []

        for record in read_images(files, stats, self.id_column, self.image_column):
            try:
                with Image.open(io.BytesIO(record.data)) as opened:
                    image = opened.convert("RGB")
            except (OSError, ValueError, Image.DecompressionBombError) as error:
                stats.dropped["image_decode_failed"] += 1
                dropped_ids[record.image_id] = "image_decode_failed"
                if stats.dropped["image_decode_failed"] <= LOGGED_DECODE_FAILURES:
                    logger.warning("image %s failed to decode, dropped: %s", record.image_id, error)
                continue

            image_ids.append(record.image_id)
            metadata.append(_json_safe(record.metadata))
            pending_images.append(image)
            if len(pending_images) == self.batch_size:
                batches.append(self.model.encode_images(pending_images))
                pending_images = []
            if len(image_ids) % PROGRESS_EVERY_IMAGES == 0:
                logger.info("embedded %d images", len(image_ids))

        if pending_images:
            batches.append(self.model.encode_images(pending_images))
        if stats.dropped:
            logger.warning("images dropped: %s", dict(sorted(stats.dropped.items())))

        embeddings = np.concatenate(batches) if batches else np.zeros((0, 0), dtype=np.float32)
        return EmbeddedImages(image_ids, embeddings, metadata, stats.read, stats.dropped, dropped_ids, descriptions)

    def _cache_path(self, key: str) -> Path | None:
        return self.cache_dir / key if self.cache_dir is not None else None

    def _load_cached(self, key: str, descriptions: list[dict[str, Any]]) -> EmbeddedImages | None:
        path = self._cache_path(key)
        if path is None or not (path / "index.json").is_file():
            return None
        try:
            index = json.loads((path / "index.json").read_text(encoding="utf-8"))
            embeddings = np.load(path / "embeddings.npy")
        except (OSError, ValueError) as error:
            logger.warning("ignoring unreadable embedding cache %s: %s", path, error)
            return None

        logger.info("using cached image embeddings from %s", path)
        return EmbeddedImages(
            image_ids=index["image_ids"],
            embeddings=embeddings,
            metadata=index["metadata"],
            read=index["read"],
            dropped=Counter(index["dropped"]),
            dropped_ids=index["dropped_ids"],
            files=descriptions,
            from_cache=True,
        )

    def _store(self, key: str, embedded: EmbeddedImages) -> None:
        path = self._cache_path(key)
        if path is None:
            return
        path.parent.mkdir(parents=True, exist_ok=True)

        # Write into a temporary folder and rename it, so that an interrupted run leaves no half-written entry.
        staging = Path(tempfile.mkdtemp(prefix=f".{key}.", dir=path.parent))
        try:
            np.save(staging / "embeddings.npy", embedded.embeddings)
            index = {
                "image_ids": embedded.image_ids,
                "metadata": embedded.metadata,
                "read": embedded.read,
                "dropped": dict(embedded.dropped),
                "dropped_ids": embedded.dropped_ids,
                "model": self.model.description,
                "files": embedded.files,
            }
            (staging / "index.json").write_text(json.dumps(index, ensure_ascii=False), encoding="utf-8")
            os.replace(staging, path)
        except OSError as error:
            logger.warning("could not write embedding cache %s: %s", path, error)
            shutil.rmtree(staging, ignore_errors=True)


def _json_safe(value: Any) -> Any:
    """Convert metadata to JSON types, so fresh and cached embeddings carry identical metadata."""
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    if isinstance(value, dict):
        return {str(key): _json_safe(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(item) for item in value]
    if isinstance(value, (bytes, bytearray)):
        return None
    if isinstance(value, np.generic):
        return value.item()
    return str(value)
