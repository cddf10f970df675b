"""The training loop: one process per device, started by ``torchrun`` or called directly.

From open_clip 3.3 and open_clip_train: the model and transforms (``create_model_and_transforms``),
``ClipLoss`` with local loss and gather-with-grad, autocast (``open_clip_train.precision``),
distributed initialisation (``open_clip_train.distributed``) and the cosine schedule
(``open_clip_train.scheduler``). Written here: the shard data loader with online curation and a
resumable position, checkpoints with that position, exact resume and the data counters in logs.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
from open_clip import ClipLoss
from open_clip_train.distributed import init_distributed_device_so
from open_clip_train.precision import get_autocast

from training.checkpoint import (
    checkpoint_path,
    latest_checkpoint,
    load_checkpoint,
    prune_checkpoints,
    save_checkpoint,
    unwrap_model,
)
from training.config import TrainConfig
from training.data.hashing import hash64
from training.data.loader import LoaderState, TrainingDataLoader
from training.data.online_curation import EntryProbabilities, OnlineCurator
from training.data.shards import Shard, ShardError, find_shards
from training.model_factory import build_model
from training.optim import create_optimizer, create_schedule

logger = logging.getLogger(__name__)


@dataclass
class TrainResult:
    """Outcome of one call of :func:`train` on this rank."""

    step: int
    total_steps: int
    checkpoint: Path | None
    last_loss: float | None
    epoch: int
    counters: dict[str, int] = field(default_factory=dict)


@dataclass
class _Distributed:
    device: torch.device
    rank: int
    local_rank: int
    world_size: int
    distributed: bool


def _init_distributed(config: TrainConfig) -> _Distributed:
    result = init_distributed_device_so(device=config.run.device)
    return _Distributed(
        device=torch.device(result["device"]),
        rank=result["global_rank"],
        local_rank=result["local_rank"],
        world_size=result["world_size"],
        distributed=result["distributed"],
    )


def _seed_step(seed: int, rank: int, step: int) -> None:
    # Every step reseeds from (seed, rank, step), so random ops in the model give the same values
    # in an uninterrupted run and in a resumed one.
    torch.manual_seed(hash64(seed, "step", rank, step) & (2**63 - 1))


def _resolve_resume(config: TrainConfig, checkpoint_dir: Path) -> Path | None:
    if config.run.resume is None or config.run.resume == "none":
        return None
    if config.run.resume == "auto":
        return latest_checkpoint(checkpoint_dir)
    return Path(config.run.resume)


def _gather_data_states(state: LoaderState, runtime: _Distributed) -> dict[str, Any]:
    local = state.to_dict()
    if runtime.distributed:
        states: list[Any] = [None] * runtime.world_size
        dist.all_gather_object(states, local)
    else:
        states = [local]
    return {"world_size": runtime.world_size, "num_workers": state.num_workers, "ranks": states}


def _restore_data_state(saved: dict[str, Any] | None, config: TrainConfig, runtime: _Distributed) -> LoaderState | None:
    if not saved:
        return None
    layout = (saved["world_size"], saved["num_workers"])
    if layout == (runtime.world_size, config.data.num_workers):
        return LoaderState.from_dict(saved["ranks"][runtime.rank])
    if not config.data.allow_epoch_restart:
        raise ValueError(
            f"checkpoint data position is for {layout[0]} ranks x {layout[1]} workers, this run has "
            f"{runtime.world_size} x {config.data.num_workers}: resume with the same layout or set "
            "data.allow_epoch_restart=true to restart the interrupted epoch"
        )
    epoch = int(saved["ranks"][0]["epoch"])
    logger.warning("data layout changed from %s; restarting epoch %d from its start", layout, epoch)
    state = LoaderState(world_size=runtime.world_size, num_workers=config.data.num_workers)
    state.start_epoch(epoch)
    return state


def _all_ranks_have_batch(has_batch: bool, runtime: _Distributed) -> bool:
    if not runtime.distributed:
        return has_batch
    flag = torch.tensor([1 if has_batch else 0], device=runtime.device)
    dist.all_reduce(flag, op=dist.ReduceOp.MIN)
    return bool(flag.item())


def _open_tensorboard(config: TrainConfig, output_dir: Path):
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError as error:
        raise RuntimeError("run.tensorboard=true needs the tensorboard package: pip install tensorboard") from error
    return SummaryWriter(log_dir=str(output_dir / "tensorboard"))


@dataclass
class _Session:
    """Everything one training process works with, built once by :func:`_set_up`."""

    config: TrainConfig
    runtime: _Distributed
    model_config: dict[str, Any]
    # The model as built (possibly wrapped in DistributedDataParallel) and the one called in steps
    # (the same object, or its torch.compile wrapper).
    model: torch.nn.Module
    trained_model: torch.nn.Module
    optimizer: torch.optim.Optimizer
    scaler: torch.amp.GradScaler
    schedule: Any
    loss_fn: ClipLoss
    autocast: Any
    loader: TrainingDataLoader
    checkpoint_dir: Path
    total_steps: int
    start_step: int
    resume_path: Path | None


def _build_loader(
    config: TrainConfig, runtime: _Distributed, bundle, shards: list[Shard], data_state: LoaderState | None
) -> TrainingDataLoader:
    curator = None
    if config.data.curation == "online":
        curator = OnlineCurator(EntryProbabilities.load(config.data.entry_counts), seed=config.data_seed)
    return TrainingDataLoader(
        shards=shards,
        rank=runtime.rank,
        world_size=runtime.world_size,
        num_workers=config.data.num_workers,
        batch_size=config.data.batch_size,
        seed=config.data_seed,
        preprocess=bundle.preprocess_train,
        tokenizer=bundle.tokenizer,
        curator=curator,
        state=data_state,
        prefetch_factor=config.data.prefetch_factor,
        pin_memory=runtime.device.type == "cuda",
    )


def _set_up(config: TrainConfig) -> _Session:
    """Initialise the process group, build model, optimizer and loader, and restore a checkpoint."""
    if config.run.torch_threads is not None:
        torch.set_num_threads(config.run.torch_threads)
    # Check the inputs before the slow steps (process group, model, tokenizer).
    shards = find_shards(config.data.shards)
    if config.data.curation == "online" and not Path(config.data.entry_counts).exists():
        raise ShardError(f"data.entry_counts not found: {config.data.entry_counts}")

    runtime = _init_distributed(config)
    checkpoint_dir = Path(config.run.output_dir) / "checkpoints"
    if runtime.rank == 0:
        checkpoint_dir.mkdir(parents=True, exist_ok=True)

    torch.manual_seed(config.run.seed)
    bundle = build_model(
        config.model.name, config.model.tokenizer, device="cpu", augmentation=config.model.augmentation
    )
    model = bundle.model.to(runtime.device)
    if config.model.grad_checkpointing:
        model.set_grad_checkpointing(True)
    optimizer = create_optimizer(model, config.optim)
    scaler = torch.amp.GradScaler(runtime.device.type, enabled=config.optim.precision == "amp")

    global_batch = config.data.batch_size * runtime.world_size
    total_steps = config.optim.train_samples // global_batch
    if total_steps < 1:
        raise ValueError(f"optim.train_samples={config.optim.train_samples} is less than one global batch ({global_batch})")

    step = 0
    data_state = None
    resume_path = _resolve_resume(config, checkpoint_dir)
    if resume_path is not None:
        checkpoint = load_checkpoint(resume_path, map_location="cpu")
        model.load_state_dict(checkpoint.model_state)
        if checkpoint.optimizer_state is not None:
            optimizer.load_state_dict(checkpoint.optimizer_state)
        if checkpoint.scaler_state is not None:
            scaler.load_state_dict(checkpoint.scaler_state)
        step = checkpoint.step
        data_state = _restore_data_state(checkpoint.data_state, config, runtime)
        logger.info("resumed from %s at step %d", resume_path, step)

    if runtime.distributed:
        device_ids = [runtime.device] if runtime.device.type == "cuda" else None
        model = torch.nn.parallel.DistributedDataParallel(model, device_ids=device_ids)

    return _Session(
        config=config,
        runtime=runtime,
        model_config=bundle.model_config,
        model=model,
        trained_model=torch.compile(model) if config.model.torch_compile else model,
        optimizer=optimizer,
        scaler=scaler,
        schedule=create_schedule(optimizer, config.optim, total_steps),
        loss_fn=ClipLoss(
            local_loss=config.optim.local_loss,
            gather_with_grad=config.optim.gather_with_grad,
            cache_labels=True,
            rank=runtime.rank,
            world_size=runtime.world_size,
        ),
        autocast=get_autocast(config.optim.precision, device_type=runtime.device.type),
        loader=_build_loader(config, runtime, bundle, shards, data_state),
        checkpoint_dir=checkpoint_dir,
        total_steps=total_steps,
        start_step=step,
        resume_path=resume_path,
    )


def _train_step(session: _Session, batch: dict[str, Any], step: int) -> tuple[torch.Tensor, float]:
    """Run one optimizer step on a batch; return the loss tensor and the learning rate used."""
    config, runtime = session.config, session.runtime
    _seed_step(config.run.seed, runtime.rank, step)
    learning_rate = session.schedule(step)
    images = batch["images"].to(runtime.device, non_blocking=True)
    texts = batch["texts"].to(runtime.device, non_blocking=True)

    session.optimizer.zero_grad(set_to_none=True)
    with session.autocast():
        output = session.trained_model(images, texts)
        loss = session.loss_fn(output["image_features"], output["text_features"], output["logit_scale"])
    session.scaler.scale(loss).backward()
    if config.optim.grad_clip_norm is not None:
        session.scaler.unscale_(session.optimizer)
        torch.nn.utils.clip_grad_norm_(session.model.parameters(), config.optim.grad_clip_norm)
    session.scaler.step(session.optimizer)
    session.scaler.update()

    with torch.no_grad():
        # Same clamp as open_clip_train: the logit scale stays at most 100.
        unwrap_model(session.model).logit_scale.clamp_(0, math.log(100))
    return loss, learning_rate


def _log_step(session: _Session, writer, step: int, loss: float, learning_rate: float, samples_per_second: float) -> None:
    counters = session.loader.state.counters
    logger.info(
        "step %d/%d epoch %d loss %.4f lr %.3g samples/s %.1f logit_scale %.2f data %s",
        step, session.total_steps, session.loader.state.epoch, loss, learning_rate, samples_per_second,
        unwrap_model(session.model).logit_scale.exp().item(), counters,
    )
    if writer is not None:
        writer.add_scalar("train/loss", loss, step)
        writer.add_scalar("train/lr", learning_rate, step)
        writer.add_scalar("train/samples_per_second", samples_per_second, step)
        for name, value in counters.items():
            writer.add_scalar(f"data/{name}", value, step)


def _save(session: _Session, step: int) -> Path:
    """Write a checkpoint with every rank's data position (rank 0 writes, all ranks take part)."""
    data_state = _gather_data_states(session.loader.state, session.runtime)
    path = checkpoint_path(session.checkpoint_dir, step)
    if session.runtime.rank == 0:
        save_checkpoint(
            path,
            model=session.model,
            model_config=session.model_config,
            step=step,
            optimizer=session.optimizer,
            scaler=session.scaler,
            data_state=data_state,
            train_config=session.config.to_dict(),
        )
        prune_checkpoints(session.checkpoint_dir, session.config.run.keep_checkpoints)
    if session.runtime.distributed:
        dist.barrier()
    return path


