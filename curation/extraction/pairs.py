"""Turn the images of one page into image-text pairs, counting every candidate that is dropped."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from curation.extraction.drops import DUPLICATE_ON_PAGE, EMPTY_TEXT, INVALID_URL, ExtractionStats
from curation.extraction.html_images import PageImages
from curation.extraction.texts import normalize_text
from curation.extraction.urls import page_base_url, resolve_image_url
from curation.ids import image_id_from_url

PAIR_COLUMNS = ("image_id", "url", "page_url", "text", "text_source", "warc_record_id", "source_file")


@dataclass(frozen=True)
class ImageTextPair:
    """One output row: an absolute image URL and one of its texts on one page."""

    image_id: str
    url: str
    page_url: str
    text: str
    text_source: str
    warc_record_id: str
    source_file: str


def page_pairs(
    page: PageImages,
    page_url: str,
    warc_record_id: str,
    source_file: str,
    stats: ExtractionStats,
    decode_entities: bool = False,
) -> Iterator[ImageTextPair]:
    """Yield the pairs of one page: one per (absolute URL, text), in page order.

    Each text attribute present on an image is one candidate. A candidate is dropped for an
    empty text, for a URL that is missing, ``data:``, not http(s) or invalid, or for repeating
    an (URL, text) already emitted from this page.
    """
    base_url = page_base_url(page_url, page.base_href)
    seen: set[tuple[str, str]] = set()

    for image in page.images:
        stats.images_seen += 1
        url: str | None = None
        url_drop: str | None = None
        url_resolved = False

        for source, raw_text in image.texts:
            stats.candidates += 1
            text = normalize_text(raw_text, decode_entities=decode_entities)
            if not text:
                stats.drop_candidate(EMPTY_TEXT)
                continue

            if not url_resolved:
                url, url_drop = resolve_image_url(image.src, base_url)
                url_resolved = True
            if url is None:
                stats.drop_candidate(url_drop or INVALID_URL)
                continue

            key = (url, text)
            if key in seen:
                stats.drop_candidate(DUPLICATE_ON_PAGE)
                continue
            seen.add(key)

            stats.pairs_emitted += 1
            yield ImageTextPair(
                image_id=image_id_from_url(url),
                url=url,
                page_url=page_url,
                text=text,
                text_source=source,
                warc_record_id=warc_record_id,
                source_file=source_file,
            )
