"""The training data loader: dealt shards in, batches of (images, token ids) out, with a resumable position.

Each data loader worker is one reader of the epoch's deal (see ``shards.py``). A reader goes
through its shards block by block. Within a block it visits images in an order drawn from a hash
of (seed, epoch, shard, block), decodes and transforms them, and yields full batches. Every batch
carries the reader's position after its last image and the counters of everything the reader
consumed since the previous batch. The main process therefore records exactly which rows were
trained on.

torch's DataLoader with ``in_order=True`` returns worker outputs round-robin over the workers that
still have data. The main process records the logical reader of the last output it consumed. A
resumed run rotates the worker-to-reader mapping so that the round-robin continues with the next
reader, and so reproduces the uninterrupted order.

Image augmentation is seeded per sample from (seed, epoch, image id), so it does not depend on the
worker or on resuming.
"""

from __future__ import annotations

import collections
import io
import logging
import os
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Iterator

import pyarrow as pa
import torch
from PIL import Image
from torch.utils.data import DataLoader, IterableDataset, get_worker_info

from training.data.hashing import hash64
from training.data.online_curation import OnlineCurator, group_by_image
from training.data.readers import SampleRecord, count_blocks, read_block
from training.data.shards import Shard, shards_for_reader

logger = logging.getLogger(__name__)

# Hugging Face tokenizers warn and disable their own threads once a process forks; the loader
# workers are forked, so turn the threads off up front.
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

# Each reader logs this many undecodable images per epoch with their ids; the counter counts them all.
MAX_CORRUPT_IMAGES_LOGGED = 10

COUNTERS = (
    "rows_read",
    "samples",
    "corrupt_image",
    "missing_image",
    "missing_text",
    "invalid_json",
    "online_not_kept",
    "online_unchosen_texts",
    "online_unknown_entries",
    "partial_batch_dropped",
    "unreadable_shards",
    "unreadable_blocks",
    "split_image_groups",
    "epoch_end_dropped",
)


@dataclass
class ReaderPosition:
    """Position of one reader in its shard list for the current epoch."""

    shard_cursor: int = 0
    block_cursor: int = 0
    # Images (groups of rows) already consumed in the current block, in the block's drawn order.
    item_cursor: int = 0
    finished: bool = False

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> "ReaderPosition":
        return cls(**values)


@dataclass
class LoaderState:
    """The data position of one rank: epoch, reader positions and counters, saved in checkpoints."""

    world_size: int
    num_workers: int
    epoch: int = 0
    positions: dict[int, ReaderPosition] = field(default_factory=dict)
    # Logical reader of the last output consumed in this epoch; -1 at the start of an epoch.
    last_reader: int = -1
    batches_in_epoch: int = 0
    counters: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COUNTERS, 0))
    epoch_counters: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COUNTERS, 0))

    @property
    def readers_per_rank(self) -> int:
        return max(1, self.num_workers)

    def rotation(self) -> int:
        return (self.last_reader + 1) % self.readers_per_rank

    def start_epoch(self, epoch: int) -> None:
        self.epoch = epoch
        self.positions = {}
        self.last_reader = -1
        self.batches_in_epoch = 0
        self.epoch_counters = dict.fromkeys(COUNTERS, 0)

    def to_dict(self) -> dict[str, Any]:
        values = asdict(self)
        values["positions"] = {str(k): asdict(v) for k, v in self.positions.items()}
        return values

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> "LoaderState":
        values = dict(values)
        values["positions"] = {int(k): ReaderPosition.from_dict(v) for k, v in values.get("positions", {}).items()}
        for name in ("counters", "epoch_counters"):
            merged = dict.fromkeys(COUNTERS, 0)
            merged.update(values.get(name, {}))
            values[name] = merged
        return cls(**values)


@dataclass
class StreamSpec:
    """Everything a reader needs for one epoch; copied into each worker process."""

    shards: list[Shard]
    rank: int
    world_size: int
    num_workers: int
    epoch: int
    seed: int
    batch_size: int
    curator: OnlineCurator | None
    positions: dict[int, ReaderPosition]
    rotation: int


def decode_image(image_bytes: bytes) -> Image.Image:
    """Decode image bytes to RGB, raising OSError, SyntaxError or ValueError on bad data."""
    with Image.open(io.BytesIO(image_bytes)) as image:
        image.load()
        return image.convert("RGB")


