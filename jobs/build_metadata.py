"""Build per-language metadata for curation: WordNet, word counts, Wikipedia n-grams, titles.

Run with ``spark-submit jobs/build_metadata.py ...`` or ``python jobs/build_metadata.py ...``.
A build from WordNet and frequency lists alone runs on the driver and starts no Spark session.
The output directory is what ``jobs/curate.py --metadata`` reads.
"""

from __future__ import annotations

import os
import sys

REPOSITORY_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if REPOSITORY_ROOT not in sys.path:
    sys.path.insert(0, REPOSITORY_ROOT)

import argparse  # noqa: E402
import logging  # noqa: E402
import tempfile  # noqa: E402
import zipfile  # noqa: E402

from metadata.build import BuildConfig, NgramOptions, build_metadata  # noqa: E402
from metadata.merge import MergeOptions  # noqa: E402
from metadata.sources import DependencyError, SourceError, parse_source_spec  # noqa: E402

logger = logging.getLogger("build_metadata")

DEFAULTS = MergeOptions()


def _comma_list(value: str) -> list[str]:
    return [item.strip() for item in value.split(",") if item.strip()]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="build_metadata.py",
        description=(
            "Build a metadata directory (entries/<lang>.parquet and manifest.json) from WordNet "
            "lemmas, word-frequency lists, Wikipedia text and Wikimedia page views. Every source "
            "option may be repeated; PATH is a file or a directory of files (.gz and .bz2 are read "
            "decompressed)."
        ),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--output", required=True, help="metadata directory to write (created if missing)")

    sources = parser.add_argument_group("sources")
    sources.add_argument(
        "--wordnet",
        action="append",
        default=[],
        metavar="[ISO639-3=]PATH",
        help=(
            "OMW tab file (synset<TAB>lang:lemma<TAB>lemma) or lemma list (one per line). The "
            "language is the ISO 639-3 code before '=', else the tab file's header, else the file "
            "name (fra.txt, ita_iwn.txt, wn-data-fra.tab); metadata/omw_languages.tsv maps it to a "
            "Wikipedia code. English WordNet: eng=PATH"
        ),
    )
    sources.add_argument(
        "--frequency",
        action="append",
        default=[],
        metavar="[LANG=]PATH",
        help="word<TAB>count or word<TAB>zipf file(s) named <lang>.tsv; used as a unigram list",
    )
    sources.add_argument(
        "--wordfreq-languages",
        type=_comma_list,
        default=[],
        metavar="LANG,LANG",
        help="languages whose lists bundled with the wordfreq package are used as unigram lists (no download)",
    )
    sources.add_argument(
        "--wordfreq-top",
        type=int,
        default=None,
        metavar="N",
        help="read at most N words (the most frequent) of each wordfreq list; default: the whole list",
    )
    sources.add_argument(
        "--wikipedia",
        action="append",
        default=[],
        metavar="LANG=PATH",
        help="Wikipedia text of language LANG: wikiextractor JSON lines (id, url, title, text) or plain text",
    )
    sources.add_argument(
        "--pageviews",
        action="append",
        default=[],
        metavar="PATH",
        help="Wikimedia hourly page-view file(s) (domain_code page_title count_views total_response_size, gzip)",
    )
    sources.add_argument(
        "--english-entries",
        default=None,
        metavar="PATH",
        help="JSON list of strings used as the English entries instead of the English sources (e.g. MetaCLIP 1's 500k list)",
    )
    sources.add_argument(
        "--languages",
        type=_comma_list,
        default=None,
        metavar="LANG,LANG",
        help="build only these metadata languages (Wikipedia codes); default: every language with a source",
    )

    rules = parser.add_argument_group("selection rules (per language)")
    rules.add_argument("--max-numeral", type=int, default=DEFAULTS.max_numeral, help="numerals 0..N are entries; -1 for none")
    rules.add_argument("--unigram-max", type=int, default=DEFAULTS.unigram_max, help="maximum unigrams per list (entries)")
    rules.add_argument(
        "--unigram-fraction",
        type=float,
        default=DEFAULTS.unigram_fraction,
        help="fraction of a list's distinct unigrams kept, before --unigram-max",
    )
    rules.add_argument("--bigram-min-pmi", type=float, default=DEFAULTS.bigram_min_pmi, help="keep bigrams with PMI above this (ratio, not log)")
    rules.add_argument("--bigram-max", type=int, default=DEFAULTS.bigram_max, help="maximum bigrams per language (entries)")
    rules.add_argument(
        "--bigram-min-count",
        type=int,
        default=NgramOptions.bigram_min_count,
        help="bigrams seen fewer times than this are not scored (occurrences)",
    )
    rules.add_argument("--title-max", type=int, default=DEFAULTS.title_max, help="maximum titles per language (entries)")
    rules.add_argument(
        "--title-fraction", type=float, default=DEFAULTS.title_fraction, help="fraction of a language's titles kept, before --title-max"
    )
    rules.add_argument("--max-entry-chars", type=int, default=DEFAULTS.max_entry_chars, help="longer entries are dropped (characters)")
    rules.add_argument(
        "--text-format",
        choices=("auto", "json", "text"),
        default=NgramOptions.text_format,
        help="Wikipedia file format; auto reads lines starting with '{' as wikiextractor JSON",
    )

    spark = parser.add_argument_group("Spark")
    spark.add_argument("--master", default="local[*]", help="Spark master; ignored under spark-submit, which sets its own")
    spark.add_argument("--shuffle-partitions", type=int, default=None, help="spark.sql.shuffle.partitions; default: Spark's")
    parser.add_argument("--log-level", default="INFO", choices=("DEBUG", "INFO", "WARNING", "ERROR"), help="logging level")
    return parser


