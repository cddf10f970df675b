"""Balancing thresholds: English's tail share and the threshold of every other language.

English keeps its threshold t_en. Its tail share p is the share of English matches that fall on
entries whose count is below t_en. Every other language gets the threshold t_lang at which its
own cumulative share of sorted counts comes closest to p, so each language keeps about the same
share of tail matches as English.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Sequence

import numpy as np


@dataclass(frozen=True)
class LanguageThreshold:
    """The threshold of one language and the numbers it was derived from."""

    lang: str
    t: float
    p: float
    entries: int
    matches: int
    tail_share: float

    def to_dict(self) -> dict:
        return asdict(self)


def tail_share(counts: Sequence[int] | np.ndarray, threshold: float) -> float:
    """Return the share of matches on entries whose count is below ``threshold``."""
    values = np.asarray(counts, dtype=np.int64)
    total = int(values.sum())
    if total == 0:
        raise ValueError("tail share of a language with no matches is undefined")
    return float(values[values < threshold].sum()) / total


def threshold_for_share(counts: Sequence[int] | np.ndarray, p: float) -> tuple[float, float]:
    """Return (t, S_k) for the counts of one language and the target tail share ``p``.

    The counts are sorted ascending and S_k is the cumulative share of the first k of them.
    t is the count at the first k where |S_k - p| is smallest, so ties resolve to the smaller k.
    """
    values = np.sort(np.asarray(counts, dtype=np.int64))
    if values.size == 0 or values.sum() == 0:
        raise ValueError("threshold of a language with no matches is undefined")
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"tail share p must lie in [0, 1], got {p}")

    cumulative_share = np.cumsum(values) / values.sum()
    k = int(np.argmin(np.abs(cumulative_share - p)))
    return float(values[k]), float(cumulative_share[k])


def entry_probability(count: int | np.ndarray, threshold: float) -> float | np.ndarray:
    """Return min(1, t / count), the chance that one match of an entry is kept."""
    counts = np.asarray(count, dtype=np.float64)
    if np.any(counts <= 0):
        raise ValueError("entry counts must be positive")
    probability = np.minimum(1.0, threshold / counts)
    return float(probability) if probability.ndim == 0 else probability


def compute_language_threshold(lang: str, counts: Sequence[int] | np.ndarray, p: float) -> LanguageThreshold:
    """Return the threshold of a non-English language for the target tail share ``p``."""
    values = np.asarray(counts, dtype=np.int64)
    t, share = threshold_for_share(values, p)
    return LanguageThreshold(lang=lang, t=t, p=p, entries=int(values.size), matches=int(values.sum()), tail_share=share)


def compute_reference_threshold(lang: str, counts: Sequence[int] | np.ndarray, t_reference: float) -> LanguageThreshold:
    """Return the threshold of the reference language (English), which keeps ``t_reference``."""
    values = np.asarray(counts, dtype=np.int64)
    p = tail_share(values, t_reference)
    return LanguageThreshold(
        lang=lang, t=float(t_reference), p=p, entries=int(values.size), matches=int(values.sum()), tail_share=p
    )