class ShardStream(IterableDataset):
    """One epoch of batches for one rank; each DataLoader worker reads one logical reader's shards."""

    def __init__(
        self,
        spec: StreamSpec,
        preprocess: Callable[[Image.Image], torch.Tensor],
        tokenizer: Callable[[list[str]], torch.Tensor],
    ):
        super().__init__()
        self.spec = spec
        self.preprocess = preprocess
        self.tokenizer = tokenizer
        self._corrupt_images_logged = 0

    def __iter__(self) -> Iterator[dict[str, Any]]:
        spec = self.spec
        worker = get_worker_info()
        physical = worker.id if worker is not None else 0
        readers = max(1, spec.num_workers)
        reader = (physical + spec.rotation) % readers
        shards = shards_for_reader(spec.shards, spec.seed, spec.epoch, spec.world_size, spec.num_workers, spec.rank, reader)
        position = ReaderPosition(**asdict(spec.positions.get(reader, ReaderPosition())))
        if position.finished:
            return
        yield from self._read(reader, shards, position, in_worker=worker is not None)

    def _units(self, records: list[SampleRecord]) -> list[list[SampleRecord]]:
        if self.spec.curator is None:
            return [[record] for record in records]
        return group_by_image(records)

    def _block_order(self, shard: Shard, block: int, count: int) -> list[int]:
        spec = self.spec
        return sorted(range(count), key=lambda i: hash64(spec.seed, spec.epoch, shard.name, block, i))

    def _transform(self, image: Image.Image, image_id: str, in_worker: bool) -> torch.Tensor:
        # Seed the augmentation from the sample so it is the same in any worker and after a resume.
        seed = hash64(self.spec.seed, self.spec.epoch, image_id, "augment") & (2**63 - 1)
        if in_worker:
            # A worker process owns its generator; fork_rng would triple the cost per sample.
            torch.manual_seed(seed)
            return self.preprocess(image)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            return self.preprocess(image)

    def _select(self, unit: list[SampleRecord], counters: collections.Counter) -> SampleRecord | None:
        """Apply online curation to one image's rows and return the record to train on, or None."""
        counters["rows_read"] += len(unit)
        if self.spec.curator is None:
            return unit[0]
        draw = self.spec.curator.draw(self.spec.epoch, unit)
        counters["online_unchosen_texts"] += len(unit) - 1
        counters["online_unknown_entries"] += draw.unknown_entries
        if not draw.keep:
            counters["online_not_kept"] += 1
            return None
        return draw.chosen

    def _decode(self, record: SampleRecord, shard: Shard, counters: collections.Counter) -> Image.Image | None:
        """Decode a record's image, or count why the record cannot be used and return None."""
        if record.error is not None:
            counters[record.error] += 1
            return None
        if not record.caption or not record.caption.strip():
            counters["missing_text"] += 1
            return None
        try:
            return decode_image(record.image_bytes)
        except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as error:
            counters["corrupt_image"] += 1
            if self._corrupt_images_logged < MAX_CORRUPT_IMAGES_LOGGED:
                self._corrupt_images_logged += 1
                logger.warning("skipping undecodable image %s in %s: %s", record.image_id, shard.path, error)
            return None

    def _read(
        self, reader: int, shards: list[Shard], position: ReaderPosition, in_worker: bool
    ) -> Iterator[dict[str, Any]]:
        spec = self.spec
        counters: collections.Counter = collections.Counter()
        images: list[torch.Tensor] = []
        texts: list[str] = []
        image_ids: list[str] = []
        previous_image_id: str | None = None

        while position.shard_cursor < len(shards):
            shard = shards[position.shard_cursor]
            try:
                blocks = count_blocks(shard)
            except (OSError, pa.ArrowException, ValueError) as error:
                logger.error("skipping unreadable shard %s: %s", shard.path, error)
                counters["unreadable_shards"] += 1
                blocks = 0

            while position.block_cursor < blocks:
                try:
                    records = read_block(shard, position.block_cursor)
                except (OSError, pa.ArrowException, ValueError, EOFError) as error:
                    logger.error("skipping unreadable block %d of %s: %s", position.block_cursor, shard.path, error)
                    counters["unreadable_blocks"] += 1
                    records = []

                units = self._units(records)
                if units and spec.curator is not None and units[0][0].image_id == previous_image_id:
                    counters["split_image_groups"] += 1
                if units:
                    previous_image_id = units[-1][0].image_id
                order = self._block_order(shard, position.block_cursor, len(units))

                while position.item_cursor < len(order):
                    unit = units[order[position.item_cursor]]
                    position.item_cursor += 1
                    record = self._select(unit, counters)
                    if record is None:
                        continue
                    image = self._decode(record, shard, counters)
                    if image is None:
                        continue

                    images.append(self._transform(image, record.image_id, in_worker))
                    texts.append(record.caption)
                    image_ids.append(record.image_id)
                    if len(images) == spec.batch_size:
                        counters["samples"] += len(images)
                        yield self._batch(reader, position, counters, images, texts, image_ids)
                        counters = collections.Counter()
                        images, texts, image_ids = [], [], []

                position.block_cursor += 1
                position.item_cursor = 0
            position.shard_cursor += 1
            position.block_cursor = 0

        # Rows left over after the last full batch are dropped and counted; a final output without
        # images carries them and marks the reader as finished.
        counters["partial_batch_dropped"] += len(images)
        position.finished = True
        yield {
            "images": None,
            "reader": reader,
            "position": asdict(position),
            "counters": dict(counters),
        }

    def _batch(self, reader, position, counters, images, texts, image_ids) -> dict[str, Any]:
        return {
            "images": torch.stack(images),
            "texts": self.tokenizer(texts),
            "image_ids": list(image_ids),
            "reader": reader,
            "position": asdict(position),
            "counters": dict(counters),
        }


