"""Class histories written straight into the schema, for the report tests.

Reports need many students with chosen statuses, certainties and response
times, over sessions held on chosen dates; playing each through the scan
loop would test the loop again (tests/test_scan.py does that). So the rows a
completed student leaves are written here, with the same upsert rule as the
loop (`record_outcome`: a professor's override keeps its status), while
closing always goes through the real endpoint (`close`).
"""

from __future__ import annotations

import datetime
import statistics

from asistencia.domain.rut import student_id

# 10:00 in Santiago (UTC-3 in November).
CLASS_START = datetime.datetime(2026, 11, 27, 13, 0, tzinfo=datetime.timezone.utc)
MINUTE = datetime.timedelta(minutes=1)


def user(pg, user_id: int, username: str, role: str, full_name: str | None = None) -> int:
    with pg.cursor() as cur:
        cur.execute("INSERT INTO users (id, username, full_name, role) VALUES (%s, %s, %s, %s)",
                    (user_id, username, full_name, role))
    return user_id


def professor(pg, user_id: int = 1001, username: str = "profesora@usm.cl",
              full_name: str = "Profesora Contreras") -> int:
    return user(pg, user_id, username, "profesor", full_name)


def student(pg, rut: str, full_name: str | None = None) -> int:
    """A student numbered as the PHP bridge does: abs(crc32(RUT))."""
    return user(pg, student_id(rut), rut, "alumno", full_name)


def class_session(pg, professor_id: int, *, course_code: str = "INF-239", course_name: str = "Bases de Datos",
                  semester: str = "2026-2", block: str = "3-4", room: str = "A-201", join_code: str = "KXMPRT",
                  rounds: int = 3, late_after_minutes: int | None = 10,
                  created_at: datetime.datetime = CLASS_START) -> int:
    """An active session created and opened at `created_at`; it ends tomorrow, so the auto-close loop leaves it
    to the test, which closes it through the real endpoint (`close`)."""
    with pg.cursor() as cur:
        cur.execute(
            """INSERT INTO class_sessions (professor_id, course_code, course_name, room, semester, block, rounds,
                                           late_after_minutes, join_code, created_at, opened_at, ends_at)
               VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, now() + interval '1 day') RETURNING id""",
            (professor_id, course_code, course_name, room, semester, block, rounds, late_after_minutes,
             join_code, created_at, created_at))
        return cur.fetchone()[0]


def _count(cur, registration_id: int, *, leaving: str | None, entering: str) -> None:
    """Move a registration between live counters as the loop does (an overridden one stays put)."""
    changes = f"{entering} = {entering} + 1" + (f", {leaving} = {leaving} - 1" if leaving else ", joined = joined + 1")
    cur.execute(f"""UPDATE session_counters SET {changes}, version = version + 1
                     WHERE session_id = (SELECT session_id FROM registrations WHERE id = %(id)s)
                       AND NOT EXISTS (SELECT 1 FROM outcomes WHERE registration_id = %(id)s AND overridden)""",
                {"id": registration_id})


def join(pg, session_id: int, user_id: int, *, joined_after: datetime.timedelta = MINUTE,
         origin_ip: str | None = "10.0.0.7", state: str = "scanning", failures: int = 0) -> int:
    """A registration `joined_after` the session opened, counted; returns its id."""
    with pg.cursor() as cur:
        cur.execute(
            """INSERT INTO registrations (session_id, user_id, origin_ip, joined_at, state, failures)
               SELECT id, %s, %s, created_at + %s, %s, %s FROM class_sessions WHERE id = %s
               RETURNING id""",
            (user_id, origin_ip, joined_after, state, failures, session_id))
        registration_id = cur.fetchone()[0]
        _count(cur, registration_id, leaving=None, entering="failed" if state == "failed" else "in_progress")
        return registration_id


def pass_rounds(pg, registration_id: int, response_ms: list[int]) -> None:
    """Record the student's next rounds as passed with these response times."""
    with pg.cursor() as cur:
        cur.execute("SELECT current_round FROM registrations WHERE id = %s", (registration_id,))
        first = cur.fetchone()[0]
        for number, ms in enumerate(response_ms, start=first):
            cur.execute(
                """INSERT INTO rounds (registration_id, round, response_ms, projected_at, scanned_at)
                   SELECT id, %s, %s, joined_at + %s * interval '20 seconds',
                          joined_at + %s * interval '20 seconds' + %s * interval '1 millisecond'
                     FROM registrations WHERE id = %s""",
                (number, ms, number, number, ms, registration_id))
        cur.execute("UPDATE registrations SET current_round = %s WHERE id = %s",
                    (first + len(response_ms), registration_id))


