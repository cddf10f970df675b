"""Stateless random draws: a uniform number in [0, 1) from a hash of the values that identify it.

Draws come from BLAKE2b of the joined values, never from a stateful generator, so a draw does not
depend on which process makes it, in which order, or whether the run was resumed.
"""

from __future__ import annotations

import hashlib

_SCALE = float(2**64)


def hash64(*parts: object) -> int:
    """Return a 64-bit unsigned integer from the BLAKE2b digest of the parts joined by NUL."""
    text = "\x00".join(str(part) for part in parts)
    return int.from_bytes(hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest(), "little")


def uniform(*parts: object) -> float:
    """Return a number in [0, 1) determined by the parts."""
    return hash64(*parts) / _SCALE
