"""Refused scans, by type: the per-session fraud counters and who was involved."""

from __future__ import annotations

from typing import Any

Row = dict[str, Any]


async def record(cur, *, session_id: int, user_id: int, round_: int | None, code: str,
                 origin_ip: str | None) -> None:
    await cur.execute(
        """
        INSERT INTO scan_failures (session_id, user_id, round, code, origin_ip)
        VALUES (%(session_id)s, %(user_id)s, %(round)s, %(code)s, %(origin_ip)s::inet)
        """,
        {"session_id": session_id, "user_id": user_id, "round": round_, "code": code, "origin_ip": origin_ip},
    )


async def by_student_and_code(cur, session_id: int) -> list[Row]:
    """One row per (student, failure code) with its count and latest time."""
    await cur.execute(
        """
        SELECT f.user_id, u.username, u.full_name, f.code, count(*) AS count, max(f.at) AS last_at
          FROM scan_failures f JOIN users u ON u.id = f.user_id
         WHERE f.session_id = %(s)s
         GROUP BY f.user_id, u.username, u.full_name, f.code
         ORDER BY f.user_id, f.code
        """,
        {"s": session_id},
    )
    return await cur.fetchall()
