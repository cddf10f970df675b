"""GPU benchmark: training samples per second and model FLOPs utilisation (MFU) in bf16.

Trains ViT-B-16-worldwide and ViT-H-14-worldwide on synthetic batches (random images and token
ids, no data loading) with the recipe's settings: bf16 autocast, AdamW, ClipLoss, gradient
checkpointing for H/14. FLOPs of one training step are counted with
``torch.utils.flop_counter.FlopCounterMode`` as three times the forward FLOPs; MFU is those FLOPs
per second over the GPU's peak dense bf16 rate (``--peak-tflops``, default 989 for an H100/H200 SXM).

The whole script stays under about 8 minutes: each model gets ``--seconds-per-model`` of timed
steps after its warmup.

    python benchmarks/gpu_train.py --output "$OUT/gpu_train.md"
    python benchmarks/gpu_train.py --smoke          # tiny model on CPU, checks the script only
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path

import torch

REPOSITORY_ROOT = Path(__file__).resolve().parents[1]
if str(REPOSITORY_ROOT) not in sys.path:
    sys.path.insert(0, str(REPOSITORY_ROOT))

from open_clip import ClipLoss  # noqa: E402
from torch.utils.flop_counter import FlopCounterMode  # noqa: E402

from training.model_factory import create_model, resolve_model_config  # noqa: E402
from training.optim import create_optimizer  # noqa: E402
from training.config import OptimConfig  # noqa: E402

logger = logging.getLogger("gpu_train")

MODEL_CONFIG_DIR = REPOSITORY_ROOT / "training" / "configs" / "models"
# (model, per-GPU batch, gradient checkpointing). 196 per GPU is the H/14 recipe's batch.
GPU_CASES = [
    ("ViT-B-16-worldwide", str(MODEL_CONFIG_DIR / "ViT-B-16-worldwide.json"), 256, False),
    ("ViT-H-14-worldwide", "ViT-H-14-worldwide", 196, True),
]
SMOKE_CASES = [("tiny-worldwide", str(MODEL_CONFIG_DIR / "tiny-worldwide.json"), 8, True)]


def _synthetic_batch(model_config: dict, batch_size: int, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    image_size = model_config["vision_cfg"]["image_size"]
    text_cfg = model_config["text_cfg"]
    context_length = text_cfg["context_length"]
    images = torch.randn(batch_size, 3, image_size, image_size, device=device)
    texts = torch.randint(4, text_cfg["vocab_size"], (batch_size, context_length), device=device)
    # Put an EOS token in every row so EOS pooling reads a real position.
    texts[:, context_length // 2] = text_cfg.get("eos_id", 2)
    return images, texts


def _train_step(model, optimizer, loss_fn, images, texts, autocast_device: str) -> torch.Tensor:
    optimizer.zero_grad(set_to_none=True)
    with torch.autocast(device_type=autocast_device, dtype=torch.bfloat16):
        output = model(images, texts)
        loss = loss_fn(output["image_features"], output["text_features"], output["logit_scale"])
    loss.backward()
    optimizer.step()
    return loss


def _synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def measure(name: str, model_name: str, batch_size: int, grad_checkpointing: bool, device: torch.device,
            seconds: float, peak_flops: float) -> dict:
    """Train one model on synthetic batches and return samples/s, FLOPs per step and MFU."""
    model_config = resolve_model_config(model_name, tokenizer="synthetic-token-ids")
    torch.manual_seed(0)
    model = create_model(model_config, device=device)
    model.set_grad_checkpointing(grad_checkpointing)
    model.train()
    optimizer = create_optimizer(model, OptimConfig())
    loss_fn = ClipLoss()
    images, texts = _synthetic_batch(model_config, batch_size, device)
    parameters = sum(p.numel() for p in model.parameters())

    # Warmup: allocator, cuDNN/cuBLAS heuristics.
    for _ in range(3):
        _train_step(model, optimizer, loss_fn, images, texts, device.type)
    _synchronize(device)

    # Model FLOPs of a step are 3x the forward FLOPs because backward costs twice the forward (the
    # usual MFU convention). Recomputation under gradient checkpointing is not counted.
    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad(), torch.autocast(device_type=device.type, dtype=torch.bfloat16):
        model(images, texts)
    flops_per_step = 3 * counter.get_total_flops()
    _synchronize(device)

    steps = 0
    start = time.perf_counter()
    while time.perf_counter() - start < seconds or steps < 3:
        _train_step(model, optimizer, loss_fn, images, texts, device.type)
        steps += 1
        if steps % 5 == 0:
            _synchronize(device)
    _synchronize(device)
    elapsed = time.perf_counter() - start

    result = {
        "model": name,
        "parameters_millions": round(parameters / 1e6, 1),
        "batch_per_gpu": batch_size,
        "grad_checkpointing": grad_checkpointing,
        "steps": steps,
        "seconds": round(elapsed, 2),
        "samples_per_second": round(steps * batch_size / elapsed, 1),
        "tflops_per_step": round(flops_per_step / 1e12, 2),
        "achieved_tflops": round(flops_per_step * steps / elapsed / 1e12, 1),
        "mfu": round(flops_per_step * steps / elapsed / peak_flops, 3),
    }
    if device.type == "cuda":
        result["max_memory_gib"] = round(torch.cuda.max_memory_allocated(device) / 2**30, 1)
    logger.info("%s", json.dumps(result))

    del model, optimizer
    if device.type == "cuda":
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats(device)
    return result


def to_markdown(results: list[dict], device_name: str, peak_tflops: float, command: str) -> str:
    lines = [
        "## GPU training throughput (synthetic batches, bf16)",
        "",
        f"Device: {device_name}; peak for MFU: {peak_tflops:g} TFLOPS dense bf16. Command: `{command}`.",
        "Model FLOPs per step are 3x the forward FLOPs counted by torch's FlopCounterMode; recomputation "
        "under gradient checkpointing is not counted, so MFU is model FLOPs utilisation, not hardware FLOPs.",
        "",
        "| model | params (M) | batch/GPU | grad ckpt | samples/s | TFLOP/step | achieved TFLOPS | MFU | max mem (GiB) |",
        "|---|---:|---:|---|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        lines.append(
            f"| {r['model']} | {r['parameters_millions']} | {r['batch_per_gpu']} | {r['grad_checkpointing']} | "
            f"{r['samples_per_second']} | {r['tflops_per_step']} | {r['achieved_tflops']} | {r['mfu']:.1%} | "
            f"{r.get('max_memory_gib', '-')} |"
        )
    lines.append("")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description="Measure training samples/s and MFU on synthetic batches in bf16.")
    parser.add_argument("--output", type=Path, help="Markdown file for the results (a .json file is written next to it)")
    parser.add_argument("--peak-tflops", type=float, default=989.0, help="peak dense bf16 TFLOPS of the GPU (default 989)")
    parser.add_argument("--seconds-per-model", type=float, default=90.0, help="timed seconds per model after warmup")
    parser.add_argument("--smoke", action="store_true", help="run a tiny model on CPU to check the script")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    if args.smoke:
        device, cases, device_name = torch.device("cpu"), SMOKE_CASES, "CPU (smoke run)"
    else:
        if not torch.cuda.is_available():
            logger.error("no CUDA device found; use --smoke to check the script on CPU")
            return 1
        device, cases = torch.device("cuda"), GPU_CASES
        device_name = torch.cuda.get_device_name(device)
        torch.backends.cuda.matmul.allow_tf32 = True

    results = []
    for name, model_name, batch_size, grad_checkpointing in cases:
        try:
            results.append(measure(name, model_name, batch_size, grad_checkpointing, device,
                                   args.seconds_per_model, args.peak_tflops * 1e12))
        except torch.cuda.OutOfMemoryError as error:
            logger.error("%s with batch %d ran out of memory: %s", name, batch_size, error)
            torch.cuda.empty_cache()

    report = to_markdown(results, device_name, args.peak_tflops, " ".join(["python", *sys.argv]))
    if args.output:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(report, encoding="utf-8")
        args.output.with_suffix(".json").write_text(json.dumps(results, indent=2), encoding="utf-8")
    sys.stdout.write(report)
    return 0 if len(results) == len(cases) else 1


if __name__ == "__main__":
    sys.exit(main())
