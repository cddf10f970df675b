"""Normalize the alt, title and data-image-title texts of images."""

from __future__ import annotations

import html


def normalize_text(value: str | None, decode_entities: bool = False) -> str:
    """Collapse every run of Unicode whitespace (NBSP and ideographic space included) to one space.

    ``decode_entities`` decodes HTML character references. HTML parsers already decode them in
    attribute values, so only texts that come from elsewhere (WAT records) need it.
    """
    if not value:
        return ""
    if decode_entities:
        value = html.unescape(value)
    return " ".join(value.split())
