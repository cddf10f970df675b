"""Read and write a metadata directory, the format every builder writes and the curation job reads.

Layout::

    <dir>/manifest.json            format version, languages, checksums, sources, options, counts
    <dir>/entries/<lang>.parquet   columns lang, entry_id, entry, sources; one file per language

Within a language, entries are sorted by code point and numbered from 0, so the same set of
entries always gets the same ids. Files are written without timestamps, so two builds from the
same entries with the same pyarrow version are byte-identical.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
from dataclasses import dataclass
from typing import Iterable, Mapping

import pyarrow as pa
import pyarrow.parquet as pq

logger = logging.getLogger(__name__)

FORMAT_VERSION = 1
MANIFEST_NAME = "manifest.json"
ENTRIES_DIR = "entries"
OTHER_LANGUAGE = "other"

ENTRY_SCHEMA = pa.schema(
    [
        pa.field("lang", pa.string(), nullable=False),
        pa.field("entry_id", pa.int32(), nullable=False),
        pa.field("entry", pa.string(), nullable=False),
        pa.field("sources", pa.list_(pa.string()), nullable=False),
    ]
)

_LANGUAGE_CODE = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")


class MetadataError(ValueError):
    """Raised when a metadata directory is missing, malformed or fails its checksums."""


@dataclass(frozen=True)
class LanguageEntries:
    """The entries of one language, indexed by entry id."""

    lang: str
    entries: list[str]


def _sha256_of_file(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _check_language_code(lang: str) -> None:
    if not _LANGUAGE_CODE.match(lang):
        raise MetadataError(
            f"invalid language code {lang!r}: use lower-case letters, digits, '_' or '-'"
        )


def write_metadata(
    directory: str,
    entries: Mapping[str, Mapping[str, Iterable[str]]],
    manifest_fields: Mapping[str, object] | None = None,
) -> dict:
    """Write ``entries`` (language -> entry -> source names) as a metadata directory.

    Returns the manifest that was written. ``manifest_fields`` (sources, options, counts, ...)
    is stored in the manifest beside the fields this function owns.
    """
    entries_dir = os.path.join(directory, ENTRIES_DIR)
    os.makedirs(entries_dir, exist_ok=True)

    languages: dict[str, dict] = {}
    for lang in sorted(entries):
        _check_language_code(lang)
        ordered = sorted(entries[lang])
        if not ordered:
            continue

        table = pa.table(
            {
                "lang": pa.array([lang] * len(ordered), pa.string()),
                "entry_id": pa.array(range(len(ordered)), pa.int32()),
                "entry": pa.array(ordered, pa.string()),
                "sources": pa.array(
                    [sorted(set(entries[lang][entry])) for entry in ordered],
                    pa.list_(pa.string()),
                ),
            },
            schema=ENTRY_SCHEMA,
        )
        relative_path = f"{ENTRIES_DIR}/{lang}.parquet"
        path = os.path.join(directory, relative_path)
        pq.write_table(table, path, compression="zstd", write_statistics=True)
        languages[lang] = {
            "entries": len(ordered),
            "file": relative_path,
            "sha256": _sha256_of_file(path),
        }

    manifest = {"format_version": FORMAT_VERSION, "languages": languages}
    for key, value in (manifest_fields or {}).items():
        if key in manifest:
            raise ValueError(f"manifest field {key!r} is reserved")
        manifest[key] = value

    with open(os.path.join(directory, MANIFEST_NAME), "w", encoding="utf-8") as handle:
        json.dump(manifest, handle, indent=2, sort_keys=True, ensure_ascii=False)
        handle.write("\n")
    logger.info(
        "wrote metadata for %d languages, %d entries, to %s",
        len(languages),
        sum(item["entries"] for item in languages.values()),
        directory,
    )
    return manifest


def read_manifest(directory: str) -> dict:
    """Read and check the manifest of a metadata directory."""
    path = os.path.join(directory, MANIFEST_NAME)
    if not os.path.isfile(path):
        raise MetadataError(
            f"metadata directory {directory!r} has no {MANIFEST_NAME}: "
            "build one with jobs/build_metadata.py"
        )
    with open(path, encoding="utf-8") as handle:
        try:
            manifest = json.load(handle)
        except json.JSONDecodeError as error:
            raise MetadataError(f"invalid JSON in {path}: {error}") from error

    if manifest.get("format_version") != FORMAT_VERSION:
        raise MetadataError(
            f"{path} has format_version {manifest.get('format_version')!r}, "
            f"expected {FORMAT_VERSION}: rebuild the metadata"
        )
    languages = manifest.get("languages")
    if not isinstance(languages, dict) or not languages:
        raise MetadataError(f"{path} lists no languages")
    for lang, item in languages.items():
        _check_language_code(lang)
        if item.get("file") != f"{ENTRIES_DIR}/{lang}.parquet":
            raise MetadataError(f"{path}: language {lang!r} names an unexpected file {item.get('file')!r}")
    return manifest


def verify_metadata(directory: str) -> dict:
    """Check every entry file against the checksum in the manifest; return the manifest."""
    manifest = read_manifest(directory)
    for lang, item in manifest["languages"].items():
        path = os.path.join(directory, item["file"])
        if not os.path.isfile(path):
            raise MetadataError(f"metadata file for language {lang!r} not found: {path}")
        actual = _sha256_of_file(path)
        if actual != item["sha256"]:
            raise MetadataError(
                f"checksum mismatch for {path}: manifest has {item['sha256']}, file has {actual}; "
                "the metadata directory was changed after it was built"
            )
    return manifest


def load_language_entries(directory: str, lang: str) -> LanguageEntries:
    """Load the entries of ``lang``, with ``entries[entry_id]`` the text of each entry."""
    _check_language_code(lang)
    path = os.path.join(directory, ENTRIES_DIR, f"{lang}.parquet")
    if not os.path.isfile(path):
        raise MetadataError(f"no metadata for language {lang!r} in {directory}")

    table = pq.read_table(path, columns=["entry_id", "entry"])
    entry_ids = table.column("entry_id").to_pylist()
    if entry_ids != list(range(len(entry_ids))):
        raise MetadataError(f"{path}: entry ids are not 0..n-1 in order")
    return LanguageEntries(lang=lang, entries=table.column("entry").to_pylist())
