"""A professor's override of an outcome, and its audit row, in the caller's transaction;
and the registration a professor makes by hand for a student who could not join.

The outcome row may not exist yet (the student is still scanning, or the
session is not finalised): the override creates it with `computed_status`
NULL. Finalisation and outcome computation then fill `computed_status` and
the figures but keep `status` of an overridden row (docs/api.md, "Overrides").
"""

from __future__ import annotations

# Locked like a scan's progress change locks it: an override and a student's
# progress never move the counters from two different views of the student.
_REGISTRATION = """
SELECT id, state FROM registrations WHERE session_id = %(session_id)s AND user_id = %(user_id)s FOR UPDATE
"""

_LOCK_OUTCOME = "SELECT status FROM outcomes WHERE registration_id = %(registration_id)s FOR UPDATE"

_OVERRIDE = """
UPDATE outcomes
   SET status = %(status)s, overridden = true, override_note = %(note)s,
       overridden_by = %(actor_id)s, overridden_at = clock_timestamp()
 WHERE registration_id = %(registration_id)s
RETURNING overridden_at
"""

_FIRST_OUTCOME = """
INSERT INTO outcomes (registration_id, status, overridden, override_note, overridden_by, overridden_at)
VALUES (%(registration_id)s, %(status)s, true, %(note)s, %(actor_id)s, clock_timestamp())
ON CONFLICT (registration_id) DO NOTHING
RETURNING overridden_at
"""

_AUDIT = """
INSERT INTO outcome_overrides (registration_id, actor_id, from_status, to_status, note, at)
VALUES (%(registration_id)s, %(actor_id)s, %(from_status)s, %(status)s, %(note)s, %(at)s)
"""


async def register_by_hand(cur, session_id: int, user_id: int, *, actor_id: int) -> dict | None:
    """A registration a professor makes for a student who never joined (no device, no address);
    None when the student has one already."""
    await cur.execute(
        """
        INSERT INTO registrations (session_id, user_id, marked_by) VALUES (%(session_id)s, %(user_id)s, %(actor_id)s)
        ON CONFLICT (session_id, user_id) DO NOTHING
        RETURNING id, state
        """,
        {"session_id": session_id, "user_id": user_id, "actor_id": actor_id},
    )
    return await cur.fetchone()


async def lock_registration(cur, session_id: int, user_id: int) -> dict | None:
    """The student's registration (`id`, `state`), row-locked until the transaction ends."""
    await cur.execute(_REGISTRATION, {"session_id": session_id, "user_id": user_id})
    return await cur.fetchone()


async def override_outcome(cur, registration: int, *, actor_id: int, status: str, note: str) -> str | None:
    """Set the outcome's status with a note and audit it; returns the status it replaced.

    Runs in the caller's READ COMMITTED transaction. The row is locked before
    it is read, so the audited `from_status` is the one actually replaced even
    when finalisation or another override races this one; the time is taken
    after the lock (not the transaction's start), so the audit's order is the
    order the changes were applied in.
    """
    params = {"registration_id": registration, "actor_id": actor_id, "status": status, "note": note}
    while True:
        await cur.execute(_LOCK_OUTCOME, params)
        current = await cur.fetchone()
        if current is not None:
            await cur.execute(_OVERRIDE, params)
            replaced = current["status"]
            break
        await cur.execute(_FIRST_OUTCOME, params)
        if cur.rowcount == 1:
            replaced = None
            break
        # Another transaction created the row after our lock attempt; lock that one.
    applied = await cur.fetchone()
    await cur.execute(_AUDIT, {**params, "from_status": replaced, "at": applied["overridden_at"]})
    return replaced
