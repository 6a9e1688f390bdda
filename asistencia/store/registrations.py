"""Students in class sessions: registrations, their passed rounds, outcomes and resets."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

from asistencia.domain.outcome import Outcome
from asistencia.domain.rounds import Progress

Row = dict[str, Any]

_COLUMNS = """
    r.id, r.session_id, r.user_id, r.device_id, host(r.origin_ip) AS origin_ip, r.joined_at, r.state,
    r.current_round, r.round_failures, r.failures, r.completed_at, r.marked_by
"""
_OUTCOME_COLUMNS = """
    o.computed_status, o.status, o.certainty, o.rounds_completed, o.rt_mean_ms, o.rt_sd_ms, o.rt_min_ms,
    o.rt_max_ms, o.rt_median_ms, o.overridden
"""


def progress_of(row: Row) -> Progress:
    return Progress(row["state"], row["current_round"], row["round_failures"])


async def join(cur, *, session_id: int, user_id: int, device_id: int, origin_ip: str | None) -> bool:
    """Register the student unless already registered; True when this call created it."""
    await cur.execute(
        """
        INSERT INTO registrations (session_id, user_id, device_id, origin_ip)
        VALUES (%(session_id)s, %(user_id)s, %(device_id)s, %(origin_ip)s::inet)
        ON CONFLICT (session_id, user_id) DO NOTHING
        RETURNING id
        """,
        {"session_id": session_id, "user_id": user_id, "device_id": device_id, "origin_ip": origin_ip},
    )
    return await cur.fetchone() is not None


async def scan_contexts(cur, wanted: Sequence[tuple[int, int]]) -> list[Row | None]:
    """What a scan checks before anything else, for each (session id, user id) in
    one statement: the session (None if there is none), the student's
    registration in it (registration columns None if not joined) and the id of
    the student's active device (a session key of any other is refused)."""
    await cur.execute(
        """
        SELECT w.i, s.id AS session_id, s.status = 'active' AND s.ends_at > now() AS session_open, s.rounds,
               s.opened_at AS started_at, s.late_after_minutes, s.allowed_networks::text[] AS allowed_networks,
               s.ends_at, s.projection_mode, r.id, r.state, r.current_round, r.round_failures, r.joined_at,
               (SELECT d.id FROM devices d WHERE d.user_id = w.user_id AND d.status = 'enrolled')
                 AS active_device_id
          FROM unnest(%(s)s::bigint[], %(u)s::bigint[]) WITH ORDINALITY AS w(session_id, user_id, i)
          JOIN class_sessions s ON s.id = w.session_id
          LEFT JOIN registrations r ON r.session_id = s.id AND r.user_id = w.user_id
        """,
        {"s": [session_id for session_id, _ in wanted], "u": [user_id for _, user_id in wanted]},
    )
    found = {row.pop("i"): row for row in await cur.fetchall()}
    return [found.get(i) for i in range(1, len(wanted) + 1)]


async def lock(cur, session_id: int, user_id: int) -> Row | None:
    """The registration row-locked (one change at a time per student) and its session
    share-locked (it cannot close until we commit), in one statement."""
    await cur.execute(
        f"""
        SELECT {_COLUMNS}, s.status = 'active' AND s.ends_at > now() AS session_open
          FROM registrations r JOIN class_sessions s ON s.id = r.session_id
         WHERE r.session_id = %(s)s AND r.user_id = %(u)s
           FOR UPDATE OF r
           FOR SHARE OF s
        """,
        {"s": session_id, "u": user_id},
    )
    return await cur.fetchone()


async def save_progress(cur, registration_id: int, progress: Progress, *, failed_attempt: bool = False) -> None:
    await cur.execute(
        """
        UPDATE registrations
           SET state = %(state)s, current_round = %(round)s, round_failures = %(round_failures)s,
               failures = failures + %(failure)s,
               completed_at = CASE WHEN %(state)s = 'completed' THEN now() ELSE completed_at END
         WHERE id = %(id)s
        """,
        {"id": registration_id, "state": progress.state, "round": progress.current_round,
         "round_failures": progress.round_failures, "failure": int(failed_attempt)},
    )


@dataclasses.dataclass(frozen=True)
class Pass:
    """A passed round to record: the registration moves to `after` if it is still on `round`."""

    registration_id: int
    round: int
    after: Progress
    response_ms: int
    projected_ms: int
    scanned_ms: int


