"""What the loop tells the world, after each commit, on the session's topics.

- `session:{id}`          dashboards (`watch`): every event, with student ids;
- `projector:{id}`        projectors: `counters` and `closed` only — a projected
                          screen never learns who is who;
- `student:{id}:{user}`   one student's phone: `reset`, `closed`;
- `students:{id}`         every student's phone: `closed` (a cancelled session, too).
Event data always carries `session`; events that change the counters carry
the new `counters` (with their `version`).
"""

from __future__ import annotations

from typing import Any

from asistencia.events import EventHub


def dashboard_topic(session_id: int) -> str:
    return f"session:{session_id}"


def projector_topic(session_id: int) -> str:
    return f"projector:{session_id}"


def student_topic(session_id: int, user_id: int) -> str:
    return f"student:{session_id}:{user_id}"


def students_topic(session_id: int) -> str:
    return f"students:{session_id}"


async def _announce(hub: EventHub, session_id: int, event: str, data: dict[str, Any],
                    counters: dict[str, int] | None = None) -> None:
    body = {"session": session_id, **data}
    if counters is not None:
        body["counters"] = counters
        await hub.publish(projector_topic(session_id), "counters", {"session": session_id, "counters": counters})
    await hub.publish(dashboard_topic(session_id), event, body)


async def joined(hub: EventHub, session_id: int, student: dict[str, Any], counters: dict[str, int]) -> None:
    await _announce(hub, session_id, "joined", {"student": student}, counters)


async def round_passed(hub: EventHub, session_id: int, *, user_id: int, round_: int, response_ms: int) -> None:
    await _announce(hub, session_id, "round_passed",
                    {"user_id": user_id, "round": round_, "next_round": round_ + 1, "response_ms": response_ms})


async def completed(hub: EventHub, session_id: int, *, user_id: int, round_: int, response_ms: int,
                    outcome: dict[str, Any], counters: dict[str, int]) -> None:
    await _announce(hub, session_id, "completed",
                    {"user_id": user_id, "round": round_, "response_ms": response_ms, "outcome": outcome}, counters)


async def scan_failed(hub: EventHub, session_id: int, *, user_id: int, round_: int, code: str, counted: bool,
                      attempts_left: int) -> None:
    await _announce(hub, session_id, "scan_failed", {"user_id": user_id, "round": round_, "code": code,
                                                     "counted": counted, "attempts_left": attempts_left})


async def failed(hub: EventHub, session_id: int, *, user_id: int, round_: int, counters: dict[str, int]) -> None:
    await _announce(hub, session_id, "failed", {"user_id": user_id, "round": round_}, counters)


async def reset(hub: EventHub, session_id: int, *, user_id: int, round_: int, actor_id: int,
                counters: dict[str, int]) -> None:
    await _announce(hub, session_id, "reset", {"user_id": user_id, "round": round_, "by": actor_id}, counters)
    await hub.publish(student_topic(session_id, user_id), "reset", {"session": session_id, "round": round_})


async def cancelled(hub: EventHub, session_id: int, *, by: int, reason: str, cancelled_at: str | None,
                    stopped: bool, closed_by: str, counters: dict[str, int]) -> None:
    """Dashboards learn who cancelled and why; when it `stopped` an active session, its
    projectors and phones are told `closed` (to them it simply ended)."""
    await hub.publish(dashboard_topic(session_id), "cancelled", {
        "session": session_id, "by": by, "reason": reason, "cancelled_at": cancelled_at, "counters": counters})
    if stopped:
        data = {"session": session_id, "closed_by": closed_by, "closed_at": cancelled_at}
        await hub.publish(projector_topic(session_id), "closed", {**data, "counters": counters})
        await hub.publish(students_topic(session_id), "closed", data)


async def opened(hub: EventHub, session_id: int, *, opened_at: str | None, ends_at: str | None) -> None:
    """A draft was opened: its dashboards learn its clock (a projector cannot project a draft)."""
    await _announce(hub, session_id, "opened", {"opened_at": opened_at, "ends_at": ends_at})


async def overridden(hub: EventHub, session_id: int, *, user_id: int, status: str, computed_status: str | None,
                     actor_id: int, at: str | None, counters: dict[str, int]) -> None:
    """A professor set a student's status (never with the note: that stays in the results)."""
    await _announce(hub, session_id, "override", {"user_id": user_id, "status": status,
                                                  "computed_status": computed_status, "overridden_by": actor_id,
                                                  "overridden_at": at}, counters)


async def closed(hub: EventHub, session_id: int, *, closed_by: str, closed_at: str | None,
                 counters: dict[str, int]) -> None:
    data = {"session": session_id, "closed_by": closed_by, "closed_at": closed_at}
    await hub.publish(dashboard_topic(session_id), "closed", {**data, "counters": counters})
    await hub.publish(projector_topic(session_id), "closed", {**data, "counters": counters})
    await hub.publish(students_topic(session_id), "closed", data)


async def camera(hub: EventHub, session_id: int, *, user_id: int, state: str) -> None:
    await _announce(hub, session_id, "camera", {"user_id": user_id, "camera": state})
