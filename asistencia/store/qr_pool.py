"""The live QR pool of each class session, in Valkey (see lua/common.lua for its keys).

Every operation is one Lua script, so it is atomic across processes and
costs O(log n) in the pool size at most: a projector tick picks the next
entries of a sorted set; a scan checks and consumes one entry. Entry ids are
the hex of the QR's nonce (decoys: random, same shape); they and the owners
never leave the server — projectors only get texts. An entry holds a text
per showing (its payload sealed afresh for each), and the pool records when
each showing started, so a scan's response time is measured from the
showing it answered.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Sequence
from importlib import resources

from aiohttp import web
from redis.commands.core import AsyncScript
from redis.exceptions import NoScriptError

from asistencia.batching import Batcher
from asistencia.domain.qr_payload import RoundQr
from asistencia.valkey import VALKEY, Valkey

_KEY_NAMES = ("pool", "entry", "used", "live", "decoys", "frame")


def _script_source(name: str) -> str:
    lua = resources.files("asistencia.store") / "lua"
    return (lua / "common.lua").read_text() + "\n" + (lua / f"{name}.lua").read_text()


@dataclasses.dataclass(frozen=True)
class StaleQr:
    """A student's QR past its projectable time, to be re-issued with a new nonce."""

    entry_id: str
    owner: int
    round: int


@dataclasses.dataclass(frozen=True)
class Frame:
    now_ms: int
    texts: list[str]
    stale: list[StaleQr]
    decoys_needed: int
    shown_ms: int  # when the frame goes on screen: the start of its texts' showing


@dataclasses.dataclass(frozen=True)
class Consumed:
    first_shown_ms: int
    shown_ms: int  # the start of the showing whose text was answered
    receipt_ms: int

    @property
    def response_ms(self) -> int:
        """Receipt minus the start of the answered showing, both on Valkey's clock."""
        return max(0, self.receipt_ms - self.shown_ms)


def _flag(value: bool) -> str:
    return "1" if value else "0"


class QrPool:
    def __init__(self, vk: Valkey) -> None:
        self._vk = vk
        client = vk.client
        self._pad: AsyncScript = client.register_script(_script_source("pad"))
        self._tick: AsyncScript = client.register_script(_script_source("tick"))
        self._issue: AsyncScript = client.register_script(_script_source("issue"))
        self._consume: AsyncScript = client.register_script(_script_source("consume"))
        self._undo: AsyncScript = client.register_script(_script_source("undo"))
        self._retire: AsyncScript = client.register_script(_script_source("retire"))
        self._consumes = Batcher(self._consume_all)

    def keys(self, session_id: int) -> list[str]:
        return [self.key(session_id, name) for name in _KEY_NAMES]

    def key(self, session_id: int, name: str) -> str:
        """One key of the session's pool, by its name in lua/common.lua."""
        return self._vk.key("qr", session_id, name)

    async def pad(self, session_id: int, decoys: Sequence[tuple[str, Sequence[str]]], *, keep_until: int) -> int:
        """Add decoys (entry id, texts); returns the pool size."""
        args: list[str | int] = [keep_until]
        for entry_id, texts in decoys:
            args += [entry_id, ",".join(texts)]
        return await self._pad(keys=self.keys(session_id), args=args)

    async def tick(self, session_id: int, *, tick_ms: int, per_frame: int, stale_after_ms: int, min_pool: int,
                   keep_until: int, showing_offset_ms: int) -> Frame:
        """The frame of the current tick slot, on screen `showing_offset_ms` into the slot;
        the caller re-issues `stale` and adds `decoys_needed`."""
        now_ms, frame, stale, decoys_needed, shown_ms = await self._tick(
            keys=self.keys(session_id),
            args=[tick_ms, per_frame, stale_after_ms, min_pool, keep_until, showing_offset_ms])
        texts = frame.decode().split("|") if frame else []
        return Frame(int(now_ms), texts, [_stale(item) for item in stale], int(decoys_needed), int(shown_ms))

    async def issue(self, session_id: int, qr: RoundQr, *, mode: str, keep_until: int, stale_after_ms: int = 0,
                    replacing: str = "") -> bool:
        """Make `qr` the student's live QR (see lua/issue.lua for `mode`); False if kept as it was."""
        added, _ = await self._issue(keys=self.keys(session_id), args=[
            mode, qr.owner, qr.round, qr.key_id, qr.entry_id, ",".join(qr.texts), stale_after_ms, keep_until,
            replacing])
        return bool(added)

    async def consume(self, session_id: int, *, entry_id: str, text: str, owner: int, expected_round: int,
                      proof_round: int, attempts_left: bool, window_ms: int, keep_until: int,
                      next_qr: RoundQr | None) -> Consumed | str:
        """Check and use up a QR in one step: a `Consumed`, or the code of the first failed check.

        Concurrent consumes go to Valkey together, one pipeline per batch; each is
        still its own script run, atomic on its own.
        """
        following = ([next_qr.entry_id, next_qr.round, next_qr.key_id, ",".join(next_qr.texts)] if next_qr
                     else ["", "", "", ""])
        reply = await self._consumes.submit((self.keys(session_id), [
            entry_id, text, owner, expected_round, proof_round, _flag(attempts_left), window_ms,
            keep_until, *following]))
        if isinstance(reply, Exception):
            raise reply
        if reply[0] != b"OK":
            return reply[0].decode()
        return Consumed(int(reply[1]), int(reply[2]), int(reply[3]))

    async def _consume_all(self, calls: list[tuple[list[str], list]]) -> list:
        """The consume script's replies (or per-call errors), one pipeline round trip for all."""
        async with self._vk.client.pipeline(transaction=False) as pipe:
            for keys, args in calls:
                pipe.evalsha(self._consume.sha, len(keys), *keys, *args)
            replies = await pipe.execute(raise_on_error=False)
        # A Valkey that lost its script cache (a restart) says NOSCRIPT: those run
        # again the usual way, which loads the script.
        return [await self._consume(keys=keys, args=args) if isinstance(reply, NoScriptError) else reply
                for (keys, args), reply in zip(calls, replies, strict=True)]

    async def drain(self) -> None:
        await self._consumes.drain()

    async def undo(self, session_id: int, *, entry_id: str, owner: int, next_qr: RoundQr | None,
                   keep_until: int) -> None:
        await self._undo(keys=self.keys(session_id),
                         args=[entry_id, owner, next_qr.entry_id if next_qr else "", keep_until])

    async def retire(self, session_id: int, owner: int, *, only: str = "") -> str | None:
        """Stop projecting the student's live QR (only if it is `only`, when given)."""
        retired = await self._retire(keys=self.keys(session_id), args=[owner, only])
        return retired.decode() or None

    async def discard(self, session_id: int) -> None:
        """Drop a closed session's pool."""
        await self._vk.client.unlink(*self.keys(session_id))

    async def live_entry(self, session_id: int, owner: int) -> str | None:
        """The entry id of the student's live QR (tests and diagnostics)."""
        value = await self._vk.client.hget(self.key(session_id, "live"), str(owner))
        return value.decode() if value else None


QR_POOL = web.AppKey("qr_pool", QrPool)


def _stale(item: bytes) -> StaleQr:
    entry_id, owner, round_ = item.decode().split("|")
    return StaleQr(entry_id, int(owner), int(round_))


async def qr_pool_ctx(app: web.Application) -> AsyncIterator[None]:
    app[QR_POOL] = pool = QrPool(app[VALKEY])
    yield
    await pool.drain()
