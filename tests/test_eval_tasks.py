"""Zero-shot, retrieval and multiple-choice tasks and the command line, on a tiny open_clip model.

The model has random weights, so the tests check counts, drops and that each reported metric
equals the metric recomputed from the model's own embeddings, not that the model is accurate.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from PIL import Image, ImageDraw

from training.evaluation.classnames import load_class_names, load_templates
from training.evaluation.cli import main
from training.evaluation.embeddings import ImageEmbedder
from training.evaluation.metrics import image_to_text_recall, text_to_image_recall, top_k_accuracy
from training.evaluation.model import load_open_clip
from training.evaluation.multiple_choice import evaluate_multiple_choice
from training.evaluation.retrieval import evaluate_retrieval
from training.evaluation.zeroshot import evaluate_zeroshot

FIXTURES = Path(__file__).parent / "data" / "evaluation"
TINY_MODEL = "tiny_open_clip"
COLORS = [(220, 30, 30), (30, 200, 30), (30, 30, 220)]


def shape_png(class_index: int, variant: int) -> bytes:
    """Draw class 0 as a circle, 1 as a square and 2 as a triangle, in one of three colours."""
    image = Image.new("RGB", (48, 48), (255, 255, 255))
    draw = ImageDraw.Draw(image)
    color = COLORS[variant % len(COLORS)]
    if class_index == 0:
        draw.ellipse((8, 8, 40, 40), fill=color)
    elif class_index == 1:
        draw.rectangle((8, 8, 40, 40), fill=color)
    else:
        draw.polygon([(24, 6), (42, 42), (6, 42)], fill=color)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def write_shape_images(path: Path) -> Path:
    """Write 6 shape images (2 per class) and one image whose bytes are not an image."""
    ids, images, classes = [], [], []
    for class_index in range(3):
        for variant in range(2):
            ids.append(f"img{class_index}{variant}")
            images.append(shape_png(class_index, variant))
            classes.append(class_index)
    ids.append("broken")
    images.append(b"not an image")
    classes.append(0)
    pq.write_table(pa.table({"image_id": ids, "image": images, "class_index": classes}), path)
    return path


@pytest.fixture(scope="module")
def tiny_weights(tmp_path_factory) -> Path:
    import open_clip
    import torch

    open_clip.add_model_config(FIXTURES / "tiny_open_clip.json")
    torch.manual_seed(0)
    model, _, _ = open_clip.create_model_and_transforms(TINY_MODEL)
    path = tmp_path_factory.mktemp("tiny_model") / "tiny_open_clip.pt"
    torch.save(model.state_dict(), path)
    return path


@pytest.fixture(scope="module")
def model(tiny_weights):
    return load_open_clip(TINY_MODEL, str(tiny_weights), device="cpu")


@pytest.fixture(scope="module")
def image_file(tmp_path_factory) -> Path:
    return write_shape_images(tmp_path_factory.mktemp("images") / "shapes.parquet")


@pytest.fixture(scope="module")
def embedded(model, image_file):
    return ImageEmbedder(model, cache_dir=None, batch_size=4).embed([image_file])


def test_embedding_counts_decode_failure(embedded):
    assert embedded.read == 7
    assert len(embedded.image_ids) == 6
    assert embedded.dropped == {"image_decode_failed": 1}
    assert embedded.dropped_ids == {"broken": "image_decode_failed"}
    assert np.allclose(np.linalg.norm(embedded.embeddings, axis=1), 1.0, atol=1e-5)


def test_embedding_cache_reused(model, image_file, embedded, tmp_path):
    first = ImageEmbedder(model, cache_dir=tmp_path, batch_size=3).embed([image_file])
    second = ImageEmbedder(model, cache_dir=tmp_path, batch_size=3).embed([image_file])
    assert not first.from_cache
    assert second.from_cache
    assert second.image_ids == first.image_ids
    assert second.metadata == first.metadata
    assert second.dropped == first.dropped
    np.testing.assert_allclose(second.embeddings, embedded.embeddings, atol=1e-5)


def test_embedding_cache_misses_changed_file(model, image_file, tmp_path):
    ImageEmbedder(model, cache_dir=tmp_path / "cache").embed([image_file])
    changed = tmp_path / "changed.parquet"
    table = pq.read_table(image_file).slice(0, 3)
    pq.write_table(table, changed)
    result = ImageEmbedder(model, cache_dir=tmp_path / "cache").embed([changed])
    assert not result.from_cache
    assert len(result.image_ids) == 3


def test_zeroshot_language_missing_class(model, embedded):
    names = load_class_names(FIXTURES / "shapes_classnames_wide.tsv")
    templates, _ = load_templates(FIXTURES / "shapes_templates.tsv")
    result = evaluate_zeroshot(model, embedded, names, templates, fallback_template_language="en")

    spanish = result["languages"]["es"]
    assert spanish["images"] == 4
    assert spanish["classes"] == 2
    assert spanish["classes_without_name"] == 1
    assert spanish["images_without_class_name"] == 2
    assert spanish["template_source"] == "fallback:en"
    assert result["languages"]["en"]["images"] == 6
    assert result["languages"]["de"]["template_source"] == "de"
    assert result["images_with_label"] == 6

    # Recompute Spanish top-1 from the model's own text embeddings: circle and triangle only.
    prompts = [template.replace("{c}", label) for label in ("círculo", "triángulo") for template in templates["en"]]
    text = model.encode_texts(prompts).reshape(2, len(templates["en"]), -1).mean(axis=1)
    text /= np.linalg.norm(text, axis=1, keepdims=True)
    rows = [row for row, image_id in enumerate(embedded.image_ids) if not image_id.startswith("img1")]
    targets = [0 if embedded.image_ids[row].startswith("img0") else 1 for row in rows]
    expected = top_k_accuracy(embedded.embeddings[rows] @ text.T, targets, (1,))[1]
    assert spanish["top1"] == pytest.approx(expected)

    languages = result["languages"].values()
    assert result["mean"]["top1"] == pytest.approx(np.mean([entry["top1"] for entry in languages]))


def test_zeroshot_default_template_and_skips(model, embedded):
    names = load_class_names(FIXTURES / "shapes_classnames_wide.tsv")
    result = evaluate_zeroshot(model, embedded, names, {}, languages=["fr", "xx"])
    assert result["languages"]["fr"]["template_source"] == "default"
    assert result["languages"]["fr"]["templates"] == 1
    assert result["languages_skipped"] == {"xx": "no_class_names"}


def test_zeroshot_unknown_labels_counted(model, embedded):
    names = load_class_names(FIXTURES / "shapes_classnames_wide.tsv")
    result = evaluate_zeroshot(model, embedded, names, {}, label_key="wnid")
    assert result["images_dropped"] == {"missing_image_label": 6}
    assert result["languages"] == {}
    assert result["mean"]["top1"] is None


def test_retrieval_counts_and_recall(model, embedded):
    captions = pd.DataFrame(
        [
            ("img00", "en", "a red circle"),
            ("img00", "en", "a round red shape"),
            ("img10", "en", "a red square"),
            ("img20", "en", "a red triangle"),
            ("img21", "en", "a green triangle"),
            ("img00", "de", "ein roter Kreis"),
            ("img10", "de", "ein rotes Quadrat"),
            ("broken", "en", "a circle that failed to decode"),
            ("nowhere", "en", "a caption with no image"),
            ("img11", "en", "   "),
        ],
        columns=["image_id", "lang", "caption"],
    )
    result = evaluate_retrieval(model, embedded, captions)

    assert result["captions_dropped"] == {"caption_without_image": 1, "empty_caption": 1, "image_decode_failed": 1}
    assert result["captions_used"] == 7
    english = result["languages"]["en"]
    assert english["images"] == 4
    assert english["captions"] == 5
    assert result["languages"]["de"]["images"] == 2

    gallery = ["img00", "img10", "img20", "img21"]
    rows = [embedded.image_ids.index(image_id) for image_id in gallery]
    text = model.encode_texts(["a red circle", "a round red shape", "a red square", "a red triangle", "a green triangle"])
    similarity = embedded.embeddings[rows] @ text.T
    owners = [0, 0, 1, 2, 3]
    assert english["image_to_text_r1"] == pytest.approx(image_to_text_recall(similarity, owners, (1,))[1])
    assert english["text_to_image_r1"] == pytest.approx(text_to_image_recall(similarity, owners, (1,))[1])
    assert english["image_to_text_r10"] == 1.0


def test_multiple_choice_counts(model, embedded):
    questions = pd.DataFrame(
        [
            ("img00", "en", "What shape is this?", ["circle", "square", "triangle"], 0),
            ("img10", "en", "What shape is this?", ["circle", "square"], "square"),
            ("img20", "de", "Welche Form?", json.dumps(["Kreis", "Dreieck"]), "1"),
            ("img21", "en", "What shape is this?", ["triangle"], 0),
            ("img21", "en", "What shape is this?", ["circle", "square"], 5),
            ("broken", "en", "What shape is this?", ["circle", "square"], 0),
            ("nowhere", "en", "What shape is this?", ["circle", "square"], 0),
        ],
        columns=["image_id", "lang", "question", "options", "answer"],
    )
    result = evaluate_multiple_choice(model, embedded, questions)
    assert result["questions_dropped"] == {
        "fewer_than_two_options": 1,
        "invalid_answer": 1,
        "image_decode_failed": 1,
        "question_without_image": 1,
    }
    assert result["languages"]["en"]["questions"] == 2
    assert result["languages"]["en"]["chance"] == pytest.approx((1 / 3 + 1 / 2) / 2)
    assert result["languages"]["de"]["questions"] == 1

    text = model.encode_texts(["Welche Form? Kreis", "Welche Form? Dreieck"])
    scores = text @ embedded.embeddings[embedded.image_ids.index("img20")]
    assert result["languages"]["de"]["accuracy"] == float(scores[1] > scores[0])


def test_cli_writes_report_and_reuses_cache(tiny_weights, image_file, tmp_path):
    captions = tmp_path / "captions.tsv"
    captions.write_text(
        "image_id\tlang\tcaption\nimg00\ten\ta red circle\nimg10\ten\ta red square\nmissing\ten\tno image\n",
        encoding="utf-8",
    )
    questions = tmp_path / "questions.jsonl"
    questions.write_text(
        json.dumps({"image_id": "img20", "lang": "en", "question": "Shape?", "options": ["circle", "triangle"], "answer": 1})
        + "\n",
        encoding="utf-8",
    )
    common = [
        "--open-clip-model", str(FIXTURES / "tiny_open_clip.json"), "--pretrained", str(tiny_weights), "--device", "cpu",
        "--cache-dir", str(tmp_path / "cache"),
        "--classification-images", str(image_file),
        "--classnames", str(FIXTURES / "shapes_classnames_long.tsv"),
        "--templates", str(FIXTURES / "shapes_templates.tsv"),
        "--retrieval-images", str(image_file), "--captions", str(captions),
        "--multiple-choice-images", str(image_file), "--questions", str(questions),
    ]
    assert main([*common, "--output", str(tmp_path / "run1")]) == 0
    assert main([*common, "--output", str(tmp_path / "run2")]) == 0

    first = json.loads((tmp_path / "run1" / "results.json").read_text(encoding="utf-8"))
    second = json.loads((tmp_path / "run2" / "results.json").read_text(encoding="utf-8"))
    assert first["model"]["source"] == "open_clip"
    assert first["model"]["model_name"] == TINY_MODEL
    assert first["run"]["arguments"][:2] == ["--open-clip-model", str(FIXTURES / "tiny_open_clip.json")]
    assert len(first["model"]["pretrained_sha256"]) == 64
    roles = sorted(item["role"] for item in first["data_files"])
    assert roles == ["captions", "classnames", "images", "questions", "templates"]
    assert set(first["tasks"]) == {"zeroshot", "retrieval", "multiple_choice"}
    assert first["tasks"]["zeroshot"]["class_names_dropped"] == {"duplicate_label": 1, "empty_label": 1}
    assert first["tasks"]["retrieval"]["captions_dropped"] == {"caption_without_image": 1}
    assert first["tasks"]["zeroshot"]["images"]["embeddings_from_cache"] is False
    assert first["tasks"]["retrieval"]["images"]["embeddings_from_cache"] is False
    assert second["tasks"]["zeroshot"]["images"]["embeddings_from_cache"] is True
    assert second["tasks"]["zeroshot"]["languages"] == first["tasks"]["zeroshot"]["languages"]

    markdown = (tmp_path / "run1" / "results.md").read_text(encoding="utf-8")
    assert "## Zero-shot classification (%)" in markdown
    assert "| es |" in markdown
    assert "Captions dropped: caption_without_image 1." in markdown

    assert main([*common, "--output", str(tmp_path / "run1")]) == 2


def test_cli_rejects_download_without_flag(image_file, tmp_path, caplog):
    arguments = [
        "--open-clip-model", "ViT-B-32", "--pretrained", "laion2b_s34b_b79k",
        "--classification-images", str(image_file),
        "--classnames", str(FIXTURES / "shapes_classnames_wide.tsv"),
        "--output", str(tmp_path / "out"), "--no-cache",
    ]
    assert main(arguments) == 2
    assert "not a file on disk" in caplog.text
    assert not (tmp_path / "out" / "results.json").exists()


def test_cli_missing_images_fail_fast(tiny_weights, tmp_path, caplog):
    arguments = [
        "--open-clip-model", TINY_MODEL, "--pretrained", str(tiny_weights),
        "--retrieval-images", str(tmp_path / "absent.parquet"), "--captions", str(FIXTURES / "shapes_templates.tsv"),
        "--output", str(tmp_path / "out"),
    ]
    assert main(arguments) == 2
    assert "image file or folder not found" in caplog.text
    assert not (tmp_path / "out").exists()


def test_cli_requires_task_inputs_together(tmp_path):
    with pytest.raises(SystemExit):
        main(["--checkpoint", "x.pt", "--captions", "c.tsv", "--output", str(tmp_path)])
