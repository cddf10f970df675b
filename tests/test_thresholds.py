"""Balancing formulas checked against count tables worked out by hand."""

import math

import numpy as np
import pytest

from curation.sampling import keep_probability
from curation.thresholds import (
    compute_language_threshold,
    compute_reference_threshold,
    entry_probability,
    tail_share,
    threshold_for_share,
)


def test_tail_share_counts_entries_below_threshold():
    # Counts 1, 2, 5, 12: entries below 5 hold 1 + 2 = 3 of 20 matches.
    assert tail_share([12, 1, 5, 2], 5) == pytest.approx(3 / 20)


def test_tail_share_excludes_entries_at_threshold():
    assert tail_share([5, 5, 10], 5) == 0.0


def test_tail_share_of_language_without_matches_raises():
    with pytest.raises(ValueError):
        tail_share([], 5)


def test_threshold_picks_closest_cumulative_share():
    # Sorted 1, 1, 2, 6 of 10: cumulative shares 0.1, 0.2, 0.4, 1.0. For p = 0.35 the closest is
    # 0.4 at k = 3, whose count is 2.
    t, share = threshold_for_share([6, 1, 2, 1], 0.35)
    assert t == 2.0
    assert share == pytest.approx(0.4)


def test_threshold_ties_take_first_k():
    # Shares 0.25, 0.5, 0.75, 1.0; p = 0.375 lies as close to 0.25 as to 0.5: the first k wins.
    t, share = threshold_for_share([3, 3, 3, 3], 0.375)
    assert t == 3.0
    assert share == pytest.approx(0.25)


def test_threshold_with_equal_counts_and_distinct_shares():
    # Sorted 1, 1, 1, 7 of 10: shares 0.1, 0.2, 0.3, 1.0; p = 0.28 is closest to 0.3, count 1.
    t, share = threshold_for_share([1, 7, 1, 1], 0.28)
    assert t == 1.0
    assert share == pytest.approx(0.3)


def test_threshold_of_full_tail_is_largest_count():
    t, share = threshold_for_share([4, 9, 2], 1.0)
    assert t == 9.0
    assert share == 1.0


def test_threshold_rejects_share_outside_unit_interval():
    with pytest.raises(ValueError):
        threshold_for_share([1, 2], 1.5)


def test_reference_language_keeps_its_threshold():
    result = compute_reference_threshold("en", [1, 2, 5, 12], 5)
    assert result.t == 5.0
    assert result.p == pytest.approx(0.15)
    assert result.tail_share == pytest.approx(0.15)
    assert result.matches == 20
    assert result.entries == 4


def test_language_threshold_follows_reference_share():
    result = compute_language_threshold("de", [6, 1, 2, 1], 0.35)
    assert result.t == 2.0
    assert result.p == 0.35
    assert result.tail_share == pytest.approx(0.4)


def test_entry_probability_is_capped_at_one():
    assert entry_probability(3, 5) == 1.0
    assert entry_probability(20, 5) == 0.25
    assert np.allclose(entry_probability(np.array([1, 10, 50]), 10), [1.0, 1.0, 0.2])


def test_entry_probability_rejects_zero_count():
    with pytest.raises(ValueError):
        entry_probability(0, 5)


def test_keep_probability_combines_entries():
    # 1 - (1 - 0.5)(1 - 0.2) = 0.6
    assert keep_probability([0.5, 0.2]) == pytest.approx(0.6)
    assert keep_probability([1.0, 0.01]) == 1.0
    assert keep_probability([0.1]) == pytest.approx(0.1)
    assert math.isclose(keep_probability([]), 0.0)
