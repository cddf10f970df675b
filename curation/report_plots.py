"""Figures of the run report, drawn with matplotlib's Agg backend and returned as PNG bytes.

Each function takes plain Python data read from the run's output files, so the figures can be
drawn on any machine that can read the output directory, without Spark.
"""

from __future__ import annotations

import io
import math
from typing import Mapping, Sequence

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.ticker import FuncFormatter, NullFormatter  # noqa: E402

DPI = 100
GRID_COLUMNS = 4
PANEL_SIZE_INCHES = (3.4, 2.6)
# Colors of the per-language stages, in stage order.
STAGE_COLORS = ("#9ecae1", "#4292c6", "#08519c")
# Points drawn per curve of entry counts by rank, because a language may have a million entries.
MAX_CURVE_POINTS = 500


def _plain_log_labels(axis) -> None:
    # Label only the decades, as plain numbers: minor labels such as 2x10^0 overlap on short ranges.
    axis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:,.0f}" if value >= 1 else f"{value:g}"))
    axis.set_minor_formatter(NullFormatter())


def figure_to_png(figure) -> bytes:
    """Render ``figure`` to PNG bytes and close it."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI, bbox_inches="tight", metadata={"Software": None})
    plt.close(figure)
    return buffer.getvalue()


def plot_stage_funnel(stages: Sequence[Mapping]) -> bytes:
    """Draw the rows that enter the job and the rows each stage passes on, as horizontal bars."""
    labels = ["input"] + [str(stage["stage"]) for stage in stages]
    values = [stages[0]["rows_in"] if stages else 0] + [stage["rows_out"] for stage in stages]

    figure, axes = plt.subplots(figsize=(7.5, 0.45 * len(labels) + 1.0))
    positions = np.arange(len(labels))
    axes.barh(positions, values, color="#4292c6")
    axes.set_yticks(positions, labels)
    axes.invert_yaxis()
    axes.set_xlabel("rows")
    axes.set_title("Rows passed on by each stage")
    peak = max(values) if values else 0
    for position, value in zip(positions, values):
        axes.text(value + peak * 0.01, position, f"{value:,}", va="center", fontsize=8)
    axes.set_xlim(0, max(peak * 1.15, 1))
    return figure_to_png(figure)


def plot_rows_by_language(languages: Sequence[str], series: Mapping[str, Sequence[int]]) -> bytes:
    """Draw, per language, the rows that reach each named point of the job (log scale).

    ``series`` maps a label such as "after language ID" to one row count per language.
    """
    figure, axes = plt.subplots(figsize=(7.5, 0.32 * max(len(languages), 3) * len(series) / 2 + 1.2))
    positions = np.arange(len(languages))
    height = 0.8 / max(len(series), 1)
    for index, (label, counts) in enumerate(series.items()):
        color = STAGE_COLORS[index % len(STAGE_COLORS)]
        # Zero rows cannot be drawn on a log axis, so those bars are left out.
        values = np.asarray(counts, dtype=float)
        values[values <= 0] = np.nan
        axes.barh(positions + index * height, values, height=height, label=label, color=color)
    axes.set_xscale("log")
    _plain_log_labels(axes.xaxis)
    axes.set_yticks(positions + height * (len(series) - 1) / 2, languages)
    axes.invert_yaxis()
    axes.set_xlabel("rows (log scale)")
    axes.set_title("Rows per language and stage")
    axes.legend(loc="lower right", fontsize=8)
    return figure_to_png(figure)


def rank_curve(counts: Sequence[float], max_points: int = MAX_CURVE_POINTS) -> tuple[np.ndarray, np.ndarray]:
    """Return (ranks, counts) of ``counts`` sorted largest first, at most ``max_points`` of them.

    A long curve keeps log-spaced ranks, the first and the last included, which draw the same
    line on log axes as every entry.
    """
    ordered = np.sort(np.asarray(counts, dtype=float))[::-1]
    ranks = np.arange(1, ordered.size + 1)
    if ordered.size <= max_points:
        return ranks, ordered
    positions = np.unique(np.geomspace(1, ordered.size, max_points).round().astype(int)) - 1
    return ranks[positions], ordered[positions]


def plot_entry_counts_by_rank(
    counts_by_language: Mapping[str, np.ndarray],
    thresholds: Mapping[str, float],
) -> bytes:
    """Draw each language's entry counts by rank on log-log axes, with its threshold t_lang.

    The solid line is the number of texts per entry (sorted, largest first). The dashed line
    is t_lang, and the shaded area above it is what balancing removes in expectation, because
    an entry's matches are kept with probability min(1, t_lang / count).
    """
    languages = list(counts_by_language)
    rows = max(1, math.ceil(len(languages) / GRID_COLUMNS))
    columns = min(GRID_COLUMNS, max(len(languages), 1))
    figure, grid = plt.subplots(
        rows,
        columns,
        figsize=(PANEL_SIZE_INCHES[0] * columns, PANEL_SIZE_INCHES[1] * rows),
        squeeze=False,
    )
    for index, axes in enumerate(grid.flat):
        if index >= len(languages):
            axes.set_visible(False)
            continue
        lang = languages[index]
        ranks, counts = rank_curve(counts_by_language[lang])
        axes.plot(ranks, counts, color="#08519c", linewidth=1.2)
        threshold = thresholds.get(lang)
        if threshold is not None:
            axes.axhline(threshold, color="#d94801", linestyle="--", linewidth=1.0)
            axes.fill_between(ranks, np.minimum(counts, threshold), counts, color="#fdae6b", alpha=0.6, linewidth=0)
            label = f"{lang}: t = {threshold:g}"
        else:
            label = f"{lang}: no threshold"
        axes.set_xscale("log")
        axes.set_yscale("log")
        _plain_log_labels(axes.xaxis)
        _plain_log_labels(axes.yaxis)
        axes.set_title(label, fontsize=9)
        axes.tick_params(labelsize=7)
        if index % columns == 0:
            axes.set_ylabel("texts per entry", fontsize=8)
        if index >= (rows - 1) * columns:
            axes.set_xlabel("entry rank", fontsize=8)
    figure.tight_layout()
    return figure_to_png(figure)


def plot_lid_histogram(bins: Sequence[float], counts_by_language: Mapping[str, Sequence[int]], top: int = 8) -> bytes:
    """Draw the LID score histogram of all texts, with step lines for the ``top`` largest languages."""
    edges = np.asarray(bins, dtype=float)
    widths = np.diff(edges)
    total = np.zeros(widths.size)
    for counts in counts_by_language.values():
        total += np.asarray(counts, dtype=float)

    figure, axes = plt.subplots(figsize=(7.5, 3.6))
    axes.bar(edges[:-1], total, width=widths, align="edge", color="#c6dbef", edgecolor="#6baed6", label="all languages")
    largest = sorted(counts_by_language, key=lambda lang: -sum(counts_by_language[lang]))[:top]
    for lang in largest:
        axes.step(edges, np.append(counts_by_language[lang], counts_by_language[lang][-1]), where="post", linewidth=1.0, label=lang)
    axes.set_xlim(edges[0], edges[-1])
    # Most texts score near 1, so a log axis keeps the low-score bins visible.
    axes.set_yscale("log")
    _plain_log_labels(axes.yaxis)
    axes.set_xlabel("LID score of the predicted language")
    axes.set_ylabel("texts (log scale)")
    axes.set_title("LID score histogram")
    axes.legend(fontsize=7, ncol=3, loc="upper left")
    return figure_to_png(figure)
