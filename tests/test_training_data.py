"""Shard dealing, online curation draws, corrupt images and counters of the training data loader."""

from __future__ import annotations

import collections

import pytest
from fixtures_training import write_entry_counts, write_online_shards, write_shape_shards

from training.data.loader import COUNTERS, TrainingDataLoader
from training.data.online_curation import EntryProbabilities, OnlineCurator, group_by_image
from training.data.readers import read_block
from training.data.shard_writer import write_parquet_shard, write_webdataset_shard
from training.data.shards import ShardError, deal_shards, find_shards
from training.model_factory import build_model
from training import synthetic_shapes


@pytest.fixture(scope="module")
def tiny_bundle(tiny_model_config_path):
    return build_model(str(tiny_model_config_path))


def _read_epoch(shards, bundle, rank, world_size, num_workers, batch_size, epoch=0, curator=None, seed=3):
    loader = TrainingDataLoader(
        shards=shards,
        rank=rank,
        world_size=world_size,
        num_workers=num_workers,
        batch_size=batch_size,
        seed=seed,
        preprocess=bundle.preprocess_val,
        tokenizer=bundle.tokenizer,
        curator=curator,
    )
    loader.state.start_epoch(epoch)
    image_ids = []
    for batch in loader.epoch_batches():
        assert batch["images"].shape[0] == batch_size
        assert batch["texts"].shape == (batch_size, bundle.context_length)
        image_ids.extend(batch["image_ids"])
    return image_ids, loader.state


def _image_ids_by_shard(shards) -> dict[str, set[str]]:
    return {shard.path: {r.image_id for r in read_block(shard, 0)} for shard in shards}


def test_deal_gives_each_shard_to_one_reader():
    shards = [f"s{i}" for i in range(11)]
    from training.data.shards import Shard

    shard_objects = [Shard(path=f"/data/{name}.parquet", format="parquet") for name in shards]
    for epoch in range(3):
        dealt = deal_shards(shard_objects, seed=5, epoch=epoch, world_size=2, num_workers=2)
        flat = [shard for reader in dealt for shard in reader]
        assert len(dealt) == 4
        assert sorted(flat) == sorted(shard_objects)
        assert max(len(r) for r in dealt) - min(len(r) for r in dealt) <= 1

    first = deal_shards(shard_objects, seed=5, epoch=0, world_size=2, num_workers=2)
    again = deal_shards(shard_objects, seed=5, epoch=0, world_size=2, num_workers=2)
    next_epoch = deal_shards(shard_objects, seed=5, epoch=1, world_size=2, num_workers=2)
    assert first == again
    assert first != next_epoch


def test_deal_rejects_fewer_shards_than_ranks():
    from training.data.shards import Shard

    with pytest.raises(ShardError, match="at least one shard per rank"):
        deal_shards([Shard("/a.parquet", "parquet")], seed=0, epoch=0, world_size=2, num_workers=1)


@pytest.mark.parametrize("shard_format", ["parquet", "webdataset"])
def test_two_ranks_two_workers_read_every_shard_once(tmp_path, tiny_bundle, shard_format):
    write_shape_shards(tmp_path, shards=6, rows_per_shard=20, seed=11, shard_format=shard_format)
    shards = find_shards([str(tmp_path)])
    expected = _image_ids_by_shard(shards)

    for epoch in (0, 1):
        seen: list[str] = []
        dropped = 0
        for rank in (0, 1):
            image_ids, state = _read_epoch(shards, tiny_bundle, rank, 2, 2, batch_size=4, epoch=epoch)
            seen.extend(image_ids)
            dropped += state.counters["partial_batch_dropped"]
            assert state.counters["rows_read"] == state.counters["samples"] + state.counters["partial_batch_dropped"]
        counts = collections.Counter(seen)
        assert max(counts.values()) == 1, "an image was read twice in one epoch"
        all_ids = set().union(*expected.values())
        assert set(seen) <= all_ids
        # Shards of 20 rows split into batches of 4, so no partial batch is dropped.
        assert dropped == 0
        assert set(seen) == all_ids


def test_online_draws_seeded_per_epoch(tmp_path):
    shard_paths = write_online_shards(tmp_path / "shards", shards=1, images_per_shard=200, seed=3)
    probabilities = EntryProbabilities.load(write_entry_counts(tmp_path / "entry_counts"))
    shard = find_shards([str(shard_paths[0])])[0]
    groups = group_by_image(read_block(shard, 0))
    assert len(groups) == 200

    def draws(seed, epoch):
        curator = OnlineCurator(probabilities, seed=seed)
        return [(d.chosen.caption, d.keep) for d in (curator.draw(epoch, group) for group in groups)]

    assert draws(1, 0) == draws(1, 0)
    assert draws(1, 0) != draws(1, 1)
    assert draws(1, 0) != draws(2, 0)

    kept_images = sum(keep for _, keep in draws(1, 0))
    # Keep probabilities are 0.6 (one tail entry) or 1 - 0.4 * 0.95 = 0.62 (tail and head entry).
    assert 0.45 * 200 < kept_images < 0.77 * 200

    chosen_in_multi_text_images = [
        {draws(1, epoch)[i][0] for epoch in range(8)} for i, g in enumerate(groups) if len({r.caption for r in g}) > 1
    ]
    assert any(len(choices) > 1 for choices in chosen_in_multi_text_images)


