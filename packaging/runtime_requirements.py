"""Print the project's runtime requirements from setup.cfg, one per line, for ``pip install -r``.

The cluster environment archive installs ``install_requires`` plus the extras named with
``--extra``, less the distributions named with ``--exclude`` (pyspark, which every node has).
"""

from __future__ import annotations

import argparse
import configparser
import re
import sys
from pathlib import Path

SETUP_CFG = Path(__file__).resolve().parents[1] / "setup.cfg"

# The distribution name at the start of a requirement string (PEP 508).
_NAME_PATTERN = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


def normalize_name(name: str) -> str:
    """Return the PEP 503 normalized form of a distribution name."""
    return re.sub(r"[-_.]+", "-", name).lower()


def _lines(value: str) -> list[str]:
    return [line.strip() for line in value.splitlines() if line.strip() and not line.strip().startswith("#")]


def read_requirements(setup_cfg: Path, extras: list[str], exclude: list[str]) -> list[str]:
    """Return install_requires plus the requirements of ``extras``, less the ``exclude`` names."""
    parser = configparser.ConfigParser()
    if not parser.read(setup_cfg, encoding="utf-8"):
        raise FileNotFoundError(f"setup.cfg not found at {setup_cfg}")

    requirements = _lines(parser.get("options", "install_requires", fallback=""))
    for extra in extras:
        if not parser.has_option("options.extras_require", extra):
            raise ValueError(f"extra {extra!r} not found in [options.extras_require] of {setup_cfg}")
        requirements += _lines(parser.get("options.extras_require", extra))

    excluded = {normalize_name(name) for name in exclude}
    kept = []
    for requirement in requirements:
        match = _NAME_PATTERN.match(requirement)
        if match is None:
            raise ValueError(f"cannot read the distribution name of requirement {requirement!r} in {setup_cfg}")
        if normalize_name(match.group(1)) not in excluded:
            kept.append(requirement)
    return kept


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--setup-cfg", type=Path, default=SETUP_CFG, help="setup.cfg to read")
    parser.add_argument("--extra", action="append", default=[], help="extra whose requirements are added; repeatable")
    parser.add_argument("--exclude", action="append", default=[], help="distribution name to leave out; repeatable")
    args = parser.parse_args(argv)

    try:
        requirements = read_requirements(args.setup_cfg, args.extra, args.exclude)
    except (FileNotFoundError, ValueError) as error:
        print(f"runtime_requirements.py: error: {error}", file=sys.stderr)
        return 2
    print("\n".join(requirements))
    return 0


if __name__ == "__main__":
    sys.exit(main())
