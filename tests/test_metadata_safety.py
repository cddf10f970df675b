"""Metadata is read from data formats only, and a directory that fails its manifest is rejected."""

from __future__ import annotations

import ast
import json
import os
import pickle
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPOSITORY_ROOT
from curation.inputs import InputSpec
from curation.pipeline import CurationConfig, run_curation
from metadata.store import MetadataError, load_language_entries, verify_metadata, write_metadata

CURATE = str(REPOSITORY_ROOT / "jobs" / "curate.py")
SOURCE_DIRECTORIES = ("curation", "metadata", "jobs", "training", "benchmarks", "packaging")
ENTRIES = {"en": {"dog": ["test"], "beach": ["test"]}, "de": {"Hund": ["test"]}}

# Modules that deserialize code-carrying formats: loading their data can run arbitrary code.
UNSAFE_MODULES = {"pickle", "cPickle", "_pickle", "marshal", "shelve", "dill", "cloudpickle", "joblib"}
UNSAFE_ATTRIBUTES = {"read_pickle", "pickleFile", "unsafe_load", "full_load"}


@pytest.fixture()
def metadata_dir(tmp_path) -> Path:
    directory = tmp_path / "metadata"
    write_metadata(str(directory), ENTRIES)
    return directory


def edit_manifest(directory: Path, change) -> None:
    path = directory / "manifest.json"
    manifest = json.loads(path.read_text(encoding="utf-8"))
    change(manifest)
    path.write_text(json.dumps(manifest), encoding="utf-8")


def test_intact_directory_verifies(metadata_dir):
    manifest = verify_metadata(str(metadata_dir))
    assert sorted(manifest["languages"]) == ["de", "en"]


def test_changed_entry_file_is_rejected(metadata_dir):
    path = metadata_dir / "entries" / "en.parquet"
    path.write_bytes(path.read_bytes() + b"\0")
    with pytest.raises(MetadataError, match="checksum mismatch"):
        verify_metadata(str(metadata_dir))


def test_swapped_entry_file_is_rejected(metadata_dir, tmp_path):
    # A valid Parquet file from another build still fails the manifest's checksum.
    other = tmp_path / "other"
    write_metadata(str(other), {"en": {"cat": ["test"]}})
    (metadata_dir / "entries" / "en.parquet").write_bytes((other / "entries" / "en.parquet").read_bytes())
    with pytest.raises(MetadataError, match="checksum mismatch"):
        verify_metadata(str(metadata_dir))


def test_changed_manifest_checksum_is_rejected(metadata_dir):
    edit_manifest(metadata_dir, lambda manifest: manifest["languages"]["de"].update(sha256="0" * 64))
    with pytest.raises(MetadataError, match="checksum mismatch"):
        verify_metadata(str(metadata_dir))


def test_missing_entry_file_is_rejected(metadata_dir):
    (metadata_dir / "entries" / "de.parquet").unlink()
    with pytest.raises(MetadataError, match="not found"):
        verify_metadata(str(metadata_dir))


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda manifest: manifest["languages"]["en"].update(file="../../outside.parquet"), "unexpected file"),
        (lambda manifest: manifest["languages"].update({"../en": manifest["languages"].pop("en")}), "invalid language code"),
        (lambda manifest: manifest.update(format_version=99), "format_version"),
        (lambda manifest: manifest.update(languages={}), "lists no languages"),
    ],
    ids=["file_outside_directory", "language_with_path", "unknown_format_version", "no_languages"],
)
def test_malformed_manifest_is_rejected(metadata_dir, change, message):
    edit_manifest(metadata_dir, change)
    with pytest.raises(MetadataError, match=message):
        verify_metadata(str(metadata_dir))


