"""The seam between the linkage engine and the SQL engine that runs it: DuckDB or Spark.

Both steps of linkage — the exact join on ID hashes and the probabilistic model — are SQL:
ours (written once, in DuckDB's dialect) and Splink's generated SQL. `DuckDBEngine` runs it
in process (the default: one county fits one machine); `SparkEngine` runs the same statements
on Apache Spark, ours transpiled by SQLGlot and Splink's through its `SparkAPI`, for a
province. The results are the same (a test on local Spark proves it).

DuckDB needs no extension for linkage: `jaro_winkler_similarity` and everything Splink's
DuckDB dialect generates for our comparisons are built in, so nothing is INSTALLed or
downloaded at run time (the machines are offline). `autoinstall_known_extensions` and
`autoload_known_extensions` are switched off anyway, so a future comparison that needed one
fails loudly here instead of trying the network. Spark's Jaro-Winkler is Splink's Scala UDF,
whose JAR ships inside the splink package: it is added to the session (no download either).
"""

from __future__ import annotations

import threading
from typing import Any

import duckdb
import pyarrow as pa

BACKENDS = ("duckdb", "spark")
# One linkage at a time per Spark session: the temporary views have fixed names.
_SPARK_LOCK = threading.Lock()


def check_backend(backend: str) -> None:
    if backend not in BACKENDS:
        raise ValueError(f"unknown linkage backend {backend!r}; choose one of {BACKENDS}")


def duckdb_connection(threads: int | None = None) -> duckdb.DuckDBPyConnection:
    """A fresh in-memory DuckDB that never downloads extensions."""
    config: dict[str, str | bool | int | float | list[str]] = {
        "autoinstall_known_extensions": False,
        "autoload_known_extensions": False,
    }
    if threads:
        config["threads"] = threads
    return duckdb.connect(":memory:", config=config)


def splink_db_api(con: duckdb.DuckDBPyConnection) -> Any:  # splink's DuckDBAPI
    """Splink's DuckDB backend on our connection (imported lazily: Splink is heavy to import)."""
    from splink import DuckDBAPI  # probabilistic linkage (Fellegi–Sunter), generates the SQL

    return DuckDBAPI(con)


class DuckDBEngine:
    """Our SQL and Splink's on one in-memory DuckDB connection."""

    dialect = "duckdb"

    def __init__(self, threads: int | None = None) -> None:
        self.con = duckdb_connection(threads)

    def register(self, name: str, table: pa.Table) -> None:
        self.con.register(name, table)

    def unregister(self, name: str) -> None:
        self.con.unregister(name)

    def create(self, name: str, sql: str) -> None:
        self.con.execute(f"CREATE TABLE {name} AS {sql}")

    def arrow(self, sql: str) -> pa.Table:
        return self.con.sql(sql).to_arrow_table()

    def rows(self, sql: str) -> list[tuple[Any, ...]]:
        return self.con.execute(sql).fetchall()

    def splink_api(self) -> Any:
        return splink_db_api(self.con)

    def close(self) -> None:
        self.con.close()


class SparkEngine:
    """The same statements on a Spark session: ours transpiled from DuckDB's dialect."""

    dialect = "spark"

    def __init__(self, spark: Any = None) -> None:
        _SPARK_LOCK.acquire()
        try:
            self.spark = spark or spark_session()
            _add_similarity_jar(self.spark)
        except BaseException:
            _SPARK_LOCK.release()
            raise
        self.views: list[str] = []
        self._before = self._temp_views()

    def _temp_views(self) -> set[str]:
        return {t.name for t in self.spark.catalog.listTables() if t.isTemporary}

    def _view(self, name: str, frame: Any) -> None:
        frame.createOrReplaceTempView(name)
        self.views.append(name)

    def register(self, name: str, table: pa.Table) -> None:
        self._view(name, self.spark.createDataFrame(table))

    def unregister(self, name: str) -> None:
        self.spark.catalog.dropTempView(name)

    def create(self, name: str, sql: str) -> None:
        # Materialised once: the later statements read it several times.
        self._view(name, self.spark.sql(to_spark(sql)).localCheckpoint(eager=True))

    def arrow(self, sql: str) -> pa.Table:
        return self.spark.sql(to_spark(sql)).toArrow()

    def rows(self, sql: str) -> list[tuple[Any, ...]]:
        return [tuple(r) for r in self.spark.sql(to_spark(sql)).collect()]

    def splink_api(self) -> Any:
        from splink import SparkAPI

        # Persisted, not checkpointed: a checkpoint needs a directory the session may not have.
        return SparkAPI(spark_session=self.spark, break_lineage_method="persist")

    def close(self) -> None:
        """Drop every temporary view this run made, ours and Splink's (`feed`, `__splink__…`)."""
        try:
            for name in sorted(set(self.views) | (self._temp_views() - self._before)):
                self.spark.catalog.dropTempView(name)
        finally:
            _SPARK_LOCK.release()


def open_engine(backend: str, *, threads: int | None = None, spark: Any = None) -> DuckDBEngine | SparkEngine:
    check_backend(backend)
    return SparkEngine(spark) if backend == "spark" else DuckDBEngine(threads)


def to_spark(sql: str) -> str:
    """One of our statements (DuckDB's dialect) in Spark's."""
    import sqlglot

    return sqlglot.transpile(sql, read="duckdb", write="spark")[0]


def spark_session(threads: int = 2, memory: str = "1g") -> Any:
    """The active Spark session, or a local one sized for one machine (the tests, a laptop)."""
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise RuntimeError(
            "backend='spark' needs PySpark, which is not installed: install the spark group "
            "(uv sync --group spark) and a Java runtime, or link with backend='duckdb'"
        ) from None
    active = SparkSession.getActiveSession()
    if active is not None:
        return active
    return (
        SparkSession.builder.master(f"local[{threads}]")
        .appName("shouwang-linkage")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", str(max(2, threads * 2)))
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.driver.memory", memory)
        .getOrCreate()
    )


def _add_similarity_jar(spark: Any) -> None:
    """Splink's Scala string-similarity UDFs (Jaro-Winkler) from the JAR inside the splink
    package, added to the running session (a cluster may have it on its classpath already)."""
    from splink.backends.spark import similarity_jar_location

    spark.sql(f"ADD JAR '{similarity_jar_location()}'")
