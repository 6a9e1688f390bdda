"""The per-process event hub: one Valkey pub/sub subscription fanned out to local subscribers.

Publishers call `publish(topic, event)` after their database commit; every
process's hub receives it and calls the local callbacks for that topic (a
WebSocket connection's non-blocking `send`, typically). Concurrent events go
out in one pipeline, and a run of them to one topic as one message (a JSON
array), so a class scanning at once costs one PUBLISH per batch. If the pub/sub
connection drops, the hub reconnects with backoff and tells every local
subscriber to `resync`, since events may have been missed meanwhile.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import operator
import re
from collections import defaultdict
from collections.abc import AsyncIterator, Callable
from typing import Any

from aiohttp import web
from redis.exceptions import RedisError

from asistencia import jsoncodec
from asistencia.batching import Batcher
from asistencia.valkey import VALKEY, Valkey

log = logging.getLogger(__name__)

Callback = Callable[[dict[str, Any]], None]
RESYNC = {"event": "resync", "data": {}}


class EventHub:
    def __init__(self, vk: Valkey, *, max_backoff: float = 5.0) -> None:
        self._vk = vk
        self._prefix = vk.key("events", "")
        self._subscribers: dict[str, set[Callback]] = defaultdict(set)
        self._task: asyncio.Task | None = None
        self._ready = asyncio.Event()
        self._max_backoff = max_backoff
        self._publishing: Batcher[tuple[str, bytes], None] = Batcher(self._publish_all)

    def channel(self, topic: str | int) -> str:
        return f"{self._prefix}{topic}"

    async def publish(self, topic: str | int, event: str, data: dict[str, Any]) -> None:
        """Send to every process. A Valkey failure is logged, not raised: the
        database already holds the truth and subscribers resync on reconnect."""
        message = jsoncodec.dumps_bytes({"event": event, "data": data})
        try:
            await self._publishing.submit((self.channel(topic), message))
        except RedisError:
            log.warning("could not publish event", extra={"topic": str(topic), "event": event})

    async def _publish_all(self, messages: list[tuple[str, bytes]]) -> list[None]:
        """Concurrent publishers' messages in one pipeline, in the order they were published;
        consecutive messages to one channel (a class's scans) go as one, a JSON array of them."""
        async with self._vk.client.pipeline(transaction=False) as pipe:
            for channel, run in itertools.groupby(messages, key=operator.itemgetter(0)):
                events = [message for _, message in run]
                pipe.publish(channel, events[0] if len(events) == 1 else b"[" + b",".join(events) + b"]")
            await pipe.execute()
        return [None] * len(messages)

    def subscribe(self, topic: str | int, callback: Callback) -> Callable[[], None]:
        """Register synchronously (no await between this and a snapshot); returns the undo."""
        subscribers = self._subscribers[str(topic)]
        subscribers.add(callback)

        def unsubscribe() -> None:
            subscribers.discard(callback)
            if not subscribers:
                self._subscribers.pop(str(topic), None)

        return unsubscribe

    def _deliver(self, topic: str, event: dict[str, Any]) -> None:
        for callback in list(self._subscribers.get(topic, ())):
            try:
                callback(event)
            except Exception:
                log.exception("event subscriber failed", extra={"topic": topic})

    def _resync_all(self) -> None:
        for topic in list(self._subscribers):
            self._deliver(topic, RESYNC)

    async def start(self) -> None:
        self._task = asyncio.create_task(self._listen(), name="event-hub")
        await asyncio.wait_for(self._ready.wait(), timeout=10)

    async def stop(self) -> None:
        await self._publishing.drain()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _listen(self) -> None:
        pattern = _glob_escape(self._prefix) + "*"
        backoff = 0.1
        reconnecting = False
        while True:
            pubsub = self._vk.client.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.psubscribe(pattern)
                self._ready.set()
                if reconnecting:
                    log.info("event hub reconnected; asking subscribers to resync")
                    self._resync_all()
                    reconnecting = False
                backoff = 0.1
                while True:
                    # get_message needs a timeout: without one it busy-loops.
                    message = await pubsub.get_message(timeout=1.0)
                    if message is None or message.get("type") != "pmessage":
                        continue
                    topic = message["channel"].decode()[len(self._prefix):]
                    if topic not in self._subscribers:
                        continue  # every process hears every event; most have no one here to take it
                    try:
                        sent = jsoncodec.loads(message["data"])
                    except (ValueError, TypeError):
                        log.warning("dropping malformed event", extra={"topic": topic})
                        continue
                    for event in sent if isinstance(sent, list) else [sent]:
                        self._deliver(topic, event)
            except (RedisError, OSError) as exc:
                log.warning("event hub lost Valkey; reconnecting",
                            extra={"reason": str(exc) or type(exc).__name__, "retry_in_s": backoff})
                reconnecting = True
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, self._max_backoff)
            finally:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()


EVENTS = web.AppKey("events", EventHub)


def _glob_escape(text: str) -> str:
    return re.sub(r"([*?\[\]\\])", r"\\\1", text)


async def events_ctx(app: web.Application) -> AsyncIterator[None]:
    hub = EventHub(app[VALKEY])
    await hub.start()
    app[EVENTS] = hub
    yield
    await hub.stop()
