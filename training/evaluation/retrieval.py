"""Image-text retrieval per language from a caption table ``image_id, lang, caption``.

For each language the gallery is the set of images that have at least one caption in that
language, and every caption of that language is a query. An image may have several captions.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from training.evaluation.embeddings import EmbeddedImages
from training.evaluation.metrics import image_to_text_recall, text_to_image_recall
from training.evaluation.model import EmbeddingModel
from training.evaluation.tables import require_columns

logger = logging.getLogger(__name__)

RECALL_AT = (1, 5, 10)


def usable_captions(captions: pd.DataFrame, images: EmbeddedImages) -> tuple[pd.DataFrame, Counter]:
    """Keep the captions whose image was embedded; count the others by reason.

    A caption whose image was read but dropped (for example, it failed to decode) is counted
    under that image's drop reason, and a caption whose id is in no image file under
    ``caption_without_image``.
    """
    require_columns(captions, ["image_id", "lang", "caption"], "captions")
    dropped: Counter = Counter()
    keep: list[bool] = []
    for image_id, lang, caption in zip(captions["image_id"], captions["lang"], captions["caption"]):
        image_key = str(image_id)
        if caption is None or not str(caption).strip():
            reason = "empty_caption"
        elif lang is None or not str(lang).strip():
            reason = "missing_lang"
        elif images.row_of(image_key) is not None:
            reason = None
        else:
            reason = images.dropped_ids.get(image_key, "caption_without_image")
        if reason:
            dropped[reason] += 1
        keep.append(reason is None)

    usable = captions.loc[keep, ["image_id", "lang", "caption"]].astype(str).reset_index(drop=True)
    return usable, dropped


def evaluate_retrieval(
    model: EmbeddingModel,
    images: EmbeddedImages,
    captions: pd.DataFrame,
    languages: Sequence[str] | None = None,
) -> dict[str, Any]:
    """Score image-to-text and text-to-image Recall@1, @5 and @10 per language, and their means."""
    usable, dropped = usable_captions(captions, images)
    if dropped:
        logger.warning("captions dropped: %s", dict(sorted(dropped.items())))
    requested = list(languages) if languages else sorted(usable["lang"].unique())

    per_language: dict[str, dict[str, Any]] = {}
    skipped: dict[str, str] = {}
    for lang in requested:
        subset = usable[usable["lang"] == lang]
        if subset.empty:
            skipped[lang] = "no_captions"
            continue

        gallery_ids = list(dict.fromkeys(subset["image_id"]))
        gallery_position = {image_id: position for position, image_id in enumerate(gallery_ids)}
        owners = np.array([gallery_position[image_id] for image_id in subset["image_id"]])
        image_rows = [images.row_of(image_id) for image_id in gallery_ids]

        text = model.encode_texts(list(subset["caption"]))
        similarity = images.embeddings[image_rows] @ text.T
        image_to_text = image_to_text_recall(similarity, owners, RECALL_AT)
        text_to_image = text_to_image_recall(similarity, owners, RECALL_AT)

        result: dict[str, Any] = {"images": len(gallery_ids), "captions": len(subset)}
        result.update({f"image_to_text_r{k}": value for k, value in image_to_text.items()})
        result.update({f"text_to_image_r{k}": value for k, value in text_to_image.items()})
        per_language[lang] = result
        logger.info("retrieval %s: %d images, %d captions, I2T R@1 %.4f, T2I R@1 %.4f",
                    lang, len(gallery_ids), len(subset), image_to_text[1], text_to_image[1])

    metric_names = [f"{direction}_r{k}" for direction in ("image_to_text", "text_to_image") for k in RECALL_AT]
    mean = {
        name: float(np.mean([result[name] for result in per_language.values()])) if per_language else None
        for name in metric_names
    }
    return {
        "captions_read": int(len(captions)),
        "captions_used": int(len(usable)),
        "captions_dropped": dict(sorted(dropped.items())),
        "languages": per_language,
        "languages_skipped": skipped,
        "mean": {**mean, "languages": len(per_language)},
    }
