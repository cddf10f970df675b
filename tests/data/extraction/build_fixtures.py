"""Write the WARC and WAT test files of this folder from the pages and records defined below.

Run from the repository root: ``python tests/data/extraction/build_fixtures.py``. The output is
byte-for-byte the same on every run (fixed record ids and dates, gzip mtime 0), and
``tests/test_extract_records.py`` checks that the committed files match it.
"""

from __future__ import annotations

import gzip
import json
import uuid
from pathlib import Path

FOLDER = Path(__file__).resolve().parent
WARC_DATE = "2024-05-18T01:58:10Z"
ID_NAMESPACE = uuid.UUID("6f1c1d2e-0000-4000-8000-000000000000")


def record_id(name: str) -> str:
    return f"<urn:uuid:{uuid.uuid5(ID_NAMESPACE, name)}>"


def warc_record(
    record_type: str,
    name: str,
    block: bytes,
    content_type: str,
    target_uri: str | None = None,
    extra_headers: tuple[tuple[str, str], ...] = (),
    length_change: int = 0,
) -> bytes:
    """Return one WARC/1.0 record; ``length_change`` makes its Content-Length wrong on purpose."""
    headers = [("WARC-Type", record_type), ("WARC-Date", WARC_DATE), ("WARC-Record-ID", record_id(name))]
    if target_uri is not None:
        headers.append(("WARC-Target-URI", target_uri))
    headers.extend(extra_headers)
    headers.append(("Content-Type", content_type))
    headers.append(("Content-Length", str(len(block) + length_change)))
    head = "WARC/1.0\r\n" + "".join(f"{key}: {value}\r\n" for key, value in headers) + "\r\n"
    return head.encode("utf-8") + block + b"\r\n\r\n"


def http_response(body: bytes, content_type: str | None, status: str = "200 OK") -> bytes:
    lines = [f"HTTP/1.1 {status}"]
    if content_type is not None:
        lines.append(f"Content-Type: {content_type}")
    lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def response_record(
    name: str,
    uri: str,
    body: bytes,
    content_type: str | None,
    status: str = "200 OK",
    identified_type: str | None = None,
    length_change: int = 0,
) -> bytes:
    extra = (("WARC-Identified-Payload-Type", identified_type),) if identified_type else ()
    return warc_record(
        "response",
        name,
        http_response(body, content_type, status),
        "application/http; msgtype=response",
        target_uri=uri,
        extra_headers=extra,
        length_change=length_change,
    )


def warcinfo_record(name: str) -> bytes:
    block = b"software: worldclip test fixtures\r\nformat: WARC File Format 1.0\r\n"
    return warc_record("warcinfo", name, block, "application/warc-fields")


def request_record(name: str, uri: str) -> bytes:
    block = f"GET {uri.split('/', 3)[-1]} HTTP/1.1\r\nHost: {uri.split('/')[2]}\r\n\r\n".encode("ascii")
    return warc_record("request", name, block, "application/http; msgtype=request", target_uri=uri)


def gzip_members(records: list[bytes]) -> bytes:
    """Compress each record as its own gzip member, as Common Crawl does."""
    return b"".join(gzip.compress(record, mtime=0) for record in records)


# Pages in legacy character sets. Each declares its charset in a different place.
SHIFT_JIS_PAGE = """<!DOCTYPE html>
<html lang="ja"><head><title>東京の写真</title></head>
<body><p>東京の夜景を撮影しました。</p>
<img src="/photos/tokyo-tower.jpg" alt="夜の東京タワー">
<img src="/photos/asakusa.jpg" title="浅草寺の雷門">
</body></html>
"""

GBK_PAGE = """<!DOCTYPE html>
<html lang="zh"><head><meta http-equiv="Content-Type" content="text/html; charset=gb2312">
<title>长城旅游</title></head>
<body><p>我们在长城上看日出。</p>
<img src="images/great-wall.jpg" alt="长城上的日出">
</body></html>
"""

WINDOWS_1251_PAGE = """<!DOCTYPE html>
<html lang="ru"><head><title>Москва зимой</title></head>
<body>
<p>Зимой Москва выглядит совсем иначе: снег лежит на крышах домов, на улицах горят фонари,
а на Красной площади открывается каток. Мы гуляли по центру города весь день и сделали
много фотографий. Вечером мы пили горячий чай в маленьком кафе недалеко от Кремля.</p>
<img src="https://img.example.ru/moscow/red-square.jpg" alt="Красная площадь зимой">
<img src="https://img.example.ru/moscow/kremlin.jpg" alt="Кремль вечером">
</body></html>
"""

