"""Exact resume: stopping and resuming gives the same weights and optimizer state as one run."""

from __future__ import annotations

import pytest
import torch
from fixtures_training import tiny_train_config, write_entry_counts, write_online_shards, write_shape_shards

from training.checkpoint import list_checkpoints, load_checkpoint
from training.trainer import train

TOTAL_STEPS = 22


def _assert_same_tensors(left, right, location):
    if isinstance(left, torch.Tensor):
        assert torch.equal(left, right), location
    elif isinstance(left, dict):
        assert left.keys() == right.keys(), location
        for key in left:
            _assert_same_tensors(left[key], right[key], f"{location}.{key}")
    elif isinstance(left, (list, tuple)):
        assert len(left) == len(right), location
        for index, (a, b) in enumerate(zip(left, right)):
            _assert_same_tensors(a, b, f"{location}[{index}]")
    else:
        assert left == right, location


@pytest.mark.parametrize("curation", ["offline", "online"])
def test_resume_matches_uninterrupted_run(tmp_path, tiny_model_config_path, curation):
    data = {"batch_size": 16, "num_workers": 2}
    if curation == "online":
        write_online_shards(tmp_path / "shards", shards=3, images_per_shard=70, seed=5, shard_format="webdataset")
        data.update(curation="online", entry_counts=str(write_entry_counts(tmp_path / "entry_counts")))
    else:
        write_shape_shards(tmp_path / "shards", shards=3, rows_per_shard=70, seed=5)

    def config(output, **run):
        return tiny_train_config(
            tiny_model_config_path, tmp_path / "shards", tmp_path / output, steps=TOTAL_STEPS, batch_size=16,
            data=data, optim={"warmup_steps": 3}, run=run,
        )

    whole = train(config("whole"))
    first = train(config("split", stop_after_steps=7))
    second = train(config("split"))

    assert whole.step == first.step + 15 == second.step == TOTAL_STEPS
    # 3 shards of 70 rows over 2 readers give fewer than 22 batches of 16, so the run crosses an epoch.
    assert whole.epoch >= 1
    assert whole.counters == second.counters

    uninterrupted = load_checkpoint(whole.checkpoint)
    resumed = load_checkpoint(second.checkpoint)
    _assert_same_tensors(uninterrupted.model_state, resumed.model_state, "model")
    _assert_same_tensors(uninterrupted.optimizer_state, resumed.optimizer_state, "optimizer")
    assert uninterrupted.data_state == resumed.data_state
    assert [p.name for p in list_checkpoints(tmp_path / "split" / "checkpoints")] == [
        "step_000000007.pt", "step_000000022.pt"
    ]


def test_resume_rejects_a_different_worker_count(tmp_path, tiny_model_config_path):
    write_shape_shards(tmp_path / "shards", shards=2, rows_per_shard=32, seed=5)

    def config(workers, **data):
        return tiny_train_config(
            tiny_model_config_path, tmp_path / "shards", tmp_path / "run", steps=6, batch_size=8,
            data={"num_workers": workers, **data}, run={"stop_after_steps": 3},
        )

    train(config(2))
    with pytest.raises(ValueError, match="same layout"):
        train(config(1))
    restarted = train(config(1, allow_epoch_restart=True))
    assert restarted.step == 6
