"""Split text into word tokens for n-gram counting, with a word segmenter where one exists.

Text is split on whitespace. Each punctuation or symbol character (Unicode categories P and S)
is a break: it ends the current run of tokens, so no bigram crosses it, and it is not counted.
Each character of a script written without spaces (Han, kana, Thai, Lao, Myanmar, Khmer,
Tibetan) is a token of its own, with its combining marks, unless a segmenter for the language
has already cut the text into words:

- ``zh``: jieba (``jieba.lcut``, HMM on)
- ``ja``: SudachiPy with the sudachidict_core dictionary, split mode B
- ``th``: PyThaiNLP, the ``newmm`` dictionary segmenter

Other spaceless languages (lo, my, km, bo, dz, yue, wuu, ...) fall back to characters.
"""

from __future__ import annotations

import functools
import logging
import unicodedata
from dataclasses import dataclass
from typing import Callable

from metadata.sources import DependencyError

logger = logging.getLogger(__name__)

# Blocks of scripts written without spaces between words: (first, last) code points.
SPACELESS_RANGES = (
    (0x0E00, 0x0E7F),  # Thai
    (0x0E80, 0x0EFF),  # Lao
    (0x0F00, 0x0FFF),  # Tibetan
    (0x1000, 0x109F),  # Myanmar
    (0x1780, 0x17FF),  # Khmer
    (0x19E0, 0x19FF),  # Khmer symbols
    (0x2E80, 0x2FDF),  # CJK radicals, Kangxi radicals
    (0x3040, 0x30FF),  # Hiragana, Katakana
    (0x3100, 0x312F),  # Bopomofo
    (0x31A0, 0x31FF),  # Bopomofo extended, CJK strokes, Katakana extensions
    (0x3400, 0x4DBF),  # CJK extension A
    (0x4E00, 0x9FFF),  # CJK unified ideographs
    (0xA9E0, 0xA9FF),  # Myanmar extended-B
    (0xAA60, 0xAA7F),  # Myanmar extended-A
    (0xF900, 0xFAFF),  # CJK compatibility ideographs
    (0xFF66, 0xFF9F),  # half-width Katakana
    (0x20000, 0x3134F),  # CJK extensions B to G
)

SEGMENTED_LANGUAGES = ("ja", "th", "zh")
# Languages written without spaces that have no segmenter here and are split into characters.
CHARACTER_LANGUAGES = ("bo", "dz", "gan", "km", "lo", "lzh", "my", "shn", "wuu", "yue", "zh-classical", "zh-yue")

# A token and whether whitespace came before it in the text.
Token = tuple[str, bool]


@dataclass(frozen=True)
class Segmenter:
    """A word segmenter: its name, package version and the function that cuts text into words."""

    name: str
    version: str
    cut: Callable[[str], list[str]]


def is_spaceless_char(char: str) -> bool:
    code = ord(char)
    return any(first <= code <= last for first, last in SPACELESS_RANGES)


def is_break_char(char: str) -> bool:
    """Return True for punctuation and symbols, which end a run of tokens."""
    return unicodedata.category(char)[0] in "PS"


def _package_version(name: str) -> str:
    from importlib.metadata import version

    return version(name)


def _jieba() -> Segmenter:
    import jieba

    jieba.setLogLevel(logging.WARNING)
    return Segmenter("jieba", _package_version("jieba"), lambda text: jieba.lcut(text, HMM=True))


def _sudachi() -> Segmenter:
    from sudachipy import Dictionary, SplitMode

    tokenizer = Dictionary(dict="core").tokenizer(mode=SplitMode.B)
    version = f"{_package_version('sudachipy')}+sudachidict_core-{_package_version('sudachidict_core')}"
    return Segmenter("sudachipy", version, lambda text: [m.surface() for m in tokenizer.tokenize(text)])


def _pythainlp() -> Segmenter:
    from pythainlp.tokenize import word_tokenize

    return Segmenter(
        "pythainlp-newmm", _package_version("pythainlp"), lambda text: word_tokenize(text, engine="newmm", keep_whitespace=True)
    )


_SEGMENTER_FACTORIES: dict[str, Callable[[], Segmenter]] = {"zh": _jieba, "ja": _sudachi, "th": _pythainlp}


@functools.lru_cache(maxsize=None)
def get_segmenter(lang: str) -> Segmenter | None:
    """Return the segmenter of ``lang``, or None when the language has none.

    Raises DependencyError with the install command when the language has a segmenter whose
    package is not installed, so a build never falls back to characters unnoticed.
    """
    factory = _SEGMENTER_FACTORIES.get(lang)
    if factory is None:
        return None
    try:
        return factory()
    except ImportError as error:
        packages = {"zh": "jieba", "ja": "sudachipy sudachidict_core", "th": "pythainlp"}[lang]
        raise DependencyError(f"the word segmenter for {lang!r} is not installed: pip install {packages}") from error


def tokenizer_name(lang: str) -> str:
    """Return how the text of ``lang`` is split, for the manifest."""
    segmenter = get_segmenter(lang)
    if segmenter is not None:
        return f"{segmenter.name} {segmenter.version}"
    if lang in CHARACTER_LANGUAGES:
        return "characters: no word segmenter for this spaceless language"
    return "whitespace, punctuation and spaceless-script characters"


def _split_piece(piece: str, space_before: bool, split_spaceless: bool, runs: list[list[Token]]) -> None:
    """Append the tokens of a piece without whitespace to ``runs``, starting a run at each break."""
    current: list[str] = []
    current_is_spaceless = False

    def flush() -> None:
        nonlocal space_before
        if current:
            runs[-1].append(("".join(current), space_before))
            current.clear()
            space_before = False

    for char in piece:
        category = unicodedata.category(char)
        if category[0] in "PS":
            flush()
            if runs[-1]:
                runs.append([])
            continue

        # A combining mark (Thai vowels and tones, Myanmar signs) stays with the character before it.
        if category[0] == "M" and current:
            current.append(char)
            continue

        spaceless = split_spaceless and is_spaceless_char(char)
        if spaceless or current_is_spaceless:
            flush()
        current.append(char)
        current_is_spaceless = spaceless
    flush()


def _pieces(text: str, segmenter: Segmenter | None) -> list[tuple[str, bool]]:
    """Cut text into pieces without whitespace, each with whether whitespace came before it."""
    raw = segmenter.cut(text) if segmenter is not None else text.split(" ")
    pieces: list[tuple[str, bool]] = []
    space_before = False
    for item in raw:
        start = 0
        for index, char in enumerate(item):
            if char.isspace() or unicodedata.category(char) == "Cc":
                if index > start:
                    pieces.append((item[start:index], space_before))
                    space_before = False
                space_before = True
                start = index + 1
        if start < len(item):
            pieces.append((item[start:], space_before))
            space_before = False
        if segmenter is None:
            space_before = True
    return pieces


def tokenize_runs(text: str, lang: str) -> list[list[Token]]:
    """Split one line into runs of tokens; a run ends at punctuation, so bigrams stay inside runs."""
    segmenter = get_segmenter(lang)
    runs: list[list[Token]] = [[]]
    for piece, space_before in _pieces(text, segmenter):
        _split_piece(piece, space_before, split_spaceless=segmenter is None, runs=runs)
    return [run for run in runs if run]


def tokenize(text: str, lang: str) -> list[str]:
    """Return the word tokens of ``text`` (punctuation left out)."""
    return [token for run in tokenize_runs(text, lang) for token, _ in run]