async def record_passes(cur, passes: Sequence[Pass]) -> list[Row | None]:
    """Record each passed round and move its registration on, all in one statement.

    Per pass it locks like `lock` and writes only if the session is open and
    the student is still scanning that round; it returns the registration as
    it was before (plus `session_open`, and `passed`: whether it wrote), or
    None if there is no such registration. One statement is atomic on its
    own, so it needs no transaction. The registrations are locked in id
    order, so two of these statements never wait for each other in a cycle.
    A registration must appear once: the batch would see only one of its
    passes as current.
    """
    await cur.execute(
        f"""
        WITH wanted AS (
            SELECT * FROM unnest(%(id)s::bigint[], %(round)s::smallint[], %(response_ms)s::integer[],
                                 %(projected_ms)s::bigint[], %(scanned_ms)s::bigint[], %(state)s::text[],
                                 %(next_round)s::smallint[], %(round_failures)s::smallint[])
                   AS w(id, round, response_ms, projected_ms, scanned_ms, state, next_round, round_failures)
        ), locked AS (
            SELECT {_COLUMNS}, s.status = 'active' AND s.ends_at > now() AS session_open
              FROM registrations r JOIN class_sessions s ON s.id = r.session_id
             WHERE r.id = ANY (%(id)s::bigint[])
             ORDER BY r.id
               FOR UPDATE OF r
               FOR SHARE OF s
        ), passing AS (
            SELECT w.* FROM wanted w JOIN locked l ON l.id = w.id
             WHERE l.session_open AND l.state = 'scanning' AND l.current_round = w.round
        ), recorded AS (
            INSERT INTO rounds (registration_id, round, response_ms, projected_at, scanned_at)
            SELECT id, round, response_ms, to_timestamp(projected_ms / 1000.0), to_timestamp(scanned_ms / 1000.0)
              FROM passing
        ), saved AS (
            UPDATE registrations r
               SET state = p.state, current_round = p.next_round, round_failures = p.round_failures,
                   completed_at = CASE WHEN p.state = 'completed' THEN now() ELSE r.completed_at END
              FROM passing p
             WHERE r.id = p.id
            RETURNING r.id
        )
        SELECT locked.*, locked.id IN (SELECT id FROM saved) AS passed FROM locked
        """,
        {"id": [p.registration_id for p in passes], "round": [p.round for p in passes],
         "response_ms": [p.response_ms for p in passes], "projected_ms": [p.projected_ms for p in passes],
         "scanned_ms": [p.scanned_ms for p in passes], "state": [p.after.state for p in passes],
         "next_round": [p.after.current_round for p in passes],
         "round_failures": [p.after.round_failures for p in passes]},
    )
    found = {row["id"]: row for row in await cur.fetchall()}
    return [found.get(p.registration_id) for p in passes]


async def response_times(cur, registration_id: int) -> list[int]:
    await cur.execute("SELECT response_ms FROM rounds WHERE registration_id = %(id)s ORDER BY round",
                      {"id": registration_id})
    return [row["response_ms"] for row in await cur.fetchall()]


async def save_outcome(cur, registration_id: int, outcome: Outcome) -> Row:
    """Store the computed outcome; a status a professor already set is kept."""
    await cur.execute(
        """
        INSERT INTO outcomes AS o (registration_id, computed_status, status, certainty, rounds_completed,
                                   rt_mean_ms, rt_sd_ms, rt_min_ms, rt_max_ms, rt_median_ms)
        VALUES (%(id)s, %(computed_status)s, %(computed_status)s, %(certainty)s, %(rounds_completed)s,
                %(rt_mean_ms)s, %(rt_sd_ms)s, %(rt_min_ms)s, %(rt_max_ms)s, %(rt_median_ms)s)
        ON CONFLICT (registration_id) DO UPDATE
           SET computed_status = EXCLUDED.computed_status, certainty = EXCLUDED.certainty,
               rounds_completed = EXCLUDED.rounds_completed, rt_mean_ms = EXCLUDED.rt_mean_ms,
               rt_sd_ms = EXCLUDED.rt_sd_ms, rt_min_ms = EXCLUDED.rt_min_ms, rt_max_ms = EXCLUDED.rt_max_ms,
               rt_median_ms = EXCLUDED.rt_median_ms, computed_at = now(),
               status = CASE WHEN o.overridden THEN o.status ELSE EXCLUDED.status END
        RETURNING status
        """,
        {"id": registration_id, "computed_status": outcome.computed_status, "certainty": outcome.certainty,
         "rounds_completed": outcome.rounds_completed, "rt_mean_ms": outcome.rt_mean_ms,
         "rt_sd_ms": outcome.rt_sd_ms, "rt_min_ms": outcome.rt_min_ms, "rt_max_ms": outcome.rt_max_ms,
         "rt_median_ms": outcome.rt_median_ms},
    )
    return await cur.fetchone()


async def record_reset(cur, *, registration_id: int, actor_id: int, round_: int) -> None:
    await cur.execute(
        "INSERT INTO registration_resets (registration_id, actor_id, round) VALUES (%(id)s, %(actor)s, %(round)s)",
        {"id": registration_id, "actor": actor_id, "round": round_},
    )


# What a professor should look at twice (SPEC §3.1): the phone the student joined with also
# served another student of this session (one phone id, two students), or it replaced an
# earlier phone of theirs within a day before joining.
PHONE_FLAGS = """
    EXISTS (SELECT 1 FROM registrations r2
              JOIN devices d2 ON d2.id = r2.device_id
              JOIN devices d ON d.id = r.device_id
             WHERE r2.session_id = r.session_id AND r2.user_id <> r.user_id
               AND d2.fingerprint = d.fingerprint) AS shared_phone,
    EXISTS (SELECT 1 FROM devices d
             WHERE d.id = r.device_id AND d.enrolled_at > r.joined_at - interval '24 hours'
               AND EXISTS (SELECT 1 FROM devices older WHERE older.user_id = d.user_id AND older.id < d.id))
      AS new_phone
"""

_STUDENT = f"""
    SELECT {_COLUMNS}, u.username, u.full_name, {_OUTCOME_COLUMNS}, {PHONE_FLAGS}
      FROM registrations r
      JOIN users u ON u.id = r.user_id
      LEFT JOIN outcomes o ON o.registration_id = r.id
     WHERE r.session_id = %(s)s
"""


async def students(cur, session_id: int) -> list[Row]:
    """Everyone who joined, with progress, name and outcome, in joining order (dashboards)."""
    await cur.execute(_STUDENT + " ORDER BY r.joined_at, r.id", {"s": session_id})
    return await cur.fetchall()


async def student(cur, session_id: int, user_id: int) -> Row | None:
    """One student as `students` lists them (outcome columns are None before there is one)."""
    await cur.execute(_STUDENT + " AND r.user_id = %(u)s", {"s": session_id, "u": user_id})
    return await cur.fetchone()
