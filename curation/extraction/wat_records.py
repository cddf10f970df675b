"""Read the images of a page from a WAT metadata record (the JSON that Common Crawl writes).

The layout is that of webarchive-commons (``ExtractingParseObserver``): the response's
``Envelope.Payload-Metadata.HTTP-Response-Metadata.HTML-Metadata`` contains ``Head.Base`` (the
``<base href>``) and ``Links``, in which ``<img>`` tags appear as
``{"path": "IMG@/src", "url": ..., "alt": ..., "title": ...}`` with the URL as written in the page.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from curation.extraction.drops import INVALID_RECORD, NOT_HTML, NOT_HTTP_RESPONSE, UNDECODABLE
from curation.extraction.html_images import ImageTag, PageImages

IMG_SRC_PATH = "IMG@/src"
# WAT records carry only these two text attributes of an image.
WAT_TEXT_ATTRIBUTES = ("alt", "title")
HTTP_RESPONSE_TYPE = "application/http; msgtype=response"


@dataclass(frozen=True)
class WatPage:
    """The page URL and WARC record id that a WAT record describes, with its images."""

    page_url: str
    warc_record_id: str
    images: PageImages


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def read_wat_page(body: bytes) -> tuple[WatPage | None, str | None]:
    """Return ``(page, None)`` for an HTML response's WAT record, else ``(None, drop_reason)``."""
    try:
        document = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None, UNDECODABLE
    if not isinstance(document, dict):
        return None, INVALID_RECORD

    envelope = _mapping(document.get("Envelope"))
    warc_headers = _mapping(envelope.get("WARC-Header-Metadata"))
    payload = _mapping(envelope.get("Payload-Metadata"))
    if warc_headers.get("WARC-Type") != "response" or payload.get("Actual-Content-Type") != HTTP_RESPONSE_TYPE:
        return None, NOT_HTTP_RESPONSE

    response = _mapping(payload.get("HTTP-Response-Metadata"))
    if "HTML-Metadata" not in response:
        return None, NOT_HTML
    html_metadata = _mapping(response.get("HTML-Metadata"))

    page_url = warc_headers.get("WARC-Target-URI")
    if not isinstance(page_url, str) or not page_url:
        return None, INVALID_RECORD

    base_href = _mapping(html_metadata.get("Head")).get("Base")
    links = html_metadata.get("Links")
    images = []
    for link in links if isinstance(links, list) else []:
        if not isinstance(link, dict) or link.get("path") != IMG_SRC_PATH:
            continue
        # NOTE: webarchive-commons stores attribute values as the page wrote them, so entity
        # references are decoded later (texts.normalize_text with decode_entities=True).
        texts = tuple(
            (name, str(link[name])) for name in WAT_TEXT_ATTRIBUTES if link.get(name) is not None
        )
        src = link.get("url")
        images.append(ImageTag(src=src if isinstance(src, str) else None, texts=texts))

    page = WatPage(
        page_url=page_url,
        warc_record_id=str(warc_headers.get("WARC-Record-ID") or ""),
        images=PageImages(base_href=base_href if isinstance(base_href, str) else None, images=images),
    )
    return page, None
