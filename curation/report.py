"""The run report: one self-contained ``report.html`` drawn from a curation run's output files.

The report reads only what the job wrote (``stats.json``, ``thresholds.json``, ``entry_counts/``
and ``curated/``) with pyarrow, so it runs without Spark, at the end of a run or later on any
existing output directory::

    python -m curation.report OUTPUT_DIR

Plots are PNG images embedded as base64 data URIs, so the file opens offline and can be mailed.
"""

from __future__ import annotations

import argparse
import base64
import html
import json
import logging
import sys
from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
from pyarrow import fs

from curation import schemas as S
from curation.outputs import SUCCESS_MARKER, _filesystem

logger = logging.getLogger(__name__)

REPORT_NAME = "report.html"
TOP_ENTRIES = 10
# Above this many curated rows the report estimates the counts after balancing instead of
# counting the curated shards on one machine.
DEFAULT_MAX_CURATED_ROWS = 20_000_000
# Languages with the most texts that the per-language plots show; the tables list every language.
MAX_PLOTTED_LANGUAGES = 24
# Per-language stages of stats.json and the label each gets in the report.
LANGUAGE_STAGES = {"lid": "after language ID", "match": "matched", "sample": "curated"}


class ReportError(ValueError):
    """Raised when an output directory lacks a file the report needs, or a file cannot be read."""


@dataclass
class RunOutputs:
    """The files of one output directory, as the report reads them."""

    output_dir: str
    # Whether _SUCCESS exists; None when it was not checked, because the job writes the report
    # just before the marker.
    complete: bool | None
    stats: dict
    thresholds: dict
    entry_counts: pa.Table
    curated_rows: int
    # Texts per (lang, entry_id) among the curated rows; None when the curated rows were not
    # counted because there are more than the report's limit.
    curated_entry_counts: pa.Table | None


def _join(base: str, name: str) -> str:
    return f"{base.rstrip('/')}/{name}"


def _read_json(filesystem: fs.FileSystem, path: str, display: str) -> dict:
    try:
        with filesystem.open_input_stream(path) as stream:
            return json.loads(stream.read().decode("utf-8"))
    except FileNotFoundError as error:
        raise ReportError(f"{display} not found; the run did not finish, so rerun the curation job") from error
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ReportError(f"{display} is not valid JSON: {error}") from error


def _parquet_dataset(filesystem: fs.FileSystem, path: str, display: str) -> ds.Dataset:
    if filesystem.get_file_info(path).type == fs.FileType.NotFound:
        raise ReportError(f"{display} not found; the run did not finish, so rerun the curation job")
    return ds.dataset(path, filesystem=filesystem, format="parquet")


def count_curated_entries(curated: ds.Dataset) -> pa.Table:
    """Return ``lang, entry_id, count``: how many curated texts contain each entry."""
    partials = []
    for batch in curated.to_batches(columns=[S.LANG, S.ENTRY_IDS]):
        entry_ids = batch.column(S.ENTRY_IDS)
        exploded = pa.table(
            {
                S.LANG: pc.take(batch.column(S.LANG), pc.list_parent_indices(entry_ids)),
                "entry_id": pc.list_flatten(entry_ids),
            }
        )
        partials.append(exploded.group_by([S.LANG, "entry_id"]).aggregate([([], "count_all")]))

    if not partials:
        return pa.table({S.LANG: pa.array([], pa.string()), "entry_id": pa.array([], pa.int32()), "count": pa.array([], pa.int64())})
    merged = pa.concat_tables(partials).group_by([S.LANG, "entry_id"]).aggregate([("count_all", "sum")])
    return merged.rename_columns([S.LANG, "entry_id", "count"]).select([S.LANG, "entry_id", "count"])


