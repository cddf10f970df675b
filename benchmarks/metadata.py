"""Benchmark of the metadata build on the shared sources: wall time and entries per language.

The build reads every OMW wordnet and Wiktionary-derived list, English WordNet's synset head
lemmas, every frequency list, and counts n-grams with Spark (local[2]) on the caption files as
the text corpus, one plain-text file per language. Page views are not part of the shared data,
so no titles are built here.

Run: ``python -m benchmarks.metadata [--shared-data DIR] [--output DIR]`` from the repository root.
"""

from __future__ import annotations

import argparse
import csv
import logging
import os
import platform
import tempfile
import time
from pathlib import Path

from metadata.build import BuildConfig, build_metadata
from metadata.sources import SourceSpec

COMMAND = "python -m benchmarks.metadata"
SOURCE_COLUMNS = ("numerals", "wordnet", "unigrams", "bigrams", "titles")


def write_caption_corpus(shared_data: Path, destination: Path) -> list[SourceSpec]:
    """Write the captions of every caption file as one text file per language."""
    texts: dict[str, list[str]] = {}
    for path in sorted((shared_data / "captions").glob("*.tsv")):
        with path.open(encoding="utf-8", newline="") as handle:
            rows = csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)
            next(rows)
            for row in rows:
                texts.setdefault(row[0], []).append(row[-1])

    specs = []
    for lang in sorted(texts):
        target = destination / f"{lang}.txt"
        target.write_text("\n".join(texts[lang]) + "\n", encoding="utf-8")
        specs.append(SourceSpec(lang, str(target)))
    return specs


def shared_build_config(shared_data: Path, corpus: list[SourceSpec], output: Path) -> BuildConfig:
    """Return the build of every shared source, with the default selection rules."""
    frequency = shared_data / "frequency"
    return BuildConfig(
        output=str(output),
        wordnet=[
            SourceSpec(None, str(shared_data / "wordnet" / "omw")),
            SourceSpec(None, str(shared_data / "wordnet" / "omw_wiktionary")),
            SourceSpec("eng", str(shared_data / "wordnet" / "en" / "wordnet30_synset_head_lemmas.txt")),
        ],
        frequency=[
            SourceSpec(None, str(frequency / "wordfreq")),
            SourceSpec(None, str(frequency / "opensubtitles2018_hermitdave")),
            SourceSpec(None, str(frequency / "wikipedia_ilyasemenov")),
        ],
        wikipedia=corpus,
    )


def entries_table(manifest: dict) -> str:
    """Return a Markdown table of entries per language and per source."""
    lines = [
        "| lang | entries | " + " | ".join(SOURCE_COLUMNS) + " |",
        "|---|---:|" + "---:|" * len(SOURCE_COLUMNS),
    ]
    totals = {column: 0 for column in ("entries", *SOURCE_COLUMNS)}
    for lang, counts in sorted(manifest["counts"].items()):
        cells = [f"{counts.get(column, 0):,}" for column in ("entries", *SOURCE_COLUMNS)]
        lines.append(f"| {lang} | " + " | ".join(cells) + " |")
        for column in totals:
            totals[column] += counts.get(column, 0)
    lines.append("| **all** | " + " | ".join(f"{totals[column]:,}" for column in ("entries", *SOURCE_COLUMNS)) + " |")
    return "\n".join(lines)


def run(shared_data: Path, output: Path | None = None) -> str:
    """Build the metadata of the shared sources; return a Markdown section with times and counts."""
    from curation.spark_session import create_spark_session

    with tempfile.TemporaryDirectory(prefix="metadata-bench-") as scratch:
        scratch_path = Path(scratch)
        corpus = write_caption_corpus(shared_data, scratch_path)
        target = output or scratch_path / "metadata"

        started = time.perf_counter()
        spark = create_spark_session(master="local[2]", app_name="metadata-benchmark", shuffle_partitions=4)
        session_seconds = time.perf_counter() - started
        try:
            started = time.perf_counter()
            manifest = build_metadata(shared_build_config(shared_data, corpus, target), spark_factory=lambda: spark)
            build_seconds = time.perf_counter() - started
        finally:
            spark.stop()

    total_entries = sum(item["entries"] for item in manifest["languages"].values())
    tokens = sum(item.get("tokens", 0) for item in manifest["wikipedia_counts"].values())
    lines = [
        "## Metadata build",
        "",
        f"Machine: {os.cpu_count()} cores, Python {platform.python_version()}, Spark local[2]. Command: `{COMMAND}`.",
        "",
        f"- Spark session start: {session_seconds:.1f} s",
        f"- build (read, count, merge, write): {build_seconds:.1f} s",
        f"- {len(manifest['languages'])} languages, {total_entries:,} entries; "
        f"{len(manifest['wikipedia_counts'])} caption corpora, {tokens:,} tokens counted",
        f"- {len(manifest['sources'])} source files read",
        "",
        entries_table(manifest),
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared-data", type=Path, default=Path(os.environ.get("WORLDCLIP_SHARED_DATA", "../shared/data")))
    parser.add_argument("--output", type=Path, default=None, help="keep the built metadata directory here")
    arguments = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    print(run(arguments.shared_data.resolve(), arguments.output))


if __name__ == "__main__":
    main()
