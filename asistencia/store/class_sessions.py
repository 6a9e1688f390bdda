"""Class sessions and their live counters (tables class_sessions, session_counters)."""

from __future__ import annotations

import datetime
from typing import Any

import psycopg2.errors

from asistencia.domain import counters

Row = dict[str, Any]

CURRENT_JOIN_CODE_INDEX = "class_sessions_current_join_code"
REQUEST_INDEX = "class_sessions_request"

_COUNTER_COLUMNS = ", ".join(f"c.{name}" for name in counters.FIELDS) + ", c.version AS counters_version"
_COLUMNS = f"""
    s.id, s.professor_id, s.course_code, s.course_name, s.room, s.semester, s.block, s.rounds,
    s.duration_minutes, s.late_after_minutes, s.allowed_networks::text[] AS allowed_networks,
    s.join_code, s.projection_mode, s.status, s.created_at, s.opened_at, s.ends_at, s.closed_at, s.closed_by,
    s.cancelled_at, s.cancelled_by, s.cancel_reason,
    p.username AS professor_username, p.full_name AS professor_full_name,
    s.status = 'active' AND s.ends_at > now() AS open,
    {_COUNTER_COLUMNS}
"""
# Every session has a counters row (migration 0020 inserts it with the session).
_FROM = "FROM class_sessions s JOIN session_counters c ON c.session_id = s.id JOIN users p ON p.id = s.professor_id"


class JoinCodeTaken(Exception):
    """Another draft or active session already uses this join code; try another."""


class RequestRepeated(Exception):
    """The professor already opened a session with this request id (a double submit)."""


async def create(cur, *, professor_id: int, join_code: str, course_code: str, course_name: str, room: str,
                 semester: str, block: str, rounds: int, duration_minutes: int,
                 late_after_minutes: int | None, allowed_networks: list[str], request_id: str | None,
                 projection_mode: str, open: bool) -> Row:
    """Insert a session, opened now or as a draft (`open` False: no clock yet), inside the caller's
    transaction; its counters row comes with it."""
    try:
        await cur.execute(
            """
            INSERT INTO class_sessions (professor_id, course_code, course_name, room, semester, block, rounds,
                                        duration_minutes, late_after_minutes, allowed_networks, join_code, ends_at,
                                        request_id, projection_mode, status, opened_at)
            VALUES (%(professor_id)s, %(course_code)s, %(course_name)s, %(room)s, %(semester)s, %(block)s,
                    %(rounds)s, %(duration_minutes)s, %(late_after_minutes)s, %(allowed_networks)s::cidr[],
                    %(join_code)s, CASE WHEN %(open)s THEN now() + make_interval(mins => %(duration_minutes)s) END,
                    %(request_id)s, %(projection_mode)s, CASE WHEN %(open)s THEN 'active' ELSE 'draft' END,
                    CASE WHEN %(open)s THEN now() END)
            RETURNING id
            """,
            {"professor_id": professor_id, "course_code": course_code, "course_name": course_name, "room": room,
             "semester": semester, "block": block, "rounds": rounds, "duration_minutes": duration_minutes,
             "late_after_minutes": late_after_minutes, "allowed_networks": allowed_networks,
             "join_code": join_code, "request_id": request_id, "projection_mode": projection_mode, "open": open},
        )
    except psycopg2.errors.UniqueViolation as exc:
        if exc.diag.constraint_name == CURRENT_JOIN_CODE_INDEX:
            raise JoinCodeTaken(join_code) from None
        if exc.diag.constraint_name == REQUEST_INDEX:
            raise RequestRepeated(request_id) from None
        raise
    return await get(cur, (await cur.fetchone())["id"])


async def by_request(cur, professor_id: int, request_id: str) -> Row | None:
    """The session this professor opened with this request id, if any."""
    await cur.execute(f"SELECT {_COLUMNS} {_FROM} WHERE s.professor_id = %(p)s AND s.request_id = %(r)s",
                      {"p": professor_id, "r": request_id})
    return await cur.fetchone()


async def get(cur, session_id: int) -> Row | None:
    await cur.execute(f"SELECT {_COLUMNS} {_FROM} WHERE s.id = %(id)s", {"id": session_id})
    return await cur.fetchone()


async def lock_open(cur, session_id: int) -> Row | None:
    """The session, share-locked until the transaction ends, so it cannot close under us."""
    await cur.execute(f"SELECT {_COLUMNS} {_FROM} WHERE s.id = %(id)s FOR SHARE OF s", {"id": session_id})
    return await cur.fetchone()


