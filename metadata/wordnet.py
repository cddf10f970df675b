"""Read WordNet lemmas: OMW tab files, plain lemma lists and English WordNet head lemmas.

OMW 1.x tab files have a header ``# name<TAB>lang<TAB>url<TAB>licence`` and rows
``synset<TAB>[lang:]lemma<TAB>text``; rows of other types (definitions, examples) are skipped.
Lemma lists have one lemma per line. In every lemma ``_`` becomes a space and ``+`` (the
segment marker of the Chinese Open Wordnet) is removed. Lemmas copied from Wiktionary can carry
HTML escapes, HTML tags, wiki links and wiki quotes. ``clean_lemma`` removes that markup or
rejects the lemma, and each rejection is counted by reason.
"""

from __future__ import annotations

import csv
import functools
import html
import logging
import os
import re
from collections import Counter
from dataclasses import dataclass, field

from metadata.sources import SourceError, open_text

logger = logging.getLogger(__name__)

TABLE_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "omw_languages.tsv")

# Drop reasons of lemmas, as counted in the manifest.
DROP_UNBALANCED_QUOTES = "unbalanced_wiki_quotes"
DROP_WIKI_SENTENCE = "wiki_quoted_sentence"
DROP_EMPTY_AFTER_MARKUP = "empty_after_markup"
DROP_MALFORMED_ROW = "malformed_row"

_HTML_COMMENT = re.compile(r"<!--.*?(-->|$)", re.DOTALL)
_HTML_TAG = re.compile(r"</?[A-Za-z][A-Za-z0-9]*(\s[^<>]*)?/?>")
_WIKI_LINK = re.compile(r"\[\[(?:[^\[\]|]*\|)?([^\[\]]*)\]\]")
_TEMPLATE = re.compile(r"\{\{[^{}]*\}\}")
_QUOTED_PARENTHESIS = re.compile(r"\(\s*'{2,}[^()]*?'{2,}\s*\)")
_WIKI_QUOTED = re.compile(r"'{2,}(.*?)'{2,}")
_WHOLE_QUOTED = re.compile(r"^'{2,}([^']+(?:'[^']+)*)'{2,}$")
_SPACES = re.compile(r"\s+")
# The "[edit]" link MediaWiki puts after a section heading, in the wikis the lists were copied from.
_EDIT_LINK = re.compile(r"\[(?:edit|edytuj|bearbeiten|modifier|editar|modifica|redigeer|redigera|rediger|upravit|uredi)\]\s*$")
_TAB_FILE_NAME = re.compile(r"^wn-(?:data|wikt)-([a-z]{3})$")


@dataclass
class WordnetLemmas:
    """The lemmas of one wordnet file with the metadata language they belong to."""

    lang: str
    iso639_3: str
    lemmas: list[str]
    dropped: Counter = field(default_factory=Counter)
    # Lemmas changed by cleaning: markup removed, "_" made a space, "+" removed, spaces collapsed.
    cleaned: int = 0


@functools.lru_cache(maxsize=1)
def load_omw_language_map() -> dict[str, str]:
    """Return the committed map of OMW ISO 639-3 codes to Wikipedia language codes."""
    mapping: dict[str, str] = {}
    with open(TABLE_PATH, encoding="utf-8", newline="") as handle:
        rows = csv.DictReader((line for line in handle if not line.startswith("#")), delimiter="\t")
        for row in rows:
            mapping[row["iso639_3"]] = row["wikipedia"]
    return mapping


def wikipedia_code(iso639_3: str, path: str) -> str:
    """Map an OMW code to its Wikipedia code, or raise SourceError naming the file."""
    mapping = load_omw_language_map()
    if iso639_3 not in mapping:
        raise SourceError(
            f"{path}: OMW language {iso639_3!r} is not in {os.path.basename(TABLE_PATH)}; "
            "add a row with its Wikipedia code or pass the file as ISO639-3=PATH"
        )
    return mapping[iso639_3]


def _unescape_html(text: str) -> str:
    # Some lists are escaped two or three times ("&amp;amp;#269;"), so unescape until stable.
    for _ in range(4):
        unescaped = html.unescape(text)
        if unescaped == text:
            break
        text = unescaped
    return text


