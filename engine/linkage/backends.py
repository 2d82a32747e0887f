"""The seam between the linkage engine and the SQL engine that runs Splink.

DuckDB (in-process, the default) runs both steps: the exact join on ID hashes and Splink's
generated SQL. Spark is the scale-out path (Splink's `SparkAPI` runs the same settings); it is
not wired yet and says so instead of silently falling back.

DuckDB needs no extension for linkage: `jaro_winkler_similarity` and everything Splink's
DuckDB dialect generates for our comparisons are built in, so nothing is INSTALLed or
downloaded at run time (the machines are offline). `autoinstall_known_extensions` and
`autoload_known_extensions` are switched off anyway, so a future comparison that needed one
fails loudly here instead of trying the network.
"""

from __future__ import annotations

from typing import Any

import duckdb

BACKENDS = ("duckdb", "spark")


def check_backend(backend: str) -> None:
    if backend == "spark":
        raise NotImplementedError(
            "backend='spark' is not implemented yet: link with backend='duckdb' (one county fits one "
            "machine); the Spark path will hand the same LinkSettings.splink_settings() to splink's SparkAPI"
        )
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
