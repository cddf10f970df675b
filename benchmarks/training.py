"""Benchmark: training data loader images per second per core, against open_clip's webdataset pipeline.

Both pipelines read the same images: generated coloured shapes with noise, as 256x256 JPEG (about
the size img2dataset writes), paired with real captions from the shared data. Both apply open_clip's
ViT training transform at 224 pixels, tokenize with a BPE tokenizer trained on those captions and
batch 64 samples. Each pipeline runs one DataLoader worker; throughput per core is images per CPU
second of the main process and that worker.

    .venv/bin/python -m benchmarks.training --shared-data ../shared/data

``make bench`` puts the section this prints into docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import gc
import io
import logging
import os
import platform
import resource
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
from PIL import Image

REPOSITORY_ROOT = Path(__file__).resolve().parents[1]
if str(REPOSITORY_ROOT) not in sys.path:
    sys.path.insert(0, str(REPOSITORY_ROOT))

from training import synthetic_shapes  # noqa: E402
from training.data.hashing import hash64  # noqa: E402
from training.data.shard_writer import write_parquet_shard, write_webdataset_shard  # noqa: E402
from training.example_data import train_tokenizer  # noqa: E402

logger = logging.getLogger(__name__)

IMAGES_PER_SHARD = 256
SHARDS = 8
BATCH_SIZE = 64
IMAGE_SIDE = 256
REPEATS = 2


def _noisy_jpeg(label: int, seed: int) -> bytes:
    """Render a shape at 256 px and add noise so the JPEG is closer to a photo in size and decode cost."""
    image = np.asarray(synthetic_shapes.render(label, seed, size=IMAGE_SIDE), dtype=np.int16)
    noise = np.random.default_rng(seed).normal(0, 18, size=image.shape)
    noisy = np.clip(image + noise, 0, 255).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(noisy).save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


def _read_captions(shared_data: Path, count: int) -> list[str]:
    lines = (shared_data / "captions" / "iglue_xflickrco_test.tsv").read_text(encoding="utf-8").splitlines()[1:]
    return [line.split("\t")[-1] for line in lines[:count]]


def _write_shards(folder: Path, captions: list[str]) -> tuple[list[str], list[str]]:
    tars, parquets = [], []
    for shard in range(SHARDS):
        rows = []
        for index in range(IMAGES_PER_SHARD):
            sample = shard * IMAGES_PER_SHARD + index
            seed = hash64("bench", sample)
            rows.append(
                {
                    "key": f"{shard:04d}{index:05d}",
                    "jpg": _noisy_jpeg(seed % len(synthetic_shapes.CLASSES), seed),
                    "caption": captions[sample % len(captions)],
                    "image_id": f"{seed:016x}",
                    "lang": None,
                    "entry_ids": [],
                }
            )
        tars.append(str(write_webdataset_shard(folder / f"{shard:05d}.tar", rows)))
        parquets.append(str(write_parquet_shard(folder / f"{shard:05d}.parquet", rows)))
    return tars, parquets


def _load_tokenizer(captions: list[str], folder: Path):
    from open_clip.tokenizer import HFTokenizer

    return HFTokenizer(str(train_tokenizer(captions, folder, vocabulary_size=8000)), context_length=77)


def _cpu_seconds() -> float:
    """Return CPU seconds used by this process and its finished, waited-for children."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _count_worldclip(shards: list[str], preprocess, tokenizer) -> int:
    from training.data.loader import TrainingDataLoader
    from training.data.shards import find_shards

    loader = TrainingDataLoader(
        shards=find_shards(shards), rank=0, world_size=1, num_workers=1, batch_size=BATCH_SIZE, seed=0,
        preprocess=preprocess, tokenizer=tokenizer,
    )
    return sum(batch["images"].shape[0] for batch in loader.epoch_batches())


def _count_open_clip(tars: list[str], preprocess, tokenizer) -> int:
    from open_clip_train.data import get_wds_dataset

    args = SimpleNamespace(
        train_data="::".join(tars), val_data=None, train_num_samples=SHARDS * IMAGES_PER_SHARD,
        dataset_resampled=False, train_data_upsampling_factors=None, seed=0, batch_size=BATCH_SIZE,
        workers=1, world_size=1,
    )
    data = get_wds_dataset(args, preprocess, is_train=True, epoch=0, floor=True, tokenizer=tokenizer)
    images = sum(images.shape[0] for images, _ in data.dataloader)
    # open_clip keeps its worker alive between epochs; dropping the loader ends it, so that its
    # CPU time is counted.
    del data
    gc.collect()
    return images


