"""The extraction stage: one WARC or WAT file in, its image-text pairs and counters out."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import fsspec

from curation.extraction.charsets import decode_html
from curation.extraction.drops import (
    NOT_HTML,
    NOT_HTTP_RESPONSE,
    NOT_SUCCESS_STATUS,
    UNDECODABLE,
    UNREADABLE_FILE,
    ExtractionStats,
)
from curation.extraction.gzip_members import DEFAULT_CHUNK_BYTES, GzipMemberReader
from curation.extraction.html_images import find_images
from curation.extraction.pairs import ImageTextPair, page_pairs
from curation.extraction.warc_records import DEFAULT_MAX_RECORD_BYTES, ArchiveRecord, read_archive_records
from curation.extraction.wat_records import read_wat_page

logger = logging.getLogger(__name__)

HTML_MEDIA_TYPES = ("text/html", "application/xhtml+xml")


def media_type(content_type: str | None) -> str:
    """Return the lower-case media type of a Content-Type value, without parameters."""
    if not content_type:
        return ""
    return content_type.split(";", 1)[0].strip().lower()


def is_html_response(record: ArchiveRecord) -> bool:
    """Return True when the payload is HTML: Common Crawl's identified type, else the HTTP header."""
    if record.identified_payload_type:
        return media_type(record.identified_payload_type) in HTML_MEDIA_TYPES
    return media_type(record.http_content_type) in HTML_MEDIA_TYPES


class ExtractionStage:
    """Extract image-text pairs from WARC files (HTML responses) and WAT files (metadata records).

    The record type decides the path, so one file may hold both kinds. Files are opened with
    fsspec, so any filesystem fsspec has a driver for works (local, s3://, gs://, https://, ...).
    """

    name = "extract_pairs"

    def __init__(
        self,
        chunk_bytes: int = DEFAULT_CHUNK_BYTES,
        storage_options: dict[str, Any] | None = None,
        max_record_bytes: int = DEFAULT_MAX_RECORD_BYTES,
    ) -> None:
        self.chunk_bytes = chunk_bytes
        self.storage_options = storage_options or {}
        self.max_record_bytes = max_record_bytes

    def process_file(self, path: str, stats: ExtractionStats) -> Iterator[ImageTextPair]:
        """Yield the pairs of ``path`` in record order and add its counters to ``stats``."""
        stats.files += 1
        try:
            opened = fsspec.open(path, "rb", compression=None, **self.storage_options)
            raw = opened.open()
        except (OSError, ValueError) as error:
            stats.add_fault(path, UNREADABLE_FILE, f"open failed: {error}")
            logger.error("Cannot open %s: %s", path, error)
            return

        with raw:
            reader = GzipMemberReader(raw, chunk_bytes=self.chunk_bytes)
            for record in read_archive_records(reader, path, stats, self.max_record_bytes):
                stats.records_read += 1
                yield from self.process_record(record, path, stats)

    def process_record(
        self, record: ArchiveRecord, source_file: str, stats: ExtractionStats
    ) -> Iterator[ImageTextPair]:
        """Yield the pairs of one record, or count why it yields none."""
        if record.damage is not None:
            stats.drop_record(record.damage)
            return

        if record.record_type == "response":
            yield from self._warc_response_pairs(record, source_file, stats)
        elif record.record_type == "metadata" and media_type(record.content_type) == "application/json":
            yield from self._wat_pairs(record, source_file, stats)
        else:
            stats.drop_record(NOT_HTTP_RESPONSE)

    def _warc_response_pairs(
        self, record: ArchiveRecord, source_file: str, stats: ExtractionStats
    ) -> Iterator[ImageTextPair]:
        if record.http_status is None or not record.target_uri:
            stats.drop_record(NOT_HTTP_RESPONSE)
            return
        if not 200 <= record.http_status < 300:
            stats.drop_record(NOT_SUCCESS_STATUS)
            return
        if not is_html_response(record):
            stats.drop_record(NOT_HTML)
            return

        decoded = decode_html(record.body, record.http_content_type)
        if decoded is None:
            stats.drop_record(UNDECODABLE)
            return
        stats.charset_sources[decoded.source] += 1

        stats.records_used += 1
        emitted_before = stats.pairs_emitted
        yield from page_pairs(
            find_images(decoded.text), record.target_uri, record.record_id, source_file, stats
        )
        if stats.pairs_emitted > emitted_before:
            stats.records_with_pairs += 1

    def _wat_pairs(
        self, record: ArchiveRecord, source_file: str, stats: ExtractionStats
    ) -> Iterator[ImageTextPair]:
        page, drop_reason = read_wat_page(record.body)
        if page is None:
            stats.drop_record(drop_reason or UNDECODABLE)
            return

        stats.records_used += 1
        emitted_before = stats.pairs_emitted
        yield from page_pairs(
            page.images, page.page_url, page.warc_record_id, source_file, stats, decode_entities=True
        )
        if stats.pairs_emitted > emitted_before:
            stats.records_with_pairs += 1
