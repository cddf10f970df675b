"""Column names, drop reasons and the Parquet schemas of the curation outputs.

Other teams read these outputs; docs/output-schema.md describes each column.
"""

from __future__ import annotations

import pyarrow as pa

# Columns of the rows that flow through the job.
IMAGE_ID = "image_id"
URL = "url"
TEXT = "text"
LANG = "lang"
LID_LABEL = "lid_label"
LID_SCORE = "lid_score"
ENTRY_IDS = "entry_ids"
KEEP_PROB = "keep_prob"
DROP_REASON = "drop_reason"

# Reasons a row is dropped, by the stage that drops it.
BAD_ROW = "bad_row"  # read: a line the reader could not parse (malformed JSON or CSV)
MISSING_TEXT = "missing_text"  # prepare: the text column is null or absent in the row
INVALID_UTF8 = "invalid_utf8"  # prepare: the text is not valid UTF-8 in the file
EMPTY_TEXT = "empty_text"  # prepare: nothing left after control characters and whitespace
TEXT_TOO_LONG = "text_too_long"  # prepare: longer than --max-text-chars
MISSING_IMAGE_ID = "missing_image_id"  # prepare: no image id and no URL to derive one from
DUPLICATE_TEXT = "duplicate_text"  # prepare: the same text again for the same image id
NO_MATCH = "no_match"  # match: no metadata entry found in the text
OTHER_TEXT_CHOSEN = "other_text_chosen"  # sample: another matched text of the image was chosen
NOT_SAMPLED = "not_sampled"  # sample: the keep draw was at or above the keep probability

MATCHED_SCHEMA = pa.schema(
    [
        pa.field(IMAGE_ID, pa.string(), nullable=False),
        pa.field(URL, pa.string()),
        pa.field(TEXT, pa.string(), nullable=False),
        pa.field(LANG, pa.string(), nullable=False),
        pa.field(LID_LABEL, pa.string(), nullable=False),
        pa.field(LID_SCORE, pa.float32(), nullable=False),
        pa.field(ENTRY_IDS, pa.list_(pa.int32()), nullable=False),
    ]
)

CURATED_SCHEMA = MATCHED_SCHEMA.append(pa.field(KEEP_PROB, pa.float64(), nullable=False))

ENTRY_COUNTS_SCHEMA = pa.schema(
    [
        pa.field(LANG, pa.string(), nullable=False),
        pa.field("entry_id", pa.int32(), nullable=False),
        pa.field("entry", pa.string(), nullable=False),
        pa.field("count", pa.int64(), nullable=False),
        pa.field("prob", pa.float64(), nullable=False),
    ]
)

# Spark DDL of the annotated rows, the output of the language-ID and matching stages.
ANNOTATED_DDL = (
    f"{IMAGE_ID} string, {URL} string, {TEXT} string, {LANG} string, "
    f"{LID_LABEL} string, {LID_SCORE} float, {ENTRY_IDS} array<int>"
)