# One page with every URL and text case the extraction handles.
URL_CASES_PAGE = """<!DOCTYPE html>
<html><head><base href="https://static.example.org/assets/"><title>Cases</title></head>
<body>
<img src="relative/cat.jpg" alt="A cat on a mat">
<img src="/root/dog.jpg" alt="Dog &amp; ball &#233;t&eacute;">
<img src="//cdn.example.net/bird.png" alt="  A   bird
  in flight\u00a0today ">
<img src="HTTPS://Images.Example.COM/Fish%20Tank.jpg#frag" alt="Fish tank">
<img src="/spaces in name.jpg" alt="File name with spaces">
<img src="data:image/png;base64,iVBORw0KGgo=" alt="Inline pixel">
<img src="javascript:void(0)" alt="Script image">
<img src="ftp://files.example.org/x.jpg" alt="FTP image">
<img alt="No source at all">
<img src="/empty-alt.jpg" alt="">
<img src="/blank-alt.jpg" alt="   ">
<img src="/both.jpg" alt="Same text" title="Same text">
<img src="/both.jpg" alt="Same text">
<img src="/title-only.jpg" title="Only a title">
<img src="/gallery.jpg" data-image-title="Gallery title" alt="Gallery alt">
<img src="/no-text.jpg">
</body></html>
"""


def warc_fixture_records() -> list[bytes]:
    binary_body = bytes(range(256)) * 8
    return [
        warcinfo_record("warcinfo"),
        request_record("request-sjis", "http://photos.example.jp/tokyo/index.html"),
        response_record(
            "response-sjis",
            "http://photos.example.jp/tokyo/index.html",
            SHIFT_JIS_PAGE.encode("shift_jis"),
            "text/html; charset=Shift_JIS",
        ),
        response_record(
            "response-gbk",
            "http://travel.example.cn/changcheng/trip.html",
            GBK_PAGE.encode("gbk"),
            "text/html",
        ),
        response_record(
            "response-cp1251",
            "http://blog.example.ru/2024/moscow.html",
            WINDOWS_1251_PAGE.encode("windows-1251"),
            "text/html",
        ),
        response_record(
            "response-cases",
            "https://www.example.org/articles/cases.html",
            URL_CASES_PAGE.encode("utf-8"),
            "text/html; charset=utf-8",
            identified_type="text/html",
        ),
        response_record(
            "response-not-found",
            "https://www.example.org/missing.html",
            b'<html><img src="/404.png" alt="Not found"></html>',
            "text/html",
            status="404 Not Found",
        ),
        response_record(
            "response-jpeg",
            "https://www.example.org/photo.jpg",
            b"\xff\xd8\xff\xe0\x00\x10JFIF\x00",
            "image/jpeg",
            identified_type="image/jpeg",
        ),
        response_record("response-binary", "https://www.example.org/blob.html", binary_body, "text/html"),
    ]


def wat_metadata_record(name: str, uri: str, envelope_payload: dict, warc_type: str = "response") -> bytes:
    """Return a WAT metadata record whose JSON follows the layout Common Crawl publishes."""
    document = {
        "Container": {
            "Filename": "CC-MAIN-20240517233122-20240518023122-00000.warc.gz",
            "Compressed": True,
            "Offset": "1024",
            "Gzip-Metadata": {
                "Deflate-Length": "2000",
                "Header-Length": "10",
                "Footer-Length": "8",
                "Inflated-CRC": "1106529533",
                "Inflated-Length": "5000",
            },
        },
        "Envelope": {
            "Format": "WARC",
            "WARC-Header-Length": "400",
            "Block-Digest": "sha1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            "Actual-Content-Length": "4600",
            "WARC-Header-Metadata": {
                "WARC-Type": warc_type,
                "WARC-Date": WARC_DATE,
                "WARC-Record-ID": record_id(f"warc-{name}"),
                "Content-Length": "4600",
                "Content-Type": f"application/http; msgtype={warc_type}",
                "WARC-Target-URI": uri,
            },
            "Payload-Metadata": envelope_payload,
        },
    }
    block = json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return warc_record(
        "metadata",
        f"wat-{name}",
        block,
        "application/json",
        target_uri=uri,
        extra_headers=(("WARC-Refers-To", record_id(f"warc-{name}")),),
    )


def wat_html_payload(head: dict, links: list[dict]) -> dict:
    return {
        "Actual-Content-Type": "application/http; msgtype=response",
        "HTTP-Response-Metadata": {
            "Response-Message": {"Status": "200", "Version": "HTTP/1.1", "Reason": "OK"},
            "Headers-Length": "200",
            "Headers": {"Content-Type": "text/html; charset=UTF-8", "Server": "nginx"},
            "Entity-Length": "4400",
            "Entity-Digest": "sha1:BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB",
            "Entity-Trailing-Slop-Length": "0",
            "HTML-Metadata": {"Head": head, "Links": links},
        },
    }


