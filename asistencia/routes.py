"""The one route table: every URL the server answers, and who handles it."""

from __future__ import annotations

from aiohttp import web

from asistencia import pages
from asistencia.api import dev, health, identity
from asistencia.api import reports
from asistencia.config import Config
from asistencia.ws import endpoint

# Pages live under one prefix so Apache can route them beside the legacy PHP app.
PAGES = "/asistencia"


def setup_routes(app: web.Application, config: Config) -> None:
    router = app.router
    router.add_get("/health", health.health)
    router.add_get("/ws", endpoint.websocket)
    router.add_get("/api/me", identity.me)
    # Outcomes: attendance list, overrides, exports, course summaries.
    router.add_get("/api/sessions/{id}/attendance", reports.attendance)
    router.add_get("/api/sessions/{id}/attendance.csv", reports.attendance_csv)
    router.add_get("/api/sessions/{id}/attendance/legacy", reports.legacy)
    router.add_patch("/api/sessions/{id}/attendance/{user_id}", reports.override)
    router.add_get("/api/courses/{course_code}/summary", reports.course_summary_json)
    router.add_get("/api/courses/{course_code}/summary.csv", reports.course_summary_csv)
    router.add_get("/", pages.to_home)
    router.add_get(f"{PAGES}/", pages.index)
    if config.dev:
        router.add_post("/api/dev/token", dev.dev_token)
    if config.static_dir.is_dir():
        router.add_static("/static", config.static_dir, append_version=False)
