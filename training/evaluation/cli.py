"""Command line of the evaluation: ``python -m training.evaluation --help``.

One run loads one model, runs every task whose inputs are given (zero-shot classification,
retrieval, multiple choice) and writes one JSON and one Markdown report.
"""

from __future__ import annotations

import argparse
import logging
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any, Sequence

from training.evaluation.checksums import describe_file
from training.evaluation.classnames import load_class_names, load_templates
from training.evaluation.images import expand_image_paths
from training.evaluation.model import PRECISIONS, EmbeddingModel, configure_downloads
from training.evaluation.tables import read_table

logger = logging.getLogger("training.evaluation")


def default_cache_dir() -> Path:
    """Return $WORLDCLIP_EVAL_CACHE, else ``worldclip/eval_embeddings`` under $XDG_CACHE_HOME or ~/.cache."""
    configured = os.environ.get("WORLDCLIP_EVAL_CACHE")
    if configured:
        return Path(configured)
    cache_home = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache_home / "worldclip" / "eval_embeddings"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m training.evaluation",
        description="Evaluate a CLIP model on multilingual zero-shot classification, retrieval and multiple choice.",
    )
    model = parser.add_argument_group("model (give --checkpoint or --open-clip-model)")
    source = model.add_mutually_exclusive_group(required=True)
    source.add_argument("--checkpoint", type=Path, help="checkpoint file written by the training package")
    source.add_argument(
        "--open-clip-model", help="open_clip model name, e.g. ViT-B-32, or a model config JSON in open_clip's format"
    )
    model.add_argument(
        "--pretrained", help="weights of --open-clip-model: a local file (a named tag needs --allow-download)"
    )
    model.add_argument(
        "--allow-download",
        action="store_true",
        help="allow downloading weights and tokenizers; by default HF_HUB_OFFLINE=1 is set and only local files are read",
    )
    model.add_argument("--device", help="torch device, e.g. cuda or cpu (default: cuda when available)")
    model.add_argument(
        "--precision", choices=PRECISIONS, default="fp32", help="autocast precision of the forward passes (default: fp32)"
    )
    model.add_argument("--batch-size", type=int, default=64, help="images per forward pass (default: 64)")
    model.add_argument("--text-batch-size", type=int, default=256, help="texts per forward pass (default: 256)")

    images = parser.add_argument_group("images")
    images.add_argument(
        "--id-column", default="image_id", help="image id column of Parquet image files (default: image_id)"
    )
    images.add_argument(
        "--image-column",
        default="image",
        help="Parquet column with the encoded image, binary or a struct with 'bytes' (default: image)",
    )
    images.add_argument(
        "--cache-dir",
        type=Path,
        default=None,
        help="folder of cached image embeddings (default: $WORLDCLIP_EVAL_CACHE or ~/.cache/worldclip/eval_embeddings)",
    )
    images.add_argument("--no-cache", action="store_true", help="do not read or write cached image embeddings")

    zeroshot = parser.add_argument_group("zero-shot classification")
    zeroshot.add_argument(
        "--classification-images",
        nargs="+",
        metavar="PATH",
        help="Parquet files, tar shards or folders of them, with a class label per image",
    )
    zeroshot.add_argument(
        "--classnames",
        type=Path,
        help="class names: long table lang,class_index,wnid,label or wide table wnid,<lang>,...",
    )
    zeroshot.add_argument(
        "--templates",
        type=Path,
        help="prompt templates: table lang,template or JSON {lang: [templates]}; {c} is the class name",
    )
    zeroshot.add_argument(
        "--label-column",
        help="image metadata field with the class index or wnid (default: class_index, wnid or label, whichever exists)",
    )
    zeroshot.add_argument(
        "--fallback-template-language", help="use this language's templates for languages that have none"
    )
    zeroshot.add_argument(
        "--default-template",
        default="{c}",
        help="template for languages with no templates and no fallback (default: {c})",
    )

    retrieval = parser.add_argument_group("retrieval")
    retrieval.add_argument(
        "--retrieval-images", nargs="+", metavar="PATH", help="Parquet files, tar shards or folders of them"
    )
    retrieval.add_argument("--captions", type=Path, help="caption table with columns image_id, lang, caption")

    choice = parser.add_argument_group("multiple choice")
    choice.add_argument(
        "--multiple-choice-images", nargs="+", metavar="PATH", help="Parquet files, tar shards or folders of them"
    )
    choice.add_argument(
        "--questions", type=Path, help="question table with columns image_id, lang, question, options, answer"
    )
    choice.add_argument(
        "--multiple-choice-prompt",
        default="{question} {option}",
        help="text scored per option; {question} and {option} are filled in (default: '{question} {option}')",
    )

    output = parser.add_argument_group("output")
    output.add_argument(
        "--languages", help="comma-separated languages to evaluate (default: every language in the inputs)"
    )
    output.add_argument("--output", type=Path, required=True, help="folder for results.json and results.md")
    output.add_argument("--overwrite", action="store_true", help="replace a report already in --output")
    output.add_argument("--log-level", default="INFO", help="logging level (default: INFO)")
    return parser


