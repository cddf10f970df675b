"""Page-view parsing and summing on team-written files in the Wikimedia hourly format."""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import pytest

from metadata.merge import MergeOptions
from metadata.pageviews import parse_pageview_line, sum_pageviews

TEST_DATA = Path(__file__).parent / "data" / "metadata"


@pytest.mark.parametrize(
    "line, expected",
    [
        ("de Berlin 120 0", ("de", "Berlin", 120)),
        ("de.m Brandenburger_Tor 5 0\n", ("de", "Brandenburger Tor", 5)),
        ("en Caf%C3%A9 12 0", ("en", "Café", 12)),
        ("zh-min-nan Tâi-oân 3 0", ("zh-min-nan", "Tâi-oân", 3)),
        ("en File:Example.jpg 20 0", "namespace_title"),
        ("en Talk%3AEarth 8 0", "namespace_title"),
        ("de.b Kochbuch 10 0", "not_wikipedia"),
        ("en.m.d cat 3 0", "not_wikipedia"),
        ("commons.m Main_Page 300 0", "not_wikipedia"),
        ("www.wd Q42 100 0", "not_wikipedia"),
        ("en - 60 0", "empty_title"),
        ("en Broken_line_without_counts", "malformed_line"),
        ("en Paris many 0", "malformed_views"),
    ],
)
def test_parse_pageview_line(line, expected):
    assert parse_pageview_line(line) == expected


@pytest.fixture(scope="module")
def summed(spark, tmp_path_factory):
    folder = tmp_path_factory.mktemp("pageviews")
    # The first hour is read gzip-compressed, as Wikimedia publishes it, the second as plain text.
    with (TEST_DATA / "pageviews-20240101-000000.txt").open("rb") as source:
        with gzip.open(folder / "pageviews-20240101-000000.gz", "wb") as target:
            shutil.copyfileobj(source, target)
    shutil.copy(TEST_DATA / "pageviews-20240101-010000.txt", folder / "pageviews-20240101-010000")
    paths = sorted(str(path) for path in folder.iterdir())
    return sum_pageviews(spark, paths, MergeOptions())


def test_views_summed_over_files_and_mobile(summed):
    german = summed.per_language["de"]
    assert german.distinct == 4
    # 76% of 4 titles is 3 titles.
    assert german.items == [("Berlin", 220.0), ("Brandenburger Tor", 50.0), ("Hamburg", 30.0)]


def test_head_ties_broken_by_code_point(summed):
    english = summed.per_language["en"]
    assert english.distinct == 7
    assert english.items == [
        ("Main Page", 1500.0),
        ("Albert Einstein", 105.0),
        ("New York City", 50.0),
        ("Sun", 45.0),
        ("Earth", 35.0),
    ]


def test_every_line_accounted_for(summed):
    assert summed.skipped == {
        "namespace_title": 4,
        "not_wikipedia": 5,
        "empty_title": 1,
        "malformed_line": 1,
        "malformed_views": 1,
    }
    total_lines = sum(1 for _ in (TEST_DATA / "pageviews-20240101-000000.txt").open()) + sum(
        1 for _ in (TEST_DATA / "pageviews-20240101-010000.txt").open()
    )
    assert summed.statistics["wikipedia_lines"] + sum(summed.skipped.values()) == total_lines


def test_small_languages_present_with_empty_head(summed):
    assert summed.per_language["zh"].items == [("北京", 90.0)]
    assert summed.per_language["simple"].distinct == 1
    assert summed.per_language["simple"].items == []
