"""A terminal progress bar behind the `report(done, total, message)` callback of long work."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from tqdm import tqdm


@contextmanager
def progress_bar(desc: str, *, disable: bool = False, unit: str = " 行") -> Iterator[Callable[..., None]]:
    """Yields a callback for jobs and commands alike; the total may change as work is discovered."""
    bar = tqdm(total=0, unit=unit, desc=desc, disable=disable)

    def report(done: int, total: int, message: str = "") -> None:
        if bar.total != total:
            bar.total = total
        bar.n = done
        bar.set_postfix_str(message, refresh=False)
        bar.refresh()

    try:
        yield report
    finally:
        bar.close()
