"""Ranking metrics over similarity matrices: top-k accuracy, retrieval recall, multiple choice.

Ties are broken against the model. A correct candidate counts as ranked within the top k only
when fewer than k wrong candidates score at least as high as it does. A model that gives every
candidate the same score therefore gets 0 rather than 100 percent, which makes collapsed
embeddings visible in the numbers. ``torch.topk`` and ``numpy.argsort`` break ties by position
instead, so their results can differ from these metrics on tied scores.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def _as_matrix(scores: np.ndarray, name: str) -> np.ndarray:
    """Return ``scores`` as a floating-point matrix, keeping float32 input as is to save memory."""
    matrix = np.asarray(scores)
    if not np.issubdtype(matrix.dtype, np.floating):
        matrix = matrix.astype(np.float64)
    if matrix.ndim != 2:
        raise ValueError(f"{name} must be a 2-D matrix, got shape {matrix.shape}")
    if not np.all(np.isfinite(matrix)):
        raise ValueError(f"{name} contains NaN or infinite values")
    return matrix


def rank_of_target(scores: np.ndarray, targets: Sequence[int] | np.ndarray) -> np.ndarray:
    """Return the 0-based rank of each row's target column, with ties counted against the target.

    ``scores`` has one row per query and one column per candidate. The rank is the number of
    other columns whose score is greater than or equal to the target's score.
    """
    matrix = _as_matrix(scores, "scores")
    target_index = np.asarray(targets, dtype=np.int64)
    if target_index.shape != (matrix.shape[0],):
        raise ValueError(f"expected one target per row ({matrix.shape[0]}), got shape {target_index.shape}")
    if target_index.size and (target_index.min() < 0 or target_index.max() >= matrix.shape[1]):
        raise ValueError(f"target index out of range for {matrix.shape[1]} candidates")

    rows = np.arange(matrix.shape[0])
    target_scores = matrix[rows, target_index]
    at_least_as_high = (matrix >= target_scores[:, None]).sum(axis=1)
    return at_least_as_high - 1


def top_k_accuracy(scores: np.ndarray, targets: Sequence[int] | np.ndarray, ks: Sequence[int]) -> dict[int, float]:
    """Return the share of rows whose target ranks within the top k, for each k in ``ks``.

    Raises ValueError on an empty matrix, because an accuracy over no rows is undefined.
    """
    ranks = rank_of_target(scores, targets)
    if ranks.size == 0:
        raise ValueError("top-k accuracy over zero rows is undefined")
    return {k: float(np.mean(ranks < k)) for k in ks}


def image_to_text_recall(
    similarity: np.ndarray, text_image_index: Sequence[int] | np.ndarray, ks: Sequence[int]
) -> dict[int, float]:
    """Return image-to-text Recall@k: an image is a hit when any of its captions ranks within k.

    ``similarity`` has shape (images, texts). ``text_image_index[t]`` is the image of text ``t``.
    The rank of an image's best caption is the number of other images' captions that score at
    least as high as it does. Every image must have at least one caption.
    """
    matrix = _as_matrix(similarity, "similarity")
    owner = np.asarray(text_image_index, dtype=np.int64)
    image_count, text_count = matrix.shape
    if owner.shape != (text_count,):
        raise ValueError(f"expected one image index per text ({text_count}), got shape {owner.shape}")
    if image_count == 0:
        raise ValueError("image-to-text recall over zero images is undefined")
    if owner.min() < 0 or owner.max() >= image_count:
        raise ValueError(f"image index out of range for {image_count} images")

    captions_per_image = np.bincount(owner, minlength=image_count)
    if np.any(captions_per_image == 0):
        missing = np.flatnonzero(captions_per_image == 0).tolist()
        raise ValueError(f"images without captions cannot be ranked: image indices {missing[:10]}")

    # Score of each text against its own image, then the best such score per image.
    own_scores = matrix[owner, np.arange(text_count)]
    best_caption_score = np.full(image_count, -np.inf, dtype=matrix.dtype)
    np.maximum.at(best_caption_score, owner, own_scores)

    # Own captions at least as high as the best are exactly those equal to it, so subtract them.
    own_at_best = np.bincount(owner, weights=own_scores >= best_caption_score[owner], minlength=image_count)
    at_least_as_high = (matrix >= best_caption_score[:, None]).sum(axis=1)
    wrong_at_least_as_high = at_least_as_high - own_at_best.astype(np.int64)
    return {k: float(np.mean(wrong_at_least_as_high < k)) for k in ks}


def text_to_image_recall(
    similarity: np.ndarray, text_image_index: Sequence[int] | np.ndarray, ks: Sequence[int]
) -> dict[int, float]:
    """Return text-to-image Recall@k: each caption is a query and its own image the only target.

    ``similarity`` has shape (images, texts), the same layout as for ``image_to_text_recall``.
    """
    matrix = _as_matrix(similarity, "similarity")
    if matrix.shape[1] == 0:
        raise ValueError("text-to-image recall over zero texts is undefined")
    return top_k_accuracy(matrix.T, text_image_index, ks)


def multiple_choice_correct(option_scores: Sequence[Sequence[float]], answers: Sequence[int]) -> np.ndarray:
    """Return one boolean per question: True when the answer scores strictly above every other option.

    Questions may have different numbers of options, so ``option_scores`` is a list of rows.
    """
    if len(option_scores) != len(answers):
        raise ValueError(f"got {len(option_scores)} score rows for {len(answers)} answers")

    correct = np.zeros(len(answers), dtype=bool)
    for question, (scores, answer) in enumerate(zip(option_scores, answers)):
        row = np.asarray(scores, dtype=np.float64)
        if row.ndim != 1 or row.size < 2:
            raise ValueError(f"question {question} needs at least two option scores, got {row.size}")
        if not 0 <= answer < row.size:
            raise ValueError(f"question {question}: answer index {answer} out of range for {row.size} options")
        others = np.delete(row, answer)
        correct[question] = bool(row[answer] > others.max())
    return correct
