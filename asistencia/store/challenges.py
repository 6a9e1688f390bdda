"""Single-use WebAuthn challenges in Valkey (SPEC §3.1, §3.2): 5 minutes each.

One outstanding challenge per student and ceremony: asking for new options
replaces the old one. A device login cannot be looked up by the challenge
the authenticator signed (that is SHA-256(challenge ‖ client key)), so the
challenge is found by who asks, not by its value.

Consuming leaves a tombstone for another 5 minutes, so a replay is told
apart from a challenge that was never issued or has expired.
"""

from __future__ import annotations

import dataclasses
import json
import os

from asistencia.crypto import b64url_decode, b64url_encode
from asistencia.errors import Conflict, Gone
from asistencia.passkeys import CEREMONY_SECONDS
from asistencia.valkey import Valkey

TTL_SECONDS = CEREMONY_SECONDS
CHALLENGE_BYTES = 32
ENROLLMENT = "enrollment"
LOGIN = "login"

_USED = b"used"

# GET, then replace with the tombstone: atomic, so two racing verifications
# cannot both take the same challenge.
_CONSUME = """
local value = redis.call('GET', KEYS[1])
if not value then return false end
if value ~= ARGV[1] then redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2]) end
return value
"""


@dataclasses.dataclass(frozen=True)
class Challenge:
    value: bytes
    # What the challenge was issued for, checked when it comes back (the enrolling phone's fingerprint).
    context: str = ""


def _key(vk: Valkey, ceremony: str, user_id: int) -> str:
    return vk.key("challenge", ceremony, user_id)


async def issue(vk: Valkey, ceremony: str, user_id: int, *, context: str = "") -> Challenge:
    challenge = Challenge(os.urandom(CHALLENGE_BYTES), context)
    stored = json.dumps({"challenge": b64url_encode(challenge.value), "context": context})
    await vk.client.set(_key(vk, ceremony, user_id), stored, ex=TTL_SECONDS)
    return challenge


async def consume(vk: Valkey, ceremony: str, user_id: int) -> Challenge:
    """The outstanding challenge, now used; 410 if none is outstanding, 409 if already used."""
    script = vk.client.register_script(_CONSUME)
    stored = await script(keys=[_key(vk, ceremony, user_id)], args=[_USED, TTL_SECONDS])
    if stored is None:
        raise Gone("No challenge is outstanding (never asked for, or older than 5 minutes); "
                   "ask for new options", code="CHALLENGE_EXPIRED")
    if stored == _USED:
        raise Conflict("This challenge was already used; ask for new options", code="CHALLENGE_USED")
    data = json.loads(stored)
    return Challenge(b64url_decode(data["challenge"]), data["context"])