def test_online_keep_probability_combines_entries(tmp_path):
    probabilities = EntryProbabilities.load(write_entry_counts(tmp_path / "entry_counts", 0.5, 0.2))

    assert probabilities.keep_probability("en", [0]) == (pytest.approx(0.5), 0)
    assert probabilities.keep_probability("en", [0, 9]) == (pytest.approx(1 - 0.5 * 0.8), 0)
    assert probabilities.keep_probability("en", [77]) == (1.0, 1)
    assert probabilities.keep_probability("xx", [0]) == (1.0, 1)


def test_online_loader_accounts_for_every_row(tmp_path, tiny_bundle):
    write_online_shards(tmp_path / "shards", shards=2, images_per_shard=60, seed=8)
    probabilities = EntryProbabilities.load(write_entry_counts(tmp_path / "entry_counts"))
    shards = find_shards([str(tmp_path / "shards")])
    curator = OnlineCurator(probabilities, seed=4)

    ids_epoch0, state0 = _read_epoch(shards, tiny_bundle, 0, 1, 1, batch_size=5, epoch=0, curator=curator)
    ids_epoch1, _ = _read_epoch(shards, tiny_bundle, 0, 1, 1, batch_size=5, epoch=1, curator=curator)
    counters = state0.counters

    rows = sum(len(read_block(s, 0)) for s in shards)
    assert counters["rows_read"] == rows
    assert counters["rows_read"] == (
        counters["samples"]
        + counters["online_unchosen_texts"]
        + counters["online_not_kept"]
        + counters["partial_batch_dropped"]
    )
    assert counters["online_not_kept"] > 0
    assert len(set(ids_epoch0)) == len(ids_epoch0)
    assert set(ids_epoch0) != set(ids_epoch1)


def test_corrupt_images_are_skipped_and_counted(tmp_path, tiny_bundle, caplog):
    rows = synthetic_shapes.generate_rows(24, seed=21)
    rows[3]["jpg"] = b"not an image at all"
    rows[10]["jpg"] = rows[10]["jpg"][:40]
    rows[15]["jpg"] = None
    rows[17]["caption"] = "  "
    write_parquet_shard(tmp_path / "p" / "00000.parquet", rows)
    write_webdataset_shard(tmp_path / "w" / "00000.tar", rows)

    for folder in ("p", "w"):
        shards = find_shards([str(tmp_path / folder)])
        with caplog.at_level("WARNING"):
            image_ids, state = _read_epoch(shards, tiny_bundle, 0, 1, 0, batch_size=4)
        counters = state.counters
        assert counters["corrupt_image"] == 2, folder
        assert counters["missing_image"] == 1, folder
        assert counters["missing_text"] == 1, folder
        assert counters["samples"] == 20, folder
        assert counters["rows_read"] == 24, folder
        assert rows[3]["image_id"] not in image_ids
        assert "skipping undecodable image" in caplog.text


def test_unreadable_shard_is_skipped_and_counted(tmp_path, tiny_bundle):
    write_shape_shards(tmp_path, shards=1, rows_per_shard=8, seed=2)
    (tmp_path / "broken.parquet").write_bytes(b"PAR1 this is not parquet")
    shards = find_shards([str(tmp_path)])

    image_ids, state = _read_epoch(shards, tiny_bundle, 0, 1, 0, batch_size=4)

    assert state.counters["unreadable_shards"] == 1
    assert len(image_ids) == 8


def test_loader_state_round_trips(tmp_path, tiny_bundle):
    from training.data.loader import LoaderState

    write_shape_shards(tmp_path, shards=2, rows_per_shard=8, seed=2)
    shards = find_shards([str(tmp_path)])
    _, state = _read_epoch(shards, tiny_bundle, 0, 1, 2, batch_size=4)

    restored = LoaderState.from_dict(state.to_dict())
    assert restored == state
    assert set(restored.counters) == set(COUNTERS)


def test_image_split_across_row_groups_is_counted(tmp_path, tiny_bundle):
    from fixtures_training import online_rows

    rows = online_rows(30, seed=12)
    write_parquet_shard(tmp_path / "shards" / "00000.parquet", rows, row_group_size=7)
    probabilities = EntryProbabilities.load(write_entry_counts(tmp_path / "entry_counts", 1.0, 1.0))
    shards = find_shards([str(tmp_path / "shards")])
    splits = 0
    for first_row in range(7, len(rows), 7):
        if rows[first_row - 1]["image_id"] == rows[first_row]["image_id"]:
            splits += 1
    assert splits > 0

    _, state = _read_epoch(shards, tiny_bundle, 0, 1, 0, batch_size=1, curator=OnlineCurator(probabilities, seed=1))

    assert state.counters["split_image_groups"] == splits
    assert state.counters["rows_read"] == len(rows)
