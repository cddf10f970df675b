"""WordNet readers on the OMW lists, the Wiktionary-derived lists and English WordNet."""

from __future__ import annotations

from pathlib import Path

import pytest

from metadata import wordnet
from metadata.sources import SourceError

TEST_DATA = Path(__file__).parent / "data" / "metadata"

# Lemmas with markup residue as they appear in the OMW French wordnet (WOLF), and their cleaned form.
FRENCH_RESIDUE = [
    ("(''academic spelling'') Tōkyō", "Tōkyō"),
    ("Bahamas ''f pl''", "Bahamas"),
    ("Marches ''pl'' &lt;!--- (''gender?'') ---&gt;", "Marches"),
    ("Milan &lt;!--gender?--&gt;", "Milan"),
    ("Parc national de Sequoia &amp; Kings Canyon", "Parc national de Sequoia & Kings Canyon"),
    ("c&amp;#339;lacanthe", "cœlacanthe"),
    ("fr&amp;eacute;n&amp;eacute;sie", "frénésie"),
    ("vitamine B&lt;sub&gt;6&lt;/sub&gt;", "vitamine B6"),
    ("oie blanche ''(canada)''", "oie blanche"),
]


@pytest.mark.parametrize("raw, expected", FRENCH_RESIDUE)
def test_clean_lemma_french_residue(raw, expected):
    assert wordnet.clean_lemma(raw) == (expected, None)


@pytest.mark.parametrize(
    "raw, reason",
    [
        ("Orissa''' '", wordnet.DROP_UNBALANCED_QUOTES),
        ("gå ''til", wordnet.DROP_UNBALANCED_QUOTES),
        ("''Butchery'' refers to cold-blooded cruelty", wordnet.DROP_WIKI_SENTENCE),
        ("<HTML>", wordnet.DROP_EMPTY_AFTER_MARKUP),
    ],
)
def test_clean_lemma_drops_with_reason(raw, reason):
    assert wordnet.clean_lemma(raw) == (None, reason)


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("hot_dog", "hot dog"),
        ("尘[粉]状+的", "尘[粉]状的"),
        ("[[geroosterd]] [[brood]]", "geroosterd brood"),
        ("capital{{m}}", "capital"),
        ("mo&amp;amp;#269;virniki", "močvirniki"),
        ("resuscytacja krążeniowo-oddechowa[edytuj]", "resuscytacja krążeniowo-oddechowa"),
        ("''Agropyron repens''", "Agropyron repens"),
        ("rock 'n' roll", "rock 'n' roll"),
    ],
)
def test_clean_lemma_other_markup(raw, expected):
    assert wordnet.clean_lemma(raw) == (expected, None)


def test_omw_language_table_special_codes():
    mapping = wordnet.load_omw_language_map()
    assert mapping["als"] == "sq"
    assert mapping["fas"] == "fa"
    assert mapping["cmn"] == "zh"
    assert mapping["qcn"] == "zh"
    assert mapping["zsm"] == "ms"
    assert mapping["nob"] == "no"
    assert mapping["eng"] == "en"


def test_all_omw_lists_read(shared_data):
    paths = sorted((shared_data / "wordnet" / "omw").glob("*.txt"))
    assert len(paths) == 28
    languages = set()
    for path in paths:
        lemmas = wordnet.read_wordnet_source(str(path))
        languages.add(lemmas.lang)
        assert lemmas.lemmas, path.name
        assert not any("_" in lemma or "+" in lemma for lemma in lemmas.lemmas), path.name
        dropped = sum(lemmas.dropped.values())
        raw_lines = sum(1 for _ in path.open(encoding="utf-8"))
        assert len(lemmas.lemmas) + dropped == raw_lines, path.name
    assert {"sq", "fa", "zh", "ms", "no", "nn", "it", "fr"} <= languages


def test_french_list_counts_dropped(shared_data):
    lemmas = wordnet.read_wordnet_source(str(shared_data / "wordnet" / "omw" / "fra.txt"))
    assert lemmas.lang == "fr"
    assert lemmas.dropped[wordnet.DROP_UNBALANCED_QUOTES] == 1
    assert lemmas.dropped[wordnet.DROP_EMPTY_AFTER_MARKUP] == 1
    assert lemmas.cleaned == 19
    assert "Tōkyō" in lemmas.lemmas
    assert not any("&lt;" in lemma or "''" in lemma for lemma in lemmas.lemmas)


def test_wiktionary_lists_map_to_wikipedia_codes(shared_data):
    paths = sorted((shared_data / "wordnet" / "omw_wiktionary").glob("[a-z][a-z][a-z].txt"))
    assert len(paths) == 21
    found = {}
    for path in paths:
        lemmas = wordnet.read_wordnet_source(str(path))
        found[path.stem] = lemmas.lang
        assert not any("''" in lemma for lemma in lemmas.lemmas), path.name
    assert found["jpn"] == "ja"
    assert found["tha"] == "th"
    assert found["eng"] == "en"
    assert found["arb"] == "ar"


def test_english_synset_head_lemmas(shared_data):
    path = shared_data / "wordnet" / "en" / "wordnet30_synset_head_lemmas.txt"
    lemmas = wordnet.read_wordnet_source(str(path), "eng")
    assert lemmas.lang == "en"
    assert len(lemmas.lemmas) == 86_571
    assert "dog" in lemmas.lemmas
    assert "hot air" in lemmas.lemmas


def test_tab_file_reads_lemma_rows(tmp_path):
    lemmas = wordnet.read_wordnet_source(str(TEST_DATA / "wn-data-fra.tab"))
    assert lemmas.lang == "fr"
    assert lemmas.iso639_3 == "fra"
    assert lemmas.lemmas == [
        "chien",
        "chat",
        "chat domestique",
        "voiture",
        "vélo tout terrain",
        "Bahamas",
        "cœlacanthe",
        "vitamine B6",
    ]
    assert lemmas.dropped[wordnet.DROP_MALFORMED_ROW] == 1
    assert lemmas.dropped["not_a_lemma_row"] == 2


def test_unknown_language_is_one_line_error(tmp_path):
    path = tmp_path / "xyz.txt"
    path.write_text("word\n", encoding="utf-8")
    with pytest.raises(SourceError, match="'xyz' is not in omw_languages.tsv") as error:
        wordnet.read_wordnet_source(str(path))
    assert "\n" not in str(error.value)
