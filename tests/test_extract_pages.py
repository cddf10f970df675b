"""Decoding, parsing and pairing the images of one page (HTML or WAT)."""

from __future__ import annotations

import json

import pytest

from curation.extraction.charsets import decode_html, looks_binary, python_codec
from curation.extraction.drops import (
    DATA_URL,
    DUPLICATE_ON_PAGE,
    EMPTY_TEXT,
    INVALID_URL,
    MISSING_SRC,
    NON_HTTP_URL,
    NOT_HTML,
    NOT_HTTP_RESPONSE,
    UNDECODABLE,
    ExtractionStats,
)
from curation.extraction.html_images import find_images
from curation.extraction.pairs import page_pairs
from curation.extraction.texts import normalize_text
from curation.extraction.urls import page_base_url, resolve_image_url
from curation.extraction.wat_records import read_wat_page
from curation.ids import image_id_from_url

JAPANESE_PAGE = "<html><body><p>東京の夜景を撮影しました。</p><img src=a.jpg alt='夜の東京タワー'></body></html>"
CHINESE_PAGE = "<html><body><p>我们在长城上看日出。</p><img src=b.jpg alt='长城上的日出'></body></html>"
RUSSIAN_PAGE = (
    "<html><body><p>Зимой Москва выглядит совсем иначе: снег лежит на крышах домов, на улицах"
    " горят фонари, а на Красной площади открывается каток.</p>"
    "<img src=c.jpg alt='Красная площадь зимой'></body></html>"
)


@pytest.mark.parametrize(
    ("label", "codec"),
    [
        ("Shift_JIS", "cp932"),
        ("x-sjis", "cp932"),
        ("gb2312", "gb18030"),
        ("GBK", "gb18030"),
        ("windows-1251", "cp1251"),
        ("ISO-8859-1", "cp1252"),
        ("utf8", "utf-8"),
        ("no-such-charset", None),
        (None, None),
    ],
)
def test_charset_labels_map_to_codecs(label, codec):
    assert python_codec(label) == codec


def test_charset_from_http_header():
    decoded = decode_html(JAPANESE_PAGE.encode("shift_jis"), "text/html; charset=Shift_JIS")
    assert decoded is not None
    assert decoded.source == "http_header"
    assert "夜の東京タワー" in decoded.text


def test_charset_from_quoted_header():
    decoded = decode_html(RUSSIAN_PAGE.encode("windows-1251"), 'text/html; charset="windows-1251"')
    assert decoded is not None
    assert decoded.source == "http_header"
    assert "Красная площадь" in decoded.text


def test_charset_from_meta_tag():
    page = '<meta charset="gbk">' + CHINESE_PAGE
    decoded = decode_html(page.encode("gbk"), "text/html")
    assert decoded is not None
    assert decoded.source == "meta_tag"
    assert "长城上的日出" in decoded.text


def test_charset_from_http_equiv_meta_tag():
    page = '<meta http-equiv="Content-Type" content="text/html; charset=Shift_JIS">' + JAPANESE_PAGE
    decoded = decode_html(page.encode("shift_jis"), None)
    assert decoded is not None
    assert decoded.source == "meta_tag"
    assert "夜の東京タワー" in decoded.text


def test_header_charset_wins_over_meta_tag():
    page = '<meta charset="utf-8">' + RUSSIAN_PAGE
    decoded = decode_html(page.encode("windows-1251"), "text/html; charset=windows-1251")
    assert decoded is not None
    assert decoded.source == "http_header"
    assert "Красная площадь зимой" in decoded.text


def test_header_charset_that_fails_falls_back():
    decoded = decode_html(JAPANESE_PAGE.encode("utf-8"), "text/html; charset=Shift_JIS")
    assert decoded is not None
    assert decoded.source != "http_header"
    assert "夜の東京タワー" in decoded.text


@pytest.mark.parametrize(
    ("page", "encoding", "expected"),
    [
        (RUSSIAN_PAGE, "windows-1251", "Красная площадь зимой"),
        (CHINESE_PAGE * 3, "gbk", "长城上的日出"),
        (JAPANESE_PAGE * 3, "shift_jis", "夜の東京タワー"),
    ],
)
def test_charset_detection_without_declaration(page, encoding, expected):
    decoded = decode_html(page.encode(encoding), "text/html")
    assert decoded is not None
    assert decoded.source == "detected"
    assert expected in decoded.text


