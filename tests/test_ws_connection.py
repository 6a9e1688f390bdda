"""The per-connection send queue: in order, bounded, and no writer task while idle."""

from __future__ import annotations

import asyncio
import json

from asistencia.tokens import User
from asistencia.ws.connection import Connection
from asistencia.ws.const import CLOSE_TOO_SLOW


class _Socket:
    """The part of a WebSocketResponse a Connection uses; `send_str` waits while `stalled` is clear."""

    def __init__(self) -> None:
        self.sent: list[str] = []
        self.closed = False
        self.close_code: int | None = None
        self.stalled = asyncio.Event()
        self.stalled.set()

    async def send_str(self, text: str) -> None:
        await self.stalled.wait()
        self.sent.append(text)

    async def close(self, *, code: int, message: bytes) -> None:
        self.closed = True
        self.close_code = code


def _connection(ws: _Socket, queue_size: int = 4) -> Connection:
    return Connection(None, ws, User(1, "u", "alumno"), token_expires=0.0, request_id="r", remote=None,
                      queue_size=queue_size)


async def _settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_messages_go_out_in_order_and_the_writer_ends_when_the_queue_is_empty():
    ws = _Socket()
    connection = _connection(ws)
    assert connection._writer is None
    for n in range(3):
        connection.send({"n": n})
    await _settle()
    assert [json.loads(text)["n"] for text in ws.sent] == [0, 1, 2]
    assert connection._writer is None
    connection.send({"n": 3})
    await _settle()
    assert json.loads(ws.sent[-1])["n"] == 3 and connection._writer is None
    await connection.aclose()


async def test_a_client_that_does_not_keep_up_is_cut_off():
    ws = _Socket()
    ws.stalled.clear()
    connection = _connection(ws, queue_size=4)
    connection.send({"n": 0})
    await _settle()  # the writer took message 0 and is stuck sending it
    for n in range(1, 5):
        connection.send({"n": n})
    assert not ws.closed
    connection.send({"n": 5})  # one more than the queue holds
    await _settle()
    assert ws.closed and ws.close_code == CLOSE_TOO_SLOW
    await connection.aclose()


async def test_a_timer_is_cancelled_when_the_connection_ends():
    fired = []
    connection = _connection(_Socket())
    connection.set_timer(0.05, lambda: fired.append(1))
    await connection.aclose()
    await asyncio.sleep(0.1)
    assert fired == []
