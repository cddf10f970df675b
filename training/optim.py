"""AdamW with the usual CLIP parameter groups, and the learning-rate schedule from open_clip_train."""

from __future__ import annotations

import logging
from typing import Callable

import torch
from open_clip_train.scheduler import const_lr, cosine_lr

from training.config import OptimConfig

logger = logging.getLogger(__name__)


def _skips_weight_decay(name: str, parameter: torch.nn.Parameter) -> bool:
    # Gains, biases, norms, embeddings of rank < 2 and the logit scale get no weight decay, as in
    # open_clip_train's main.py.
    return parameter.ndim < 2 or "bn" in name or "ln" in name or "bias" in name or "logit_scale" in name


def create_optimizer(model: torch.nn.Module, config: OptimConfig) -> torch.optim.AdamW:
    """Create AdamW with weight decay on matrices only."""
    decay, no_decay = [], []
    for name, parameter in model.named_parameters():
        if not parameter.requires_grad:
            continue
        (no_decay if _skips_weight_decay(name, parameter) else decay).append(parameter)
    return torch.optim.AdamW(
        [
            {"params": no_decay, "weight_decay": 0.0},
            {"params": decay, "weight_decay": config.weight_decay},
        ],
        lr=config.lr,
        betas=(config.beta1, config.beta2),
        eps=config.eps,
    )


def create_schedule(optimizer: torch.optim.Optimizer, config: OptimConfig, total_steps: int) -> Callable[[int], float]:
    """Return a function that sets and returns the learning rate of a step (warmup, then cosine or constant)."""
    warmup = config.warmup_steps
    if warmup >= total_steps:
        warmup = max(0, total_steps - 1)
        logger.warning("warmup of %d steps is not shorter than the run (%d steps); using %d",
                       config.warmup_steps, total_steps, warmup)
    if config.schedule == "const":
        return const_lr(optimizer, config.lr, warmup, total_steps)
    return cosine_lr(optimizer, config.lr, warmup, total_steps)