def read_outputs(
    output_dir: str,
    max_curated_rows: int = DEFAULT_MAX_CURATED_ROWS,
    check_success_marker: bool = True,
) -> RunOutputs:
    """Read the files of one curation run; raise ReportError when one is missing or invalid."""
    filesystem, root = _filesystem(output_dir)
    if filesystem.get_file_info(root).type != fs.FileType.Directory:
        raise ReportError(f"output directory {output_dir} not found; pass the --output of a curation run")

    stats = _read_json(filesystem, _join(root, "stats.json"), f"{output_dir}/stats.json")
    thresholds = _read_json(filesystem, _join(root, "thresholds.json"), f"{output_dir}/thresholds.json")
    complete = None
    if check_success_marker:
        complete = filesystem.get_file_info(_join(root, SUCCESS_MARKER)).type == fs.FileType.File

    try:
        entry_counts = _parquet_dataset(filesystem, _join(root, "entry_counts"), f"{output_dir}/entry_counts").to_table(
            columns=[S.LANG, "entry_id", "entry", "count", "prob"]
        )
        curated = _parquet_dataset(filesystem, _join(root, "curated"), f"{output_dir}/curated")
        curated_rows = curated.count_rows()
        curated_entry_counts = None
        if curated_rows <= max_curated_rows:
            curated_entry_counts = count_curated_entries(curated)
        else:
            logger.info("curated output has %d rows, over %d: the report estimates the counts after balancing", curated_rows, max_curated_rows)
    except (pa.ArrowInvalid, OSError) as error:
        raise ReportError(f"cannot read the Parquet outputs in {output_dir}: {error}") from error

    return RunOutputs(
        output_dir=output_dir,
        complete=complete,
        stats=stats,
        thresholds=thresholds,
        entry_counts=entry_counts,
        curated_rows=curated_rows,
        curated_entry_counts=curated_entry_counts,
    )


def language_rows(stats: Mapping) -> dict[str, dict[str, int]]:
    """Return, per language, the rows after each per-language stage, keyed by LANGUAGE_STAGES label."""
    rows: dict[str, dict[str, int]] = {}
    for stage in stats.get("stages", []):
        label = LANGUAGE_STAGES.get(stage["stage"])
        if label is None:
            continue
        for lang, counts in stage.get("by_lang", {}).items():
            rows.setdefault(lang, {name: 0 for name in LANGUAGE_STAGES.values()})[label] = counts["rows_out"]
    return rows


def counts_by_language(entry_counts: pa.Table) -> dict[str, np.ndarray]:
    """Return each language's entry counts as an array, from the ``entry_counts`` table."""
    result: dict[str, np.ndarray] = {}
    if entry_counts.num_rows == 0:
        return result
    frame = entry_counts.select([S.LANG, "count"]).to_pandas()
    for lang, group in frame.groupby(S.LANG, sort=True):
        result[str(lang)] = group["count"].to_numpy()
    return result


def top_entries_by_language(table: pa.Table, limit: int = TOP_ENTRIES) -> dict[str, list[dict]]:
    """Return, per language, the ``limit`` rows with the largest ``count``, ties broken by entry id.

    ``table`` has the columns ``lang``, ``entry_id`` and ``count``, and any others are kept. One
    sort covers every language, so the cost does not grow with the number of languages.
    """
    if table.num_rows == 0:
        return {}
    ordered = table.sort_by([(S.LANG, "ascending"), ("count", "descending"), ("entry_id", "ascending")])
    frame = ordered.to_pandas().groupby(S.LANG, sort=True).head(limit)
    return {str(lang): group.to_dict("records") for lang, group in frame.groupby(S.LANG, sort=True)}


def expected_curated_counts(entry_counts: pa.Table) -> pa.Table:
    """Return ``lang, entry_id, count`` with count = count * prob = min(count, t_lang) in expectation."""
    expected = pc.multiply(entry_counts.column("count").cast(pa.float64()), entry_counts.column("prob"))
    return pa.table({S.LANG: entry_counts.column(S.LANG), "entry_id": entry_counts.column("entry_id"), "count": expected})


# --- HTML -----------------------------------------------------------------------------------

_STYLE = """
body { font-family: -apple-system, "Segoe UI", Roboto, "Noto Sans", "Noto Sans CJK SC", sans-serif;
       margin: 2em auto; max-width: 1100px; color: #1b1b1b; line-height: 1.4; padding: 0 1em; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; }
h2 { font-size: 1.25em; border-bottom: 1px solid #ddd; padding-bottom: 0.2em; margin-top: 2em; }
p.note { color: #555; font-size: 0.92em; }
p.warning { background: #fff3cd; border: 1px solid #e0c36b; padding: 0.5em 0.8em; }
table { border-collapse: collapse; margin: 0.6em 0; font-size: 0.9em; }
th, td { border: 1px solid #ddd; padding: 0.25em 0.6em; text-align: left; vertical-align: top; }
td.number, th.number { text-align: right; font-variant-numeric: tabular-nums; }
th { background: #f3f6fa; }
img { max-width: 100%; height: auto; display: block; margin: 0.6em 0; }
details { margin: 0.3em 0; }
summary { cursor: pointer; font-weight: 600; }
.pair { display: flex; gap: 1.5em; flex-wrap: wrap; }
"""


