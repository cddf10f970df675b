"""Save and load training checkpoints.

A checkpoint is one ``torch.save`` file holding the model weights, the resolved open_clip model
config (which names the tokenizer), the optimizer and gradient-scaler states, the step, the data
read position of every rank and the training config. Files are written to a temporary name in the
same folder, flushed to disk and then renamed, so a crash never leaves a truncated checkpoint
under the final name.
"""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from training.model_factory import ModelBundle, build_model_from_config

logger = logging.getLogger(__name__)

FORMAT_VERSION = 1
CHECKPOINT_PATTERN = re.compile(r"^step_(\d+)\.pt$")


class CheckpointError(ValueError):
    """Raised when a checkpoint file is missing or not one this package wrote."""


@dataclass
class Checkpoint:
    """The contents of a checkpoint file."""

    path: Path
    step: int
    model_state: dict[str, torch.Tensor]
    # open_clip model config; ``model_config["text_cfg"]["hf_tokenizer_name"]`` is the tokenizer.
    model_config: dict[str, Any]
    optimizer_state: dict[str, Any] | None = None
    scaler_state: dict[str, Any] | None = None
    data_state: dict[str, Any] | None = None
    train_config: dict[str, Any] | None = None

    @property
    def tokenizer(self) -> str:
        """Hugging Face name or local folder of the tokenizer the model was trained with."""
        return str(self.model_config["text_cfg"]["hf_tokenizer_name"])


def checkpoint_path(folder: str | Path, step: int) -> Path:
    return Path(folder) / f"step_{step:09d}.pt"


def unwrap_model(model: torch.nn.Module) -> torch.nn.Module:
    """Return the plain model inside DistributedDataParallel and torch.compile wrappers."""
    while True:
        if hasattr(model, "module") and isinstance(model, torch.nn.parallel.DistributedDataParallel):
            model = model.module
        elif hasattr(model, "_orig_mod"):
            model = model._orig_mod
        else:
            return model


def save_checkpoint(
    path: str | Path,
    *,
    model: torch.nn.Module,
    model_config: dict[str, Any],
    step: int,
    optimizer: torch.optim.Optimizer | None = None,
    scaler: torch.amp.GradScaler | None = None,
    data_state: dict[str, Any] | None = None,
    train_config: dict[str, Any] | None = None,
) -> Path:
    """Write a checkpoint atomically (temporary file, fsync, rename) and return its path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "format_version": FORMAT_VERSION,
        "step": int(step),
        "model_state": unwrap_model(model).state_dict(),
        "model_config": model_config,
        "optimizer_state": optimizer.state_dict() if optimizer is not None else None,
        "scaler_state": scaler.state_dict() if scaler is not None and scaler.is_enabled() else None,
        "data_state": data_state,
        "train_config": train_config,
    }

    temporary = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        with open(temporary, "wb") as handle:
            torch.save(payload, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    finally:
        if temporary.exists():
            temporary.unlink()
    logger.info("saved checkpoint %s (step %d)", path, step)
    return path


def load_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> Checkpoint:
    """Read a checkpoint file written by :func:`save_checkpoint`."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint not found: {path}")
    payload = torch.load(path, map_location=map_location, weights_only=True)
    if not isinstance(payload, dict) or payload.get("format_version") != FORMAT_VERSION:
        raise CheckpointError(
            f"{path} is not a worldclip training checkpoint of format version {FORMAT_VERSION}"
        )
    return Checkpoint(
        path=path,
        step=int(payload["step"]),
        model_state=payload["model_state"],
        model_config=payload["model_config"],
        optimizer_state=payload.get("optimizer_state"),
        scaler_state=payload.get("scaler_state"),
        data_state=payload.get("data_state"),
        train_config=payload.get("train_config"),
    )


def build_model_from_checkpoint(
    checkpoint: str | Path | Checkpoint, device: str | torch.device = "cpu"
) -> ModelBundle:
    """Rebuild the model, transforms and tokenizer of a checkpoint, with its weights, in eval mode."""
    if not isinstance(checkpoint, Checkpoint):
        checkpoint = load_checkpoint(checkpoint)
    bundle = build_model_from_config(checkpoint.model_config, device="cpu")
    bundle.model.load_state_dict(checkpoint.model_state, strict=True)
    bundle.model.to(device)
    bundle.model.eval()
    return bundle


def list_checkpoints(folder: str | Path) -> list[Path]:
    """Return the checkpoints in ``folder`` ordered by step, oldest first."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    found = []
    for candidate in folder.iterdir():
        match = CHECKPOINT_PATTERN.match(candidate.name)
        if match:
            found.append((int(match.group(1)), candidate))
    return [path for _, path in sorted(found)]


def latest_checkpoint(folder: str | Path) -> Path | None:
    checkpoints = list_checkpoints(folder)
    return checkpoints[-1] if checkpoints else None


def prune_checkpoints(folder: str | Path, keep: int) -> list[Path]:
    """Delete all but the newest ``keep`` checkpoints in ``folder``; return the deleted paths."""
    checkpoints = list_checkpoints(folder)
    removed = checkpoints[: max(0, len(checkpoints) - keep)] if keep > 0 else []
    for path in removed:
        path.unlink()
        logger.info("removed old checkpoint %s", path)
    return removed
