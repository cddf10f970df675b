"""The tiny model trained by the session fixture learns zero-shot classification in every language."""

from __future__ import annotations

import torch

from training.checkpoint import build_model_from_checkpoint, load_checkpoint

CHANCE = 1 / 9


def _zero_shot_accuracy(bundle, images, labels, names, templates) -> float:
    with torch.no_grad():
        image_features = bundle.model.encode_image(torch.stack([bundle.preprocess_val(i) for i in images]), normalize=True)
        class_embeddings = []
        for name in names:
            tokens = bundle.tokenizer([template.format(name) for template in templates])
            embedding = bundle.model.encode_text(tokens, normalize=True).mean(dim=0)
            class_embeddings.append(embedding / embedding.norm())
        predictions = (image_features @ torch.stack(class_embeddings).T).argmax(dim=1)
    return (predictions == torch.tensor(labels)).float().mean().item()


def test_tiny_model_zero_shot_per_language(tiny_trained_checkpoint):
    bundle = build_model_from_checkpoint(tiny_trained_checkpoint.checkpoint_path)
    images, labels = tiny_trained_checkpoint.generate_images(180, seed=4242)

    assert len(tiny_trained_checkpoint.languages) >= 4
    assert "zh" in tiny_trained_checkpoint.languages
    for lang in tiny_trained_checkpoint.languages:
        accuracy = _zero_shot_accuracy(
            bundle,
            images,
            labels,
            tiny_trained_checkpoint.class_names[lang],
            tiny_trained_checkpoint.templates[lang],
        )
        assert accuracy > 4 * CHANCE, f"zero-shot accuracy in {lang} is {accuracy:.2f}, chance is {CHANCE:.2f}"


def test_tiny_checkpoint_rebuilds_tokenizer(tiny_trained_checkpoint):
    checkpoint = load_checkpoint(tiny_trained_checkpoint.checkpoint_path)

    assert checkpoint.step == tiny_trained_checkpoint.train_steps
    assert checkpoint.tokenizer == str(tiny_trained_checkpoint.tokenizer_path)
    assert checkpoint.data_state is not None
    assert checkpoint.data_state["ranks"][0]["counters"]["samples"] == checkpoint.step * 64
    assert checkpoint.model_config["text_cfg"]["pool_type"] == "eos"
