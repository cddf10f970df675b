"""Zero-shot classification per language with class names and prompt templates in that language.

Languages cover different subsets of the classes (Babel-ImageNet labels only the classes that
have a name in a language). Following the Babel-ImageNet protocol, each language is scored only
on the images of classes that have a name in that language, and only those classes are
candidates. Images of the other classes are counted as ``images_without_class_name``.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np

from training.evaluation.classnames import ClassNames, fill_template
from training.evaluation.embeddings import EmbeddedImages
from training.evaluation.metrics import top_k_accuracy
from training.evaluation.model import EmbeddingModel

logger = logging.getLogger(__name__)

LABEL_KEYS = ("class_index", "wnid", "label")
TOP_K = (1, 5)


def image_class_indices(
    images: EmbeddedImages, class_names: ClassNames, label_key: str | None
) -> tuple[np.ndarray, Counter, str]:
    """Return each embedded image's class index (-1 when unusable), the drop counts and the label key used.

    Without ``label_key`` the first of ``class_index``, ``wnid`` and ``label`` that the first
    image's metadata contains is used. A label can be a class index or a wnid.
    """
    if label_key is None:
        first = images.metadata[0] if images.metadata else {}
        label_key = next((key for key in LABEL_KEYS if key in first), LABEL_KEYS[0])

    indices = np.full(len(images.image_ids), -1, dtype=np.int64)
    dropped: Counter = Counter()
    for row, metadata in enumerate(images.metadata):
        value = metadata.get(label_key)
        if value is None or value == "":
            dropped["missing_image_label"] += 1
            continue
        class_index = class_names.class_index_of(value)
        if class_index is None:
            dropped["unknown_image_label"] += 1
            continue
        indices[row] = class_index
    return indices, dropped, label_key


def select_templates(
    lang: str, templates: dict[str, list[str]], fallback_language: str | None, default_template: str
) -> tuple[list[str], str]:
    """Return the templates for ``lang`` and where they come from: the language, the fallback or the default."""
    if templates.get(lang):
        return templates[lang], lang
    if fallback_language and templates.get(fallback_language):
        return templates[fallback_language], f"fallback:{fallback_language}"
    return [default_template], "default"


def class_embeddings(model: EmbeddingModel, class_labels: list[str], prompt_templates: list[str]) -> np.ndarray:
    """Average the normalised prompt embeddings of each class and normalise again, as CLIP does."""
    prompts = [fill_template(template, label) for label in class_labels for template in prompt_templates]
    prompt_embeddings = model.encode_texts(prompts).reshape(len(class_labels), len(prompt_templates), -1)
    mean = prompt_embeddings.mean(axis=1)
    return mean / np.maximum(np.linalg.norm(mean, axis=1, keepdims=True), 1e-12)


def evaluate_zeroshot(
    model: EmbeddingModel,
    images: EmbeddedImages,
    class_names: ClassNames,
    templates: dict[str, list[str]],
    languages: Sequence[str] | None = None,
    label_key: str | None = None,
    fallback_template_language: str | None = None,
    default_template: str = "{c}",
) -> dict[str, Any]:
    """Score zero-shot top-1 and top-5 accuracy per language and their mean over scored languages."""
    targets, label_drops, used_label_key = image_class_indices(images, class_names, label_key)
    labelled_rows = np.flatnonzero(targets >= 0)
    requested = list(languages) if languages else class_names.languages

    per_language: dict[str, dict[str, Any]] = {}
    skipped: dict[str, str] = {}
    for lang in requested:
        names = class_names.labels.get(lang)
        if not names:
            skipped[lang] = "no_class_names"
            continue

        candidate_classes = np.array(sorted(names), dtype=np.int64)
        rows = labelled_rows[np.isin(targets[labelled_rows], candidate_classes)]
        if rows.size == 0:
            skipped[lang] = "no_images_of_named_classes"
            continue
        if len(candidate_classes) < 2:
            skipped[lang] = "fewer_than_two_classes"
            continue

        prompt_templates, template_source = select_templates(
            lang, templates, fallback_template_language, default_template
        )
        text = class_embeddings(model, [names[int(index)] for index in candidate_classes], prompt_templates)
        scores = images.embeddings[rows] @ text.T
        # candidate_classes is sorted, so searchsorted maps each image's class to its column.
        accuracy = top_k_accuracy(scores, np.searchsorted(candidate_classes, targets[rows]), TOP_K)

        per_language[lang] = {
            "top1": accuracy[1],
            "top5": accuracy[5],
            "images": int(rows.size),
            "classes": len(candidate_classes),
            "classes_without_name": class_names.class_count - len(candidate_classes),
            "images_without_class_name": int(labelled_rows.size - rows.size),
            "templates": len(prompt_templates),
            "template_source": template_source,
        }
        logger.info(
            "zero-shot %s: top-1 %.4f over %d images, %d classes", lang, accuracy[1], rows.size, len(candidate_classes)
        )

    mean = {
        f"top{k}": float(np.mean([result[f"top{k}"] for result in per_language.values()])) if per_language else None
        for k in TOP_K
    }
    return {
        "label_key": used_label_key,
        "images_with_label": int(labelled_rows.size),
        "images_dropped": dict(sorted(label_drops.items())),
        "class_names_dropped": dict(sorted(class_names.dropped.items())),
        "languages": per_language,
        "languages_skipped": skipped,
        "mean": {**mean, "languages": len(per_language)},
    }
