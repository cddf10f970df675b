"""Read (image, alt-text) rows from Parquet, JSON lines or TSV/CSV, a file or a directory.

Every reader returns the same columns: ``_image_id``, ``_url`` and ``_text`` (strings, null where
the row has no value) and ``_bad_row`` (true for a line the reader could not parse). A language
column in the input is never read: the job identifies the language itself.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass

logger = logging.getLogger(__name__)

FORMATS = ("parquet", "jsonl", "tsv", "csv")
_SUFFIXES = {
    ".parquet": "parquet",
    ".jsonl": "jsonl",
    ".json": "jsonl",
    ".ndjson": "jsonl",
    ".tsv": "tsv",
    ".csv": "csv",
}
_COMPRESSION_SUFFIXES = (".gz", ".bz2", ".zst", ".snappy")
_CORRUPT_COLUMN = "_corrupt_record"
_SCHEMA_PROBE_LINES = 1000

# A JSON escape of a lone surrogate: \ud800 with no low surrogate after it, or \udc00 with no
# high one before it. An even number of backslashes precedes it, so it is an escape. Jackson
# decodes it and Spark then stores "?" in its place, which would change the text silently. So
# the reader marks such a text with the replacement character, and the prepare stage drops it
# as invalid UTF-8, like undecodable bytes.
_HIGH_SURROGATE_ESCAPE = r"\\u[dD][89abAB][0-9a-fA-F]{2}"
_LOW_SURROGATE_ESCAPE = r"\\u[dD][c-fC-F][0-9a-fA-F]{2}"
_LONE_SURROGATE_ESCAPE = (
    rf"(?:^|[^\\])(?:\\\\)*"
    rf"(?:{_HIGH_SURROGATE_ESCAPE}(?!{_LOW_SURROGATE_ESCAPE})|(?<!{_HIGH_SURROGATE_ESCAPE}){_LOW_SURROGATE_ESCAPE})"
)
_LONE_SURROGATE_COLUMN = "_lone_surrogate_escape"
_REPLACEMENT_CHARACTER = "\ufffd"
_BYTE_ORDER_MARK = "\ufeff"


class InputError(ValueError):
    """Raised for an input that cannot be read as asked: missing path, unknown format or column."""


@dataclass(frozen=True)
class InputSpec:
    """The input location and the columns that contain the image id, URL and text."""

    path: str
    text_col: str = "text"
    url_col: str = "url"
    id_col: str | None = None
    input_format: str | None = None


def _format_of_name(name: str) -> str | None:
    lowered = name.lower()
    for suffix in _COMPRESSION_SUFFIXES:
        if lowered.endswith(suffix):
            lowered = lowered[: -len(suffix)]
    return _SUFFIXES.get(os.path.splitext(lowered)[1])


def _is_local(path: str) -> bool:
    return "://" not in path or path.startswith("file://")


def detect_format(path: str) -> str:
    """Return the input format of a file or of the data files in a local directory."""
    local_path = path[len("file://"):] if path.startswith("file://") else path
    if not os.path.exists(local_path):
        raise InputError(f"input not found: {path}; pass an existing file or directory with --input")

    if os.path.isfile(local_path):
        detected = _format_of_name(local_path)
        if detected is None:
            raise InputError(f"cannot tell the format of {path} from its name; pass --input-format ({', '.join(FORMATS)})")
        return detected

    formats = set()
    for root, dirs, files in os.walk(local_path):
        dirs[:] = [name for name in dirs if not name.startswith((".", "_"))]
        for name in files:
            if name.startswith((".", "_")):
                continue
            detected = _format_of_name(name)
            if detected is not None:
                formats.add(detected)
    if not formats:
        raise InputError(f"no Parquet, JSONL, TSV or CSV files found in {path}")
    if len(formats) > 1:
        raise InputError(f"{path} mixes formats {sorted(formats)}; pass --input-format to read one of them")
    return formats.pop()


def _check_columns(available: list[str], spec: InputSpec) -> None:
    # The URL is required only when the image id is derived from it.
    required = [spec.text_col]
    if spec.id_col:
        required.append(spec.id_col)
    else:
        required.append(spec.url_col)
    for column in required:
        if column not in available:
            raise InputError(
                f"column {column!r} not found in {spec.path}; available columns: {', '.join(available) or 'none'}"
            )


def _select(df, spec: InputSpec, available: list[str], bad_row_expr):
    from pyspark.sql import functions as F

    def column_or_null(name: str | None):
        if name and name in available:
            return F.col(f"`{name}`").cast("string")
        return F.lit(None).cast("string")

    return df.select(
        column_or_null(spec.id_col).alias("_image_id"),
        column_or_null(spec.url_col).alias("_url"),
        column_or_null(spec.text_col).alias("_text"),
        bad_row_expr.alias("_bad_row"),
    )


def _read_parquet(spark, spec: InputSpec):
    from pyspark.sql import functions as F

    df = spark.read.parquet(spec.path)
    available = df.columns
    _check_columns(available, spec)
    return _select(df, spec, available, F.lit(False))


def _probe_json_keys(spark, path: str) -> list[str]:
    keys: dict[str, None] = {}
    for row in spark.read.text(path).limit(_SCHEMA_PROBE_LINES).collect():
        try:
            value = json.loads(row.value.removeprefix(_BYTE_ORDER_MARK))
        except (json.JSONDecodeError, TypeError):
            continue
        if isinstance(value, dict):
            keys.update(dict.fromkeys(value))
    return list(keys)


def _read_lines(spark, path: str):
    """Return the lines of a text input as ``value``, without a leading byte order mark.

    Windows tools write a byte order mark at the start of a file. It belongs to no row, and in a
    header it would become part of the first column name.
    """
    from pyspark.sql import functions as F

    return spark.read.text(path).select(F.regexp_replace("value", f"^{_BYTE_ORDER_MARK}", "").alias("value"))


def _read_jsonl(spark, spec: InputSpec):
    from pyspark.sql import functions as F
    from pyspark.sql.types import StringType, StructField, StructType

    available = _probe_json_keys(spark, spec.path)
    _check_columns(available, spec)

    wanted = [name for name in (spec.id_col, spec.url_col, spec.text_col) if name]
    schema = StructType([StructField(name, StringType()) for name in dict.fromkeys(wanted)] + [StructField(_CORRUPT_COLUMN, StringType())])
    lines = _read_lines(spark, spec.path).where(F.trim(F.col("value")) != "")
    # NOTE: the check looks at the whole line, so a lone surrogate in another field, such as the
    # URL, also marks the text.
    lone_surrogate = F.col("value").contains("\\u") & F.col("value").rlike(_LONE_SURROGATE_ESCAPE)
    parsed = lines.select(
        F.from_json(
            "value", schema, {"mode": "PERMISSIVE", "columnNameOfCorruptRecord": _CORRUPT_COLUMN}
        ).alias("row"),
        lone_surrogate.alias(_LONE_SURROGATE_COLUMN),
    ).select("row.*", _LONE_SURROGATE_COLUMN)

    text = F.col(f"`{spec.text_col}`")
    marked_text = F.when(F.col(_LONE_SURROGATE_COLUMN) & text.isNotNull(), F.concat(F.lit(_REPLACEMENT_CHARACTER), text))
    parsed = parsed.withColumn(spec.text_col, marked_text.otherwise(text))
    return _select(parsed, spec, available, F.col(_CORRUPT_COLUMN).isNotNull())


def _read_tsv(spark, spec: InputSpec):
    """Read TSV as lines split on tabs: a line with more or fewer fields than the header is bad."""
    from pyspark.sql import functions as F

    lines = _read_lines(spark, spec.path)
    first = lines.first()
    if first is None:
        raise InputError(f"{spec.path} is empty; a TSV input needs a header line")
    header_line = first["value"]
    header = header_line.split("\t")
    _check_columns(header, spec)

    # Every file starts with the header; blank lines are not rows.
    rows = lines.where((F.col("value") != header_line) & (F.trim(F.col("value")) != ""))
    fields = F.split(F.col("value"), "\t", -1)
    columns = [F.get(fields, index).alias(name) for index, name in enumerate(header)]
    df = rows.select(*columns, (F.size(fields) != len(header)).alias("_field_count_mismatch"))
    return _select(df, spec, header, F.col("_field_count_mismatch"))


def _read_csv(spark, spec: InputSpec):
    from pyspark.sql import functions as F
    from pyspark.sql.types import StringType, StructField, StructType

    options = {
        "header": "true",
        "sep": ",",
        "quote": '"',
        "escape": '"',
        "mode": "PERMISSIVE",
        "columnNameOfCorruptRecord": _CORRUPT_COLUMN,
    }
    header = spark.read.options(**options).csv(spec.path).columns
    _check_columns(header, spec)
    schema = StructType([StructField(name, StringType()) for name in header] + [StructField(_CORRUPT_COLUMN, StringType())])
    # NOTE: Spark's CSV parser fills missing fields with null and drops extra ones without
    # marking the row corrupt, so such rows count as bad only when a field is unparseable.
    df = spark.read.options(**options).schema(schema).csv(spec.path)
    return _select(df, spec, header, F.col(_CORRUPT_COLUMN).isNotNull())


def read_input(spark, spec: InputSpec):
    """Return the input rows as a DataFrame with ``_image_id, _url, _text, _bad_row``."""
    input_format = spec.input_format or (detect_format(spec.path) if _is_local(spec.path) else None)
    if input_format is None:
        raise InputError(f"cannot list remote input {spec.path}; pass --input-format ({', '.join(FORMATS)})")
    if input_format not in FORMATS:
        raise InputError(f"unknown input format {input_format!r}; use one of {', '.join(FORMATS)}")
    logger.info("reading %s input from %s", input_format, spec.path)

    if input_format == "parquet":
        return _read_parquet(spark, spec)
    if input_format == "jsonl":
        return _read_jsonl(spark, spec)
    if input_format == "tsv":
        return _read_tsv(spark, spec)
    return _read_csv(spark, spec)
