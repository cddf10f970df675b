"""Split the gzip members of a WARC or WAT file into records with fastwarc.

fastwarc was measured against warcio on the same input (see docs/extraction.md) and kept for
its speed. Each record's body is read in full and checked against its Content-Length. A record is
handed on only after the next record header, or the clean end of its member, was read. So when a
Content-Length is too small, the next header is unreadable, and the record before it is marked
as damaged instead of passing its cut body on.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, replace

from fastwarc.warc import ArchiveIterator, WarcRecord, WarcRecordType

from curation.extraction.drops import (
    CONTENT_LENGTH_MISMATCH,
    INVALID_WARC_HEADER,
    RECORD_TOO_LARGE,
    TRUNCATED_GZIP,
    TRUNCATED_RECORD,
    ExtractionStats,
)
from curation.extraction.gzip_members import GzipMemberReader

logger = logging.getLogger(__name__)

# Records with a larger payload are skipped unread, so that one huge record (a video, for
# example) is never held in memory.
DEFAULT_MAX_RECORD_BYTES = 32 << 20


@dataclass(frozen=True)
class ArchiveRecord:
    """One WARC record with its body read; ``damage`` names a record drop reason or is None."""

    record_type: str
    record_id: str
    target_uri: str | None
    content_type: str | None
    identified_payload_type: str | None
    http_status: int | None
    http_content_type: str | None
    body: bytes
    damage: str | None = None


# The record cut by the end of a truncated file when none of its header could be parsed.
TRUNCATED_PLACEHOLDER = ArchiveRecord(
    record_type="unknown",
    record_id="",
    target_uri=None,
    content_type=None,
    identified_payload_type=None,
    http_status=None,
    http_content_type=None,
    body=b"",
    damage=TRUNCATED_RECORD,
)


def _to_archive_record(record: WarcRecord, max_record_bytes: int) -> ArchiveRecord:
    """Read the body of ``record`` and check its length against the declared Content-Length."""
    declared_length = record.content_length
    if declared_length > max_record_bytes:
        body = b""
        damage = RECORD_TOO_LARGE
    else:
        body = record.reader.read()
        damage = CONTENT_LENGTH_MISMATCH if len(body) < declared_length else None

    http_status = None
    http_content_type = None
    if record.is_http and record.is_http_parsed:
        http_status = record.http_headers.status_code
        http_content_type = record.http_headers.get("Content-Type")

    headers = record.headers
    return ArchiveRecord(
        record_type=str(record.record_type),
        record_id=record.record_id or "",
        target_uri=headers.get("WARC-Target-URI"),
        content_type=headers.get("Content-Type"),
        identified_payload_type=headers.get("WARC-Identified-Payload-Type"),
        http_status=http_status,
        http_content_type=http_content_type,
        body=body,
        damage=damage,
    )


def read_archive_records(
    reader: GzipMemberReader,
    source_file: str,
    stats: ExtractionStats,
    max_record_bytes: int = DEFAULT_MAX_RECORD_BYTES,
) -> Iterator[ArchiveRecord]:
    """Yield every record of ``reader``; faults go to ``stats`` and reading stops at file faults.

    An unreadable record header ends the current gzip member only: reading goes on with the
    next member, which in Common Crawl files is the next record.
    """
    while reader.next_member():
        iterator = iter(
            ArchiveIterator(
                reader,
                record_types=WarcRecordType.any_type,
                parse_http=True,
                stream_detect=False,
                strict_mode=True,
            )
        )
        pending: ArchiveRecord | None = None

        while True:
            try:
                record = next(iterator)
            except StopIteration:
                break
            except (OSError, ValueError) as error:
                # A header cut by the end of a truncated file is counted as a truncated record below.
                if reader.fault is None:
                    stats.add_fault(source_file, INVALID_WARC_HEADER, f"gzip member {reader.members}: {error}")
                    logger.warning(
                        "Invalid WARC header in %s, gzip member %d: %s", source_file, reader.members, error
                    )
                    if pending is not None:
                        pending = replace(pending, damage=CONTENT_LENGTH_MISMATCH)
                break

            if pending is not None:
                yield pending
            pending = _to_archive_record(record, max_record_bytes)

        truncated = reader.fault is not None and reader.fault[0] == TRUNCATED_GZIP
        if pending is not None and truncated and pending.damage is not None:
            pending = replace(pending, damage=TRUNCATED_RECORD)
        if pending is not None:
            yield pending
        if truncated and (pending is None or pending.damage is None):
            # NOTE: a file cut inside the gzip trailer, after the last record's bytes, also
            # lands here and counts one truncated record that had in fact been read whole.
            yield TRUNCATED_PLACEHOLDER

    if reader.fault is not None:
        reason, detail = reader.fault
        stats.add_fault(source_file, reason, detail)
        logger.warning("Stopped reading %s: %s (%s)", source_file, reason, detail)
