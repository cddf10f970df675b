"""Build a model, its image transforms and its tokenizer from one model config.

This is the one place that turns a model config into objects; training, checkpoints and
evaluation all call it. The model and transforms come from open_clip's
``create_model_and_transforms``, the tokenizer is open_clip's ``HFTokenizer`` (a Hugging Face
tokenizer by hub name or local folder). Custom model configs are JSON files in open_clip's format
(``embed_dim``, ``vision_cfg``, ``text_cfg``), registered with ``open_clip.add_model_config``.
"""

from __future__ import annotations

import copy
import hashlib
import json
import logging
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import open_clip
import torch
from open_clip.tokenizer import HFTokenizer

logger = logging.getLogger(__name__)

_REGISTERED_CONFIG_DIR: Path | None = None


class ModelConfigError(ValueError):
    """Raised when a model config is missing or does not fit its tokenizer."""


@dataclass
class ModelBundle:
    """A model with its transforms, tokenizer and the exact open_clip config that built it."""

    model: torch.nn.Module
    preprocess_train: Callable[[Any], torch.Tensor]
    preprocess_val: Callable[[Any], torch.Tensor]
    tokenizer: HFTokenizer
    # The resolved open_clip model config; ``text_cfg.hf_tokenizer_name`` names the tokenizer.
    model_config: dict[str, Any]

    @property
    def context_length(self) -> int:
        return int(self.model_config["text_cfg"].get("context_length", 77))


def resolve_model_config(name: str, tokenizer: str | None = None) -> dict[str, Any]:
    """Return the open_clip model config for a built-in name or a JSON file, with the tokenizer set.

    ``tokenizer`` (a Hugging Face name or local folder) replaces ``text_cfg.hf_tokenizer_name``.
    """
    path = Path(name)
    if name.endswith(".json") or path.is_file():
        if not path.is_file():
            raise ModelConfigError(f"model config file not found: {name}")
        config = json.loads(path.read_text(encoding="utf-8"))
        config = config.get("model_cfg", config)
    else:
        config = open_clip.get_model_config(name)
        if config is None:
            worldwide = [m for m in open_clip.list_models() if "worldwide" in m]
            raise ModelConfigError(
                f"unknown model {name!r}: give an open_clip model name (worldwide ones: {worldwide}) "
                "or a path to a model config JSON"
            )
        config = copy.deepcopy(config)

    missing = [key for key in ("embed_dim", "vision_cfg", "text_cfg") if key not in config]
    if missing:
        raise ModelConfigError(f"model config {name!r} lacks {missing}")
    if tokenizer:
        config["text_cfg"]["hf_tokenizer_name"] = str(tokenizer)
    if not config["text_cfg"].get("hf_tokenizer_name"):
        raise ModelConfigError(
            f"model config {name!r} names no Hugging Face tokenizer: set model.tokenizer "
            "(e.g. facebook/xlm-v-base) or text_cfg.hf_tokenizer_name"
        )
    return config


def build_tokenizer(model_config: dict[str, Any]) -> HFTokenizer:
    """Load the Hugging Face tokenizer that ``text_cfg.hf_tokenizer_name`` names and check it fits."""
    text_cfg = model_config["text_cfg"]
    source = text_cfg["hf_tokenizer_name"]
    context_length = int(text_cfg.get("context_length", 77))
    try:
        tokenizer = HFTokenizer(source, context_length=context_length, **text_cfg.get("tokenizer_kwargs", {}))
    except OSError as error:
        raise ModelConfigError(
            f"tokenizer {source!r} could not be loaded ({error.__class__.__name__}): give a local tokenizer "
            "folder, or a hub name that is cached or reachable (HF_HUB_OFFLINE=1 blocks downloads)"
        ) from error

    vocabulary_size = len(tokenizer.tokenizer)
    if vocabulary_size > int(text_cfg.get("vocab_size", 49408)):
        raise ModelConfigError(
            f"tokenizer {source!r} has {vocabulary_size} tokens but text_cfg.vocab_size is "
            f"{text_cfg.get('vocab_size')}: raise vocab_size to at least {vocabulary_size}"
        )

    # With EOS pooling the text feature is read at the first EOS token, so the ids must agree.
    if text_cfg.get("pool_type") == "eos":
        eos_id = int(text_cfg.get("eos_id", 2))
        if tokenizer.tokenizer.eos_token_id != eos_id:
            raise ModelConfigError(
                f"tokenizer {source!r} has eos_token_id {tokenizer.tokenizer.eos_token_id} but "
                f"text_cfg.eos_id is {eos_id}: set eos_id to the tokenizer's EOS id"
            )
    return tokenizer


def _register_model_config(model_config: dict[str, Any]) -> str:
    """Register a config dict with open_clip under a name derived from its content; return the name."""
    global _REGISTERED_CONFIG_DIR
    serialized = json.dumps(model_config, sort_keys=True)
    name = "worldclip-" + hashlib.sha256(serialized.encode("utf-8")).hexdigest()[:16]
    if name in open_clip.list_models():
        return name
    if _REGISTERED_CONFIG_DIR is None:
        _REGISTERED_CONFIG_DIR = Path(tempfile.mkdtemp(prefix="worldclip-model-configs-"))
    config_path = _REGISTERED_CONFIG_DIR / f"{name}.json"
    config_path.write_text(serialized, encoding="utf-8")
    open_clip.add_model_config(config_path)
    return name


def create_model(
    model_config: dict[str, Any], device: str | torch.device = "cpu", precision: str = "fp32"
) -> torch.nn.Module:
    """Create a freshly initialised model from a resolved config, without loading its tokenizer."""
    return open_clip.create_model(
        _register_model_config(model_config),
        pretrained=None,
        precision=precision,
        device=device,
        pretrained_text=False,
        output_dict=True,
    )


def build_model_from_config(
    model_config: dict[str, Any],
    device: str | torch.device = "cpu",
    precision: str = "fp32",
    augmentation: dict[str, Any] | None = None,
) -> ModelBundle:
    """Build a freshly initialised model, its transforms and its tokenizer from a resolved config."""
    tokenizer = build_tokenizer(model_config)
    registered_name = _register_model_config(model_config)
    model, preprocess_train, preprocess_val = open_clip.create_model_and_transforms(
        registered_name,
        pretrained=None,
        precision=precision,
        device=device,
        aug_cfg=augmentation or None,
        pretrained_text=False,
        output_dict=True,
    )
    return ModelBundle(
        model=model,
        preprocess_train=preprocess_train,
        preprocess_val=preprocess_val,
        tokenizer=tokenizer,
        model_config=copy.deepcopy(model_config),
    )


def build_model(
    name: str,
    tokenizer: str | None = None,
    device: str | torch.device = "cpu",
    precision: str = "fp32",
    augmentation: dict[str, Any] | None = None,
) -> ModelBundle:
    """Build a model bundle from a model name or config path and an optional tokenizer override."""
    model_config = resolve_model_config(name, tokenizer)
    bundle = build_model_from_config(model_config, device=device, precision=precision, augmentation=augmentation)
    parameters = sum(p.numel() for p in bundle.model.parameters())
    logger.info("built model %s with %.1fM parameters, tokenizer %s", name, parameters / 1e6,
                model_config["text_cfg"]["hf_tokenizer_name"])
    return bundle
