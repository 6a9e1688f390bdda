"""Reads behind the attendance list, the exports and the course summary.

Report reads run in one read-only REPEATABLE READ transaction (`snapshot`), so
a list and its override history agree, with the transaction's time zone set
to the university's (`local_time`), so timestamps come back in local time.
"""

from __future__ import annotations

from typing import Any

from asistencia.store.registrations import PHONE_FLAGS
from asistencia.tokens import User

Row = dict[str, Any]


async def snapshot(cur) -> None:
    """First statement of a report transaction: every later read sees the same data."""
    await cur.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")


async def local_time(cur, zone: str) -> None:
    """Timestamps read in this transaction come back with `zone`'s offset."""
    await cur.execute("SELECT set_config('TimeZone', %(zone)s, true)", {"zone": zone})


_VISIBLE_SESSION = """
SELECT s.id, s.course_code, s.course_name, s.room, s.semester, s.block, s.rounds,
       s.duration_minutes, s.late_after_minutes, s.join_code, s.status,
       s.created_at, s.opened_at, s.ends_at, s.closed_at, s.closed_by, s.cancelled_at, s.cancel_reason,
       s.professor_id, p.username AS professor_username, p.full_name AS professor_full_name
  FROM class_sessions s
  JOIN users p ON p.id = s.professor_id
 WHERE s.id = %(session_id)s
   AND (%(is_admin)s OR s.professor_id = %(viewer_id)s)
"""


async def visible_session(cur, session_id: int, viewer: User) -> Row | None:
    """The session if `viewer` may see it: its professor, or an admin."""
    await cur.execute(_VISIBLE_SESSION, {"session_id": session_id, "is_admin": viewer.is_admin,
                                         "viewer_id": viewer.id})
    return await cur.fetchone()


async def lock_visible_session(cur, session_id: int, viewer: User) -> Row | None:
    """`visible_session`, share-locked until the transaction ends: it cannot open, close or be
    cancelled under a correction, so the correction sees the state it ends in."""
    await cur.execute(_VISIBLE_SESSION + " FOR SHARE OF s", {"session_id": session_id,
                                                              "is_admin": viewer.is_admin, "viewer_id": viewer.id})
    return await cur.fetchone()


# Figures come from the outcome once it is computed; until then (still
# scanning, or only a professor's override so far) from the rounds passed.
_REGISTRATIONS = """
WITH live AS (
    SELECT rd.registration_id,
           count(*) AS rounds_completed,
           avg(rd.response_ms)::double precision AS rt_mean_ms,
           stddev_pop(rd.response_ms)::double precision AS rt_sd_ms,
           min(rd.response_ms) AS rt_min_ms,
           max(rd.response_ms) AS rt_max_ms,
           percentile_cont(0.5) WITHIN GROUP (ORDER BY rd.response_ms) AS rt_median_ms
      FROM rounds rd
      JOIN registrations r ON r.id = rd.registration_id
     WHERE r.session_id = %(session_id)s
     GROUP BY rd.registration_id
)
SELECT r.id AS registration_id, r.user_id, u.username, u.full_name, r.joined_at,
       host(r.origin_ip) AS origin_ip, r.state, r.current_round, r.failures, r.marked_by, """ + PHONE_FLAGS + """,
       o.status AS outcome_status, o.computed_status, o.certainty,
       CASE WHEN o.computed_status IS NULL THEN COALESCE(live.rounds_completed, 0)
            ELSE o.rounds_completed END AS rounds_completed,
       CASE WHEN o.computed_status IS NULL THEN live.rt_mean_ms ELSE o.rt_mean_ms END AS rt_mean_ms,
       CASE WHEN o.computed_status IS NULL THEN live.rt_sd_ms ELSE o.rt_sd_ms END AS rt_sd_ms,
       CASE WHEN o.computed_status IS NULL THEN live.rt_min_ms ELSE o.rt_min_ms END AS rt_min_ms,
       CASE WHEN o.computed_status IS NULL THEN live.rt_max_ms ELSE o.rt_max_ms END AS rt_max_ms,
       CASE WHEN o.computed_status IS NULL THEN live.rt_median_ms ELSE o.rt_median_ms END AS rt_median_ms,
       COALESCE(o.overridden, false) AS overridden, o.override_note, o.overridden_at,
       o.overridden_by, ob.username AS overridden_by_username, ob.full_name AS overridden_by_full_name
  FROM registrations r
  JOIN users u ON u.id = r.user_id
  LEFT JOIN outcomes o ON o.registration_id = r.id
  LEFT JOIN users ob ON ob.id = o.overridden_by
  LEFT JOIN live ON live.registration_id = r.id
 WHERE r.session_id = %(session_id)s
   AND (%(user_id)s::bigint IS NULL OR r.user_id = %(user_id)s)
 ORDER BY r.id
"""