async def list_sessions(cur, *, professor_id: int | None, status: str | None, limit: int,
                        course_code: str | None = None, professor: str | None = None,
                        since: datetime.datetime | None = None, until: datetime.datetime | None = None,
                        ) -> list[Row]:
    """Newest first; `professor_id=None` lists everyone's (admins). Filters: exact course code,
    a fragment of the professor's name or e-mail, opened (a draft: created) in [since, until)."""
    await cur.execute(
        f"""
        SELECT {_COLUMNS} {_FROM}
         WHERE (%(professor_id)s::bigint IS NULL OR s.professor_id = %(professor_id)s)
           AND (%(status)s::text IS NULL OR s.status = %(status)s)
           AND (%(course_code)s::text IS NULL OR s.course_code = %(course_code)s)
           AND (%(professor)s::text IS NULL
                OR strpos(lower(coalesce(p.full_name, '') || ' ' || p.username), lower(%(professor)s)) > 0)
           AND (%(since)s::timestamptz IS NULL OR COALESCE(s.opened_at, s.created_at) >= %(since)s)
           AND (%(until)s::timestamptz IS NULL OR COALESCE(s.opened_at, s.created_at) < %(until)s)
         ORDER BY COALESCE(s.opened_at, s.created_at) DESC, s.id DESC
         LIMIT %(limit)s
        """,
        {"professor_id": professor_id, "status": status, "limit": limit, "course_code": course_code,
         "professor": professor, "since": since, "until": until},
    )
    return await cur.fetchall()


async def find_by_join_code(cur, join_code: str) -> Row | None:
    """The draft or active session with this code, else the latest closed one that had it."""
    await cur.execute(
        f"""
        SELECT {_COLUMNS} {_FROM}
         WHERE s.join_code = %(code)s
         ORDER BY s.status IN ('draft', 'active') DESC, s.created_at DESC
         LIMIT 1
        """,
        {"code": join_code},
    )
    return await cur.fetchone()


async def change_counters(cur, session_id: int, delta: dict[str, int], *,
                          registration_id: int | None = None) -> Row:
    """Apply increments from `domain.counters`; returns the new counters.

    With `registration_id` (a student's progress moving), nothing changes when
    a professor has set that student's status: the override pinned them to its
    counter. The caller holds the registration's row lock, as an override does.
    """
    assignments = ", ".join(f"{name} = {name} + %({name})s" for name in counters.FIELDS)
    returned = f"{', '.join(counters.FIELDS)}, version"
    params = {**delta, "session_id": session_id, "registration_id": registration_id}
    await cur.execute(
        f"UPDATE session_counters SET {assignments}, version = version + 1 "
        "WHERE session_id = %(session_id)s AND NOT EXISTS ("
        "  SELECT 1 FROM outcomes WHERE registration_id = %(registration_id)s AND overridden) "
        f"RETURNING {returned}",
        params,
    )
    changed = await cur.fetchone()
    if changed is not None:
        return changed
    await cur.execute(f"SELECT {returned} FROM session_counters WHERE session_id = %(session_id)s", params)
    return await cur.fetchone()


# What a draft's professor may change, each with its SQL placeholder.
_DRAFT_FIELDS = {
    "course_code": "%(course_code)s", "course_name": "%(course_name)s", "room": "%(room)s",
    "semester": "%(semester)s", "block": "%(block)s", "rounds": "%(rounds)s",
    "duration_minutes": "%(duration_minutes)s", "late_after_minutes": "%(late_after_minutes)s",
    "allowed_networks": "%(allowed_networks)s::cidr[]", "projection_mode": "%(projection_mode)s",
}


async def edit_draft(cur, session_id: int, changes: dict[str, Any]) -> bool:
    """Change a draft's fields (names of `_DRAFT_FIELDS` only) in the caller's transaction;
    False when it is no draft (opened, closed or cancelled)."""
    assignments = ", ".join(f"{name} = {_DRAFT_FIELDS[name]}" for name in changes) or "status = status"
    await cur.execute(
        f"UPDATE class_sessions SET {assignments} WHERE id = %(id)s AND status = 'draft' RETURNING id",
        {**changes, "id": session_id},
    )
    return await cur.fetchone() is not None


async def open_draft(cur, session_id: int) -> bool:
    """Open a draft now, in the caller's transaction: its clock starts (`opened_at`, `ends_at`).
    False when it was no draft (opened already, or cancelled)."""
    await cur.execute(
        """
        UPDATE class_sessions
           SET status = 'active', opened_at = now(), ends_at = now() + make_interval(mins => duration_minutes)
         WHERE id = %(id)s AND status = 'draft'
        RETURNING id
        """,
        {"id": session_id},
    )
    return await cur.fetchone() is not None


