"""Loading class-name and template tables: team-written fixtures and the shared multilingual tables."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from training.evaluation.classnames import fill_template, load_class_names, load_templates

FIXTURES = Path(__file__).parent / "data" / "evaluation"


def test_wide_table_missing_cell():
    names = load_class_names(FIXTURES / "shapes_classnames_wide.tsv")
    assert names.languages == ["de", "en", "es", "fr"]
    assert names.wnids == ["n00000001", "n00000002", "n00000003"]
    assert names.labels["es"] == {0: "círculo", 2: "triángulo"}
    assert names.missing_classes("es") == [1]
    assert names.missing_classes("en") == []
    assert names.dropped["empty_label"] == 1


def test_long_table_drops_counted():
    names = load_class_names(FIXTURES / "shapes_classnames_long.tsv")
    assert names.labels["es"] == {0: "círculo", 2: "triángulo"}
    assert "fr" not in names.labels
    assert names.dropped["duplicate_label"] == 1
    assert names.dropped["empty_label"] == 1
    assert names.class_count == 3


def test_class_index_from_wnid_or_index():
    names = load_class_names(FIXTURES / "shapes_classnames_wide.tsv")
    assert names.class_index_of("n00000002") == 1
    assert names.class_index_of("2") == 2
    assert names.class_index_of(0) == 0
    assert names.class_index_of("n99999999") is None
    assert names.class_index_of(3) is None
    assert names.class_index_of("square") is None


def test_conflicting_wnid_rejected(tmp_path):
    table = tmp_path / "conflict.tsv"
    table.write_text("lang\tclass_index\twnid\tlabel\nen\t0\tn1\ta\nde\t0\tn2\tb\n", encoding="utf-8")
    with pytest.raises(ValueError, match="maps to both"):
        load_class_names(table)


def test_table_without_class_columns_rejected(tmp_path):
    table = tmp_path / "bad.tsv"
    table.write_text("name\tvalue\nx\ty\n", encoding="utf-8")
    with pytest.raises(ValueError, match="wide table"):
        load_class_names(table)


def test_templates_table_drops_counted():
    templates, dropped = load_templates(FIXTURES / "shapes_templates.tsv")
    assert templates["en"] == ["a photo of a {c}.", "a drawing of a {c}."]
    assert templates["de"] == ["ein Foto von einem {c}."]
    assert dropped["duplicate_template"] == 1
    assert dropped["missing_placeholder"] == 1


def test_templates_json(tmp_path):
    path = tmp_path / "templates.json"
    path.write_text(json.dumps({"en": ["a {c}", "{c} {c}"], "ja": ["{c}の写真"]}), encoding="utf-8")
    templates, dropped = load_templates(path)
    assert templates == {"en": ["a {c}", "{c} {c}"], "ja": ["{c}の写真"]}
    assert not dropped


def test_fill_template_keeps_other_braces():
    assert fill_template("{c} {x} {c}", "dog") == "dog {x} dog"


def test_imagenet_five_languages(shared_data):
    names = load_class_names(shared_data / "classnames" / "imagenet1k_clip_benchmark.tsv")
    assert names.languages == ["ar", "en", "it", "ja", "zh"]
    assert names.class_count == 1000
    assert names.wnids[0] == "n01440764"
    assert names.labels["en"][0] == "tench"
    assert all(len(names.labels[lang]) == 1000 for lang in names.languages)


def test_imagenet_templates(shared_data):
    templates, _ = load_templates(shared_data / "classnames" / "imagenet1k_templates_clip_benchmark.tsv")
    assert sorted(templates) == ["ar", "en", "it", "ja", "zh"]
    assert len(templates["en"]) == 80
    assert all("{c}" in template for per_language in templates.values() for template in per_language)


def test_babel_imagenet_298(shared_data):
    names = load_class_names(shared_data / "classnames" / "babel_imagenet_298.tsv")
    assert len(names.languages) == 298
    assert names.class_count == 1000
    assert len(names.labels["en"]) == 1000
    assert len(names.labels["fi"]) == 973
    assert min(len(labels) for labels in names.labels.values()) == 10
    assert sum(len(labels) for labels in names.labels.values()) + sum(names.dropped.values()) == 50009


def test_babel_and_clip_benchmark_wnids_agree(shared_data):
    babel = load_class_names(shared_data / "classnames" / "babel_imagenet_298.tsv")
    clip_benchmark = load_class_names(shared_data / "classnames" / "imagenet1k_clip_benchmark.tsv")
    assert babel.wnids == clip_benchmark.wnids
