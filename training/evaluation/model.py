"""Wrap a CLIP model, its image preprocessing and its tokenizer as one embedding model.

Two sources are supported: checkpoints written by the training package and open_clip models
whose weights are files on disk. Nothing is downloaded unless the caller passes
``allow_download=True``. Without it, ``HF_HUB_OFFLINE=1`` is set before open_clip is imported,
and a ``pretrained`` value that is not an existing file is rejected.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from training.evaluation.checksums import file_sha256

logger = logging.getLogger(__name__)

PRECISIONS = ("fp32", "bf16", "fp16")


@dataclass
class EmbeddingModel:
    """A CLIP model with its preprocessing and tokenizer; embeddings come back L2-normalised.

    ``description`` names the model and its weights in reports, and ``fingerprint`` changes
    whenever the weights or the preprocessing change, so it keys the embedding cache.
    """

    model: Any
    preprocess: Callable[[Any], Any]
    tokenizer: Callable[[list[str]], Any]
    device: str
    description: dict[str, Any]
    fingerprint: str
    precision: str = "fp32"
    text_batch_size: int = 256

    def __post_init__(self) -> None:
        if self.precision not in PRECISIONS:
            raise ValueError(f"invalid precision {self.precision!r}: use one of {PRECISIONS}")
        self.model.eval()

    def _autocast(self) -> contextlib.AbstractContextManager:
        # NOTE: the bf16 and fp16 paths have only been run on CPU; no test covers them on a GPU.
        import torch

        if self.precision == "fp32":
            return contextlib.nullcontext()
        dtype = torch.bfloat16 if self.precision == "bf16" else torch.float16
        return torch.autocast(device_type=torch.device(self.device).type, dtype=dtype)

    def encode_images(self, images: Sequence[Any]) -> np.ndarray:
        """Return normalised embeddings, shape (len(images), dim), for decoded PIL images."""
        import torch

        pixels = torch.stack([self.preprocess(image) for image in images]).to(self.device)
        with torch.inference_mode(), self._autocast():
            features = self.model.encode_image(pixels)
        return _normalise(features.float().cpu().numpy())

    def encode_texts(self, texts: Sequence[str]) -> np.ndarray:
        """Return normalised embeddings, shape (len(texts), dim), encoding repeated texts once."""
        import torch

        distinct = list(dict.fromkeys(texts))
        embedding_by_text: dict[str, np.ndarray] = {}
        for start in range(0, len(distinct), self.text_batch_size):
            batch = distinct[start : start + self.text_batch_size]
            tokens = self.tokenizer(batch).to(self.device)
            with torch.inference_mode(), self._autocast():
                features = self.model.encode_text(tokens)
            embedding_by_text.update(zip(batch, _normalise(features.float().cpu().numpy())))

        if not distinct:
            raise ValueError("encode_texts needs at least one text")
        return np.stack([embedding_by_text[text] for text in texts])


def _normalise(features: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(features, axis=1, keepdims=True)
    return (features / np.maximum(norms, 1e-12)).astype(np.float32)


def configure_downloads(allow_download: bool) -> None:
    """Block Hugging Face Hub downloads unless ``allow_download``; call before importing open_clip.

    huggingface_hub reads ``HF_HUB_OFFLINE`` once, at import, so setting it later has no effect.
    """
    if not allow_download:
        os.environ["HF_HUB_OFFLINE"] = "1"
        return
    if os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes", "on"):
        logger.warning(
            "downloads were allowed, but HF_HUB_OFFLINE=%s still blocks the Hugging Face Hub; unset it to download",
            os.environ["HF_HUB_OFFLINE"],
        )


def default_device() -> str:
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def load_open_clip(
    model_name: str,
    pretrained: str | None,
    device: str | None = None,
    precision: str = "fp32",
    allow_download: bool = False,
) -> EmbeddingModel:
    """Build an open_clip model with weights from ``pretrained``, a file path or, with downloads allowed, a tag.

    ``model_name`` is an open_clip model name or the path of a model config JSON in open_clip's format.
    """
    if not pretrained and not model_name.startswith("hf-hub:"):
        raise ValueError(f"no weights given for {model_name!r}: pass a local weights file as pretrained")
    pretrained_path = Path(pretrained) if pretrained else None
    is_local = pretrained_path is not None and pretrained_path.is_file()
    if not allow_download:
        if model_name.startswith("hf-hub:"):
            raise ValueError(f"model {model_name!r} is loaded from the Hugging Face Hub: allow downloads to fetch it")
        if not is_local:
            raise FileNotFoundError(
                f"pretrained weights {pretrained!r} are not a file on disk; pass a local path, "
                "or allow downloads to fetch a named open_clip tag"
            )

    configure_downloads(allow_download)
    import open_clip

    # A model config file (open_clip's JSON format) is registered under its file name without suffix.
    config_path = Path(model_name)
    config_file = None
    if config_path.suffix == ".json":
        if not config_path.is_file():
            raise FileNotFoundError(f"open_clip model config not found: {config_path}")
        open_clip.add_model_config(config_path)
        config_file = str(config_path.resolve())
        model_name = config_path.stem

    device = device or default_device()
    model, _, preprocess = open_clip.create_model_and_transforms(model_name, pretrained=pretrained, device=device)
    tokenizer = open_clip.get_tokenizer(model_name)

    weights_sha256 = file_sha256(pretrained_path) if is_local else None
    description = {
        "source": "open_clip",
        "model_name": model_name,
        "model_config": config_file,
        "pretrained": str(pretrained_path.resolve()) if is_local else pretrained,
        "pretrained_sha256": weights_sha256,
        "open_clip_version": open_clip.__version__,
    }
    fingerprint = f"open_clip:{model_name}:{weights_sha256 or pretrained}:{preprocess!r}"
    return EmbeddingModel(model, preprocess, tokenizer, device, description, fingerprint, precision)


def load_training_checkpoint(
    path: str | Path, device: str | None = None, precision: str = "fp32", allow_download: bool = False
) -> EmbeddingModel:
    """Rebuild a model from a checkpoint of the training package, with its evaluation preprocessing."""
    configure_downloads(allow_download)
    from training.checkpoint import build_model_from_checkpoint, load_checkpoint

    checkpoint_file = Path(path)
    checkpoint = load_checkpoint(checkpoint_file)
    device = device or default_device()
    bundle = build_model_from_checkpoint(checkpoint, device=device)

    checkpoint_sha256 = file_sha256(checkpoint_file)
    description = {
        "source": "worldclip_checkpoint",
        "checkpoint": str(checkpoint_file.resolve()),
        "checkpoint_sha256": checkpoint_sha256,
        "step": checkpoint.step,
        "tokenizer": checkpoint.tokenizer,
        "embed_dim": bundle.model_config.get("embed_dim"),
    }
    fingerprint = f"worldclip:{checkpoint_sha256}:{bundle.preprocess_val!r}"
    return EmbeddingModel(
        bundle.model, bundle.preprocess_val, bundle.tokenizer, device, description, fingerprint, precision
    )
