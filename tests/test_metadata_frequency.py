"""Word-frequency lists: files with counts or zipf values, and the wordfreq package's lists."""

from __future__ import annotations

import gzip

import pytest

from metadata import frequency


def test_wordfreq_file_reads_zipf(shared_data):
    result = frequency.read_frequency_file(str(shared_data / "frequency" / "wordfreq" / "en.tsv"), "en")
    assert result.weight == "zipf"
    assert result.ranked.distinct == 12_000
    assert result.ranked.items[0] == ("the", 7.73)
    assert result.malformed == 0


def test_count_files_of_every_source(shared_data):
    for folder in ("opensubtitles2018_hermitdave", "wikipedia_ilyasemenov", "wordfreq"):
        for path in sorted((shared_data / "frequency" / folder).glob("*.tsv")):
            lang = frequency.language_of_frequency_file(str(path))
            result = frequency.read_frequency_file(str(path), lang)
            rows = sum(1 for _ in path.open(encoding="utf-8")) - 1
            assert result.malformed == 0, path
            assert 0 < result.ranked.distinct <= rows, path
            weights = [weight for _, weight in result.ranked.items]
            assert weights == sorted(weights, reverse=True), path


def test_count_file_weights_are_counts(shared_data):
    path = shared_data / "frequency" / "wikipedia_ilyasemenov" / "af.tsv"
    result = frequency.read_frequency_file(str(path), "af")
    assert result.weight == "count"
    assert result.ranked.items[0] == ("die", 2_321_795.0)


def test_malformed_rows_counted(tmp_path):
    path = tmp_path / "de.tsv.gz"
    with gzip.open(path, "wt", encoding="utf-8") as handle:
        handle.write("word\tcount\nHund\t10\nKatze\tviele\n\t5\nMaus\t3\textra\nBaum\tnan\nHund\t12\nHaus\t7\n")
    result = frequency.read_frequency_file(str(path), "de")
    assert result.malformed == 4
    assert result.ranked.items == [("Hund", 12.0), ("Haus", 7.0)]
    assert frequency.language_of_frequency_file(str(path)) == "de"


def test_file_without_header(tmp_path):
    path = tmp_path / "nl.tsv"
    path.write_text("de\t100\nhet\t80\n", encoding="utf-8")
    result = frequency.read_frequency_file(str(path), "nl")
    assert [word for word, _ in result.ranked.items] == ["de", "het"]


def test_wordfreq_package_list():
    result = frequency.read_wordfreq_list("en", top=1000)
    assert len(result.ranked.items) == 1000
    assert result.ranked.distinct > 100_000
    assert result.ranked.items[0] == ("the", 7.73)
    words = [word for word, _ in result.ranked.items]
    assert len(set(words)) == len(words)


def test_wordfreq_chinese_needs_no_segmenter():
    result = frequency.read_wordfreq_list("zh", top=50)
    assert result.ranked.items[0][0] == "的"


def test_wordfreq_unknown_language():
    with pytest.raises(ValueError, match="wordfreq has no word list for language 'xx'"):
        frequency.read_wordfreq_list("xx")