def clean_lemma(text: str) -> tuple[str | None, str | None]:
    """Remove markup from a lemma; return (lemma, None), or (None, drop reason).

    HTML escapes are decoded, HTML comments removed with their text, HTML tags removed with
    their text kept (``B<sub>6</sub>`` -> ``B6``), wiki links replaced by their label and
    templates and a trailing MediaWiki "[edit]" link removed. A parenthesis of wiki-quoted text is an annotation and is removed
    (``(''academic spelling'') Tokyo`` -> ``Tokyo``), and so is wiki-quoted text after the
    lemma (``Bahamas ''f pl''`` -> ``Bahamas``). A lemma wholly in wiki quotes keeps its text.
    Wiki-quoted text followed by more text is a sentence, not a lemma, and is dropped, as are
    lemmas with unbalanced wiki quotes.
    """
    original = text
    text = _unescape_html(text)
    text = _HTML_COMMENT.sub(" ", text)
    text = _HTML_TAG.sub("", text)
    text = _WIKI_LINK.sub(r"\1", text)
    text = _TEMPLATE.sub(" ", text)
    text = text.replace("[[", "").replace("]]", "")
    text = _EDIT_LINK.sub("", text)
    text = _QUOTED_PARENTHESIS.sub(" ", text).strip()

    if "''" in text:
        whole = _WHOLE_QUOTED.match(text)
        if whole:
            text = whole.group(1)
        else:
            first = _WIKI_QUOTED.search(text)
            if first is None:
                return None, DROP_UNBALANCED_QUOTES
            if not text[: first.start()].strip():
                return None, DROP_WIKI_SENTENCE
            text = text[: first.start()]
            if "''" in text:
                return None, DROP_UNBALANCED_QUOTES

    text = text.replace("_", " ").replace("+", "")
    text = _SPACES.sub(" ", text).strip()
    if not text:
        return None, DROP_EMPTY_AFTER_MARKUP if original.strip() else None
    return text, None


def _language_from_name(path: str) -> str | None:
    name = os.path.basename(path)
    for suffix in (".gz", ".tab", ".txt"):
        if name.endswith(suffix):
            name = name[: -len(suffix)]
    match = _TAB_FILE_NAME.match(name)
    if match:
        return match.group(1)
    # Lemma lists are named after their language, with an optional project suffix: ita_iwn.txt.
    code = name.split("_")[0].split("-")[0].lower()
    return code if re.fullmatch(r"[a-z]{3}", code) else None


def _read_tab_rows(handle, path: str, dropped: Counter) -> tuple[str | None, list[str]]:
    header_lang: str | None = None
    lemmas: list[str] = []
    for line_number, line in enumerate(handle, start=1):
        line = line.rstrip("\n").rstrip("\r")
        if not line.strip():
            continue
        if line.startswith("#"):
            if line_number == 1:
                header = line[1:].split("\t")
                if len(header) > 1 and re.fullmatch(r"[a-z]{3}", header[1].strip()):
                    header_lang = header[1].strip()
            continue
        parts = line.split("\t")
        if len(parts) < 3:
            dropped[DROP_MALFORMED_ROW] += 1
            continue
        row_type = parts[1]
        if row_type == "lemma" or row_type.endswith(":lemma"):
            lemmas.append(parts[2])
        else:
            dropped["not_a_lemma_row"] += 1
    return header_lang, lemmas


def read_wordnet_source(path: str, iso639_3: str | None = None) -> WordnetLemmas:
    """Read one OMW tab file or lemma list; ``iso639_3`` overrides the language it names."""
    dropped: Counter = Counter()
    with open_text(path) as handle:
        if ".tab" in os.path.basename(path):
            header_lang, raw = _read_tab_rows(handle, path, dropped)
        else:
            header_lang = None
            raw = [line.rstrip("\n").rstrip("\r") for line in handle]

    code = iso639_3 or header_lang or _language_from_name(path)
    if code is None:
        raise SourceError(f"cannot tell the language of WordNet file {path}: pass it as ISO639-3=PATH")
    lang = wikipedia_code(code, path)

    lemmas: list[str] = []
    cleaned = 0
    for text in raw:
        lemma, reason = clean_lemma(text)
        if lemma is None:
            if reason is not None:
                dropped[reason] += 1
            continue
        if lemma != text.strip():
            cleaned += 1
        lemmas.append(lemma)

    logger.info(
        "%s: %d lemmas for %s (%s), %d cleaned; dropped %s",
        path,
        len(lemmas),
        lang,
        code,
        cleaned,
        dict(sorted(dropped.items())) or "none",
    )
    return WordnetLemmas(lang=lang, iso639_3=code, lemmas=lemmas, dropped=dropped, cleaned=cleaned)
