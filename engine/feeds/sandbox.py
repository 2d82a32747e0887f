"""Parsing in a child process under memory and time limits.

A hostile file — a zip bomb that slipped past the size checks, a sheet with a billion cells,
a pathological CSV — must not take the web process or the job worker down with it. The
child is started with `spawn` (a fresh interpreter: no inherited sockets, database
connections or threads), caps its own address space with `RLIMIT_AS` (and CPU time with
`RLIMIT_CPU`), parses, and sends back the result; the parent waits at most `seconds`.
`stage_in_sandbox` — what the import uses — has the child write the rows to a staged Parquet
file and the error report block by block and send back only the counts; `run_in_sandbox`
sends the whole table back.
Whatever goes wrong in the child becomes a `FileError` in Chinese and English.
"""

from __future__ import annotations

import contextlib
import io
import multiprocessing
import os
import resource
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import pyarrow as pa

from engine.feeds.sinks import ParquetSink
from engine.feeds.standardize import StandardizedFeed, arrow_schema, standardize_feed, standardize_feed_to
from engine.protect import Protector
from engine.schema import TableSchema
from engine.tabular import FileError, Source

GiB = 1024**3


@dataclass(frozen=True)
class SandboxLimits:
    """What a child may use: address space (bytes), wall-clock and CPU seconds."""

    memory: int = 4 * GiB
    seconds: float = 600.0

    @classmethod
    def from_env(cls) -> SandboxLimits:
        return cls(
            memory=int(os.environ.get("SHOUWANG_PARSE_MEMORY", 4 * GiB)),
            seconds=float(os.environ.get("SHOUWANG_PARSE_SECONDS", 600)),
        )


def _too_much_memory() -> FileError:
    return FileError(
        "memory",
        "解析该文件所需内存超出上限，已拒绝（文件过大或内容异常）",
        "parsing the file needs more memory than allowed; the file was refused (too large or malformed)",
    )


def _timeout(seconds: float) -> FileError:
    return FileError(
        "timeout",
        f"解析该文件超过 {int(seconds)} 秒时限，已中止",
        f"parsing the file took longer than {int(seconds)} seconds and was stopped",
    )


def _crashed() -> FileError:
    return FileError(
        "worker_crashed",
        "解析该文件时解析进程异常退出，已拒绝该文件",
        "the parsing process died while reading the file; the file was refused",
    )


def _limit(limits: SandboxLimits) -> None:
    try:
        resource.setrlimit(resource.RLIMIT_AS, (limits.memory, limits.memory))
        cpu = int(limits.seconds) + 5
        resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 5))
    except (ValueError, OSError):  # pragma: no cover - a platform without these limits
        pass


def use_child_memory_pool() -> str:
    """Arrow's jemalloc pool for the parsing child, when Arrow has it and the environment does
    not choose (ARROW_DEFAULT_MEMORY_POOL): it gives freed block buffers back sooner than the
    default mimalloc — on a million-row CSV the child's peak is ≈ 60 MiB lower and grows less
    with the file (docs/import-benchmark.md). Returns the pool's name."""
    if not os.environ.get("ARROW_DEFAULT_MEMORY_POOL"):
        with contextlib.suppress(NotImplementedError, pa.ArrowNotImplementedError):  # (a build without it)
            pa.set_memory_pool(pa.jemalloc_memory_pool())
    return str(pa.default_memory_pool().backend_name)


def _child(conn: Connection, target: Callable[..., Any], args: tuple[Any, ...], limits: SandboxLimits) -> None:
    _limit(limits)
    use_child_memory_pool()

    def progress(done: int, total: int) -> None:
        conn.send(("progress", done, total))

    try:
        conn.send(("ok", target(*args, progress=progress)))
    except FileError as exc:
        conn.send(("file_error", exc.code, exc.reason_zh, exc.reason_en))
    except MemoryError:
        conn.send(("file_error", *_args(_too_much_memory())))
    except BaseException:  # any other failure of the parser on this file: refuse the file
        conn.send(("crash", traceback.format_exc(limit=5)[-2000:]))
    finally:
        conn.close()


