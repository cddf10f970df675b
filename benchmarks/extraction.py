"""Benchmark of the extraction stage: records per second and pairs per second on one core.

The input is built from the real Common Crawl capture in the shared data: the request, response
and metadata records of one Wikipedia page with 13 images and 7 pairs. Every record is repeated
with a new target URI and record id, and each record is its own gzip member, as in Common Crawl.
The stage runs in one Python process, so the rates are per core. The same file also times the
parsers that were compared (fastwarc against warcio, selectolax against resiliparse).

Run: ``python -m benchmarks.extraction [--pages N]`` from the repository root.
"""

from __future__ import annotations

import argparse
import gzip
import io
import os
import platform
import tempfile
import time
from pathlib import Path

from curation.extraction.drops import ExtractionStats
from curation.extraction.gzip_members import GzipMemberReader
from curation.extraction.stage import ExtractionStage
from curation.extraction.warc_records import read_archive_records

DEFAULT_PAGES = 400
CAPTURE = Path("commoncrawl") / "whirlwind.warc.gz"
# Team-written WAT records in the layout Common Crawl publishes (the shared capture's WAT file
# has no response record).
WAT_RECORDS = Path(__file__).resolve().parents[1] / "tests" / "data" / "extraction" / "pages.wat.gz"
COMMAND = "python -m benchmarks.extraction --pages {pages}"


def build_benchmark_warc(shared_data: Path, pages: int, destination: Path) -> int:
    """Write ``pages`` copies of the capture's records to ``destination``; return the record count."""
    members = gzip.decompress((shared_data / CAPTURE).read_bytes())
    records = [b"WARC/1.0" + chunk for chunk in members.split(b"WARC/1.0")[1:]]
    capture_records = [record for record in records if b"WARC-Type: warcinfo" not in record[:200]]

    written = 0
    with destination.open("wb") as handle:
        handle.write(gzip.compress(records[0], compresslevel=6, mtime=0))
        written += 1
        for page in range(pages):
            for record in capture_records:
                copy = record.replace(b"/wiki/Escopete", f"/wiki/Escopete_{page}".encode())
                copy = copy.replace(b"urn:uuid:", f"urn:uuid:{page:08x}".encode(), 1)
                copy = _fix_content_length(copy)
                handle.write(gzip.compress(copy, compresslevel=6, mtime=0))
                written += 1
    return written


def build_benchmark_wat(pages: int, destination: Path) -> int:
    """Write ``pages`` copies of the team-written WAT records to ``destination``; return the record count."""
    members = []
    reader = GzipMemberReader(io.BytesIO(WAT_RECORDS.read_bytes()))
    while reader.next_member():
        members.append(gzip.compress(reader.read(), compresslevel=6, mtime=0))

    with destination.open("wb") as handle:
        for _ in range(pages):
            handle.writelines(members)
    return pages * len(members)


def _fix_content_length(record: bytes) -> bytes:
    """Recompute Content-Length after the block changed size."""
    head, separator, rest = record.partition(b"\r\n\r\n")
    block = rest[: -len(b"\r\n\r\n")]
    lines = [
        b"Content-Length: %d" % len(block) if line.startswith(b"Content-Length:") else line
        for line in head.split(b"\r\n")
    ]
    return b"\r\n".join(lines) + separator + block + b"\r\n\r\n"


def time_stage(path: Path) -> tuple[float, ExtractionStats]:
    stats = ExtractionStats()
    start = time.perf_counter()
    for _ in ExtractionStage().process_file(str(path), stats):
        pass
    return time.perf_counter() - start, stats


def time_fastwarc(path: Path) -> float:
    start = time.perf_counter()
    with path.open("rb") as raw:
        for _ in read_archive_records(GzipMemberReader(raw), str(path), ExtractionStats()):
            pass
    return time.perf_counter() - start


def time_fastwarc_native(path: Path) -> float:
    """Time fastwarc with its own gzip reader, without the member-by-member fault checks."""
    from fastwarc.warc import ArchiveIterator

    start = time.perf_counter()
    with path.open("rb") as raw:
        for record in ArchiveIterator(raw):
            record.reader.read()
    return time.perf_counter() - start


def time_warcio(path: Path) -> float | None:
    try:
        from warcio.archiveiterator import ArchiveIterator
    except ImportError:
        return None
    start = time.perf_counter()
    with path.open("rb") as raw:
        for record in ArchiveIterator(raw):
            record.content_stream().read()
    return time.perf_counter() - start


