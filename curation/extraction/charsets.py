"""Decode HTML bodies: the HTTP header charset first, then the meta tag, then detection.

Labels are mapped to the WHATWG encoding names with resiliparse (``map_encoding_to_html5``), as
browsers do, so ``latin1`` decodes as windows-1252 and ``gb2312`` as GBK. Two WHATWG decoders
are wider than the Python codecs of the same name, and the wider codec is used:
Shift_JIS decodes as cp932 (NEC and IBM extensions) and GBK as gb18030.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterator
from dataclasses import dataclass

from resiliparse.parse.encoding import detect_encoding, map_encoding_to_html5

# The HTML standard's prescan reads 1024 bytes; 4096 also finds meta tags behind long comments.
META_PRESCAN_BYTES = 4096
# Bytes checked for NUL and other control bytes that mark a binary body.
BINARY_SNIFF_BYTES = 4096
MAX_CONTROL_BYTE_RATIO = 0.05
# Share of U+FFFD allowed when no candidate decodes without errors.
MAX_REPLACEMENT_RATIO = 0.01

WIDER_PYTHON_CODECS = {"shift_jis": "cp932", "gbk": "gb18030"}

HEADER_CHARSET = re.compile(rb"""charset\s*=\s*["']?\s*([A-Za-z0-9_:.+\-]+)""", re.IGNORECASE)
META_CHARSET = re.compile(
    rb"""<meta\b[^>]*?charset\s*=\s*["']?\s*([A-Za-z0-9_:.+\-]+)""", re.IGNORECASE
)
CONTROL_BYTES = bytes(value for value in range(32) if value not in (9, 10, 12, 13, 27))


@dataclass(frozen=True)
class DecodedHtml:
    """HTML text with the Python codec that decoded it and where that codec came from."""

    text: str
    codec: str
    source: str


def python_codec(label: str | None) -> str | None:
    """Return the Python codec for an HTTP or HTML charset label, or None for unknown labels."""
    if not label:
        return None
    html5_name = map_encoding_to_html5(label.strip(), fallback_utf8=False)
    if html5_name is None:
        return None
    codec = WIDER_PYTHON_CODECS.get(html5_name, html5_name)
    try:
        codecs.lookup(codec)
    except LookupError:
        return None
    return codec


def charset_from_content_type(content_type: str | None) -> str | None:
    if not content_type:
        return None
    match = HEADER_CHARSET.search(content_type.encode("latin-1", errors="replace"))
    return match.group(1).decode("ascii") if match else None


def charset_from_meta(body: bytes) -> str | None:
    match = META_CHARSET.search(body[:META_PRESCAN_BYTES])
    return match.group(1).decode("ascii") if match else None


def looks_binary(body: bytes) -> bool:
    """Return True when the start of ``body`` contains NUL bytes or many other control bytes."""
    head = body[:BINARY_SNIFF_BYTES]
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return False
    if b"\x00" in head:
        return True
    control_count = len(head) - len(head.translate(None, CONTROL_BYTES))
    return bool(head) and control_count / len(head) > MAX_CONTROL_BYTE_RATIO


def decode_html(body: bytes, content_type: str | None) -> DecodedHtml | None:
    """Decode ``body`` with the first charset that decodes it without errors; None if binary.

    The candidates, in order: a byte order mark, the HTTP Content-Type charset, the meta tag
    charset, the detected charset (resiliparse, uchardet), UTF-8. When none decodes without
    errors, the first candidate decodes with replacement characters, and the body counts as
    undecodable (None) if more than 1% of the characters were replaced.
    """
    if looks_binary(body):
        return None

    first_known: tuple[str, str] | None = None
    for codec, source in _candidate_codecs(body, content_type):
        if codec is None:
            continue
        if first_known is None:
            first_known = (codec, source)
        try:
            return DecodedHtml(body.decode(codec), codec, source)
        except UnicodeDecodeError:
            continue

    codec, source = first_known or ("utf-8", "utf8_fallback")
    text = body.decode(codec, errors="replace")
    if text and text.count("\ufffd") / len(text) > MAX_REPLACEMENT_RATIO:
        return None
    return DecodedHtml(text, codec, f"{source}_with_replacements")


def _candidate_codecs(body: bytes, content_type: str | None) -> Iterator[tuple[str | None, str]]:
    """Yield ``(codec, source)`` in the order of trust; detection runs only when it is reached."""
    if body.startswith(codecs.BOM_UTF8):
        yield "utf-8-sig", "bom"
    elif body.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        yield "utf-16", "bom"
    yield python_codec(charset_from_content_type(content_type)), "http_header"
    yield python_codec(charset_from_meta(body)), "meta_tag"
    yield python_codec(detect_encoding(body)), "detected"
    yield "utf-8", "utf8_fallback"