class TrainingDataLoader:
    """The batches of one rank across epochs, with a position that can be saved and restored."""

    def __init__(
        self,
        shards: list[Shard],
        rank: int,
        world_size: int,
        num_workers: int,
        batch_size: int,
        seed: int,
        preprocess: Callable[[Image.Image], torch.Tensor],
        tokenizer: Callable[[list[str]], torch.Tensor],
        curator: OnlineCurator | None = None,
        state: LoaderState | None = None,
        prefetch_factor: int = 2,
        pin_memory: bool = False,
    ):
        self.shards = shards
        self.rank = rank
        self.world_size = world_size
        self.num_workers = num_workers
        self.batch_size = batch_size
        self.seed = seed
        self.preprocess = preprocess
        self.tokenizer = tokenizer
        self.curator = curator
        self.prefetch_factor = prefetch_factor
        self.pin_memory = pin_memory
        self.state = state or LoaderState(world_size=world_size, num_workers=num_workers)
        if (self.state.world_size, self.state.num_workers) != (world_size, num_workers):
            raise ValueError(
                f"saved data position is for {self.state.world_size} ranks x {self.state.num_workers} workers, "
                f"this run has {world_size} x {num_workers}: resume with the same layout or set "
                "data.allow_epoch_restart=true to restart the interrupted epoch"
            )

    def _dataset(self) -> ShardStream:
        spec = StreamSpec(
            shards=self.shards,
            rank=self.rank,
            world_size=self.world_size,
            num_workers=self.num_workers,
            epoch=self.state.epoch,
            seed=self.seed,
            batch_size=self.batch_size,
            curator=self.curator,
            positions=dict(self.state.positions),
            rotation=self.state.rotation(),
        )
        return ShardStream(spec, self.preprocess, self.tokenizer)

    def _consume(self, output: dict[str, Any]) -> None:
        state = self.state
        state.positions[output["reader"]] = ReaderPosition.from_dict(output["position"])
        state.last_reader = output["reader"]
        for name, value in output["counters"].items():
            state.counters[name] = state.counters.get(name, 0) + value
            state.epoch_counters[name] = state.epoch_counters.get(name, 0) + value

    def epoch_batches(self) -> Iterator[dict[str, Any]]:
        """Yield the remaining batches of the current epoch, updating the state as each is consumed."""
        loader = DataLoader(
            self._dataset(),
            batch_size=None,
            num_workers=self.num_workers,
            prefetch_factor=self.prefetch_factor if self.num_workers > 0 else None,
            pin_memory=self.pin_memory,
            # A private generator keeps DataLoader from drawing worker seeds from the global RNG.
            generator=torch.Generator().manual_seed(self.seed),
        )
        for output in loader:
            self._consume(output)
            if output["images"] is None:
                continue
            self.state.batches_in_epoch += 1
            yield output

    def start_next_epoch(self) -> None:
        unread = sum(1 for p in self.state.positions.values() if not p.finished)
        readers = self.state.readers_per_rank
        unread += readers - len(self.state.positions)
        if unread:
            logger.warning(
                "rank %d ends epoch %d with %d of %d readers unfinished because another rank ran out of data first",
                self.rank, self.state.epoch, unread, readers,
            )
        logger.info("rank %d epoch %d data counters: %s", self.rank, self.state.epoch, self.state.epoch_counters)
        self.state.start_epoch(self.state.epoch + 1)
