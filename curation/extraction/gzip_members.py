"""Read a WARC or WAT file as a sequence of gzip members, recording where the stream breaks.

Common Crawl compresses each WARC record as its own gzip member. Reading member by member lets
the record reader start fresh at the next member after a damaged record. Decompressing here, with
zlib and not inside the WARC parser, makes a truncated or corrupt file visible, because the
parsers tried (fastwarc 2.0.1, warcio 1.8.1) end a truncated file without an error.
"""

from __future__ import annotations

import zlib
from typing import BinaryIO

from curation.extraction.drops import CORRUPT_GZIP, TRUNCATED_GZIP, UNREADABLE_FILE

GZIP_MAGIC = b"\x1f\x8b"
GZIP_WINDOW_BITS = 16 + zlib.MAX_WBITS
DEFAULT_CHUNK_BYTES = 1 << 20


class GzipMemberReader:
    """File-like reader that returns the decompressed bytes of one gzip member at a time.

    ``read`` returns ``b""`` at the end of the current member, and ``next_member`` moves on.
    A file that does not start with the gzip magic bytes is read as one uncompressed member.
    After a fault, ``fault`` contains ``(reason, detail)`` and ``next_member`` returns False.
    """

    def __init__(self, raw: BinaryIO, chunk_bytes: int = DEFAULT_CHUNK_BYTES) -> None:
        self._raw = raw
        self._chunk_bytes = chunk_bytes
        self.fault: tuple[str, str] | None = None
        self.members = 0
        self._pending = self._read_raw()
        self.compressed = self._pending[:2] == GZIP_MAGIC
        self._decompressor = zlib.decompressobj(GZIP_WINDOW_BITS)
        self._member_has_input = False
        self._buffer = bytearray()
        self._member_done = True
        self._started = False
        self._finished = not self._pending
        self._position = 0

    def next_member(self) -> bool:
        """Skip what is left of the current member and start the next; False when none is left."""
        while not self._member_done:
            self._buffer.clear()
            self._fill()
        self._buffer.clear()

        if self.fault is not None or self._finished:
            return False
        if self._started and not self.compressed:
            self._finished = True
            return False
        if not self._pending:
            self._pending = self._read_raw()
        if not self._pending:
            self._finished = True
            return False

        self._started = True
        self._member_done = False
        self._position = 0
        self.members += 1
        return True

    def read(self, size: int = -1) -> bytes:
        while not self._member_done and (size < 0 or len(self._buffer) < size):
            self._fill()
        if size < 0 or size >= len(self._buffer):
            data = bytes(self._buffer)
            self._buffer.clear()
        else:
            data = bytes(self._buffer[:size])
            del self._buffer[:size]
        self._position += len(data)
        return data

    def tell(self) -> int:
        """Return the offset in the decompressed bytes of the current member."""
        return self._position

    def readable(self) -> bool:
        return True

    def _fill(self) -> None:
        """Append the next decompressed bytes of the current member to the buffer."""
        if not self._pending:
            self._pending = self._read_raw()
        if not self._pending:
            self._member_done = True
            self._finished = True
            if self.fault is None and self.compressed and self._member_has_input:
                self.fault = (TRUNCATED_GZIP, f"gzip member {self.members} ends before its end-of-stream marker")
            return

        if not self.compressed:
            self._buffer += self._pending
            self._pending = b""
            return

        try:
            self._buffer += self._decompressor.decompress(self._pending, self._chunk_bytes)
        except zlib.error as error:
            self._member_done = True
            self._finished = True
            self.fault = (CORRUPT_GZIP, f"gzip member {self.members}: {error}")
            return
        self._member_has_input = True
        self._pending = self._decompressor.unconsumed_tail

        if self._decompressor.eof:
            self._pending = self._decompressor.unused_data
            self._decompressor = zlib.decompressobj(GZIP_WINDOW_BITS)
            self._member_has_input = False
            self._member_done = True

    def _read_raw(self) -> bytes:
        """Read the next compressed chunk; a read error ends the file like its end would."""
        if self.fault is not None:
            return b""
        try:
            return self._raw.read(self._chunk_bytes)
        except OSError as error:
            self.fault = (UNREADABLE_FILE, f"read failed after gzip member {self.members}: {error}")
            return b""
