"""Language ID: label mapping, the Chinese/Japanese script rule, and the real lid.176 model."""

import pytest

from curation.lid import get_identifier
from curation.scripts import correct_chinese_japanese
from metadata.lid_languages import languages_with_lid, metadata_language_of_label, resolve_language


@pytest.mark.parametrize(
    "label, lang",
    [
        ("__label__en", "en"),
        ("wuu", "zh"),
        ("yue", "zh"),
        ("als", "als"),  # lid.176: Alemannic
        ("__label__als_Latn", "sq"),  # NLLB and GlotLID: Albanian
        ("__label__zho_Hans", "zh"),
        ("__label__zho_Hant", "zh"),
        ("__label__cmn_Hani", "zh"),
        ("__label__arb_Arab", "ar"),
        ("__label__nob_Latn", "no"),
        ("__label__zsm_Latn", "ms"),
        ("__label__pes_Arab", "fa"),
    ],
)
def test_label_maps_to_metadata_language(label, lang):
    assert metadata_language_of_label(label) == lang


def test_unknown_label_goes_to_other():
    assert metadata_language_of_label("__label__xyz_Latn") is None
    assert resolve_language("__label__xyz_Latn", frozenset({"en"})) == "other"


def test_language_missing_from_metadata_goes_to_other():
    assert resolve_language("__label__de", frozenset({"en"})) == "other"


def test_every_lid176_label_is_mapped():
    identifier = get_identifier()
    labels = identifier._model.get_labels()
    assert len(labels) == 176
    unmapped = [label for label in labels if metadata_language_of_label(label) is None]
    assert unmapped == []


@pytest.mark.parametrize(
    "text",
    ["男人在冲浪。", "一群人在山洞里。", "两只狗在草地上玩耍。", "这是我们的车"],
)
def test_chinese_labelled_japanese_is_corrected(text):
    assert correct_chinese_japanese("ja", text) == "zh"


@pytest.mark.parametrize("text", ["東京駅", "富士山", "京都府立大学", "大阪城公園"])
def test_kanji_only_japanese_keeps_label(text):
    assert correct_chinese_japanese("ja", text) == "ja"


def test_japanese_with_kana_keeps_label():
    assert correct_chinese_japanese("ja", "公園で遊ぶ子供たち") == "ja"


def test_chinese_label_with_kana_becomes_japanese():
    assert correct_chinese_japanese("zh", "東京のラーメン") == "ja"


def test_other_languages_are_untouched():
    assert correct_chinese_japanese("ko", "男人在冲浪") == "ko"
    assert correct_chinese_japanese(None, "男人在冲浪") is None


def test_model_labels_batch_with_scores():
    identifier = get_identifier()
    languages = frozenset(languages_with_lid())
    result = identifier.identify(
        ["A dog runs on the beach", "Ein Hund läuft am Strand", "一只狗在海滩上跑", "浜辺を走る犬", "東京駅"],
        languages,
    )
    assert result.labels[:2] == ["en", "de"]
    assert result.languages == ["en", "de", "zh", "ja", "ja"]
    assert all(0.0 <= score <= 1.0 for score in result.scores)
    assert result.scores.dtype.name == "float32"


def test_model_handles_empty_batch_and_line_breaks():
    identifier = get_identifier()
    labels, scores = identifier.predict([])
    assert labels == []
    assert len(scores) == 0
    labels, _ = identifier.predict(["first line\nsecond line of English text"])
    assert labels == ["en"]
