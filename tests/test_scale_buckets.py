"""Matching task plan: skewed languages split into buckets, small ones packed, rows placed exactly."""

import pytest

from curation import schemas as S
from curation.annotate import assign_match_tasks, plan_match_tasks

SKEWED_ROWS = {"en": 6000, "de": 1200, "fr": 500, "ja": 300, "tr": 40, "cs": 10, "other": 150}


def test_plan_splits_large_language_into_buckets():
    plan = plan_match_tasks(SKEWED_ROWS, target_tasks=8)
    english = next(item for item in plan.languages if item.lang == "en")
    assert plan.rows_per_task == 1025
    assert english.buckets == 6


def test_plan_bounds_rows_of_every_task():
    plan = plan_match_tasks(SKEWED_ROWS, target_tasks=8)
    task_rows = plan.expected_task_rows()
    assert max(task_rows) <= plan.rows_per_task
    assert sum(task_rows) == sum(SKEWED_ROWS.values())


def test_plan_packs_small_languages_together():
    plan = plan_match_tasks(SKEWED_ROWS, target_tasks=8)
    shared = [langs for langs in plan.task_languages() if len(langs) > 1]
    assert shared
    assert all("en" not in langs for langs in shared)


def test_plan_respects_max_task_rows():
    plan = plan_match_tasks(SKEWED_ROWS, target_tasks=2, max_task_rows=500)
    assert plan.rows_per_task == 500
    assert max(plan.expected_task_rows()) <= 500


def test_plan_respects_entry_bound_when_packing():
    rows = {"a": 10, "b": 10, "c": 10}
    entries = {"a": 600, "b": 600, "c": 300}
    plan = plan_match_tasks(rows, target_tasks=1, language_entries=entries, max_task_entries=1000)
    for langs in plan.task_languages():
        assert sum(entries[lang] for lang in langs) <= 1000


def test_plan_balances_work_not_rows():
    rows = {"zh": 4000, "id": 4000}
    plan = plan_match_tasks(rows, target_tasks=4, language_work={"zh": 1.0, "id": 3.0})
    buckets = {item.lang: item.buckets for item in plan.languages}
    assert buckets == {"zh": 1, "id": 3}
    assert plan.rows_per_task == 4000


def test_plan_with_work_still_bounds_rows():
    rows = {"zh": 4000, "id": 4000}
    plan = plan_match_tasks(rows, target_tasks=4, max_task_rows=2000, language_work={"zh": 1.0, "id": 3.0})
    assert max(plan.expected_task_rows()) <= 2000
    assert {item.lang: item.buckets for item in plan.languages} == {"zh": 2, "id": 3}


def test_plan_gives_unestimated_language_mean_work():
    rows = {"zh": 4000, "id": 4000, "xx": 4000}
    plan = plan_match_tasks(rows, target_tasks=6, language_work={"zh": 1.0, "id": 3.0})
    buckets = {item.lang: item.buckets for item in plan.languages}
    assert buckets["xx"] == 2


def test_plan_every_task_has_rows():
    plan = plan_match_tasks(SKEWED_ROWS, target_tasks=8)
    assert all(rows > 0 for rows in plan.expected_task_rows())


def test_plan_is_deterministic():
    first = plan_match_tasks(SKEWED_ROWS, target_tasks=8)
    second = plan_match_tasks(dict(reversed(list(SKEWED_ROWS.items()))), target_tasks=8)
    assert first == second


def test_plan_of_empty_input_has_one_task():
    plan = plan_match_tasks({}, target_tasks=4)
    assert plan.tasks == 1
    assert plan.languages == ()


@pytest.mark.parametrize("arguments", [{"target_tasks": 0}, {"target_tasks": 2, "max_task_rows": 0}])
def test_plan_rejects_invalid_bounds(arguments):
    with pytest.raises(ValueError):
        plan_match_tasks(SKEWED_ROWS, **arguments)


def test_plan_rejects_negative_rows():
    with pytest.raises(ValueError, match="negative"):
        plan_match_tasks({"en": -1}, target_tasks=2)