def train(config: TrainConfig) -> TrainResult:
    """Train until ``optim.train_samples`` samples are seen or ``run.stop_after_steps`` steps are done."""
    session = _set_up(config)
    runtime, loader = session.runtime, session.loader
    is_main = runtime.rank == 0
    writer = _open_tensorboard(config, Path(config.run.output_dir)) if config.run.tensorboard and is_main else None
    step = session.start_step
    stop_step = session.total_steps
    if config.run.stop_after_steps is not None:
        stop_step = min(session.total_steps, step + config.run.stop_after_steps)
    logger.info(
        "training %d steps (global batch %d = %d x %d ranks), starting at step %d, epoch %d",
        session.total_steps, config.data.batch_size * runtime.world_size, config.data.batch_size,
        runtime.world_size, step, loader.state.epoch,
    )

    last_loss: float | None = None
    last_saved_step = step
    saved_path = session.resume_path
    batches = loader.epoch_batches()
    empty_epochs = 0
    steps_in_epoch = 0
    window_start = time.perf_counter()
    window_samples = 0
    session.model.train()

    while step < stop_step:
        batch = next(batches, None)
        if not _all_ranks_have_batch(batch is not None, runtime):
            batches.close()
            if batch is not None:
                # Another rank ran out of data first, so this rank's batch is read but not trained on.
                loader.state.counters["epoch_end_dropped"] += batch["images"].shape[0]
                loader.state.epoch_counters["epoch_end_dropped"] += batch["images"].shape[0]
            empty_epochs = empty_epochs + 1 if steps_in_epoch == 0 else 0
            if empty_epochs > 1:
                raise RuntimeError(
                    f"an epoch gave no training step: some rank read no full batch of "
                    f"{config.data.batch_size}; add shards or lower data.batch_size"
                )
            loader.start_next_epoch()
            batches = loader.epoch_batches()
            steps_in_epoch = 0
            continue

        loss, learning_rate = _train_step(session, batch, step)
        step += 1
        steps_in_epoch += 1
        window_samples += batch["images"].shape[0] * runtime.world_size

        if step % config.run.log_every_steps == 0 or step == stop_step:
            # .item() waits for the device, so the loss is read only on logging steps.
            last_loss = float(loss.detach().item())
            elapsed = time.perf_counter() - window_start
            if is_main:
                _log_step(session, writer, step, last_loss, learning_rate, window_samples / elapsed)
            window_start = time.perf_counter()
            window_samples = 0

        if step % config.run.checkpoint_every_steps == 0 or step == stop_step:
            saved_path = _save(session, step)
            last_saved_step = step

    batches.close()
    if step != last_saved_step:
        saved_path = _save(session, step)
    if writer is not None:
        writer.close()
    logger.info("rank %d stopped at step %d; data counters %s", runtime.rank, step, loader.state.counters)
    return TrainResult(
        step=step,
        total_steps=session.total_steps,
        checkpoint=saved_path,
        last_loss=last_loss,
        epoch=loader.state.epoch,
        counters=dict(loader.state.counters),
    )