def _text(value: object) -> str:
    return html.escape(str(value))


def _number(value: float | int) -> str:
    if isinstance(value, (int, np.integer)):
        return f"{int(value):,}"
    return f"{float(value):,.4g}"


def _table(headers: Sequence[str], rows: Sequence[Sequence[object]], numeric: Sequence[bool]) -> str:
    head = "".join(f'<th class="number">{_text(name)}</th>' if is_number else f"<th>{_text(name)}</th>" for name, is_number in zip(headers, numeric))
    body = []
    for row in rows:
        cells = []
        for value, is_number in zip(row, numeric):
            if is_number and isinstance(value, (int, float, np.integer, np.floating)):
                cells.append(f'<td class="number">{_number(value)}</td>')
            else:
                cells.append(f"<td>{_text(value)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _image(png: bytes, alt: str) -> str:
    encoded = base64.b64encode(png).decode("ascii")
    return f'<img alt="{_text(alt)}" src="data:image/png;base64,{encoded}">'


def _summary_section(outputs: RunOutputs) -> str:
    stats = outputs.stats
    rows_in = stats.get("rows_in", 0)
    rows_out = stats.get("rows_out", 0)
    share = f" ({rows_out / rows_in:.2%} of the input)" if rows_in else ""
    parts = [f"<h1>Curation run report</h1><p>Output directory: <code>{_text(outputs.output_dir)}</code></p>"]
    if outputs.complete is False:
        parts.append(
            f'<p class="warning">{SUCCESS_MARKER} is missing: the run did not finish, so these files may be partial.</p>'
        )
    facts = [
        ("rows in", _number(rows_in)),
        ("curated rows", _number(rows_out) + share),
        ("languages with curated rows", _number(sum(1 for counts in language_rows(stats).values() if counts["curated"] > 0))),
        ("reference language and t_en", f"{_text(outputs.thresholds.get('reference_lang', 'en'))}, {_number(outputs.thresholds.get('t_en', 0))}"),
    ]
    if "seconds" in stats:
        facts.append(("run time", f"{stats['seconds']:,.1f} s"))
    parts.append("<table><tbody>" + "".join(f"<tr><th>{name}</th><td>{value}</td></tr>" for name, value in facts) + "</tbody></table>")
    return "".join(parts)


def _stages_section(outputs: RunOutputs) -> str:
    stages = outputs.stats.get("stages", [])
    rows = []
    for stage in stages:
        reasons = [f"{reason} {count:,}" for reason, count in stage.get("dropped", {}).items() if count]
        dropped = ", ".join(reasons) or "-"
        rows.append([stage["stage"], stage["rows_in"], stage["rows_out"], sum(stage.get("dropped", {}).values()), dropped])
    parts = [
        "<h2>Rows in and out per stage</h2>",
        '<p class="note">Every row that enters a stage leaves it kept or dropped with a reason, so rows in = rows out + dropped.</p>',
        _table(["stage", "rows in", "rows out", "dropped", "dropped by reason"], rows, [False, True, True, True, False]),
    ]
    if stages:
        from curation.report_plots import plot_stage_funnel

        parts.append(_image(plot_stage_funnel(stages), "rows passed on by each stage"))
    return "".join(parts)


def _languages_section(outputs: RunOutputs) -> str:
    by_language = language_rows(outputs.stats)
    if not by_language:
        return "<h2>Rows per language</h2><p>No text reached language ID.</p>"
    languages = sorted(by_language, key=lambda lang: (-by_language[lang]["after language ID"], lang))
    plotted = languages[:MAX_PLOTTED_LANGUAGES]
    series = {label: [by_language[lang][label] for lang in plotted] for label in LANGUAGE_STAGES.values()}

    from curation.report_plots import plot_rows_by_language

    rows = []
    for lang in languages:
        counts = by_language[lang]
        rows.append([lang, *[counts[label] for label in LANGUAGE_STAGES.values()]])
    parts = [
        "<h2>Rows per language</h2>",
        '<p class="note">Texts per language after language ID, after matching (at least one metadata entry found) '
        "and after sampling (one text per image, kept with its keep probability). The axis is logarithmic.</p>",
        _image(plot_rows_by_language(plotted, series), "rows per language and stage"),
    ]
    if len(languages) > len(plotted):
        parts.append(f'<p class="note">The plot shows the {len(plotted)} languages with the most texts; the table lists all {len(languages)}.</p>')
    parts.append(_table(["language", *LANGUAGE_STAGES.values()], rows, [False, True, True, True]))
    return "".join(parts)


def _thresholds_section(outputs: RunOutputs) -> str:
    items = outputs.thresholds.get("languages", [])
    parts = ["<h2>Thresholds</h2>"]
    if not items:
        parts.append("<p>No language has matched texts, so no threshold was computed.</p>")
        return "".join(parts)

    curated = {lang: counts["curated"] for lang, counts in language_rows(outputs.stats).items()}
    matched = {lang: counts["matched"] for lang, counts in language_rows(outputs.stats).items()}
    rows = [
        [
            item["lang"],
            float(item["t"]),
            float(item["p"]),
            float(item["tail_share"]),
            int(item["entries"]),
            int(item["matches"]),
            matched.get(item["lang"], 0),
            curated.get(item["lang"], 0),
        ]
        for item in items
    ]
    parts.append(
        '<p class="note">t_lang is the count at which the language\'s cumulative share of sorted entry counts '
        "comes closest to p, English's share of matches on entries below t_en. The tail share column is that "
        "cumulative share. Entries are the matched entries; matches are (text, entry) pairs.</p>"
    )
    parts.append(
        _table(
            ["language", "t_lang", "p", "tail share", "entries", "matches", "matched texts", "curated texts"],
            rows,
            [False, True, True, True, True, True, True, True],
        )
    )
    return "".join(parts)


def _entry_counts_section(outputs: RunOutputs) -> str:
    counts = counts_by_language(outputs.entry_counts)
    parts = ["<h2>Entry counts by rank</h2>"]
    if not counts:
        parts.append("<p>No entry was matched.</p>")
        return "".join(parts)

    plotted = sorted(counts, key=lambda lang: (-int(counts[lang].sum()), lang))[:MAX_PLOTTED_LANGUAGES]
    thresholds = {item["lang"]: float(item["t"]) for item in outputs.thresholds.get("languages", [])}

    from curation.report_plots import plot_entry_counts_by_rank

    parts.append(
        '<p class="note">Texts per matched entry, largest first, on log-log axes. The dashed line is t_lang; '
        "each entry above it keeps each of its matches with probability t_lang / count, so the shaded area is "
        "what balancing removes in expectation.</p>"
    )
    parts.append(_image(plot_entry_counts_by_rank({lang: counts[lang] for lang in plotted}, thresholds), "entry counts by rank"))
    if len(counts) > len(plotted):
        omitted = sorted(set(counts) - set(plotted))
        parts.append(f'<p class="note">Not plotted ({len(omitted)} languages with fewer matches): {_text(", ".join(omitted))}.</p>')
    return "".join(parts)


def _top_entries_section(outputs: RunOutputs) -> str:
    parts = [f"<h2>Top {TOP_ENTRIES} entries per language, before and after balancing</h2>"]
    if outputs.entry_counts.num_rows == 0:
        parts.append("<p>No entry was matched.</p>")
        return "".join(parts)

    if outputs.curated_entry_counts is not None:
        after = outputs.curated_entry_counts
        after_label = "curated texts"
        parts.append('<p class="note">Before: matched texts per entry. After: curated texts per entry, counted in curated/.</p>')
    else:
        after = expected_curated_counts(outputs.entry_counts)
        after_label = "estimated texts"
        parts.append(
            f'<p class="note">Before: matched texts per entry. After: an estimate, min(count, t_lang), because '
            f"curated/ has {outputs.curated_rows:,} rows, more than the report counts. The estimate leaves out "
            "texts kept for another of their entries and the choice of one text per image.</p>"
        )

    before = top_entries_by_language(outputs.entry_counts)
    after_top = top_entries_by_language(after)
    entry_names = {
        (lang, row["entry_id"]): row["entry"] for lang, rows in before.items() for row in rows
    }
    missing = {(lang, row["entry_id"]) for lang, rows in after_top.items() for row in rows} - set(entry_names)
    if missing:
        # Entries that left the head after balancing: look up only those names.
        names = outputs.entry_counts.select([S.LANG, "entry_id", "entry"]).to_pandas().set_index([S.LANG, "entry_id"])["entry"]
        entry_names.update({key: names.get(key, f"entry {key[1]}") for key in missing})

    # How many texts each head entry keeps after balancing, for the "before" tables.
    head_keys = [(lang, row["entry_id"]) for lang, rows in before.items() for row in rows]
    after_counts = after.select([S.LANG, "entry_id", "count"]).to_pandas().set_index([S.LANG, "entry_id"])["count"]
    kept = {key: after_counts.get(key, 0) for key in head_keys}

    for index, lang in enumerate(sorted(before)):
        before_rows = [
            [rank + 1, row["entry"], int(row["count"]), kept[(lang, row["entry_id"])]] for rank, row in enumerate(before[lang])
        ]
        after_rows = [
            [rank + 1, entry_names[(lang, row["entry_id"])], row["count"]]
            for rank, row in enumerate(after_top.get(lang, []))
        ]
        opened = " open" if index < 3 else ""
        parts.append(
            f"<details{opened}><summary>{_text(lang)}</summary><div class=\"pair\">"
            f"<div><p>before</p>{_table(['rank', 'entry', 'matched texts', after_label], before_rows, [True, False, True, True])}</div>"
            f"<div><p>after</p>{_table(['rank', 'entry', after_label], after_rows, [True, False, True])}</div>"
            "</div></details>"
        )
    return "".join(parts)


def _lid_section(outputs: RunOutputs) -> str:
    histogram = outputs.stats.get("lid_score_histogram")
    parts = ["<h2>LID score histogram</h2>"]
    if not histogram:
        parts.append("<p>stats.json has no lid_score_histogram, so this run predates it or no text reached language ID.</p>")
        return "".join(parts)

    from curation.report_plots import plot_lid_histogram

    first = next(iter(histogram.values()))
    counts = {lang: item["counts"] for lang, item in histogram.items()}
    parts.append(
        '<p class="note">Score of the predicted language for every text that reached language ID. '
        "Low scores mark short or mixed-language texts, or a language that the model confuses with a close one.</p>"
    )
    parts.append(_image(plot_lid_histogram(first["bins"], counts), "LID score histogram"))
    return "".join(parts)


def render_report(outputs: RunOutputs) -> str:
    """Return the report as one HTML document."""
    sections = [
        _summary_section(outputs),
        _stages_section(outputs),
        _languages_section(outputs),
        _thresholds_section(outputs),
        _entry_counts_section(outputs),
        _top_entries_section(outputs),
        _lid_section(outputs),
    ]
    body = "\n".join(sections)
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>Curation run report: {_text(outputs.output_dir)}</title><style>{_STYLE}</style></head>"
        f"<body>\n{body}\n</body></html>\n"
    )