async def cancel(cur, session_id: int, *, actor_id: int, closed_by: str, reason: str) -> bool:
    """Cancel the session (draft, active or closed) in the caller's transaction; False if it already was.

    An active one stops here (`closed_at`); its registrations are left as they
    are: a cancelled session counts nowhere, so there is nothing to finalise.
    A draft never ran, so it gets no `closed_at`.
    """
    await cur.execute(
        """
        UPDATE class_sessions
           SET status = 'cancelled',
               closed_at = CASE WHEN status = 'draft' THEN NULL ELSE COALESCE(closed_at, now()) END,
               closed_by = CASE WHEN status = 'draft' THEN NULL ELSE COALESCE(closed_by, %(closed_by)s) END,
               cancelled_at = now(), cancelled_by = %(actor_id)s, cancel_reason = %(reason)s
         WHERE id = %(id)s AND status <> 'cancelled'
        RETURNING id
        """,
        {"id": session_id, "actor_id": actor_id, "closed_by": closed_by, "reason": reason},
    )
    return await cur.fetchone() is not None


async def due_for_close(cur) -> int | None:
    """One active session past its end that no other process is closing right now (row-locked)."""
    await cur.execute(
        """
        SELECT id FROM class_sessions
         WHERE status = 'active' AND ends_at <= now()
         ORDER BY ends_at
         LIMIT 1
         FOR UPDATE SKIP LOCKED
        """
    )
    row = await cur.fetchone()
    return row["id"] if row else None


async def close_and_finalise(cur, session_id: int, *, closed_by: str, absent_status: str) -> bool:
    """Close an active session and finalise every registration, in the caller's transaction.

    False when it was not active (already closed: a second close changes
    nothing). Completed students keep their outcome; the others are
    finalised (`finalise_registrations`) and counted absent unless a
    professor set their status.
    """
    await cur.execute(
        """
        UPDATE class_sessions SET status = 'closed', closed_at = now(), closed_by = %(closed_by)s
         WHERE id = %(id)s AND status = 'active'
        RETURNING id
        """,
        {"id": session_id, "closed_by": closed_by},
    )
    if await cur.fetchone() is None:
        return False
    await finalise_registrations(cur, session_id, absent_status=absent_status)
    await cur.execute(
        """
        UPDATE session_counters
           SET absent = absent + in_progress + failed, in_progress = 0, failed = 0, version = version + 1
         WHERE session_id = %(id)s
        """,
        {"id": session_id},
    )
    return True


async def finalise_registrations(cur, session_id: int, *, absent_status: str,
                                 registration_id: int | None = None) -> None:
    """Give the session's registrations that did not complete (or only `registration_id`) their
    final outcome, in the caller's transaction: `absent_status` as computed status, with the
    figures of the rounds they passed; a status a professor set is kept. The counters are the
    caller's to move."""
    await cur.execute(
        """
        INSERT INTO outcomes (registration_id, computed_status, status, rounds_completed,
                              rt_mean_ms, rt_sd_ms, rt_min_ms, rt_max_ms, rt_median_ms)
        SELECT r.id, %(absent)s, %(absent)s, count(rd.round),
               avg(rd.response_ms), stddev_pop(rd.response_ms), min(rd.response_ms), max(rd.response_ms),
               percentile_cont(0.5) WITHIN GROUP (ORDER BY rd.response_ms)
          FROM registrations r
          LEFT JOIN rounds rd ON rd.registration_id = r.id
         WHERE r.session_id = %(id)s AND r.state <> 'completed'
           AND (%(registration_id)s::bigint IS NULL OR r.id = %(registration_id)s)
         GROUP BY r.id
        ON CONFLICT (registration_id) DO UPDATE
           SET computed_status = EXCLUDED.computed_status,
               rounds_completed = EXCLUDED.rounds_completed,
               rt_mean_ms = EXCLUDED.rt_mean_ms,
               rt_sd_ms = EXCLUDED.rt_sd_ms,
               rt_min_ms = EXCLUDED.rt_min_ms,
               rt_max_ms = EXCLUDED.rt_max_ms,
               rt_median_ms = EXCLUDED.rt_median_ms,
               computed_at = now(),
               status = CASE WHEN outcomes.overridden THEN outcomes.status ELSE EXCLUDED.status END
        """,
        {"id": session_id, "absent": absent_status, "registration_id": registration_id},
    )
