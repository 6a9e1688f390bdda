"""Students' phones for tests: `asistencia.client.Device` pointed at a test client."""

from __future__ import annotations

import pytest

from asistencia.appkeys import CONFIG
from asistencia.client import Authenticator, Device, RequestRefused
from asistencia.config import Config
from asistencia.store import session_keys
from asistencia.valkey import VALKEY


def phone(client, config: Config, token: str, *, authenticator: Authenticator | None = None,
          fingerprint: str | None = None) -> Device:
    """A new phone (fresh passkey unless given) for the student whose token it holds."""
    passkey = authenticator or Authenticator(rp_id=config.webauthn_rp_id, origin=config.webauthn_origin)
    return Device(client.session, str(client.make_url("")), token, passkey, fingerprint)


async def stored_session_key(client, user_id: int) -> session_keys.SessionKey | None:
    """What the server keeps for the student, read back from Valkey."""
    return await session_keys.load(client.app[VALKEY], client.app[CONFIG].session_key_ring, user_id)


async def refusal(call) -> tuple[int, str]:
    """(status, code) of an API call the server must refuse."""
    with pytest.raises(RequestRefused) as refused:
        await call
    return refused.value.status, refused.value.code
