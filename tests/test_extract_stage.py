"""The extraction stage on whole files: the real Common Crawl capture and team-written archives."""

from __future__ import annotations

from pathlib import Path

from curation.extraction.drops import ExtractionStats
from curation.extraction.stage import ExtractionStage
from curation.ids import image_id_from_url

FIXTURES = Path(__file__).parent / "data" / "extraction"

WHIRLWIND_PAIRS = [
    ("https://an.wikipedia.org/static/images/mobile/copyright/wikipedia-wordmark-an.svg", "Biquipedia"),
    ("https://an.wikipedia.org/static/images/mobile/copyright/wikipedia-tagline-an.svg", "A enciclopedia libre"),
    (
        "https://upload.wikimedia.org/wikipedia/commons/thumb/0/0a/Escudo_de_Escopete_%28Guadalajara%29.svg"
        "/70px-Escudo_de_Escopete_%28Guadalajara%29.svg.png",
        "Escudo d'armas",
    ),
    (
        "https://upload.wikimedia.org/wikipedia/commons/thumb/9/9c/Castilla-La_Mancha-loc.svg"
        "/250px-Castilla-La_Mancha-loc.svg.png",
        "Escopete ubicada en Castiella-La Mancha",
    ),
    ("https://upload.wikimedia.org/wikipedia/commons/thumb/d/d2/Map_pointer.svg/12px-Map_pointer.svg.png", "Escopete"),
    ("https://an.wikipedia.org/static/images/footer/wikimedia-button.png", "Wikimedia Foundation"),
    ("https://an.wikipedia.org/static/images/footer/poweredby_mediawiki_88x31.png", "Powered by MediaWiki"),
]


def extract(path: Path) -> tuple[list, ExtractionStats]:
    stats = ExtractionStats()
    pairs = list(ExtractionStage().process_file(str(path), stats))
    assert stats.unbalanced() == []
    return pairs, stats


def test_real_capture_pairs(shared_data):
    path = shared_data / "commoncrawl" / "whirlwind.warc.gz"
    pairs, stats = extract(path)

    assert [(pair.url, pair.text) for pair in pairs] == WHIRLWIND_PAIRS
    assert {pair.text_source for pair in pairs} == {"alt"}
    assert {pair.page_url for pair in pairs} == {"https://an.wikipedia.org/wiki/Escopete"}
    assert {pair.warc_record_id for pair in pairs} == {"<urn:uuid:2aabeff2-67f5-4608-8466-e87c6296e2b6>"}
    assert {pair.source_file for pair in pairs} == {str(path)}
    assert all(pair.image_id == image_id_from_url(pair.url) for pair in pairs)


def test_real_capture_counters(shared_data):
    _, stats = extract(shared_data / "commoncrawl" / "whirlwind.warc.gz")
    assert stats.records_read == 4
    assert stats.records_used == 1
    assert stats.record_drops["not_http_response"] == 3
    assert stats.images_seen == 13
    # Nine images carry an alt attribute; two of those alts are empty.
    assert stats.candidates == 9
    assert stats.candidate_drops["empty_text"] == 2
    assert stats.pairs_emitted == 7
    assert stats.charset_sources == {"http_header": 1}


def test_real_wat_has_no_response_record(shared_data):
    pairs, stats = extract(shared_data / "commoncrawl" / "whirlwind.warc.wat.gz")
    assert pairs == []
    assert stats.records_read == 2
    assert stats.record_drops["not_http_response"] == 2


def test_legacy_charset_pages():
    pairs, stats = extract(FIXTURES / "pages.warc.gz")
    texts = {pair.page_url: [] for pair in pairs}
    for pair in pairs:
        texts[pair.page_url].append(pair.text)

    assert texts["http://photos.example.jp/tokyo/index.html"] == ["夜の東京タワー", "浅草寺の雷門"]
    assert texts["http://travel.example.cn/changcheng/trip.html"] == ["长城上的日出"]
    assert texts["http://blog.example.ru/2024/moscow.html"] == ["Красная площадь зимой", "Кремль вечером"]
    assert stats.charset_sources == {"http_header": 2, "meta_tag": 1, "detected": 1}


