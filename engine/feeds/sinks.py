"""Where a standardized feed goes, block by block: in memory, or to a staged Parquet file and
an error report on disk.

`standardize_feed_to` hands each block's kept rows (`write`) and its row errors in file order
(`report`) to a sink, then reads the next block; `reset` is called when the file has to be
read again by another path (a CSV the block reader would not read as `csv.reader` does). No
sink sees a raw ID number: rows carry the keyed hash and the masked number, errors the masked
value.
"""

from __future__ import annotations

import contextlib
import csv
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any, Protocol, TextIO

import pyarrow as pa
import pyarrow.parquet as pq

from engine.validate import REPORT_HEADERS, RowError, report_rows

KEEP_ERRORS = 10_000  # row errors a staged import also keeps in memory (for its summary)
# Columns with a value per row or nearly: Parquet's dictionary encoding would only be tried and
# dropped (a third of the writing time of a claims file).
DENSE_COLUMNS = frozenset({"line", "id_hash", "id_masked", "row_id", "link_probability"})


def dictionary_columns(schema: pa.Schema) -> list[str]:
    return [f.name for f in schema if f.name not in DENSE_COLUMNS]


class FeedSink(Protocol):
    def write(self, rows: pa.Table) -> None: ...

    def report(self, errors: Sequence[RowError]) -> None: ...

    def reset(self) -> None: ...


class MemorySink:
    """Everything kept: what `standardize_feed` returns."""

    def __init__(self) -> None:
        self.tables: list[pa.Table] = []
        self.errors: list[RowError] = []

    def write(self, rows: pa.Table) -> None:
        self.tables.append(rows)

    def report(self, errors: Sequence[RowError]) -> None:
        self.errors.extend(errors)

    def reset(self) -> None:
        self.tables.clear()
        self.errors.clear()

    def table(self, schema: pa.Schema) -> pa.Table:
        if not self.tables:
            return schema.empty_table()
        tables, self.tables = self.tables, []
        return pa.concat_tables(tables)  # a chunk a block: no copy of the rows


class ParquetSink:
    """Rows into one Parquet file (LZ4: a file read once and removed; a row group per block), errors into a CSV report
    (the importer's own format: masked values, formula-safe cells) as they come; the first
    `keep` errors and the counts stay in memory. `close` finishes both files (an empty file
    of `schema` when no row was kept); `discard` removes them.

    A block's rows are encoded and written by a thread of their own while the next block is
    read: Arrow lets go of the GIL while it writes, and the writing is a fifth of a claims
    file's time. At most one block is in flight (so memory holds one block more, not the
    file); a failed write is raised by the next `write` or by `close`."""

    def __init__(self, rows_path: Path, report_path: Path, *, keep: int | None = None) -> None:
        self.rows_path, self.report_path = Path(rows_path), Path(report_path)
        self.keep = KEEP_ERRORS if keep is None else keep
        self._writer: pq.ParquetWriter | None = None
        self._report: TextIO | None = None
        self._csv: Any = None
        self.rows = 0
        self.errors: list[RowError] = []
        self.error_count = 0
        self.warning_count = 0
        self._thread: ThreadPoolExecutor | None = None
        self._pending: Future[None] | None = None

    def write(self, rows: pa.Table) -> None:
        self._wait()
        if self._writer is None:
            self.rows_path.parent.mkdir(parents=True, exist_ok=True)
            self._writer = pq.ParquetWriter(
                self.rows_path, rows.schema, compression="lz4", use_dictionary=dictionary_columns(rows.schema)
            )
            self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="parquet-sink")
        assert self._thread is not None
        self._pending = self._thread.submit(self._writer.write_table, rows)
        self.rows += rows.num_rows

    def _wait(self) -> None:
        """The block in flight written (or its error raised)."""
        pending, self._pending = self._pending, None
        if pending is not None:
            pending.result()

    def _stop(self) -> None:
        if self._thread is not None:
            self._thread.shutdown(wait=True)
            self._thread = None

    def report(self, errors: Sequence[RowError]) -> None:
        if not errors:
            return
        if self._csv is None:
            self.report_path.parent.mkdir(parents=True, exist_ok=True)
            fh = open(self.report_path, "w", encoding="utf-8", newline="")  # noqa: SIM115
            fh.write("\ufeff")
            writer = csv.writer(fh)
            writer.writerow(REPORT_HEADERS)
            self._report, self._csv = fh, writer
        self._csv.writerows(report_rows(errors))
        warnings = sum(1 for e in errors if e.warning)
        self.warning_count += warnings
        self.error_count += len(errors) - warnings
        room = self.keep - len(self.errors)
        if room > 0:
            self.errors.extend(errors[:room])

    @property
    def truncated(self) -> bool:
        return self.error_count + self.warning_count > len(self.errors)

    def close(self, schema: pa.Schema) -> None:
        if self._writer is None:
            self.rows_path.parent.mkdir(parents=True, exist_ok=True)
            pq.write_table(schema.empty_table(), self.rows_path, compression="lz4")
        else:
            try:
                self._wait()
            finally:
                self._stop()
            self._writer.close()
            self._writer = None
        self._close_report()

    def _close_report(self) -> None:
        if self._report is not None:
            self._report.close()
            self._report = self._csv = None

    def reset(self) -> None:
        self.discard()
        self.rows = self.error_count = self.warning_count = 0
        self.errors = []

    def discard(self) -> None:
        with contextlib.suppress(Exception):  # a failed write: the file goes anyway
            self._wait()
        self._stop()
        if self._writer is not None:
            with contextlib.suppress(Exception):  # the file goes anyway
                self._writer.close()
            self._writer = None
        self._close_report()
        self.rows_path.unlink(missing_ok=True)
        self.report_path.unlink(missing_ok=True)


__all__ = ["DENSE_COLUMNS", "KEEP_ERRORS", "FeedSink", "MemorySink", "ParquetSink", "dictionary_columns"]
