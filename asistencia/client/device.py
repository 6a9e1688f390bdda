"""A student's phone speaking the HTTP API: enrollment and device login (SPEC §3.1, §3.2).

The reference for other clients: `login` makes an ephemeral ECDH key, asks
the passkey to sign SHA-256(server challenge ‖ its public key), and derives
the session key on its own side from the server's public key.

    async with aiohttp.ClientSession() as http:
        phone = Device(http, "http://localhost:3000", token,
                       Authenticator(rp_id="localhost", origin="http://localhost:3000"))
        await phone.enroll()
        session = await phone.login()   # session.key is what scanning encrypts with
"""

from __future__ import annotations

import dataclasses
import secrets
from typing import Any

import aiohttp

from asistencia import crypto
from asistencia.client.authenticator import Authenticator
from asistencia.client.http import decoded


@dataclasses.dataclass(frozen=True)
class DeviceSession:
    """A device login as the phone sees it; `key` was derived here, never received."""

    key: bytes
    credential_id: str
    server_public_key: bytes
    expires_at: int


class Device:
    """One phone (its passkey and fingerprint) acting for the student whose token it holds.

    `token` may be replaced when it expires. `http` belongs to the caller.
    """

    def __init__(self, http: aiohttp.ClientSession, base_url: str, token: str, authenticator: Authenticator,
                 fingerprint: str | None = None) -> None:
        self.http = http
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.authenticator = authenticator
        self.fingerprint = fingerprint or secrets.token_urlsafe(16)

    async def request(self, method: str, path: str, *, json: Any = None, params: dict[str, str] | None = None) -> Any:
        """One API call; the decoded JSON body (None for 204), or RequestRefused."""
        async with self.http.request(method, self.base_url + path, json=json, params=params,
                                     headers={"Authorization": f"Bearer {self.token}"}) as response:
            return await decoded(response)

    async def enrollment_options(self) -> dict[str, Any]:
        return await self.request("POST", "/api/enrollment/options", json={"fingerprint": self.fingerprint})

    async def verify_enrollment(self, credential: dict[str, Any]) -> dict[str, Any]:
        return await self.request("POST", "/api/enrollment/verify",
                                  json={"credential": credential, "fingerprint": self.fingerprint})

    async def enroll(self, **quirks: Any) -> dict[str, Any]:
        """Enroll this phone; returns the device. `quirks` go to Authenticator.create."""
        options = await self.enrollment_options()
        return (await self.verify_enrollment(self.authenticator.create(options, **quirks)))["device"]

    async def login_options(self) -> dict[str, Any]:
        return await self.request("POST", "/api/login/options", json={})

    def assert_for(self, options: dict[str, Any], client_public_key: bytes, **quirks: Any) -> dict[str, Any]:
        """The assertion a login sends: over the server's challenge bound to our ECDH public key."""
        bound = crypto.login_challenge(crypto.b64url_decode(options["challenge"]), client_public_key)
        return self.authenticator.get({**options, "challenge": crypto.b64url_encode(bound)}, **quirks)

    async def verify_login(self, credential: dict[str, Any], client_public_key: bytes) -> dict[str, Any]:
        return await self.request("POST", "/api/login/verify", json={
            "credential": credential, "client_public_key": crypto.b64url_encode(client_public_key)})

    async def login(self, **quirks: Any) -> DeviceSession:
        """Log this phone in and derive the session key. `quirks` go to Authenticator.get."""
        own_key = crypto.new_ecdh_key()
        own_public = crypto.public_key_raw(own_key)
        options = await self.login_options()
        reply = await self.verify_login(self.assert_for(options, own_public, **quirks), own_public)
        server_public = crypto.b64url_decode(reply["server_public_key"])
        credential_id = self.authenticator.credential_id_text
        return DeviceSession(key=crypto.derive_session_key(own_key, server_public, credential_id),
                             credential_id=credential_id, server_public_key=server_public,
                             expires_at=reply["expires_at"])

    async def logout(self) -> None:
        await self.request("DELETE", "/api/login")

    async def access_state(self) -> dict[str, Any]:
        return await self.request("GET", "/api/access/state", params={"fingerprint": self.fingerprint})

    async def devices(self) -> list[dict[str, Any]]:
        return (await self.request("GET", "/api/enrollment/devices"))["devices"]

    async def revoke(self, device_id: int) -> dict[str, Any]:
        return (await self.request("DELETE", f"/api/enrollment/devices/{device_id}"))["device"]
