"""Reading WARC and WAT files: gzip members, record boundaries and faults."""

from __future__ import annotations

import gzip
import io
import random
import sys
from pathlib import Path

from curation.extraction.drops import (
    CONTENT_LENGTH_MISMATCH,
    CORRUPT_GZIP,
    INVALID_WARC_HEADER,
    RECORD_TOO_LARGE,
    TRUNCATED_GZIP,
    TRUNCATED_RECORD,
    UNREADABLE_FILE,
    ExtractionStats,
)
from curation.extraction.gzip_members import GzipMemberReader
from curation.extraction.warc_records import read_archive_records

FIXTURES = Path(__file__).parent / "data" / "extraction"


def read_all(data: bytes, chunk_bytes: int = 1 << 20):
    stats = ExtractionStats()
    reader = GzipMemberReader(io.BytesIO(data), chunk_bytes=chunk_bytes)
    return list(read_archive_records(reader, "test.warc.gz", stats)), stats


def test_gzip_members_read_one_at_a_time():
    data = gzip.compress(b"first", mtime=0) + gzip.compress(b"second", mtime=0)
    reader = GzipMemberReader(io.BytesIO(data), chunk_bytes=7)
    members = []
    while reader.next_member():
        members.append(reader.read())
    assert members == [b"first", b"second"]
    assert reader.fault is None


def test_gzip_reader_passes_plain_files_through():
    reader = GzipMemberReader(io.BytesIO(b"WARC/1.0\r\nplain bytes"))
    assert reader.next_member()
    assert reader.compressed is False
    assert reader.read() == b"WARC/1.0\r\nplain bytes"
    assert not reader.next_member()


def test_gzip_reader_reports_truncation():
    incompressible = random.Random(0).randbytes(5000)
    data = gzip.compress(b"complete", mtime=0) + gzip.compress(incompressible, mtime=0)[:-30]
    reader = GzipMemberReader(io.BytesIO(data))
    assert reader.next_member()
    assert reader.read() == b"complete"
    assert reader.next_member()
    partial = reader.read()
    assert 0 < len(partial) < 5000
    assert reader.fault is not None
    assert reader.fault[0] == TRUNCATED_GZIP
    assert not reader.next_member()


def test_gzip_reader_reports_corrupt_data():
    member = bytearray(gzip.compress(b"y" * 1000, mtime=0))
    member[12:20] = b"\xff" * 8
    reader = GzipMemberReader(io.BytesIO(gzip.compress(b"ok", mtime=0) + bytes(member)))
    assert reader.next_member()
    assert reader.read() == b"ok"
    assert reader.next_member()
    reader.read()
    assert reader.fault is not None
    assert reader.fault[0] == CORRUPT_GZIP


class FailingStream(io.RawIOBase):
    """A stream that returns its bytes, then fails like a dropped network connection."""

    def __init__(self, data: bytes) -> None:
        self._data = data
        self._served = False

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        if self._served:
            raise ConnectionResetError("connection reset by peer")
        self._served = True
        return self._data


def test_empty_file_has_no_records():
    records, stats = read_all(b"")
    assert records == []
    assert sum(stats.faults.values()) == 0


def test_read_error_counts_as_unreadable_file():
    first = (FIXTURES / "truncated.warc.gz").read_bytes()[:200]
    reader = GzipMemberReader(FailingStream(first), chunk_bytes=1 << 20)
    stats = ExtractionStats()
    list(read_archive_records(reader, "remote.warc.gz", stats))
    assert stats.faults[UNREADABLE_FILE] == 1


def test_real_capture_records(shared_data):
    data = (shared_data / "commoncrawl" / "whirlwind.warc.gz").read_bytes()
    records, stats = read_all(data)
    assert [record.record_type for record in records] == ["warcinfo", "request", "response", "metadata"]
    response = records[2]
    assert response.target_uri == "https://an.wikipedia.org/wiki/Escopete"
    assert response.record_id == "<urn:uuid:2aabeff2-67f5-4608-8466-e87c6296e2b6>"
    assert response.http_status == 200
    assert response.http_content_type == "text/html; charset=UTF-8"
    assert response.identified_payload_type == "text/html"
    assert response.body.startswith(b"<!DOCTYPE html>")
    assert all(record.damage is None for record in records)
    assert sum(stats.faults.values()) == 0


def test_real_wat_records(shared_data):
    data = (shared_data / "commoncrawl" / "whirlwind.warc.wat.gz").read_bytes()
    records, _ = read_all(data)
    assert [record.record_type for record in records] == ["warcinfo", "metadata"]
    assert records[1].content_type == "application/json"
    assert records[1].body.startswith(b'{"Container":')


def test_truncated_file_keeps_records_before_the_cut():
    records, stats = read_all((FIXTURES / "truncated.warc.gz").read_bytes())
    assert [record.damage for record in records] == [None, None, None, TRUNCATED_RECORD]
    assert [record.target_uri for record in records[1:3]] == [
        "https://a.example.com/1.html",
        "https://a.example.com/2.html",
    ]
    assert stats.faults[TRUNCATED_GZIP] == 1
    assert stats.files_with_faults[0]["source_file"] == "test.warc.gz"


def test_truncated_file_read_in_small_chunks():
    records, stats = read_all((FIXTURES / "truncated.warc.gz").read_bytes(), chunk_bytes=64)
    assert [record.damage for record in records] == [None, None, None, TRUNCATED_RECORD]
    assert stats.faults[TRUNCATED_GZIP] == 1


def test_wrong_content_length_damages_one_record():
    records, stats = read_all((FIXTURES / "bad_content_length.warc.gz").read_bytes())
    by_uri = {record.target_uri: record.damage for record in records}
    assert by_uri == {
        "https://b.example.com/1.html": None,
        "https://b.example.com/long.html": CONTENT_LENGTH_MISMATCH,
        "https://b.example.com/2.html": None,
        "https://b.example.com/short.html": CONTENT_LENGTH_MISMATCH,
        "https://b.example.com/3.html": None,
    }
    assert stats.faults[INVALID_WARC_HEADER] == 1


def test_single_member_file_reads_every_record():
    records, stats = read_all((FIXTURES / "single_member.warc.gz").read_bytes())
    assert [record.record_type for record in records] == ["warcinfo", "response", "response", "response"]
    assert all(record.damage is None for record in records)
    assert sum(stats.faults.values()) == 0


def test_uncompressed_file_reads_every_record():
    plain = gzip.decompress((FIXTURES / "single_member.warc.gz").read_bytes())
    records, stats = read_all(plain)
    assert len(records) == 4
    assert sum(stats.faults.values()) == 0


def test_fixtures_match_their_builder():
    sys.path.insert(0, str(FIXTURES))
    try:
        import build_fixtures
    finally:
        sys.path.remove(str(FIXTURES))

    for name, data in build_fixtures.build().items():
        assert (FIXTURES / name).read_bytes() == data, f"{name} differs from build_fixtures.py: rerun it"


def test_oversized_record_is_skipped_unread():
    stats = ExtractionStats()
    reader = GzipMemberReader(io.BytesIO((FIXTURES / "pages.warc.gz").read_bytes()))
    records = list(read_archive_records(reader, "pages.warc.gz", stats, max_record_bytes=600))
    damaged = {record.target_uri for record in records if record.damage == RECORD_TOO_LARGE}
    assert "https://www.example.org/articles/cases.html" in damaged
    assert all(record.body == b"" for record in records if record.damage == RECORD_TOO_LARGE)
    assert len(records) == 9
    assert records[-1].target_uri == "https://www.example.org/blob.html"
    assert sum(stats.faults.values()) == 0
