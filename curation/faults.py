"""Fault injection for tests: kill a Python worker once, or the driver at a named point.

Only tests set these variables. ``WORLDCLIP_TEST_KILL_WORKER_MARKER``: the driver ships the
marker path to the matching tasks. The first task to find no marker file creates it and exits
its worker process at once, as a crashed worker would, so Spark retries it and the retry goes on.
``WORLDCLIP_TEST_KILL_DRIVER_AT``: the driver sends itself SIGKILL when it reaches that point,
such as ``after:annotated``, ``before-checkpoint:sampled`` or ``publish:matched``.
"""

from __future__ import annotations

import os
import signal

KILL_WORKER_ENV = "WORLDCLIP_TEST_KILL_WORKER_MARKER"
KILL_DRIVER_ENV = "WORLDCLIP_TEST_KILL_DRIVER_AT"


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


def maybe_kill_driver(point: str) -> None:
    """Send this process SIGKILL when the tests asked for a crash at ``point``."""
    if os.environ.get(KILL_DRIVER_ENV) == point:
        os.kill(os.getpid(), signal.SIGKILL)
