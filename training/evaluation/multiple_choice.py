"""Multiple-choice questions about an image (CVQA style), scored by image-text similarity.

Each option is written into a prompt with its question, and the option whose prompt is most
similar to the image is the model's answer. A tie with the correct option counts as wrong.
The question table has columns ``image_id, lang, question, options, answer`` and an optional
``question_id``. ``options`` is a list, or a JSON array in a text table. ``answer`` is the
0-based index of the correct option or the text of that option.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from training.evaluation.embeddings import EmbeddedImages
from training.evaluation.metrics import multiple_choice_correct
from training.evaluation.model import EmbeddingModel
from training.evaluation.tables import require_columns

logger = logging.getLogger(__name__)

DEFAULT_PROMPT = "{question} {option}"


@dataclass(frozen=True)
class Question:
    image_row: int
    lang: str
    question: str
    options: list[str]
    answer: int


def parse_options(raw: Any) -> list[str] | None:
    """Return the options as a list of strings, or None when they are not a list."""
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except json.JSONDecodeError:
            return None
    if isinstance(raw, np.ndarray):
        raw = raw.tolist()
    if not isinstance(raw, (list, tuple)):
        return None
    return [str(option) for option in raw]


def parse_answer(raw: Any, options: list[str]) -> int | None:
    """Return the 0-based answer index from an index or an option text, or None when it matches neither."""
    if isinstance(raw, (int, np.integer)) and not isinstance(raw, bool):
        index = int(raw)
    elif isinstance(raw, str) and raw.strip().isdigit():
        index = int(raw.strip())
    elif isinstance(raw, str) and raw in options:
        return options.index(raw)
    else:
        return None
    return index if 0 <= index < len(options) else None


def usable_questions(table: pd.DataFrame, images: EmbeddedImages) -> tuple[list[Question], Counter]:
    """Parse the question table; count questions that cannot be scored by reason."""
    require_columns(table, ["image_id", "lang", "question", "options", "answer"], "questions")
    questions: list[Question] = []
    dropped: Counter = Counter()
    for image_id, lang, question, raw_options, raw_answer in zip(
        table["image_id"], table["lang"], table["question"], table["options"], table["answer"]
    ):
        image_key = str(image_id)
        image_row = images.row_of(image_key)
        options = parse_options(raw_options)
        if image_row is None:
            dropped[images.dropped_ids.get(image_key, "question_without_image")] += 1
            continue
        if options is None or len(options) < 2:
            dropped["fewer_than_two_options"] += 1
            continue
        answer = parse_answer(raw_answer, options)
        if answer is None:
            dropped["invalid_answer"] += 1
            continue
        questions.append(Question(image_row, str(lang), str(question), options, answer))
    return questions, dropped


def evaluate_multiple_choice(
    model: EmbeddingModel,
    images: EmbeddedImages,
    table: pd.DataFrame,
    languages: Sequence[str] | None = None,
    prompt: str = DEFAULT_PROMPT,
) -> dict[str, Any]:
    """Score multiple-choice accuracy per language and its mean over languages."""
    if "{option}" not in prompt:
        raise ValueError(f"the multiple-choice prompt {prompt!r} must contain {{option}}")
    questions, dropped = usable_questions(table, images)
    if dropped:
        logger.warning("questions dropped: %s", dict(sorted(dropped.items())))
    requested = list(languages) if languages else sorted({question.lang for question in questions})

    per_language: dict[str, dict[str, Any]] = {}
    skipped: dict[str, str] = {}
    for lang in requested:
        subset = [question for question in questions if question.lang == lang]
        if not subset:
            skipped[lang] = "no_questions"
            continue

        prompts = [
            prompt.replace("{question}", question.question).replace("{option}", option)
            for question in subset
            for option in question.options
        ]
        text = model.encode_texts(prompts)
        option_scores: list[np.ndarray] = []
        offset = 0
        for question in subset:
            option_text = text[offset : offset + len(question.options)]
            option_scores.append(option_text @ images.embeddings[question.image_row])
            offset += len(question.options)

        correct = multiple_choice_correct(option_scores, [question.answer for question in subset])
        per_language[lang] = {
            "accuracy": float(correct.mean()),
            "questions": len(subset),
            "chance": float(np.mean([1.0 / len(question.options) for question in subset])),
        }
        logger.info("multiple choice %s: accuracy %.4f over %d questions", lang, correct.mean(), len(subset))

    accuracies = [result["accuracy"] for result in per_language.values()]
    return {
        "questions_read": int(len(table)),
        "questions_used": len(questions),
        "questions_dropped": dict(sorted(dropped.items())),
        "prompt": prompt,
        "languages": per_language,
        "languages_skipped": skipped,
        "mean": {"accuracy": float(np.mean(accuracies)) if accuracies else None, "languages": len(per_language)},
    }
