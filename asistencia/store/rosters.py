"""Course rosters (table course_roster): who should attend a course, by course code."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

Row = dict[str, Any]

_COLUMNS = "rut, user_id, full_name, source, added_at"


async def roster(cur, course_code: str) -> list[Row]:
    await cur.execute(f"SELECT {_COLUMNS} FROM course_roster WHERE course_code = %(c)s ORDER BY full_name, rut",
                      {"c": course_code})
    return await cur.fetchall()


async def class_size(cur, course_code: str) -> int:
    """How large the course's class is, as far as anyone knows: the students its roster
    names, or those who joined its busiest session so far, whichever is more."""
    await cur.execute(
        """
        SELECT greatest(
                 (SELECT count(DISTINCT user_id) FROM course_roster WHERE course_code = %(c)s),
                 (SELECT coalesce(max(c.joined), 0) FROM class_sessions s
                    JOIN session_counters c ON c.session_id = s.id
                   WHERE s.course_code = %(c)s AND s.status <> 'cancelled')) AS n
        """,
        {"c": course_code})
    return (await cur.fetchone())["n"]


async def replace_uploaded(cur, course_code: str, students: Sequence[Row], *, actor_id: int) -> None:
    """The roster's uploaded part becomes `students` (rut, user_id, full_name); rows filled from
    joined students stay unless the upload names them too (then they count as uploaded)."""
    await cur.execute("DELETE FROM course_roster WHERE course_code = %(c)s AND source = 'csv'", {"c": course_code})
    await cur.execute(
        """
        INSERT INTO course_roster (course_code, rut, user_id, full_name, source, added_by)
        SELECT %(c)s, rut, user_id, full_name, 'csv', %(actor)s
          FROM unnest(%(rut)s::text[], %(user_id)s::bigint[], %(full_name)s::text[]) AS u(rut, user_id, full_name)
        ON CONFLICT (course_code, rut) DO UPDATE
           SET full_name = EXCLUDED.full_name, source = 'csv', added_by = EXCLUDED.added_by, added_at = now()
        """,
        {"c": course_code, "actor": actor_id, "rut": [s["rut"] for s in students],
         "user_id": [s["user_id"] for s in students], "full_name": [s["full_name"] for s in students]},
    )


async def add_joined(cur, course_code: str, session_ids: Sequence[int], *, actor_id: int) -> int:
    """Add every student who joined one of `session_ids` and is not on the roster yet; how many were added.
    Only usernames shaped like a RUT (the bridge's) qualify."""
    await cur.execute(
        """
        INSERT INTO course_roster (course_code, rut, user_id, full_name, source, added_by)
        SELECT DISTINCT ON (u.username) %(c)s, u.username, u.id, COALESCE(u.full_name, u.username), 'joined',
               %(actor)s
          FROM registrations r JOIN users u ON u.id = r.user_id
         WHERE r.session_id = ANY(%(sessions)s) AND u.role = 'alumno' AND u.username ~ '^[0-9]{1,8}-[0-9K]$'
         ORDER BY u.username, u.id
        ON CONFLICT (course_code, rut) DO NOTHING
        """,
        {"c": course_code, "actor": actor_id, "sessions": list(session_ids)},
    )
    return cur.rowcount


async def name_of(cur, course_code: str, rut: str) -> str | None:
    await cur.execute("SELECT full_name FROM course_roster WHERE course_code = %(c)s AND rut = %(r)s",
                      {"c": course_code, "r": rut})
    row = await cur.fetchone()
    return None if row is None else row["full_name"]


async def absentees(cur, session_id: int) -> list[Row]:
    """Roster students of the session's course who have no registration in it."""
    await cur.execute(
        """
        SELECT k.rut, k.user_id, k.full_name, k.source, k.added_at
          FROM class_sessions s
          JOIN course_roster k ON k.course_code = s.course_code
         WHERE s.id = %(s)s
           AND NOT EXISTS (SELECT 1 FROM registrations r WHERE r.session_id = s.id AND r.user_id = k.user_id)
         ORDER BY k.full_name, k.rut
        """,
        {"s": session_id},
    )
    return await cur.fetchall()


async def course_roster_students(cur, course_code: str) -> list[Row]:
    """The roster as the course summary counts it: one row per student id."""
    await cur.execute(
        """SELECT DISTINCT ON (user_id) user_id, rut AS username, full_name
             FROM course_roster WHERE course_code = %(c)s ORDER BY user_id, source""",
        {"c": course_code},
    )
    return await cur.fetchall()
