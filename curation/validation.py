"""Check a finished curation output directory before other teams read it.

The checks cover the ``_SUCCESS`` markers and the Parquet schemas of ``curated/``, ``matched/``
and ``entry_counts/``. They compare the row accounting of ``stats.json`` with the Parquet files,
and check entry ids against the metadata and probabilities against (0, 1]. Each image id has one
row in ``curated/``, each (image id, text) one row in ``matched/``, and every curated row must
also be in ``matched/``. docs/validation.md lists every check.

The Parquet files are read one at a time with pyarrow, so memory follows the largest shard plus
8 bytes per row of ``curated/`` and ``matched/`` for the uniqueness checks. The output must be on
a local (or locally mounted) filesystem.
"""

from __future__ import annotations

import json
import logging
import math
import os
from collections import Counter
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from curation import schemas as S
from curation.outputs import SUCCESS_MARKER
from metadata.store import load_language_entries, verify_metadata

logger = logging.getLogger(__name__)

CURATED = "curated"
MATCHED = "matched"
ENTRY_COUNTS = "entry_counts"
STATS_FILE = "stats.json"
THRESHOLDS_FILE = "thresholds.json"
PARQUET_SCHEMAS = {CURATED: S.CURATED_SCHEMA, MATCHED: S.MATCHED_SCHEMA, ENTRY_COUNTS: S.ENTRY_COUNTS_SCHEMA}
MATCH_STAGE = "match"

# entry_counts.prob is min(1, t_lang / count) in float64, so the tolerance covers rounding only.
PROBABILITY_TOLERANCE = 1e-9


class ValidationError(ValueError):
    """Raised when validation cannot run: the output directory or the metadata is unusable."""


@dataclass(frozen=True)
class Violation:
    """One way the output breaks its contract: which check, where and what was found."""

    check: str
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message} [{self.check}]"


@dataclass
class _MetadataLimits:
    """Entry counts per language and, loaded on first use, the entries themselves."""

    directory: str
    entry_counts: dict[str, int]
    _entries: dict[str, list[str]] = field(default_factory=dict)

    def entries(self, lang: str) -> list[str]:
        if lang not in self._entries:
            self._entries[lang] = load_language_entries(self.directory, lang).entries
        return self._entries[lang]


@dataclass
class _ParquetSummary:
    """Row counts and key hashes of one Parquet output, for the accounting and uniqueness checks."""

    rows: int = 0
    rows_by_lang: Counter = field(default_factory=Counter)
    key_hashes: list[np.ndarray] = field(default_factory=list)
    files: list[str] = field(default_factory=list)


def _parquet_files(directory: str) -> list[str]:
    names = [name for name in os.listdir(directory) if not name.startswith(("_", ".")) and name.endswith(".parquet")]
    return [os.path.join(directory, name) for name in sorted(names)]


def _relative(output_dir: str, path: str) -> str:
    return os.path.relpath(path, output_dir)


def _same_type(actual: pa.DataType, expected: pa.DataType) -> bool:
    # Spark names the list item field "element" and pyarrow names it "item". Only the item type matters.
    if pa.types.is_list(expected):
        return pa.types.is_list(actual) and actual.value_type == expected.value_type
    return actual == expected


def _languages(table: pa.Table) -> np.ndarray:
    """Return the lang column as an array of str, with null as the empty string."""
    return np.asarray(pc.fill_null(table.column(S.LANG), "").to_pylist(), dtype=object)


def _hash_keys(table: pa.Table, columns: list[str]) -> np.ndarray:
    import pandas as pd

    frame = table.select(columns).to_pandas()
    return pd.util.hash_pandas_object(frame, index=False).to_numpy(dtype=np.uint64)


