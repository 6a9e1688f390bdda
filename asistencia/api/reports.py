"""Outcomes professors use: the attendance list, overrides, CSV and legacy exports, course summaries.

A professor sees only their own sessions (someone else's is a 404, as if it
did not exist); an admin sees all.
"""

from __future__ import annotations

import datetime
import functools
import json
from typing import Any

from aiohttp import web
from marshmallow import Schema, fields, validate

from asistencia.appkeys import CONFIG, PG_POOL
from asistencia.attendance import announce, wire
from asistencia.attendance.refusals import refusal
from asistencia.attendance.schemas import Rut
from asistencia.auth import STAFF, current_user, requires_role
from asistencia.db import transaction
from asistencia.domain import attendance_list, counters, course_summary, legacy_export, outcome
from asistencia.domain.csv_export import attachment_filename, plain_csv, spreadsheet_csv
from asistencia.domain.rut import student_id
from asistencia.errors import NotFound, Refused
from asistencia.events import EVENTS
from asistencia.openapi import documented
from asistencia.store import class_sessions, overrides, registrations, reports, rosters, users
from asistencia.validation import BIGINT_MAX, Text, load, load_query, read_json



def _isoformat(value: Any) -> str:
    if isinstance(value, datetime.date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


_dumps = functools.partial(json.dumps, default=_isoformat, ensure_ascii=False)


def _json(data: Any) -> web.Response:
    return web.json_response(data, dumps=_dumps)


def _csv(body: bytes, filename: str) -> web.Response:
    return web.Response(body=body, content_type="text/csv", charset="utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{filename}"'})


class CommaSeparated(fields.List):
    """A query parameter holding a comma-separated list: `?status=PRESENT,LATE`."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, str):
            raise self.make_error("invalid")
        parts = [part.strip() for part in value.split(",") if part.strip()]
        return super()._deserialize(parts, attr, data, **kwargs)


class SessionPath(Schema):
    id = fields.Integer(required=True, validate=validate.Range(min=1, max=BIGINT_MAX))


class StudentPath(SessionPath):
    user_id = fields.Integer(required=True, validate=validate.Range(min=0, max=BIGINT_MAX))


class CoursePath(Schema):
    course_code = Text(strip=False, required=True, validate=validate.Length(min=1, max=50))


class AttendanceQuery(Schema):
    status = CommaSeparated(Text(strip=False, validate=validate.OneOf(attendance_list.LIST_STATUSES)),
                            load_default=list)
    q = Text(strip=False, load_default="", validate=validate.Length(max=200))
    sort = Text(strip=False, load_default="full_name", validate=validate.OneOf(attendance_list.SORT_CHOICES))


class LegacyQuery(Schema):
    format = Text(strip=False, load_default="json", validate=validate.OneOf(("json", "csv")))


class SummaryQuery(Schema):
    semester = Text(strip=False, load_default=None, validate=validate.Length(min=1, max=20))


def _not_blank(text: str) -> None:
    if not text.strip():
        raise validate.ValidationError("Write why the status changes.")


class OverrideBody(Schema):
    status = Text(strip=False, required=True, validate=validate.OneOf(attendance_list.OVERRIDE_STATUSES))
    note = Text(strip=False, required=True, validate=[validate.Length(max=1000), _not_blank])


class ManualMarkBody(OverrideBody):
    rut = Rut(required=True)
    full_name = Text(load_default=None, validate=validate.Length(1, 200))


def _session_not_found() -> NotFound:
    return NotFound("No such session", code="SESSION_NOT_FOUND")


def _cancelled() -> Refused:
    return Refused("A cancelled session's attendance does not count: nothing to correct or export",
                   code="SESSION_CANCELLED")


def _session_header(session: dict[str, Any]) -> dict[str, Any]:
    header = {key: session[key] for key in (
        "id", "course_code", "course_name", "room", "semester", "block", "rounds", "duration_minutes",
        "late_after_minutes", "join_code", "status", "created_at", "opened_at", "ends_at", "closed_at", "closed_by",
        "cancelled_at", "cancel_reason")}
    header["professor"] = {"id": session["professor_id"], "username": session["professor_username"],
                           "full_name": session["professor_full_name"]}
    return header


async def _session_attendance(request: web.Request) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    session_id = load(SessionPath(), dict(request.match_info))["id"]
    async with transaction(request.app[PG_POOL]) as cur:
        await reports.snapshot(cur)
        await reports.local_time(cur, request.app[CONFIG].timezone)
        session = await reports.visible_session(cur, session_id, current_user(request))
        if session is None:
            raise _session_not_found()
        rows = await reports.registrations(cur, session_id)
        history = await reports.override_history(cur, session_id)
        # Once closed, roster students who never joined are absent too.
        missing = await rosters.absentees(cur, session_id) if session["status"] == "closed" else []
    return session, [*(attendance_list.student_entry(row, history.get(row["user_id"], ())) for row in rows),
                     *map(attendance_list.absentee_entry, missing)]


@requires_role(*STAFF)
@documented(query=AttendanceQuery)
async def attendance(request: web.Request) -> web.Response:
    """Attendance list of a session: live while active, final after close.

    Filter with `status` (comma list) and `q` (name or RUT fragment); order with `sort` (`-field` descending).
    """
    query = load_query(request, AttendanceQuery())
    session, students = await _session_attendance(request)
    return _json({
        "session": _session_header(session),
        "totals": attendance_list.status_totals(students),
        "students": attendance_list.select_students(students, statuses=query["status"], search=query["q"],
                                                    sort=query["sort"]),
    })


@requires_role(*STAFF)
@documented(query=AttendanceQuery, produces="text/csv")
async def attendance_csv(request: web.Request) -> web.Response:
    """Attendance list as a spreadsheet (UTF-8 with BOM, `;`), same filters as the JSON list; never of a
    cancelled session."""
    query = load_query(request, AttendanceQuery())
    session, students = await _session_attendance(request)
    if session["status"] == "cancelled":
        raise _cancelled()
    if session["status"] == "draft":
        raise refusal("SESSION_NOT_OPEN")
    chosen = attendance_list.select_students(students, statuses=query["status"], search=query["q"],
                                             sort=query["sort"])
    body = spreadsheet_csv(attendance_list.CSV_COLUMNS, map(attendance_list.csv_row, chosen))
    filename = attachment_filename("asistencia", session["course_code"],
                                   (session["opened_at"] or session["created_at"]).date().isoformat(),
                                   session["join_code"])
    return _csv(body, filename)


@requires_role(*STAFF)
@documented(query=LegacyQuery)
async def legacy(request: web.Request) -> web.Response:
    """Final attendance in the legacy shape Hawaii records (JSON, or `format=csv`)."""
    session_id = load(SessionPath(), dict(request.match_info))["id"]
    query = load_query(request, LegacyQuery())
    async with transaction(request.app[PG_POOL]) as cur:
        await reports.snapshot(cur)
        session = await reports.visible_session(cur, session_id, current_user(request))
        if session is None:
            raise _session_not_found()
        if session["status"] != "closed":
            raise Refused("Only a closed session can be exported to the legacy system",
                          code="SESSION_NOT_CLOSED")
        outcomes = await reports.legacy_outcomes(cur, session_id)
    records = legacy_export.legacy_records(session["join_code"], outcomes)
    if query["format"] == "csv":
        body = plain_csv(legacy_export.FIELDS, ([record[f] for f in legacy_export.FIELDS] for record in records))
        return _csv(body, attachment_filename("legacy", session["course_code"], session["join_code"]))
    return _json({"records": records})


async def _editable_session(cur, request: web.Request, session_id: int) -> dict[str, Any]:
    """The session to correct, share-locked, in a transaction on local time: visible to the caller,
    opened, not cancelled."""
    await reports.local_time(cur, request.app[CONFIG].timezone)
    session = await reports.lock_visible_session(cur, session_id, current_user(request))
    if session is None:
        raise _session_not_found()
    if session["status"] == "cancelled":
        raise _cancelled()
    if session["status"] == "draft":
        raise refusal("SESSION_NOT_OPEN")
    return session


async def _set_status(cur, session_id: int, registration: dict[str, Any], user_id: int, actor_id: int,
                      body: dict[str, Any], *, by_hand: bool) -> tuple[dict[str, Any], dict[str, Any]]:
    """Override the registration's status (audited) and move the counters; the list entry and counters."""
    replaced = await overrides.override_outcome(cur, registration["id"], actor_id=actor_id, status=body["status"],
                                                note=body["note"].strip())
    state = None if by_hand else registration["state"]
    new_counters = await class_sessions.change_counters(
        cur, session_id, counters.override_changes(state, replaced, body["status"]))
    [row] = await reports.registrations(cur, session_id, user_id)
    history = await reports.override_history(cur, session_id, user_id)
    return attendance_list.student_entry(row, history.get(user_id, ())), wire.counters_json(new_counters)


@requires_role(*STAFF)
@documented(body=OverrideBody)
async def override(request: web.Request) -> web.Response:
    """Override a student's status with a required note; audited, and never undone by finalisation."""
    path = load(StudentPath(), dict(request.match_info))
    body = await read_json(request, OverrideBody())
    session_id, user_id = path["id"], path["user_id"]
    actor = current_user(request)
    async with transaction(request.app[PG_POOL]) as cur:
        await _editable_session(cur, request, session_id)
        registration = await overrides.lock_registration(cur, session_id, user_id)
        if registration is None:
            raise NotFound("That student did not join this session", code="REGISTRATION_NOT_FOUND")
        await users.remember_in(cur, actor)
        student, new_counters = await _set_status(cur, session_id, registration, user_id, actor.id, body,
                                                  by_hand=False)
    await announce.overridden(request.app[EVENTS], session_id, user_id=user_id, status=student["status"],
                              computed_status=student["computed_status"], actor_id=actor.id,
                              at=wire.timestamp(student["override"]["at"]), counters=new_counters)
    return _json({"student": student})


@requires_role(*STAFF)
@documented(body=ManualMarkBody)
async def mark_by_hand(request: web.Request) -> web.Response:
    """Mark a student by RUT whose phone failed or has no passkey: a status with a note, audited as an
    override; the student is registered by the professor if they never joined (certainty: manual)."""
    session_id = load(SessionPath(), dict(request.match_info))["id"]
    body = await read_json(request, ManualMarkBody())
    user_id = student_id(body["rut"])
    actor = current_user(request)
    async with transaction(request.app[PG_POOL]) as cur:
        session = await _editable_session(cur, request, session_id)
        await users.remember_in(cur, actor)
        name = body["full_name"] or await rosters.name_of(cur, session["course_code"], body["rut"])
        await users.ensure_student(cur, user_id, body["rut"], name)
        registration = await overrides.register_by_hand(cur, session_id, user_id, actor_id=actor.id)
        by_hand = registration is not None
        if not by_hand:
            registration = await overrides.lock_registration(cur, session_id, user_id)
        if by_hand and session["status"] == "closed":
            # Finalised as the close finalised every other registration (computed ABSENT, no rounds).
            await class_sessions.finalise_registrations(cur, session_id, absent_status=outcome.ABSENT,
                                                        registration_id=registration["id"])
        student, new_counters = await _set_status(cur, session_id, registration, user_id, actor.id, body,
                                                  by_hand=by_hand)
        joined = await registrations.student(cur, session_id, user_id) if by_hand else None
    hub = request.app[EVENTS]
    if joined is not None:
        await announce.joined(hub, session_id, wire.student_json(joined), new_counters)
    else:
        await announce.overridden(hub, session_id, user_id=user_id, status=student["status"],
                                  computed_status=student["computed_status"], actor_id=actor.id,
                                  at=wire.timestamp(student["override"]["at"]), counters=new_counters)
    return _json({"student": student})


async def _course_summary(request: web.Request) -> dict[str, Any]:
    course_code = load(CoursePath(), dict(request.match_info))["course_code"]
    semester = load_query(request, SummaryQuery())["semester"]
    async with transaction(request.app[PG_POOL]) as cur:
        await reports.snapshot(cur)
        await reports.local_time(cur, request.app[CONFIG].timezone)
        sessions = await reports.course_sessions(cur, course_code, semester, current_user(request))
        if not sessions:
            raise NotFound("No sessions of that course to summarise", code="COURSE_NOT_FOUND")
        held = [s["id"] for s in sessions if s["status"] == "closed"]
        registered = await reports.course_registrations(cur, held) if held else []
        roster = await rosters.course_roster_students(cur, course_code)
    return course_summary.course_summary(course_code, semester, sessions, registered, roster)


@requires_role(*STAFF)
@documented(query=SummaryQuery)
async def course_summary_json(request: web.Request) -> web.Response:
    """Course summary: students × sessions, attendance rates and chart series."""
    return _json(await _course_summary(request))


@requires_role(*STAFF)
@documented(query=SummaryQuery, produces="text/csv")
async def course_summary_csv(request: web.Request) -> web.Response:
    """Course summary grid as a spreadsheet."""
    summary = await _course_summary(request)
    body = spreadsheet_csv(course_summary.csv_header(summary), course_summary.csv_rows(summary))
    return _csv(body, attachment_filename("resumen", summary["course_code"], summary["semester"] or ""))
