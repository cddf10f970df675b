"""Locate, open and fingerprint the source files of a metadata build.

A source argument is ``PATH`` or ``LANG=PATH``, where PATH is a file or a directory whose files
are read in code-point order of their relative paths. Files ending in ``.gz`` or ``.bz2`` are
decompressed while read.
"""

from __future__ import annotations

import bz2
import gzip
import hashlib
import io
import os
from dataclasses import dataclass
from typing import IO, Iterable


class SourceError(ValueError):
    """Raised when a source argument names no readable file or an unknown language; the message is one line."""


class DependencyError(RuntimeError):
    """Raised when a package a source needs (wordfreq, a word segmenter) is not installed."""


@dataclass(frozen=True)
class SourceSpec:
    """A source argument: an optional language code given by the user, and a path."""

    lang: str | None
    path: str


@dataclass(frozen=True)
class SourceFile:
    """One input file as the manifest records it."""

    kind: str
    lang: str
    path: str
    sha256: str
    bytes: int

    def as_dict(self) -> dict[str, object]:
        return {"kind": self.kind, "lang": self.lang, "path": self.path, "sha256": self.sha256, "bytes": self.bytes}


def parse_source_spec(argument: str) -> SourceSpec:
    """Parse ``PATH`` or ``LANG=PATH``; a ``=`` after a path separator belongs to the path."""
    head, separator, tail = argument.partition("=")
    if separator and head and os.sep not in head and "/" not in head:
        return SourceSpec(lang=head.strip().lower(), path=tail)
    return SourceSpec(lang=None, path=argument)


# Files that sit beside data files in distributed directories and are not data.
NOT_DATA_PREFIXES = ("LICENSE", "LICENCE", "README", "COPYING", "NOTICE", "MANIFEST")


def expand_files(path: str, suffixes: Iterable[str] | None = None, recursive: bool = True) -> list[str]:
    """Return ``path`` itself, or the files in a directory in code-point order.

    A directory listing leaves out hidden files, licence and readme files and, when
    ``suffixes`` is given, files with another ending; ``recursive=False`` also leaves out
    subdirectories. Raises SourceError when the path does not exist or a directory contains
    no matching file.
    """
    if os.path.isfile(path):
        return [path]
    if not os.path.isdir(path):
        raise SourceError(f"source not found: {path} (no such file or directory)")

    endings = tuple(suffixes) if suffixes is not None else None
    found: list[str] = []
    for root, directories, names in os.walk(path):
        directories[:] = [name for name in directories if recursive and not name.startswith(".")]
        for name in names:
            if name.startswith(".") or name.upper().startswith(NOT_DATA_PREFIXES):
                continue
            if endings is not None and not name.endswith(endings):
                continue
            found.append(os.path.join(root, name))
    found.sort(key=lambda item: os.path.relpath(item, path))
    if not found:
        described = f" ending in {', '.join(endings)}" if endings else ""
        raise SourceError(f"source directory {path} contains no files{described}")
    return found


def open_text(path: str) -> IO[str]:
    """Open a UTF-8 text file, decompressing ``.gz`` and ``.bz2`` files."""
    if path.endswith(".gz"):
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8", errors="replace", newline="")
    if path.endswith(".bz2"):
        return io.TextIOWrapper(bz2.open(path, "rb"), encoding="utf-8", errors="replace", newline="")
    return open(path, encoding="utf-8", errors="replace", newline="")


def fingerprint(kind: str, lang: str, path: str) -> SourceFile:
    """Return the manifest record of ``path``: its sha256 and size in bytes."""
    digest = hashlib.sha256()
    size = 0
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
            size += len(block)
    return SourceFile(kind=kind, lang=lang, path=path, sha256=digest.hexdigest(), bytes=size)
