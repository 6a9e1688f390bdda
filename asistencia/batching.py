"""Group commit: concurrent calls gathered into one batched call (one round trip for N requests).

A `Batcher` holds the items submitted while its previous batch is running
and then runs them together; an item submitted to an idle batcher waits only
for the end of the current event-loop turn. Each caller awaits its own item's
result, so a write's caller still hears of success only after the batch's
statement has committed.
"""

from __future__ import annotations

import asyncio
import collections
from collections.abc import Awaitable, Callable, Hashable, Sequence
from typing import Generic, TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")


class Batcher(Generic[Item, Result]):
    """Runs `run(items)` (which returns one result per item, in order) over batches of the
    submitted items, at most `max_size` at a time and one batch at a time.

    Items with the same `key` never share a batch: the second waits for the
    next one, so a batch sees each key once, as if the calls ran one by one.
    If `run` raises, every caller of that batch gets the exception.
    """

    def __init__(self, run: Callable[[list[Item]], Awaitable[Sequence[Result]]], *,
                 key: Callable[[Item], Hashable] | None = None, max_size: int = 200) -> None:
        self._run = run
        self._key = key
        self._max_size = max_size
        self._waiting: collections.deque[tuple[Item, asyncio.Future[Result]]] = collections.deque()
        self._running: asyncio.Task | None = None
        self._scheduled = False

    async def submit(self, item: Item) -> Result:
        future: asyncio.Future[Result] = asyncio.get_running_loop().create_future()
        self._waiting.append((item, future))
        if self._running is None and not self._scheduled:
            # Not at once: whatever else this loop turn submits joins the batch.
            asyncio.get_running_loop().call_soon(self._start)
            self._scheduled = True
        return await future

    async def drain(self) -> None:
        """Wait until everything submitted so far has run (shutdown)."""
        self._start()
        while self._running is not None:
            await asyncio.wait([self._running])
            self._start()

    def _start(self) -> None:
        self._scheduled = False
        if self._running is not None:
            return
        batch = self._take()
        if not batch:
            return
        self._running = asyncio.get_running_loop().create_task(self._run_batch(batch))
        self._running.add_done_callback(self._finished)

    def _take(self) -> list[tuple[Item, asyncio.Future[Result]]]:
        batch, later, keys = [], [], set()
        while self._waiting and len(batch) < self._max_size:
            item, future = entry = self._waiting.popleft()
            if future.done():
                continue  # its caller was cancelled before the batch started
            key = self._key(item) if self._key is not None else None
            if key is not None and key in keys:
                later.append(entry)
                continue
            keys.add(key)
            batch.append(entry)
        self._waiting.extendleft(reversed(later))
        return batch

    def _finished(self, _task: asyncio.Task) -> None:
        self._running = None
        if self._waiting:
            self._start()

    async def _run_batch(self, batch: list[tuple[Item, asyncio.Future[Result]]]) -> None:
        try:
            results = await self._run([item for item, _ in batch])
        except BaseException as exc:
            for _, future in batch:
                if future.done():
                    continue
                if isinstance(exc, asyncio.CancelledError):
                    future.cancel()
                else:
                    future.set_exception(exc)
            if not isinstance(exc, Exception):
                raise
            return
        for (_, future), result in zip(batch, results, strict=True):
            if not future.done():
                future.set_result(result)
