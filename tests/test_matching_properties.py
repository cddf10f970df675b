"""Property tests of normalisation and entry matching, with generated Unicode texts and entries."""

from __future__ import annotations

import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from curation import schemas as S
from curation.annotate import AnnotateOptions, match_entries
from curation.matching import EntryMatcher, normalize_for_matching
from metadata.store import write_metadata

# Any code point, lone surrogates included: Python strings can hold them, and a matcher must
# not fail on them even though the job never passes them on.
ANY_CHARACTER = st.one_of(st.characters(exclude_categories=()), st.characters(categories=["Cs"]))
ANY_TEXT = st.text(ANY_CHARACTER, max_size=200)

# A small alphabet of word characters, separators, punctuation, spaceless scripts, combining
# marks and emoji, so that generated entries often occur in generated texts.
DENSE_ALPHABET = list("abcab ,.;:?!'-\t\n\r") + ["\u00e9", "\u0301", "\u200d", "\u00a0", "\u72d7", "\u732b", "\u0e2b", "\u0e21", "\U0001F436"]
DENSE_TEXT = st.text(st.sampled_from(DENSE_ALPHABET), max_size=60)
DENSE_ENTRY = st.text(st.sampled_from(DENSE_ALPHABET), min_size=1, max_size=6)

PROPERTY_SETTINGS = settings(max_examples=300, deadline=None, derandomize=True)


@st.composite
def text_and_entries(draw, text_strategy=DENSE_TEXT):
    """Draw a text and entries, some of them slices of the text, so that matches happen."""
    text = draw(text_strategy)
    entries = draw(st.lists(DENSE_ENTRY, max_size=8))
    for _ in range(draw(st.integers(0, 4))):
        if text:
            start = draw(st.integers(0, len(text) - 1))
            end = draw(st.integers(start + 1, min(len(text), start + 8)))
            entries.append(text[start:end])
    return text, entries


@PROPERTY_SETTINGS
@given(ANY_TEXT)
def test_normalize_accepts_any_text(text):
    normalized = normalize_for_matching(text)
    assert normalized.startswith(" ")
    assert normalized.endswith(" ")
    assert not set("\t\n\r") & set(normalized)


@PROPERTY_SETTINGS
@given(ANY_TEXT, st.lists(ANY_TEXT, max_size=8))
def test_match_accepts_any_text_and_entries(text, entries):
    entry_ids = EntryMatcher("xx", entries).match(text)
    assert entry_ids == sorted(set(entry_ids))
    assert all(0 <= entry_id < len(entries) for entry_id in entry_ids)


@PROPERTY_SETTINGS
@given(text_and_entries(st.one_of(DENSE_TEXT, ANY_TEXT)))
def test_matched_entries_occur_in_normalized_text(case):
    text, entries = case
    normalized = normalize_for_matching(text)
    for entry_id in EntryMatcher("xx", entries).match(text):
        assert entries[entry_id].strip() in normalized


@PROPERTY_SETTINGS
@given(text_and_entries())
def test_entries_between_spaces_are_matched(case):
    # An entry with a space on each side in the normalised text always sits at word boundaries.
    text, entries = case
    normalized = normalize_for_matching(text)
    matched = set(EntryMatcher("xx", entries).match(text))
    for entry_id, entry in enumerate(entries):
        key = entry.strip()
        if key and f" {key} " in normalized:
            assert entry_id in matched, (key, normalized)


@PROPERTY_SETTINGS
@given(st.lists(DENSE_TEXT, max_size=20), st.lists(DENSE_ENTRY, min_size=1, max_size=10))
def test_match_many_equals_match_per_row(texts, entries):
    matcher = EntryMatcher("xx", entries)
    one_by_one = [matcher.match(text) for text in texts]
    assert matcher.match_many(texts) == one_by_one
    assert matcher.match_many(reversed(texts)) == one_by_one[::-1]


@PROPERTY_SETTINGS
@given(text_and_entries())
def test_match_ignores_other_texts(case):
    # A matcher keeps no state between texts: matching another text first changes nothing.
    text, entries = case
    matcher = EntryMatcher("xx", entries)
    alone = matcher.match(text)
    matcher.match(text + " " + "".join(entries))
    assert matcher.match(text) == alone


# Spark keeps strings as UTF-8, which cannot hold lone surrogates.
SPARK_TEXT = st.text(st.one_of(st.sampled_from(DENSE_ALPHABET), st.characters(exclude_categories=("Cs",))), max_size=60)
SPARK_ENTRIES = {
    "en": ["a", "ab", "b a", "c", "caba", "\u00e9", "a\u0301", "\U0001F436"],
    "zh": ["\u72d7", "\u732b", "\u72d7\u732b"],
    "th": ["\u0e2b\u0e21", "\u0e21"],
}


@pytest.fixture(scope="module")
def spark_metadata(tmp_path_factory) -> str:
    directory = tmp_path_factory.mktemp("matching-properties") / "metadata"
    write_metadata(str(directory), {lang: {entry: ["test"] for entry in entries} for lang, entries in SPARK_ENTRIES.items()})
    return str(directory)


# Rows that every Spark example includes, so that each run has matches in each language.
FIXED_ROWS = [
    ("en", "a caba, b a! \u00e9 a\u0301 \U0001F436"),
    ("en", "ab\tc\nb a"),
    ("zh", "\u72d7\u732b\u72d7"),
    ("th", "\u0e2b\u0e21\u0e21"),
    ("en", ""),
]


@settings(max_examples=2, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(generated=st.lists(st.tuples(st.sampled_from(sorted(SPARK_ENTRIES)), SPARK_TEXT), min_size=10, max_size=40))
def test_spark_stage_equals_match_per_row(spark, spark_metadata, tmp_path_factory, generated):
    from metadata.store import load_language_entries

    rows = FIXED_ROWS + generated
    schema = f"{S.IMAGE_ID} string, {S.URL} string, {S.TEXT} string, {S.LANG} string, {S.LID_LABEL} string, {S.LID_SCORE} float"
    identified = spark.createDataFrame(
        [(f"id{index}", None, text, lang, lang, 1.0) for index, (lang, text) in enumerate(rows)], schema
    )
    options = AnnotateOptions(metadata_dir=spark_metadata, metadata_languages=frozenset(SPARK_ENTRIES))
    path = tmp_path_factory.mktemp("matched") / "annotated"
    match_entries(identified, options, 2).write.parquet(str(path))
    identified.unpersist()

    from_spark = {row[S.IMAGE_ID]: row[S.ENTRY_IDS] for row in pq.read_table(path).to_pylist()}
    matchers = {lang: EntryMatcher(lang, load_language_entries(spark_metadata, lang).entries) for lang in SPARK_ENTRIES}
    expected = {f"id{index}": matchers[lang].match(text) for index, (lang, text) in enumerate(rows)}
    assert from_spark == expected
    assert any(from_spark.values())
