"""Write the byte-level part of the hostile-input corpus and define the corpus metadata.

``cases.jsonl`` contains the hostile rows that JSON can carry, each with its expected outcome in
``expect*`` keys. The rows here cannot be written as valid JSON text (invalid UTF-8, raw control
bytes, broken lines), so this script writes them to ``raw.jsonl`` and their expected outcomes,
line by line, to ``raw.expected.jsonl``. The rows of 1 MB are not committed: ``large_cases()``
builds them when the test runs.

Run ``python tests/data/hostile/generate.py`` after changing a case. The corpus test checks that
the committed files equal what this script writes.

An expectation has ``case`` and ``expect`` (``kept`` or a drop reason of ``curation/schemas.py``).
A kept row may also have ``expect_entries`` (the exact set of matched entries),
``expect_entry_count``, ``expect_lang`` and ``expect_text`` (the cleaned text).
"""

from __future__ import annotations

import json
from pathlib import Path

DIRECTORY = Path(__file__).resolve().parent
RAW_FILE = "raw.jsonl"
RAW_EXPECTED_FILE = "raw.expected.jsonl"
CASES_FILE = "cases.jsonl"

# Han characters U+4E00 to U+4E00 + 2999 are each a Chinese entry, so one text of all of them
# matches thousands of entries.
HAN_ENTRY_COUNT = 3000
HAN_FIRST_CODE_POINT = 0x4E00

LARGE_TEXT_BYTES = 1 << 20


def han_entries() -> list[str]:
    return [chr(HAN_FIRST_CODE_POINT + offset) for offset in range(HAN_ENTRY_COUNT)]


def metadata_entries() -> dict[str, list[str]]:
    """Return the entries of the small metadata directory that the corpus is matched against."""
    return {
        "en": ["beach", "car", "cat", "dog", "house", "ice cream", "red", "red car", "tree"],
        "de": ["Haus", "Hund", "Katze", "Strand"],
        "ru": ["пляж", "собака"],
        "ar": ["شاطئ", "قطة", "كلب"],
        "th": ["ชายหาด", "หมา", "แมว"],
        "zh": han_entries(),
    }


def _line(url: str | bytes, text_json: bytes) -> bytes:
    url_bytes = url if isinstance(url, bytes) else url.encode()
    return b'{"url": "' + url_bytes + b'", "text": ' + text_json + b"}"


def _case(name: str, line: bytes, expect: str, url: str | None = None, **more: object) -> tuple[bytes, dict]:
    expectation = {"case": name, "expect": expect, **more}
    if url is not None:
        expectation["url"] = url
    return line, expectation


def raw_cases() -> list[tuple[bytes, dict]]:
    """Return (line bytes, expectation) of every row that valid JSON text cannot hold.

    ``url`` in an expectation is the URL as the job reads it, for rows whose URL can be read.
    """
    base = "https://hostile.test/raw/"
    return [
        _case("invalid_utf8_ff_fe", _line(base + "ff-fe", b'"a dog \xff\xfe on the beach"'), "invalid_utf8", base + "ff-fe"),
        _case("overlong_encoding", _line(base + "overlong", b'"a dog \xc0\xaf on the beach"'), "invalid_utf8", base + "overlong"),
        # A surrogate encoded as UTF-8 bytes (CESU-8), which UTF-8 forbids.
        _case("encoded_lone_surrogate", _line(base + "cesu", b'"a dog \xed\xa0\x80 on the beach"'), "invalid_utf8", base + "cesu"),
        _case("truncated_sequence", _line(base + "truncated", b'"a dog on the beach \xe2\x82"'), "invalid_utf8", base + "truncated"),
        _case("latin1_bytes", _line(base + "latin1", b'"caf\xe9 with a dog"'), "invalid_utf8", base + "latin1"),
        # JSON forbids unescaped control characters inside strings, so these lines do not parse.
        _case("raw_nul_byte", _line(base + "raw-nul", b'"a dog\x00 on the beach"'), "bad_row"),
        _case("raw_tab_byte", _line(base + "raw-tab", b'"a dog\ton the beach"'), "bad_row"),
        _case("utf16_line", '{"url": "https://hostile.test/raw/utf16", "text": "a dog"}'.encode("utf-16-le"), "bad_row"),
        # A byte order mark at the start of a line, as Windows tools write at the start of a file.
        _case(
            "byte_order_mark_line",
            b"\xef\xbb\xbf" + _line(base + "bom-line", b'"A red car parked by the house"'),
            "kept",
            base + "bom-line",
            expect_entries=["car", "house", "red", "red car"],
        ),
        # Invalid bytes in the URL only: the text is fine and the id is derived from the decoded URL.
        _case(
            "invalid_utf8_in_url",
            _line(base.encode() + b"url-\xff", b'"A cat sleeps in the house"'),
            "kept",
            base + "url-\ufffd",
            expect_entries=["cat", "house"],
        ),
        _case("unterminated_string", _line(base + "unterminated", b'"a dog on the'), "bad_row"),
        _case("top_level_array", b"[1, 2, 3]", "bad_row"),
        _case("top_level_null", b"null", "bad_row"),
        _case("top_level_string", b'"just a string"', "bad_row"),
        _case("nul_bytes_line", b"\x00\x00\x00\x00", "bad_row"),
    ]


def han_thousands_case() -> tuple[bytes, dict]:
    text = "".join(han_entries())
    url = "https://hostile.test/raw/han-thousands"
    line = json.dumps({"url": url, "text": text}, ensure_ascii=False).encode()
    return _case("thousands_of_entries", line, "kept", url, expect_lang="zh", expect_entry_count=HAN_ENTRY_COUNT)


def large_cases() -> list[tuple[bytes, dict]]:
    """Return the rows of 1 MB and more, built at test time instead of being committed."""
    base = "https://hostile.test/large/"
    words = ("a dog on the beach " * (LARGE_TEXT_BYTES // 19 + 1))[:LARGE_TEXT_BYTES]
    marks = "e" + "\u0301" * (LARGE_TEXT_BYTES // 2)
    controls = "\\u0000\\t" * (LARGE_TEXT_BYTES // 8)
    spaces = " " * LARGE_TEXT_BYTES
    return [
        _case("one_megabyte_text", _line(base + "words", json.dumps(words).encode()), "text_too_long", base + "words"),
        _case(
            "one_megabyte_combining_marks",
            _line(base + "marks", json.dumps(marks, ensure_ascii=False).encode()),
            "text_too_long",
            base + "marks",
        ),
        _case("one_megabyte_controls", _line(base + "controls", b'"' + controls.encode() + b'"'), "empty_text", base + "controls"),
        _case("one_megabyte_spaces", _line(base + "spaces", json.dumps(spaces).encode()), "empty_text", base + "spaces"),
    ]


def write_raw(directory: Path = DIRECTORY) -> None:
    """Write raw.jsonl and raw.expected.jsonl, one line per case in the same order."""
    cases = raw_cases() + [han_thousands_case()]
    (directory / RAW_FILE).write_bytes(b"".join(line + b"\n" for line, _ in cases))
    expected = "".join(json.dumps(item, ensure_ascii=False, sort_keys=True) + "\n" for _, item in cases)
    (directory / RAW_EXPECTED_FILE).write_text(expected, encoding="utf-8")


def write_large(path: Path) -> list[dict]:
    """Write the 1 MB rows to ``path``; return their expectations in line order."""
    cases = large_cases()
    path.write_bytes(b"".join(line + b"\n" for line, _ in cases))
    return [item for _, item in cases]


if __name__ == "__main__":
    write_raw()