def write_report(
    output_dir: str,
    max_curated_rows: int = DEFAULT_MAX_CURATED_ROWS,
    check_success_marker: bool = False,
) -> str:
    """Write ``report.html`` into the output directory of a curation run and return its path.

    The job calls this before it writes ``_SUCCESS``, so the marker is checked, and its absence
    reported, only with ``check_success_marker``, as the command line does for existing outputs.
    """
    outputs = read_outputs(output_dir, max_curated_rows, check_success_marker)
    document = render_report(outputs)

    filesystem, root = _filesystem(output_dir)
    path = _join(root, REPORT_NAME)
    with filesystem.open_output_stream(path) as stream:
        stream.write(document.encode("utf-8"))
    display = _join(output_dir, REPORT_NAME)
    logger.info("wrote the run report to %s", display)
    return display


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m curation.report",
        description="Write report.html, with plots, into the output directory of a curation run.",
    )
    parser.add_argument("output_dir", help="the --output directory of a curation run (local path or filesystem URI)")
    parser.add_argument(
        "--max-curated-rows",
        type=int,
        default=DEFAULT_MAX_CURATED_ROWS,
        help="count entries in curated/ only up to this many rows; above it, estimate the counts after balancing as min(count, t_lang)",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    try:
        path = write_report(args.output_dir, args.max_curated_rows, check_success_marker=True)
    except ReportError as error:
        print(f"curation.report: error: {error}", file=sys.stderr)
        return 2
    print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
