"""Read the small evaluation tables (class names, templates, captions, questions) into pandas."""

from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd

TABLE_SUFFIXES = (".tsv", ".csv", ".parquet", ".jsonl")


def read_table(path: str | Path) -> pd.DataFrame:
    """Read a TSV, CSV, Parquet or JSON Lines table, keeping text cells as written.

    Text tables are read without quote handling or NA parsing, so labels such as ``NA`` or
    ``"quoted"`` stay as written. Empty cells become empty strings.
    """
    table_path = Path(path)
    if not table_path.is_file():
        raise FileNotFoundError(f"table not found: {table_path}")

    suffix = table_path.suffix.lower()
    if suffix == ".tsv":
        return pd.read_csv(
            table_path, sep="\t", dtype=str, keep_default_na=False, quoting=csv.QUOTE_NONE, encoding="utf-8"
        )
    if suffix == ".csv":
        return pd.read_csv(table_path, dtype=str, keep_default_na=False, encoding="utf-8")
    if suffix == ".parquet":
        return pd.read_parquet(table_path)
    if suffix == ".jsonl":
        return pd.read_json(table_path, lines=True, dtype=False)
    raise ValueError(f"unsupported table format {suffix!r} for {table_path}: use one of {', '.join(TABLE_SUFFIXES)}")


def require_columns(table: pd.DataFrame, columns: list[str], path: str | Path) -> None:
    """Raise ValueError naming the missing columns and the columns the table has."""
    missing = [column for column in columns if column not in table.columns]
    if missing:
        raise ValueError(f"{path}: missing column(s) {missing}; the table has {list(table.columns)}")
