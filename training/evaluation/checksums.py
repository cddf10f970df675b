"""SHA-256 checksums of input files, computed once per file state within a process."""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path

CHUNK_BYTES = 1 << 20


def file_sha256(path: str | Path) -> str:
    """Return the hex SHA-256 of a file; a changed size or mtime invalidates the memoised value."""
    resolved = Path(path).resolve()
    status = resolved.stat()
    return _sha256(str(resolved), status.st_size, status.st_mtime_ns)


@lru_cache(maxsize=4096)
def _sha256(path: str, size: int, mtime_ns: int) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK_BYTES):
            digest.update(chunk)
    return digest.hexdigest()


def describe_file(path: str | Path, role: str) -> dict[str, object]:
    """Return the path, role, size and SHA-256 of an input file for a report."""
    resolved = Path(path).resolve()
    return {"role": role, "path": str(resolved), "bytes": resolved.stat().st_size, "sha256": file_sha256(resolved)}
