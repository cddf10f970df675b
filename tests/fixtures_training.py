"""Session fixtures of the training and evaluation tests.

``tiny_trained_checkpoint`` trains a tiny multilingual CLIP model once per test session on
generated images of coloured shapes with captions in English, German, Spanish and Chinese, using
a tokenizer trained with ``tokenizers`` on the shared captions. Training and evaluation tests
reuse it, so the training happens once.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
from PIL import Image

from training import synthetic_shapes
from training.config import TrainConfig
from training.data.hashing import hash64
from training.data.shard_writer import write_parquet_shard, write_webdataset_shard
from training.example_data import (  # noqa: F401  (write_shape_shards is imported by the tests)
    read_shared_captions,
    shape_captions,
    train_tokenizer,
    write_shape_shards,
    write_tiny_model_config,
)


@dataclass
class TinyTrainedModel:
    """The tiny model trained once per session, with what is needed to evaluate it."""

    checkpoint_path: Path
    tokenizer_path: Path
    # Languages of the captions; "zh" is written without spaces.
    languages: tuple[str, ...]
    # Class names per language, in label order.
    class_names: dict[str, list[str]]
    # Caption templates per language, with "{}" where the class name goes.
    templates: dict[str, tuple[str, ...]]
    shard_dir: Path
    train_steps: int
    # Side in pixels of the generated images; the model's transform resizes them.
    generated_image_size: int

    def generate_images(self, count: int, seed: int = 999) -> tuple[list[Image.Image], list[int]]:
        """Return ``count`` held-out images and their labels (indices into ``class_names[lang]``)."""
        return synthetic_shapes.generate_labelled_images(count, seed=seed)


def tiny_train_config(
    model_config: Path, shard_dir: Path, output_dir: Path, steps: int, batch_size: int = 64, **sections: dict
) -> TrainConfig:
    """Return a CPU training config for the tiny model; ``sections`` update single fields per section."""
    values = {
        "model": {"name": str(model_config), "augmentation": {"scale": [0.8, 1.0]}},
        "data": {"shards": [str(shard_dir)], "batch_size": batch_size, "num_workers": 1, "seed": 7},
        "optim": {
            "lr": 2e-3,
            "warmup_steps": 20,
            "weight_decay": 0.1,
            "beta2": 0.98,
            "train_samples": steps * batch_size,
            "precision": "fp32",
            "local_loss": False,
            "gather_with_grad": False,
        },
        "run": {
            "output_dir": str(output_dir),
            "device": "cpu",
            "seed": 0,
            "log_every_steps": 50,
            "checkpoint_every_steps": 100000,
            "resume": "auto",
            # One thread avoids OpenMP oversubscription on small shared CPU machines.
            "torch_threads": 1,
        },
    }
    for section, fields in sections.items():
        values[section].update(fields)
    return TrainConfig.from_dict(values)


@pytest.fixture(scope="session")
def tiny_tokenizer_path(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A BPE tokenizer trained on the shared captions plus the generated captions."""
    texts = read_shared_captions(shared_data) + shape_captions()
    return train_tokenizer(texts, tmp_path_factory.mktemp("tokenizer"))


@pytest.fixture(scope="session")
def tiny_model_config_path(tiny_tokenizer_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_tiny_model_config(tmp_path_factory.mktemp("model-config") / "tiny-test.json", tiny_tokenizer_path)


@pytest.fixture(scope="session")
def tiny_trained_checkpoint(
    tiny_tokenizer_path: Path, tiny_model_config_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> TinyTrainedModel:
    """Train the tiny multilingual model once per session and return its checkpoint and test helpers."""
    from training.trainer import train

    root = tmp_path_factory.mktemp("tiny-trained")
    shard_dir = root / "shards"
    write_shape_shards(shard_dir, shards=4, rows_per_shard=512, seed=1)
    steps = 300
    config = tiny_train_config(tiny_model_config_path, shard_dir, root / "run", steps=steps)
    result = train(config)
    assert result.checkpoint is not None and result.step == steps

    return TinyTrainedModel(
        checkpoint_path=result.checkpoint,
        tokenizer_path=tiny_tokenizer_path,
        languages=synthetic_shapes.LANGUAGES,
        class_names={lang: synthetic_shapes.class_names(lang) for lang in synthetic_shapes.LANGUAGES},
        templates=dict(synthetic_shapes.TEMPLATES),
        shard_dir=shard_dir,
        train_steps=steps,
        generated_image_size=64,
    )


def online_rows(images: int, seed: int) -> list[dict]:
    """Return matched-style rows: one to three texts per image, rows of one image next to each other."""
    rows = []
    for image_index in range(images):
        label = hash64(seed, image_index, "label") % len(synthetic_shapes.CLASSES)
        image_seed = hash64(seed, image_index)
        jpg = synthetic_shapes.encode_jpeg(synthetic_shapes.render(label, image_seed))
        image_id = f"{hash64(seed, image_index, 'id'):016x}"
        texts = 1 + hash64(seed, image_index, "texts") % 3
        for text_index in range(texts):
            lang = synthetic_shapes.LANGUAGES[(image_index + text_index) % len(synthetic_shapes.LANGUAGES)]
            rows.append(
                {
                    "key": f"{seed:04d}{image_index:06d}{text_index}",
                    "jpg": jpg,
                    "caption": synthetic_shapes.caption(label, lang, image_seed + text_index),
                    "image_id": image_id,
                    "lang": lang,
                    # Entry 9 is a head entry shared by many texts; the class entries are tail entries.
                    "entry_ids": [label, 9] if text_index % 2 else [label],
                }
            )
    return rows


def write_online_shards(folder: Path, shards: int, images_per_shard: int, seed: int, shard_format: str = "parquet") -> list[Path]:
    paths = []
    for shard_index in range(shards):
        rows = online_rows(images_per_shard, seed * 1000 + shard_index)
        if shard_format == "parquet":
            paths.append(write_parquet_shard(folder / f"{shard_index:05d}.parquet", rows))
        else:
            paths.append(write_webdataset_shard(folder / f"{shard_index:05d}.tar", rows))
    return paths


def write_entry_counts(folder: Path, tail_probability: float = 0.6, head_probability: float = 0.05) -> Path:
    """Write an ``entry_counts/`` table for the shape classes (entries 0-8) and one head entry (9)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = {"lang": [], "entry_id": [], "entry": [], "count": [], "prob": []}
    for lang in synthetic_shapes.LANGUAGES:
        for entry_id in range(10):
            rows["lang"].append(lang)
            rows["entry_id"].append(entry_id)
            rows["entry"].append(synthetic_shapes.class_name(entry_id, lang) if entry_id < 9 else "foto")
            rows["count"].append(100 if entry_id < 9 else 5000)
            rows["prob"].append(tail_probability if entry_id < 9 else head_probability)
    schema = pa.schema(
        [("lang", pa.string()), ("entry_id", pa.int32()), ("entry", pa.string()), ("count", pa.int64()), ("prob", pa.float64())]
    )
    folder.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table(rows, schema=schema), folder / "part-00000.parquet")
    return folder
