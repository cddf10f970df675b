"""Create the Spark session every job uses, with the settings the curation stages rely on."""

from __future__ import annotations

import logging
import os
import sys

logger = logging.getLogger(__name__)


def create_spark_session(
    master: str | None = "local[*]",
    app_name: str = "worldclip",
    shuffle_partitions: int | None = None,
    extra_conf: dict[str, str] | None = None,
):
    """Return a Spark session for ``master``.

    ``master=None`` keeps what ``spark-submit`` configured. The Python workers run the
    interpreter of the driver unless PYSPARK_PYTHON names another one, so local runs never pick
    up another Python by accident.
    """
    from pyspark.sql import SparkSession

    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)

    builder = SparkSession.builder.appName(app_name)
    if master:
        builder = builder.master(master)
    builder = (
        builder.config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .config("spark.python.worker.reuse", "true")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.adaptive.enabled", "true")
    )
    if shuffle_partitions is not None:
        builder = builder.config("spark.sql.shuffle.partitions", str(shuffle_partitions))
    if master and master.startswith("local"):
        builder = builder.config("spark.driver.memory", os.environ.get("WORLDCLIP_DRIVER_MEMORY", "4g"))
    for key, value in (extra_conf or {}).items():
        builder = builder.config(key, value)

    session = builder.getOrCreate()
    session.sparkContext.setLogLevel(os.environ.get("WORLDCLIP_SPARK_LOG_LEVEL", "WARN"))
    logger.info("Spark %s session started, master %s", session.version, session.sparkContext.master)
    return session