class _Validator:
    def __init__(self, output_dir: str, metadata: _MetadataLimits | None) -> None:
        self.output_dir = output_dir
        self.metadata = metadata
        self.violations: list[Violation] = []
        self.t_by_lang: dict[str, float] | None = None
        self.entry_probabilities: list[pa.Table] = []
        self._probability_frame = None

    def add(self, check: str, path: str, message: str) -> None:
        self.violations.append(Violation(check, _relative(self.output_dir, path), message))

    # Markers and files.

    def check_markers(self) -> None:
        marker = os.path.join(self.output_dir, SUCCESS_MARKER)
        if not os.path.isfile(marker):
            self.add("success_marker", marker, "missing: the run did not finish, or it is still running")
        for name in PARQUET_SCHEMAS:
            directory = os.path.join(self.output_dir, name)
            if not os.path.isdir(directory):
                self.add("files", directory, "missing output directory")
                continue
            if not os.path.isfile(os.path.join(directory, SUCCESS_MARKER)):
                self.add("success_marker", os.path.join(directory, SUCCESS_MARKER), "missing: the Parquet write did not finish")

    def read_json(self, name: str) -> dict | None:
        path = os.path.join(self.output_dir, name)
        if not os.path.isfile(path):
            self.add("files", path, "missing")
            return None
        try:
            with open(path, encoding="utf-8") as handle:
                value = json.load(handle)
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            self.add("files", path, f"invalid JSON: {error}")
            return None
        if not isinstance(value, dict):
            self.add("files", path, f"expected a JSON object, found {type(value).__name__}")
            return None
        return value

    def read_thresholds(self) -> None:
        """Read t_lang per language from thresholds.json for the entry_counts check."""
        thresholds = self.read_json(THRESHOLDS_FILE)
        if thresholds is None:
            return
        try:
            self.t_by_lang = {item["lang"]: float(item["t"]) for item in thresholds["languages"]}
        except (KeyError, TypeError, ValueError) as error:
            path = os.path.join(self.output_dir, THRESHOLDS_FILE)
            self.add("thresholds", path, f"invalid 'languages' list, each item needs 'lang' and a numeric 't': {error!r}")

    # Parquet outputs.

    def read_file(self, name: str, path: str) -> pa.Table | None:
        """Read one Parquet file, or report it and return None when its schema does not match."""
        expected = PARQUET_SCHEMAS[name]
        try:
            schema = pq.read_schema(path)
        except (OSError, pa.ArrowInvalid) as error:
            self.add("schema", path, f"unreadable Parquet file: {error}")
            return None

        usable = True
        for expected_field in expected:
            index = schema.get_field_index(expected_field.name)
            if index < 0:
                self.add("schema", path, f"missing column {expected_field.name!r}")
                usable = False
            elif not _same_type(schema.field(index).type, expected_field.type):
                self.add("schema", path, f"column {expected_field.name!r} has type {schema.field(index).type}, expected {expected_field.type}")
                usable = False
        if not usable:
            return None

        table = pq.read_table(path, columns=expected.names)
        for expected_field in expected:
            nulls = table.column(expected_field.name).null_count
            if not expected_field.nullable and nulls:
                self.add("schema", path, f"{nulls} null values in non-nullable column {expected_field.name!r}")
        return table

    def check_entry_ids(self, path: str, table: pa.Table) -> None:
        """Check that entry_ids lists are non-empty, sorted, unique and within the metadata."""
        entry_ids = table.column(S.ENTRY_IDS).combine_chunks()
        lengths = pc.fill_null(pc.list_value_length(entry_ids), 0).to_numpy(zero_copy_only=False)
        empty = int(np.count_nonzero(lengths == 0))
        if empty:
            self.add("entry_ids", path, f"{empty} rows with no entry ids; every written row matched at least one entry")

        flat = pc.list_flatten(entry_ids).to_numpy(zero_copy_only=False).astype(np.int64)
        parents = pc.list_parent_indices(entry_ids).to_numpy(zero_copy_only=False)
        same_row = parents[1:] == parents[:-1]
        unsorted_rows = np.unique(parents[1:][same_row & (flat[1:] <= flat[:-1])])
        if unsorted_rows.size:
            self.add("entry_ids", path, f"{unsorted_rows.size} rows whose entry ids are not sorted and unique")

        if self.metadata is not None:
            self.check_ids_in_metadata(path, _languages(table)[parents], flat)

    def check_ids_in_metadata(self, path: str, langs: np.ndarray, entry_ids: np.ndarray) -> None:
        """Check that each (language, entry id) pair lies within the metadata's entries."""
        assert self.metadata is not None
        distinct, positions = np.unique(langs, return_inverse=True)
        unknown = [lang for lang in distinct.tolist() if lang not in self.metadata.entry_counts]
        if unknown:
            self.add("entry_ids", path, f"languages not in the metadata: {', '.join(map(repr, unknown))}")
        distinct_limits = np.array([self.metadata.entry_counts.get(lang, 0) for lang in distinct.tolist()], dtype=np.int64)
        limits = distinct_limits[positions]
        outside = (entry_ids < 0) | (entry_ids >= limits)
        if np.any(outside):
            first = int(np.argmax(outside))
            self.add(
                "entry_ids",
                path,
                f"{int(np.count_nonzero(outside))} entry ids outside the metadata, such as id {int(entry_ids[first])} "
                f"of language {langs[first]!r}, which has {int(limits[first])} entries",
            )

    def check_range(self, path: str, table: pa.Table, column: str, low_open: float, high: float, low_inclusive: bool = False) -> None:
        """Report values of ``column`` outside (low, high], or outside [low, high] with ``low_inclusive``.

        NaN counts as outside.
        """
        values = table.column(column).to_numpy(zero_copy_only=False).astype(np.float64)
        above_low = values >= low_open if low_inclusive else values > low_open
        outside = ~(above_low & (values <= high))
        if np.any(outside):
            bracket = "[" if low_inclusive else "("
            first = float(values[int(np.argmax(outside))])
            interval = f"{bracket}{low_open:g}, {high:g}]"
            self.add("probability", path, f"{column!r} outside {interval} in {int(np.count_nonzero(outside))} rows, such as {first}")

    def check_parquet_output(self, name: str) -> _ParquetSummary | None:
        directory = os.path.join(self.output_dir, name)
        if not os.path.isdir(directory):
            return None
        summary = _ParquetSummary(files=_parquet_files(directory))
        for path in summary.files:
            table = self.read_file(name, path)
            if table is None:
                continue
            summary.rows += table.num_rows
            summary.rows_by_lang.update(Counter(table.column(S.LANG).to_pylist()))

            if name == ENTRY_COUNTS:
                self.check_entry_counts(path, table)
                self.entry_probabilities.append(table.select([S.LANG, "entry_id", "prob"]))
                continue
            self.check_entry_ids(path, table)
            self.check_range(path, table, S.LID_SCORE, 0.0, 1.0, low_inclusive=True)
            if name == CURATED:
                self.check_range(path, table, S.KEEP_PROB, 0.0, 1.0)
                self.check_keep_probabilities(path, table)
            summary.key_hashes.append(_hash_keys(table, [S.IMAGE_ID, S.TEXT]))
        return summary

    def check_keep_probabilities(self, path: str, table: pa.Table) -> None:
        """Check that keep_prob is 1 - prod(1 - prob) over the row's entries, with prob from entry_counts/."""
        import pandas as pd

        if not self.entry_probabilities:
            return
        if self._probability_frame is None:
            self._probability_frame = pa.concat_tables(self.entry_probabilities).to_pandas()
        probabilities = self._probability_frame
        entry_ids = table.column(S.ENTRY_IDS).combine_chunks()
        parents = pc.list_parent_indices(entry_ids).to_numpy(zero_copy_only=False)
        pairs = pd.DataFrame(
            {
                S.LANG: _languages(table)[parents],
                "entry_id": pc.list_flatten(entry_ids).to_numpy(zero_copy_only=False),
                "row": parents,
            }
        )
        merged = pairs.merge(probabilities, on=[S.LANG, "entry_id"], how="left")

        missing = merged["prob"].isna()
        if missing.any():
            self.add("keep_prob", path, f"{int(missing.sum())} entry ids with no row in {ENTRY_COUNTS}/, so keep_prob cannot be checked")
        complete = merged[~merged["row"].isin(merged.loc[missing, "row"])]
        kept_share = (1.0 - complete["prob"]).groupby(complete["row"]).prod()
        expected = 1.0 - kept_share.to_numpy()
        actual = table.column(S.KEEP_PROB).to_numpy(zero_copy_only=False)[kept_share.index.to_numpy()]
        wrong = np.abs(actual - expected) > PROBABILITY_TOLERANCE
        if np.any(wrong):
            self.add("keep_prob", path, f"{int(np.count_nonzero(wrong))} rows whose keep_prob is not 1 - prod(1 - prob) over their entries")

    def check_entry_counts(self, path: str, table: pa.Table) -> None:
        self.check_range(path, table, "prob", 0.0, 1.0)
        if self.t_by_lang is not None:
            self.check_probabilities_follow_thresholds(path, table)
        counts = table.column("count").to_numpy(zero_copy_only=False)
        if np.any(counts < 1):
            self.add("entry_counts", path, f"{int(np.count_nonzero(counts < 1))} rows with count below 1")
        pairs = list(zip(table.column(S.LANG).to_pylist(), table.column("entry_id").to_pylist()))
        if len(set(pairs)) != len(pairs):
            self.add("entry_counts", path, f"{len(pairs) - len(set(pairs))} repeated (lang, entry_id) rows")
        if self.metadata is None:
            return

        entry_ids = pc.fill_null(table.column("entry_id"), -1).to_numpy(zero_copy_only=False).astype(np.int64)
        self.check_ids_in_metadata(path, _languages(table), entry_ids)
        wrong = 0
        for (lang, entry_id), entry in zip(pairs, table.column("entry").to_pylist()):
            limit = self.metadata.entry_counts.get(lang, 0)
            if 0 <= entry_id < limit and self.metadata.entries(lang)[entry_id] != entry:
                wrong += 1
        if wrong:
            self.add("entry_ids", path, f"{wrong} entries differ from the metadata's entry with the same id: the output comes from other metadata")

    def check_probabilities_follow_thresholds(self, path: str, table: pa.Table) -> None:
        """Check that prob is min(1, t_lang / count) with t_lang from thresholds.json."""
        assert self.t_by_lang is not None
        langs = table.column(S.LANG).to_pylist()
        missing = sorted({lang for lang in langs if lang not in self.t_by_lang})
        if missing:
            self.add("thresholds", path, f"languages with no threshold in {THRESHOLDS_FILE}: {', '.join(map(str, missing))}")

        t = np.array([self.t_by_lang.get(lang, math.nan) for lang in langs], dtype=np.float64)
        counts = table.column("count").to_numpy(zero_copy_only=False).astype(np.float64)
        probs = table.column("prob").to_numpy(zero_copy_only=False)
        with np.errstate(divide="ignore", invalid="ignore"):
            expected = np.minimum(1.0, t / counts)
        wrong = np.isfinite(expected) & (np.abs(probs - expected) > PROBABILITY_TOLERANCE)
        if np.any(wrong):
            self.add("thresholds", path, f"{int(np.count_nonzero(wrong))} rows whose prob is not min(1, t_lang / count)")

    # Cross checks.

    def check_accounting(self, stats: dict, curated: _ParquetSummary | None, matched: _ParquetSummary | None) -> None:
        path = os.path.join(self.output_dir, STATS_FILE)
        stages = stats.get("stages")
        if not isinstance(stages, list) or not stages:
            self.add("accounting", path, "no stages listed")
            return

        previous = None
        for stage in stages:
            name = stage.get("stage", "?")
            dropped = sum(stage.get("dropped", {}).values())
            if stage.get("rows_in") != stage.get("rows_out", 0) + dropped:
                self.add("accounting", path, f"stage {name}: rows in {stage.get('rows_in')} != rows out {stage.get('rows_out')} + dropped {dropped}")
            for lang, counts in stage.get("by_lang", {}).items():
                lang_dropped = sum(counts.get("dropped", {}).values())
                if counts.get("rows_in") != counts.get("rows_out", 0) + lang_dropped:
                    self.add("accounting", path, f"stage {name}, language {lang}: rows in != rows out + dropped")
            if previous is not None and stage.get("rows_in") != previous.get("rows_out"):
                self.add("accounting", path, f"stage {name} received {stage.get('rows_in')} rows, but stage {previous.get('stage')} passed on {previous.get('rows_out')}")
            previous = stage

        if stats.get("rows_in") != stages[0].get("rows_in"):
            self.add("accounting", path, f"rows_in {stats.get('rows_in')} differs from the first stage's {stages[0].get('rows_in')}")
        if stats.get("rows_out") != stages[-1].get("rows_out"):
            self.add("accounting", path, f"rows_out {stats.get('rows_out')} differs from the last stage's {stages[-1].get('rows_out')}")

        if curated is not None:
            self.compare_rows(path, stages[-1], curated, CURATED)
        match_stage = next((stage for stage in stages if stage.get("stage") == MATCH_STAGE), None)
        if match_stage is None:
            self.add("accounting", path, f"no {MATCH_STAGE!r} stage")
        elif matched is not None:
            self.compare_rows(path, match_stage, matched, MATCHED)

    def compare_rows(self, path: str, stage: dict, summary: _ParquetSummary, name: str) -> None:
        if stage.get("rows_out") != summary.rows:
            self.add("accounting", path, f"stage {stage.get('stage')} passed on {stage.get('rows_out')} rows, but {name}/ has {summary.rows}")
        by_lang = {lang: counts.get("rows_out") for lang, counts in stage.get("by_lang", {}).items() if counts.get("rows_out")}
        if by_lang and by_lang != dict(summary.rows_by_lang):
            self.add("accounting", path, f"stage {stage.get('stage')} rows out by language {by_lang} differ from {name}/ {dict(summary.rows_by_lang)}")

    def check_uniqueness(self, curated: _ParquetSummary | None, matched: _ParquetSummary | None) -> None:
        if curated is not None and curated.files:
            duplicates = self.duplicate_image_ids(curated.files)
            if duplicates:
                example = next(iter(duplicates))
                self.add("unique_image_id", os.path.join(self.output_dir, CURATED), f"{len(duplicates)} image ids appear more than once, such as {example!r}")
        if matched is not None and matched.key_hashes:
            hashes = np.sort(np.concatenate(matched.key_hashes))
            repeated = int(np.count_nonzero(hashes[1:] == hashes[:-1]))
            if repeated:
                # NOTE: the check compares 64-bit hashes, so a reported repeat may be a hash collision
                # (odds about n^2 / 2^65 for n rows).
                self.add("unique_image_id", os.path.join(self.output_dir, MATCHED), f"{repeated} repeated (image_id, text) rows")
            if curated is not None and curated.key_hashes:
                curated_hashes = np.concatenate(curated.key_hashes)
                missing = int(np.count_nonzero(~np.isin(curated_hashes, hashes)))
                if missing:
                    self.add("curated_in_matched", os.path.join(self.output_dir, CURATED), f"{missing} rows not found in {MATCHED}/")

    def duplicate_image_ids(self, files: list[str]) -> set[str]:
        """Return the image ids that occur more than once in ``files``, exactly.

        A first pass keeps a 64-bit hash per row, and only ids whose hash repeats are read again.
        """
        import pandas as pd

        hashes = []
        for path in files:
            if self.readable_column(path, S.IMAGE_ID):
                ids = pq.read_table(path, columns=[S.IMAGE_ID]).column(S.IMAGE_ID).to_pandas()
                hashes.append(pd.util.hash_array(ids.to_numpy(dtype=object)))
        if not hashes:
            return set()
        ordered = np.sort(np.concatenate(hashes))
        repeated_hashes = set(ordered[1:][ordered[1:] == ordered[:-1]].tolist())
        if not repeated_hashes:
            return set()

        seen: Counter = Counter()
        for path in files:
            if self.readable_column(path, S.IMAGE_ID):
                ids = pq.read_table(path, columns=[S.IMAGE_ID]).column(S.IMAGE_ID).to_pandas().to_numpy(dtype=object)
                candidates = np.isin(pd.util.hash_array(ids), list(repeated_hashes))
                seen.update(ids[candidates].tolist())
        return {image_id for image_id, count in seen.items() if count > 1}

    @staticmethod
    def readable_column(path: str, column: str) -> bool:
        try:
            return column in pq.read_schema(path).names
        except (OSError, pa.ArrowInvalid):
            return False


