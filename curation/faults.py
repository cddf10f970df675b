"""Fault injection for tests: kill a Python worker once, so that Spark's task retry is exercised.

Only tests set ``WORLDCLIP_TEST_KILL_WORKER_MARKER``. The driver reads it and ships the marker
path to the matching tasks; the first task to find no marker file creates it and exits its
worker process at once, as a crashed worker would. Later attempts find the marker and go on.
"""

from __future__ import annotations

import os

KILL_WORKER_ENV = "WORLDCLIP_TEST_KILL_WORKER_MARKER"


def kill_worker_marker() -> str | None:
    """Return the marker path the tests set, or None in normal runs."""
    return os.environ.get(KILL_WORKER_ENV) or None


def maybe_kill_worker(marker: str | None) -> None:
    """Exit this process the first time it runs with ``marker`` set."""
    if not marker:
        return
    try:
        descriptor = os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
    except FileExistsError:
        return
    os.close(descriptor)
    os._exit(17)
