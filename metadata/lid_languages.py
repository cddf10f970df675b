"""Map language-ID labels to metadata languages with the committed table ``lid_languages.tsv``.

Two label schemes exist. fastText lid.176 uses Wikipedia-style codes (``__label__en``,
``__label__als`` for Alemannic). NLLB's and GlotLID's models use an ISO 639-3 code and a script
(``__label__zho_Hans``, ``__label__als_Latn`` for Albanian). A label with a ``_Script`` part is
looked up by its ISO 639-3 code, a bare label in the lid.176 table, so the two ``als`` never mix.
"""

from __future__ import annotations

import csv
import functools
import os
import re

from metadata.store import OTHER_LANGUAGE

TABLE_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "lid_languages.tsv")

LABEL_PREFIX = "__label__"
_SCRIPT_LABEL = re.compile(r"^([a-z]{2,3})_([A-Z][a-z]{3})$")


@functools.lru_cache(maxsize=1)
def _load_table() -> tuple[dict[str, str], dict[str, str]]:
    lid176: dict[str, str] = {}
    iso639_3: dict[str, str] = {}
    with open(TABLE_PATH, encoding="utf-8", newline="") as handle:
        rows = csv.DictReader((line for line in handle if not line.startswith("#")), delimiter="\t")
        for row in rows:
            table = lid176 if row["scheme"] == "lid176" else iso639_3
            table[row["label"]] = row["lang"]
    return lid176, iso639_3


def strip_label_prefix(label: str) -> str:
    """Return ``label`` without fastText's ``__label__`` prefix."""
    return label[len(LABEL_PREFIX):] if label.startswith(LABEL_PREFIX) else label


def metadata_language_of_label(label: str) -> str | None:
    """Return the metadata language of a LID label, or None when the table has none."""
    lid176, iso639_3 = _load_table()
    code = strip_label_prefix(label)
    scripted = _SCRIPT_LABEL.match(code)
    if scripted:
        return iso639_3.get(scripted.group(1))
    return lid176.get(code)


def load_lid_language_map() -> dict[str, str]:
    """Return every label of the table with its metadata language.

    Keys are bare lid.176 labels (``en``) and ISO 639-3 codes with a ``_*`` suffix pattern
    written as ``iso639-3:<code>`` so the two schemes stay apart.
    """
    lid176, iso639_3 = _load_table()
    mapping = dict(lid176)
    mapping.update({f"iso639-3:{code}": lang for code, lang in iso639_3.items()})
    return mapping


def languages_with_lid() -> set[str]:
    """Return the metadata languages that some LID label maps to."""
    lid176, iso639_3 = _load_table()
    return set(lid176.values()) | set(iso639_3.values())


def resolve_language(label: str, metadata_languages: set[str] | frozenset[str]) -> str:
    """Return the metadata language a text with this LID label is matched against.

    A label with no metadata language, or whose language has no entries in the metadata at
    hand, goes to the ``other`` bucket.
    """
    lang = metadata_language_of_label(label)
    if lang is None or lang not in metadata_languages:
        return OTHER_LANGUAGE
    return lang
