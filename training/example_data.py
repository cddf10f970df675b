"""Write a small offline training example: generated shape shards, a local tokenizer and a tiny model config.

    .venv/bin/python -m training.example_data --output out/example_train --shared-data ../shared/data
    make train CONFIG=cpu ARGS='data.shards=out/example_train/shards model.name=out/example_train/tiny-model.json model.tokenizer=null'

The tokenizer is a BPE tokenizer trained with ``tokenizers`` (special tokens as in XLM-R, so the
EOS id is 2 like the worldwide configs'). Nothing is downloaded.
"""

from __future__ import annotations

import argparse
import csv
import json
import logging
import sys
from pathlib import Path
from typing import Iterable

from training import synthetic_shapes
from training.data.shard_writer import write_parquet_shard, write_webdataset_shard

logger = logging.getLogger(__name__)

TINY_MODEL_CONFIG = Path(__file__).resolve().parent / "configs" / "models" / "tiny-worldwide.json"
SHARED_CAPTION_FILE = "captions/iglue_xflickrco_test.tsv"


def read_shared_captions(shared_data: Path, limit: int | None = None) -> list[str]:
    """Return the caption column of the shared xFlickrCO test captions (eight languages)."""
    captions = []
    with open(shared_data / SHARED_CAPTION_FILE, encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)
        next(reader)
        for row in reader:
            captions.append(row[-1])
            if limit is not None and len(captions) >= limit:
                break
    return captions


def shape_captions() -> list[str]:
    """Return every caption template filled with every class name, in all four languages."""
    texts = []
    for lang in synthetic_shapes.LANGUAGES:
        for name in synthetic_shapes.class_names(lang):
            texts.extend(template.format(name) for template in synthetic_shapes.TEMPLATES[lang])
    return texts


def train_tokenizer(texts: Iterable[str], folder: Path, vocabulary_size: int = 5000) -> Path:
    """Train a BPE tokenizer with ``tokenizers`` and save it as a Hugging Face tokenizer folder.

    Special tokens follow XLM-R (``<s>`` 0, ``<pad>`` 1, ``</s>`` 2, ``<unk>`` 3), so EOS pooling
    uses ``eos_id`` 2 as in open_clip's worldwide configs.
    """
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    tokenizer = Tokenizer(models.BPE(unk_token="<unk>"))
    tokenizer.normalizer = normalizers.Sequence([normalizers.NFKC(), normalizers.Lowercase()])
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace()
    tokenizer.decoder = decoders.Metaspace()
    trainer = trainers.BpeTrainer(
        vocab_size=vocabulary_size, special_tokens=["<s>", "<pad>", "</s>", "<unk>"], show_progress=False
    )
    tokenizer.train_from_iterator(list(texts), trainer=trainer)
    tokenizer.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>", special_tokens=[("<s>", 0), ("</s>", 2)]
    )

    wrapped = PreTrainedTokenizerFast(
        tokenizer_object=tokenizer, bos_token="<s>", eos_token="</s>", pad_token="<pad>", unk_token="<unk>"
    )
    folder.mkdir(parents=True, exist_ok=True)
    wrapped.save_pretrained(str(folder))
    return folder


def write_tiny_model_config(path: Path, tokenizer_path: Path) -> Path:
    """Write the tiny model config with its tokenizer set and its vocabulary sized to that tokenizer."""
    from tokenizers import Tokenizer

    config = json.loads(TINY_MODEL_CONFIG.read_text(encoding="utf-8"))
    config["text_cfg"]["hf_tokenizer_name"] = str(tokenizer_path.resolve())
    # BPE keeps every character of the training text, so the vocabulary can exceed the target size.
    config["text_cfg"]["vocab_size"] = Tokenizer.from_file(str(tokenizer_path / "tokenizer.json")).get_vocab_size()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(config, indent=2), encoding="utf-8")
    return path


def write_shape_shards(
    folder: Path, shards: int, rows_per_shard: int, seed: int, shard_format: str = "parquet"
) -> list[Path]:
    """Write shards of generated shape images with captions in four languages; return their paths."""
    paths = []
    for shard_index in range(shards):
        rows = synthetic_shapes.generate_rows(rows_per_shard, seed=seed * 1000 + shard_index)
        if shard_format == "parquet":
            paths.append(write_parquet_shard(folder / f"{shard_index:05d}.parquet", rows))
        else:
            paths.append(write_webdataset_shard(folder / f"{shard_index:05d}.tar", rows))
    return paths


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Write a small offline training example (shards, tokenizer, model config).")
    parser.add_argument("--output", type=Path, required=True, help="folder to write the example into")
    parser.add_argument("--shared-data", type=Path, help="shared data folder; its captions enlarge the tokenizer's training text")
    parser.add_argument("--shards", type=int, default=4, help="number of Parquet shards (default 4)")
    parser.add_argument("--rows-per-shard", type=int, default=512, help="images per shard (default 512)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    texts = shape_captions()
    if args.shared_data is not None:
        texts.extend(read_shared_captions(args.shared_data))
    tokenizer_path = train_tokenizer(texts, args.output / "tokenizer")
    model_config = write_tiny_model_config(args.output / "tiny-model.json", tokenizer_path)
    write_shape_shards(args.output / "shards", args.shards, args.rows_per_shard, seed=1)
    logger.info("wrote %d shards, tokenizer %s and model config %s", args.shards, tokenizer_path, model_config)
    return 0


if __name__ == "__main__":
    sys.exit(main())
