"""End to end: evaluate the tiny model trained by the training tests on held-out generated images.

The model is trained once per test session by the ``tiny_trained_checkpoint`` fixture. Its images
are coloured shapes in nine classes, with class names in English, German, Spanish and Chinese.
"""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from training.evaluation.cli import main

HELD_OUT_IMAGES = 45
CHANCE_TOP1 = 1 / 9


def jpeg_bytes(image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


def write_inputs(trained, folder: Path) -> dict[str, Path]:
    """Write held-out images as Parquet and as a tar shard, plus class names, templates, captions and questions."""
    images, labels = trained.generate_images(HELD_OUT_IMAGES)
    image_ids = [f"held-out-{index:03d}" for index in range(len(images))]
    encoded = [jpeg_bytes(image) for image in images]

    parquet_path = folder / "held_out.parquet"
    pq.write_table(
        pa.table({"image_id": image_ids + ["corrupt"], "image": encoded + [b"\xff\xd8 truncated"], "class_index": labels + [0]}),
        parquet_path,
    )

    tar_path = folder / "held_out.tar"
    with tarfile.open(tar_path, "w") as archive:
        for image_id, data in zip(image_ids, encoded):
            info = tarfile.TarInfo(f"{image_id}.jpg")
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))

    # A wide class-name table in which Spanish lacks class 0, so that language is scored on 8 classes.
    languages = list(trained.languages)
    lines = ["\t".join(["class_index", *languages])]
    for class_index in range(len(trained.class_names["en"])):
        cells = [trained.class_names[lang][class_index] for lang in languages]
        if class_index == 0:
            cells[languages.index("es")] = ""
        lines.append("\t".join([str(class_index), *cells]))
    classnames_path = folder / "classnames.tsv"
    classnames_path.write_text("\n".join(lines) + "\n", encoding="utf-8")

    templates_path = folder / "templates.json"
    templates = {lang: [template.replace("{}", "{c}") for template in per_language]
                 for lang, per_language in trained.templates.items()}
    templates_path.write_text(json.dumps(templates, ensure_ascii=False), encoding="utf-8")

    caption_lines = ["image_id\tlang\tcaption"]
    for image_id, label in zip(image_ids, labels):
        for lang in languages:
            name = trained.class_names[lang][label]
            for template in trained.templates[lang][:2]:
                caption_lines.append(f"{image_id}\t{lang}\t{template.format(name)}")
    caption_lines.append("no-such-image\ten\ta red circle")
    captions_path = folder / "captions.tsv"
    captions_path.write_text("\n".join(caption_lines) + "\n", encoding="utf-8")

    questions_path = folder / "questions.jsonl"
    with questions_path.open("w", encoding="utf-8") as handle:
        for image_id, label in zip([*image_ids, "corrupt"], [*labels, 0]):
            for lang in languages:
                names = trained.class_names[lang]
                options = [names[(label + offset) % len(names)] for offset in (0, 3, 1, 5)]
                record = {"image_id": image_id, "lang": lang, "question": "", "options": options, "answer": 0}
                handle.write(json.dumps(record, ensure_ascii=False) + "\n")

    return {"parquet": parquet_path, "tar": tar_path, "classnames": classnames_path, "templates": templates_path,
            "captions": captions_path, "questions": questions_path}


@pytest.fixture(scope="module")
def trained_report(tiny_trained_checkpoint, tmp_path_factory) -> dict:
    folder = tmp_path_factory.mktemp("eval-trained")
    inputs = write_inputs(tiny_trained_checkpoint, folder)
    exit_code = main([
        "--checkpoint", str(tiny_trained_checkpoint.checkpoint_path), "--device", "cpu",
        "--cache-dir", str(folder / "cache"),
        "--classification-images", str(inputs["parquet"]),
        "--classnames", str(inputs["classnames"]), "--templates", str(inputs["templates"]),
        "--retrieval-images", str(inputs["tar"]), "--captions", str(inputs["captions"]),
        "--multiple-choice-images", str(inputs["parquet"]), "--questions", str(inputs["questions"]),
        "--multiple-choice-prompt", "{option}",
        "--output", str(folder / "report"),
    ])
    assert exit_code == 0
    return json.loads((folder / "report" / "results.json").read_text(encoding="utf-8"))


def test_report_names_checkpoint(trained_report, tiny_trained_checkpoint):
    model = trained_report["model"]
    assert model["source"] == "worldclip_checkpoint"
    assert model["checkpoint"] == str(Path(tiny_trained_checkpoint.checkpoint_path).resolve())
    assert len(model["checkpoint_sha256"]) == 64
    assert model["step"] == tiny_trained_checkpoint.train_steps


def test_zeroshot_beats_chance(trained_report):
    zeroshot = trained_report["tasks"]["zeroshot"]
    assert sorted(zeroshot["languages"]) == ["de", "en", "es", "zh"]
    assert zeroshot["images"]["images_dropped"] == {"image_decode_failed": 1}
    assert zeroshot["languages"]["en"]["images"] == HELD_OUT_IMAGES
    assert zeroshot["languages"]["es"]["classes"] == 8
    assert zeroshot["languages"]["es"]["images_without_class_name"] == HELD_OUT_IMAGES // 9
    assert zeroshot["mean"]["top1"] > 2 * CHANCE_TOP1


def test_retrieval_from_tar(trained_report):
    retrieval = trained_report["tasks"]["retrieval"]
    assert retrieval["captions_dropped"] == {"caption_without_image": 1}
    english = retrieval["languages"]["en"]
    assert english["images"] == HELD_OUT_IMAGES
    assert english["captions"] == 2 * HELD_OUT_IMAGES
    # Five images share each class and their captions are identical texts. Ties count against the
    # model, so image-to-text R@1 is 0 by construction and text-to-image R@10 is the telling number.
    assert retrieval["mean"]["text_to_image_r10"] > 10 / HELD_OUT_IMAGES


def test_multiple_choice_beats_chance(trained_report):
    choice = trained_report["tasks"]["multiple_choice"]
    assert choice["questions_dropped"] == {"image_decode_failed": 4}
    assert choice["languages"]["zh"]["questions"] == HELD_OUT_IMAGES
    assert choice["mean"]["accuracy"] > 0.25 + 0.15
