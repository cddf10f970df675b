"""Language-ID and matching stages: the two steps that run Python on the workers.

Both run on Arrow record batches through ``mapInArrow``. Language ID loads the fastText model
once per Python worker. Before matching, ``plan_match_tasks`` spreads the rows over tasks from
the row count of each language. ``identify_and_match`` runs both stages as one Spark job, with
the row counts estimated by language ID on a hash sample of the rows, so the language-ID output
is never written or kept between the stages. A large language such as English is split into hash buckets of
at most ``rows_per_task`` rows each, and small languages share tasks. So no task gets more than
a bounded share of the rows, the tasks get roughly equal row counts, and a task builds only the
automata of the few languages it gets. A worker keeps the automata for its next tasks, within
the bound of its ``MatcherCache``.
"""

from __future__ import annotations

import logging
import math
import os
from dataclasses import dataclass, replace
from typing import Iterator, Mapping

import pyarrow as pa

from curation import schemas as S
from curation.shipping import local_path

logger = logging.getLogger(__name__)

_LID_DDL = f"{S.IMAGE_ID} string, {S.URL} string, {S.TEXT} string, {S.LANG} string, {S.LID_LABEL} string, {S.LID_SCORE} float"


@dataclass(frozen=True)
class AnnotateOptions:
    """Options of the language-ID and matching stages: model locations and task sizes.

    A matching task gets about total work / partitions, and about ``max_task_rows`` rows at
    most, as estimated. One million rows take minutes on one core at a few thousand rows per
    second, so a task that fails and reruns costs little. ``automaton_cache_entries`` bounds the
    entries a Python worker keeps in automata, and small languages share a task only while their
    entries fit in it. ``plan_sample_rows`` is about how many rows language ID labels a second
    time to estimate each language's rows and work for the plan.
    """

    metadata_dir: str
    metadata_languages: frozenset[str]
    lid_model: str | None = None
    automaton_cache_entries: int = 2_000_000
    max_task_rows: int | None = 1_000_000
    plan_sample_rows: int = 20_000
    ignore_case: bool = False
    kill_worker_marker: str | None = None

    def __post_init__(self) -> None:
        if self.plan_sample_rows < 1:
            raise ValueError(f"plan_sample_rows must be at least 1, got {self.plan_sample_rows}")