_OVERRIDE_HISTORY = """
SELECT r.user_id, h.at, h.actor_id, a.username AS actor_username, a.full_name AS actor_full_name,
       h.from_status, h.to_status, h.note
  FROM outcome_overrides h
  JOIN registrations r ON r.id = h.registration_id
  JOIN users a ON a.id = h.actor_id
 WHERE r.session_id = %(session_id)s
   AND (%(user_id)s::bigint IS NULL OR r.user_id = %(user_id)s)
 ORDER BY h.at, h.id
"""


async def registrations(cur, session_id: int, user_id: int | None = None) -> list[Row]:
    """Every registration of the session (or only `user_id`'s) with its outcome and figures."""
    await cur.execute(_REGISTRATIONS, {"session_id": session_id, "user_id": user_id})
    return await cur.fetchall()


async def override_history(cur, session_id: int, user_id: int | None = None) -> dict[int, list[Row]]:
    """The override audit of the session's registrations, oldest first, by student."""
    await cur.execute(_OVERRIDE_HISTORY, {"session_id": session_id, "user_id": user_id})
    history: dict[int, list[Row]] = {}
    for row in await cur.fetchall():
        history.setdefault(row["user_id"], []).append(row)
    return history


_LEGACY_OUTCOMES = """
SELECT u.username, host(r.origin_ip) AS origin_ip, o.certainty, o.status
  FROM registrations r
  JOIN users u ON u.id = r.user_id
  LEFT JOIN outcomes o ON o.registration_id = r.id
 WHERE r.session_id = %(session_id)s
 ORDER BY u.username, r.id
"""


async def legacy_outcomes(cur, session_id: int) -> list[Row]:
    """What the legacy export needs of each registration (status NULL: not finalised)."""
    await cur.execute(_LEGACY_OUTCOMES, {"session_id": session_id})
    return await cur.fetchall()


_COURSE_SESSIONS = """
SELECT s.id, s.course_name, s.semester, s.block, s.room, s.join_code, s.status, s.created_at, s.opened_at
  FROM class_sessions s
 WHERE s.course_code = %(course_code)s
   AND s.status IN ('active', 'closed')
   AND (%(semester)s::text IS NULL OR s.semester = %(semester)s)
   AND (%(is_admin)s OR s.professor_id = %(viewer_id)s)
 ORDER BY s.opened_at, s.id
"""

_COURSE_REGISTRATIONS = """
SELECT r.session_id, r.user_id, u.username, u.full_name, r.state, o.status AS outcome_status
  FROM registrations r
  JOIN users u ON u.id = r.user_id
  LEFT JOIN outcomes o ON o.registration_id = r.id
 WHERE r.session_id = ANY(%(session_ids)s)
"""


async def course_sessions(cur, course_code: str, semester: str | None, viewer: User) -> list[Row]:
    """The course's opened sessions `viewer` may see (not drafts, not cancelled), oldest first."""
    await cur.execute(_COURSE_SESSIONS, {"course_code": course_code, "semester": semester,
                                         "is_admin": viewer.is_admin, "viewer_id": viewer.id})
    return await cur.fetchall()


async def course_registrations(cur, session_ids: list[int]) -> list[Row]:
    await cur.execute(_COURSE_REGISTRATIONS, {"session_ids": session_ids})
    return await cur.fetchall()
