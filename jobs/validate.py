"""Validate a finished curation output directory before handing it to other teams.

Checks the _SUCCESS markers, the Parquet schemas, the row accounting of stats.json against the
Parquet files, entry ids against the metadata, probabilities in (0, 1] and one row per image in
curated/. Prints one violation per line and exits with 1 when there are any, 0 otherwise, and 2
when the output directory or the metadata cannot be read.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from curation.validation import ValidationError, validate_output  # noqa: E402

logger = logging.getLogger("validate")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="validate.py",
        description=__doc__.splitlines()[0],
        epilog="Exit status: 0 valid, 1 violations found (one per line on stdout), 2 unusable arguments.",
    )
    parser.add_argument("output", help="output directory written by jobs/curate.py (a local path)")
    parser.add_argument(
        "--metadata",
        default=None,
        help="metadata directory the run used; without it, entry ids are not checked against the metadata",
    )
    parser.add_argument("--log-level", default="WARNING", choices=["DEBUG", "INFO", "WARNING", "ERROR"], help="log level")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=args.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    try:
        violations = validate_output(args.output, args.metadata)
    except ValidationError as error:
        print(f"validate.py: error: {error}", file=sys.stderr)
        return 2

    for violation in violations:
        print(violation)
    if violations:
        print(f"validate.py: {len(violations)} violations in {args.output}", file=sys.stderr)
        return 1
    logger.info("%s is valid", args.output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
