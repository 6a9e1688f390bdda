"""People as the tokens describe them, refreshed whenever they act."""

from __future__ import annotations

import aiopg

from asistencia.db import cursor
from asistencia.tokens import User

_UPSERT = """
INSERT INTO users (id, username, full_name, role)
VALUES (%(id)s, %(username)s, %(full_name)s, %(role)s)
ON CONFLICT (id) DO UPDATE
   SET username = EXCLUDED.username,
       full_name = COALESCE(EXCLUDED.full_name, users.full_name),
       role = EXCLUDED.role,
       last_seen_at = now()
"""


async def remember_in(cur, user: User) -> None:
    """Upsert the token's user inside the caller's transaction."""
    await cur.execute(_UPSERT, {"id": user.id, "username": user.username, "role": user.role,
                                "full_name": user.full_name})


async def ensure_student(cur, user_id: int, rut: str, full_name: str | None) -> None:
    """A student a professor names before they ever logged in; whoever already exists is left as is
    (their own token refreshes them when they act)."""
    await cur.execute(
        """INSERT INTO users (id, username, full_name, role) VALUES (%(id)s, %(rut)s, %(full_name)s, 'alumno')
           ON CONFLICT (id) DO NOTHING""",
        {"id": user_id, "rut": rut, "full_name": full_name})


async def remember(pool: aiopg.Pool, user: User) -> None:
    async with cursor(pool) as cur:
        await remember_in(cur, user)
