"""Find training shards and deal them to (rank, data loader worker) for one epoch.

Each epoch orders the shards by a hash of (seed, epoch, shard name) and deals them round-robin to
the ``world_size * num_workers`` readers. Shard ``i`` of the epoch order goes to global reader
``i % readers``, and global reader ``rank * num_workers + worker`` is that rank's worker.
Every shard therefore goes to exactly one reader per epoch, and the deal depends only on the
seed, the epoch, the shard names and the reader count.
"""

from __future__ import annotations

import glob
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from training.data.hashing import hash64

logger = logging.getLogger(__name__)

SHARD_SUFFIXES = {".parquet": "parquet", ".tar": "webdataset"}


class ShardError(ValueError):
    """Raised when no shards are found or they cannot be dealt."""


@dataclass(frozen=True, order=True)
class Shard:
    """One training shard: an img2dataset Parquet file or webdataset tar."""

    path: str
    format: str

    @property
    def name(self) -> str:
        return Path(self.path).name


def _shard_from_path(path: Path) -> Shard | None:
    shard_format = SHARD_SUFFIXES.get(path.suffix)
    if shard_format is None or not path.is_file():
        return None
    return Shard(path=str(path.resolve()), format=shard_format)


def find_shards(patterns: Sequence[str]) -> list[Shard]:
    """Return the shards under the given folders or glob patterns, sorted by path, without duplicates."""
    found: set[Shard] = set()
    for pattern in patterns:
        path = Path(pattern)
        if path.is_dir():
            candidates = [p for p in path.rglob("*") if p.suffix in SHARD_SUFFIXES]
        else:
            candidates = [Path(p) for p in glob.glob(pattern, recursive=True)]
        shards = [s for s in (_shard_from_path(p) for p in candidates) if s is not None]
        if not shards:
            raise ShardError(f"no .parquet or .tar shards found for {pattern!r}")
        found.update(shards)
    if not found:
        raise ShardError("no training shards configured: set data.shards to folders or glob patterns")
    return sorted(found)


def epoch_shard_order(shards: Sequence[Shard], seed: int, epoch: int) -> list[Shard]:
    """Return the shards in the order of this epoch: sorted by a hash of (seed, epoch, name)."""
    return sorted(shards, key=lambda shard: (hash64(seed, epoch, "shard-order", shard.name), shard.path))


def deal_shards(shards: Sequence[Shard], seed: int, epoch: int, world_size: int, num_workers: int) -> list[list[Shard]]:
    """Deal an epoch's shards to ``world_size * max(1, num_workers)`` readers; index ``rank * workers + worker``."""
    workers_per_rank = max(1, num_workers)
    readers = world_size * workers_per_rank
    if len(shards) < world_size:
        raise ShardError(
            f"{len(shards)} shard(s) cannot feed {world_size} ranks: write at least one shard per rank"
        )
    dealt: list[list[Shard]] = [[] for _ in range(readers)]
    for index, shard in enumerate(epoch_shard_order(shards, seed, epoch)):
        dealt[index % readers].append(shard)
    return dealt


def shards_for_reader(
    shards: Sequence[Shard], seed: int, epoch: int, world_size: int, num_workers: int, rank: int, worker: int
) -> list[Shard]:
    """Return the shards that reader (rank, worker) reads in this epoch, in reading order."""
    dealt = deal_shards(shards, seed, epoch, world_size, num_workers)
    return dealt[rank * max(1, num_workers) + worker]
