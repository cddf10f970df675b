"""Row accounting: every row that enters a stage leaves it kept or dropped with a reason."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Iterable

logger = logging.getLogger(__name__)


class AccountingError(RuntimeError):
    """Raised when a stage's rows in differ from its rows out plus its drops."""


@dataclass
class RowCounts:
    """Rows in, rows out and drops by reason, for a stage or for one language of a stage."""

    rows_in: int = 0
    rows_out: int = 0
    dropped: dict[str, int] = field(default_factory=dict)

    def add(self, reason: str | None, count: int) -> None:
        self.rows_in += count
        if reason is not None and count == 0:
            # A reason that dropped nothing is left out, so every listed reason dropped rows.
            return
        if reason is None:
            self.rows_out += count
        else:
            self.dropped[reason] = self.dropped.get(reason, 0) + count

    def balanced(self) -> bool:
        return self.rows_in == self.rows_out + sum(self.dropped.values())

    def to_dict(self) -> dict:
        return {"rows_in": self.rows_in, "rows_out": self.rows_out, "dropped": dict(sorted(self.dropped.items()))}


@dataclass
class StageStats:
    """The accounting of one stage, in total and per language once the language is known."""

    stage: str
    total: RowCounts = field(default_factory=RowCounts)
    by_lang: dict[str, RowCounts] = field(default_factory=dict)

    @classmethod
    def from_counts(cls, stage: str, counts: Iterable[tuple[str | None, str | None, int]]) -> "StageStats":
        """Build stats from (lang, drop reason or None when kept, rows) triples."""
        stats = cls(stage=stage)
        for lang, reason, count in counts:
            stats.total.add(reason, int(count))
            if lang is not None:
                stats.by_lang.setdefault(lang, RowCounts()).add(reason, int(count))
        return stats

    @classmethod
    def from_dict(cls, value: dict) -> "StageStats":
        """Rebuild stats written by ``to_dict``."""

        def counts(item: dict) -> RowCounts:
            return RowCounts(rows_in=item["rows_in"], rows_out=item["rows_out"], dropped=dict(item["dropped"]))

        by_lang = {lang: counts(item) for lang, item in value.get("by_lang", {}).items()}
        return cls(stage=value["stage"], total=counts(value), by_lang=by_lang)

    def check(self) -> None:
        if not self.total.balanced():
            raise AccountingError(f"stage {self.stage}: rows in {self.total.rows_in} != rows out + dropped")
        for lang, counts in self.by_lang.items():
            if not counts.balanced():
                raise AccountingError(f"stage {self.stage}, language {lang}: rows in != rows out + dropped")

    def to_dict(self) -> dict:
        result = {"stage": self.stage, **self.total.to_dict()}
        if self.by_lang:
            result["by_lang"] = {lang: counts.to_dict() for lang, counts in sorted(self.by_lang.items())}
        return result


@dataclass
class RunStats:
    """The accounting of a whole run: its stages in order, each feeding the next."""

    stages: list[StageStats] = field(default_factory=list)

    def add(self, stage: StageStats) -> None:
        stage.check()
        if self.stages and self.stages[-1].total.rows_out != stage.total.rows_in:
            previous = self.stages[-1]
            raise AccountingError(
                f"stage {stage.stage} received {stage.total.rows_in} rows, "
                f"but stage {previous.stage} passed on {previous.total.rows_out}"
            )
        self.stages.append(stage)
        logger.info(
            "stage %s: %d rows in, %d out, dropped %s",
            stage.stage,
            stage.total.rows_in,
            stage.total.rows_out,
            stage.total.dropped or "none",
        )

    def to_dict(self) -> dict:
        return {
            "rows_in": self.stages[0].total.rows_in if self.stages else 0,
            "rows_out": self.stages[-1].total.rows_out if self.stages else 0,
            "stages": [stage.to_dict() for stage in self.stages],
        }