def test_invalid_manifest_json_is_rejected(metadata_dir):
    (metadata_dir / "manifest.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(MetadataError, match="invalid JSON"):
        verify_metadata(str(metadata_dir))


class _WriteMarkerWhenUnpickled:
    """A pickle payload that creates a file when loaded, to detect any unpickling."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_pickle_in_place_of_entries_is_never_loaded(metadata_dir, tmp_path):
    marker = tmp_path / "unpickled"
    payload = pickle.dumps(_WriteMarkerWhenUnpickled(str(marker)))
    (metadata_dir / "entries" / "en.parquet").write_bytes(payload)

    with pytest.raises(MetadataError, match="checksum mismatch"):
        verify_metadata(str(metadata_dir))

    # Even with a manifest rewritten to match, the file is read as Parquet and fails as data.
    import hashlib

    edit_manifest(metadata_dir, lambda manifest: manifest["languages"]["en"].update(sha256=hashlib.sha256(payload).hexdigest()))
    verify_metadata(str(metadata_dir))
    with pytest.raises(Exception, match="Parquet"):
        load_language_entries(str(metadata_dir), "en")
    assert not marker.exists()


def test_curation_rejects_changed_metadata_before_spark(metadata_dir, tmp_path):
    source = tmp_path / "rows.jsonl"
    source.write_text('{"url": "https://a.test/1.jpg", "text": "a dog on the beach"}\n', encoding="utf-8")
    path = metadata_dir / "entries" / "en.parquet"
    path.write_bytes(path.read_bytes() + b"\0")
    output = tmp_path / "output"

    # No Spark session is passed: the metadata check must fail before any Spark work.
    config = CurationConfig(input=InputSpec(path=str(source)), output=str(output), metadata_dir=str(metadata_dir))
    with pytest.raises(MetadataError, match="checksum mismatch"):
        run_curation(None, config)
    assert not output.exists()


def test_curate_job_rejects_changed_metadata_in_one_line(metadata_dir, tmp_path):
    source = tmp_path / "rows.jsonl"
    source.write_text('{"url": "https://a.test/1.jpg", "text": "a dog on the beach"}\n', encoding="utf-8")
    path = metadata_dir / "entries" / "de.parquet"
    path.write_bytes(path.read_bytes()[:-1])

    result = subprocess.run(
        [sys.executable, CURATE, "--input", str(source), "--metadata", str(metadata_dir), "--output", str(tmp_path / "output")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    errors = [line for line in result.stderr.splitlines() if "error" in line.lower()]
    assert len(errors) == 1, result.stderr
    assert errors[0].startswith("curate.py: error: checksum mismatch")
    assert "Traceback" not in result.stderr


def _unsafe_calls(tree: ast.AST) -> list[tuple[int, str]]:
    """Return (line, description) of each use of a code-carrying loader in a module."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, f"import {alias.name}") for alias in node.names if alias.name.split(".")[0] in UNSAFE_MODULES]
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] in UNSAFE_MODULES:
            found.append((node.lineno, f"from {node.module} import"))
        elif isinstance(node, ast.Call):
            function = node.func
            keywords = {keyword.arg: keyword.value for keyword in node.keywords}
            if isinstance(function, ast.Name) and function.id in ("eval", "exec"):
                found.append((node.lineno, f"{function.id}()"))
            elif isinstance(function, ast.Attribute):
                owner = function.value.id if isinstance(function.value, ast.Name) else ""
                if function.attr in UNSAFE_ATTRIBUTES:
                    found.append((node.lineno, f"{owner}.{function.attr}()"))
                elif owner == "torch" and function.attr == "load":
                    weights_only = keywords.get("weights_only")
                    if not (isinstance(weights_only, ast.Constant) and weights_only.value is True):
                        found.append((node.lineno, "torch.load() without weights_only=True"))
                elif owner in ("np", "numpy") and function.attr == "load":
                    allow = keywords.get("allow_pickle")
                    if allow is not None and not (isinstance(allow, ast.Constant) and allow.value is False):
                        found.append((node.lineno, "numpy.load() with allow_pickle"))
                elif owner == "yaml" and function.attr == "load":
                    found.append((node.lineno, "yaml.load(); use yaml.safe_load()"))
    return found


def test_no_code_carrying_loaders_in_source():
    findings = []
    for directory in SOURCE_DIRECTORIES:
        root = REPOSITORY_ROOT / directory
        if not root.is_dir():
            continue
        for path in sorted(root.rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
            relative = os.path.relpath(path, REPOSITORY_ROOT)
            findings += [f"{relative}:{line}: {description}" for line, description in _unsafe_calls(tree)]
    assert not findings, "\n".join(findings)


def test_loader_scan_finds_known_patterns():
    source = "import pickle\nfrom dill import loads\neval('1')\ntorch.load(path)\nnp.load(path, allow_pickle=True)\nyaml.load(text)\npd.read_pickle(path)\n"
    assert [line for line, _ in _unsafe_calls(ast.parse(source))] == [1, 2, 3, 4, 5, 6, 7]
    safe = "model.eval()\ntorch.load(path, weights_only=True)\nnp.load(path)\nyaml.safe_load(text)\n"
    assert _unsafe_calls(ast.parse(safe)) == []
