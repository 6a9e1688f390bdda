"""Students' phones and their audit trail (SPEC §3.1): every device SQL statement.

A device goes pending → enrolled → revoked; every change writes a
`device_audit` row saying who (actor), why (reason) and when. At most one
device per student is enrolled and at most one pending (partial unique
indexes). A student's first phone is enrolled at once; one that replaces an
enrolled phone stays pending until its `activates_at` (the cool-off) or a
professor's approval, and then revokes the others in the same transaction.
"""

from __future__ import annotations

import dataclasses
import datetime
from typing import Any

import aiopg
from psycopg2.extras import Json

from asistencia.db import cursor
from asistencia.passkeys import Registration

# Revocation reasons, as written to the audit trail and shown to the student.
REPLACED = "replaced_by_new_device"
SUPERSEDED = "superseded_by_new_device"
BY_OWNER = "revoked_by_owner"
CLONE_SUSPECTED = "clone_suspected"


@dataclasses.dataclass(frozen=True)
class Device:
    id: int
    user_id: int
    credential_id: bytes
    public_key: bytes
    sign_count: int
    aaguid: str | None
    transports: tuple[str, ...]
    fingerprint: str
    status: str
    created_at: datetime.datetime
    enrolled_at: datetime.datetime | None
    revoked_at: datetime.datetime | None
    revoked_reason: str | None
    last_login_at: datetime.datetime | None
    activates_at: datetime.datetime | None = None  # when a pending replacement counts by itself


_SELECT = """
SELECT d.id, d.user_id, d.credential_id, d.public_key, d.sign_count, d.aaguid::text AS aaguid,
    d.transports, d.fingerprint, d.status, d.created_at, d.enrolled_at, d.revoked_at, d.last_login_at,
    d.activates_at,
    (SELECT a.reason FROM device_audit a
      WHERE a.device_id = d.id AND a.to_status = 'revoked'
      ORDER BY a.at DESC, a.id DESC LIMIT 1) AS revoked_reason
  FROM devices d
 WHERE """


def _device(row: dict[str, Any]) -> Device:
    return Device(**{**row, "credential_id": bytes(row["credential_id"]), "public_key": bytes(row["public_key"]),
                     "transports": tuple(row["transports"])})


async def _audit(cur, *, device_id: int, user_id: int, actor_id: int | None, action: str,
                 from_status: str | None = None, to_status: str | None = None, reason: str = "",
                 detail: dict[str, Any] | None = None) -> None:
    await cur.execute(
        "INSERT INTO device_audit (device_id, user_id, actor_id, action, from_status, to_status, reason, detail) "
        "VALUES (%(device_id)s, %(user_id)s, %(actor_id)s, %(action)s, %(from_status)s, %(to_status)s, "
        "%(reason)s, %(detail)s)",
        {"device_id": device_id, "user_id": user_id, "actor_id": actor_id, "action": action,
         "from_status": from_status, "to_status": to_status, "reason": reason, "detail": Json(detail or {})},
    )


async def _select(cur, condition: str, params: dict[str, Any]) -> list[Device]:
    # Only constant SQL is joined here; values always travel as parameters.
    await cur.execute(_SELECT + condition, params)
    return [_device(row) for row in await cur.fetchall()]


async def of_user(pool: aiopg.Pool, user_id: int) -> list[Device]:
    """Every device of a student, newest first."""
    async with cursor(pool) as cur:
        return await _select(cur, "d.user_id = %(user_id)s ORDER BY d.id DESC", {"user_id": user_id})


async def owned(pool: aiopg.Pool, user_id: int, device_id: int) -> Device | None:
    """The device, if it is this student's."""
    async with cursor(pool) as cur:
        found = await _select(cur, "d.id = %(id)s AND d.user_id = %(user_id)s", {"id": device_id, "user_id": user_id})
    return found[0] if found else None


async def current(pool: aiopg.Pool, user_id: int) -> Device | None:
    """The student's enrolled device, or else their most recent one (to say why it ended)."""
    async with cursor(pool) as cur:
        found = await _select(cur, "d.user_id = %(user_id)s ORDER BY d.status = 'enrolled' DESC, d.id DESC LIMIT 1",
                              {"user_id": user_id})
    return found[0] if found else None


async def by_credential(pool: aiopg.Pool, credential_id: bytes) -> Device | None:
    async with cursor(pool) as cur:
        found = await _select(cur, "d.credential_id = %(credential_id)s", {"credential_id": credential_id})
    return found[0] if found else None


