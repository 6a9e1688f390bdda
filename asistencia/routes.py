"""The one route table: every URL the server answers, and who handles it."""

from __future__ import annotations

from aiohttp import web

from asistencia import assets, metrics, openapi, pages
from asistencia.api import (access, attendance, dev, devices, enrollment, health, identity, login, reports,
                            rosters, sessions)
from asistencia.config import Config
from asistencia.ws import endpoint

# Pages live under one prefix so Apache can route them beside the legacy PHP app.
PAGES = "/asistencia"


def setup_routes(app: web.Application, config: Config) -> None:
    router = app.router
    router.add_get("/health", health.health)
    router.add_get("/metrics", metrics.metrics)
    router.add_get("/ws", endpoint.websocket)
    router.add_get("/api/me", identity.me)
    router.add_get("/api/openapi.json", openapi.openapi_json)
    router.add_get("/api/access/state", access.state)
    router.add_post("/api/enrollment/options", enrollment.options)
    router.add_post("/api/enrollment/verify", enrollment.verify)
    router.add_get("/api/enrollment/devices", enrollment.list_devices)
    router.add_delete("/api/enrollment/devices/{id}", enrollment.revoke)
    router.add_get("/api/devices/pending", devices.pending)
    router.add_post("/api/devices/{id}/approve", devices.approve)
    router.add_post("/api/login/options", login.options)
    router.add_post("/api/login/verify", login.verify)
    router.add_delete("/api/login", login.logout)
    # Outcomes: attendance list, overrides, exports, course summaries.
    router.add_get("/api/sessions/{id}/attendance", reports.attendance)
    router.add_get("/api/sessions/{id}/attendance.csv", reports.attendance_csv)
    router.add_get("/api/sessions/{id}/attendance/legacy", reports.legacy)
    router.add_patch("/api/sessions/{id}/attendance/{user_id}", reports.override)
    router.add_post("/api/sessions/{id}/attendance", reports.mark_by_hand)
    router.add_get("/api/courses/{course_code}/summary", reports.course_summary_json)
    router.add_get("/api/courses/{course_code}/summary.csv", reports.course_summary_csv)
    router.add_get("/api/courses/{course_code}/roster", rosters.roster)
    router.add_put("/api/courses/{course_code}/roster", rosters.upload)
    router.add_post("/api/courses/{course_code}/roster/joined", rosters.add_joined)
    router.add_post("/api/sessions", sessions.create)
    router.add_get("/api/sessions", sessions.list_sessions)
    router.add_get("/api/sessions/{id}", sessions.read)
    router.add_patch("/api/sessions/{id}", sessions.edit_draft)
    router.add_post("/api/sessions/{id}/open", sessions.open_draft)
    router.add_post("/api/sessions/{id}/close", sessions.close)
    router.add_post("/api/sessions/{id}/cancel", sessions.cancel)
    router.add_post("/api/sessions/{id}/students/{user_id}/reset", sessions.reset_student)
    router.add_get("/api/sessions/{id}/fraud", sessions.fraud)
    router.add_get("/api/attendance/session", attendance.session)
    router.add_post("/api/attendance/join", attendance.join)
    router.add_post("/api/attendance/scan", attendance.scan)
    router.add_get("/api/attendance/status", attendance.status)
    router.add_get("/", pages.to_home)
    router.add_get(f"{PAGES}/", pages.index)
    router.add_get(f"{PAGES}/device", pages.device)
    router.add_get(f"{PAGES}/sessions", pages.sessions)
    router.add_get(PAGES + r"/sessions/{id:\d+}/projector", pages.projector)
    router.add_get(PAGES + r"/sessions/{id:\d+}/dashboard", pages.dashboard)
    router.add_get(PAGES + r"/sessions/{id:\d+}/results", pages.results)
    router.add_get(f"{PAGES}/scan", pages.scan)
    router.add_get(f"{PAGES}/sw.js", assets.service_worker)
    router.add_get(f"{PAGES}/offline", pages.offline)
    router.add_get(PAGES + "/courses/{course_code}/summary", pages.course_summary)
    if config.dev:
        router.add_post("/api/dev/token", dev.dev_token)
    public = config.static_dir / assets.PUBLIC_DIR
    if public.is_dir():
        router.add_static("/static", public, append_version=False)