def wat_fixture_records() -> list[bytes]:
    museum_links = [
        {"path": "A@/href", "url": "/collections/", "text": "Collections"},
        {"path": "IMG@/src", "url": "/media/vase.jpg", "alt": "Blue vase &amp; bowl"},
        {"path": "IMG@/src", "url": "//cdn.example.museum/statue.jpg", "alt": "Marble statue", "title": "Statue, 1820"},
        {"path": "IMG@/src", "url": "thumbs/coin.png", "title": "Roman coin"},
        {"path": "IMG@/src", "url": "/media/empty.jpg", "alt": ""},
        {"path": "IMG@/src", "url": "data:image/gif;base64,R0lGODlhAQABAAAAACw=", "alt": "Spacer"},
        {"path": "IMG@/src", "url": "/media/vase.jpg", "alt": "Blue vase &amp; bowl"},
        {"path": "LINK@/href", "url": "/style.css", "rel": "stylesheet"},
    ]
    museum_head = {
        "Title": "Museum collection",
        "Base": "https://www.example.museum/en/",
        "Metas": [{"name": "viewport", "content": "width=device-width"}],
        "Link": [{"path": "LINK@/href", "url": "/favicon.ico", "rel": "icon"}],
    }
    shop_links = [
        {"path": "IMG@/src", "url": "https://shop.example.de/img/kaffeetasse.jpg", "alt": "Kaffeetasse aus Porzellan"},
        {"path": "A@/href", "url": "https://shop.example.de/warenkorb", "text": "Warenkorb"},
    ]
    pdf_payload = {
        "Actual-Content-Type": "application/http; msgtype=response",
        "HTTP-Response-Metadata": {
            "Response-Message": {"Status": "200", "Version": "HTTP/1.1", "Reason": "OK"},
            "Headers": {"Content-Type": "application/pdf"},
        },
    }
    request_payload = {
        "Actual-Content-Type": "application/http; msgtype=request",
        "HTTP-Request-Metadata": {"Request-Message": {"Method": "GET", "Path": "/", "Version": "HTTP/1.1"}},
    }
    return [
        warcinfo_record("wat-warcinfo"),
        wat_metadata_record("museum-request", "https://www.example.museum/en/index.html", request_payload, "request"),
        wat_metadata_record("museum", "https://www.example.museum/en/index.html", wat_html_payload(museum_head, museum_links)),
        wat_metadata_record("shop", "https://shop.example.de/tassen", wat_html_payload({"Title": "Tassen"}, shop_links)),
        wat_metadata_record("report", "https://www.example.museum/report.pdf", pdf_payload),
        warc_record("metadata", "wat-broken-json", b'{"Envelope": {"Payload-Metadata": ', "application/json",
                    target_uri="https://broken.example.com/"),
    ]


def truncated_records() -> list[bytes]:
    return [
        warcinfo_record("truncated-warcinfo"),
        response_record("truncated-1", "https://a.example.com/1.html",
                        b'<html><img src="/one.jpg" alt="First image"></html>', "text/html; charset=utf-8"),
        response_record("truncated-2", "https://a.example.com/2.html",
                        b'<html><img src="/two.jpg" alt="Second image"></html>', "text/html; charset=utf-8"),
        response_record("truncated-3", "https://a.example.com/3.html",
                        b'<html><img src="/three.jpg" alt="Third image"></html>' + b" " * 2000,
                        "text/html; charset=utf-8"),
    ]


def bad_length_records() -> list[bytes]:
    page = '<html><img src="/{0}.jpg" alt="Image {0}"></html>'
    return [
        response_record("length-1", "https://b.example.com/1.html", page.format(1).encode(), "text/html"),
        response_record("length-long", "https://b.example.com/long.html", page.format("long").encode(),
                        "text/html", length_change=40),
        response_record("length-2", "https://b.example.com/2.html", page.format(2).encode(), "text/html"),
        response_record("length-short", "https://b.example.com/short.html", page.format("short").encode(),
                        "text/html", length_change=-25),
        response_record("length-3", "https://b.example.com/3.html", page.format(3).encode(), "text/html"),
    ]


def build() -> dict[str, bytes]:
    """Return the file names and bytes of every fixture."""
    truncated = gzip_members(truncated_records())
    return {
        "pages.warc.gz": gzip_members(warc_fixture_records()),
        "pages.wat.gz": gzip_members(wat_fixture_records()),
        # Cut inside the compressed data of the last record.
        "truncated.warc.gz": truncated[: len(truncated) - 300],
        "bad_content_length.warc.gz": gzip_members(bad_length_records()),
        # Every record in one gzip member, as some tools write WARC files.
        "single_member.warc.gz": gzip.compress(b"".join(truncated_records()), mtime=0),
    }


def main() -> None:
    for name, data in build().items():
        (FOLDER / name).write_bytes(data)


if __name__ == "__main__":
    main()