def test_utf8_byte_order_mark_wins():
    decoded = decode_html(b"\xef\xbb\xbf" + RUSSIAN_PAGE.encode("utf-8"), "text/html; charset=windows-1251")
    assert decoded is not None
    assert decoded.source == "bom"
    assert decoded.text.startswith("<html>")


def test_binary_body_is_undecodable():
    body = bytes(range(256)) * 8
    assert looks_binary(body)
    assert decode_html(body, "text/html") is None


def test_control_bytes_mark_binary():
    assert looks_binary(b"\x01\x02\x03\x04<html>" * 10)
    assert not looks_binary(b"<html>\t\r\n</html>")


@pytest.mark.parametrize(
    ("src", "expected"),
    [
        ("img/a.png", ("https://www.example.org/docs/img/a.png", None)),
        ("/root.png", ("https://www.example.org/root.png", None)),
        ("//cdn.example.net/b.png", ("https://cdn.example.net/b.png", None)),
        ("HTTP://CDN.Example.NET/Case.PNG", ("http://cdn.example.net/Case.PNG", None)),
        ("/a.png#part", ("https://www.example.org/a.png", None)),
        ("/a b.png?q=x y", ("https://www.example.org/a%20b.png?q=x%20y", None)),
        ("/café.png", ("https://www.example.org/caf%C3%A9.png", None)),
        ("/already%20encoded.png", ("https://www.example.org/already%20encoded.png", None)),
        ("  /padded.png\n", ("https://www.example.org/padded.png", None)),
        ("https://user@host.example.com:8080/p.png", ("https://user@host.example.com:8080/p.png", None)),
        ("data:image/png;base64,AAAA", (None, DATA_URL)),
        ("DATA:image/gif,xyz", (None, DATA_URL)),
        ("javascript:void(0)", (None, NON_HTTP_URL)),
        ("ftp://files.example.org/a.png", (None, NON_HTTP_URL)),
        ("blob:https://www.example.org/uuid", (None, NON_HTTP_URL)),
        ("", (None, MISSING_SRC)),
        ("   ", (None, MISSING_SRC)),
        (None, (None, MISSING_SRC)),
        ("http://[::1/a.png", (None, INVALID_URL)),
        ("http:///nohost.png", (None, INVALID_URL)),
    ],
)
def test_resolve_image_url(src, expected):
    assert resolve_image_url(src, "https://www.example.org/docs/page.html") == expected


def test_base_href_resolves_against_page():
    assert page_base_url("https://a.example.com/x/page.html", "/static/") == "https://a.example.com/static/"
    assert page_base_url("https://a.example.com/x/page.html", None) == "https://a.example.com/x/page.html"
    assert page_base_url("https://a.example.com/x/page.html", "  ") == "https://a.example.com/x/page.html"


@pytest.mark.parametrize(
    ("raw", "decode", "expected"),
    [
        ("  a\n\tb  c ", False, "a b c"),
        ("a\u00a0b\u3000c", False, "a b c"),
        ("Dog &amp; ball &#233;", True, "Dog & ball é"),
        ("Dog &amp; ball", False, "Dog &amp; ball"),
        ("", False, ""),
        (None, False, ""),
    ],
)
def test_normalize_text(raw, decode, expected):
    assert normalize_text(raw, decode_entities=decode) == expected


def test_find_images_reads_text_attributes():
    page = find_images(
        '<base href="/b/"><img src="a.png" alt="Alt &amp; more" title="T" data-image-title="D">'
        '<img src="b.png"><IMG SRC="c.png" ALT="Upper">'
    )
    assert page.base_href == "/b/"
    assert [image.src for image in page.images] == ["a.png", "b.png", "c.png"]
    assert page.images[0].texts == (("alt", "Alt & more"), ("title", "T"), ("data-image-title", "D"))
    assert page.images[1].texts == ()
    assert page.images[2].texts == (("alt", "Upper"),)


def test_first_base_element_wins():
    page = find_images('<base target="_blank"><base href="https://one.example/"><base href="https://two.example/">')
    assert page.base_href == "https://one.example/"


