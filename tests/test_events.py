"""The per-process event hub over real Valkey pub/sub, including losing the connection."""

from __future__ import annotations

import asyncio
import secrets

import pytest

from asistencia.events import EventHub
from asistencia.valkey import Valkey, create_client


@pytest.fixture
async def make_hub(config):
    made = []

    async def make(name: str | None = None) -> tuple[EventHub, Valkey]:
        vk = Valkey(create_client(config.valkey_url, client_name=name), config.valkey_prefix)
        hub = EventHub(vk, max_backoff=0.2)
        await hub.start()
        made.append((hub, vk))
        return hub, vk

    yield make
    for hub, vk in made:
        await hub.stop()
        await vk.client.aclose()


async def _next(queue: asyncio.Queue, timeout: float = 3.0):
    return await asyncio.wait_for(queue.get(), timeout)


async def test_event_reaches_subscribers_of_its_topic_on_every_hub(make_hub):
    a, _ = await make_hub()
    b, _ = await make_hub()
    got_a, got_b, other = asyncio.Queue(), asyncio.Queue(), asyncio.Queue()
    a.subscribe(7, got_a.put_nowait)
    b.subscribe(7, got_b.put_nowait)
    b.subscribe(8, other.put_nowait)
    await a.publish(7, "joined", {"user": 1})
    assert await _next(got_a) == {"event": "joined", "data": {"user": 1}}
    assert await _next(got_b) == {"event": "joined", "data": {"user": 1}}
    await asyncio.sleep(0.1)
    assert other.empty()


async def test_unsubscribe_stops_delivery(make_hub):
    hub, _ = await make_hub()
    got = asyncio.Queue()
    unsubscribe = hub.subscribe("s", got.put_nowait)
    await hub.publish("s", "one", {})
    assert (await _next(got))["event"] == "one"
    unsubscribe()
    await hub.publish("s", "two", {})
    await asyncio.sleep(0.2)
    assert got.empty()


async def test_a_failing_subscriber_does_not_starve_the_others(make_hub):
    hub, _ = await make_hub()
    got = asyncio.Queue()

    def broken(event):
        raise RuntimeError("boom")

    hub.subscribe(1, broken)
    hub.subscribe(1, got.put_nowait)
    await hub.publish(1, "x", {})
    assert (await _next(got))["event"] == "x"


async def test_reconnects_after_losing_the_connection_and_asks_for_resync(make_hub):
    name = f"hub-{secrets.token_hex(4)}"
    hub, vk = await make_hub(name)
    publisher, _ = await make_hub()
    got = asyncio.Queue()
    hub.subscribe(3, got.put_nowait)
    clients = await vk.client.client_list(_type="pubsub")
    ours = [c["id"] for c in clients if c.get("name") == name]
    assert ours, clients
    for client_id in ours:
        await vk.client.client_kill_filter(_id=client_id)
    assert await _next(got, timeout=5) == {"event": "resync", "data": {}}
    await publisher.publish(3, "after", {"ok": True})
    assert await _next(got) == {"event": "after", "data": {"ok": True}}


async def test_concurrent_events_arrive_in_order_with_one_message_per_run_of_a_topic(make_hub):
    publisher, vk = await make_hub()
    listener, _ = await make_hub()
    on_s, on_t = asyncio.Queue(), asyncio.Queue()
    listener.subscribe("s", on_s.put_nowait)
    listener.subscribe("t", on_t.put_nowait)
    raw = vk.client.pubsub(ignore_subscribe_messages=True)
    await raw.psubscribe(publisher.channel("*"))
    sent = [("s", 1), ("s", 2), ("s", 3), ("t", 1), ("s", 4), ("s", 5)]
    await asyncio.gather(*(publisher.publish(topic, "n", {"n": n}) for topic, n in sent))
    assert [(await _next(on_s))["data"]["n"] for _ in range(5)] == [1, 2, 3, 4, 5]
    assert (await _next(on_t)) == {"event": "n", "data": {"n": 1}}
    messages = []
    deadline = asyncio.get_running_loop().time() + 1.0
    while asyncio.get_running_loop().time() < deadline:  # the confirmation reads as None: go by time
        message = await raw.get_message(timeout=0.1)
        if message is not None:
            messages.append(message["channel"].decode().removeprefix(publisher.channel("")))
    await raw.aclose()
    assert messages == ["s", "t", "s"]
