"""Stage checkpoints: a stage whose inputs and options did not change is not computed again.

Each stage writes its data under ``OUTPUT/_stages/<stage>/`` and then, as its last act, a small
JSON file ``OUTPUT/_stages/<stage>.checkpoint.json`` with the stage's fingerprint and what the
later stages need from it (its statistics, thresholds, ...). A fingerprint hashes the stage's
options and the fingerprint of the stage before it, so a changed input or option invalidates
that stage and every stage after it. A rerun with ``--resume`` skips every stage whose
checkpoint file exists with the same fingerprint.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from typing import Any

from pyarrow import fs

logger = logging.getLogger(__name__)

CHECKPOINT_SUFFIX = ".checkpoint.json"


def fingerprint(*parts: Any) -> str:
    """Return a SHA-256 over JSON-serialisable ``parts``."""
    encoded = json.dumps(parts, sort_keys=True, separators=(",", ":"), default=str).encode("utf-8")
    return hashlib.sha256(encoded).hexdigest()


def _filesystem(path: str) -> tuple[fs.FileSystem, str]:
    if "://" not in path:
        return fs.LocalFileSystem(), os.path.abspath(path)
    return fs.FileSystem.from_uri(path)


def path_fingerprint(path: str) -> list:
    """Describe the files under ``path`` by name, size and modification time.

    Reading every byte of a large input to hash it would cost as much as the stage itself, so
    a file counts as changed when its size or modification time changes.
    """
    filesystem, resolved = _filesystem(path)
    info = filesystem.get_file_info(resolved)
    if info.type == fs.FileType.File:
        infos = [info]
    elif info.type == fs.FileType.Directory:
        infos = filesystem.get_file_info(fs.FileSelector(resolved, recursive=True))
    else:
        return [path, "missing"]
    described = []
    for item in sorted(infos, key=lambda entry: entry.path):
        if item.type != fs.FileType.File:
            continue
        described.append([os.path.relpath(item.path, resolved) if item.path != resolved else "", item.size, item.mtime_ns])
    return described


class StageCheckpoints:
    """Checkpoint files of one run's stages under ``stages_dir``."""

    def __init__(self, stages_dir: str, resume: bool) -> None:
        self.stages_dir = stages_dir.rstrip("/")
        self.resume = resume
        self._filesystem, self._root = _filesystem(self.stages_dir)
        self._filesystem.create_dir(self._root, recursive=True)

    def data_path(self, stage: str) -> str:
        return f"{self.stages_dir}/{stage}"

    def _checkpoint_path(self, stage: str) -> str:
        return f"{self._root}/{stage}{CHECKPOINT_SUFFIX}"

    def load(self, stage: str, expected_fingerprint: str) -> dict | None:
        """Return the saved state of ``stage`` when it completed with this fingerprint."""
        if not self.resume:
            return None
        path = self._checkpoint_path(stage)
        if self._filesystem.get_file_info(path).type != fs.FileType.File:
            return None
        with self._filesystem.open_input_stream(path) as stream:
            try:
                saved = json.loads(stream.read().decode("utf-8"))
            except json.JSONDecodeError:
                logger.warning("checkpoint %s is unreadable; stage %s runs again", path, stage)
                return None
        if saved.get("fingerprint") != expected_fingerprint:
            logger.info("stage %s: inputs or options changed since its checkpoint; it runs again", stage)
            return None
        logger.info("stage %s: resumed from its checkpoint", stage)
        return saved["state"]

    def save(self, stage: str, stage_fingerprint: str, state: dict) -> None:
        """Record that ``stage`` completed; written to a temporary name, then renamed."""
        path = self._checkpoint_path(stage)
        temporary = f"{path}.tmp"
        data = json.dumps({"fingerprint": stage_fingerprint, "state": state}, sort_keys=True).encode("utf-8")
        with self._filesystem.open_output_stream(temporary) as stream:
            stream.write(data)
        self._filesystem.move(temporary, path)

    def invalidate(self, stage: str) -> None:
        """Remove the checkpoint of ``stage`` before its data is rewritten."""
        path = self._checkpoint_path(stage)
        if self._filesystem.get_file_info(path).type == fs.FileType.File:
            self._filesystem.delete_file(path)
