"""Department feeds (部门数据比对): from a department's file to validated, hashed Parquet.

Plain Python, no Django. `standardize_feed` reads a CSV or XLSX of one feed kind (the
declaration in `engine.schemas.feeds`), validates every row (engine.validate), replaces the
ID number by its keyed hash and returns a typed Arrow table plus the row errors;
`standardize_feed_to` does the same into a sink (`engine.feeds.sinks`), a CSV block by block,
and `stage_feed` into a staged Parquet file and error report;
`link_exact` carries the registry's integer keys into the rows whose ID hash matches;
`write_batch` stores the rows as Parquet partitioned by kind / county / period and
`remove_batch` takes them away again. `run_in_sandbox` runs the parsing in a child process
under memory and time limits, so a hostile file cannot hurt the caller.
"""

from engine.feeds.linking import LINK_COLUMNS, LinkStatus, link_exact
from engine.feeds.sandbox import SandboxLimits, call_in_sandbox, run_in_sandbox, stage_feed, stage_in_sandbox
from engine.feeds.standardize import (
    StandardizedFeed,
    arrow_schema,
    period_column,
    standardize_feed,
    standardize_feed_to,
)
from engine.feeds.storage import (
    FEEDS_DIR,
    manifest_path,
    partition_dir,
    read_batch,
    remove_batch,
    write_batch,
    write_manifest,
)

__all__ = [
    "FEEDS_DIR",
    "LINK_COLUMNS",
    "LinkStatus",
    "SandboxLimits",
    "StandardizedFeed",
    "arrow_schema",
    "call_in_sandbox",
    "link_exact",
    "manifest_path",
    "partition_dir",
    "period_column",
    "read_batch",
    "remove_batch",
    "run_in_sandbox",
    "stage_feed",
    "stage_in_sandbox",
    "standardize_feed",
    "standardize_feed_to",
    "write_batch",
    "write_manifest",
]
