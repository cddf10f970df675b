"""Expand the inputs of the extraction job into the list of files it reads, one task per file."""

from __future__ import annotations

import logging
import posixpath
from typing import Any

import fsspec

logger = logging.getLogger(__name__)

ARCHIVE_SUFFIXES = (".warc.gz", ".warc", ".wat.gz", ".wat")
GLOB_CHARACTERS = set("*?[")


def _is_absolute(location: str) -> bool:
    return "://" in location or location.startswith("/")


def read_listing(listing: str, base: str | None, storage_options: dict[str, Any] | None = None) -> list[str]:
    """Return the files named in a Common Crawl listing such as ``warc.paths.gz``.

    Each line is a path relative to ``base`` (for Common Crawl, ``s3://commoncrawl/`` or
    ``https://data.commoncrawl.org/``). Without ``base``, relative lines resolve against the
    folder of the listing. The listing may be gzip-compressed (``.gz``).
    """
    with fsspec.open(listing, "rt", compression="infer", encoding="utf-8", **(storage_options or {})) as handle:
        lines = [line.strip() for line in handle]

    if base is None:
        base = posixpath.dirname(listing)
    files = []
    for line in lines:
        if not line or line.startswith("#"):
            continue
        if _is_absolute(line):
            files.append(line)
        else:
            files.append(base.rstrip("/") + "/" + line.lstrip("/"))
    return files


def expand_paths(paths: list[str], storage_options: dict[str, Any] | None = None) -> list[str]:
    """Expand globs and folders in ``paths``; plain file paths are kept even if absent.

    A file that does not exist is counted as unreadable when its task runs, so one bad path
    does not stop the other files. A folder contributes its files ending in .warc.gz, .warc,
    .wat.gz or .wat, sorted by name.
    """
    files: list[str] = []
    for path in paths:
        filesystem, local_path = fsspec.core.url_to_fs(path, **(storage_options or {}))
        protocol = path.split("://", 1)[0] + "://" if "://" in path else ""

        if GLOB_CHARACTERS & set(path):
            matches = sorted(filesystem.glob(local_path))
            if not matches:
                logger.warning("No file matches %s", path)
            files.extend(protocol + match if protocol and "://" not in match else match for match in matches)
        elif filesystem.isdir(local_path):
            found = sorted(
                name for name in filesystem.find(local_path) if name.endswith(ARCHIVE_SUFFIXES)
            )
            if not found:
                logger.warning("No WARC or WAT file in folder %s", path)
            files.extend(protocol + name if protocol and "://" not in name else name for name in found)
        else:
            files.append(path)
    return files


def resolve_inputs(
    paths: list[str],
    listing: str | None = None,
    base: str | None = None,
    max_files: int | None = None,
    storage_options: dict[str, Any] | None = None,
) -> list[str]:
    """Return the files to read: ``paths`` expanded, then the files of ``listing``, without repeats."""
    files = expand_paths(paths, storage_options)
    if listing is not None:
        files.extend(read_listing(listing, base, storage_options))

    unique_files = list(dict.fromkeys(files))
    if max_files is not None:
        unique_files = unique_files[:max_files]
    if not unique_files:
        raise ValueError("no input file: pass WARC or WAT paths, a folder, a glob or --listing")
    return unique_files
