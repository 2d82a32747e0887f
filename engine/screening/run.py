"""`evaluate_rules`: registry snapshot + accounts + feeds + parameters → warnings + manifest.

The rules are SQL written once (`engine.screening.rules`); a backend is a thin class that
registers the input relations and runs the transpiled SQL (DuckDB in process by default; Spark
when a county is not enough). Everything else — windows, parameters, deduplication, evidence,
the manifest — is shared.

DuckDB runs with external access disabled once the inputs are registered: a rule can read
the relations it is given (and the input files behind them) and nothing else — no other
file, no extension, no network.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import queue
import tempfile
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field, replace
from decimal import Decimal
from pathlib import Path
from typing import Any, Protocol

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from engine.digests import file_sha256
from engine.schemas.feeds import FEED_SCHEMAS
from engine.screening.params import ResolvedParameters
from engine.screening.rules import (
    ALL_RULES,
    DERIVED,
    ROWS_HOUSEHOLDS,
    ROWS_MEMBERS,
    Rule,
    render_derived_sql,
    render_rows_sql,
    render_sql,
)

BACKENDS = ("duckdb", "spark")
ENGINE_VERSION = 1
type Input = pa.Table | Path | str

WARNINGS_SCHEMA = pa.schema(
    [
        pa.field("household_key", pa.int64(), nullable=False),
        pa.field("rule_id", pa.string(), nullable=False),
        pa.field("period", pa.string(), nullable=False),
        pa.field("member_key", pa.int64()),
        pa.field("severity", pa.string(), nullable=False),
        pa.field("cause", pa.string(), nullable=False),
        pa.field("evidence", pa.string(), nullable=False),  # JSON: the figures that fired, feed batches
    ]
)


class ScreeningError(RuntimeError):
    """A screening run that cannot go ahead: a bad input, an unknown backend, a failing rule."""


@dataclass(frozen=True)
class ScreeningResult:
    """The warnings (one per household, rule and period) and the run manifest."""

    warnings: pa.Table
    manifest: dict[str, Any] = field(default_factory=dict)

    def counts(self) -> dict[str, int]:
        return dict(self.manifest.get("counts", {}))

    def write(self, directory: Path) -> tuple[Path, Path]:
        """`warnings.parquet` and `manifest.json` in `directory`, each written atomically."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        target_w, target_m = directory / "warnings.parquet", directory / "manifest.json"
        fd, tmp = tempfile.mkstemp(dir=directory, suffix=".tmp")
        os.close(fd)
        pq.write_table(self.warnings, tmp, compression="zstd")
        os.replace(tmp, target_w)
        fd, tmp = tempfile.mkstemp(dir=directory, suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(self.manifest, f, ensure_ascii=False, indent=2, sort_keys=True)
        os.replace(tmp, target_m)
        return target_w, target_m


# -- Inputs --------------------------------------------------------------------------------


class _HashSink:
    """A write-only file object that only hashes what Arrow writes into it."""

    def __init__(self) -> None:
        self.digest = hashlib.sha256()
        self.closed = False

    def write(self, data: bytes) -> int:
        self.digest.update(data)
        return len(data)

    def flush(self) -> None:
        pass

    def close(self) -> None:
        self.closed = True


def _files(path: Path) -> list[Path]:
    if path.is_file():
        return [path]
    return sorted(
        p for p in path.rglob("*.parquet") if not any(part.startswith((".", "_")) for part in p.relative_to(path).parts)
    )


@dataclass(frozen=True)
class Source:
    """One input as a backend receives it: an Arrow table, or Parquet files to scan."""

    table: pa.Table | None = None
    files: tuple[Path, ...] = ()
    add_batch_id: bool = False  # a feed without `batch_id`: the evidence then names no batch

    @property
    def schema(self) -> pa.Schema:
        return self.table.schema if self.table is not None else pq.read_schema(self.files[0])


def _describe(name: str, value: Input) -> tuple[Source, dict[str, Any]]:
    """The input as a `Source` and its manifest entry but for its hash (`_sha256`): rows, files."""
    if isinstance(value, pa.Table):
        return Source(table=value), {"kind": "arrow", "rows": value.num_rows}
    path = Path(value)
    if not path.exists():
        raise ScreeningError(f"input {name!r}: {path} does not exist")
    files = _files(path)
    if not files:
        raise ScreeningError(f"input {name!r}: no Parquet files under {path}")
    rows = sum(pq.ParquetFile(f).metadata.num_rows for f in files)
    source = Source(files=tuple(f.resolve() for f in files))
    return source, {"kind": "parquet", "files": len(files), "rows": rows}


def _sha256(value: Input) -> str:
    """The sha256 of an input's content: an Arrow table's IPC stream, or for Parquet the list of
    its files' names (relative to the input's directory) with each file's sha256. (A thread of
    its own: hashing releases the GIL.)"""
    if isinstance(value, pa.Table):
        sink = _HashSink()
        with pa.ipc.new_stream(pa.PythonFile(sink, mode="w"), value.schema) as writer:
            writer.write_table(value)
        return sink.digest.hexdigest()
    path = Path(value)
    digest = hashlib.sha256()
    for f in _files(path):
        # a line per file: its name relative to the input, its own digest (recorded when the
        # storage wrote it, or computed now: engine.digests)
        name = str(f.relative_to(path) if path.is_dir() else f.name)
        digest.update(f"{name}\0{file_sha256(f)}\n".encode())
    return digest.hexdigest()


# -- Backends ------------------------------------------------------------------------------


class Backend(Protocol):
    dialect: str
    parallel: int  # rules the run may query at the same time (from as many threads)

    def register(self, name: str, source: Source) -> None: ...

    def seal(self) -> None: ...

    def materialize(self, name: str, sql: str) -> None: ...

    def query(self, sql: str, tables: Mapping[str, pa.Table] | None = None) -> pa.Table:
        """The rows of `sql`; `tables` are small Arrow tables the run made (keys to look up),
        readable by name in this query only, so that other queries may run meanwhile."""
        ...

    def close(self) -> None: ...


# DuckDB's perfect hash aggregate groups by indexing an array of 2^bits groups (per thread) when
# the keys' range, known from the statistics, fits in `perfect_ht_threshold` bits (12 by default).
# A run sets it to the member keys' range, at most 24 bits (a province's 16.7M members, ~1 GiB):
# the claims pass then groups members at half the cost, while a grouping by member and something
# else (more bits) is not given an array of 2^24 mostly empty groups.
PERFECT_HASH_BITS = 24


def _sql_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


class DuckDBBackend:
    """In-process DuckDB: no extension downloads, and no file access but to the inputs.

    Parquet inputs become views over DuckDB's own reader (faster than scanning them through
    Arrow), allowed by path before external access is switched off; Arrow tables are
    registered as they are. Rules run three at a time, on three connections to the one
    database: most are small queries that keep one core busy, and while one is planned or hands
    its answer to Python the other two keep two cores busy (on the 2-core benchmark machine,
    five interleaved runs each: median 1.36 s with two at a time, 1.22 s with three, 1.33 s
    with four).
    """

    dialect = "duckdb"
    parallel = 3

    def __init__(self, threads: int | None = None, memory_limit: str | None = None) -> None:
        config: dict[str, str | bool | int | float | list[str]] = {
            "autoinstall_known_extensions": False,
            "autoload_known_extensions": False,
            # Each rule's SQL ends in its own ORDER BY: no other result needs its rows in scan order.
            "preserve_insertion_order": False,
        }
        if threads:
            config["threads"] = threads
        if memory_limit:
            config["memory_limit"] = memory_limit
        self.con = duckdb.connect(":memory:", config=config)
        self.con.execute("SET enable_progress_bar = false")  # a library: no bars on anyone's stderr
        self.allowed: list[str] = []
        self.views: list[tuple[str, str]] = []
        self.keyed: list[str] = []  # relations with a member_key column
        self.arrow: dict[str, pa.Table] = {}  # registered per connection
        self.connections = [self.con]
        self.free: queue.SimpleQueue[duckdb.DuckDBPyConnection] = queue.SimpleQueue()

    def register(self, name: str, source: Source) -> None:
        # `name` is a known relation (registry input or feed kind, checked by the caller) and
        # file paths are quoted as SQL strings: nothing here comes from free text.
        extra = ", CAST(NULL AS BIGINT) AS batch_id" if source.add_batch_id else ""
        if "member_key" in source.schema.names:
            self.keyed.append(name)
        if source.table is not None:
            self.arrow[f"input_{name}"] = source.table
            self.con.register(f"input_{name}", source.table)
            self.views.append((name, f"SELECT *{extra} FROM input_{name}"))  # noqa: S608
            return
        files = [str(f) for f in source.files]
        self.allowed.extend(files)
        listed = ", ".join(_sql_string(f) for f in files)
        scan = f"read_parquet([{listed}], union_by_name = true, hive_partitioning = false)"
        self.views.append((name, f"SELECT *{extra} FROM {scan}"))  # noqa: S608

    def seal(self) -> None:
        # Only the input files stay readable; read_csv/COPY/ATTACH/INSTALL of anything else fail
        # with a PermissionException, and the settings cannot be changed back.
        if self.allowed:
            self.con.execute(f"SET allowed_paths = [{', '.join(_sql_string(f) for f in self.allowed)}]")
        self.con.execute("SET enable_external_access = false")
        for name, sql in self.views:
            self.con.execute(f'CREATE VIEW "{name}" AS {sql}')
        self.con.execute(f"SET GLOBAL perfect_ht_threshold = {self._member_key_bits()}")
        for _ in range(self.parallel - 1):  # the views and tables are the database's, not a connection's
            cursor = self.con.cursor()
            cursor.execute("SET enable_progress_bar = false")
            for name, table in self.arrow.items():
                cursor.register(name, table)
            self.connections.append(cursor)
        self.con.execute("SET lock_configuration = true")
        for connection in self.connections:
            self.free.put(connection)

    def _member_key_bits(self) -> int:
        """Bits spanned by the member keys of every input (from the Parquet statistics), 12–24."""
        bits = 12
        for name in self.keyed:
            # a known relation name (see register), not text from outside
            row = self.con.execute(f'SELECT MIN(member_key), MAX(member_key) FROM "{name}"').fetchone()  # noqa: S608
            if row and row[0] is not None:
                bits = max(bits, (int(row[1]) - int(row[0])).bit_length())
        return min(bits, PERFECT_HASH_BITS)

    def materialize(self, name: str, sql: str) -> None:
        # A table of the in-memory database (every connection reads it): no file, so it is
        # allowed with external access off.
        self.con.execute(f'CREATE TABLE "{name}" AS {sql}')

    def query(self, sql: str, tables: Mapping[str, pa.Table] | None = None) -> pa.Table:
        connection = self.free.get()  # one query per connection at a time
        try:
            for name, table in (tables or {}).items():
                connection.register(name, table)
            return connection.sql(sql).to_arrow_table()
        finally:
            for name in tables or {}:
                connection.unregister(name)
            self.free.put(connection)

    def close(self) -> None:
        for connection in reversed(self.connections):
            connection.close()


def local_spark_session(threads: int = 2, memory: str = "1g") -> Any:
    """A local Spark session sized for one machine: no UI, few shuffle partitions, UTC dates.

    A cluster passes its own session to `SparkBackend(spark=...)`; this one is for a laptop,
    the tests and the benchmark. 200 shuffle partitions (Spark's default) would make a county
    of 100,000 rows spend most of its time scheduling empty tasks.
    """
    try:
        from pyspark.sql import SparkSession  # optional: only for the scale-out path
    except ImportError:
        raise ScreeningError(
            "backend='spark' needs PySpark, which is not installed: install the spark group "
            "(uv sync --group spark) and a Java runtime, or screen with backend='duckdb'"
        ) from None
    return (
        SparkSession.builder.master(f"local[{threads}]")
        .appName("shouwang-screening")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", str(max(2, threads * 2)))
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.driver.memory", memory)
        .config("spark.sql.ansi.enabled", "true")
        .getOrCreate()
    )


class SparkBackend:
    """Apache Spark through PySpark, for a province; the SQL is the same rules in Spark's dialect.

    The rules are rendered by SQLGlot for Spark SQL; nothing else differs. ANSI mode is on, so
    an overflowing sum or a bad cast fails the rule instead of yielding NULL (DuckDB does the
    same), and the parity test compares the two backends warning by warning.
    """

    dialect = "spark"
    parallel = 1  # Spark parallelises each query itself

    def __init__(self, spark: Any = None) -> None:
        self.spark = spark if spark is not None else local_spark_session()
        self.views: list[str] = []
        self.cached: list[Any] = []

    def register(self, name: str, source: Source) -> None:
        if source.table is not None:
            frame = self.spark.createDataFrame(source.table)
        else:
            frame = self.spark.read.option("mergeSchema", "true").parquet(*(str(f) for f in source.files))
        if source.add_batch_id:
            frame = frame.selectExpr("*", "CAST(NULL AS BIGINT) AS batch_id")
        frame.createOrReplaceTempView(name)
        self.views.append(name)

    def seal(self) -> None:
        pass

    def materialize(self, name: str, sql: str) -> None:
        try:
            frame = self.spark.sql(sql).cache()
            frame.count()  # computed once, here, not again by every rule that reads it
        except Exception as exc:
            raise ScreeningError(str(exc).splitlines()[0] if str(exc) else type(exc).__name__) from exc
        frame.createOrReplaceTempView(name)
        self.views.append(name)
        self.cached.append(frame)

    def query(self, sql: str, tables: Mapping[str, pa.Table] | None = None) -> pa.Table:
        for name, table in (tables or {}).items():  # Spark is asked one query at a time
            self.spark.createDataFrame(table).createOrReplaceTempView(name)
            self.views.append(name)
        try:
            result: pa.Table = self.spark.sql(sql).toArrow()
        except Exception as exc:  # Py4J and Spark's analysis errors share no base class worth naming
            raise ScreeningError(str(exc).splitlines()[0] if str(exc) else type(exc).__name__) from exc
        return result

    def close(self) -> None:
        # The session belongs to whoever made it (a cluster, a test); only our views go.
        for frame in self.cached:
            frame.unpersist()
        for name in self.views:
            self.spark.catalog.dropTempView(name)


def make_backend(backend: str, **options: Any) -> Backend:
    if backend == "duckdb":
        return DuckDBBackend(**options)
    if backend == "spark":
        return SparkBackend(**options)
    raise ScreeningError(f"unknown screening backend {backend!r}; choose one of {BACKENDS}")


# -- The run -------------------------------------------------------------------------------


def screening_window(year: int, as_of: dt.date | None = None) -> tuple[dt.date, dt.date]:
    """The 12 months screened: ending on `as_of` (31 December of `year` by default)."""
    end = as_of or dt.date(year, 12, 31)
    try:
        start = end.replace(year=end.year - 1)
    except ValueError:  # 29 February
        start = dt.date(end.year - 1, 2, 28)
    return start + dt.timedelta(days=1), end


def run_values(params: ResolvedParameters, as_of: dt.date | None = None) -> dict[str, Any]:
    """Every :placeholder value of a run: the resolved parameters plus the built-ins."""
    start, end = screening_window(params.year, as_of)
    values: dict[str, Any] = {name: v.value for name, v in params.values.items()}
    values.update(
        year=params.year, period_year=str(params.year), window_start=start.isoformat(), window_end=end.isoformat()
    )
    return values


def rule_sql(rule: Rule, params: ResolvedParameters, dialect: str = "duckdb", as_of: dt.date | None = None) -> str:
    """The SQL a run would execute for `rule` (for review, debugging and the Spark path)."""
    return render_sql(rule, run_values(params, as_of), dialect)


def _json_value(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


_encode_string = json.encoder.encode_basestring  # what json.dumps(ensure_ascii=False) does to a str


def _json_scalar(value: Any) -> str:
    """`_dumps(_json_value(value))`, without json.dumps's set-up for the two common cases."""
    if value is None:
        return "null"
    if isinstance(value, str):
        return _encode_string(value)
    return _dumps(_json_value(value))


_CONTROL = r"[\x00-\x08\x0b\x0c\x0e-\x1f]"


def _json_strings(column: pa.ChunkedArray | pa.Array) -> pa.Array | None:
    """Each value of the column as JSON text, computed by Arrow; None for a column whose type
    (or, for text, whose control characters) only Python encodes exactly as `json.dumps` does."""
    kind = column.type
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        if pc.any(pc.match_substring_regex(column, _CONTROL)).as_py():
            return None
        text = column
        for old, escaped in (("\\", "\\\\"), ('"', '\\"'), ("\n", "\\n"), ("\r", "\\r"), ("\t", "\\t")):
            text = pc.replace_substring(text, old, escaped)
        quoted = pc.binary_join_element_wise('"', text, '"', "")
    elif pa.types.is_decimal(kind) or pa.types.is_date(kind):
        quoted = pc.binary_join_element_wise('"', pc.cast(column, pa.string()), '"', "")  # as str(Decimal), isoformat
    elif pa.types.is_integer(kind) or pa.types.is_boolean(kind):
        quoted = pc.cast(column, pa.string())
    elif pa.types.is_null(kind):
        return pa.array(["null"] * len(column), pa.string())
    else:
        return None
    return pc.fill_null(quoted, "null")


def _python_json(values: list[Any]) -> pa.Array:
    return pa.array([_json_scalar(v) for v in values], pa.string())


def _json_column(column: pa.ChunkedArray | pa.Array) -> pa.Array:
    """Each value of an evidence column as JSON text. Most evidence repeats a few values (a
    household type, a status, a threshold): each distinct value is encoded once, then taken."""
    values = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    if len(values) > 64 and not pa.types.is_null(values.type):
        try:
            coded = pc.dictionary_encode(values)
        except (pa.ArrowNotImplementedError, pa.ArrowInvalid):
            coded = None
        if coded is not None and len(coded.dictionary) * 2 < len(values):
            distinct = _json_strings(coded.dictionary)
            if distinct is None:
                distinct = _python_json(coded.dictionary.to_pylist())
            return pc.fill_null(pc.take(distinct, coded.indices), "null")
    encoded = _json_strings(values)
    return encoded if encoded is not None else _python_json(values.to_pylist())


def _batch_lists(column: pa.ChunkedArray) -> pa.Array:
    """Each row's list of batch ids as a sorted JSON array, by Arrow when the lists hold no
    null and no repeated id (the rules aggregate DISTINCT ids), else exactly in Python."""
    lists = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    if len(lists) == 0:
        return pa.array([], pa.string())
    flat = pc.list_flatten(lists)
    if lists.null_count == 0 and flat.null_count == 0 and pa.types.is_integer(flat.type):
        parents = pc.list_parent_indices(lists)
        order = pc.sort_indices(pa.table({"p": parents, "b": flat}), sort_keys=[("p", "ascending"), ("b", "ascending")])
        parents, ids = pc.take(parents, order), pc.take(flat, order)
        repeated = (
            len(ids) > 1 and pc.any(pc.and_(pc.equal(ids[1:], ids[:-1]), pc.equal(parents[1:], parents[:-1]))).as_py()
        )
        if not repeated:
            offsets = pc.subtract(lists.offsets, lists.offsets[0]).cast(pa.int32())
            strings = pa.ListArray.from_arrays(offsets, pc.cast(ids, pa.string()))
            return pc.binary_join_element_wise("[", pc.binary_join(strings, ","), "]", "")
    return pa.array(
        [_dumps(sorted({int(b) for b in ids or () if b is not None})) for ids in lists.to_pylist()], pa.string()
    )


def _feed_batches(table: pa.Table) -> pa.Array:
    if "batch_ids" in table.column_names:
        return _batch_lists(table.column("batch_ids"))
    if "batch_id" in table.column_names:
        ids = pc.cast(table.column("batch_id"), pa.string())
        return pc.fill_null(pc.binary_join_element_wise("[", ids, "]", ""), "[]")
    return pa.array(["[]"] * table.num_rows, pa.string())


def _combinations(table: pa.Table, reads: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
    """Each row's combination of the `reads` values as an id, and for each id the first row that
    holds it: found by Arrow's hashing and numpy, so that only the distinct rows become Python."""
    ids = np.zeros(table.num_rows, np.int64)
    for name in reads:
        coded = pc.dictionary_encode(table.column(name).combine_chunks())
        size = len(coded.dictionary) + 1  # the last code stands for null
        codes = pc.fill_null(coded.indices, size - 1).to_numpy(zero_copy_only=False).astype(np.int64)
        # renumbered after each column, ids stay below the row count: no overflow however many reads
        _, ids = np.unique(ids * size + codes, return_inverse=True)
    _, first = np.unique(ids, return_index=True)
    return ids, first


def _derived_evidence(rule: Rule, table: pa.Table) -> dict[str, pa.Array]:
    """The rule's Python-computed evidence, computed once per distinct value of what it reads."""
    assert rule.derive is not None
    reads = rule.derive.reads
    try:
        ids, first = _combinations(table, reads)
    except (pa.ArrowNotImplementedError, pa.ArrowInvalid):  # a type Arrow cannot hash: every row is its own
        ids = first = np.arange(table.num_rows)
    computed = [rule.derive(row) for row in table.select(list(reads)).take(first).to_pylist()]
    names = sorted({name for values in computed for name in values})
    return {
        name: pc.take(pa.array([_json_scalar(values.get(name)) for values in computed], pa.string()), ids)
        for name in names
    }


def _warning_table(rule: Rule, table: pa.Table, params: ResolvedParameters) -> pa.Table:
    """The warnings of one rule: evidence JSON (keys sorted, compact) built column-wise.

    A county's few thousand warnings would not care, but a province's million do: encoding
    row by row in Python cost more than running most rules.
    """
    n = table.num_rows
    fragments: dict[str, pa.Array] = {}
    for column in rule.evidence:
        fragments[column] = _json_column(table.column(column))
    if rule.derive is not None and n:
        fragments.update(_derived_evidence(rule, table))
    fragments["feed_batches"] = _feed_batches(table)
    fragments["findings_in_period"] = pc.cast(table.column("rule_hits"), pa.string())
    used = {name: str(params[name]) for name in rule.parameters}
    fragments["parameters"] = pa.array([_dumps(used)] * n, pa.string())
    # one pass over the rows: '{"key":' value ',"key":' value … '}' (the literals are scalars)
    parts: list[Any] = []
    for i, key in enumerate(sorted(fragments)):
        parts.extend([("{" if i == 0 else ",") + _dumps(key) + ":", fragments[key]])
    evidence = pc.binary_join_element_wise(*parts, "}", "")
    return pa.table(
        {
            "household_key": pc.cast(table.column("household_key"), pa.int64()),
            "rule_id": pa.array([rule.id] * n, pa.string()),
            "period": pc.cast(table.column("period"), pa.string()),
            "member_key": pc.cast(table.column("member_key"), pa.int64()),
            "severity": pa.array([rule.severity.value] * n, pa.string()),
            "cause": pa.array([rule.cause.value] * n, pa.string()),
            "evidence": evidence,
        },
        schema=WARNINGS_SCHEMA,
    )


def _look_up_rows(engine: Backend, name: str, found: list[pa.Table], values: Mapping[str, Any]) -> pa.Table:
    """`Derived.rows` behind the findings of the rules that read `name`: per member and batch, the
    number of rows, for the members found and every member of the households found."""
    keys = [t.select(["member_key", "household_key"]) for t in found]
    if keys:
        every = pa.concat_tables(keys, promote_options="permissive")
        member, household = pc.cast(every.column("member_key"), pa.int64()), every.column("household_key")
        members = pc.unique(pc.drop_null(member))
        households = pc.unique(pc.drop_null(pc.cast(pc.if_else(pc.is_null(member), household, None), pa.int64())))
    else:
        members = households = pa.array([], pa.int64())
    keyed = {ROWS_MEMBERS: pa.table({"member_key": members}), ROWS_HOUSEHOLDS: pa.table({"household_key": households})}
    return engine.query(render_rows_sql(DERIVED[name], values, engine.dialect), keyed)


def _with_rows(table: pa.Table, rows: pa.Table, count_name: str) -> pa.Table:
    """The findings with the count and distinct batch ids of the rows behind them: a member's
    own for a member's finding, all the household's members' for a household finding."""
    member = pc.cast(table.column("member_key"), pa.int64())
    household = pc.cast(table.column("household_key"), pa.int64())
    at = pc.if_else(
        pc.is_valid(member),
        pc.index_in(member, value_set=rows.column("member_key")),
        pc.index_in(household, value_set=rows.column("household_key")),
    )
    counts = pc.fill_null(pc.take(rows.column("row_count"), at), 0)
    table = table.append_column(count_name, pc.cast(counts, pa.int64()))
    return table.append_column("batch_ids", pc.take(rows.column("batch_ids"), at))


def _timed_query(engine: Backend, rule: Rule, values: Mapping[str, Any]) -> tuple[pa.Table, float]:
    sql = render_sql(rule, values, engine.dialect)
    started = time.perf_counter()
    try:
        result = engine.query(sql)
    except (duckdb.Error, ScreeningError) as exc:
        raise ScreeningError(f"rule {rule.id} failed: {exc}") from exc
    return result, time.perf_counter() - started


def _timed_warning_table(rule: Rule, table: pa.Table, params: ResolvedParameters) -> tuple[pa.Table, float]:
    started = time.perf_counter()
    return _warning_table(rule, table, params), time.perf_counter() - started


def _render_ahead(rules: Iterable[Rule], derived: Iterable[str], values: Mapping[str, Any], dialect: str) -> None:
    """Transpile every rule of the run once, before the run asks (the templates are cached)."""
    for name in derived:
        render_derived_sql(DERIVED[name], values, dialect)
    for rule in rules:
        render_sql(rule, values, dialect)
        if rule.rows_of:
            render_rows_sql(DERIVED[rule.rows_of], values, dialect)


def _warnings_by_rule(tables: Mapping[str, pa.Table]) -> pa.Table:
    """The rules' warnings by rule id, each rule's already in the order of household and period
    (its SQL sorts them): a sort of them all here copied the evidence twice, ~0.15 s of one
    core for the benchmark's 98k warnings, most of it the first touch of fresh memory."""
    if not tables:
        return WARNINGS_SCHEMA.empty_table()
    return pa.concat_tables([tables[rule_id] for rule_id in sorted(tables)])


class _Inline:
    """The executor for a backend that queries one rule at a time (Spark): each task runs in the
    calling thread, when submitted."""

    def submit(self, fn: Callable[..., Any], /, *args: Any) -> Future[Any]:
        future: Future[Any] = Future()
        try:
            future.set_result(fn(*args))
        except BaseException as exc:  # handed to the caller by future.result(), as a pool would
            future.set_exception(exc)
        return future

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        pass


def _timed_rows(engine: Backend, name: str, found: list[pa.Table], values: Mapping[str, Any]) -> tuple[pa.Table, float]:
    started = time.perf_counter()
    try:
        rows = _look_up_rows(engine, name, found, values)
    except (duckdb.Error, ScreeningError) as exc:
        raise ScreeningError(f"rows of {name} failed: {exc}") from exc
    return rows, time.perf_counter() - started


def _query_rules(
    engine: Backend,
    rules: list[Rule],
    values: Mapping[str, Any],
    params: ResolvedParameters,
    evidence: ThreadPoolExecutor,
    timings: dict[str, float],
) -> dict[str, Future[tuple[pa.Table, float]]]:
    """Every rule's SQL, `engine.parallel` queries at a time, and each `Derived.rows` look-up as
    soon as the rules that need it have answered, ahead of the rules still to ask: run last, the
    look-up (a scan of the claims) left one core idle while the evidence was finished. Each
    rule's warnings are built on `evidence` as its answer, and its rows, come in."""
    building: dict[str, Future[tuple[pa.Table, float]]] = {}
    needing: dict[str, list[Rule]] = {}  # by Derived: the rules whose findings need its rows, in order
    for rule in rules:
        if rule.rows_of:
            needing.setdefault(rule.rows_of, []).append(rule)
    answers: dict[str, pa.Table] = {}
    # the rules whose rows are looked up are asked first, so that the look-up starts early
    first = sorted(rules, key=lambda rule: rule.rows_of is None)
    tasks: deque[Rule | str] = deque(first)
    pool: ThreadPoolExecutor | _Inline = (
        ThreadPoolExecutor(engine.parallel, "screening-query") if engine.parallel > 1 else _Inline()
    )
    running: dict[Future[Any], Rule | str] = {}
    try:
        while tasks or running:
            while tasks and len(running) < engine.parallel:
                task = tasks.popleft()
                if isinstance(task, str):  # the look-up of a Derived's rows, for its rules in their order
                    found = [answers[rule.id] for rule in needing[task]]
                    running[pool.submit(_timed_rows, engine, task, found, values)] = task
                else:
                    running[pool.submit(_timed_query, engine, task, values)] = task
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in done:
                task = running.pop(future)
                if isinstance(task, str):
                    rows, seconds = future.result()
                    timings[f"{task}.rows"] = round(seconds, 4)
                    for rule in needing[task]:
                        with_rows = _with_rows(answers[rule.id], rows, DERIVED[task].rows_count)
                        building[rule.id] = evidence.submit(_timed_warning_table, rule, with_rows, params)
                    continue
                result, timings[task.id] = future.result()
                if task.rows_of:
                    answers[task.id] = result
                    if all(rule.id in answers for rule in needing[task.rows_of]):
                        tasks.appendleft(task.rows_of)
                else:
                    building[task.id] = evidence.submit(_timed_warning_table, task, result, params)
    finally:
        pool.shutdown(cancel_futures=True)
    return building


def evaluate_rules(
    registry: Input,
    accounts: Input | None,
    feeds: Mapping[str, Input],
    params: ResolvedParameters,
    rules: Iterable[Rule] = ALL_RULES,
    backend: str = "duckdb",
    *,
    households: Input | None = None,
    as_of: dt.date | None = None,
    backend_options: Mapping[str, Any] | None = None,
) -> ScreeningResult:
    """Screen one region for one year: every rule whose inputs and parameters are present.

    `registry` is the member snapshot, `households` the household flags and `accounts` the
    yearly accounts (schemas in `engine.screening.inputs`); `feeds` maps a feed kind to its
    linked rows (an Arrow table, or a Parquet file or directory). A rule that lacks an input
    or a parameter is skipped and the manifest says why. The warnings are sorted by rule,
    household and period, so the same inputs give the same table (and the same Parquet, byte
    for byte).
    """
    started = time.perf_counter()
    rules = tuple(rules)
    unknown = sorted(set(feeds) - set(FEED_SCHEMAS))
    if unknown:
        raise ScreeningError(f"unknown feed kinds {unknown}; known: {sorted(FEED_SCHEMAS)}")
    given: dict[str, Input] = {"members": registry}
    if households is not None:
        given["households"] = households
    if accounts is not None:
        given["accounts"] = accounts
    given.update(feeds)

    values = run_values(params, as_of)
    runnable: list[Rule] = []
    skipped: dict[str, str] = {}
    for rule in rules:
        absent = [name for name in rule.inputs if name not in given]
        missing = params.missing(rule.parameters)
        if absent:
            skipped[rule.id] = f"input not given: {', '.join(absent)}"
        elif missing:
            skipped[rule.id] = (
                f"no parameter value for region {params.region_code} in {params.year}: {', '.join(missing)}"
            )
        else:
            runnable.append(rule)

    engine = make_backend(backend, **dict(backend_options or {}))
    inputs: dict[str, Any] = {}
    timings: dict[str, float] = {}
    counts: dict[str, int] = {}
    derived = sorted({d for rule in runnable for d in rule.uses})
    # Two helper threads while the backend runs the SQL (it releases the GIL): one hashes the
    # inputs for the manifest, the other renders the rules' SQL ahead of time, then builds each
    # rule's warnings (evidence JSON) while the next rule runs.
    hashing = ThreadPoolExecutor(max_workers=1, thread_name_prefix="screening-hash")
    evidence = ThreadPoolExecutor(max_workers=1, thread_name_prefix="screening-evidence")
    building: dict[str, Future[tuple[pa.Table, float]]] = {}
    try:
        needed = sorted({name for rule in runnable for name in rule.inputs})
        load_started = time.perf_counter()
        hashes = {name: hashing.submit(_sha256, given[name]) for name in needed}
        evidence.submit(_render_ahead, runnable, derived, values, engine.dialect)
        for name in needed:
            source, inputs[name] = _describe(name, given[name])
            if name in FEED_SCHEMAS and "batch_id" not in source.schema.names:
                source = replace(source, add_batch_id=True)
            engine.register(name, source)
        engine.seal()
        timings["load"] = round(time.perf_counter() - load_started, 4)
        for name in derived:
            derived_started = time.perf_counter()
            try:
                engine.materialize(name, render_derived_sql(DERIVED[name], values, engine.dialect))
            except (duckdb.Error, ScreeningError) as exc:
                raise ScreeningError(f"derived relation {name} failed: {exc}") from exc
            timings[name] = round(time.perf_counter() - derived_started, 4)
        rules_started = time.perf_counter()
        building.update(_query_rules(engine, runnable, values, params, evidence, timings))
        timings["rules"] = round(time.perf_counter() - rules_started, 4)  # their SQL; evidence alongside
        finish_started = time.perf_counter()
        found: dict[str, pa.Table] = {}
        for rule in runnable:  # the manifest lists the rules in their order, whatever finished first
            table, seconds = building[rule.id].result()
            timings[rule.id] = round(timings[rule.id] + seconds, 4)
            counts[rule.id] = table.num_rows
            found[rule.id] = table
        for name in needed:
            inputs[name]["sha256"] = hashes[name].result()
    finally:
        hashing.shutdown(cancel_futures=True)
        evidence.shutdown(cancel_futures=True)
        engine.close()

    warnings = _warnings_by_rule(found)
    timings["finish"] = round(time.perf_counter() - finish_started, 4)  # evidence still building, sorting
    start, end = screening_window(params.year, as_of)
    timings["total"] = round(time.perf_counter() - started, 4)
    manifest: dict[str, Any] = {
        "engine_version": ENGINE_VERSION,
        "backend": backend,
        "region_code": params.region_code,
        "year": params.year,
        "window": [start.isoformat(), end.isoformat()],
        "inputs": inputs,
        "rules": {r.id: {"version": r.version, "fingerprint": r.fingerprint} for r in runnable},
        "derived": sorted({d for rule in runnable for d in rule.uses}),
        "skipped": skipped,
        "parameters": params.to_dict(),
        "counts": counts,
        "warnings": warnings.num_rows,
        "timings": timings,
    }
    return ScreeningResult(warnings=warnings, manifest=manifest)
