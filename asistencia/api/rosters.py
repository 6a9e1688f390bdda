"""/api/courses/{course_code}/roster: who should attend a course, so absentees who never joined are known.

A professor edits the roster of a course they hold sessions of (an admin:
any course). The page reads the CSV (RUT and name) and sends its rows;
each RUT is checked here, check digit included, and nothing is stored
unless every row is right.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from asistencia.appkeys import PG_POOL
from asistencia.api.reports import CoursePath
from asistencia.attendance import wire
from asistencia.attendance.schemas import Rut
from asistencia.auth import STAFF, current_user, requires_role
from asistencia.db import transaction
from asistencia.domain.rut import student_id
from asistencia.errors import NotFound
from asistencia.jsoncodec import json_response
from asistencia.openapi import documented
from asistencia.store import reports, rosters, users
from asistencia.validation import Text, load, read_json

MAX_STUDENTS = 2000


class RosterStudent(Schema):
    rut = Rut(required=True)
    full_name = Text(required=True, validate=validate.Length(1, 200))


class RosterBody(Schema):
    students = fields.List(fields.Nested(RosterStudent), required=True, validate=validate.Length(max=MAX_STUDENTS))

    @validates_schema
    def _each_rut_once(self, data: dict[str, Any], **kwargs) -> None:
        seen: set[str] = set()
        repeated = {}
        for index, student in enumerate(data["students"]):
            if student["rut"] in seen:
                repeated[index] = {"rut": ["This RUT is already in the list."]}
            seen.add(student["rut"])
        if repeated:
            raise ValidationError({"students": repeated})


def _roster_json(course_code: str, rows: list[dict[str, Any]]) -> dict[str, Any]:
    return {"course_code": course_code,
            "students": [{"rut": row["rut"], "user_id": row["user_id"], "full_name": row["full_name"],
                          "source": row["source"], "added_at": wire.timestamp(row["added_at"])} for row in rows]}


async def _course_sessions(cur, request: web.Request) -> tuple[str, list[dict[str, Any]]]:
    """The course code and the caller's sessions of it (admin: everyone's); 404 if there are none."""
    course_code = load(CoursePath(), dict(request.match_info))["course_code"]
    sessions = await reports.course_sessions(cur, course_code, None, current_user(request))
    if not sessions:
        raise NotFound("No sessions of that course", code="COURSE_NOT_FOUND")
    return course_code, sessions


@requires_role(*STAFF)
async def roster(request: web.Request) -> web.Response:
    """The course's roster, by name."""
    async with transaction(request.app[PG_POOL]) as cur:
        course_code, _ = await _course_sessions(cur, request)
        rows = await rosters.roster(cur, course_code)
    return json_response(_roster_json(course_code, rows))


@requires_role(*STAFF)
@documented(body=RosterBody)
async def upload(request: web.Request) -> web.Response:
    """Replace the roster's uploaded students (RUT with check digit, name); students added from
    those who joined stay."""
    body = await read_json(request, RosterBody())
    actor = current_user(request)
    students = [{**s, "user_id": student_id(s["rut"])} for s in body["students"]]
    async with transaction(request.app[PG_POOL]) as cur:
        course_code, _ = await _course_sessions(cur, request)
        await users.remember_in(cur, actor)
        await rosters.replace_uploaded(cur, course_code, students, actor_id=actor.id)
        rows = await rosters.roster(cur, course_code)
    return json_response(_roster_json(course_code, rows))


@requires_role(*STAFF)
async def add_joined(request: web.Request) -> web.Response:
    """Add every student who ever joined one of the course's (visible, not cancelled) sessions."""
    actor = current_user(request)
    async with transaction(request.app[PG_POOL]) as cur:
        course_code, sessions = await _course_sessions(cur, request)
        await users.remember_in(cur, actor)
        added = await rosters.add_joined(cur, course_code, [s["id"] for s in sessions], actor_id=actor.id)
        rows = await rosters.roster(cur, course_code)
    return json_response({**_roster_json(course_code, rows), "added": added})
