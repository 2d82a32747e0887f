"""Items of an iterator made by a thread of their own, one step ahead of their consumer.

A CSV's next block is read and cut (Arrow's CSV reader, most of it outside the GIL) while the
current one is finished: on two cores, the reading costs the import almost nothing. At most
`depth` items wait, so memory holds a block or two more, never the file.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterable, Iterator

_DONE = object()


class _Failed:
    def __init__(self, error: BaseException) -> None:
        self.error = error


def ahead[T](items: Iterable[T], *, depth: int = 1, name: str = "ahead") -> Iterator[T]:
    """`items` as they come, made in a background thread; an error raised while making one is
    raised here, where that item would have come. Closing the iterator early (an error in the
    consumer, `break`) stops the thread before it makes another item."""
    waiting: queue.Queue[object] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item: object) -> bool:
        while not stop.is_set():
            try:
                waiting.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    source = iter(items)

    def make() -> None:
        try:
            for item in source:
                if not put(item):
                    return
        except BaseException as exc:  # handed to the consumer, raised there
            put(_Failed(exc))
            return
        finally:
            close = getattr(source, "close", None)
            if close is not None:
                close()  # a generator stopped early lets go of its file here, not at collection
        put(_DONE)

    thread = threading.Thread(target=make, name=name, daemon=True)
    thread.start()
    try:
        while True:
            item = waiting.get()
            if item is _DONE:
                return
            if isinstance(item, _Failed):
                raise item.error
            yield item  # type: ignore[misc]
    finally:
        stop.set()
        thread.join()