# The outcome write the attendance loop must use: computed fields always,
# `status` only when no professor has overridden it.
_OUTCOME_UPSERT = """
INSERT INTO outcomes (registration_id, computed_status, status, certainty, rounds_completed,
                      rt_mean_ms, rt_sd_ms, rt_min_ms, rt_max_ms, rt_median_ms)
VALUES (%(registration_id)s, %(status)s, %(status)s, %(certainty)s, %(rounds)s,
        %(mean)s, %(sd)s, %(min)s, %(max)s, %(median)s)
ON CONFLICT (registration_id) DO UPDATE
   SET computed_status = EXCLUDED.computed_status,
       status = CASE WHEN outcomes.overridden THEN outcomes.status ELSE EXCLUDED.status END,
       certainty = EXCLUDED.certainty, rounds_completed = EXCLUDED.rounds_completed,
       rt_mean_ms = EXCLUDED.rt_mean_ms, rt_sd_ms = EXCLUDED.rt_sd_ms, rt_min_ms = EXCLUDED.rt_min_ms,
       rt_max_ms = EXCLUDED.rt_max_ms, rt_median_ms = EXCLUDED.rt_median_ms, computed_at = now()
"""


def record_outcome(pg, registration_id: int, status: str, certainty: int | None, response_ms: list[int]) -> None:
    with pg.cursor() as cur:
        cur.execute(_OUTCOME_UPSERT, {
            "registration_id": registration_id, "status": status, "certainty": certainty,
            "rounds": len(response_ms),
            "mean": statistics.fmean(response_ms) if response_ms else None,
            "sd": statistics.pstdev(response_ms),
            "min": min(response_ms, default=None), "max": max(response_ms, default=None),
            "median": statistics.median(response_ms) if response_ms else None,
        })


def complete(pg, session_id: int, user_id: int, *, status: str = "PRESENT", certainty: int = 88,
             response_ms: tuple[int, ...] = (900, 1100, 1000), joined_after: datetime.timedelta = MINUTE,
             origin_ip: str | None = "10.0.0.7", failures: int = 0) -> int:
    """A student who joined, passed every round and got `status` computed."""
    registration_id = join(pg, session_id, user_id, joined_after=joined_after, origin_ip=origin_ip,
                           failures=failures)
    pass_rounds(pg, registration_id, list(response_ms))
    finish(pg, registration_id, status=status, certainty=certainty)
    return registration_id


def finish(pg, registration_id: int, *, status: str, certainty: int) -> None:
    """The last round was passed: the registration completes and its outcome is computed."""
    with pg.cursor() as cur:
        cur.execute("UPDATE registrations SET state = 'completed', completed_at = joined_at + interval '2 minutes' "
                    "WHERE id = %s", (registration_id,))
        cur.execute("SELECT response_ms FROM rounds WHERE registration_id = %s ORDER BY round", (registration_id,))
        response_ms = [row[0] for row in cur.fetchall()]
        _count(cur, registration_id, leaving="in_progress", entering=status.lower())
    record_outcome(pg, registration_id, status, certainty, response_ms)


async def close(client, session_id: int, professor_token: str) -> dict:
    """Close through the real endpoint, so the server's own finalisation runs.

    `client` is a test client or an aiohttp ClientSession with a base_url.
    """
    response = await client.post(f"/api/sessions/{session_id}/close",
                                 headers={"Authorization": f"Bearer {professor_token}"})
    assert response.status == 200, await response.text()
    return await response.json()


def cancel(pg, session_id: int, reason: str = "Sesión abierta por error") -> None:
    """Cancelled by its own professor."""
    with pg.cursor() as cur:
        cur.execute("""UPDATE class_sessions
                          SET status = 'cancelled', closed_at = COALESCE(closed_at, now()), cancelled_at = now(),
                              cancelled_by = professor_id, cancel_reason = %s
                        WHERE id = %s""", (reason, session_id))


def outcome_row(pg, session_id: int, user_id: int) -> dict | None:
    """The stored outcome of a student in a session, for assertions."""
    with pg.cursor() as cur:
        cur.execute("""SELECT o.* FROM outcomes o JOIN registrations r ON r.id = o.registration_id
                        WHERE r.session_id = %s AND r.user_id = %s""", (session_id, user_id))
        row = cur.fetchone()
        return None if row is None else dict(zip([c.name for c in cur.description], row))


def override_audit(pg, session_id: int, user_id: int) -> list[tuple]:
    """(actor_id, from_status, to_status, note) of each override, oldest first."""
    with pg.cursor() as cur:
        cur.execute("""SELECT h.actor_id, h.from_status, h.to_status, h.note
                         FROM outcome_overrides h JOIN registrations r ON r.id = h.registration_id
                        WHERE r.session_id = %s AND r.user_id = %s ORDER BY h.at, h.id""",
                    (session_id, user_id))
        return cur.fetchall()