def test_assign_places_each_task_in_one_partition(spark):
    from pyspark.sql import functions as F

    language_rows = {lang: max(1, count // 10) for lang, count in SKEWED_ROWS.items()}
    rows = [(f"{lang}-{index}", f"u{index}", f"text {index}", lang) for lang, count in language_rows.items() for index in range(count)]
    frame = spark.createDataFrame(rows, f"{S.IMAGE_ID} string, {S.URL} string, {S.TEXT} string, {S.LANG} string")
    plan = plan_match_tasks(language_rows, target_tasks=8)

    assigned = assign_match_tasks(frame, plan)
    per_partition = assigned.withColumn("partition", F.spark_partition_id()).groupBy("partition", S.LANG).count().collect()

    assert assigned.rdd.getNumPartitions() == plan.tasks
    assert assigned.columns == frame.columns
    assert sum(row["count"] for row in per_partition) == sum(language_rows.values())
    planned = plan.task_languages()
    for row in per_partition:
        assert row[S.LANG] in planned[row["partition"]]


def test_assign_keeps_rows_of_unplanned_language(spark):
    frame = spark.createDataFrame(
        [("a", "u", "t", "en"), ("b", "u", "t", "xx")], f"{S.IMAGE_ID} string, {S.URL} string, {S.TEXT} string, {S.LANG} string"
    )
    plan = plan_match_tasks({"en": 1}, target_tasks=2)
    assert sorted(row[S.LANG] for row in assign_match_tasks(frame, plan).collect()) == ["en", "xx"]


def test_spark_hash_int_equals_spark_hash(spark):
    from pyspark.sql import functions as F

    from curation.annotate import spark_hash_int

    values = [0, 1, -1, 7, 123456, 2**31 - 1, -(2**31)]
    frame = spark.createDataFrame([(value,) for value in values], "value int")
    expected = [row["hashed"] for row in frame.select(F.hash("value").alias("hashed")).collect()]
    assert [spark_hash_int(value) for value in values] == expected


def test_partition_keys_cover_every_partition():
    from curation.annotate import partition_keys, spark_hash_int

    keys = partition_keys(37)
    assert [spark_hash_int(key) % 37 for key in keys] == list(range(37))


def test_assign_spreads_unplanned_language_rows(spark):
    from pyspark.sql import functions as F

    rows = [(f"{lang}-{index}", "u", "t", lang) for lang in ["en", "xx"] for index in range(30)]
    frame = spark.createDataFrame(rows, f"{S.IMAGE_ID} string, {S.URL} string, {S.TEXT} string, {S.LANG} string")
    plan = plan_match_tasks({"en": 30}, target_tasks=1, max_task_rows=10)

    assigned = assign_match_tasks(frame, plan).withColumn("partition", F.spark_partition_id())
    partitions = {row["partition"] for row in assigned.where(F.col(S.LANG) != "en").select("partition").distinct().collect()}

    assert assigned.count() == len(rows)
    assert len(partitions) > 1


def _caption_frame(spark, shared_data, per_language: int):
    from benchmarks.captions import read_caption_rows

    chosen = {}
    for row in read_caption_rows(shared_data):
        chosen.setdefault(row["lang"], [])
        if len(chosen[row["lang"]]) < per_language:
            chosen[row["lang"]].append((row["url"], row["url"], row["text"]))
    rows = [row for group in chosen.values() for row in group]
    return spark.createDataFrame(rows, f"{S.IMAGE_ID} string, {S.URL} string, {S.TEXT} string")


def _options(shared_data, sample_rows: int):
    from curation.annotate import AnnotateOptions
    from benchmarks.captions import CAPTION_LANGUAGES

    return AnnotateOptions(metadata_dir="unused", metadata_languages=frozenset(CAPTION_LANGUAGES), plan_sample_rows=sample_rows)


def test_estimate_exact_for_small_input(spark, shared_data):
    from curation.annotate import count_language_rows, estimate_languages, identify_languages

    frame = _caption_frame(spark, shared_data, 40)
    options = _options(shared_data, sample_rows=10_000)
    total = frame.count()

    assert estimate_languages(frame, options, total).rows == count_language_rows(identify_languages(frame, options))


def test_sample_estimate_close_and_stable(spark, shared_data):
    from curation.annotate import count_language_rows, estimate_languages, identify_languages

    frame = _caption_frame(spark, shared_data, 400)
    options = _options(shared_data, sample_rows=1500)
    total = frame.count()
    exact = count_language_rows(identify_languages(frame, options))

    estimated = estimate_languages(frame, options, total).rows
    repartitioned = estimate_languages(frame.repartition(5), options, total).rows

    assert estimated == repartitioned
    # About 1,500 of 4,400 rows are labelled, so a language of 400 rows is within a quarter.
    for lang, rows in exact.items():
        if rows >= 300:
            assert abs(estimated[lang] - rows) <= rows / 4, (lang, estimated[lang], rows)


def test_estimate_counts_spaceless_characters_twice(spark):
    from curation.annotate import AnnotateOptions, estimate_languages

    frame = spark.createDataFrame(
        [("a", "u", "一只小狗在草地上奔跑"), ("b", "u", "a small dog runs on the green grass")],
        f"{S.IMAGE_ID} string, {S.URL} string, {S.TEXT} string",
    )
    options = AnnotateOptions(metadata_dir="unused", metadata_languages=frozenset({"en", "zh"}))
    estimate = estimate_languages(frame, options, 2)

    assert estimate.rows == {"zh": 1, "en": 1}
    assert estimate.work_per_row == {"zh": 20.0, "en": float(len("a small dog runs on the green grass"))}


def test_options_reject_empty_plan_sample():
    from curation.annotate import AnnotateOptions

    with pytest.raises(ValueError, match="plan_sample_rows"):
        AnnotateOptions(metadata_dir="unused", metadata_languages=frozenset(), plan_sample_rows=0)
