"""The shared caption files and a metadata directory built for their languages.

Tests and benchmarks both read them, so they are built the same way in both.
"""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

REPOSITORY_ROOT = Path(__file__).resolve().parents[1]

CAPTION_LANGUAGES = ["cs", "de", "en", "es", "fr", "id", "ja", "nl", "ru", "tr", "zh"]

# WordNet lemma lists for the caption languages, by ISO 639-3 code.
WORDNET_FILES = {
    "ces": "omw_wiktionary/ces.txt",
    "deu": "omw_wiktionary/deu.txt",
    "eng": "en/wordnet30_synset_head_lemmas.txt",
    "spa": "omw_wiktionary/spa.txt",
    "fra": "omw/fra.txt",
    "ind": "omw/ind.txt",
    "jpn": "omw_wiktionary/jpn.txt",
    "nld": "omw/nld.txt",
    "rus": "omw_wiktionary/rus.txt",
    "tur": "omw_wiktionary/tur.txt",
    "cmn": "omw/cmn.txt",
}


def build_caption_metadata(shared_data: Path, output: Path) -> Path:
    """Build metadata for the caption languages from WordNet lemmas and frequency lists."""
    command = [sys.executable, str(REPOSITORY_ROOT / "jobs" / "build_metadata.py"), "--output", str(output)]
    for iso639_3, relative in WORDNET_FILES.items():
        command += ["--wordnet", f"{iso639_3}={shared_data / 'wordnet' / relative}"]
    for lang in CAPTION_LANGUAGES:
        command += ["--frequency", f"{lang}={shared_data / 'frequency' / 'wordfreq' / f'{lang}.tsv'}"]
    subprocess.run(command, check=True, capture_output=True, text=True)
    return output


def read_caption_rows(shared_data: Path) -> list[dict]:
    """Return every shared caption with a unique URL and the language its file gives."""
    rows = []
    for path in sorted((shared_data / "captions").glob("*.tsv")):
        with open(path, encoding="utf-8", newline="") as handle:
            reader = csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)
            next(reader)
            for index, fields in enumerate(reader):
                rows.append({"url": f"https://captions.test/{path.stem}/{index}.jpg", "text": fields[-1], "lang": fields[0]})
    return rows
