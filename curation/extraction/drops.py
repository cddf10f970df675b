"""Outcome counters of the extraction: every record and every candidate pair ends in one of them.

Two balances hold for every file and for the whole job:

- records: ``records_read == records_used + sum(record_drops)``
- candidates: ``candidates == pairs_emitted + sum(candidate_drops)``

A record is *used* when its page (HTML or WAT metadata) was parsed, whether or not it yielded
pairs. A candidate is one text attribute (alt, title, data-image-title) present on one image.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

# Record drops.
NOT_HTTP_RESPONSE = "not_http_response"
NOT_SUCCESS_STATUS = "not_success_status"
NOT_HTML = "not_html"
UNDECODABLE = "undecodable"
TRUNCATED_RECORD = "truncated_record"
CONTENT_LENGTH_MISMATCH = "content_length_mismatch"
RECORD_TOO_LARGE = "record_too_large"
INVALID_RECORD = "invalid_record"

RECORD_DROP_REASONS = (
    NOT_HTTP_RESPONSE,
    NOT_SUCCESS_STATUS,
    NOT_HTML,
    UNDECODABLE,
    TRUNCATED_RECORD,
    CONTENT_LENGTH_MISMATCH,
    RECORD_TOO_LARGE,
    INVALID_RECORD,
)

# Candidate drops.
EMPTY_TEXT = "empty_text"
MISSING_SRC = "missing_src"
DATA_URL = "data_url"
NON_HTTP_URL = "non_http_url"
INVALID_URL = "invalid_url"
DUPLICATE_ON_PAGE = "duplicate_on_page"

CANDIDATE_DROP_REASONS = (
    EMPTY_TEXT,
    MISSING_SRC,
    DATA_URL,
    NON_HTTP_URL,
    INVALID_URL,
    DUPLICATE_ON_PAGE,
)

# File faults. Reading stops at a fault and keeps everything read before it.
TRUNCATED_GZIP = "truncated_gzip"
CORRUPT_GZIP = "corrupt_gzip"
UNREADABLE_FILE = "unreadable_file"
INVALID_WARC_HEADER = "invalid_warc_header"

FILE_FAULTS = (TRUNCATED_GZIP, CORRUPT_GZIP, UNREADABLE_FILE, INVALID_WARC_HEADER)


@dataclass
class ExtractionStats:
    """Counters of one file or, after ``merge``, of a whole job."""

    files: int = 0
    records_read: int = 0
    records_used: int = 0
    records_with_pairs: int = 0
    images_seen: int = 0
    candidates: int = 0
    pairs_emitted: int = 0
    record_drops: Counter = field(default_factory=Counter)
    candidate_drops: Counter = field(default_factory=Counter)
    faults: Counter = field(default_factory=Counter)
    charset_sources: Counter = field(default_factory=Counter)
    files_with_faults: list[dict[str, str]] = field(default_factory=list)

    def drop_record(self, reason: str) -> None:
        self.record_drops[reason] += 1

    def drop_candidate(self, reason: str) -> None:
        self.candidate_drops[reason] += 1

    def add_fault(self, source_file: str, fault: str, detail: str) -> None:
        self.faults[fault] += 1
        self.files_with_faults.append({"source_file": source_file, "fault": fault, "detail": detail})

    def merge(self, other: ExtractionStats) -> None:
        """Add the counters of ``other`` to these."""
        self.files += other.files
        self.records_read += other.records_read
        self.records_used += other.records_used
        self.records_with_pairs += other.records_with_pairs
        self.images_seen += other.images_seen
        self.candidates += other.candidates
        self.pairs_emitted += other.pairs_emitted
        self.record_drops.update(other.record_drops)
        self.candidate_drops.update(other.candidate_drops)
        self.faults.update(other.faults)
        self.charset_sources.update(other.charset_sources)
        self.files_with_faults.extend(other.files_with_faults)

    def unbalanced(self) -> list[str]:
        """Return a message for each balance that does not hold (empty when all hold)."""
        problems = []
        record_total = self.records_used + sum(self.record_drops.values())
        if record_total != self.records_read:
            problems.append(
                f"records_read {self.records_read} != records_used {self.records_used}"
                f" + record drops {sum(self.record_drops.values())}"
            )
        candidate_total = self.pairs_emitted + sum(self.candidate_drops.values())
        if candidate_total != self.candidates:
            problems.append(
                f"candidates {self.candidates} != pairs_emitted {self.pairs_emitted}"
                f" + candidate drops {sum(self.candidate_drops.values())}"
            )
        return problems

    def to_dict(self) -> dict[str, Any]:
        """Return the counters as plain JSON types, every known reason listed even when zero."""
        return {
            "files": self.files,
            "records_read": self.records_read,
            "records_used": self.records_used,
            "records_with_pairs": self.records_with_pairs,
            "record_drops": {reason: self.record_drops.get(reason, 0) for reason in RECORD_DROP_REASONS},
            "images_seen": self.images_seen,
            "candidates": self.candidates,
            "pairs_emitted": self.pairs_emitted,
            "candidate_drops": {
                reason: self.candidate_drops.get(reason, 0) for reason in CANDIDATE_DROP_REASONS
            },
            "faults": {fault: self.faults.get(fault, 0) for fault in FILE_FAULTS},
            "charset_sources": dict(sorted(self.charset_sources.items())),
            "files_with_faults": list(self.files_with_faults),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ExtractionStats:
        """Rebuild counters written by ``to_dict``."""
        return cls(
            files=data["files"],
            records_read=data["records_read"],
            records_used=data["records_used"],
            records_with_pairs=data["records_with_pairs"],
            images_seen=data["images_seen"],
            candidates=data["candidates"],
            pairs_emitted=data["pairs_emitted"],
            record_drops=Counter(data["record_drops"]),
            candidate_drops=Counter(data["candidate_drops"]),
            faults=Counter(data["faults"]),
            charset_sources=Counter(data["charset_sources"]),
            files_with_faults=list(data["files_with_faults"]),
        )
