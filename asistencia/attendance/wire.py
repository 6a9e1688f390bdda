"""The JSON shapes the attendance loop sends (REST bodies, WebSocket results and events)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from asistencia.domain import counters, rounds

Row = dict[str, Any]


def timestamp(value: dt.datetime | None) -> str | None:
    """ISO 8601 in UTC with a Z, or None."""
    if value is None:
        return None
    return value.astimezone(dt.timezone.utc).isoformat().replace("+00:00", "Z")


def counters_json(row: Row) -> dict[str, int]:
    """Counters from a session row (`counters_version`) or a counters update (`version`)."""
    body = {name: row[name] for name in counters.FIELDS}
    body["version"] = row["counters_version"] if "counters_version" in row else row["version"]
    return body


def session_json(row: Row) -> dict[str, Any]:
    """A class session as its professor sees it."""
    return {
        "id": row["id"],
        "professor_id": row["professor_id"],
        "course_code": row["course_code"],
        "course_name": row["course_name"],
        "room": row["room"],
        "semester": row["semester"],
        "block": row["block"],
        "rounds": row["rounds"],
        "duration_minutes": row["duration_minutes"],
        "late_after_minutes": row["late_after_minutes"],
        "allowed_networks": row["allowed_networks"],
        "join_code": row["join_code"],
        "projection_mode": row["projection_mode"],
        "status": row["status"],
        "open": row["open"],
        "created_at": timestamp(row["created_at"]),
        "opened_at": timestamp(row["opened_at"]),
        "ends_at": timestamp(row["ends_at"]),
        "closed_at": timestamp(row["closed_at"]),
        "closed_by": row["closed_by"],
        "cancelled_at": timestamp(row["cancelled_at"]),
        "cancelled_by": row["cancelled_by"],
        "cancel_reason": row["cancel_reason"],
        "professor": {"id": row["professor_id"], "username": row["professor_username"],
                      "full_name": row["professor_full_name"]},
        "counters": counters_json(row),
    }


def projected_session_json(row: Row) -> dict[str, Any]:
    """What a projector (a screen the whole class sees) may know about its session."""
    return {key: value for key, value in session_json(row).items()
            if key in {"id", "course_code", "course_name", "room", "join_code", "projection_mode", "rounds", "status",
                       "open",
                       "ends_at", "counters"}}


def join_code_session_json(row: Row) -> dict[str, Any]:
    """The session a join code names, as a student who has not joined it may see it (what
    the room's screen shows): `state` is `draft` (not opened yet), `open`, `closed` (closed or
    past its end) or `cancelled`."""
    state = row["status"] if row["status"] in ("draft", "cancelled") else "open" if row["open"] else "closed"
    return {"state": state, "course_code": row["course_code"], "course_name": row["course_name"],
            "room": row["room"]}


def student_session_json(row: Row) -> dict[str, Any]:
    return {"id": row["id"], "course_code": row["course_code"], "course_name": row["course_name"],
            "room": row["room"], "rounds": row["rounds"], "status": row["status"], "open": row["open"],
            "ends_at": timestamp(row["ends_at"])}


def progress_json(session: Row, registration: Row, *, attempts: int, status: str | None,
                  projection: dict[str, Any]) -> dict[str, Any]:
    """A student's own progress in a session (join, status); `projection` tells the
    scanner what the projector shows (docs/protocol.md §8)."""
    progress = rounds.Progress(registration["state"], registration["current_round"],
                               registration["round_failures"])
    return {
        "session": student_session_json(session),
        # Codes and proofs are sealed for this id (docs/protocol.md §1).
        "student_id": registration["user_id"],
        "state": progress.state,
        "current_round": min(progress.current_round, session["rounds"]),
        "rounds_completed": progress.rounds_completed,
        "attempts_left": rounds.attempts_left(progress, attempts),
        "joined_at": timestamp(registration["joined_at"]),
        "status": status,
        "projection": projection,
    }


def absentee_json(row: Row, *, session_closed: bool) -> dict[str, Any]:
    """A course roster student who has not joined the session, as a dashboard row (`state` "not_joined"):
    absent once the session is closed."""
    status = "ABSENT" if session_closed else None
    return {"user_id": row["user_id"], "username": row["rut"], "full_name": row["full_name"], "state": "not_joined",
            "current_round": 1, "rounds_completed": 0, "round_failures": 0, "failures": 0, "joined_at": None,
            "completed_at": None, "origin_ip": None, "status": status, "computed_status": status,
            "certainty": None, "manual": False, "shared_phone": False, "new_phone": False, "camera": None}


def student_json(row: Row) -> dict[str, Any]:
    """One student of a session as the professor's dashboard shows them."""
    return {
        "user_id": row["user_id"],
        "username": row["username"],
        "full_name": row["full_name"],
        "state": row["state"],
        "current_round": row["current_round"],
        "rounds_completed": row["current_round"] - 1,
        "round_failures": row["round_failures"],
        "failures": row["failures"],
        "joined_at": timestamp(row["joined_at"]),
        "completed_at": timestamp(row["completed_at"]),
        "origin_ip": row["origin_ip"],
        "status": row["status"],
        "computed_status": row["computed_status"],
        "certainty": row["certainty"],
        "manual": row["marked_by"] is not None,
        "shared_phone": row["shared_phone"],
        "new_phone": row["new_phone"],
    }