async def serves_another(cur, fingerprint: str, user_id: int) -> bool:
    """Whether the phone `fingerprint` is live (enrolled or pending) for another student.

    Takes a transaction-scoped lock on the fingerprint first, so two students
    enrolling from one phone at once take turns and the second sees the first.
    """
    await cur.execute("SELECT pg_advisory_xact_lock(hashtextextended('device-fingerprint|' || %(fp)s, 0))",
                      {"fp": fingerprint})
    await cur.execute(
        "SELECT EXISTS (SELECT 1 FROM devices WHERE fingerprint = %(fp)s AND user_id <> %(user_id)s "
        "AND status IN ('enrolled', 'pending')) AS taken",
        {"fp": fingerprint, "user_id": user_id},
    )
    return (await cur.fetchone())["taken"]


async def active_id(cur, user_id: int) -> int | None:
    """The id of the student's active (enrolled) device, if any."""
    await cur.execute("SELECT id FROM devices WHERE user_id = %(user_id)s AND status = 'enrolled'",
                      {"user_id": user_id})
    row = await cur.fetchone()
    return None if row is None else row["id"]


async def lock(cur, device_id: int) -> Device:
    """The device row, locked until the transaction ends (logins and revocations serialise on it)."""
    return (await _select(cur, "d.id = %(id)s FOR UPDATE OF d", {"id": device_id}))[0]


async def enroll(cur, user_id: int, registration: Registration, fingerprint: str, *,
                 cool_off_hours: float) -> Device | None:
    """Register the device: enrolled at once (revoking the student's others) when it is their
    first or there is no cool-off, else pending until the cool-off ends (a pending device it
    supersedes is revoked). None if the credential is already known.

    Call inside a transaction that has locked the student's `users` row, so a
    student's concurrent enrollments take turns.
    """
    await revoke(cur, user_id=user_id, actor_id=user_id, reason=SUPERSEDED, pending_only=True)
    await cur.execute(
        "INSERT INTO devices (user_id, credential_id, public_key, sign_count, aaguid, transports, fingerprint) "
        "VALUES (%(user_id)s, %(credential_id)s, %(public_key)s, %(sign_count)s, %(aaguid)s::uuid, "
        "%(transports)s, %(fingerprint)s) "
        "ON CONFLICT (credential_id) DO NOTHING RETURNING id",
        {"user_id": user_id, "credential_id": registration.credential_id, "public_key": registration.public_key,
         "sign_count": registration.sign_count, "aaguid": registration.aaguid,
         "transports": list(registration.transports), "fingerprint": fingerprint},
    )
    row = await cur.fetchone()
    if row is None:
        return None
    device_id = row["id"]
    replacing = await active_id(cur, user_id)
    if replacing is not None and cool_off_hours > 0:
        await cur.execute("UPDATE devices SET activates_at = now() + make_interval(secs => %(seconds)s) "
                          "WHERE id = %(id)s RETURNING activates_at",
                          {"id": device_id, "seconds": cool_off_hours * 3600})
        activates_at = (await cur.fetchone())["activates_at"]
        await _audit(cur, device_id=device_id, user_id=user_id, actor_id=user_id, action="registered",
                     to_status="pending", detail={"aaguid": registration.aaguid, "fingerprint": fingerprint,
                                                  "replaces": replacing, "activates_at": activates_at.isoformat()})
    else:
        await _audit(cur, device_id=device_id, user_id=user_id, actor_id=user_id, action="registered",
                     to_status="pending", detail={"aaguid": registration.aaguid, "fingerprint": fingerprint})
        await _activate(cur, device_id, user_id=user_id, actor_id=user_id)
    return (await _select(cur, "d.id = %(id)s", {"id": device_id}))[0]


async def _activate(cur, device_id: int, *, user_id: int, actor_id: int, reason: str = "") -> list[int]:
    """Make a pending device the student's enrolled one; returns the ids of the devices it revoked."""
    replaced = await revoke(cur, user_id=user_id, actor_id=actor_id, reason=REPLACED, keep=device_id,
                            detail={"replaced_by": device_id})
    await cur.execute("UPDATE devices SET status = 'enrolled', enrolled_at = now() WHERE id = %(id)s",
                      {"id": device_id})
    await _audit(cur, device_id=device_id, user_id=user_id, actor_id=actor_id, action="enrolled",
                 from_status="pending", to_status="enrolled", reason=reason)
    return replaced


async def activate_due(cur, user_id: int) -> list[int]:
    """Enroll the student's pending device if its cool-off is over; the ids of the devices it revoked."""
    await cur.execute("SELECT id FROM devices WHERE user_id = %(user_id)s AND status = 'pending' "
                      "AND activates_at <= now() FOR UPDATE", {"user_id": user_id})
    row = await cur.fetchone()
    if row is None:
        return []
    return await _activate(cur, row["id"], user_id=user_id, actor_id=user_id, reason="cool_off_elapsed")


