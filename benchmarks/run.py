"""Run the benchmark suites and write their results to one Markdown page.

Run: ``python -m benchmarks.run --output docs/benchmarks.md [--suite NAME ...]`` from the
repository root, or ``make bench``. Each suite's module exposes ``run(shared_data) -> str``.
"""

from __future__ import annotations

import argparse
import datetime
import importlib
import logging
import os
import platform
import sys
from pathlib import Path

SUITES = ("curation", "extraction", "metadata", "scale", "training")
HEADER = """# Benchmarks

Written by `make bench` (`python -m benchmarks.run`). Each section names the command that
measured it and the machine it ran on. Speed targets are checked here, not in timed tests.
"""


def machine_line() -> str:
    return f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, {platform.system()} {platform.release()}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", default="docs/benchmarks.md", help="Markdown file to write")
    parser.add_argument("--suite", action="append", choices=SUITES, help="suite to run; repeat for several (default: all)")
    parser.add_argument(
        "--shared-data",
        default=os.environ.get("WORLDCLIP_SHARED_DATA", "../shared/data"),
        help="shared data directory with MANIFEST.md",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)

    shared_data = Path(args.shared_data).resolve()
    if not (shared_data / "MANIFEST.md").is_file():
        parser.error(f"shared data not found at {shared_data}; pass --shared-data")

    sections = [HEADER, f"Last run: {datetime.date.today().isoformat()} on {machine_line()}.\n"]
    for name in args.suite or SUITES:
        module = importlib.import_module(f"benchmarks.{name}")
        logging.getLogger(__name__).warning("running benchmark suite %s", name)
        sections.append(module.run(shared_data).rstrip() + "\n")

    Path(args.output).write_text("\n".join(sections), encoding="utf-8")
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
