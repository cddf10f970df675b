"""Extract image-text pairs (alt, title, data-image-title of <img>) from Common Crawl WARC or WAT files.

Examples:
    spark-submit jobs/extract_pairs.py --output out/pairs crawl/*.warc.gz
    python jobs/extract_pairs.py --output out/pairs \\
        --listing warc.paths.gz --base https://data.commoncrawl.org/ --max-files 10

The output folder gets pairs/ (Parquet, the curation job's input: --text-col text --url-col url
--id-col image_id), stats.json (counters of every record and candidate pair) and _SUCCESS.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

REPOSITORY_ROOT = Path(__file__).resolve().parents[1]
if str(REPOSITORY_ROOT) not in sys.path:
    sys.path.insert(0, str(REPOSITORY_ROOT))

from curation.extraction.gzip_members import DEFAULT_CHUNK_BYTES  # noqa: E402
from curation.extraction.inputs import resolve_inputs  # noqa: E402
from curation.extraction.warc_records import DEFAULT_MAX_RECORD_BYTES  # noqa: E402

logger = logging.getLogger("extract_pairs")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="extract_pairs.py",
        description=__doc__.split("\n\n")[0],
        epilog="Faults (truncated or corrupt gzip, unreadable files, invalid WARC headers) are counted "
        "in stats.json, and the records read before a fault are kept.",
    )

    source = parser.add_argument_group("input")
    source.add_argument(
        "inputs",
        nargs="*",
        metavar="PATH",
        help="WARC (.warc.gz, .warc) or WAT (.wat.gz) files, folders or globs, on any filesystem "
        "fsspec reaches (local, s3://, gs://, https://)",
    )
    source.add_argument(
        "--listing",
        help="Common Crawl listing of files to read, one path a line, gzip allowed (warc.paths.gz, wat.paths.gz)",
    )
    source.add_argument(
        "--base",
        help="location the listing's relative paths start from, e.g. s3://commoncrawl/ or "
        "https://data.commoncrawl.org/ (default: the listing's folder)",
    )
    source.add_argument("--max-files", type=int, help="read only the first N files (default: all)")
    source.add_argument(
        "--storage-options",
        default="{}",
        help='JSON object passed to fsspec for every file, e.g. \'{"anon": true}\' for s3:// (default: {})',
    )

    reading = parser.add_argument_group("reading")
    reading.add_argument(
        "--chunk-bytes",
        type=int,
        default=DEFAULT_CHUNK_BYTES,
        help=f"compressed bytes read from a file per step, in bytes (default: {DEFAULT_CHUNK_BYTES})",
    )
    reading.add_argument(
        "--max-record-bytes",
        type=int,
        default=DEFAULT_MAX_RECORD_BYTES,
        help="records with a larger payload are skipped and counted as record_too_large, in bytes "
        f"(default: {DEFAULT_MAX_RECORD_BYTES})",
    )

    execution = parser.add_argument_group("output and execution")
    execution.add_argument(
        "--output", required=True, help="output folder; its pairs/, stats.json and _SUCCESS are replaced"
    )
    execution.add_argument(
        "--master", default="local[*]", help="Spark master (default: local[*]; 'none' keeps spark-submit's)"
    )
    execution.add_argument("--log-level", default="INFO", help="logging level of the driver (default: INFO)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    try:
        storage_options = json.loads(args.storage_options)
    except json.JSONDecodeError as error:
        logger.error("--storage-options is not valid JSON (%s): %r", error, args.storage_options)
        return 2
    if args.max_files is not None and args.max_files < 1:
        logger.error("--max-files must be at least 1, got %d", args.max_files)
        return 2
    if args.chunk_bytes < 1024:
        logger.error("--chunk-bytes must be at least 1024, got %d", args.chunk_bytes)
        return 2
    if args.max_record_bytes < 1:
        logger.error("--max-record-bytes must be at least 1, got %d", args.max_record_bytes)
        return 2

    try:
        files = resolve_inputs(args.inputs, args.listing, args.base, args.max_files, storage_options)
    except (OSError, ValueError) as error:
        logger.error("Cannot list the input files: %s", error)
        return 2

    from curation.extraction.spark_job import run_extraction
    from curation.spark_session import create_spark_session

    master = None if args.master == "none" else args.master
    spark = create_spark_session(master=master, app_name="worldclip-extract-pairs")
    try:
        result = run_extraction(
            spark,
            files,
            args.output,
            chunk_bytes=args.chunk_bytes,
            storage_options=storage_options,
            max_record_bytes=args.max_record_bytes,
            job_options={
                "inputs": args.inputs,
                "listing": args.listing,
                "base": args.base,
                "max_files": args.max_files,
                "chunk_bytes": args.chunk_bytes,
                "max_record_bytes": args.max_record_bytes,
            },
        )
    finally:
        spark.stop()

    totals = result.stats.to_dict()
    if totals["faults"]["unreadable_file"] == len(files):
        logger.error("None of the %d input files could be read; see %s", len(files), result.stats_path)
        return 1
    logger.info("Wrote %d pairs to %s; counters in %s", totals["pairs_emitted"], result.pairs_path, result.stats_path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