def _standardize(
    source: Source,
    schema: TableSchema,
    protector: Protector,
    county_code: str,
    sheet: str | None,
    *,
    progress: Callable[[int, int], None],
) -> tuple[StandardizedFeed, bytes]:
    result = standardize_feed(
        source, schema, protector=protector, county_code=county_code, sheet=sheet, progress=progress
    )
    sink = io.BytesIO()
    with pa.ipc.new_stream(sink, result.table.schema) as writer:
        writer.write_table(result.table)
    result.table = pa.table({})
    return result, sink.getvalue()


STAGED_ROWS = "rows.parquet"
STAGED_REPORT = "errors.csv"


def stage_feed(
    source: Source,
    schema: TableSchema,
    protector: Protector,
    county_code: str,
    sheet: str | None,
    out_dir: Path,
    *,
    progress: Callable[[int, int], None] | None = None,
) -> StandardizedFeed:
    """`standardize_feed_to` into `out_dir`: the kept rows as `rows.parquet` (the standardized
    schema, a row group per block), the row errors as `errors.csv` (the error report, masked)
    as they come. The result carries the counts and the first `KEEP_ERRORS` errors; whatever
    fails, the two files are removed."""
    out = Path(out_dir)
    sink = ParquetSink(out / STAGED_ROWS, out / STAGED_REPORT)
    try:
        result = standardize_feed_to(
            source, schema, sink, protector=protector, county_code=county_code, sheet=sheet, progress=progress
        )
        sink.close(arrow_schema(schema))
    except BaseException:
        sink.discard()
        raise
    result.errors = sink.errors
    result.error_count, result.warning_count = sink.error_count, sink.warning_count
    return result


def stage_in_sandbox(
    source: Source,
    schema: TableSchema,
    out_dir: Path,
    *,
    protector: Protector,
    county_code: str,
    sheet: str | None = None,
    limits: SandboxLimits | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> StandardizedFeed:
    """`stage_feed` in a spawned child under `limits`: the child reads the file and writes the
    staged rows and report into `out_dir` block by block, so neither process holds the rows;
    raises FileError as `run_in_sandbox` does (the caller removes `out_dir`)."""
    if isinstance(source, str):
        source = Path(source)
    result: StandardizedFeed = call_in_sandbox(
        stage_feed, (source, schema, protector, county_code, sheet, Path(out_dir)), limits=limits, progress=progress
    )
    return result


def _args(exc: FileError) -> tuple[str, str, str]:
    return exc.code, exc.reason_zh, exc.reason_en


def call_in_sandbox(
    target: Callable[..., Any],
    args: tuple[Any, ...],
    *,
    limits: SandboxLimits | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> Any:
    """`target(*args, progress=...)` in a spawned child under `limits`; its return value
    (which must pickle) or its FileError. Out of memory, out of time or a dead child → a
    FileError too. `target` must be importable (a module-level function)."""
    limits = limits or SandboxLimits.from_env()
    context = multiprocessing.get_context("spawn")
    parent, child = context.Pipe(duplex=False)
    process = context.Process(target=_child, args=(child, target, args, limits), daemon=True)
    process.start()
    child.close()
    deadline = time.monotonic() + limits.seconds
    message: Any = None
    try:
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise _timeout(limits.seconds)
            if not parent.poll(min(remaining, 1.0)):
                if not process.is_alive() and not parent.poll(0):
                    raise _crashed()
                continue
            try:
                message = parent.recv()
            except (EOFError, OSError):
                raise _crashed() from None
            if message[0] == "progress":
                if progress is not None:
                    progress(message[1], message[2])
                continue
            break
    finally:
        parent.close()
        if process.is_alive():
            process.kill()
        process.join(5)
    if message[0] == "ok":
        return message[1]
    if message[0] == "file_error":
        raise FileError(message[1], message[2], message[3])
    if any(word in message[1] for word in ("MemoryError", "bad_alloc", "Cannot allocate", "out of memory")):
        raise _too_much_memory()
    raise _crashed()


def run_in_sandbox(
    source: Source,
    schema: TableSchema,
    *,
    protector: Protector,
    county_code: str,
    sheet: str | None = None,
    limits: SandboxLimits | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> StandardizedFeed:
    """`standardize_feed` in a spawned child under `limits`; raises FileError when the file
    is refused or the child runs out of memory or time, or dies."""
    if isinstance(source, str):
        source = Path(source)
    result, table_bytes = call_in_sandbox(
        _standardize, (source, schema, protector, county_code, sheet), limits=limits, progress=progress
    )
    result.table = pa.ipc.open_stream(table_bytes).read_all()
    return result
