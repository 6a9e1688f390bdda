"""A minimal WebSocket client that timestamps each message the moment its bytes arrive.

For measuring a server's send timing with hundreds of sockets in one client
process: aiohttp's client wakes a reader task per message, so the last of a
burst of 500 is read tens of milliseconds after it arrived, and that lag
would be charged to the server. Here each message costs one protocol
callback and a little slicing; nothing is parsed as JSON until later.
Only what a benchmark needs: unmasked server frames, text/ping/close, no
extensions, no fragmentation.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import struct
import time
from typing import Any

TEXT, CLOSE, PING, PONG = 0x1, 0x8, 0x9, 0xA


class StampedSocket(asyncio.Protocol):
    def __init__(self) -> None:
        self.messages: list[tuple[float, bytes]] = []
        self.closed = False
        self._transport: asyncio.Transport | None = None
        self._buffer = b""
        self._upgraded: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._arrived = asyncio.Event()

    @classmethod
    async def connect(cls, host: str, port: int, path: str) -> StampedSocket:
        loop = asyncio.get_running_loop()
        _, socket = await loop.create_connection(cls, host, port)
        key = base64.b64encode(os.urandom(16)).decode()
        socket._transport.write((f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
                                 f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                                 "Sec-WebSocket-Version: 13\r\n\r\n").encode())
        await socket._upgraded
        return socket

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport  # type: ignore[assignment]

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if not self._upgraded.done():
            self._upgraded.set_exception(ConnectionError("closed during the handshake"))
        self._arrived.set()

    def data_received(self, data: bytes) -> None:
        now = time.time()
        self._buffer += data
        if not self._upgraded.done():
            head, sep, rest = self._buffer.partition(b"\r\n\r\n")
            if not sep:
                return
            if not head.startswith(b"HTTP/1.1 101"):
                self._upgraded.set_exception(ConnectionError(head.split(b"\r\n")[0].decode()))
                return
            self._buffer = rest
            self._upgraded.set_result(None)
        self._parse(now)

    def _parse(self, now: float) -> None:
        buffer = self._buffer
        while len(buffer) >= 2:
            opcode, length, start = buffer[0] & 0x0F, buffer[1] & 0x7F, 2
            if length == 126:
                if len(buffer) < 4:
                    break
                length, start = struct.unpack_from("!H", buffer, 2)[0], 4
            elif length == 127:
                if len(buffer) < 10:
                    break
                length, start = struct.unpack_from("!Q", buffer, 2)[0], 10
            if len(buffer) < start + length:
                break
            payload, buffer = buffer[start:start + length], buffer[start + length:]
            if opcode == TEXT:
                self.messages.append((now, payload))
                self._arrived.set()
            elif opcode == PING:
                self._send(PONG, payload)
            elif opcode == CLOSE:
                self._transport.close()
        self._buffer = buffer

    def _send(self, opcode: int, payload: bytes) -> None:
        mask = os.urandom(4)
        size = len(payload)
        header = bytes([0x80 | opcode]) + (bytes([0x80 | size]) if size < 126 else
                                            bytes([0x80 | 126]) + struct.pack("!H", size))
        masked = (int.from_bytes(payload, "big") ^ int.from_bytes((mask * (size // 4 + 1))[:size], "big"))
        self._transport.write(header + mask + masked.to_bytes(size, "big"))

    def send_json(self, message: dict[str, Any]) -> None:
        self._send(TEXT, json.dumps(message).encode())

    async def receive_json(self, index: int, timeout: float) -> dict[str, Any]:
        """The index-th text message (0-based), waiting for it up to `timeout` seconds."""
        async with asyncio.timeout(timeout):
            while len(self.messages) <= index:
                if self.closed:
                    raise ConnectionError("closed")
                self._arrived.clear()
                await self._arrived.wait()
        return json.loads(self.messages[index][1])

    def close(self) -> None:
        if not self.closed:
            self._send(CLOSE, struct.pack("!H", 1000))
            self._transport.close()
