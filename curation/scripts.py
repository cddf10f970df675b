"""Unicode script tests used by matching (word boundaries) and by the Chinese/Japanese LID rule."""

from __future__ import annotations

import unicodedata

# Code point ranges of scripts written without spaces between words. Entries of these scripts
# match inside running text, with no word boundary around them.
SPACELESS_RANGES: dict[str, tuple[tuple[int, int], ...]] = {
    "Han": (
        (0x2E80, 0x2FDF),  # CJK and Kangxi radicals
        (0x3005, 0x3007),  # iteration mark, closing mark, ideographic zero
        (0x3021, 0x3029),  # Hangzhou numerals
        (0x3038, 0x303B),
        (0x3400, 0x4DBF),  # extension A
        (0x4E00, 0x9FFF),  # unified ideographs
        (0xF900, 0xFAFF),  # compatibility ideographs
        (0x20000, 0x323AF),  # extensions B to H
    ),
    "Hiragana": ((0x3040, 0x309F), (0x1B001, 0x1B11F)),
    "Katakana": ((0x30A0, 0x30FF), (0x31F0, 0x31FF), (0xFF66, 0xFF9F)),
    "Hangul": ((0x1100, 0x11FF), (0x3130, 0x318F), (0xA960, 0xA97F), (0xAC00, 0xD7AF), (0xD7B0, 0xD7FF)),
    "Thai": ((0x0E00, 0x0E7F),),
    "Lao": ((0x0E80, 0x0EFF),),
    "Myanmar": ((0x1000, 0x109F), (0xA9E0, 0xA9FF), (0xAA60, 0xAA7F)),
    "Khmer": ((0x1780, 0x17FF), (0x19E0, 0x19FF)),
    "Tibetan": ((0x0F00, 0x0FFF),),
}

_KANA_RANGES = SPACELESS_RANGES["Hiragana"] + SPACELESS_RANGES["Katakana"]
_HAN_RANGES = SPACELESS_RANGES["Han"]


def _in_ranges(code_point: int, ranges: tuple[tuple[int, int], ...]) -> bool:
    for low, high in ranges:
        if low <= code_point <= high:
            return True
    return False


def _build_spaceless_table(limit: int = 0x10000) -> bytearray:
    all_ranges = tuple(item for ranges in SPACELESS_RANGES.values() for item in ranges)
    return bytearray(_in_ranges(code_point, all_ranges) for code_point in range(limit))


_SPACELESS_BMP = _build_spaceless_table()
_ALL_SPACELESS = tuple(item for ranges in SPACELESS_RANGES.values() for item in ranges)


def is_spaceless(char: str) -> bool:
    """Return True when ``char`` belongs to a script written without spaces between words."""
    code_point = ord(char)
    if code_point < 0x10000:
        return bool(_SPACELESS_BMP[code_point])
    return _in_ranges(code_point, _ALL_SPACELESS)


def is_punctuation(char: str) -> bool:
    """Return True for Unicode punctuation (categories P*) and symbols (S*)."""
    return unicodedata.category(char)[0] in "PS"


def is_kana(char: str) -> bool:
    return _in_ranges(ord(char), _KANA_RANGES)


def is_han(char: str) -> bool:
    return _in_ranges(ord(char), _HAN_RANGES)


def _encodes_in_japanese_charsets(char: str) -> bool:
    # EUC-JP covers JIS X 0208 and JIS X 0212, the kanji Japanese text is written with.
    # Simplified Chinese forms such as 这, 们, 说 and 车 fall outside it.
    try:
        char.encode("euc_jp")
    except UnicodeEncodeError:
        return False
    return True


# Function characters of Chinese grammar (particles, pronouns, measure words) that Japanese
# writes in kana, so kanji-only Japanese text such as a name or a place almost never contains them.
# Characters common in Japanese names (和, 都, 那, 上) are left out on purpose.
CHINESE_FUNCTION_CHARACTERS = frozenset("的了着著在里裡们們这這个吗嗎呢吧很她它被把么麼没沒让讓从")


def han_outside_japanese_charsets(text: str) -> int:
    """Return how many Han characters of ``text`` no Japanese character set encodes."""
    return sum(1 for char in text if is_han(char) and not _encodes_in_japanese_charsets(char))


def correct_chinese_japanese(lid_lang: str | None, text: str) -> str | None:
    """Correct the Chinese/Japanese confusion of LID models with the script of the text.

    lid.176 labels many Chinese captions as Japanese. A text labelled Japanese that has no kana
    is Chinese when it contains a Han character that no Japanese character set encodes, or a
    Chinese function character. A text labelled Chinese that contains kana is Japanese. Other
    kanji-only text (names, places) keeps the model's label, so Japanese is not broken.
    ``lid_lang`` is the metadata language of the model's label; the corrected one is returned.
    """
    if lid_lang not in ("ja", "zh"):
        return lid_lang

    has_kana = False
    has_han = False
    for char in text:
        if is_kana(char):
            has_kana = True
            break
        if not has_han and is_han(char):
            has_han = True

    if lid_lang == "zh" and has_kana:
        return "ja"
    if lid_lang == "ja" and not has_kana and has_han:
        if any(char in CHINESE_FUNCTION_CHARACTERS for char in text):
            return "zh"
        if han_outside_japanese_charsets(text) > 0:
            return "zh"
    return lid_lang
