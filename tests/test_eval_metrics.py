"""Ranking metrics of the evaluation against similarity matrices worked out by hand."""

from __future__ import annotations

import numpy as np
import pytest

from training.evaluation.metrics import (
    image_to_text_recall,
    multiple_choice_correct,
    rank_of_target,
    text_to_image_recall,
    top_k_accuracy,
)


def test_rank_counts_higher_scores():
    scores = np.array([[0.9, 0.1, 0.5], [0.2, 0.3, 0.8]])
    assert rank_of_target(scores, [0, 0]).tolist() == [0, 2]


def test_rank_ties_count_against_target():
    scores = np.array([[0.5, 0.5, 0.1], [0.4, 0.4, 0.4]])
    assert rank_of_target(scores, [0, 2]).tolist() == [1, 2]


def test_top_k_accuracy_by_hand():
    # Row 0: target best. Row 1: target second. Row 2: target last of four.
    scores = np.array([
        [0.9, 0.1, 0.2, 0.3],
        [0.8, 0.7, 0.1, 0.0],
        [0.1, 0.2, 0.3, 0.0],
    ])
    accuracy = top_k_accuracy(scores, [0, 1, 3], ks=(1, 2, 5))
    assert accuracy[1] == pytest.approx(1 / 3)
    assert accuracy[2] == pytest.approx(2 / 3)
    assert accuracy[5] == pytest.approx(1.0)


def test_constant_scores_get_zero_top1():
    scores = np.zeros((4, 4))
    accuracy = top_k_accuracy(scores, [0, 1, 2, 3], ks=(1, 4))
    assert accuracy[1] == 0.0
    assert accuracy[4] == 1.0


def test_tie_on_top_fails_top1_passes_top2():
    scores = np.array([[0.7, 0.7, 0.1]])
    accuracy = top_k_accuracy(scores, [0], ks=(1, 2))
    assert accuracy[1] == 0.0
    assert accuracy[2] == 1.0


def test_top_k_rejects_bad_input():
    with pytest.raises(ValueError, match="zero rows"):
        top_k_accuracy(np.zeros((0, 3)), [], ks=(1,))
    with pytest.raises(ValueError, match="out of range"):
        top_k_accuracy(np.zeros((1, 3)), [3], ks=(1,))
    with pytest.raises(ValueError, match="NaN"):
        top_k_accuracy(np.array([[np.nan, 1.0]]), [0], ks=(1,))


def test_image_to_text_any_caption_counts():
    # Image 0 owns texts 0 and 1, image 1 owns texts 2 and 3.
    owners = [0, 0, 1, 1]
    similarity = np.array([
        [0.1, 0.9, 0.5, 0.2],  # best text is its own caption 1: rank 0
        [0.8, 0.1, 0.3, 0.7],  # best own caption 3 (0.7) is beaten by text 0 (0.8): rank 1
    ])
    recall = image_to_text_recall(similarity, owners, ks=(1, 2))
    assert recall[1] == pytest.approx(0.5)
    assert recall[2] == pytest.approx(1.0)


def test_image_to_text_second_own_caption():
    # Image 0's two captions both outrank image 1's captions; the lower one must not push rank up.
    owners = [0, 0, 1]
    similarity = np.array([
        [0.9, 0.8, 0.1],
        [0.1, 0.2, 0.3],
    ])
    recall = image_to_text_recall(similarity, owners, ks=(1,))
    assert recall[1] == pytest.approx(1.0)


def test_image_to_text_tie_with_wrong_caption():
    owners = [0, 1]
    similarity = np.array([[0.5, 0.5], [0.2, 0.6]])
    recall = image_to_text_recall(similarity, owners, ks=(1, 2))
    assert recall[1] == pytest.approx(0.5)
    assert recall[2] == pytest.approx(1.0)


def test_text_to_image_each_caption_is_query():
    owners = [0, 0, 1, 1]
    similarity = np.array([
        [0.9, 0.2, 0.4, 0.3],
        [0.1, 0.5, 0.6, 0.3],  # text 1 (image 0) prefers image 1; text 3 ties 0.3 against 0.3
    ])
    recall = text_to_image_recall(similarity, owners, ks=(1, 2))
    # text 0 hit, text 1 miss, text 2 hit, text 3 tie counts against: miss at k=1
    assert recall[1] == pytest.approx(2 / 4)
    assert recall[2] == pytest.approx(1.0)


def test_image_without_caption_rejected():
    with pytest.raises(ValueError, match="without captions"):
        image_to_text_recall(np.zeros((2, 2)), [0, 0], ks=(1,))


def test_multiple_choice_strict_maximum():
    scores = [[0.1, 0.9, 0.3], [0.5, 0.5], [0.2, 0.1, 0.0, 0.3]]
    correct = multiple_choice_correct(scores, [1, 0, 3])
    assert correct.tolist() == [True, False, True]


def test_multiple_choice_rejects_bad_answer():
    with pytest.raises(ValueError, match="out of range"):
        multiple_choice_correct([[0.1, 0.2]], [2])
    with pytest.raises(ValueError, match="at least two"):
        multiple_choice_correct([[0.1]], [0])


def test_recall_matches_brute_force_on_ties():
    rng = np.random.default_rng(0)
    for _ in range(200):
        image_count = int(rng.integers(1, 6))
        text_count = int(rng.integers(image_count, 12))
        owners = np.concatenate([np.arange(image_count), rng.integers(0, image_count, text_count - image_count)])
        rng.shuffle(owners)
        # Scores from {0, 1, 2, 3} make ties frequent.
        similarity = rng.integers(0, 4, (image_count, text_count)).astype(np.float32)

        image_ranks = []
        for image in range(image_count):
            best = similarity[image, owners == image].max()
            image_ranks.append(int(((similarity[image] >= best) & (owners != image)).sum()))
        text_ranks = [
            int((similarity[:, text] >= similarity[owners[text], text]).sum()) - 1 for text in range(text_count)
        ]

        for k in (1, 2, 3):
            assert image_to_text_recall(similarity, owners, (k,))[k] == pytest.approx(np.mean(np.array(image_ranks) < k))
            assert text_to_image_recall(similarity, owners, (k,))[k] == pytest.approx(np.mean(np.array(text_ranks) < k))
