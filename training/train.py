"""Command-line entry point of training, started once per device by ``torchrun``.

    torchrun --nproc_per_node=8 -m training.train --config h14_worldwide data.shards='["/data/shards"]'

``--config`` takes a JSON file or a recipe name from ``training/configs/``. Every further argument
is a ``section.key=value`` override. Its value is read as JSON when it parses, else as a string.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from typing import Sequence

from training.checkpoint import CheckpointError
from training.config import ConfigError, load_config
from training.data.shards import ShardError
from training.model_factory import ModelConfigError
from training.trainer import train


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m training.train",
        description="Train a worldwide CLIP model on curated img2dataset shards (run under torchrun).",
    )
    parser.add_argument(
        "--config",
        required=True,
        help="config JSON file, or a recipe name from training/configs/ (h14_worldwide, one_gpu, cpu)",
    )
    parser.add_argument(
        "overrides",
        nargs="*",
        metavar="section.key=value",
        help="config overrides, e.g. optim.lr=1e-4 data.batch_size=64 run.output_dir=out/run1",
    )
    parser.add_argument("--log-level", default="INFO", help="logging level (default INFO)")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    rank = os.environ.get("RANK", "0")
    logging.basicConfig(
        level=args.log_level.upper(),
        format=f"%(asctime)s rank{rank} %(levelname)s %(name)s: %(message)s",
    )
    try:
        config = load_config(args.config, args.overrides)
        result = train(config)
    except (ConfigError, ShardError, ModelConfigError, CheckpointError) as error:
        # Input errors get one log line with the fix instead of a traceback from every rank.
        logging.getLogger("training").error("%s", error)
        return 2
    logging.getLogger("training").info(
        "finished at step %d of %d; checkpoint %s", result.step, result.total_steps, result.checkpoint
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
