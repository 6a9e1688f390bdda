"""Server-rendered pages: template setup and the page views.

Pages carry no data of their own: each gets a JWT from the legacy endpoint
(or the dev endpoint) in the browser and talks to the JSON API.
"""

from __future__ import annotations

from typing import Any

import aiohttp_jinja2
import jinja2
from aiohttp import web
from marshmallow import fields, validate

from asistencia.api.reports import OverrideBody
from asistencia.appkeys import CONFIG
from asistencia.assets import ASSETS
from asistencia.attendance.schemas import MAX_NETWORKS, CancelSessionSchema, CreateSessionSchema
from asistencia.domain import attendance_list
from asistencia.i18n import Catalog


def setup_templates(app: web.Application, catalog: Catalog) -> None:
    config = app[CONFIG]
    env = aiohttp_jinja2.setup(
        app,
        loader=jinja2.PackageLoader("asistencia", "templates"),
        autoescape=jinja2.select_autoescape(default=True),
        undefined=jinja2.StrictUndefined,
    )
    env.globals.update(
        t=catalog,
        catalog=catalog,
        dev=config.dev,
        page_config={"token_url": config.token_url, "dev": config.dev, "timezone": config.timezone},
        # Resolved at render time: the build is read at startup, after this wiring.
        asset=lambda name: app[ASSETS].url(name),
        preloads=lambda entry: app[ASSETS].preload(entry),
        prefetches=lambda entry: app[ASSETS].prefetch(entry),
    )


async def to_home(request: web.Request) -> web.Response:
    raise web.HTTPFound("/asistencia/")


@aiohttp_jinja2.template("index.html")
async def index(request: web.Request) -> dict[str, Any]:
    return {}


@aiohttp_jinja2.template("device.html")
async def device(request: web.Request) -> dict[str, Any]:
    return {}


def _rule(field: fields.Field, kind: type) -> Any:
    """A field's validator of one kind (its Length, its Range)."""
    return next(v for v in field.validators if isinstance(v, kind))


def _note_max_length() -> int:
    """The override note's limit, as the API's schema enforces it."""
    return _rule(OverrideBody().fields["note"], validate.Length).max


def _cancel_reason_max() -> int:
    """The cancel reason's limit, as the API's schema enforces it (templates/cancel_dialog.html)."""
    return _rule(CancelSessionSchema().fields["reason"], validate.Length).max


def _session_form() -> dict[str, Any]:
    """The new-session form's limits and defaults, as the API's schema has them."""
    form = CreateSessionSchema().fields
    texts = {name: _rule(form[name], validate.Length).max
             for name in ("course_code", "course_name", "room", "semester", "block")}
    numbers = {}
    for name in ("rounds", "duration_minutes", "late_after_minutes"):
        allowed = _rule(form[name], validate.Range)
        numbers[name] = {"min": allowed.min, "max": allowed.max, "default": form[name].load_default}
    return {"texts": texts, "numbers": numbers, "max_networks": MAX_NETWORKS}


@aiohttp_jinja2.template("sessions.html")
async def sessions(request: web.Request) -> dict[str, Any]:
    return {"form": _session_form(), "cancel_reason_max": _cancel_reason_max()}


def _session_page(request: web.Request) -> dict[str, Any]:
    # The route only matches digits; the API judges whether the session exists and is the caller's.
    return {"session_id": int(request.match_info["id"])}


@aiohttp_jinja2.template("projector.html")
async def projector(request: web.Request) -> dict[str, Any]:
    return _session_page(request)


@aiohttp_jinja2.template("dashboard.html")
async def dashboard(request: web.Request) -> dict[str, Any]:
    return {**_session_page(request), "cancel_reason_max": _cancel_reason_max()}


@aiohttp_jinja2.template("scan.html")
async def scan(request: web.Request) -> dict[str, Any]:
    return {}


@aiohttp_jinja2.template("offline.html")
async def offline(request: web.Request) -> dict[str, Any]:
    """What the installed scanner shows when the phone has no connection (its service worker keeps a copy)."""
    return {}


@aiohttp_jinja2.template("results.html")
async def results(request: web.Request) -> dict[str, Any]:
    return {**_session_page(request),
            "statuses": attendance_list.LIST_STATUSES,
            "override_statuses": attendance_list.OVERRIDE_STATUSES,
            "sort_fields": attendance_list.SORT_FIELDS,
            "note_max": _note_max_length()}


@aiohttp_jinja2.template("summary.html")
async def course_summary(request: web.Request) -> dict[str, Any]:
    return {"course_code": request.match_info["course_code"], "statuses": attendance_list.LIST_STATUSES}