def _measure(count_images) -> tuple[float, float]:
    """Return (images per wall second, images per CPU second of all processes) for one epoch."""
    cpu_start = _cpu_seconds()
    wall_start = time.perf_counter()
    images = count_images()
    gc.collect()
    wall = time.perf_counter() - wall_start
    cpu = _cpu_seconds() - cpu_start
    return images / wall, images / cpu


def run(shared_data: Path) -> str:
    """Measure both pipelines and return a Markdown section with the numbers and their setup."""
    import open_clip
    import torch

    torch.set_num_threads(1)
    preprocess = open_clip.image_transform(224, is_train=True)
    captions = _read_captions(shared_data, SHARDS * IMAGES_PER_SHARD)

    with tempfile.TemporaryDirectory(prefix="worldclip-bench-") as temporary:
        folder = Path(temporary)
        tars, parquets = _write_shards(folder / "shards", captions)
        tokenizer = _load_tokenizer(captions, folder / "tokenizer")
        jpeg_kib = np.mean([os.path.getsize(t) for t in tars]) / IMAGES_PER_SHARD / 1024

        pipelines = {
            "open_clip get_wds_dataset, tar": lambda: _count_open_clip(tars, preprocess, tokenizer),
            "worldclip loader, tar": lambda: _count_worldclip(tars, preprocess, tokenizer),
            "worldclip loader, Parquet": lambda: _count_worldclip(parquets, preprocess, tokenizer),
        }
        wall_rates = dict.fromkeys(pipelines, 0.0)
        cpu_rates = dict.fromkeys(pipelines, 0.0)
        # Alternate the pipelines in each round so that changes in machine load hit all of them.
        for _ in range(REPEATS):
            for name, count_images in pipelines.items():
                wall_rate, cpu_rate = _measure(count_images)
                wall_rates[name] = max(wall_rates[name], wall_rate)
                cpu_rates[name] = max(cpu_rates[name], cpu_rate)
                logger.info("%s: %.1f images/s, %.1f images per CPU second", name, wall_rate, cpu_rate)

    baseline = cpu_rates["open_clip get_wds_dataset, tar"]
    load = os.getloadavg()[0]
    lines = [
        "## Training data loader",
        "",
        f"Machine: {os.cpu_count()} cores ({platform.processor() or platform.machine()}), shared with other jobs "
        f"(load average {load:.1f} at the end). Each pipeline runs one DataLoader worker. Images per CPU second "
        "divides the images by the CPU time of the main process and its worker, so it is the throughput per "
        "core and depends much less on how busy the machine was than wall-clock images/s.",
        f"Data: {SHARDS} shards x {IMAGES_PER_SHARD} generated {IMAGE_SIDE}x{IMAGE_SIDE} JPEG images "
        f"(about {jpeg_kib:.0f} KiB per sample in the tar) with real captions from "
        "captions/iglue_xflickrco_test.tsv; transform: open_clip image_transform(224, is_train=True); "
        f"batch {BATCH_SIZE}; best of {REPEATS} epochs per pipeline, alternating pipelines.",
        "Command: `.venv/bin/python -m benchmarks.training --shared-data ../shared/data`",
        "",
        "| pipeline | images per CPU second | ratio to open_clip | wall-clock images/s |",
        "|---|---:|---:|---:|",
    ]
    for name in pipelines:
        lines.append(
            f"| {name} | {cpu_rates[name]:.1f} | {cpu_rates[name] / baseline:.2f} | {wall_rates[name]:.1f} |"
        )
    lines.append("")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description="Benchmark the training data loader against open_clip's.")
    parser.add_argument("--shared-data", type=Path, default=REPOSITORY_ROOT.parent / "shared" / "data",
                        help="folder of the shared data (with MANIFEST.md)")
    parser.add_argument("--output", type=Path, help="Markdown file to write; prints to stdout when absent")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")

    section = run(args.shared_data)
    if args.output:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(section, encoding="utf-8")
    else:
        sys.stdout.write(section)
    return 0


if __name__ == "__main__":
    sys.exit(main())
