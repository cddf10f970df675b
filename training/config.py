"""Training configuration: a JSON data file plus ``key=value`` overrides from the command line.

A config file has four sections, ``model``, ``data``, ``optim`` and ``run``, whose fields are the
dataclasses below. Relative paths inside a config file are resolved against the file's folder,
so the recipe files under ``training/configs/`` work from any working directory.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

CONFIG_DIR = Path(__file__).resolve().parent / "configs"


class ConfigError(ValueError):
    """Raised when a config file or an override is invalid."""


@dataclass
class ModelConfig:
    """Model architecture, tokenizer and model-level training options."""

    # A built-in open_clip model name (``ViT-H-14-worldwide``) or a path to a model config JSON
    # with ``embed_dim``, ``vision_cfg`` and ``text_cfg``.
    name: str = "ViT-H-14-worldwide"
    # Hugging Face tokenizer name or local folder; None keeps the config's ``hf_tokenizer_name``.
    tokenizer: str | None = None
    grad_checkpointing: bool = False
    torch_compile: bool = False
    # Augmentation passed to open_clip's training transform, e.g. {"scale": [0.9, 1.0]}.
    augmentation: dict[str, Any] = field(default_factory=dict)


@dataclass
class DataConfig:
    """Training shard locations and data loader settings."""

    # Folders or glob patterns of shards; ``.parquet`` and ``.tar`` files are found in folders.
    shards: list[str] = field(default_factory=list)
    # "offline": train on the texts the curation job kept. "online": redraw text and keep
    # decision per epoch from the job's ``entry_counts/`` table.
    curation: str = "offline"
    entry_counts: str | None = None
    # Per-process (per-GPU) batch size; the global batch is this times the world size.
    batch_size: int = 256
    num_workers: int = 4
    prefetch_factor: int = 2
    # Seed of the shard order and of the online curation draws; None uses run.seed.
    seed: int | None = None
    # Restart the interrupted epoch from its start when the saved read position cannot be used
    # (a different world size or worker count) instead of raising an error.
    allow_epoch_restart: bool = False


@dataclass
class OptimConfig:
    """Optimizer and learning-rate schedule (AdamW with warmup and cosine decay)."""

    lr: float = 4e-4
    beta1: float = 0.9
    beta2: float = 0.95
    eps: float = 1e-6
    weight_decay: float = 0.1
    warmup_steps: int = 2000
    schedule: str = "cosine"
    # Samples seen over the whole run; the number of steps is this divided by the global batch.
    train_samples: int = 1_000_000
    grad_clip_norm: float | None = None
    # "amp_bf16", "amp" (float16 with a gradient scaler) or "fp32".
    precision: str = "amp_bf16"
    local_loss: bool = True
    gather_with_grad: bool = True


@dataclass
class RunConfig:
    """Output, logging, checkpoints and devices."""

    output_dir: str = "out/train"
    name: str = "worldclip"
    seed: int = 0
    # "cuda" or "cpu"; "cuda" falls back to "cpu" with a warning when no GPU is present.
    device: str = "cuda"
    log_every_steps: int = 10
    checkpoint_every_steps: int = 1000
    keep_checkpoints: int = 2
    # "auto" resumes from the latest checkpoint in the output folder, a path resumes from that
    # file, None starts fresh.
    resume: str | None = "auto"
    # Stop after this many optimizer steps in this process, e.g. to split a run into jobs.
    stop_after_steps: int | None = None
    tensorboard: bool = False
    # CPU threads of torch in the training process; None keeps torch's default.
    torch_threads: int | None = None


@dataclass
class TrainConfig:
    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    run: RunConfig = field(default_factory=RunConfig)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> "TrainConfig":
        sections = {}
        for section in dataclasses.fields(cls):
            section_type = section.default_factory  # type: ignore[misc]
            raw = values.get(section.name, {})
            if not isinstance(raw, dict):
                raise ConfigError(f"config section {section.name!r} must be an object, got {raw!r}")
            known = {f.name for f in dataclasses.fields(section_type)}
            unknown = sorted(set(raw) - known)
            if unknown:
                raise ConfigError(
                    f"unknown key(s) {unknown} in config section {section.name!r}; known keys: {sorted(known)}"
                )
            sections[section.name] = section_type(**_coerce_lists(section_type, raw))
        unknown_sections = sorted(set(values) - {f.name for f in dataclasses.fields(cls)})
        if unknown_sections:
            raise ConfigError(f"unknown config section(s) {unknown_sections}; expected model, data, optim, run")
        config = cls(**sections)
        config.validate()
        return config

    def validate(self) -> None:
        if self.data.curation not in ("offline", "online"):
            raise ConfigError(f"data.curation must be 'offline' or 'online', got {self.data.curation!r}")
        if self.data.curation == "online" and not self.data.entry_counts:
            raise ConfigError("data.curation='online' needs data.entry_counts, the curation job's entry_counts/ folder")
        if self.data.batch_size < 1:
            raise ConfigError(f"data.batch_size must be at least 1, got {self.data.batch_size}")
        if self.data.num_workers < 0:
            raise ConfigError(f"data.num_workers must be 0 or more, got {self.data.num_workers}")
        if self.optim.precision not in ("amp_bf16", "amp", "fp32"):
            raise ConfigError(f"optim.precision must be amp_bf16, amp or fp32, got {self.optim.precision!r}")
        if self.optim.schedule not in ("cosine", "const"):
            raise ConfigError(f"optim.schedule must be 'cosine' or 'const', got {self.optim.schedule!r}")
        if self.optim.train_samples < 1:
            raise ConfigError(f"optim.train_samples must be positive, got {self.optim.train_samples}")

    @property
    def data_seed(self) -> int:
        return self.run.seed if self.data.seed is None else self.data.seed


def _coerce_lists(section_type: type, raw: dict[str, Any]) -> dict[str, Any]:
    """Turn a string given for a list field into a list: ``a,b`` or ``[a, b]`` without JSON quotes.

    Shells and make strip the quotes of ``data.shards=["/a"]``, so overrides often arrive that way.
    """
    coerced = dict(raw)
    for item in dataclasses.fields(section_type):
        value = coerced.get(item.name)
        if item.default_factory is list and isinstance(value, str):  # type: ignore[comparison-overlap]
            inner = value.strip().removeprefix("[").removesuffix("]")
            coerced[item.name] = [part.strip().strip("'\"") for part in inner.split(",") if part.strip()]
    return coerced


def _parse_override_value(text: str) -> Any:
    """Parse an override value as JSON (numbers, booleans, null, lists), else keep it as a string."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def apply_overrides(values: dict[str, Any], overrides: Sequence[str]) -> dict[str, Any]:
    """Apply ``section.key=value`` overrides to a config dictionary in place and return it."""
    for override in overrides:
        key, separator, raw_value = override.partition("=")
        if not separator or "." not in key:
            raise ConfigError(f"invalid override {override!r}: expected section.key=value, e.g. optim.lr=1e-4")
        section, _, name = key.partition(".")
        values.setdefault(section, {})[name] = _parse_override_value(raw_value)
    return values


