"""Generated images of coloured shapes on plain backgrounds, with class names in four languages.

The tests and benchmarks train and evaluate tiny models on these, so nothing is downloaded. There
are nine classes (three colours times three shapes); Chinese is the language written without
spaces between words.
"""

from __future__ import annotations

import io
import random
from dataclasses import dataclass

from PIL import Image, ImageDraw

from training.data.hashing import hash64

COLOURS = {"red": (220, 40, 40), "green": (40, 180, 60), "blue": (50, 70, 220)}
SHAPES = ("circle", "square", "triangle")
LANGUAGES = ("en", "de", "es", "zh")

_COLOUR_NAMES = {
    "en": {"red": "red", "green": "green", "blue": "blue"},
    "es": {"red": "rojo", "green": "verde", "blue": "azul"},
    "zh": {"red": "红色", "green": "绿色", "blue": "蓝色"},
}
_SHAPE_NAMES = {
    "en": {"circle": "circle", "square": "square", "triangle": "triangle"},
    "de": {"circle": "Kreis", "square": "Quadrat", "triangle": "Dreieck"},
    "es": {"circle": "círculo", "square": "cuadrado", "triangle": "triángulo"},
    "zh": {"circle": "圆形", "square": "正方形", "triangle": "三角形"},
}
# German adjectives take the ending of the noun's gender: Kreis is masculine, the others neuter.
_GERMAN_COLOURS = {"red": "rot", "green": "grün", "blue": "blau"}
_GERMAN_ENDINGS = {"circle": "er", "square": "es", "triangle": "es"}

TEMPLATES = {
    "en": ("a photo of a {}", "a {} on a plain background", "{}"),
    "de": ("ein Foto: {}", "{} auf einfarbigem Hintergrund", "{}"),
    "es": ("una foto de un {}", "un {} sobre un fondo liso", "{}"),
    "zh": ("一张{}的照片", "纯色背景上的{}", "{}"),
}


@dataclass(frozen=True)
class ShapeClass:
    colour: str
    shape: str


CLASSES = tuple(ShapeClass(colour, shape) for colour in COLOURS for shape in SHAPES)


def class_name(label: int, lang: str) -> str:
    """Return the name of class ``label`` in ``lang``."""
    shape_class = CLASSES[label]
    if lang == "de":
        adjective = _GERMAN_COLOURS[shape_class.colour] + _GERMAN_ENDINGS[shape_class.shape]
        return f"{adjective} {_SHAPE_NAMES['de'][shape_class.shape]}"
    colour = _COLOUR_NAMES[lang][shape_class.colour]
    shape = _SHAPE_NAMES[lang][shape_class.shape]
    if lang == "en":
        return f"{colour} {shape}"
    if lang == "es":
        return f"{shape} {colour}"
    return f"{colour}{shape}"


def class_names(lang: str) -> list[str]:
    return [class_name(label, lang) for label in range(len(CLASSES))]


def render(label: int, seed: int, size: int = 64) -> Image.Image:
    """Draw class ``label`` at a random position and size on a random grey background."""
    rng = random.Random(seed)
    grey = rng.randint(90, 200)
    background = tuple(max(0, min(255, grey + rng.randint(-12, 12))) for _ in range(3))
    image = Image.new("RGB", (size, size), background)
    draw = ImageDraw.Draw(image)

    shape_class = CLASSES[label]
    colour = tuple(max(0, min(255, c + rng.randint(-25, 25))) for c in COLOURS[shape_class.colour])
    extent = rng.randint(size * 2 // 5, size * 3 // 4)
    left = rng.randint(0, size - extent)
    top = rng.randint(0, size - extent)
    box = (left, top, left + extent, top + extent)
    if shape_class.shape == "circle":
        draw.ellipse(box, fill=colour)
    elif shape_class.shape == "square":
        draw.rectangle(box, fill=colour)
    else:
        draw.polygon([(left + extent // 2, top), (left, top + extent), (left + extent, top + extent)], fill=colour)
    return image


def encode_jpeg(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


def caption(label: int, lang: str, seed: int) -> str:
    """Return a caption of class ``label`` in ``lang`` from one of the language's templates."""
    templates = TEMPLATES[lang]
    return templates[hash64(seed, "template") % len(templates)].format(class_name(label, lang))


def generate_rows(count: int, seed: int, size: int = 64) -> list[dict]:
    """Return ``count`` shard rows (key, jpg, caption, image_id, lang, entry_ids) cycling through languages."""
    rows = []
    for index in range(count):
        sample_seed = hash64(seed, index)
        label = sample_seed % len(CLASSES)
        lang = LANGUAGES[index % len(LANGUAGES)]
        rows.append(
            {
                "key": f"{seed:04d}{index:07d}",
                "jpg": encode_jpeg(render(label, sample_seed, size)),
                "caption": caption(label, lang, sample_seed),
                "image_id": f"{hash64(seed, index, 'id'):016x}",
                "lang": lang,
                "entry_ids": [label],
            }
        )
    return rows


def generate_labelled_images(count: int, seed: int, size: int = 64) -> tuple[list[Image.Image], list[int]]:
    """Return ``count`` images and their class labels, balanced over the classes."""
    images, labels = [], []
    for index in range(count):
        label = index % len(CLASSES)
        images.append(render(label, hash64(seed, index, "held-out"), size))
        labels.append(label)
    return images, labels