def test_page_pairs_count_every_candidate():
    html = (
        '<img src="/a.png" alt="Same" title="Same">'
        '<img src="/a.png" alt="Same">'
        '<img src="/b.png" alt="" title="B title">'
        '<img src="data:image/png;base64,AA" alt="Inline">'
        '<img alt="No src">'
        '<img src="/c.png">'
    )
    stats = ExtractionStats()
    pairs = list(
        page_pairs(find_images(html), "https://p.example/x.html", "<urn:uuid:1>", "f.warc.gz", stats)
    )
    assert [(pair.url, pair.text, pair.text_source) for pair in pairs] == [
        ("https://p.example/a.png", "Same", "alt"),
        ("https://p.example/b.png", "B title", "title"),
    ]
    assert pairs[0].image_id == image_id_from_url("https://p.example/a.png")
    assert pairs[0].page_url == "https://p.example/x.html"
    assert pairs[0].warc_record_id == "<urn:uuid:1>"
    assert pairs[0].source_file == "f.warc.gz"
    assert stats.images_seen == 6
    assert stats.candidates == 7
    assert stats.candidate_drops == {DUPLICATE_ON_PAGE: 2, EMPTY_TEXT: 1, DATA_URL: 1, MISSING_SRC: 1}
    assert stats.unbalanced() == []


def wat_document(payload: dict, warc_type: str = "response", uri: str = "https://m.example/en/page") -> bytes:
    return json.dumps(
        {
            "Container": {"Filename": "x.warc.gz", "Compressed": True, "Offset": "0"},
            "Envelope": {
                "Format": "WARC",
                "WARC-Header-Metadata": {
                    "WARC-Type": warc_type,
                    "WARC-Target-URI": uri,
                    "WARC-Record-ID": "<urn:uuid:abc>",
                },
                "Payload-Metadata": payload,
            },
        }
    ).encode()


def html_payload(html_metadata: dict) -> dict:
    return {
        "Actual-Content-Type": "application/http; msgtype=response",
        "HTTP-Response-Metadata": {"Response-Message": {"Status": "200"}, "HTML-Metadata": html_metadata},
    }


def test_wat_page_reads_img_links():
    body = wat_document(
        html_payload(
            {
                "Head": {"Base": "https://static.m.example/", "Title": "T"},
                "Links": [
                    {"path": "A@/href", "url": "/next", "text": "Next"},
                    {"path": "IMG@/src", "url": "a.jpg", "alt": "Alt &amp; text", "title": "Title"},
                    {"path": "IMG@/src", "url": "b.jpg"},
                ],
            }
        )
    )
    page, reason = read_wat_page(body)
    assert reason is None
    assert page is not None
    assert page.page_url == "https://m.example/en/page"
    assert page.warc_record_id == "<urn:uuid:abc>"
    assert page.images.base_href == "https://static.m.example/"
    assert [image.src for image in page.images.images] == ["a.jpg", "b.jpg"]
    assert page.images.images[0].texts == (("alt", "Alt &amp; text"), ("title", "Title"))

    stats = ExtractionStats()
    pairs = list(page_pairs(page.images, page.page_url, page.warc_record_id, "f.wat.gz", stats, decode_entities=True))
    assert [(pair.url, pair.text) for pair in pairs] == [
        ("https://static.m.example/a.jpg", "Alt & text"),
        ("https://static.m.example/a.jpg", "Title"),
    ]


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"{not json", UNDECODABLE),
        (b"\xff\xfe\x00", UNDECODABLE),
        (b"[1, 2]", "invalid_record"),
        (wat_document({"Actual-Content-Type": "application/http; msgtype=request"}, "request"), NOT_HTTP_RESPONSE),
        (
            wat_document(
                {
                    "Actual-Content-Type": "application/http; msgtype=response",
                    "HTTP-Response-Metadata": {"Headers": {"Content-Type": "image/png"}},
                }
            ),
            NOT_HTML,
        ),
        (wat_document(html_payload({"Links": []}), uri=""), "invalid_record"),
    ],
)
def test_wat_records_without_a_page(body, reason):
    page, drop_reason = read_wat_page(body)
    assert page is None
    assert drop_reason == reason