def test_url_and_text_cases():
    pairs, stats = extract(FIXTURES / "pages.warc.gz")
    cases = [
        (pair.url, pair.text, pair.text_source)
        for pair in pairs
        if pair.page_url == "https://www.example.org/articles/cases.html"
    ]
    assert cases == [
        ("https://static.example.org/assets/relative/cat.jpg", "A cat on a mat", "alt"),
        ("https://static.example.org/root/dog.jpg", "Dog & ball été", "alt"),
        ("https://cdn.example.net/bird.png", "A bird in flight today", "alt"),
        ("https://images.example.com/Fish%20Tank.jpg", "Fish tank", "alt"),
        ("https://static.example.org/spaces%20in%20name.jpg", "File name with spaces", "alt"),
        ("https://static.example.org/both.jpg", "Same text", "alt"),
        ("https://static.example.org/title-only.jpg", "Only a title", "title"),
        ("https://static.example.org/gallery.jpg", "Gallery alt", "alt"),
        ("https://static.example.org/gallery.jpg", "Gallery title", "data-image-title"),
    ]


def test_record_drops_by_reason():
    _, stats = extract(FIXTURES / "pages.warc.gz")
    assert stats.records_read == 9
    assert stats.records_used == 4
    assert stats.record_drops == {
        "not_http_response": 2,
        "not_success_status": 1,
        "not_html": 1,
        "undecodable": 1,
    }
    assert stats.candidate_drops == {
        "empty_text": 2,
        "missing_src": 1,
        "data_url": 1,
        "non_http_url": 2,
        "duplicate_on_page": 2,
    }


def test_wat_records_in_real_layout():
    pairs, stats = extract(FIXTURES / "pages.wat.gz")
    assert [(pair.url, pair.text, pair.text_source) for pair in pairs] == [
        ("https://www.example.museum/media/vase.jpg", "Blue vase & bowl", "alt"),
        ("https://cdn.example.museum/statue.jpg", "Marble statue", "alt"),
        ("https://cdn.example.museum/statue.jpg", "Statue, 1820", "title"),
        ("https://www.example.museum/en/thumbs/coin.png", "Roman coin", "title"),
        ("https://shop.example.de/img/kaffeetasse.jpg", "Kaffeetasse aus Porzellan", "alt"),
    ]
    # The pairs name the WARC response record that the WAT record describes.
    assert pairs[0].warc_record_id.startswith("<urn:uuid:")
    assert pairs[0].page_url == "https://www.example.museum/en/index.html"
    assert stats.records_read == 6
    assert stats.records_used == 2
    assert stats.record_drops == {"not_http_response": 2, "not_html": 1, "undecodable": 1}
    assert stats.candidate_drops == {"empty_text": 1, "data_url": 1, "duplicate_on_page": 1}


def test_truncated_file_keeps_pairs_before_the_cut():
    pairs, stats = extract(FIXTURES / "truncated.warc.gz")
    assert [pair.text for pair in pairs] == ["First image", "Second image"]
    assert stats.record_drops == {"not_http_response": 1, "truncated_record": 1}
    assert stats.faults == {"truncated_gzip": 1}


def test_wrong_content_length_skips_only_damaged_records():
    pairs, stats = extract(FIXTURES / "bad_content_length.warc.gz")
    assert [pair.text for pair in pairs] == ["Image 1", "Image 2", "Image 3"]
    assert stats.record_drops == {"content_length_mismatch": 2}
    assert stats.faults == {"invalid_warc_header": 1}


def test_missing_file_is_a_counted_fault(tmp_path):
    pairs, stats = extract(tmp_path / "absent.warc.gz")
    assert pairs == []
    assert stats.files == 1
    assert stats.faults == {"unreadable_file": 1}
    assert stats.files_with_faults[0]["source_file"] == str(tmp_path / "absent.warc.gz")
