"""How many sockets one user and one address may hold open on this process.

The address cap is high (a class of 300 behind one NAT holds a few hundred
sockets from one address) and is there to keep file descriptors for
everyone else, /health included; the per-user cap is what stops one student
holding thousands.
"""

from __future__ import annotations

import collections
import contextlib
from collections.abc import Iterator

from aiohttp import web


class SocketCaps:
    def __init__(self, *, per_user: int, per_address: int) -> None:
        self.per_user = per_user
        self.per_address = per_address
        self._users: collections.Counter[int] = collections.Counter()
        self._addresses: collections.Counter[str] = collections.Counter()

    def address_full(self, address: str | None) -> bool:
        return self._addresses[address or ""] >= self.per_address

    def user_full(self, user_id: int) -> bool:
        return self._users[user_id] >= self.per_user

    @contextlib.contextmanager
    def held(self, counter: collections.Counter, key) -> Iterator[None]:
        counter[key] += 1
        try:
            yield
        finally:
            counter[key] -= 1
            if counter[key] <= 0:
                del counter[key]

    def address(self, address: str | None):
        return self.held(self._addresses, address or "")

    def user(self, user_id: int):
        return self.held(self._users, user_id)


SOCKET_CAPS = web.AppKey("socket_caps", SocketCaps)
