"""How many sockets one user and one address may hold open on this process.

The address cap is high (a class of 300 behind one NAT holds a few hundred
sockets from one address) and is there to keep file descriptors for
everyone else, /health included; the per-user cap is what stops one student
holding thousands.
"""

from __future__ import annotations

import collections

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

    def address(self, address: str | None) -> Held:
        return Held(self._addresses, address or "")

    def user(self, user_id: int) -> Held:
        return Held(self._users, user_id)


class Held:
    """One socket counted under `key` while the `with` block runs. A plain object rather than
    a `contextlib.contextmanager` generator: every open socket holds two of these for its life,
    and a suspended generator with its wrapper is ~350 bytes more each (bench.socket_memory)."""

    __slots__ = ("counter", "key")

    def __init__(self, counter: collections.Counter, key: object) -> None:
        self.counter = counter
        self.key = key

    def __enter__(self) -> None:
        self.counter[self.key] += 1

    def __exit__(self, *exc: object) -> None:
        self.counter[self.key] -= 1
        if self.counter[self.key] <= 0:
            del self.counter[self.key]


SOCKET_CAPS = web.AppKey("socket_caps", SocketCaps)