def config_from_arguments(arguments: argparse.Namespace) -> BuildConfig:
    """Return the build described by the command line; raise ValueError for an invalid value."""
    if arguments.wordfreq_top is not None and arguments.wordfreq_top < 1:
        raise ValueError(f"--wordfreq-top must be 1 or more, got {arguments.wordfreq_top}")
    if arguments.bigram_min_count < 1:
        raise ValueError(f"--bigram-min-count must be 1 or more, got {arguments.bigram_min_count}")
    merge_options = MergeOptions(
        max_numeral=arguments.max_numeral,
        unigram_max=arguments.unigram_max,
        unigram_fraction=arguments.unigram_fraction,
        bigram_min_pmi=arguments.bigram_min_pmi,
        bigram_max=arguments.bigram_max,
        title_max=arguments.title_max,
        title_fraction=arguments.title_fraction,
        max_entry_chars=arguments.max_entry_chars,
    )
    return BuildConfig(
        output=arguments.output,
        wordnet=[parse_source_spec(item) for item in arguments.wordnet],
        frequency=[parse_source_spec(item) for item in arguments.frequency],
        wordfreq_languages=arguments.wordfreq_languages,
        wordfreq_top=arguments.wordfreq_top,
        wikipedia=[parse_source_spec(item) for item in arguments.wikipedia],
        pageviews=arguments.pageviews,
        english_entries=arguments.english_entries,
        languages=arguments.languages,
        merge_options=merge_options,
        ngram_options=NgramOptions(bigram_min_count=arguments.bigram_min_count, text_format=arguments.text_format),
    )


def ship_metadata_package(session, directory: str) -> None:
    """Zip the ``metadata`` package into ``directory`` and add it to the executors' Python path.

    The executors run the tokenizer and the page-view parser, so they import ``metadata`` even
    when the job runs from another working directory or on a cluster without the project.
    """
    package = os.path.join(REPOSITORY_ROOT, "metadata")
    archive = os.path.join(directory, "metadata.zip")
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as handle:
        for name in sorted(os.listdir(package)):
            if name.endswith((".py", ".tsv")):
                handle.write(os.path.join(package, name), arcname=f"metadata/{name}")
        # zipimport finds no namespace packages, so the archive needs an __init__.py of its own.
        if not os.path.isfile(os.path.join(package, "__init__.py")):
            handle.writestr("metadata/__init__.py", "")
    session.sparkContext.addPyFile(archive)


def _under_spark_submit() -> bool:
    return "SPARK_SUBMIT_OPTS" in os.environ or os.environ.get("SPARK_ENV_LOADED") == "1"


def main(argv: list[str] | None = None) -> int:
    arguments = build_parser().parse_args(argv)
    logging.basicConfig(level=arguments.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    try:
        config = config_from_arguments(arguments)
    except ValueError as error:
        print(f"build_metadata.py: error: {error}", file=sys.stderr)
        return 2
    if not config.requested_kinds() and config.english_entries is None:
        print("build_metadata.py: error: no source given; pass --wordnet, --frequency, --wordfreq-languages, --wikipedia or --pageviews", file=sys.stderr)
        return 2

    sessions = []
    scratch = tempfile.TemporaryDirectory(prefix="build-metadata-")

    def spark_factory():
        from curation.spark_session import create_spark_session

        master = None if _under_spark_submit() else arguments.master
        session = create_spark_session(
            master=master, app_name="worldclip-build-metadata", shuffle_partitions=arguments.shuffle_partitions
        )
        sessions.append(session)
        ship_metadata_package(session, scratch.name)
        return session

    try:
        manifest = build_metadata(config, spark_factory=spark_factory)
    except (SourceError, DependencyError) as error:
        print(f"build_metadata.py: error: {error}", file=sys.stderr)
        return 2
    finally:
        for session in sessions:
            session.stop()
        scratch.cleanup()

    total = sum(item["entries"] for item in manifest["languages"].values())
    logger.info("built %d entries in %d languages: %s", total, len(manifest["languages"]), config.output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