async def approve(cur, device_id: int, actor_id: int) -> tuple[Device, list[int]] | None:
    """A professor's or admin's approval: the pending device counts now. (the device, now
    enrolled; the ids of the devices it revoked); None if no such device is pending."""
    found = await _select(cur, "d.id = %(id)s FOR UPDATE OF d", {"id": device_id})
    if not found or found[0].status != "pending":
        return None
    device = found[0]
    await _audit(cur, device_id=device_id, user_id=device.user_id, actor_id=actor_id, action="approved",
                 detail={"activates_at": device.activates_at and device.activates_at.isoformat()})
    replaced = await _activate(cur, device_id, user_id=device.user_id, actor_id=actor_id, reason="approved")
    return (await _select(cur, "d.id = %(id)s", {"id": device_id}))[0], replaced


async def pending_of(pool: aiopg.Pool, user_id: int) -> Device | None:
    """The student's device waiting to replace their enrolled one, if any."""
    async with cursor(pool) as cur:
        found = await _select(cur, "d.user_id = %(user_id)s AND d.status = 'pending'", {"user_id": user_id})
    return found[0] if found else None


async def pending_replacements(pool: aiopg.Pool) -> list[dict[str, Any]]:
    """Every device waiting to replace a student's phone, oldest first, with the student's name."""
    async with cursor(pool) as cur:
        await cur.execute(
            "SELECT d.id, d.user_id, u.username, u.full_name, d.created_at, d.activates_at "
            "FROM devices d JOIN users u ON u.id = d.user_id WHERE d.status = 'pending' ORDER BY d.created_at, d.id")
        return await cur.fetchall()


async def revoke(cur, *, user_id: int, actor_id: int | None, reason: str, only: int | None = None,
                 keep: int | None = None, pending_only: bool = False,
                 detail: dict[str, Any] | None = None) -> list[int]:
    """Revoke the student's live devices (just `only`, or all but `keep`, or only the pending
    ones), one audit row each.

    Returns the ids that changed; a device already revoked is left alone.
    """
    await cur.execute(
        """
        WITH live AS (
            SELECT id, status FROM devices
             WHERE user_id = %(user_id)s AND status <> 'revoked'
               AND (%(only)s::bigint IS NULL OR id = %(only)s)
               AND id IS DISTINCT FROM %(keep)s::bigint
               AND (NOT %(pending_only)s OR status = 'pending')
             FOR UPDATE
        ), revoked AS (
            UPDATE devices d SET status = 'revoked', revoked_at = now()
              FROM live WHERE d.id = live.id
            RETURNING d.id, live.status AS from_status
        )
        INSERT INTO device_audit (device_id, user_id, actor_id, action, from_status, to_status, reason, detail)
        SELECT id, %(user_id)s, %(actor_id)s, 'revoked', from_status, 'revoked', %(reason)s, %(detail)s
          FROM revoked
        RETURNING device_id
        """,
        {"user_id": user_id, "actor_id": actor_id, "reason": reason, "only": only, "keep": keep,
         "pending_only": pending_only, "detail": Json(detail or {})},
    )
    return [row["device_id"] for row in await cur.fetchall()]


async def record_login(cur, device: Device, sign_count: int, detail: dict[str, Any]) -> None:
    await cur.execute(
        "UPDATE devices SET sign_count = %(sign_count)s, last_login_at = now() WHERE id = %(id)s",
        {"id": device.id, "sign_count": sign_count},
    )
    await _audit(cur, device_id=device.id, user_id=device.user_id, actor_id=device.user_id, action="login",
                 detail={**detail, "sign_count": sign_count})


async def suspect_clone(cur, device: Device, reported_sign_count: int) -> None:
    """Record the counter regression and revoke the device: both copies of the passkey stop working."""
    detail = {"stored_sign_count": device.sign_count, "reported_sign_count": reported_sign_count}
    await _audit(cur, device_id=device.id, user_id=device.user_id, actor_id=device.user_id,
                 action="clone_suspected", reason="sign count did not increase", detail=detail)
    await revoke(cur, user_id=device.user_id, actor_id=None, reason=CLONE_SUSPECTED, only=device.id, detail=detail)


async def record_refused_login(pool: aiopg.Pool, device: Device, code: str) -> None:
    """A failed login with a student's own credential, for whoever reviews the trail."""
    async with cursor(pool) as cur:
        await _audit(cur, device_id=device.id, user_id=device.user_id, actor_id=device.user_id,
                     action="login_refused", reason=code)
