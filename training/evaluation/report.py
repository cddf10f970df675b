"""Write one evaluation run as ``results.json`` and ``results.md``.

The JSON file contains fractions in [0, 1]. The Markdown file shows the same numbers as percentages.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

JSON_NAME = "results.json"
MARKDOWN_NAME = "results.md"


def write_report(output_dir: Path, results: dict[str, Any], overwrite: bool = False) -> tuple[Path, Path]:
    """Write the JSON and Markdown reports into ``output_dir`` and return their paths.

    Raises FileExistsError when a report is already there, unless ``overwrite`` is set.
    """
    output_dir.mkdir(parents=True, exist_ok=True)
    json_path = output_dir / JSON_NAME
    markdown_path = output_dir / MARKDOWN_NAME
    if not overwrite and (json_path.exists() or markdown_path.exists()):
        raise FileExistsError(
            f"{output_dir} already contains a report: choose another output folder or pass --overwrite"
        )

    json_path.write_text(json.dumps(results, indent=2, ensure_ascii=False, sort_keys=False) + "\n", encoding="utf-8")
    markdown_path.write_text(render_markdown(results), encoding="utf-8")
    logger.info("wrote %s and %s", json_path, markdown_path)
    return json_path, markdown_path


def _percent(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.2f}"


def _table(header: list[str], rows: list[list[Any]], text_columns: int = 1) -> list[str]:
    """Render a Markdown table whose first ``text_columns`` columns are left-aligned and the rest right-aligned."""
    alignment = ["---" if index < text_columns else "---:" for index in range(len(header))]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(alignment) + "|"]
    lines.extend("| " + " | ".join(str(cell) for cell in row) + " |" for row in rows)
    return lines


def _languages(mean: dict[str, Any]) -> str:
    count = mean["languages"]
    return "1 language" if count == 1 else f"{count} languages"


def _counts(title: str, counts: dict[str, Any]) -> list[str]:
    if not counts:
        return []
    listed = ", ".join(f"{reason} {count}" for reason, count in counts.items())
    return ["", f"{title}: {listed}."]


def _model_lines(model: dict[str, Any]) -> list[str]:
    return [f"- {key}: `{value}`" for key, value in model.items() if value is not None]


def render_markdown(results: dict[str, Any]) -> str:
    """Render the report as Markdown: run details, data files and one table per task."""
    run = results["run"]
    lines = ["# Evaluation report", "", f"Run {run['started_at']} to {run['finished_at']} on `{run['device']}`.", ""]
    lines += ["## Model", "", *_model_lines(results["model"]), ""]

    lines += ["## Data files", ""]
    lines += _table(
        ["role", "path", "bytes", "sha256"],
        [[item["role"], f"`{item['path']}`", item["bytes"], f"`{item['sha256']}`"] for item in results["data_files"]],
        text_columns=4,
    )

    tasks = results["tasks"]
    if "zeroshot" in tasks:
        lines += ["", *_zeroshot_section(tasks["zeroshot"])]
    if "retrieval" in tasks:
        lines += ["", *_retrieval_section(tasks["retrieval"])]
    if "multiple_choice" in tasks:
        lines += ["", *_multiple_choice_section(tasks["multiple_choice"])]
    return "\n".join(lines) + "\n"


def _images_line(task: dict[str, Any]) -> list[str]:
    images = task["images"]
    line = f"Images: {images['images_embedded']} embedded of {images['images_read']} read."
    return [line, *_counts("Images dropped", images["images_dropped"])]


def _zeroshot_section(task: dict[str, Any]) -> list[str]:
    mean = task["mean"]
    lines = [
        "## Zero-shot classification (%)",
        "",
        f"Mean over {_languages(mean)}: top-1 {_percent(mean['top1'])}, top-5 {_percent(mean['top5'])}.",
        "",
    ]
    rows = [
        [lang, _percent(result["top1"]), _percent(result["top5"]), result["images"], result["classes"],
         result["classes_without_name"], result["images_without_class_name"], result["template_source"]]
        for lang, result in task["languages"].items()
    ]
    lines += _table(
        ["lang", "top-1", "top-5", "images", "classes", "classes without name", "images without class name",
         "templates"],
        rows,
    )
    lines += ["", *_images_line(task)]
    lines += _counts("Images without a usable label", task["images_dropped"])
    lines += _counts("Class-name cells or rows dropped", task["class_names_dropped"])
    lines += _counts("Templates dropped", task.get("templates_dropped", {}))
    lines += _counts("Languages skipped", task["languages_skipped"])
    return lines


def _retrieval_section(task: dict[str, Any]) -> list[str]:
    mean = task["mean"]
    names = [f"{direction}_r{k}" for direction in ("image_to_text", "text_to_image") for k in (1, 5, 10)]
    lines = [
        "## Retrieval, Recall@k (%)",
        "",
        f"Mean over {_languages(mean)}: image-to-text R@1 {_percent(mean['image_to_text_r1'])}, "
        f"text-to-image R@1 {_percent(mean['text_to_image_r1'])}.",
        "",
    ]
    rows = [
        [lang, result["images"], result["captions"], *[_percent(result[name]) for name in names]]
        for lang, result in task["languages"].items()
    ]
    header = ["lang", "images", "captions", "I2T R@1", "I2T R@5", "I2T R@10", "T2I R@1", "T2I R@5", "T2I R@10"]
    lines += _table(header, rows)
    lines += ["", *_images_line(task)]
    lines += ["", f"Captions: {task['captions_used']} used of {task['captions_read']} read."]
    lines += _counts("Captions dropped", task["captions_dropped"])
    lines += _counts("Languages skipped", task["languages_skipped"])
    return lines


def _multiple_choice_section(task: dict[str, Any]) -> list[str]:
    mean = task["mean"]
    lines = [
        "## Multiple choice (%)",
        "",
        f"Mean accuracy over {_languages(mean)}: {_percent(mean['accuracy'])}. Prompt: `{task['prompt']}`.",
        "",
    ]
    rows = [
        [lang, _percent(result["accuracy"]), result["questions"], _percent(result["chance"])]
        for lang, result in task["languages"].items()
    ]
    lines += _table(["lang", "accuracy", "questions", "chance"], rows)
    lines += ["", *_images_line(task)]
    lines += ["", f"Questions: {task['questions_used']} used of {task['questions_read']} read."]
    lines += _counts("Questions dropped", task["questions_dropped"])
    lines += _counts("Languages skipped", task["languages_skipped"])
    return lines
