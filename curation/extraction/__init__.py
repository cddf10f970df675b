"""Extraction of image-text pairs from Common Crawl WARC and WAT files.

The modules, in the order a record passes through them:

- ``inputs``: expands file paths, globs and Common Crawl listings (``warc.paths.gz``) into files.
- ``gzip_members``: reads a file as a stream of gzip members and records truncation or corruption.
- ``warc_records``: splits each member into WARC records with fastwarc and checks Content-Length.
- ``charsets``: decodes HTML bodies (HTTP header, then meta tag, then detection).
- ``html_images``: finds ``<img>`` tags and their alt, title and data-image-title texts.
- ``wat_records``: reads the ``IMG@/src`` links of WAT metadata records.
- ``urls`` and ``texts``: resolve image URLs and normalize texts.
- ``pairs``: turns the images of one page into deduplicated pairs and counts every drop.
- ``stage``: processes one file end to end; ``spark_job`` runs the stage with one Spark task per file.
- ``drops``: the counters and the names of every drop reason and file fault.
"""