def time_html_parsers(shared_data: Path, repeats: int = 50) -> dict[str, float]:
    """Return milliseconds per parse of the capture's page (best of five batches) for each parser."""
    from resiliparse.parse.html import HTMLTree
    from selectolax.lexbor import LexborHTMLParser

    body = gzip.decompress((shared_data / CAPTURE).read_bytes())
    html_text = body[body.index(b"<!DOCTYPE html>") : body.index(b"</html>") + 7].decode("utf-8")

    def with_selectolax() -> None:
        for node in LexborHTMLParser(html_text).css("img"):
            node.attributes.get("alt")

    def with_resiliparse() -> None:
        for node in HTMLTree.parse(html_text).document.query_selector_all("img"):
            node.getattr("alt")

    timings = {}
    for name, parse in (("selectolax", with_selectolax), ("resiliparse", with_resiliparse)):
        parse()
        batch_seconds = []
        for _ in range(5):
            start = time.perf_counter()
            for _ in range(repeats):
                parse()
            batch_seconds.append(time.perf_counter() - start)
        timings[name] = min(batch_seconds) / repeats * 1000
    return timings


def run(shared_data: Path, pages: int = DEFAULT_PAGES) -> str:
    """Run the benchmark and return it as a Markdown section."""
    with tempfile.TemporaryDirectory(prefix="worldclip-bench-") as folder:
        path = Path(folder) / "benchmark.warc.gz"
        records = build_benchmark_warc(shared_data, pages, path)
        size_mib = path.stat().st_size / (1 << 20)

        # Best of three runs, so that other processes on the machine disturb the rate less.
        seconds, stats = min((time_stage(path) for _ in range(3)), key=lambda timing: timing[0])
        fastwarc_seconds = time_fastwarc(path)
        fastwarc_native_seconds = time_fastwarc_native(path)
        warcio_seconds = time_warcio(path)
        parser_ms = time_html_parsers(shared_data)

        wat_path = Path(folder) / "benchmark.wat.gz"
        wat_records = build_benchmark_wat(pages, wat_path)
        wat_seconds, wat_stats = min((time_stage(wat_path) for _ in range(3)), key=lambda timing: timing[0])

    assert stats.records_read == records, (stats.records_read, records)
    assert wat_stats.records_read == wat_records, (wat_stats.records_read, wat_records)
    lines = [
        "## Extraction of image-text pairs (WARC and WAT)",
        "",
        f"Command: `{COMMAND.format(pages=pages)}` (one Python process, so the rates are per core;"
        " best of three runs).",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}.",
        f"WARC input: {records} records ({pages} copies of the request, response and metadata records of "
        f"the real Common Crawl capture, one gzip member each), {size_mib:.1f} MiB compressed.",
        "",
        "| measure | value |",
        "|---|---:|",
        f"| records per second per core | {stats.records_read / seconds:,.0f} |",
        f"| HTML pages per second per core | {stats.records_used / seconds:,.0f} |",
        f"| pairs per second per core | {stats.pairs_emitted / seconds:,.0f} |",
        f"| record reading only, this reader: zlib members + fastwarc (records/s) | {records / fastwarc_seconds:,.0f} |",
        f"| record reading only, fastwarc with its own gzip reader (records/s) | {records / fastwarc_native_seconds:,.0f} |",
    ]
    if warcio_seconds is not None:
        lines.append(f"| record reading only, warcio (records/s) | {records / warcio_seconds:,.0f} |")
    lines.extend(
        [
            f"| HTML parse and `<img>` scan, selectolax (ms per page) | {parser_ms['selectolax']:.2f} |",
            f"| HTML parse and `<img>` scan, resiliparse (ms per page) | {parser_ms['resiliparse']:.2f} |",
            "",
            f"WAT input: {wat_records} records ({pages} copies of the team-written WAT records in "
            "tests/data/extraction/pages.wat.gz: 2 HTML pages with 7 images, 4 non-HTML or broken records).",
            "",
            "| measure | value |",
            "|---|---:|",
            f"| WAT records per second per core | {wat_stats.records_read / wat_seconds:,.0f} |",
            f"| pairs per second per core | {wat_stats.pairs_emitted / wat_seconds:,.0f} |",
            "",
        ]
    )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=DEFAULT_PAGES, help=f"copies of the capture (default: {DEFAULT_PAGES})")
    parser.add_argument(
        "--shared-data",
        type=Path,
        default=Path(os.environ.get("WORLDCLIP_SHARED_DATA", "../shared/data")),
        help="shared data folder (default: $WORLDCLIP_SHARED_DATA, else ../shared/data)",
    )
    args = parser.parse_args()
    print(run(args.shared_data, args.pages))


if __name__ == "__main__":
    main()