def identify_languages(prepared, options: AnnotateOptions):
    """Add ``lang``, ``lid_label`` and ``lid_score`` to the prepared rows."""
    lid_model = options.lid_model
    languages = options.metadata_languages

    def identify_batches(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        from curation.lid import get_identifier

        identifier = get_identifier(local_path(lid_model) if lid_model else None)
        for batch in batches:
            texts = batch.column(S.TEXT).to_pylist()
            result = identifier.identify(texts, languages)
            yield pa.RecordBatch.from_arrays(
                [
                    batch.column(S.IMAGE_ID),
                    batch.column(S.URL),
                    batch.column(S.TEXT),
                    pa.array(result.languages, pa.string()),
                    pa.array(result.labels, pa.string()),
                    pa.array(result.scores, pa.float32()),
                ],
                names=[S.IMAGE_ID, S.URL, S.TEXT, S.LANG, S.LID_LABEL, S.LID_SCORE],
            )

    return prepared.select(S.IMAGE_ID, S.URL, S.TEXT).mapInArrow(identify_batches, _LID_DDL)


_matcher_caches: dict[tuple, object] = {}


def _matcher_cache(metadata_dir: str, languages: frozenset[str], max_entries: int, ignore_case: bool = False):
    """Return this worker's automaton cache for ``metadata_dir``, created on first use.

    The cache is keyed by the manifest's size and modification time too, so metadata rebuilt
    at the same path while a worker lives gets new automata, never stale entry ids.
    """
    from curation.matching import MatcherCache
    from metadata.store import load_language_entries

    def load_entries(lang: str) -> list[str]:
        # A language the metadata lacks, such as an absent `other` bucket, matches nothing.
        return load_language_entries(metadata_dir, lang).entries if lang in languages else []

    from metadata.store import MANIFEST_NAME

    manifest = os.stat(os.path.join(metadata_dir, MANIFEST_NAME))
    key = (metadata_dir, manifest.st_size, manifest.st_mtime_ns, ignore_case)
    cache = _matcher_caches.get(key)
    if cache is None:
        # Automata of an older build of this directory are dropped with their cache.
        for stale in [item for item in _matcher_caches if item[0] == metadata_dir and item[3] == ignore_case]:
            del _matcher_caches[stale]
        cache = MatcherCache(load_entries, max_entries, ignore_case=ignore_case)
        _matcher_caches[key] = cache
    return cache


# Planning: how many hash buckets each language gets and which task each bucket goes to.


@dataclass(frozen=True)
class LanguageTasks:
    """The matching tasks of one language: buckets ``0 .. buckets - 1`` go to tasks ``first_task ..``."""

    lang: str
    rows: int
    first_task: int
    buckets: int


@dataclass(frozen=True)
class MatchPlan:
    """The assignment of every (language, hash bucket) to a matching task.

    ``rows_per_task`` is the maximum number of rows the plan gives a task.
    """

    tasks: int
    rows_per_task: int
    languages: tuple[LanguageTasks, ...]

    def expected_task_rows(self) -> list[int]:
        """Return the rows each task gets if every bucket of a language is equally full."""
        rows = [0] * self.tasks
        for item in self.languages:
            for bucket in range(item.buckets):
                # Bucket b of a language gets rows // buckets rows, plus one for the remainder.
                extra = 1 if bucket < item.rows % item.buckets else 0
                rows[item.first_task + bucket] += item.rows // item.buckets + extra
        return rows

    def task_languages(self) -> list[list[str]]:
        """Return the languages of each task."""
        languages: list[list[str]] = [[] for _ in range(self.tasks)]
        for item in self.languages:
            for bucket in range(item.buckets):
                languages[item.first_task + bucket].append(item.lang)
        return languages


def plan_match_tasks(
    language_rows: Mapping[str, int],
    target_tasks: int,
    max_task_rows: int | None = None,
    language_entries: Mapping[str, int] | None = None,
    max_task_entries: int | None = None,
    language_work: Mapping[str, float] | None = None,
) -> MatchPlan:
    """Plan the matching tasks from the row count of each language.

    Each language has an amount of work: its rows times ``language_work[lang]``, the mean work
    of one of its rows (1 without ``language_work``, the mean over the other languages for a
    language it lacks). A task gets about total work / ``target_tasks``, and at
    most ``max_task_rows`` rows. A language with more work or rows than that is split into as
    many hash buckets as needed, one task each. Smaller languages are packed into shared tasks,
    the most work first (first-fit decreasing), while their work, rows and metadata entries
    (``max_task_entries``) fit. The plan depends only on its arguments, so a rerun on the same
    input plans the same tasks.
    """
    if target_tasks < 1:
        raise ValueError(f"target_tasks must be at least 1, got {target_tasks}")
    if max_task_rows is not None and max_task_rows < 1:
        raise ValueError(f"max_task_rows must be at least 1, got {max_task_rows}")
    negative = {lang: rows for lang, rows in language_rows.items() if rows < 0}
    if negative:
        raise ValueError(f"row counts must not be negative: {negative}")

    entries = language_entries or {}
    per_row = language_work or {}
    # A language without an estimate of its work gets the mean of the others.
    default_work = sum(per_row.values()) / len(per_row) if per_row else 1.0
    work = {lang: rows * max(per_row.get(lang, default_work), 1e-9) for lang, rows in language_rows.items()}
    total_rows = sum(language_rows.values())
    if language_work is None:
        # Work is rows, so the share of a task is a whole number of rows.
        work_per_task = float(max(1, math.ceil(total_rows / target_tasks)))
        if max_task_rows is not None:
            work_per_task = min(work_per_task, max_task_rows)
    else:
        work_per_task = max(sum(work.values()) / target_tasks, 1e-9)
    row_bound = max_task_rows if max_task_rows is not None else math.inf

    ordered = sorted(language_rows, key=lambda lang: (-work[lang], lang))
    planned: list[LanguageTasks] = []
    next_task = 0

    # Large languages: their own tasks, one per hash bucket.
    small: list[str] = []
    for lang in ordered:
        rows = language_rows[lang]
        if work[lang] <= work_per_task and rows <= row_bound:
            small.append(lang)
            continue
        buckets = max(math.ceil(work[lang] / work_per_task), math.ceil(rows / row_bound))
        planned.append(LanguageTasks(lang=lang, rows=rows, first_task=next_task, buckets=buckets))
        next_task += buckets

    # Small languages: first-fit decreasing into shared tasks.
    shared: list[list[float]] = []  # work, rows and entries of each shared task
    for lang in small:
        rows = language_rows[lang]
        lang_entries = entries.get(lang, 0)
        slot = None
        for index, (used_work, used_rows, used_entries) in enumerate(shared):
            fits = used_work + work[lang] <= work_per_task * (1 + 1e-9) and used_rows + rows <= row_bound
            fits_entries = max_task_entries is None or used_entries + lang_entries <= max_task_entries
            if fits and fits_entries:
                slot = index
                break
        if slot is None:
            shared.append([0.0, 0, 0])
            slot = len(shared) - 1
        shared[slot][0] += work[lang]
        shared[slot][1] += rows
        shared[slot][2] += lang_entries
        planned.append(LanguageTasks(lang=lang, rows=rows, first_task=next_task + slot, buckets=1))

    tasks = max(1, next_task + len(shared))
    ordered_plan = tuple(sorted(planned, key=lambda item: (item.first_task, item.lang)))
    plan = MatchPlan(tasks=tasks, rows_per_task=int(work_per_task), languages=ordered_plan)
    if language_work is not None:
        # Work is not rows here, so the row bound is what the plan actually gives its largest task.
        plan = replace(plan, rows_per_task=max(plan.expected_task_rows()))
    return plan


def count_language_rows(identified) -> dict[str, int]:
    """Return the number of rows of each language; only one row per language reaches the driver."""
    return {row[S.LANG]: row["count"] for row in identified.groupBy(S.LANG).count().collect()}


# A row is in the planning sample when its hash modulo this number is below fraction * number.
_SAMPLE_SPACE = 1 << 40

# Characters of the scripts that match without word boundaries, in Java's regular expressions.
_SPACELESS_CHARACTERS = (
    r"\p{IsHan}\p{IsHiragana}\p{IsKatakana}\p{IsHangul}\p{IsThai}\p{IsLao}\p{IsMyanmar}\p{IsKhmer}\p{IsTibetan}"
)


@dataclass(frozen=True)
class LanguageEstimate:
    """Estimated rows of each language and the mean matching work of one of its rows.

    The work of a row is its characters, with a character of a spaceless script counted twice:
    there the automaton finds an entry at almost every character. Measured on resampled
    captions, this work costs 0.6 to 0.8 µs per unit in every caption language, while the cost
    per row differs threefold between Chinese and Indonesian.
    """

    rows: dict[str, int]
    work_per_row: dict[str, float]


def estimate_languages(prepared, options: AnnotateOptions, total_rows: int) -> LanguageEstimate:
    """Estimate each language's rows and work per row from language ID on a hash sample of ``prepared``.

    The sample has about ``options.plan_sample_rows`` rows, chosen by a hash of image id and
    text, so the estimate is the same for any partitioning and on a rerun. Only the text of the
    sampled rows goes to the Python workers. With ``total_rows`` at most the sample size, every
    row is labelled and the row counts are exact. A language with rows in the sample gets at least
    one row, and a language outside the sample is left to ``assign_match_tasks``.
    """
    from pyspark.sql import functions as F

    if total_rows <= 0:
        return LanguageEstimate(rows={}, work_per_row={})
    fraction = min(1.0, options.plan_sample_rows / total_rows)
    sample = prepared.select(S.IMAGE_ID, S.TEXT)
    if fraction < 1.0:
        threshold = int(fraction * _SAMPLE_SPACE)
        sample = sample.where(F.pmod(F.xxhash64(S.IMAGE_ID, S.TEXT), F.lit(_SAMPLE_SPACE)) < threshold)
    spaceless = F.length(F.regexp_replace(S.TEXT, f"[^{_SPACELESS_CHARACTERS}]", ""))
    sample = sample.select(S.TEXT, (F.length(S.TEXT) + spaceless).cast("double").alias("_work"))

    lid_model = options.lid_model
    languages = options.metadata_languages

    def languages_of_batches(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        from curation.lid import get_identifier

        identifier = get_identifier(local_path(lid_model) if lid_model else None)
        for batch in batches:
            result = identifier.identify(batch.column(S.TEXT).to_pylist(), languages)
            yield pa.RecordBatch.from_arrays(
                [pa.array(result.languages, pa.string()), batch.column("_work")], names=[S.LANG, "_work"]
            )

    labelled = sample.mapInArrow(languages_of_batches, f"{S.LANG} string, _work double")
    counts = labelled.groupBy(S.LANG).agg(F.count("*").alias("rows"), F.avg("_work").alias("work")).collect()
    sampled = sum(row["rows"] for row in counts)
    work_per_row = {row[S.LANG]: float(row["work"] or 0.0) for row in counts}
    if fraction >= 1.0:
        return LanguageEstimate(rows={row[S.LANG]: row["rows"] for row in counts}, work_per_row=work_per_row)
    if sampled == 0:
        # The hash sample came out empty, so count the languages of every row instead.
        logger.warning("the planning sample of %d rows has no row, counting the languages of all rows", total_rows)
        return LanguageEstimate(rows=count_language_rows(identify_languages(prepared, options)), work_per_row={})

    scale = total_rows / sampled
    logger.info("estimated language rows from %d sampled of %d rows", sampled, total_rows)
    rows = {row[S.LANG]: max(1, round(row["rows"] * scale)) for row in counts}
    return LanguageEstimate(rows=rows, work_per_row=work_per_row)


def metadata_entry_counts(metadata_dir: str) -> dict[str, int]:
    """Return the number of entries of each language, read from the metadata manifest."""
    from metadata.store import read_manifest

    return {lang: item["entries"] for lang, item in read_manifest(metadata_dir)["languages"].items()}


_MASK32 = 0xFFFFFFFF


def _rotate_left32(value: int, bits: int) -> int:
    return ((value << bits) | (value >> (32 - bits))) & _MASK32


def spark_hash_int(value: int, seed: int = 42) -> int:
    """Return Spark's Murmur3 hash of a 32-bit int column, as ``pyspark.sql.functions.hash`` computes it."""
    k1 = (value & _MASK32) * 0xCC9E2D51 & _MASK32
    k1 = _rotate_left32(k1, 15) * 0x1B873593 & _MASK32
    h1 = (seed & _MASK32) ^ k1
    h1 = (_rotate_left32(h1, 13) * 5 + 0xE6546B64) & _MASK32
    h1 ^= 4
    h1 ^= h1 >> 16
    h1 = h1 * 0x85EBCA6B & _MASK32
    h1 ^= h1 >> 13
    h1 = h1 * 0xC2B2AE35 & _MASK32
    h1 ^= h1 >> 16
    return h1 - (1 << 32) if h1 & 0x80000000 else h1


def partition_keys(partitions: int) -> list[int]:
    """Return, for each partition p, an int key that Spark's hash partitioning sends to p.

    ``repartition(n, column)`` places a row in partition ``pmod(hash(column), n)``, with the
    Murmur3 hash (seed 42) of ``spark_hash_int``. So giving the rows of task p the key ``keys[p]``
    makes each planned task exactly one partition. A test checks this against Spark itself.
    """
    keys: list[int | None] = [None] * partitions
    missing = partitions
    candidate = 0
    while missing:
        partition = spark_hash_int(candidate) % partitions
        if keys[partition] is None:
            keys[partition] = candidate
            missing -= 1
        candidate += 1
    return [key for key in keys if key is not None]


def assign_match_tasks(identified, plan: MatchPlan):
    """Repartition ``identified`` into the plan's tasks, each sorted by language.

    The plan may lack a language that a planning sample missed. A row of such a language goes to
    a task chosen by a hash of its language, image id and text, so no row is dropped and no task
    gets all rows of the language. The helper columns are removed again, so the result has the columns of
    ``identified``.
    """
    from pyspark.sql import functions as F

    spark = identified.sparkSession
    columns = identified.columns
    language_table = spark.createDataFrame(
        [(item.lang, item.first_task, item.buckets) for item in plan.languages],
        f"{S.LANG} string, _first_task int, _buckets int",
    )
    key_table = spark.createDataFrame(list(enumerate(partition_keys(plan.tasks))), "_task int, _key int")

    bucket = F.pmod(F.xxhash64(S.IMAGE_ID, S.TEXT), F.col("_buckets"))
    unplanned_task = F.pmod(F.xxhash64(S.LANG, S.IMAGE_ID, S.TEXT), F.lit(plan.tasks)).cast("int")
    task = F.coalesce((F.col("_first_task") + bucket).cast("int"), unplanned_task)
    with_task = identified.join(F.broadcast(language_table), on=S.LANG, how="left").withColumn("_task", task)
    with_key = with_task.join(F.broadcast(key_table), on="_task", how="left")
    return with_key.repartition(plan.tasks, F.col("_key")).sortWithinPartitions(S.LANG).select(*columns)


# Matching on the workers.


def match_record_batches(
    batches: Iterator[pa.RecordBatch],
    metadata_dir: str,
    languages: frozenset[str],
    max_entries: int,
    kill_marker: str | None = None,
    ignore_case: bool = False,
) -> Iterator[pa.RecordBatch]:
    """Add ``entry_ids`` to annotated record batches whose rows are sorted by language."""
    from curation.faults import maybe_kill_worker

    cache = _matcher_cache(local_path(metadata_dir), languages, max_entries, ignore_case)
    for batch in batches:
        maybe_kill_worker(kill_marker)
        langs = batch.column(S.LANG).to_pylist()
        texts = batch.column(S.TEXT).to_pylist()
        entry_ids: list[list[int]] = []
        current_lang = None
        matcher = None
        for lang, text in zip(langs, texts):
            # Rows arrive sorted by language, so the cache is consulted once per run of a language.
            if lang != current_lang or matcher is None:
                matcher = cache.get(lang)
                current_lang = lang
            entry_ids.append(matcher.match(text))
        yield pa.RecordBatch.from_arrays(
            [
                batch.column(S.IMAGE_ID),
                batch.column(S.URL),
                batch.column(S.TEXT),
                batch.column(S.LANG),
                batch.column(S.LID_LABEL),
                batch.column(S.LID_SCORE),
                pa.array(entry_ids, pa.list_(pa.int32())),
            ],
            names=[S.IMAGE_ID, S.URL, S.TEXT, S.LANG, S.LID_LABEL, S.LID_SCORE, S.ENTRY_IDS],
        )


def plan_for(
    identified,
    options: AnnotateOptions,
    partitions: int,
    language_rows: Mapping[str, int],
    language_work: Mapping[str, float] | None = None,
) -> MatchPlan:
    """Plan the matching tasks of ``identified`` from its language row counts and the metadata."""
    plan = plan_match_tasks(
        language_rows,
        target_tasks=partitions,
        max_task_rows=options.max_task_rows,
        language_entries=metadata_entry_counts(options.metadata_dir),
        max_task_entries=options.automaton_cache_entries,
        language_work=language_work,
    )
    logger.info(
        "matching plan: %d tasks of at most %d rows for %d languages", plan.tasks, plan.rows_per_task, len(plan.languages)
    )
    return plan


def match_entries(
    identified,
    options: AnnotateOptions,
    partitions: int,
    language_rows: Mapping[str, int] | None = None,
    language_work: Mapping[str, float] | None = None,
):
    """Spread rows over matching tasks by language and add the ids of the entries each text contains.

    ``language_rows`` is the row count of each language in ``identified``, exact or estimated
    (see ``estimate_languages``), and ``language_work`` the mean work of a row of each language.
    They only shape the tasks, never the result. Without ``language_rows``,
    ``identified`` is persisted on the executors' disks and counted first, so language ID still
    runs once.
    """
    if language_rows is None:
        from pyspark import StorageLevel

        # NOTE: the persisted rows stay on the executors' disks until the session ends or the
        # caller unpersists the DataFrame it passed in.
        identified = identified.persist(StorageLevel.DISK_ONLY)
        language_rows = count_language_rows(identified)

    plan = plan_for(identified, options, partitions, language_rows, language_work)
    metadata_dir = options.metadata_dir
    languages = options.metadata_languages
    max_entries = options.automaton_cache_entries
    kill_marker = options.kill_worker_marker
    ignore_case = options.ignore_case

    def match_batches(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        yield from match_record_batches(batches, metadata_dir, languages, max_entries, kill_marker, ignore_case)

    return assign_match_tasks(identified, plan).mapInArrow(match_batches, S.ANNOTATED_DDL)


def identify_and_match(prepared, options: AnnotateOptions, partitions: int, total_rows: int | None = None):
    """Identify the language of each prepared row and add the ids of the entries its text contains.

    The matching plan comes from ``estimate_languages``, so language ID and matching run as
    one Spark job when the result is written. ``total_rows`` is the row count of ``prepared``;
    it is counted when not given.
    """
    if total_rows is None:
        total_rows = prepared.count()
    estimate = estimate_languages(prepared, options, total_rows)
    identified = identify_languages(prepared, options)
    return match_entries(identified, options, partitions, language_rows=estimate.rows, language_work=estimate.work_per_row)
