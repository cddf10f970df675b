"""Load zero-shot class names per language and prompt templates per language.

Two class-name layouts are accepted:

- long: one row per label with columns ``lang, class_index, wnid, label``, the layout in which
  Babel-ImageNet publishes its labels. A language may cover only part of the classes.
- wide: one row per class with ``wnid`` (and optionally ``class_index``) plus one column per
  language, as in the CLIP_benchmark ImageNet tables. An empty cell means no label.

Templates are a table ``lang, template`` or a JSON object mapping a language to a list of
templates. ``{c}`` in a template is replaced by the class name.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import pandas as pd

from training.evaluation.tables import read_table, require_columns

logger = logging.getLogger(__name__)

CLASS_PLACEHOLDER = "{c}"
LONG_COLUMNS = ("lang", "class_index", "wnid", "label")
CLASS_KEY_COLUMNS = ("class_index", "wnid")


@dataclass
class ClassNames:
    """Class names per language over one class list.

    ``wnids[i]`` is the WordNet id of class index ``i`` (empty when the table has none), and
    ``labels[lang][i]`` is the name of class ``i`` in ``lang`` where that language has one.
    ``dropped`` counts table rows or cells that were not used, by reason.
    """

    wnids: list[str]
    labels: dict[str, dict[int, str]]
    dropped: Counter = field(default_factory=Counter)

    @property
    def languages(self) -> list[str]:
        return sorted(self.labels)

    @property
    def class_count(self) -> int:
        return len(self.wnids)

    def missing_classes(self, lang: str) -> list[int]:
        """Return the class indices that have no label in ``lang``."""
        present = self.labels.get(lang, {})
        return [index for index in range(self.class_count) if index not in present]

    @cached_property
    def class_index_by_wnid(self) -> dict[str, int]:
        return {wnid: index for index, wnid in enumerate(self.wnids) if wnid}

    def class_index_of(self, value: object) -> int | None:
        """Return the class index for an image label given as a class index or a wnid."""
        if isinstance(value, str) and value.startswith("n") and value[1:].isdigit():
            return self.class_index_by_wnid.get(value)
        try:
            index = int(value)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            return None
        return index if 0 <= index < self.class_count else None

def load_class_names(path: str | Path) -> ClassNames:
    """Load a long or wide class-name table (see the module docstring)."""
    table = read_table(path)
    if "lang" in table.columns and "label" in table.columns:
        return _load_long(table, path)
    return _load_wide(table, path)


def _class_list(keys: pd.DataFrame, path: str | Path) -> list[str]:
    """Build the wnid list indexed by class index, checking that each index has one wnid."""
    if "class_index" not in keys.columns:
        raise ValueError(f"{path}: a class-name table needs a class_index column")

    wnid_by_index: dict[int, str] = {}
    for raw_index, raw_wnid in zip(keys["class_index"], keys.get("wnid", [""] * len(keys))):
        try:
            index = int(raw_index)
        except (TypeError, ValueError):
            raise ValueError(f"{path}: class_index {raw_index!r} is not an integer") from None
        if index < 0:
            raise ValueError(f"{path}: class_index {index} is negative")
        wnid = str(raw_wnid or "").strip()
        known = wnid_by_index.setdefault(index, wnid)
        if wnid and known and known != wnid:
            raise ValueError(f"{path}: class_index {index} maps to both {known} and {wnid}")
        if wnid and not known:
            wnid_by_index[index] = wnid

    class_count = max(wnid_by_index) + 1 if wnid_by_index else 0
    return [wnid_by_index.get(index, "") for index in range(class_count)]


def _load_long(table: pd.DataFrame, path: str | Path) -> ClassNames:
    require_columns(table, ["lang", "class_index", "label"], path)
    wnids = _class_list(table[[column for column in CLASS_KEY_COLUMNS if column in table.columns]], path)

    labels: dict[str, dict[int, str]] = {}
    dropped: Counter = Counter()
    for lang, raw_index, raw_label in zip(table["lang"], table["class_index"], table["label"]):
        label = str(raw_label).strip()
        language = str(lang).strip()
        if not language:
            dropped["missing_lang"] += 1
            continue
        if not label:
            dropped["empty_label"] += 1
            continue
        per_language = labels.setdefault(language, {})
        index = int(raw_index)
        if index in per_language:
            dropped["duplicate_label"] += 1
            continue
        per_language[index] = label

    _log_dropped(dropped, path)
    return ClassNames(wnids=wnids, labels=labels, dropped=dropped)


def _load_wide(table: pd.DataFrame, path: str | Path) -> ClassNames:
    if "wnid" not in table.columns and "class_index" not in table.columns:
        raise ValueError(
            f"{path}: expected a long table with columns {list(LONG_COLUMNS)} or a wide table with a wnid "
            f"or class_index column plus one column per language; the table has {list(table.columns)}"
        )
    keys = table[[column for column in CLASS_KEY_COLUMNS if column in table.columns]].copy()
    if "class_index" not in keys.columns:
        keys["class_index"] = list(range(len(keys)))
    wnids = _class_list(keys, path)

    languages = [column for column in table.columns if column not in CLASS_KEY_COLUMNS]
    if not languages:
        raise ValueError(f"{path}: the wide class-name table has no language columns")

    labels: dict[str, dict[int, str]] = {lang: {} for lang in languages}
    dropped: Counter = Counter()
    for row_index, class_index in enumerate(keys["class_index"]):
        for lang in languages:
            raw = table[lang].iat[row_index]
            label = "" if raw is None or (isinstance(raw, float) and pd.isna(raw)) else str(raw).strip()
            if label:
                labels[lang][int(class_index)] = label
            else:
                dropped["empty_label"] += 1

    _log_dropped(dropped, path)
    return ClassNames(wnids=wnids, labels=labels, dropped=dropped)


def load_templates(path: str | Path) -> tuple[dict[str, list[str]], Counter]:
    """Load prompt templates per language and count the templates that were dropped.

    A template without the ``{c}`` placeholder is dropped with reason ``missing_placeholder``,
    and a repeated template within a language with reason ``duplicate_template``.
    """
    template_path = Path(path)
    if template_path.suffix.lower() == ".json":
        with template_path.open(encoding="utf-8") as handle:
            raw = json.load(handle)
        if not isinstance(raw, dict):
            raise ValueError(f"{template_path}: expected a JSON object mapping a language to a list of templates")
        rows = [(str(lang), str(template)) for lang, templates in raw.items() for template in templates]
    else:
        table = read_table(template_path)
        require_columns(table, ["lang", "template"], template_path)
        rows = list(zip(table["lang"].astype(str), table["template"].astype(str)))

    templates: dict[str, list[str]] = {}
    dropped: Counter = Counter()
    for lang, raw_template in rows:
        template = raw_template.strip()
        if CLASS_PLACEHOLDER not in template:
            dropped["missing_placeholder"] += 1
            continue
        per_language = templates.setdefault(lang.strip(), [])
        if template in per_language:
            dropped["duplicate_template"] += 1
            continue
        per_language.append(template)

    _log_dropped(dropped, template_path)
    return templates, dropped


def fill_template(template: str, class_name: str) -> str:
    """Replace every ``{c}`` in ``template`` by ``class_name``; other braces stay as written."""
    return template.replace(CLASS_PLACEHOLDER, class_name)


def _log_dropped(dropped: Counter, path: str | Path) -> None:
    if dropped:
        logger.info("%s: dropped %s", path, dict(sorted(dropped.items())))
