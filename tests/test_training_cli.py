"""Config files and overrides, checkpoints, the model factory, and a two-rank torchrun launch on CPU."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from fixtures_training import write_shape_shards

from training.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from training.config import ConfigError, load_config
from training.model_factory import ModelConfigError, build_model, resolve_model_config

REPOSITORY_ROOT = Path(__file__).resolve().parents[1]


def test_recipe_configs_load():
    h14 = load_config("h14_worldwide")
    one_gpu = load_config("one_gpu")
    cpu = load_config("cpu")

    assert h14.model.name == "ViT-H-14-worldwide"
    assert h14.model.tokenizer == "facebook/xlm-v-base"
    assert h14.data.batch_size * 384 == 75_264
    assert h14.optim.train_samples // 75_264 == 391_156
    assert (h14.optim.lr, h14.optim.beta2, h14.optim.weight_decay, h14.optim.warmup_steps) == (4e-4, 0.95, 0.1, 2000)
    assert h14.optim.precision == "amp_bf16"
    assert h14.model.grad_checkpointing
    assert h14.optim.local_loss
    assert h14.optim.gather_with_grad
    assert Path(one_gpu.model.name).is_file()
    assert cpu.run.device == "cpu"


def test_list_override_without_json_quotes():
    unquoted = load_config("cpu", ["data.shards=[/a, /b]"])
    comma_separated = load_config("cpu", ["data.shards=/a,/b"])

    assert unquoted.data.shards == ["/a", "/b"]
    assert comma_separated.data.shards == ["/a", "/b"]


def test_overrides_parse_json_values():
    config = load_config(
        "cpu", ["optim.lr=1e-4", "data.shards=[\"/a\", \"/b\"]", "run.tensorboard=true", "run.name=trial"]
    )

    assert config.optim.lr == 1e-4
    assert config.data.shards == ["/a", "/b"]
    assert config.run.tensorboard is True
    assert config.run.name == "trial"


@pytest.mark.parametrize(
    "overrides, message",
    [
        (["optim.learning_rate=1"], "unknown key"),
        (["lr=1"], "expected section.key=value"),
        (["data.curation=online"], "needs data.entry_counts"),
        (["optim.precision=fp8"], "precision"),
    ],
)
def test_invalid_overrides_raise(overrides, message):
    with pytest.raises(ConfigError, match=message):
        load_config("cpu", overrides)


def test_unknown_recipe_lists_recipes():
    with pytest.raises(ConfigError, match="h14_worldwide"):
        load_config("h15")


def test_worldwide_config_sets_eos_pooling():
    config = resolve_model_config("ViT-H-14-worldwide", "facebook/xlm-v-base")

    assert config["text_cfg"]["pool_type"] == "eos"
    assert config["text_cfg"]["eos_id"] == 2


def test_factory_rejects_eos_mismatch(tmp_path, tiny_model_config_path):
    config = json.loads(tiny_model_config_path.read_text())
    config["text_cfg"]["eos_id"] = 0
    path = tmp_path / "wrong-eos.json"
    path.write_text(json.dumps(config))

    with pytest.raises(ModelConfigError, match="eos_id"):
        build_model(str(path))


def test_checkpoint_write_is_atomic_and_loads(tmp_path, tiny_model_config_path):
    bundle = build_model(str(tiny_model_config_path))
    path = tmp_path / "step_000000001.pt"
    save_checkpoint(path, model=bundle.model, model_config=bundle.model_config, step=1, data_state={"x": 1})
    save_checkpoint(path, model=bundle.model, model_config=bundle.model_config, step=2)

    assert sorted(p.name for p in tmp_path.iterdir()) == ["step_000000001.pt"]
    checkpoint = load_checkpoint(path)
    assert checkpoint.step == 2
    assert checkpoint.tokenizer == bundle.model_config["text_cfg"]["hf_tokenizer_name"]

    (tmp_path / "other.pt").write_bytes(b"")
    torch.save({"weights": 1}, tmp_path / "other.pt")
    with pytest.raises(CheckpointError, match="not a worldclip training checkpoint"):
        load_checkpoint(tmp_path / "other.pt")


def test_torchrun_two_ranks_on_cpu(tmp_path, tiny_model_config_path):
    write_shape_shards(tmp_path / "shards", shards=4, rows_per_shard=32, seed=9)
    config = load_config("cpu").to_dict()
    config["model"]["name"] = str(tiny_model_config_path)
    config["model"]["tokenizer"] = None
    config["data"].update(shards=[str(tmp_path / "shards")], batch_size=8, num_workers=1)
    config["optim"]["train_samples"] = 8 * 2 * 6
    config["run"].update(output_dir=str(tmp_path / "run"), log_every_steps=2)
    config_path = tmp_path / "config.json"
    config_path.write_text(json.dumps(config))

    environment = dict(os.environ, PYTHONPATH=str(REPOSITORY_ROOT), HF_HUB_OFFLINE="1", OMP_NUM_THREADS="1")
    completed = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
         "-m", "training.train", "--config", str(config_path), "run.checkpoint_every_steps=3"],
        cwd=REPOSITORY_ROOT, env=environment, capture_output=True, text=True, timeout=300,
    )

    assert completed.returncode == 0, completed.stderr[-4000:]
    assert "samples/s" in completed.stderr
    checkpoint = load_checkpoint(tmp_path / "run" / "checkpoints" / "step_000000006.pt")
    ranks = checkpoint.data_state["ranks"]
    assert checkpoint.data_state["world_size"] == 2
    assert [r["counters"]["samples"] for r in ranks] == [48, 48]


def test_example_data_trains_with_cpu_recipe(tmp_path):
    from training.example_data import main as write_example
    from training.trainer import train

    assert write_example(["--output", str(tmp_path / "example"), "--shards", "2", "--rows-per-shard", "32"]) == 0
    config = load_config(
        "cpu",
        [
            f'data.shards=["{tmp_path / "example" / "shards"}"]',
            f"model.name={tmp_path / 'example' / 'tiny-model.json'}",
            "model.tokenizer=null",
            "data.batch_size=16",
            "optim.train_samples=96",
            f"run.output_dir={tmp_path / 'run'}",
        ],
    )
    result = train(config)

    assert result.step == 6
    assert result.counters["samples"] == 96


def test_training_skips_corrupt_images(tmp_path, tiny_model_config_path, caplog):
    from fixtures_training import tiny_train_config

    from training import synthetic_shapes
    from training.data.shard_writer import write_parquet_shard
    from training.trainer import train

    rows = synthetic_shapes.generate_rows(40, seed=3)
    for index in (2, 9, 30):
        rows[index]["jpg"] = b"\xff\xd8\xff truncated jpeg"
    write_parquet_shard(tmp_path / "shards" / "00000.parquet", rows)
    config = tiny_train_config(
        tiny_model_config_path, tmp_path / "shards", tmp_path / "run", steps=4, batch_size=8,
        data={"num_workers": 0}, run={"log_every_steps": 2},
    )

    with caplog.at_level("INFO"):
        result = train(config)

    assert result.step == 4
    # The row order in the block comes from a fixed seed, and it puts all three corrupt rows before
    # the fourth batch is full.
    assert result.counters["corrupt_image"] == 3
    assert "'corrupt_image': 3" in caplog.text