def _load_metadata_limits(metadata_dir: str) -> _MetadataLimits:
    from metadata.store import MetadataError

    try:
        manifest = verify_metadata(metadata_dir)
    except MetadataError as error:
        raise ValidationError(str(error)) from error
    counts = {lang: int(item["entries"]) for lang, item in manifest["languages"].items()}
    return _MetadataLimits(directory=metadata_dir, entry_counts=counts)


def validate_output(output_dir: str, metadata_dir: str | None = None) -> list[Violation]:
    """Check a finished output directory and return its violations, an empty list when it is valid.

    Without ``metadata_dir`` the entry ids are checked for order but not against the metadata.
    Raises ValidationError when the output directory is missing or the metadata fails its checks.
    """
    if not os.path.isdir(output_dir):
        raise ValidationError(f"output directory not found: {output_dir}")
    metadata = _load_metadata_limits(metadata_dir) if metadata_dir else None
    validator = _Validator(output_dir, metadata)

    validator.check_markers()
    stats = validator.read_json(STATS_FILE)
    validator.read_thresholds()

    # entry_counts/ first: the keep_prob check of curated/ uses its probabilities.
    validator.check_parquet_output(ENTRY_COUNTS)
    curated = validator.check_parquet_output(CURATED)
    matched = validator.check_parquet_output(MATCHED)

    if stats is not None:
        validator.check_accounting(stats, curated, matched)
    validator.check_uniqueness(curated, matched)

    logger.info("validated %s: %d violations", output_dir, len(validator.violations))
    return validator.violations