def check_arguments(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Reject incomplete task inputs before any model or image is loaded."""
    pairs = [
        ("--classification-images", args.classification_images, "--classnames", args.classnames),
        ("--retrieval-images", args.retrieval_images, "--captions", args.captions),
        ("--multiple-choice-images", args.multiple_choice_images, "--questions", args.questions),
    ]
    for images_flag, images_value, table_flag, table_value in pairs:
        if bool(images_value) != bool(table_value):
            parser.error(f"{images_flag} and {table_flag} must be given together")
    if not any(images_value for _, images_value, _, _ in pairs):
        parser.error("no task given: pass --classification-images with --classnames, --retrieval-images with "
                     "--captions, or --multiple-choice-images with --questions")
    if args.templates and not args.classnames:
        parser.error("--templates needs --classification-images and --classnames")
    if args.open_clip_model and not args.pretrained and not args.open_clip_model.startswith("hf-hub:"):
        parser.error("--open-clip-model needs --pretrained: a local weights file, or a named tag with --allow-download")
    if args.pretrained and not args.open_clip_model:
        parser.error("--pretrained applies to --open-clip-model only")
    if args.batch_size < 1 or args.text_batch_size < 1:
        parser.error("batch sizes must be at least 1")


def load_model(args: argparse.Namespace) -> EmbeddingModel:
    from training.evaluation.model import load_open_clip, load_training_checkpoint

    if args.checkpoint is not None:
        model = load_training_checkpoint(args.checkpoint, args.device, args.precision, args.allow_download)
    else:
        model = load_open_clip(args.open_clip_model, args.pretrained, args.device, args.precision, args.allow_download)
    model.text_batch_size = args.text_batch_size
    return model


def software_versions() -> dict[str, str]:
    import numpy
    import open_clip
    import torch

    return {"python": platform.python_version(), "torch": torch.__version__, "open_clip": open_clip.__version__,
            "numpy": numpy.__version__}


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Run the requested tasks and return the report as a dictionary."""
    from training.evaluation.embeddings import ImageEmbedder
    from training.evaluation.multiple_choice import evaluate_multiple_choice
    from training.evaluation.retrieval import evaluate_retrieval
    from training.evaluation.zeroshot import evaluate_zeroshot

    started_at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    languages = [lang.strip() for lang in args.languages.split(",") if lang.strip()] if args.languages else None
    data_files: list[dict[str, Any]] = []

    # Read every table and check every image path before the model loads, so that a bad input fails in seconds.
    for image_paths in (args.classification_images, args.retrieval_images, args.multiple_choice_images):
        if image_paths:
            expand_image_paths(image_paths)
    if args.classnames:
        class_names = load_class_names(args.classnames)
        data_files.append(describe_file(args.classnames, "classnames"))
        templates, templates_dropped = load_templates(args.templates) if args.templates else ({}, {})
        if args.templates:
            data_files.append(describe_file(args.templates, "templates"))
    if args.captions:
        captions = read_table(args.captions)
        data_files.append(describe_file(args.captions, "captions"))
    if args.questions:
        questions = read_table(args.questions)
        data_files.append(describe_file(args.questions, "questions"))

    model = load_model(args)
    cache_dir = None if args.no_cache else (args.cache_dir or default_cache_dir())
    embedder = ImageEmbedder(model, cache_dir, args.batch_size, args.id_column, args.image_column)
    tasks: dict[str, Any] = {}

    if args.classification_images:
        images = embedder.embed(args.classification_images)
        tasks["zeroshot"] = evaluate_zeroshot(
            model, images, class_names, templates, languages, args.label_column,
            args.fallback_template_language, args.default_template,
        )
        tasks["zeroshot"]["templates_dropped"] = dict(sorted(templates_dropped.items()))
        tasks["zeroshot"]["images"] = _image_summary(images, data_files)

    if args.retrieval_images:
        images = embedder.embed(args.retrieval_images)
        tasks["retrieval"] = evaluate_retrieval(model, images, captions, languages)
        tasks["retrieval"]["images"] = _image_summary(images, data_files)

    if args.multiple_choice_images:
        images = embedder.embed(args.multiple_choice_images)
        tasks["multiple_choice"] = evaluate_multiple_choice(
            model, images, questions, languages, args.multiple_choice_prompt
        )
        tasks["multiple_choice"]["images"] = _image_summary(images, data_files)

    return {
        "run": {
            "started_at": started_at,
            "finished_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "arguments": list(args.arguments),
            "device": model.device,
            "precision": model.precision,
            "versions": software_versions(),
            "embedding_cache": str(cache_dir) if cache_dir else None,
        },
        "model": model.description,
        "data_files": data_files,
        "tasks": tasks,
    }


def _image_summary(images: Any, data_files: list[dict[str, Any]]) -> dict[str, Any]:
    """Add the image files to the run's data files once and return the image counts and file paths."""
    known = {item["sha256"] + item["path"] for item in data_files}
    data_files.extend(item for item in images.files if item["sha256"] + item["path"] not in known)
    summary = images.summary()
    summary["files"] = [item["path"] for item in images.files]
    return summary


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    check_arguments(parser, args)
    args.arguments = sys.argv[1:] if argv is None else list(argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    # huggingface_hub reads HF_HUB_OFFLINE when it is first imported, so this comes before any model import.
    configure_downloads(args.allow_download)
    from training.evaluation.report import write_report

    output_json = args.output / "results.json"
    if output_json.exists() and not args.overwrite:
        logger.error("%s already contains a report: choose another output folder or pass --overwrite", args.output)
        return 2
    try:
        results = run(args)
        write_report(args.output, results, overwrite=args.overwrite)
    except (ValueError, OSError) as error:
        logger.error("evaluation failed: %s", error)
        return 2
    return 0
