"""Stable identifiers shared by every job.

An image id is the first 32 hex digits (128 bits) of the SHA-256 of the image URL
encoded as UTF-8. Spark computes the same value with
``substring(sha2(url, 256), 1, 32)``, so ids made in Python and in Spark SQL agree.
"""

from __future__ import annotations

import hashlib

IMAGE_ID_HEX_DIGITS = 32


def image_id_from_url(url: str) -> str:
    """Return the stable image id of ``url``."""
    return hashlib.sha256(url.encode("utf-8")).hexdigest()[:IMAGE_ID_HEX_DIGITS]
