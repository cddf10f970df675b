"""Unigram and bigram counts and bigram PMI, checked against counts made by hand."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from metadata.build import NgramOptions
from metadata.merge import MergeOptions
from metadata.wikipedia import BIGRAM, STATISTIC, UNIGRAM, count_line, count_wikipedia_ngrams

TEST_DATA = Path(__file__).parent / "data" / "metadata"

# Keep every unigram and every bigram, so the counts can be compared one by one.
KEEP_ALL = MergeOptions(unigram_fraction=1.0, bigram_min_pmi=0.0)


def _first_english_captions(shared_data, count: int) -> list[str]:
    path = shared_data / "captions" / "multi30k_task1_train_first5000.tsv"
    with path.open(encoding="utf-8", newline="") as handle:
        rows = csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)
        next(rows)
        return [row[-1] for row, _ in zip((row for row in rows if row[0] == "en"), range(count))]


@pytest.fixture(scope="module")
def caption_counts(spark, shared_data, tmp_path_factory):
    lines = _first_english_captions(shared_data, 6)
    assert lines[0] == "Two young, White males are outside near many bushes."
    path = tmp_path_factory.mktemp("corpus") / "en.txt"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return count_wikipedia_ngrams(spark, [str(path)], "en", NgramOptions(bigram_min_count=1), KEEP_ALL)


def test_unigram_counts_match_hand_counts(caption_counts):
    counts = dict(caption_counts.unigrams.items)
    # Tokens per line: 9 + 11 + 8 + 14 + 8 + 14.
    assert caption_counts.tokens == 64
    assert counts["a"] == 6
    assert counts["A"] == 3
    assert counts["man"] == 3
    assert counts["in"] == 3
    assert counts["Two"] == 2
    assert counts["young"] == 1
    assert "," not in counts
    assert "." not in counts
    assert caption_counts.unigrams.distinct == len(counts)


def test_bigram_pmi_matches_hand_computation(caption_counts):
    pmi = dict(caption_counts.bigrams)
    # pmi = count(a b) * N / (count(a) * count(b)), N = 64 tokens.
    assert pmi["man in"] == pytest.approx(2 * 64 / (3 * 3))
    assert pmi["A man"] == pytest.approx(2 * 64 / (3 * 3))
    assert pmi["Two young"] == pytest.approx(1 * 64 / (2 * 1))
    assert pmi["a ladder"] == pytest.approx(1 * 64 / (6 * 1))


def test_bigram_never_crosses_punctuation(caption_counts):
    entries = {entry for entry, _ in caption_counts.bigrams}
    assert "young White" not in entries
    assert "bushes Several" not in entries
    assert "White males" in entries
    # Bigrams per line: 1 + 6, 10, 7, 13, 7, 13.
    assert len(entries) == len(caption_counts.bigrams)
    assert caption_counts.distinct_bigrams == 55


def test_pmi_threshold_and_min_count(spark, tmp_path):
    path = tmp_path / "en.txt"
    path.write_text("new york city\nnew york\nnew york\nthe city\nthe dog\nthe cat\n", encoding="utf-8")
    options = MergeOptions(bigram_min_pmi=2.0)
    counts = count_wikipedia_ngrams(spark, [str(path)], "en", NgramOptions(bigram_min_count=2), options)
    # N is 13 tokens, so pmi(new york) = 3 * 13 / (3 * 3). "york city" is seen once and is not scored.
    assert counts.bigrams == [("new york", pytest.approx(13 / 3))]


def test_wikiextractor_json_and_malformed_lines(spark):
    counts = count_wikipedia_ngrams(
        spark, [str(TEST_DATA / "wiki_de.jsonl")], "de", NgramOptions(bigram_min_count=1), KEEP_ALL
    )
    unigrams = dict(counts.unigrams.items)
    assert unigrams["Haushund"] == 3
    assert unigrams["Hund"] == 1
    assert counts.skipped == {"malformed_json": 1, "json_without_text": 1}
    assert counts.statistics["lines"] == 2
    pmi = dict(counts.bigrams)
    # "Hund" (title line) and "Der" (next paragraph) are on different lines: no bigram.
    assert "Hund Der" not in pmi
    assert "Der Haushund" in pmi
    assert counts.tokenizer.startswith("whitespace")


def test_chinese_bigrams_join_without_space():
    records = dict(count_line("一只宠物狗在草地上", "zh", "text"))
    assert records[(BIGRAM, "一只", "", "宠物狗")] == 1
    assert records[(UNIGRAM, "宠物狗")] == 1
    assert not any(key[0] == BIGRAM and key[2] == " " for key in records)


def test_count_line_skips_wikiextractor_doc_tags():
    records = list(count_line('<doc id="12" url="https://de.wikipedia.org/wiki?curid=12" title="Hund">', "de", "auto"))
    assert records == [((STATISTIC, "skipped_wikiextractor_doc_tag"), 1)]
    assert list(count_line("</doc>", "de", "auto")) == [((STATISTIC, "skipped_wikiextractor_doc_tag"), 1)]
    records = list(count_line("Der Hund bellt", "de", "text"))
    assert ((STATISTIC, "lines"), 1) in records
    assert ((UNIGRAM, "Hund"), 1) in records
    assert ((BIGRAM, "Hund", " ", "bellt"), 1) in records