def _resolve_relative_paths(values: dict[str, Any], base_dir: Path) -> None:
    model = values.get("model", {})
    for key in ("name", "tokenizer"):
        value = model.get(key)
        if not isinstance(value, str) or Path(value).is_absolute():
            continue
        # A model config JSON given by a bare relative path lives next to the config file.
        if value.startswith("./") or value.startswith("../") or (key == "name" and value.endswith(".json")):
            model[key] = str((base_dir / value).resolve())
    data = values.get("data", {})
    shards = data.get("shards")
    if isinstance(shards, list):
        data["shards"] = [
            str((base_dir / s).resolve()) if s.startswith("./") or s.startswith("../") else s for s in shards
        ]
    entry_counts = data.get("entry_counts")
    if isinstance(entry_counts, str) and (entry_counts.startswith("./") or entry_counts.startswith("../")):
        data["entry_counts"] = str((base_dir / entry_counts).resolve())


def resolve_config_path(path: str | Path) -> Path:
    """Find a config file: a path as given, else a recipe name under ``training/configs/``."""
    candidate = Path(path)
    if candidate.is_file():
        return candidate
    named = CONFIG_DIR / f"{path}.json"
    if named.is_file():
        return named
    recipes = sorted(p.stem for p in CONFIG_DIR.glob("*.json"))
    raise ConfigError(f"config {str(path)!r} not found: give a JSON file or one of the recipes {recipes}")


def load_config(path: str | Path, overrides: Sequence[str] = ()) -> TrainConfig:
    """Load a config file (or a recipe name) and apply ``section.key=value`` overrides."""
    config_path = resolve_config_path(path)
    try:
        values = json.loads(config_path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise ConfigError(f"config {config_path} is not valid JSON: {error}") from error
    values.pop("description", None)
    _resolve_relative_paths(values, config_path.parent)
    apply_overrides(values, overrides)
    return TrainConfig.from_dict(values)
