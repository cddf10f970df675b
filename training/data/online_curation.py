"""Online curation: redraw each image's text and keep decision every epoch.

The shards hold every text that matched metadata (the curation job's ``matched/`` rows), one row
per (image, text), with the rows of one image next to each other. For each image and epoch:

1. one of its texts is chosen uniformly, with ``u1 = uniform(seed, epoch, image_id, "text")``
   over the texts sorted by (caption, lang, entry_ids), so row order does not matter;
2. the chosen text is kept with probability ``1 - prod(1 - prob[lang, entry])`` over its entry ids,
   with ``u2 = uniform(seed, epoch, image_id, "keep")``. ``prob = min(1, t_lang / count)`` comes
   from the job's ``entry_counts/`` table.

Both draws are hashes, so equal seeds give equal draws and different epochs give fresh subsets.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import pyarrow.dataset as ds

from training.data.hashing import uniform
from training.data.readers import SampleRecord

logger = logging.getLogger(__name__)


@dataclass
class OnlineDraw:
    """The outcome of one image's draw in one epoch."""

    chosen: SampleRecord
    keep: bool
    keep_probability: float
    # Entry ids of the chosen text that are absent from the entry_counts table (taken as prob 1).
    unknown_entries: int


class EntryProbabilities:
    """The sampling probability of every (language, entry id) from an ``entry_counts/`` table."""

    def __init__(self, probabilities: dict[str, np.ndarray]):
        self._probabilities = probabilities

    @classmethod
    def load(cls, path: str | Path) -> "EntryProbabilities":
        """Read ``lang``, ``entry_id`` and ``prob`` from a Parquet file or folder."""
        path = Path(path)
        if not path.exists():
            raise FileNotFoundError(f"entry_counts table not found: {path}")
        table = ds.dataset(str(path), format="parquet").to_table(columns=["lang", "entry_id", "prob"])
        langs = np.asarray(table.column("lang").to_pylist(), dtype=object)
        entry_ids = table.column("entry_id").to_numpy().astype(np.int64)
        probs = table.column("prob").to_numpy().astype(np.float64)

        probabilities: dict[str, np.ndarray] = {}
        for lang in sorted(set(langs.tolist())):
            mask = langs == lang
            ids = entry_ids[mask]
            # Entries missing from the table stay NaN so lookups can tell them apart.
            dense = np.full(int(ids.max()) + 1, np.nan, dtype=np.float64)
            dense[ids] = probs[mask]
            probabilities[lang] = dense
        logger.info("loaded entry probabilities for %d languages, %d entries from %s",
                    len(probabilities), len(entry_ids), path)
        return cls(probabilities)

    def keep_probability(self, lang: str | None, entry_ids: Sequence[int]) -> tuple[float, int]:
        """Return ``1 - prod(1 - prob)`` over the entries and the number of entries not in the table."""
        table = self._probabilities.get(lang or "")
        miss_product = 1.0
        unknown = 0
        for entry_id in entry_ids:
            probability = np.nan
            if table is not None and 0 <= entry_id < len(table):
                probability = table[entry_id]
            if np.isnan(probability):
                # NOTE: an entry the counts table lacks is treated as a tail entry (prob 1). This
                # happens when the shards and the table come from different curation runs.
                unknown += 1
                probability = 1.0
            miss_product *= 1.0 - float(probability)
        return 1.0 - miss_product, unknown


class OnlineCurator:
    """Draw each image's text and keep decision for an epoch from (seed, epoch, image id)."""

    def __init__(self, probabilities: EntryProbabilities, seed: int):
        self.probabilities = probabilities
        self.seed = seed

    def draw(self, epoch: int, candidates: Sequence[SampleRecord]) -> OnlineDraw:
        """Choose one of an image's candidate texts and decide whether to keep it this epoch."""
        image_id = candidates[0].image_id
        ordered = sorted(candidates, key=lambda r: (r.caption or "", r.lang or "", r.entry_ids))
        text_draw = uniform(self.seed, epoch, image_id, "text")
        chosen = ordered[min(int(text_draw * len(ordered)), len(ordered) - 1)]

        keep_probability, unknown = self.probabilities.keep_probability(chosen.lang, chosen.entry_ids)
        keep = uniform(self.seed, epoch, image_id, "keep") < keep_probability
        return OnlineDraw(chosen=chosen, keep=keep, keep_probability=keep_probability, unknown_entries=unknown)


def group_by_image(records: Sequence[SampleRecord]) -> list[list[SampleRecord]]:
    """Group consecutive records with the same image id; each group is one image's candidate texts."""
    groups: list[list[SampleRecord]] = []
    for record in records:
        if groups and groups[-1][0].image_id == record.image_id:
            groups[-1].append(record)
        else:
            groups.append([record])
    return groups
